"""Exact patterns of the initializers of fused projections (idinit_hf/init.py, issue 20): a fused Q|K|V weight in each
of its row orders (``idi_qkv_``, ``qkv_rows``) and a fused gate|up weight (``Slot.gate_up``), in every dtype and on the
meta device; and, split the way each model's forward splits it, a fused Q|K|V weight gives query, key and value heads
that read the input dimensions of their own head."""

import pytest
import torch
from helpers import DEVICES, DTYPES

from idinit_hf import init
from idinit_hf.options import IDInitOptions
from idinit_hf.patterns import write_pattern
from idinit_hf.roles import Role, Rule, Slot

T = 2.0  # a τ that is not 1, so a pattern of ones cannot pass by accident
S = 0.5  # a query scale that is not 1


def empty(shape, dtype=torch.float32, device="cpu"):
    return torch.full(shape, float("nan"), dtype=dtype, device=device)


def pattern(rows: list[tuple[int, float]], n_in: int) -> torch.Tensor:
    """An ``len(rows) x n_in`` matrix with row ``r`` holding ``value`` at column ``column``, zeros elsewhere."""
    out = torch.zeros(len(rows), n_in)
    for r, (column, value) in enumerate(rows):
        out[r, column] = value
    return out


# ---- the row orders -------------------------------------------------------------------------------------------------
Q, K, V = init.QUERY_PART, init.KEY_PART, init.VALUE_PART

ROWS = {
    # Phi-3: all query rows, then key, then value (2 query heads on 1 key/value head of 2)
    "blocks": (dict(heads=2, kv_heads=1, head_dim=2),
               [(Q, 0), (Q, 1), (Q, 2), (Q, 3), (K, 0), (K, 1), (V, 0), (V, 1)]),
    # GPT-NeoX, BLOOM, Persimmon: q_h | k_h | v_h per head
    "interleaved": (dict(heads=2, kv_heads=2, head_dim=2),
                    [(Q, 0), (Q, 1), (K, 0), (K, 1), (V, 0), (V, 1), (Q, 2), (Q, 3), (K, 2), (K, 3), (V, 2), (V, 3)]),
    # Falcon's new decoder architecture: per key/value group, its query heads, then k_g, then v_g
    "interleaved_grouped": (dict(heads=4, kv_heads=2, head_dim=1),
                            [(Q, 0), (Q, 1), (K, 0), (V, 0), (Q, 2), (Q, 3), (K, 1), (V, 1)]),
    # CodeGen: per shard, its slice of the query, the VALUE and the key rows
    "sharded": (dict(heads=2, kv_heads=2, head_dim=2, shards=2),
                [(Q, 0), (Q, 1), (V, 0), (V, 1), (K, 0), (K, 1), (Q, 2), (Q, 3), (V, 2), (V, 3), (K, 2), (K, 3)]),
}


@pytest.mark.parametrize("case", ROWS)
def test_qkv_rows_name_the_projection_and_row_of_every_stored_row(case):
    sizes, expected = ROWS[case]
    part, index = init.qkv_rows(case.removesuffix("_grouped"), **sizes)
    assert list(zip(part.tolist(), index.tolist(), strict=True)) == expected


@pytest.mark.parametrize("layout, sizes", [
    ("blocks", dict(heads=8, kv_heads=2, head_dim=3)), ("interleaved", dict(heads=6, kv_heads=3, head_dim=2)),
    ("sharded", dict(heads=4, kv_heads=4, head_dim=4, shards=4)),
])


def test_qkv_rows_hold_every_row_of_each_projection_exactly_once(layout, sizes):
    part, index = init.qkv_rows(layout, **sizes)
    heads, kv_heads, head_dim = sizes["heads"], sizes["kv_heads"], sizes["head_dim"]
    for which, n_rows in ((Q, heads * head_dim), (K, kv_heads * head_dim), (V, kv_heads * head_dim)):
        assert sorted(index[part == which].tolist()) == list(range(n_rows))


# ---- IDIτ on a fused Q|K|V ------------------------------------------------------------------------------------------
QKV_CASES = {
    # (layout, sizes, in, gqa) → (column, value) of every stored row
    "interleaved": (("interleaved", dict(heads=2, kv_heads=2, head_dim=2), 4, "repeat"),
                    [(0, T * S), (1, T * S), (0, T), (1, T), (0, T), (1, T),
                     (2, T * S), (3, T * S), (2, T), (3, T), (2, T), (3, T)]),
    "blocks_repeat": (("blocks", dict(heads=4, kv_heads=2, head_dim=1), 4, "repeat"),
                      [(0, T * S), (1, T * S), (2, T * S), (3, T * S), (0, T), (1, T), (0, T), (1, T)]),
    # group: key/value head g reads the dims of query head g·H/KV, the first that uses it
    "blocks_group": (("blocks", dict(heads=4, kv_heads=2, head_dim=1), 4, "group"),
                     [(0, T * S), (1, T * S), (2, T * S), (3, T * S), (0, T), (2, T), (0, T), (2, T)]),
    "interleaved_group": (("interleaved", dict(heads=4, kv_heads=2, head_dim=1), 4, "group"),
                          [(0, T * S), (1, T * S), (0, T), (0, T), (2, T * S), (3, T * S), (2, T), (2, T)]),
    # multi-query (Falcon-7B): one key and one value head, reading the dims of head 0
    "multi_query": (("interleaved", dict(heads=2, kv_heads=1, head_dim=2), 4, "repeat"),
                    [(0, T * S), (1, T * S), (2, T * S), (3, T * S), (0, T), (1, T), (0, T), (1, T)]),
    "sharded": (("sharded", dict(heads=2, kv_heads=2, head_dim=2, shards=2), 4, "repeat"),
                [(0, T * S), (1, T * S), (0, T), (1, T), (0, T), (1, T),
                 (2, T * S), (3, T * S), (2, T), (3, T), (2, T), (3, T)]),
    # a projection wider than the input (head_dim·heads = 6 > 4): rows wrap around, as IDIτ does
    "taller_than_input": (("blocks", dict(heads=3, kv_heads=1, head_dim=2), 4, "repeat"),
                          [(0, T * S), (1, T * S), (2, T * S), (3, T * S), (0, T * S), (1, T * S),
                           (0, T), (1, T), (0, T), (1, T)]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", QKV_CASES)
def test_idi_qkv_exact_pattern(case, dtype):
    (layout, sizes, n_in, gqa), rows = QKV_CASES[case]
    w = empty((len(rows), n_in), dtype)
    assert init.idi_qkv_(w, T, layout=layout, query_scale=S, gqa=gqa, **sizes) is w
    assert w.dtype == dtype
    assert torch.equal(w, pattern(rows, n_in).to(dtype))


@pytest.mark.parametrize("layout, sizes, n_in", [
    ("blocks", dict(heads=4, kv_heads=2, head_dim=3), 12), ("interleaved", dict(heads=4, kv_heads=1, head_dim=2), 8),
    ("sharded", dict(heads=4, kv_heads=4, head_dim=2, shards=4), 8),
])


@pytest.mark.parametrize("gqa", init.GQA_RULES)
def test_idi_qkv_holds_what_separate_projections_would_hold(layout, sizes, n_in, gqa):
    """Reordered by ``qkv_rows``, the fused weight is [q_proj; k_proj; v_proj] of the Llama table: query IDIτ scaled,
    key and value IDIτ (repeat) or lined up with the query heads (group, ``idi_heads_``)."""
    heads, kv_heads, head_dim = sizes["heads"], sizes["kv_heads"], sizes["head_dim"]
    fused = init.idi_qkv_(empty(((heads + 2 * kv_heads) * head_dim, n_in)), T, layout=layout, query_scale=S,
                          gqa=gqa, **sizes)
    query = init.idi_(torch.empty(heads * head_dim, n_in), T * S)
    key_value = torch.empty(kv_heads * head_dim, n_in)
    if gqa == "group":
        init.idi_heads_(key_value, T, head_dim=head_dim, group=heads // kv_heads)
    else:
        init.idi_(key_value, T)
    part, index = init.qkv_rows(layout, **sizes)
    separate = {Q: query, K: key_value, V: key_value}
    for row in range(fused.shape[0]):
        assert torch.equal(fused[row], separate[int(part[row])][int(index[row])]), row


def test_idi_qkv_query_scale_zero_leaves_the_query_rows_zero():
    w = init.idi_qkv_(empty((12, 4)), T, layout="interleaved", heads=2, kv_heads=2, head_dim=2, query_scale=0.0)
    part, _ = init.qkv_rows("interleaved", heads=2, kv_heads=2, head_dim=2)
    assert torch.equal(w[part == Q], torch.zeros(4, 4))
    assert torch.equal(w[part != Q].sum(dim=1), torch.full((8,), T))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout, sizes", [(case.removesuffix("_grouped"), ROWS[case][0]) for case in ROWS])
def test_small_query_rows_are_a_separate_small_init_query_in_the_fused_order(layout, sizes, dtype):
    """idinit_query="small" on a fused Q|K|V: stored query row r is row index[r] of small_init_ drawn on a separate
    H·d_h x in query from the same generator; the key and value rows are untouched."""
    n_rows = (sizes["heads"] + 2 * sizes["kv_heads"]) * sizes["head_dim"]
    fused = init.idi_qkv_(empty((n_rows, 5), dtype), T, layout=layout, query_scale=0.0, **sizes)
    keys_values = fused.clone()
    out = init.small_init_query_rows_(fused, layout=layout, generator=torch.Generator().manual_seed(3), **sizes)
    query = init.small_init_(empty((sizes["heads"] * sizes["head_dim"], 5), dtype),
                             generator=torch.Generator().manual_seed(3))
    part, index = init.qkv_rows(layout, **sizes)
    assert out is fused and fused.dtype == dtype
    assert torch.equal(fused[part == Q], query[index[part == Q]])
    assert torch.equal(fused[part != Q], keys_values[part != Q])


@pytest.mark.parametrize("device", DEVICES)
def test_small_query_rows_keep_the_device_and_are_a_noop_on_meta(device):
    w = torch.zeros(12, 4, device=device)
    out = init.small_init_query_rows_(w, layout="interleaved", heads=2, kv_heads=2, head_dim=2,
                                      generator=torch.Generator().manual_seed(0))
    assert out is w and out.device.type == device
    if device != "meta":
        reference = init.small_init_query_rows_(torch.zeros(12, 4), layout="interleaved", heads=2, kv_heads=2,
                                                head_dim=2, generator=torch.Generator().manual_seed(0))
        assert torch.equal(out.cpu(), reference)


def test_small_query_rows_refuse_a_shape_the_heads_do_not_make():
    with pytest.raises(ValueError, match="small_init_query_rows_: 2 query and 1 key/value heads of 3 make 12 rows"):
        init.small_init_query_rows_(torch.empty(8, 4), layout="blocks", heads=2, kv_heads=1, head_dim=3)


@pytest.mark.parametrize("device", DEVICES)
def test_idi_qkv_keeps_the_device_and_is_a_noop_on_meta(device):
    w = torch.zeros(12, 4, device=device)
    out = init.idi_qkv_(w, layout="interleaved", heads=2, kv_heads=2, head_dim=2)
    assert out is w and out.device.type == device
    if device != "meta":
        assert torch.equal(out.cpu(), init.idi_qkv_(torch.zeros(12, 4), layout="interleaved", heads=2, kv_heads=2,
                                                     head_dim=2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(layout="blocks", heads=2, kv_heads=1, head_dim=3), "make 12 rows, not the 8"),
    (dict(layout="interleaved", heads=3, kv_heads=2, head_dim=1), "must be a positive multiple of kv_heads=2"),
    (dict(layout="sharded", heads=2, kv_heads=2, head_dim=1, shards=4), "do not split into 4 shards"),
    (dict(layout="rows", heads=2, kv_heads=2, head_dim=1), "layout='rows' is not supported; allowed: 'blocks'"),
    (dict(layout="blocks", heads=2, kv_heads=2, head_dim=1, gqa="pairs"), "gqa='pairs' is not supported"),
    (dict(layout="blocks", heads=2, kv_heads=2, head_dim=1, query_scale=-1.0), "query_scale must be >= 0"),
])


def test_idi_qkv_bad_input_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        init.idi_qkv_(torch.empty(8, 4), **kwargs)


# ---- the fused weight, split as each model's forward splits it ------------------------------------------------------
D, H = 8, 2  # width 8: 2 heads of 4
HD = D // H


def split_neox(y):  # GPTNeoXAttention: view(..., H, 3·hd), chunk(3)
    return [t.reshape(-1, D) for t in y.view(-1, H, 3 * HD).chunk(3, dim=-1)]


def split_bloom(y):  # BloomAttention / PersimmonAttention / Falcon (classic): view(..., H, 3, hd)
    y = y.view(-1, H, 3, HD)
    return [y[..., i, :].reshape(-1, D) for i in range(3)]


def split_codegen(y):  # CodeGenAttention: view(..., mp_num, 3·local), split(local) → query, VALUE, key
    local = D // 4
    query, value, key = y.view(-1, 4, 3 * local).split(local, dim=-1)
    return [query.reshape(-1, D), key.reshape(-1, D), value.reshape(-1, D)]


def split_phi3(y):  # Phi3Attention: the first H·hd columns, then the key, then the value
    return [y[:, :D], y[:, D : 2 * D], y[:, 2 * D :]]


SPLITS = {
    "gpt_neox": (split_neox, "interleaved", {}),
    "bloom": (split_bloom, "interleaved", {}),
    "codegen": (split_codegen, "sharded", dict(shards=4)),
    "phi3": (split_phi3, "blocks", {}),
}


@pytest.mark.parametrize("model", SPLITS)
def test_the_models_own_split_gives_every_head_its_own_dimensions(model):
    """y = W x split by the model's code: the query is τ·scale·x, the key and the value τ·x (every head reads its
    own input dimensions), whatever order the rows are stored in."""
    split, layout, extra = SPLITS[model]
    w = init.idi_qkv_(torch.empty(3 * D, D), T, layout=layout, heads=H, kv_heads=H, head_dim=HD, query_scale=S,
                      **extra)
    x = torch.randn(5, D)
    query, key, value = split(x @ w.t())
    assert torch.equal(query, T * S * x) and torch.equal(key, T * x) and torch.equal(value, T * x)


def test_falcon_multi_query_split_gives_one_key_head_reading_head_0():
    """FalconAttention (multi_query): view(..., H + 2, hd); the last two heads are the one key and the one value."""
    w = init.idi_qkv_(torch.empty(D + 2 * HD, D), T, layout="interleaved", heads=H, kv_heads=1, head_dim=HD)
    x = torch.randn(5, D)
    y = (x @ w.t()).view(-1, H + 2, HD)
    assert torch.equal(y[:, :-2].reshape(-1, D), T * x)
    assert torch.equal(y[:, -2], T * x[:, :HD]) and torch.equal(y[:, -1], T * x[:, :HD])


# ---- IDIτ on a fused gate|up ----------------------------------------------------------------------------------------


def write_gate_up(weight: torch.Tensor, **options) -> torch.Tensor:
    """Phi-3's ``gate_up_proj`` slot (``Slot.gate_up="halves"``) written with IDIτ = T and no loosening noise."""
    slot = Slot("MLP", "gate_up_proj", Role.MLP_IN, gate_up="halves")
    write_pattern({"weight": weight}, slot, Rule.IDI, IDInitOptions(tau=T, loosening=0.0, **options), 0,
                  name="mlp.gate_up_proj", is_conv=False, padding_idx=None)
    return weight


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_fused_gate_up_gets_an_identity_in_each_half(dtype):
    """5 rows per half on 3 inputs: row i of each half reads input i mod 3 (IDIτ of the whole 10 x 3 weight would
    start the up half at input 5 mod 3 = 2)."""
    w = write_gate_up(empty((10, 3), dtype))
    half = pattern([(m % 3, T) for m in range(5)], 3)
    assert torch.equal(w, torch.cat([half, half]).to(dtype))
    assert not torch.equal(w, init.idi_(torch.empty(10, 3), T).to(dtype))


def test_a_fused_gate_half_follows_the_gate_option():
    """``idinit_gate="default"``: the gate half is left as the library wrote it; the up half still gets IDIτ."""
    w = write_gate_up(torch.full((10, 3), 7.0), gate="default")
    assert torch.equal(w[:5], torch.full((5, 3), 7.0))
    assert torch.equal(w[5:], pattern([(m % 3, T) for m in range(5)], 3))
