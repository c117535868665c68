"""Exact patterns of the tensor initializers on small shapes, in every dtype, on CPU and the meta device."""

import math

import pytest
import torch
from helpers import DEVICES, DTYPES

from idinit_hf import init

T = 2.0  # a τ that is not 1, so a pattern of ones cannot pass by accident
E = 1e-3  # an ε that every dtype holds as a normal number


def tensor(values, dtype=torch.float32):
    return torch.tensor(values, dtype=torch.float32).to(dtype)


def empty(shape, dtype, device):
    return torch.full(shape, float("nan"), dtype=dtype, device=device)


# ---- IDIτ ---------------------------------------------------------------------------------------------------------

IDI_CASES = {
    "square": ((3, 3), [[T, 0, 0], [0, T, 0], [0, 0, T]]),
    "tall": ((5, 2), [[T, 0], [0, T], [T, 0], [0, T], [T, 0]]),
    "wide": ((2, 4), [[T, 0, 0, 0], [0, T, 0, 0]]),
    "row": ((1, 3), [[T, 0, 0]]),
    "column": ((3, 1), [[T], [T], [T]]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IDI_CASES)
def test_idi_exact_pattern(case, dtype):
    shape, expected = IDI_CASES[case]
    w = empty(shape, dtype, "cpu")
    assert init.idi_(w, T) is w
    assert w.dtype == dtype
    assert torch.equal(w, tensor(expected, dtype))


def test_idi_wide_tile_sums_inputs():
    w = init.idi_(torch.empty(2, 5), T, wide="tile")
    assert torch.equal(w, tensor([[T, 0, T, 0, T], [0, T, 0, T, 0]]))


def test_idi_default_tau_is_one_and_square_is_eye():
    assert torch.equal(init.idi_(torch.empty(4, 4)), torch.eye(4))


def test_idi_tall_copies_the_input():
    x = torch.randn(7, 3)
    w = init.idi_(torch.empty(9, 3))
    assert torch.equal(x @ w.t(), x.repeat(1, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_idi_transposed_storage_conv1d(dtype):
    """GPT-2's Conv1D stores (in, out): the rule applies to the out x in view, i.e. weight.t()."""
    stored = empty((2, 4), dtype, "cpu")  # in=2, out=4
    init.idi_(stored.t(), T)
    assert torch.equal(stored, tensor([[T, 0, T, 0], [0, T, 0, T]], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_qkv_blocks_each_get_identity(dtype):
    """GPT-2's c_attn: (d, 3d) stored transposed; Q, K and V each get their own d x d identity."""
    d = 3
    stored = empty((d, 3 * d), dtype, "cpu")
    for block in init.fused_blocks(stored.t(), [d, d, d]):
        init.idi_(block, T)
    for q_k_v in stored.split(d, dim=1):
        assert torch.equal(q_k_v, T * torch.eye(d, dtype=dtype))


def test_fused_blocks_of_unequal_sizes():
    w = torch.empty(6, 2)
    q, kv = init.fused_blocks(w, [2, 4])
    init.idi_(q, T)
    init.idiz_(kv, E)
    assert torch.equal(w[:2], T * torch.eye(2))
    assert torch.equal(w[2:], tensor([[E, -E], [-E, E], [E, -E], [-E, E]]))


def test_fused_blocks_reject_wrong_sizes():
    with pytest.raises(ValueError, match="do not add up"):
        init.fused_blocks(torch.empty(6, 2), [2, 2])


# ---- IDIZε --------------------------------------------------------------------------------------------------------

IDIZ_CASES = {
    # out >= in: +ε on m mod in, −ε on (m+1) mod in
    "square": ((3, 3), [[E, -E, 0], [0, E, -E], [-E, 0, E]]),
    "tall": ((4, 2), [[E, -E], [-E, E], [E, -E], [-E, E]]),
    "tall_partial_block": ((5, 3), [[E, -E, 0], [0, E, -E], [-E, 0, E], [E, -E, 0], [0, E, -E]]),
    # out < in: [εI | −ε·IDI]
    "wide_4x": ((2, 8), [[E, 0, -E, 0, 0, 0, 0, 0], [0, E, 0, -E, 0, 0, 0, 0]]),
    "wide_1.5x": ((2, 3), [[E, 0, -E], [0, E, -E]]),
    "single_input": ((2, 1), [[E], [E]]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IDIZ_CASES)
def test_idiz_exact_pattern(case, dtype):
    shape, expected = IDIZ_CASES[case]
    w = empty(shape, dtype, "cpu")
    assert init.idiz_(w, E) is w
    assert torch.equal(w, tensor(expected, dtype))


@pytest.mark.parametrize("case", [c for c in IDIZ_CASES if c != "single_input"])
def test_idiz_subtract_rows_sum_to_zero(case):
    # exact on any machine: each row holds one +ε, one −ε and zeros, so every partial sum is 0 or ±ε
    w = init.idiz_(torch.empty(IDIZ_CASES[case][0]), E)
    assert torch.equal(w.sum(dim=1), torch.zeros(w.shape[0]))


def test_idiz_cancels_replicas_of_an_idi_up_projection():
    """MLP: IDIτ d→4d then IDIZε 4d→d gives 0 for any activation, though every weight is live.

    The cancellation is exact in real arithmetic; a matmul kernel may leave a rounding residue of a few ulps of
    the ±ε·h terms (how it accumulates depends on the CPU), which is what the tolerance allows.
    """
    d = 4
    up, down = init.idi_(torch.empty(4 * d, d)), init.idiz_(torch.empty(d, 4 * d), E)
    hidden = torch.nn.functional.gelu(torch.randn(5, d) @ up.t())
    residue = (hidden @ down.t()).abs().max()
    assert residue <= 8 * torch.finfo(torch.float32).eps * E * hidden.abs().max()
    assert (hidden @ down.t().abs()).abs().max() > 0.1 * E  # not zero because the weights are: each term is live


def test_idiz_identity_pattern():
    w = init.idiz_(torch.empty(2, 4), E, pattern="identity")
    assert torch.equal(w, tensor([[E, 0, 0, 0], [0, E, 0, 0]]))


def test_idiz_zero_epsilon_is_zero_init():
    assert torch.equal(init.idiz_(torch.empty(3, 5), 0.0), torch.zeros(3, 5))


def test_idiz_default_epsilon_in_float16_is_subnormal_not_zero():
    """ε = 1e-6 is below float16's smallest normal (6.1e-5): it is stored as the nearest subnormal."""
    w = init.idiz_(torch.empty(2, 2, dtype=torch.float16))
    assert w[0, 0] == torch.tensor(1e-6, dtype=torch.float16) != 0
    assert abs(float(w[0, 0]) - 1e-6) < 6e-8  # within one float16 subnormal step
    assert float(w[0, 0]) < torch.finfo(torch.float16).tiny


# ---- IDICτ --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("conv_dims", [1, 2, 3])
def test_idic_is_idi_of_the_flattened_kernel(conv_dims, dtype):
    k = (2,) * conv_dims
    kernel = empty((5, 2, *k), dtype, "cpu")
    init.idic_(kernel, T)
    fan = 2 * 2**conv_dims
    flat = torch.zeros(5, fan, dtype=dtype)
    for m in range(5):
        flat[m, m % fan] = T
    assert torch.equal(kernel.reshape(5, -1), flat)


def test_idic_patch_embedding_is_a_pixel_permutation():
    """ViT with 3·P·P = d: every output channel copies one distinct pixel of its patch."""
    conv = torch.nn.Conv2d(3, 12, kernel_size=2, stride=2, bias=False)
    init.idic_(conv.weight)
    image = torch.randn(1, 3, 4, 4)
    patches = torch.nn.functional.unfold(image, kernel_size=2, stride=2)  # (1, 3·2·2, 4 patches)
    assert torch.equal(conv(image).flatten(2), patches)


def test_idic_channels_last_kernel():
    kernel = torch.empty(4, 2, 1, 1).to(memory_format=torch.channels_last)
    kernel = torch.empty_strided((4, 2, 2, 1), (4, 1, 2, 2))  # no 2-D view of this storage
    init.idic_(kernel, T)
    expected = torch.zeros(4, 4)
    for m in range(4):
        expected[m, m] = T
    assert torch.equal(kernel.reshape(4, -1), expected)


def test_idizc_flattens_like_idic():
    kernel = init.idizc_(torch.empty(2, 2, 2, 2), E)  # 2 x 8: wide
    assert torch.equal(kernel.reshape(2, -1), torch.tensor(IDIZ_CASES["wide_4x"][1]))


@pytest.mark.parametrize("fn", [init.idic_, init.idizc_])
def test_conv_initializers_reject_matrices(fn):
    with pytest.raises(ValueError, match="convolution kernel"):
        fn(torch.empty(3, 3))


# ---- loosening ----------------------------------------------------------------------------------------------------


def test_loosen_identity_target_only_moves_tau_entries():
    w = init.idi_(torch.empty(6, 2), T)
    init.loosen_(w, 1e-2, generator=torch.Generator().manual_seed(1))
    pattern = init.idi_(torch.empty(6, 2), T)
    assert torch.equal(w[pattern == 0], torch.zeros(int((pattern == 0).sum())))
    moved = (w - pattern)[pattern != 0]
    assert (moved != 0).all() and moved.abs().max() < 0.1
    assert len(set(w[pattern != 0].tolist())) == 6  # replicated rows are no longer tied


def test_loosen_all_target_moves_every_entry():
    w = init.idi_(torch.empty(6, 2), T)
    init.loosen_(w, 1e-2, generator=torch.Generator().manual_seed(1), target="all")
    assert ((w - init.idi_(torch.empty(6, 2), T)) != 0).all()


def test_loosen_is_reproducible_from_the_generator_and_device_independent():
    a = init.loosen_(torch.zeros(5, 3), 1.0, generator=torch.Generator().manual_seed(7), target="all")
    b = init.loosen_(torch.zeros(5, 3, dtype=torch.float64), 1.0, generator=torch.Generator().manual_seed(7), target="all")
    assert torch.equal(a, b.float())


def test_loosen_all_in_chunks_moves_every_row(monkeypatch):
    monkeypatch.setattr(init, "_NOISE_CHUNK", 8)  # two rows per draw
    w = init.loosen_(torch.zeros(9, 4), 1.0, generator=torch.Generator().manual_seed(3), target="all")
    assert (w != 0).all()


def test_loosen_zero_std_changes_nothing():
    w = init.idi_(torch.empty(4, 2))
    assert torch.equal(init.loosen_(w.clone(), 0.0), w)


def test_loosen_rounds_away_in_bfloat16():
    """Documented: a 1e-6 perturbation of τ = 1 is below bfloat16's spacing and rounds away."""
    w = init.idi_(torch.empty(4, 2, dtype=torch.bfloat16))
    assert torch.equal(init.loosen_(w.clone(), 1e-6, generator=torch.Generator().manual_seed(0)), w)


# ---- SmallInit (the token table's option, issue 19) --------------------------------------------------------------


@pytest.mark.parametrize("width", [16, 64, 256])
def test_small_init_has_the_small_init_std(width):
    """N(0, 2/(5·width)): √(2/(5·64)) = 0.079; on 4096 draws the sample std is within 5% and the mean near 0."""
    w = init.small_init_(torch.empty(4096 // width, width), generator=torch.Generator().manual_seed(0))
    std = math.sqrt(2 / (5 * width))
    assert init.small_init_std(width) == pytest.approx(std, rel=1e-12)
    assert abs(float(w.std()) / std - 1) < 0.05 and abs(float(w.mean())) < 4 * std / 64


def test_small_init_rows_keep_their_norm_at_every_width():
    """A row's norm is ≈ √(2/5) whatever the width: what keeps a tied head's logits from shrinking with d."""
    for width in (64, 1024):
        w = init.small_init_(torch.empty(64, width), generator=torch.Generator().manual_seed(1))
        assert abs(float(w.norm(dim=1).mean()) - math.sqrt(2 / 5)) < 0.05


def test_small_init_is_reproducible_from_the_generator_in_every_dtype():
    want = init.small_init_(torch.empty(40, 8), generator=torch.Generator().manual_seed(3))
    for dtype in DTYPES:
        got = init.small_init_(torch.empty(40, 8, dtype=dtype), generator=torch.Generator().manual_seed(3))
        assert got.dtype == dtype and torch.equal(got, want.to(dtype))


def test_small_init_draws_large_tables_in_chunks(monkeypatch):
    """Every row is written (no NaN left) when the table is drawn in several chunks, and the chunks differ."""
    monkeypatch.setattr(init, "_NOISE_CHUNK", 16)
    w = init.small_init_(torch.full((10, 4), float("nan")), generator=torch.Generator().manual_seed(0))
    assert not w.isnan().any() and not torch.equal(w[:4], w[4:8])


@pytest.mark.parametrize("channels_last", [False, True])
def test_small_init_conv_draws_over_the_fan_in(channels_last):
    """A c_out x c_in x k x k kernel: the same values as small_init_ on its c_out x (c_in·k·k) flattening."""
    kernel = torch.empty(32, 4, 3, 3)
    if channels_last:
        kernel = kernel.to(memory_format=torch.channels_last)
    init.small_init_conv_(kernel, generator=torch.Generator().manual_seed(2))
    flat = init.small_init_(torch.empty(32, 36), generator=torch.Generator().manual_seed(2))
    assert torch.equal(kernel.reshape(32, 36), flat)


@pytest.mark.parametrize("fan_in", [4, 16, 768])
def test_small_init_of_a_stem_drawn_with_its_output_width_keeps_the_input_norm_times_sqrt_two_fifths(fan_in):
    """d = c_out (GPT-NeoX's model width) instead of the fan-in: std √(2/(5·c_out)), and a c_out x fan_in stem maps
    inputs of norm r to norm ≈ √(2/5)·r at every fan-in (with the fan-in's d, to ≈ √(2/5 · c_out/fan_in)·r)."""
    stem = init.small_init_conv_(torch.empty(768, 1, fan_in, 1), d=768, generator=torch.Generator().manual_seed(4))
    assert abs(float(stem.std()) / math.sqrt(2 / (5 * 768)) - 1) < 0.05
    inputs = torch.randn(256, fan_in, generator=torch.Generator().manual_seed(5))
    ratio = (inputs @ stem.reshape(768, fan_in).T).norm(dim=1) / inputs.norm(dim=1)
    assert abs(float(ratio.mean()) - math.sqrt(2 / 5)) < 0.05


def test_small_init_is_a_noop_on_meta_and_rejects_other_ranks_and_widths():
    w = torch.empty(3, 4, device="meta")
    assert init.small_init_(w) is w
    with pytest.raises(ValueError, match="small_init_ expects a 2-D"):
        init.small_init_(torch.empty(2, 2, 2))
    with pytest.raises(ValueError, match="d=0 must be a width of at least 1"):
        init.small_init_(torch.empty(2, 2), d=0)


# ---- devices and bad input ----------------------------------------------------------------------------------------

ALL_FILLS = {
    "idi_": lambda w: init.idi_(w, T),
    "idiz_": lambda w: init.idiz_(w, E),
    "loosen_": lambda w: init.loosen_(w, 1e-3, generator=torch.Generator().manual_seed(0)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fill", ALL_FILLS)
def test_initializers_keep_device_and_dtype(fill, dtype, device):
    w = torch.zeros(6, 3, dtype=dtype, device=device)
    out = ALL_FILLS[fill](w)
    assert out is w and out.device.type == device and out.dtype == dtype


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "meta"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_idi_on_device_matches_cpu(dtype, device):
    assert torch.equal(init.idi_(torch.empty(6, 4, dtype=dtype, device=device), T).cpu(), init.idi_(torch.empty(6, 4, dtype=dtype), T))


@pytest.mark.parametrize("conv", [init.idic_, init.idizc_])
def test_conv_initializers_are_noops_on_meta(conv):
    kernel = torch.empty(4, 2, 3, 3, device="meta")
    assert conv(kernel) is kernel


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan, math.inf, True, "1"])
def test_idi_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        init.idi_(torch.empty(2, 2), tau)


@pytest.mark.parametrize("epsilon", [-1e-6, math.nan, -math.inf])
def test_idiz_rejects_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        init.idiz_(torch.empty(2, 2), epsilon)


def test_bad_choices_name_the_allowed_values():
    with pytest.raises(ValueError, match="wide='diagonal'.*'partial', 'tile'"):
        init.idi_(torch.empty(2, 3), wide="diagonal")
    with pytest.raises(ValueError, match="pattern=.*'subtract', 'identity'"):
        init.idiz_(torch.empty(2, 3), pattern="x")
    with pytest.raises(ValueError, match="target=.*'identity', 'all'"):
        init.loosen_(torch.empty(2, 3), target="x")


def test_matrix_initializers_reject_other_ranks():
    with pytest.raises(ValueError, match="2-D"):
        init.idi_(torch.empty(2, 2, 2))


def test_reference_patterns():
    assert torch.equal(init.idi_pattern(2, 2, T), T * torch.eye(2))
    assert torch.equal(init.idiz_pattern(2, 2, E), tensor([[E, -E], [-E, E]]))


# ---- mixtures of experts: stacked 3-D expert weights ----------------------------------------------------------------


def test_expert_shifts_spread_over_the_model_dimensions():
    assert init.expert_shifts(4, 16) == [0, 4, 8, 12]
    assert init.expert_shifts(3, 8) == [0, 2, 5]
    assert init.expert_shifts(5, 2) == [0, 0, 0, 1, 1]  # more experts than dimensions: shifts repeat
    with pytest.raises(ValueError, match="n_experts > 0 and size > 0"):
        init.expert_shifts(0, 4)


@pytest.mark.parametrize("layout, gate_rows", [("halves", [0, 1, 2]), ("interleaved", [0, 2, 4])])
def test_gate_up_parts_are_views_of_the_gate_and_up_rows(layout, gate_rows):
    w = torch.zeros(2, 6, 3)
    gate, up = init.gate_up_parts(w, layout)
    gate.fill_(1.0)
    up.fill_(2.0)
    up_rows = [r for r in range(6) if r not in gate_rows]
    assert (w[:, gate_rows] == 1).all() and (w[:, up_rows] == 2).all()


def test_gate_up_parts_reject_odd_rows_and_unknown_layouts():
    with pytest.raises(ValueError, match="even number of output rows"):
        init.gate_up_parts(torch.empty(2, 5, 3), "halves")
    with pytest.raises(ValueError, match="layout='stacked'.*'halves', 'interleaved'"):
        init.gate_up_parts(torch.empty(2, 4, 3), "stacked")


EXPERT_SHAPES = [shape for shape, _ in IDI_CASES.values()] + [(7, 3), (2, 8)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("wide", ["partial", "tile"])
@pytest.mark.parametrize("shape", EXPERT_SHAPES, ids=str)
def test_idi_experts_without_shifts_is_idi_on_every_expert(shape, wide, dtype):
    w = empty((3, *shape), dtype, "cpu")
    assert init.idi_experts_(w, T, wide=wide) is w
    want = init.idi_pattern(*shape, T, wide=wide).to(dtype)
    assert all(torch.equal(expert, want) for expert in w)


@pytest.mark.parametrize("dtype", DTYPES)
def test_idi_experts_shift_each_expert_along_its_input(dtype):
    """W[e, m, (m + o_e) mod in] = τ: expert 1 (shift 1) reads input m + 1, expert 2 (shift 3) input m + 3."""
    w = init.idi_experts_(empty((3, 3, 4), dtype, "cpu"), T, shifts=[0, 1, 3])
    assert torch.equal(w[0], tensor([[T, 0, 0, 0], [0, T, 0, 0], [0, 0, T, 0]], dtype))
    assert torch.equal(w[1], tensor([[0, T, 0, 0], [0, 0, T, 0], [0, 0, 0, T]], dtype))
    assert torch.equal(w[2], tensor([[0, 0, 0, T], [T, 0, 0, 0], [0, T, 0, 0]], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pattern", ["subtract", "identity"])
@pytest.mark.parametrize("shape", [shape for shape, _ in IDIZ_CASES.values()], ids=str)
def test_idiz_experts_without_shifts_is_idiz_on_every_expert(shape, pattern, dtype):
    w = empty((2, *shape), dtype, "cpu")
    assert init.idiz_experts_(w, E, pattern=pattern) is w
    want = init.idiz_pattern(*shape, E, pattern=pattern).to(dtype)
    assert all(torch.equal(expert, want) for expert in w)


@pytest.mark.parametrize("dtype", DTYPES)
def test_idiz_experts_shift_each_expert_along_its_output(dtype):
    """W[e, (m + o_e) mod out, j] = IDIZ[m, j]: the down projection of a 4 → 2 expert, shifted by 0 and by 1."""
    w = init.idiz_experts_(empty((2, 4, 2), dtype, "cpu"), E, shifts=[0, 1])
    assert torch.equal(w[0], tensor([[E, -E], [-E, E], [E, -E], [-E, E]], dtype))
    assert torch.equal(w[1], tensor([[-E, E], [E, -E], [-E, E], [E, -E]], dtype))


def test_idiz_experts_zero_epsilon_is_zero():
    assert torch.equal(init.idiz_experts_(torch.empty(2, 3, 5), 0.0), torch.zeros(2, 3, 5))


def test_shifted_experts_compute_expert_0_in_shifted_coordinates():
    """With the same shifts on gate/up (inputs) and down (outputs), f_e(x) = P_eᵀ f_0(P_e x) for the cyclic
    permutation P_e of the model dimensions: every expert is expert 0 seen through its own shift."""
    d, hidden, shifts = 4, 6, [0, 1, 3]
    gate_up = init.idi_experts_(torch.empty(3, 2 * hidden, d), shifts=shifts)
    down = init.idiz_experts_(torch.empty(3, d, hidden), 0.5, shifts=shifts, pattern="identity")
    gate_up[:, :hidden] *= torch.linspace(0.5, 1.5, hidden)[:, None]  # distinct gate rows, still shifted alike
    x = torch.randn(5, d)

    def expert(e, x):
        gate, up = (x @ gate_up[e].t()).chunk(2, dim=-1)
        return (torch.nn.functional.silu(gate) * up) @ down[e].t()

    for e, shift in enumerate(shifts):
        assert torch.allclose(expert(e, x), expert(0, x.roll(-shift, dims=1)).roll(shift, dims=1), atol=1e-6)


def test_experts_stored_transposed_get_the_pattern_of_their_out_x_in_view():
    """GPT-OSS stores experts E x in x out (``x @ W``): the initializers take ``w.transpose(1, 2)``."""
    stored = torch.empty(2, 3, 5)  # in = 3, out = 5
    init.idi_experts_(stored.transpose(1, 2), T)
    assert all(torch.equal(expert, init.idi_pattern(5, 3, T).t()) for expert in stored)
    gate, up = init.gate_up_parts(torch.zeros(2, 3, 4).transpose(1, 2), "interleaved")
    init.idi_experts_(up, T)
    assert torch.equal(up.transpose(1, 2)[0], T * torch.eye(3)[:, :2])  # the odd columns of the stored weight


def test_loosen_experts_gives_each_expert_its_own_noise_on_its_tau_entries():
    pattern = init.idi_experts_(torch.empty(3, 6, 2), T, shifts=[0, 1, 1])
    w = init.loosen_experts_(pattern.clone(), 1e-2, shifts=[0, 1, 1], generator=torch.Generator().manual_seed(0))
    assert torch.equal(w[pattern == 0], torch.zeros(int((pattern == 0).sum())))
    moved = (w - pattern)[pattern != 0]
    assert (moved != 0).all() and moved.abs().max() < 0.1
    assert not torch.equal(w[1], w[2])  # the same pattern, different draws


def test_loosen_experts_same_keeps_the_experts_identical():
    w = init.loosen_experts_(init.idi_experts_(torch.empty(3, 6, 2)), 1e-2, same=True,
                             generator=torch.Generator().manual_seed(0))
    assert torch.equal(w[0], w[1]) and torch.equal(w[1], w[2]) and not torch.equal(w[0], init.idi_pattern(6, 2))


def test_loosen_experts_all_moves_every_entry_and_is_reproducible():
    a = init.loosen_experts_(torch.zeros(2, 3, 4), 1.0, target="all", generator=torch.Generator().manual_seed(5))
    b = init.loosen_experts_(torch.zeros(2, 3, 4, dtype=torch.float64), 1.0, target="all",
                             generator=torch.Generator().manual_seed(5))
    assert (a != 0).all() and torch.equal(a, b.float()) and not torch.equal(a[0], a[1])


EXPERT_FILLS = {
    "idi_experts_": lambda w: init.idi_experts_(w, T, shifts=[0, 2]),
    "idiz_experts_": lambda w: init.idiz_experts_(w, E, shifts=[1, 0]),
    "loosen_experts_": lambda w: init.loosen_experts_(w, 1e-3, generator=torch.Generator().manual_seed(0)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fill", EXPERT_FILLS)
def test_expert_initializers_keep_device_and_dtype(fill, dtype, device):
    w = torch.zeros(2, 6, 3, dtype=dtype, device=device)
    out = EXPERT_FILLS[fill](w)
    assert out is w and out.device.type == device and out.dtype == dtype


@pytest.mark.parametrize("fill", EXPERT_FILLS)
def test_expert_initializers_reject_other_ranks_and_wrong_shifts(fill):
    with pytest.raises(ValueError, match="3-D expert weight"):
        EXPERT_FILLS[fill](torch.empty(6, 3))
    with pytest.raises(ValueError, match="shifts must be 3 integers"):
        getattr(init, fill)(torch.empty(3, 6, 3), shifts=[0, 1])


def test_expert_initializers_reject_bad_values():
    with pytest.raises(ValueError, match="tau"):
        init.idi_experts_(torch.empty(2, 2, 2), 0.0)
    with pytest.raises(ValueError, match="epsilon"):
        init.idiz_experts_(torch.empty(2, 2, 2), -1e-6)
    with pytest.raises(ValueError, match="pattern='x'"):
        init.idiz_experts_(torch.empty(2, 2, 2), pattern="x")
# ---- IDIZε of a norm's gain ---------------------------------------------------------------------------------------

GAIN_CASES = {  # (offset, pattern) -> the gain (offset + w) each channel gets
    "weight_constant": (0.0, "constant", [E, E, E, E, E]),
    "weight_alternating": (0.0, "alternating", [E, -E, E, -E, E]),
    "one_plus_weight_constant": (1.0, "constant", [E, E, E, E, E]),
    "one_plus_weight_alternating": (1.0, "alternating", [E, -E, E, -E, E]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", GAIN_CASES)
def test_idiz_gain_exact_pattern(case, dtype):
    """w = ε·s − offset, rounded once to the dtype (the norm adds the offset back: its gain is ε·s)."""
    offset, pattern, gains = GAIN_CASES[case]
    w = empty((5,), dtype, "cpu")
    assert init.idiz_gain_(w, E, offset=offset, pattern=pattern) is w
    assert w.dtype == dtype
    assert torch.equal(w, torch.tensor([g - offset for g in gains], dtype=torch.float64).to(dtype))


def test_idiz_gain_is_the_gain_the_norm_applies():
    """Through a (offset + w) RMS norm, the branch output is ε·s ⊙ ẑ: ε-sized whatever the branch computed."""
    z = torch.randn(3, 8) * 1e3
    z_hat = z * torch.rsqrt(z.pow(2).mean(-1, keepdim=True))
    for offset in (0.0, 1.0):
        w = init.idiz_gain_(torch.empty(8, dtype=torch.float64), E, offset=offset, pattern="alternating")
        out = z_hat.double() * (offset + w)
        signs = torch.tensor([1.0, -1.0] * 4, dtype=torch.float64)
        assert torch.allclose(out, E * signs * z_hat.double(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_idiz_gain_of_epsilon_below_the_spacing_near_one_is_exactly_zero_in_low_precision(dtype):
    """Gemma's (1 + w): ε − 1 with ε = 1e-6 rounds to −1 in bfloat16 / float16, a gain of exactly 0."""
    w = init.idiz_gain_(torch.empty(4, dtype=dtype), 1e-6, offset=1.0)
    assert torch.equal(w, torch.full((4,), -1.0, dtype=dtype))
    assert torch.equal(1.0 + w.float(), torch.zeros(4))


def test_idiz_gain_of_gemma_keeps_epsilon_in_float32():
    w = init.idiz_gain_(torch.empty(4), 1e-6, offset=1.0)
    assert torch.equal(w, torch.full((4,), 1e-6 - 1.0))
    assert float((1.0 + w).max()) == pytest.approx(1e-6, rel=0.07)  # float32's spacing near 1 is 6e-8


def test_idiz_gain_zero_epsilon_is_a_gain_of_zero():
    assert torch.equal(init.idiz_gain_(torch.empty(3), 0.0), torch.zeros(3))
    assert torch.equal(init.idiz_gain_(torch.empty(3), 0.0, offset=1.0), -torch.ones(3))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_idiz_gain_keeps_device_and_dtype_and_is_a_noop_on_meta(dtype, device):
    w = torch.zeros(6, dtype=dtype, device=device)
    assert init.idiz_gain_(w, E, offset=1.0) is w and w.device.type == device and w.dtype == dtype
    if device != "meta":
        assert torch.equal(w.cpu(), torch.full((6,), E - 1.0, dtype=torch.float64).to(dtype))


@pytest.mark.parametrize("bad, match", [(dict(epsilon=-1e-6), "epsilon"), (dict(epsilon=math.nan), "epsilon"),
                                        (dict(offset=math.inf), "offset"), (dict(offset="1"), "offset"),
                                        (dict(pattern="subtract"), "pattern=.*'constant', 'alternating'")])


def test_idiz_gain_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        init.idiz_gain_(torch.empty(4), **{"epsilon": E, **bad})


def test_idiz_gain_rejects_a_matrix():
    with pytest.raises(ValueError, match="1-D gain"):
        init.idiz_gain_(torch.empty(2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_seeded_normal_is_the_same_draw_in_every_dtype(dtype):
    """The float32 draw of a seeded generator, cast: the same values (to the dtype's precision) in every dtype."""
    reference = init.seeded_normal_(torch.empty(64, 8), 0.5, generator=torch.Generator().manual_seed(3))
    w = init.seeded_normal_(torch.empty(64, 8, dtype=dtype), 0.5, generator=torch.Generator().manual_seed(3))
    assert w.dtype == dtype and torch.equal(w, reference.to(dtype))
    assert 0.4 < float(reference.std()) < 0.6 and abs(float(reference.mean())) < 0.1


def test_seeded_normal_is_a_noop_on_meta():
    w = torch.empty(4, 4, device="meta")
    assert init.seeded_normal_(w, 1.0) is w
# ---- IDICτ in the centre-first patch order, grouped and depthwise kernels; gains -----------------------------------


def test_kernel_positions_are_nearest_the_centre_first():
    assert init.kernel_positions((3, 3)) == [(1, 1), (0, 1), (1, 0), (1, 2), (2, 1), (0, 0), (0, 2), (2, 0), (2, 2)]
    assert init.kernel_positions((2, 2)) == [(1, 1), (0, 1), (1, 0), (0, 0)]  # the centre of an even kernel: k // 2
    assert init.kernel_positions((5,))[:3] == [(2,), (1,), (3,)]
    assert sorted(init.kernel_positions((3, 1, 2))) == sorted((a, 0, c) for a in range(3) for c in range(2))


def centred(out_channels, in_channels, k, entries):
    """A kernel of zeros with ``value`` at each (out, in, row, column) of ``entries``."""
    kernel = torch.zeros(out_channels, in_channels, k, k)
    for (o, i, r, c), value in entries.items():
        kernel[o, i, r, c] = value
    return kernel


IDIC_CENTRED_CASES = {
    # c_out = c_in: the Dirac kernel (centre 1 on the diagonal)
    "square_3x3": ((2, 2, 3, 3), 1, {(0, 0, 1, 1): T, (1, 1, 1, 1): T}),
    # c_out = 2·c_in: the identity, then the input at the nearest position (0, 1) of the window
    "widening_3x3": ((4, 2, 3, 3), 1, {(0, 0, 1, 1): T, (1, 1, 1, 1): T, (2, 0, 0, 1): T, (3, 1, 0, 1): T}),
    # c_out < c_in: a partial identity at the centre
    "narrowing_3x3": ((1, 2, 3, 3), 1, {(0, 0, 1, 1): T}),
    # 1 x 1, c_out > c_in: the window has c_in values, so rows replicate (IDIτ of the c_out x c_in matrix)
    "tall_1x1": ((3, 2, 1, 1), 1, {(0, 0, 0, 0): T, (1, 1, 0, 0): T, (2, 0, 0, 0): T}),
    # depthwise (groups = channels): every channel its own Dirac kernel
    "depthwise_3x3": ((3, 1, 3, 3), 3, {(0, 0, 1, 1): T, (1, 0, 1, 1): T, (2, 0, 1, 1): T}),
    # 2 groups of 2 outputs over 1 input each: per group, the centre then the nearest position
    "grouped_3x3": ((4, 1, 3, 3), 2, {(0, 0, 1, 1): T, (1, 0, 0, 1): T, (2, 0, 1, 1): T, (3, 0, 0, 1): T}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IDIC_CENTRED_CASES)
def test_idic_centred_exact_pattern(case, dtype):
    shape, groups, entries = IDIC_CENTRED_CASES[case]
    kernel = empty(shape, dtype, "cpu")
    assert init.idic_centred_(kernel, T, groups=groups) is kernel
    assert kernel.dtype == dtype
    assert torch.equal(kernel, centred(shape[0], shape[1], shape[2], entries).to(dtype))


def test_idic_centred_wide_tile_sums_the_window():
    kernel = init.idic_centred_(torch.empty(1, 1, 3, 3), T, wide="tile")  # one output: every position of the window
    assert torch.equal(kernel, torch.full((1, 1, 3, 3), T))


def test_idic_centred_square_kernel_is_an_identity_convolution():
    x = torch.randn(2, 4, 5, 5)
    kernel = init.idic_centred_(torch.empty(4, 4, 3, 3))
    assert torch.equal(torch.nn.functional.conv2d(x, kernel, padding=1), x)


def test_idic_centred_depthwise_kernel_is_an_identity_convolution():
    x = torch.randn(2, 6, 9, 9)
    kernel = init.idic_centred_(torch.empty(6, 1, 7, 7), groups=6)
    assert torch.equal(torch.nn.functional.conv2d(x, kernel, padding=3, groups=6), x)


def test_idic_centred_stride_k_kernel_with_every_position_is_a_space_to_depth():
    """c_out = k·k·c_in with stride k: every pixel of every patch is kept exactly once (a lossless downsampling)."""
    x = torch.randn(1, 2, 4, 4)
    kernel = init.idic_centred_(torch.empty(8, 2, 2, 2))
    y = torch.nn.functional.conv2d(x, kernel, stride=2)
    assert torch.equal(y.flatten().sort().values, x.flatten().sort().values)


def test_idic_centred_of_a_1x1_kernel_is_idic():
    assert torch.equal(init.idic_centred_(torch.empty(5, 3, 1, 1), T), init.idic_(torch.empty(5, 3, 1, 1), T))


IDIZC_CENTRED_CASES = {
    # c_out < P·c_in: +ε at the centre of channel m, −ε at the nearest position (0, 1) of the same channel
    "square_3x3": ((2, 2, 3, 3), 1, {(0, 0, 1, 1): E, (1, 1, 1, 1): E, (0, 0, 0, 1): -E, (1, 1, 0, 1): -E}),
    # 1 x 1, c_out ≥ c_in: IDIZε of the c_out x c_in matrix (+ε on m mod in, −ε on m + 1 mod in)
    "tall_1x1": ((3, 2, 1, 1), 1, {(0, 0, 0, 0): E, (0, 1, 0, 0): -E, (1, 1, 0, 0): E, (1, 0, 0, 0): -E,
                                   (2, 0, 0, 0): E, (2, 1, 0, 0): -E}),
    "depthwise_3x3": ((2, 1, 3, 3), 2, {(0, 0, 1, 1): E, (0, 0, 0, 1): -E, (1, 0, 1, 1): E, (1, 0, 0, 1): -E}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IDIZC_CENTRED_CASES)
def test_idizc_centred_exact_pattern(case, dtype):
    shape, groups, entries = IDIZC_CENTRED_CASES[case]
    kernel = empty(shape, dtype, "cpu")
    assert init.idizc_centred_(kernel, E, groups=groups) is kernel
    assert torch.equal(kernel, centred(shape[0], shape[1], shape[2], entries).to(dtype))


@pytest.mark.parametrize("case", IDIZC_CENTRED_CASES)
def test_idizc_centred_every_output_channel_sums_to_zero(case):
    shape, groups, _ = IDIZC_CENTRED_CASES[case]
    kernel = init.idizc_centred_(torch.empty(shape), E, groups=groups)
    assert torch.equal(kernel.flatten(1).sum(1), torch.zeros(shape[0]))


def test_idizc_centred_identity_pattern_and_zero_epsilon():
    assert torch.equal(init.idizc_centred_(torch.empty(2, 2, 3, 3), E, pattern="identity"),
                       E * init.idic_centred_(torch.empty(2, 2, 3, 3)))
    assert torch.equal(init.idizc_centred_(torch.empty(2, 2, 3, 3), 0.0), torch.zeros(2, 2, 3, 3))


def test_centred_rows_replicate_only_beyond_the_window():
    assert not init.centred_replicated((18, 2, 3, 3))  # 18 = 9 positions x 2 channels
    assert init.centred_replicated((19, 2, 3, 3)) and init.centred_replicated((3, 2, 1, 1))
    assert not init.centred_replicated((6, 1, 3, 3), groups=6)  # depthwise


def test_loosen_centred_only_moves_tau_entries():
    kernel = init.idic_centred_(torch.empty(5, 2, 1, 1), T)
    pattern = kernel.clone()
    init.loosen_centred_(kernel, 1e-2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(kernel[pattern == 0], torch.zeros(int((pattern == 0).sum())))
    moved = (kernel - pattern)[pattern != 0]
    assert (moved != 0).all() and moved.abs().max() < 0.1


@pytest.mark.parametrize("dtype", DTYPES)
def test_idi_gain_is_tau(dtype):
    gain = empty((4,), dtype, "cpu")
    assert init.idi_gain_(gain, T) is gain and torch.equal(gain, torch.full((4,), T, dtype=dtype))


CENTRED_FILLS = {
    "idic_centred_": lambda w: init.idic_centred_(w, T, groups=2),
    "idizc_centred_": lambda w: init.idizc_centred_(w, E, groups=2),
    "loosen_centred_": lambda w: init.loosen_centred_(w, 1e-3, groups=2, generator=torch.Generator().manual_seed(0)),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fill", CENTRED_FILLS)
def test_centred_initializers_keep_device_and_dtype(fill, dtype, device):
    kernel = torch.zeros(6, 2, 3, 3, dtype=dtype, device=device)
    out = CENTRED_FILLS[fill](kernel)
    assert out is kernel and out.device.type == device and out.dtype == dtype


@pytest.mark.parametrize("device", DEVICES)
def test_idi_gain_keeps_device(device):
    gain = torch.zeros(3, device=device)
    assert init.idi_gain_(gain) is gain and gain.device.type == device


@pytest.mark.parametrize("fill", [init.idic_centred_, init.idizc_centred_, init.loosen_centred_])
def test_centred_initializers_reject_matrices_and_groups_that_do_not_divide(fill):
    with pytest.raises(ValueError, match="convolution kernel"):
        fill(torch.empty(3, 3))
    with pytest.raises(ValueError, match="groups=2 does not divide the 3 output channels"):
        fill(torch.empty(3, 1, 3, 3), groups=2)


def test_idi_gain_rejects_other_ranks():
    with pytest.raises(ValueError, match="1-D"):
        init.idi_gain_(torch.empty(2, 2))
