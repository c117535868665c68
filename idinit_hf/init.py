"""Tensor initializers of IDInit, in the style of :mod:`torch.nn.init`.

Source: Pan et al., "IDInit: A Universal and Stable Initialization Method for Neural Network Training",
ICLR 2025 (arXiv 2503.04626). Section numbers below refer to ``docs/method.md`` of this repository, which
records what the paper states and which parts are our reading.

Every function here

* is pure torch and works in place on a weight of the ``nn.Linear`` layout ``out x in`` (or a convolution
  kernel ``c_out x c_in x k...``); pass ``w.t()`` for a weight stored transposed (GPT-2's ``Conv1D`` stores
  ``in x out``) and :func:`fused_blocks` views for fused projections (GPT-2's ``c_attn`` = Q|K|V);
* writes each element at most once after a single ``zero_()``, through strided ``diagonal`` views, so it
  never allocates a temporary as large as the weight (the loosening noise is drawn in bounded chunks);
* keeps the tensor's dtype and device; float16 and bfloat16 store the nearest representable value
  (``epsilon = 1e-6`` is a float16 subnormal, see ``docs/method.md``);
* is a no-op on the meta device, which has no data to write.

None of these functions looks at ``_is_hf_initialized``: that guard belongs to the caller
(:mod:`idinit_hf.mixin` checks it before it reads a parameter's shape, as :mod:`transformers.initialization` does).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import torch

__all__ = [
    "WIDE_RULES",
    "ZERO_PATTERNS",
    "LOOSEN_TARGETS",
    "idi_",
    "idiz_",
    "idic_",
    "idizc_",
    "loosen_",
    "fused_blocks",
    "idi_pattern",
    "idiz_pattern",
    "number_problem",
    "idi_heads_",
    "loosen_heads_",
    "heads_replicated",
    "GQA_RULES",
    "QKV_LAYOUTS",
    "QUERY_PART",
    "KEY_PART",
    "VALUE_PART",
    "qkv_rows",
    "idi_qkv_",
    "small_init_query_rows_",
    "GATE_UP_LAYOUTS",
    "expert_shifts",
    "gate_up_parts",
    "idi_experts_",
    "idiz_experts_",
    "loosen_experts_",
    "GAIN_PATTERNS",
    "idiz_gain_",
    "small_init_",
    "small_init_conv_",
    "small_init_std",
    "seeded_normal_",
    "CONV_ORDERS",
    "kernel_positions",
    "idic_centred_",
    "idizc_centred_",
    "loosen_centred_",
    "centred_replicated",
    "idi_gain_",
]

#: How IDIτ treats a weight wider than tall (``out < in``), §1. ``"partial"`` is the paper's formula
#: ``W[m, j] = τ iff m ≡ j (mod in)``, which keeps the first ``out`` inputs; ``"tile"`` repeats the identity
#: horizontally (``W[m, j] = τ iff j ≡ m (mod out)``), which sums groups of inputs.
WIDE_RULES = ("partial", "tile")
#: The IDIZε patterns, §3: ``"subtract"`` (+ε / −ε pairs, zero row sums) or ``"identity"`` (ε·IDI).
ZERO_PATTERNS = ("subtract", "identity")
#: Where the loosening noise goes, §2: on the identity (τ) entries only, or on every entry.
LOOSEN_TARGETS = ("identity", "all")
#: Key/value projections of grouped-query attention: plain IDIτ (key head g reads the dimensions of query head g)
#: or lined up with the query heads that use it (:func:`idi_heads_`).
GQA_RULES = ("repeat", "group")

# Largest number of noise values drawn at once by loosen_(target="all"): bounds the temporary.
_NOISE_CHUNK = 1 << 20


def _check_matrix(tensor: torch.Tensor, name: str) -> None:
    if tensor.dim() != 2:
        raise ValueError(f"{name} expects a 2-D weight (out x in); got shape {tuple(tensor.shape)}")


def _check_choice(value: str, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; allowed: {', '.join(map(repr, allowed))}")


def number_problem(value: object, *, positive: bool) -> str | None:
    """Why ``value`` is not a finite number (> 0 if ``positive``, else >= 0), or None. A bool is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "must be a finite number"
    if positive and value <= 0:
        return "must be > 0"
    if not positive and value < 0:
        return "must be >= 0"
    return None


def _check_finite(value: float, name: str, *, positive: bool) -> None:
    problem = number_problem(value, positive=positive)
    if problem:
        raise ValueError(f"{name} {problem}; got {value!r}")


def _idi_diagonals(matrix: torch.Tensor, wide: str = "partial") -> Iterator[torch.Tensor]:
    """Yield strided views of exactly the entries that IDIτ sets to τ in ``matrix`` (``out x in``).

    ``W[m, j] = τ iff m ≡ j (mod in)``: one main diagonal per vertical block of ``in`` rows. For ``out < in``
    this is the partial identity ``[τI | 0]``; ``wide="tile"`` gives one diagonal per horizontal block instead.
    """
    n_out, n_in = matrix.shape
    if n_out >= n_in or wide == "partial":
        for start in range(0, n_out, n_in):
            yield matrix[start : start + n_in].diagonal()
    else:  # tile: W[m, j] = τ iff j ≡ m (mod out)
        for start in range(0, n_in, n_out):
            yield matrix[:, start : start + n_out].diagonal()


def _matrix_view(kernel: torch.Tensor) -> torch.Tensor | None:
    """The ``c_out x (c_in·k·…)`` view of a kernel in PyTorch's flatten order, or None if no view exists."""
    try:
        return kernel.view(kernel.shape[0], -1)
    except RuntimeError:  # e.g. channels_last kernels: no 2-D view of the storage
        return None


@torch.no_grad()
def idi_(tensor: torch.Tensor, tau: float = 1.0, *, wide: str = "partial") -> torch.Tensor:
    r"""Fill a 2-D weight with the identity-preserving pattern IDIτ (§1, stated).

    .. math::
        W_{m,j} = \begin{cases} \tau & m \equiv j \pmod{in} \\ 0 & \text{otherwise} \end{cases}

    Square: ``τI``. Taller than wide (``out > in``): identity blocks stacked vertically, so the input is
    replicated. Wider than tall: the partial identity ``[τI | 0]`` (``wide="tile"``: ``[τI | τI | …]``).
    No fan-in scaling.

    Args:
        tensor: an ``out x in`` weight (``nn.Linear`` layout); pass ``w.t()`` for transposed storage.
        tau: the value on the identity entries (> 0).
        wide: ``"partial"`` (default, the paper's formula) or ``"tile"``, only used when ``out < in``.

    Example:
        >>> w = torch.empty(6, 3)
        >>> idi_(w)[3:].equal(torch.eye(3))
        True
    """
    _check_matrix(tensor, "idi_")
    _check_finite(tau, "tau", positive=True)
    _check_choice(wide, WIDE_RULES, "wide")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    for diagonal in _idi_diagonals(tensor, wide):
        diagonal.fill_(tau)
    return tensor


def _head_positions(n_out: int, n_in: int, head_dim: int, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows and columns of the τ entries of :func:`idi_heads_`: row ``r`` of key/value head ``g = r // head_dim``
    reads input ``(g·group·head_dim + r mod head_dim) mod in``."""
    rows = torch.arange(n_out)
    cols = ((rows // head_dim) * group * head_dim + rows % head_dim) % n_in
    return rows, cols


@torch.no_grad()
def idi_heads_(tensor: torch.Tensor, tau: float = 1.0, *, head_dim: int, group: int) -> torch.Tensor:
    r"""IDIτ for the key or value projection of grouped-query attention, lined up with the query heads.

    With ``H`` query heads and ``KV = H / group`` key/value heads, query head ``h`` attends with key head
    ``h // group``. Plain IDIτ gives key head ``g`` the input dimensions of query head ``g``; here key head ``g``
    gets those of query head ``g·group``, the first of the query heads that use it:

    .. math::
        W_{r,j} = \tau \iff j \equiv \lfloor r / d_h \rfloor \cdot \text{group} \cdot d_h + (r \bmod d_h) \pmod{in}

    ``group = 1`` is plain IDIτ on a ``out ≤ in`` weight. Our reading (the paper has no grouped attention).
    """
    _check_matrix(tensor, "idi_heads_")
    _check_finite(tau, "tau", positive=True)
    if head_dim <= 0 or group <= 0 or tensor.shape[0] % head_dim:
        raise ValueError(f"idi_heads_: head_dim={head_dim} and group={group} do not fit shape {tuple(tensor.shape)}")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    rows, cols = _head_positions(*tensor.shape, head_dim, group)
    tensor[rows.to(tensor.device), cols.to(tensor.device)] = tau
    return tensor


@torch.no_grad()
def loosen_heads_(tensor: torch.Tensor, std: float = 1e-6, *, head_dim: int, group: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """The loosening noise (§2) on the τ entries of :func:`idi_heads_`, drawn as :func:`loosen_` draws it."""
    _check_finite(std, "std", positive=False)
    if tensor.is_meta or std == 0 or tensor.numel() == 0:
        return tensor
    rows, cols = _head_positions(*tensor.shape, head_dim, group)
    index = (rows.to(tensor.device), cols.to(tensor.device))
    tensor.index_put_(index, _noise(len(rows), std, generator, tensor), accumulate=True)
    return tensor


def heads_replicated(n_out: int, n_in: int, head_dim: int, group: int) -> bool:
    """Whether two rows of :func:`idi_heads_` read the same input (then loosening must tell them apart)."""
    return bool(_head_positions(n_out, n_in, head_dim, group)[1].unique().numel() < n_out)


@torch.no_grad()
def idiz_(tensor: torch.Tensor, epsilon: float = 1e-6, *, pattern: str = "subtract") -> torch.Tensor:
    r"""Fill a 2-D weight with the zero-preserving pattern IDIZε (§3: ε stated, the pattern is our reading).

    For the last layer of a residual branch: the output is ≈ 0 at init, yet no weight is dead.

    ``pattern="subtract"`` (default):

    * ``out < in`` (e.g. an MLP down-projection ``4d → d``): ``W[:, :out] = εI`` and ``W[:, out:]`` gets the
      IDI pattern with value ``−ε``; for ``in = 4·out`` that is ``[εI, −εI, 0, 0]``. After an IDIτ
      up-projection the replicas cancel exactly, while they receive opposite gradients.
    * ``out ≥ in`` (e.g. a square attention output): ``W[m, m mod in] = +ε`` and
      ``W[m, (m+1) mod in] = −ε``: every row sums to zero. (With ``in = 1`` no pair exists: the entry is ``+ε``.)

    ``pattern="identity"``: ``ε`` on the IDI positions only, i.e. ``idi_(tensor, ε)`` (non-zero mean).
    ``epsilon = 0`` gives the plain zero init.
    """
    _check_matrix(tensor, "idiz_")
    _check_finite(epsilon, "epsilon", positive=False)
    _check_choice(pattern, ZERO_PATTERNS, "pattern")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    if epsilon == 0:
        return tensor
    n_out, n_in = tensor.shape
    if pattern == "identity":
        for diagonal in _idi_diagonals(tensor):
            diagonal.fill_(epsilon)
    elif n_out < n_in:
        tensor[:, :n_out].diagonal().fill_(epsilon)
        for diagonal in _idi_diagonals(tensor[:, n_out:]):
            diagonal.fill_(-epsilon)
    else:
        for start in range(0, n_out, n_in):
            block = tensor[start : start + n_in]
            block.diagonal().fill_(epsilon)
            if n_in == 1:
                continue
            block.diagonal(1).fill_(-epsilon)
            if block.shape[0] == n_in:  # row in-1 wraps around to column 0
                block[n_in - 1, 0] = -epsilon
    return tensor


def _on_matrix(kernel: torch.Tensor, fill, name: str) -> torch.Tensor:
    """Apply a 2-D ``fill`` to the ``c_out x (c_in·k·…)`` flattening of a convolution kernel (§4)."""
    if kernel.dim() < 3:
        raise ValueError(f"{name} expects a convolution kernel (c_out x c_in x k...); got shape {tuple(kernel.shape)}")
    if kernel.is_meta:
        return kernel
    matrix = _matrix_view(kernel)
    if matrix is not None:
        fill(matrix)
        return kernel
    # No 2-D view of this storage (channels_last): build the pattern in a same-size contiguous buffer.
    buffer = torch.empty(kernel.shape, dtype=kernel.dtype, device=kernel.device)
    fill(buffer.view(kernel.shape[0], -1))
    kernel.copy_(buffer)
    return kernel


@torch.no_grad()
def idic_(tensor: torch.Tensor, tau: float = 1.0, *, wide: str = "partial") -> torch.Tensor:
    r"""IDICτ ("patch-maintain", §4, stated): IDIτ on the kernel flattened to ``c_out x (c_in·k·…)``.

    The flatten order is PyTorch's ``kernel.view(c_out, -1)`` (our reading: the paper does not state it), so
    output channel ``m`` copies input position ``m mod (c_in·k·…)`` of the receptive field. For a ViT patch
    embedding with ``3·P·P = d`` this is a permutation of the patch pixels. Works for Conv1d/2d/3d kernels.
    """
    _check_finite(tau, "tau", positive=True)
    _check_choice(wide, WIDE_RULES, "wide")
    return _on_matrix(tensor, lambda m: idi_(m, tau, wide=wide), "idic_")


@torch.no_grad()
def idizc_(tensor: torch.Tensor, epsilon: float = 1e-6, *, pattern: str = "subtract") -> torch.Tensor:
    """IDIZCε (§4): IDIZε on the kernel flattened to ``c_out x (c_in·k·…)``, for the last conv of a branch."""
    _check_finite(epsilon, "epsilon", positive=False)
    _check_choice(pattern, ZERO_PATTERNS, "pattern")
    return _on_matrix(tensor, lambda m: idiz_(m, epsilon, pattern=pattern), "idizc_")


def _noise(count: int, std: float, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """``count`` draws of N(0, std²) from ``generator``, drawn in float32 on the generator's device.

    Drawing on the generator's device (CPU by default) makes the values independent of the weight's device
    and dtype, so a GPU build, a CPU build and every rank of a distributed job get the same weights.
    """
    device = generator.device if generator is not None else torch.device("cpu")
    values = torch.randn(count, generator=generator, dtype=torch.float32, device=device)
    return values.mul_(std).to(device=like.device, dtype=like.dtype)


@torch.no_grad()
def loosen_(
    tensor: torch.Tensor,
    std: float = 1e-6,
    *,
    generator: torch.Generator | None = None,
    target: str = "identity",
    wide: str = "partial",
) -> torch.Tensor:
    r"""Add the "loosening" perturbation ``N(0, std²)`` to an IDI-initialized weight (§2; the form is our reading).

    Replicated rows of a padded identity would otherwise stay tied. ``target="identity"`` (default) perturbs
    only the τ entries (the positions :func:`idi_` writes, with the same ``wide`` rule), so the zero pattern
    stays exact; ``target="all"`` perturbs every entry, drawn in chunks of at most 2**20 values.
    Pass a seeded ``generator`` so that every process builds the same weights. Works on 2-D weights and on
    convolution kernels (through their ``c_out x (c_in·k·…)`` flattening).

    Note: in bfloat16 / float16 a perturbation far below the entry's spacing rounds away (1 + 1e-6 == 1).
    """
    _check_finite(std, "std", positive=False)
    _check_choice(target, LOOSEN_TARGETS, "target")
    _check_choice(wide, WIDE_RULES, "wide")
    if tensor.is_meta or std == 0 or tensor.numel() == 0:
        return tensor
    if tensor.dim() > 2:
        return _on_matrix(tensor, lambda m: loosen_(m, std, generator=generator, target=target, wide=wide), "loosen_")
    _check_matrix(tensor, "loosen_")
    if target == "identity":
        for diagonal in _idi_diagonals(tensor, wide):
            diagonal.add_(_noise(diagonal.numel(), std, generator, tensor))
    else:
        flat_rows = max(1, _NOISE_CHUNK // tensor.shape[1])
        for start in range(0, tensor.shape[0], flat_rows):
            rows = tensor[start : start + flat_rows]
            rows.add_(_noise(rows.numel(), std, generator, tensor).view(rows.shape))
    return tensor


def small_init_std(width: int) -> float:
    """√(2/(5·width)): the standard deviation of SmallInit (Nguyen & Salazar 2019, "Transformers without Tears",
    §2; GPT-NeoX's ``small_init_init_method``), 0.079 at width 64 and 0.029 at 768."""
    return math.sqrt(2.0 / (5.0 * width))


@torch.no_grad()
def small_init_(tensor: torch.Tensor, *, d: int | None = None, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    r"""SmallInit on a ``rows x width`` table: every entry ``N(0, 2/(5d))`` (:func:`small_init_std`), ``d`` the
    table's ``width`` unless given.

    Not an identity rule: the paper leaves the embedding tables open (``docs/method.md``), and this is the scale
    practitioners give a token table whose rows are also the LM head's (``docs/defaults.md``, issue 19). With
    ``d = width`` a row has norm ≈ √(2/5) ≈ 0.63 at every width, so the logits of a tied head have a spread that
    does not shrink with the width. GPT-NeoX draws every input weight with the model width ``d``, whatever
    the fan-in: a stem (``d`` rows) then maps an input of norm r to one of norm ≈ √(2/5)·r (:func:`small_init_conv_`).
    Drawn in float32 from ``generator`` (on its device) in chunks of at most 2**20 values, then cast, so every
    device and rank gets the same values.
    """
    _check_matrix(tensor, "small_init_")
    if d is not None and d < 1:
        raise ValueError(f"small_init_: d={d} must be a width of at least 1")
    if tensor.is_meta or tensor.numel() == 0:
        return tensor
    std = small_init_std(tensor.shape[1] if d is None else d)
    rows_per_chunk = max(1, _NOISE_CHUNK // tensor.shape[1])
    for start in range(0, tensor.shape[0], rows_per_chunk):
        rows = tensor[start : start + rows_per_chunk]
        rows.copy_(_noise(rows.numel(), std, generator, tensor).view(rows.shape))
    return tensor


@torch.no_grad()
def small_init_conv_(tensor: torch.Tensor, *, d: int | None = None, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """:func:`small_init_` on a convolution kernel's ``c_out x (c_in·k·…)`` flattening: ``N(0, 2/(5d))``, ``d`` the
    fan-in c_in·k·… unless given (a stem's is its ``c_out``, the model width: GPT-NeoX's small_init)."""
    return _on_matrix(tensor, lambda matrix: small_init_(matrix, d=d, generator=generator), "small_init_conv_")


def fused_blocks(tensor: torch.Tensor, sizes: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """Split a fused ``out x in`` projection into its blocks along ``out``, as views to initialize one by one.

    GPT-2's ``c_attn`` fuses Q, K and V: ``fused_blocks(c_attn.weight.t(), [d, d, d])`` gives three ``d x d``
    views, so each of Q, K and V gets its own identity. (For equal square blocks this coincides with IDIτ on
    the whole ``3d x d`` matrix; for blocks of unequal sizes, e.g. grouped-query attention, it does not.)
    """
    _check_matrix(tensor, "fused_blocks")
    if sum(sizes) != tensor.shape[0]:
        raise ValueError(f"fused block sizes {list(sizes)} do not add up to the {tensor.shape[0]} output rows")
    return tuple(torch.split(tensor, list(sizes), dim=0))


def idi_pattern(out_features: int, in_features: int, tau: float = 1.0, *, wide: str = "partial") -> torch.Tensor:
    """The IDIτ pattern as a new float32 ``out x in`` tensor (a reference to compare weights with)."""
    return idi_(torch.empty(out_features, in_features), tau, wide=wide)


def idiz_pattern(out_features: int, in_features: int, epsilon: float = 1e-6, *, pattern: str = "subtract") -> torch.Tensor:
    """The IDIZε pattern as a new float32 ``out x in`` tensor (a reference to compare weights with)."""
    return idiz_(torch.empty(out_features, in_features), epsilon, pattern=pattern)


# ---- fused projections (issue 20): Q|K|V in one weight, gate|up in one weight ---------------------------------------

#: Row orders of a fused Q|K|V projection (``out x in`` with ``out = (H + 2·KV)·d_h``; :func:`qkv_rows`):
#: ``"blocks"``: all query heads, then all key heads, then all value heads (Phi-3's ``qkv_proj``);
#: ``"interleaved"``: for each key/value head ``g``, its ``H/KV`` query heads, then ``k_g``, then ``v_g`` (GPT-NeoX,
#: BLOOM, Persimmon: ``q_h | k_h | v_h`` with KV = H; Falcon: its new decoder architecture, and multi-query, KV = 1);
#: ``"sharded"``: ``shards`` equal row blocks, block ``s`` holding the ``s``-th slice of the query, the value and the
#: key rows, in that order (CodeGen's ``qkv_proj``, written for 4 model-parallel shards: ``q_s | v_s | k_s``).
QKV_LAYOUTS = ("blocks", "interleaved", "sharded")
#: The parts of a fused Q|K|V projection, as :func:`qkv_rows` numbers them.
QUERY_PART, KEY_PART, VALUE_PART = 0, 1, 2


def _arange(part: int, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.full((count,), part, dtype=torch.long), torch.arange(start, start + count)


def qkv_rows(layout: str, *, heads: int, kv_heads: int, head_dim: int, shards: int = 1
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Which projection and which of its rows every row of a fused Q|K|V weight holds (``layout``: :data:`QKV_LAYOUTS`).

    Returns ``(part, index)``, two integer tensors of length ``(heads + 2·kv_heads)·head_dim``: stored row ``r`` is row
    ``index[r]`` of the separate query (``part[r] == QUERY_PART``), key or value projection (``H·d_h`` resp.
    ``KV·d_h`` rows, heads in order). Every row of each separate projection appears exactly once.
    """
    _check_choice(layout, QKV_LAYOUTS, "layout")
    if min(heads, kv_heads, head_dim, shards) <= 0 or heads % kv_heads:
        raise ValueError(f"qkv_rows: heads={heads} must be a positive multiple of kv_heads={kv_heads}; "
                         f"head_dim={head_dim} and shards={shards} must be positive")
    q_rows, kv_rows = heads * head_dim, kv_heads * head_dim
    pieces: list[tuple[int, int, int]] = []  # (part, first row, number of rows), in stored order
    if layout == "blocks":
        pieces = [(QUERY_PART, 0, q_rows), (KEY_PART, 0, kv_rows), (VALUE_PART, 0, kv_rows)]
    elif layout == "interleaved":
        group = heads // kv_heads * head_dim
        for g in range(kv_heads):
            pieces += [(QUERY_PART, g * group, group), (KEY_PART, g * head_dim, head_dim),
                       (VALUE_PART, g * head_dim, head_dim)]
    else:
        if q_rows % shards or kv_rows % shards:
            raise ValueError(f"qkv_rows: {q_rows} query and {kv_rows} key/value rows do not split into {shards} shards")
        q_shard, kv_shard = q_rows // shards, kv_rows // shards
        for s in range(shards):
            pieces += [(QUERY_PART, s * q_shard, q_shard), (VALUE_PART, s * kv_shard, kv_shard),
                       (KEY_PART, s * kv_shard, kv_shard)]
    parts, index = zip(*(_arange(*piece) for piece in pieces), strict=True)
    return torch.cat(parts), torch.cat(index)


def _qkv_rows_of(tensor: torch.Tensor, name: str, layout: str, heads: int, kv_heads: int, head_dim: int,
                 shards: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`qkv_rows`, checked against the fused weight's row count (a ValueError naming ``name`` otherwise)."""
    part, index = qkv_rows(layout, heads=heads, kv_heads=kv_heads, head_dim=head_dim, shards=shards)
    if part.numel() != tensor.shape[0]:
        raise ValueError(f"{name}: {heads} query and {kv_heads} key/value heads of {head_dim} make "
                         f"{part.numel()} rows, not the {tensor.shape[0]} of shape {tuple(tensor.shape)}")
    return part, index


@torch.no_grad()
def idi_qkv_(tensor: torch.Tensor, tau: float = 1.0, *, layout: str, heads: int, kv_heads: int, head_dim: int,
             shards: int = 1, query_scale: float = 1.0, gqa: str = "repeat") -> torch.Tensor:
    r"""IDIτ on a fused Q|K|V projection: the weights separate Q, K and V projections would get, in the fused order.

    With :func:`qkv_rows` giving stored row ``r`` as row ``i`` of projection ``p`` (our reading: the paper builds
    each of Q, K and V on its own, §1):

    .. math::
        W_{r,j} = \begin{cases} \tau \cdot \text{query\_scale} & p = Q,\ j = i \bmod in \\
                                \tau & p \in \{K, V\},\ j = c(i) \\ 0 & \text{otherwise} \end{cases}

    with ``c(i) = i mod in`` (``gqa="repeat"``: key head ``g`` reads the dimensions of query head ``g``) or
    ``c(i) = (⌊i/d_h⌋·(H/KV)·d_h + i mod d_h) mod in`` (``"group"``: those of query head ``g·H/KV``, the first that
    uses it, as :func:`idi_heads_`). So query head ``h`` and its key head read the same input dimensions, and the
    value rows copy them. ``query_scale = 0`` leaves the query rows 0 (uniform attention at init, docs/method.md §9).
    """
    _check_matrix(tensor, "idi_qkv_")
    _check_finite(tau, "tau", positive=True)
    _check_finite(query_scale, "query_scale", positive=False)
    _check_choice(gqa, GQA_RULES, "gqa")
    part, index = _qkv_rows_of(tensor, "idi_qkv_", layout, heads, kv_heads, head_dim, shards)
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    n_in = tensor.shape[1]
    group = 1 if gqa == "repeat" else heads // kv_heads
    columns = torch.where(part == QUERY_PART, index, (index // head_dim) * group * head_dim + index % head_dim) % n_in
    values = torch.where(part == QUERY_PART, tau * query_scale, tau)
    rows = torch.arange(part.numel())
    if query_scale == 0:  # no write to the query rows at all: they stay exactly 0
        keep = part != QUERY_PART
        rows, columns, values = rows[keep], columns[keep], values[keep]
    device = tensor.device
    tensor[rows.to(device), columns.to(device)] = values.to(device=device, dtype=tensor.dtype)
    return tensor


@torch.no_grad()
def small_init_query_rows_(tensor: torch.Tensor, *, layout: str, heads: int, kv_heads: int, head_dim: int,
                           shards: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""SmallInit on the query rows of a fused Q|K|V projection, the other rows untouched: stored row ``r`` with
    ``part[r] = Q`` (:func:`qkv_rows`) becomes row ``index[r]`` of a separate ``H·d_h x in`` query drawn by
    :func:`small_init_` (every entry N(0, 2/(5·in))), so the fused weight holds what separate projections would
    (``idinit_query="small"`` after :func:`idi_qkv_` with ``query_scale=0``)."""
    _check_matrix(tensor, "small_init_query_rows_")
    part, index = _qkv_rows_of(tensor, "small_init_query_rows_", layout, heads, kv_heads, head_dim, shards)
    if tensor.is_meta:
        return tensor
    query = small_init_(torch.empty(heads * head_dim, tensor.shape[1], dtype=tensor.dtype, device=tensor.device),
                        generator=generator)
    rows = torch.nonzero(part == QUERY_PART).flatten()
    tensor[rows.to(tensor.device)] = query[index[rows].to(tensor.device)]
    return tensor


# ---- mixtures of experts: one weight per expert, stacked in a 3-D parameter -----------------------------------------

#: How a fused gate|up projection stacks its two parts along the output dimension: the gate is the first half
#: (Mixtral, Qwen-MoE, OLMoE, DeepSeek-V3) or the even rows (GPT-OSS: ``gate_up[..., ::2]``).
GATE_UP_LAYOUTS = ("halves", "interleaved")


def _check_experts(tensor: torch.Tensor, name: str) -> None:
    if tensor.dim() != 3:
        raise ValueError(f"{name} expects a 3-D expert weight (experts x out x in); got shape {tuple(tensor.shape)}")


def _check_shifts(shifts: Sequence[int] | None, n_experts: int, name: str) -> list[int]:
    if shifts is None:
        return [0] * n_experts
    shifts = list(shifts)
    if len(shifts) != n_experts or any(isinstance(s, bool) or not isinstance(s, int) for s in shifts):
        raise ValueError(f"{name}: shifts must be {n_experts} integers (one per expert); got {shifts!r}")
    return shifts


def expert_shifts(n_experts: int, size: int) -> list[int]:
    r"""The cyclic shift of each expert's model coordinates: :math:`o_e = \lfloor e \cdot size / E \rfloor`.

    Spread evenly over the ``size`` model dimensions: distinct for every expert while ``E ≤ size``, and the experts'
    partial identities (``I < size``, fine-grained experts) together read every dimension once ``E·I ≥ size``.
    Our reading (the paper has no mixture of experts).
    """
    if n_experts <= 0 or size <= 0:
        raise ValueError(f"expert_shifts needs n_experts > 0 and size > 0; got {n_experts}, {size}")
    return [e * size // n_experts for e in range(n_experts)]


def gate_up_parts(tensor: torch.Tensor, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The gate and up parts of a fused gate|up weight (``… x 2I x in``), as views along the output dimension
    (dim -2): the two halves (gate first), or the even (gate) and odd (up) rows for ``"interleaved"``."""
    _check_choice(layout, GATE_UP_LAYOUTS, "layout")
    if tensor.dim() < 2 or tensor.shape[-2] % 2:
        raise ValueError(f"gate_up_parts expects an even number of output rows; got shape {tuple(tensor.shape)}")
    if layout == "halves":
        gate, up = tensor.chunk(2, dim=-2)
        return gate, up
    return tensor[..., 0::2, :], tensor[..., 1::2, :]


def _idi_positions(n_out: int, n_in: int, wide: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows and columns of the τ entries of :func:`idi_` on an ``n_out x n_in`` weight (the same entries its
    diagonals write): ``W[m, m mod in]``, or for ``wide="tile"`` with ``out < in`` ``W[j mod out, j]``."""
    if n_out >= n_in or wide == "partial":
        rows = torch.arange(n_out)
        return rows, rows % n_in
    cols = torch.arange(n_in)
    return cols % n_out, cols


def _idiz_positions(n_out: int, n_in: int, pattern: str) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """(rows, columns, sign) of the ±ε entries of :func:`idiz_` on an ``n_out x n_in`` weight."""
    if pattern == "identity":
        return [(*_idi_positions(n_out, n_in, "partial"), 1.0)]
    rows = torch.arange(n_out)
    if n_out < n_in:  # [εI | −ε·IDI]
        return [(rows, rows, 1.0), (rows, n_out + rows % (n_in - n_out), -1.0)]
    if n_in == 1:
        return [(rows, rows % n_in, 1.0)]
    return [(rows, rows % n_in, 1.0), (rows, (rows + 1) % n_in, -1.0)]


@torch.no_grad()
def idi_experts_(tensor: torch.Tensor, tau: float = 1.0, *, shifts: Sequence[int] | None = None,
                 wide: str = "partial") -> torch.Tensor:
    r"""IDIτ (§1) on every expert of a stacked expert weight ``E x out x in``, each in its own cyclic shift of the input.

    .. math::
        W_{e,m,(j + o_e) \bmod in} = \tau \iff \mathrm{IDI}_{m,j} = \tau

    ``shifts`` = ``(o_0, …, o_{E-1})`` (:func:`expert_shifts`; None: all 0, every expert the same IDIτ). With
    ``o_e = 0`` the expert is exactly :func:`idi_` of its ``out x in`` matrix. Pass ``w.transpose(1, 2)`` for
    experts stored ``E x in x out`` (GPT-OSS) and :func:`gate_up_parts` views for a fused gate|up projection.
    Writes one expert at a time: no temporary larger than one expert's index list.
    """
    _check_experts(tensor, "idi_experts_")
    _check_finite(tau, "tau", positive=True)
    _check_choice(wide, WIDE_RULES, "wide")
    shifts = _check_shifts(shifts, tensor.shape[0], "idi_experts_")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    n_out, n_in = tensor.shape[1:]
    rows, cols = (index.to(tensor.device) for index in _idi_positions(n_out, n_in, wide))
    for expert, shift in zip(tensor, shifts, strict=True):
        expert[rows, (cols + shift) % n_in] = tau
    return tensor


@torch.no_grad()
def idiz_experts_(tensor: torch.Tensor, epsilon: float = 1e-6, *, shifts: Sequence[int] | None = None,
                  pattern: str = "subtract") -> torch.Tensor:
    r"""IDIZε (§3) on every expert of a stacked expert weight ``E x out x in``, each in its own cyclic shift of the
    output (the last layer of each expert: the branch stays ≈ 0 whatever the routing).

    .. math::
        W_{e,(m + o_e) \bmod out,j} = \mathrm{IDIZ}_{m,j}

    With the shifts of :func:`idi_experts_` on the expert's input projections, expert ``e`` is expert 0 conjugated
    by the cyclic permutation :math:`P_e` of the model dimensions: :math:`f_e(x) = P_e^\top f_0(P_e x)`.
    ``shifts=None``: every expert exactly :func:`idiz_` of its matrix.
    """
    _check_experts(tensor, "idiz_experts_")
    _check_finite(epsilon, "epsilon", positive=False)
    _check_choice(pattern, ZERO_PATTERNS, "pattern")
    shifts = _check_shifts(shifts, tensor.shape[0], "idiz_experts_")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    if epsilon == 0:
        return tensor
    n_out, n_in = tensor.shape[1:]
    entries = [(rows.to(tensor.device), cols.to(tensor.device), sign * epsilon)
               for rows, cols, sign in _idiz_positions(n_out, n_in, pattern)]
    for expert, shift in zip(tensor, shifts, strict=True):
        for rows, cols, value in entries:
            expert[(rows + shift) % n_out, cols] = value
    return tensor


@torch.no_grad()
def loosen_experts_(tensor: torch.Tensor, std: float = 1e-6, *, shifts: Sequence[int] | None = None,
                    generator: torch.Generator | None = None, target: str = "identity", wide: str = "partial",
                    same: bool = False) -> torch.Tensor:
    """The loosening noise ``N(0, std²)`` (§2) on every expert of an :func:`idi_experts_` weight (same ``shifts``
    and ``wide``): on its τ entries (``target="identity"``) or on all of them (``"all"``).

    Expert ``e`` gets the next draws of ``generator`` (each expert its own noise: the experts are no longer
    exact copies), or with ``same=True`` the draws of expert 0 (every expert stays identical).
    """
    _check_experts(tensor, "loosen_experts_")
    _check_finite(std, "std", positive=False)
    _check_choice(target, LOOSEN_TARGETS, "target")
    _check_choice(wide, WIDE_RULES, "wide")
    shifts = _check_shifts(shifts, tensor.shape[0], "loosen_experts_")
    if tensor.is_meta or std == 0 or tensor.numel() == 0:
        return tensor
    n_out, n_in = tensor.shape[1:]
    rows, cols = (index.to(tensor.device) for index in _idi_positions(n_out, n_in, wide))
    count = rows.numel() if target == "identity" else n_out * n_in
    noise = None
    for expert, shift in zip(tensor, shifts, strict=True):
        if noise is None or not same:
            noise = _noise(count, std, generator, tensor)
        if target == "identity":
            expert.index_put_((rows, (cols + shift) % n_in), noise, accumulate=True)
        else:
            expert.add_(noise.view(n_out, n_in))
    return tensor


# ---- norms that end a residual branch: IDIZÎµ of a gain ---------------------------------------------------------

#: IDIZε of a norm's gain (:func:`idiz_gain_`): ε on every channel, or +ε / −ε on alternate channels.
GAIN_PATTERNS = ("constant", "alternating")


def _check_vector(tensor: torch.Tensor, name: str) -> None:
    if tensor.dim() != 1:
        raise ValueError(f"{name} expects a 1-D gain (a norm's weight); got shape {tuple(tensor.shape)}")


@torch.no_grad()
def idiz_gain_(tensor: torch.Tensor, epsilon: float = 1e-6, *, offset: float = 0.0,
               pattern: str = "constant") -> torch.Tensor:
    r"""IDIZε for the gain of a norm that ends a residual branch, ``x + norm(f(x))`` (OLMo 2, Gemma 2/3; our reading).

    A norm scales its normalized input ``x̂`` by a gain ``g``: ``norm(z) = g ⊙ ẑ``, the diagonal matrix ``diag(g)``
    applied last. Its IDIτ is ``g = τ·1``, the library's own init. Whatever the branch's linear layers hold, ``ẑ``
    has unit size, so in such a branch the gain is the only place where ε keeps the output ≈ 0 (IDIZε on the last
    linear layer is undone by the normalization). IDIZε of a diagonal is ``g = ε·s`` with

    * ``pattern="constant"`` (default): ``s_i = 1`` (the ``"identity"`` pattern of :func:`idiz_`);
    * ``pattern="alternating"``: ``s_i = (−1)^i``, zero mean over an even number of channels (a diagonal holds no
      ``+ε / −ε`` pairs within a row, so the signs alternate across channels instead).

    The gain receives the full gradient ``∂L/∂g = Σ ∂L/∂y ⊙ ẑ`` from the first step, as a ReZero/SkipInit gate
    does; every weight inside the branch receives a gradient scaled by ε until the gain grows.

    Norms store the gain with an ``offset``: they compute ``(offset + w) ⊙ ẑ``, so IDIZε writes
    ``w = ε·s − offset``: ``offset=0`` for ``RMSNorm``/``LayerNorm`` weights (``w = ε``), ``offset=1`` for Gemma's
    RMSNorm (``w = ε − 1``, whose library init is ``w = 0``, a gain of 1). In bfloat16 and float16 ``ε − 1``
    rounds to ``−1`` for ε below half their spacing near 1 (2⁻⁹, 2⁻¹²): the gain is then exactly 0.

    Args:
        tensor: a 1-D gain (a norm's ``weight``).
        epsilon: ε (>= 0); 0 gives a gain of exactly 0.
        offset: what the norm adds to ``w`` to get its gain.
        pattern: ``"constant"`` or ``"alternating"``.

    Example:
        >>> idiz_gain_(torch.empty(4), 1e-3, pattern="alternating").tolist()
        [0.0010000000474974513, -0.0010000000474974513, 0.0010000000474974513, -0.0010000000474974513]
    """
    _check_vector(tensor, "idiz_gain_")
    _check_finite(epsilon, "epsilon", positive=False)
    _check_choice(pattern, GAIN_PATTERNS, "pattern")
    if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(offset):
        raise ValueError(f"offset must be a finite number; got {offset!r}")
    if tensor.is_meta:
        return tensor
    tensor.fill_(epsilon - offset)
    if pattern == "alternating":
        tensor[1::2].fill_(-epsilon - offset)
    return tensor


# ---- a seeded normal block: the library-init block of a stacked weight ---------------------------------------------


@torch.no_grad()
def seeded_normal_(tensor: torch.Tensor, std: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` with ``N(0, std²)`` drawn as the loosening noise is (float32, on the generator's device, then
    cast): the same values on every device and in every dtype for one seed, so that a rule that writes a random
    block (the library-init block of a stacked weight, :func:`idinit_hf.patterns.write_pattern`) can be rebuilt
    exactly by :func:`idinit_hf.verify`. The library's own init draws ``normal_(0, initializer_range)`` from the global
    generator instead."""
    _check_finite(std, "std", positive=False)
    if tensor.is_meta or tensor.numel() == 0:
        return tensor
    tensor.copy_(_noise(tensor.numel(), std, generator, tensor).view(tensor.shape))
    return tensor


# ---- convolutions in the centre-first patch order, grouped and depthwise kernels; gains --------------------------

#: How IDICτ / IDIZCε see a kernel's receptive field as the columns of a matrix (§4; the order is not stated):
#: ``"flatten"`` is PyTorch's ``kernel.view(c_out, -1)`` over the whole kernel (:func:`idic_`); ``"centred"`` is,
#: per group of a grouped convolution, the positions of the window nearest the centre first, and the input channels
#: within each position (:func:`idic_centred_`).
CONV_ORDERS = ("flatten", "centred")


def _check_kernel(tensor: torch.Tensor, groups: int, name: str) -> None:
    if tensor.dim() < 3:
        raise ValueError(f"{name} expects a convolution kernel (c_out x c_in/groups x k...); got shape "
                         f"{tuple(tensor.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or tensor.shape[0] % groups:
        raise ValueError(f"{name}: groups={groups!r} does not divide the {tensor.shape[0]} output channels")


def kernel_positions(kernel_size: Sequence[int]) -> list[tuple[int, ...]]:
    """Every position of a convolution window, nearest the centre first: the centre ``k // 2`` on each axis (where
    :func:`torch.nn.init.dirac_` puts its 1), then by squared distance from it, ties in raster order.

    Example:
        >>> kernel_positions((3, 3))[:5]
        [(1, 1), (0, 1), (1, 0), (1, 2), (2, 1)]
    """
    centre = [k // 2 for k in kernel_size]
    positions = itertools.product(*(range(k) for k in kernel_size))
    return sorted(positions, key=lambda p: (sum((a - c) ** 2 for a, c in zip(p, centre, strict=True)), p))


def _centred_columns(shape: Sequence[int], groups: int) -> tuple[int, int, list[tuple[int, ...]]]:
    """(rows per group, columns per group = positions x input channels per group, the positions in order)."""
    per_group = shape[0] // groups
    positions = kernel_positions(shape[2:])
    return per_group, len(positions) * shape[1], positions


def _centred_index(shape: Sequence[int], groups: int, rows: torch.Tensor, columns: torch.Tensor,
                   device: torch.device) -> tuple[torch.Tensor, ...]:
    """Kernel indices of (row, group column) pairs: column ``j`` of a group is input channel ``j mod c_in/groups`` at
    position ``j // (c_in/groups)`` of :func:`kernel_positions`."""
    per_channel = shape[1]
    window = torch.tensor(kernel_positions(shape[2:]), dtype=torch.long).view(-1, len(shape) - 2)
    taps = window[columns // per_channel]
    return tuple(t.to(device) for t in (rows, columns % per_channel, *taps.unbind(1)))


def _idi_columns(n_out: int, n_in: int, wide: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, column) of every τ entry of IDIτ on an ``n_out x n_in`` matrix (what :func:`idi_` writes)."""
    if n_out >= n_in or wide == "partial":
        rows = torch.arange(n_out)
        return rows, rows % n_in
    columns = torch.arange(n_in)  # tile: W[m, j] = τ iff j ≡ m (mod out)
    return columns % n_out, columns


def _per_group(shape: Sequence[int], groups: int, rows: torch.Tensor, columns: torch.Tensor):
    """The same (row, column) pattern in every group: rows offset by the group's first output channel."""
    per_group = shape[0] // groups
    offsets = torch.arange(groups).repeat_interleave(len(rows)) * per_group
    return rows.repeat(groups) + offsets, columns.repeat(groups)


def _centred_identity_entries(shape: Sequence[int], groups: int, wide: str, device: torch.device):
    per_group, n_in, _ = _centred_columns(shape, groups)
    return _centred_index(shape, groups, *_per_group(shape, groups, *_idi_columns(per_group, n_in, wide)), device)


@torch.no_grad()
def idic_centred_(tensor: torch.Tensor, tau: float = 1.0, *, groups: int = 1, wide: str = "partial") -> torch.Tensor:
    r"""IDICτ in the centre-first patch order (§4, our reading of "patch-maintain"): IDIτ, in every group of a
    grouped convolution, on the kernel seen as ``c_out/groups x (P·c_in/groups)`` with column
    ``j = p·(c_in/groups) + c`` = input channel ``c`` at the ``p``-th position of :func:`kernel_positions`.

    Output channel ``m`` (``l = m mod c_out/groups`` within its group) copies input channel ``l mod (c_in/groups)`` of
    its group at window position ``⌊(l mod P·c_in/groups) / (c_in/groups)⌋``:

    * ``c_out ≤ c_in`` (groups of): the Dirac kernel, an exact identity on the channels (``torch.nn.init.dirac_``);
      a depthwise kernel ``d x 1 x k x k`` is a per-channel Dirac kernel (centre 1);
    * ``c_out > c_in``: the first ``c_in`` outputs are the identity, the next ones the input shifted by one pixel
      to the nearest positions of the window (a patch is kept, not replicated: ``c_out = P·c_in`` with a stride-``k``
      kernel is a lossless space-to-depth); beyond ``P·c_in`` outputs the rows replicate (loosening applies);
    * ``wide="tile"`` sums, for ``c_out < c_in``, the inputs ``j ≡ l (mod c_out/groups)`` instead.

    For a 1 x 1 kernel and ``groups=1`` this is :func:`idic_` (and :func:`idi_` of the ``c_out x c_in`` matrix).
    """
    _check_kernel(tensor, groups, "idic_centred_")
    _check_finite(tau, "tau", positive=True)
    _check_choice(wide, WIDE_RULES, "wide")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    tensor[_centred_identity_entries(tensor.shape, groups, wide, tensor.device)] = tau
    return tensor


@torch.no_grad()
def idizc_centred_(tensor: torch.Tensor, epsilon: float = 1e-6, *, groups: int = 1,
                   pattern: str = "subtract") -> torch.Tensor:
    """IDIZCε in the centre-first patch order: :func:`idiz_` on the per-group matrix of :func:`idic_centred_`.

    For a square ``c x c x k x k`` kernel (``out < in = P·c``) that is ``+ε`` at the centre of channel ``m`` and
    ``−ε`` at the nearest position of the same channel: the output is ``ε·(x − x shifted by one pixel)``.
    """
    _check_kernel(tensor, groups, "idizc_centred_")
    _check_finite(epsilon, "epsilon", positive=False)
    _check_choice(pattern, ZERO_PATTERNS, "pattern")
    if tensor.is_meta:
        return tensor
    tensor.zero_()
    if epsilon == 0:
        return tensor
    per_group, n_in, _ = _centred_columns(tensor.shape, groups)
    rows = torch.arange(per_group)
    if pattern == "identity":
        entries = [(*_idi_columns(per_group, n_in, "partial"), epsilon)]
    elif per_group < n_in:  # [εI | −ε·IDI of the remaining columns]
        entries = [(rows, rows, epsilon), (rows, per_group + rows % (n_in - per_group), -epsilon)]
    else:  # +ε on m mod in, −ε on (m + 1) mod in (no pair for a single input column)
        entries = [(rows, rows % n_in, epsilon)] + ([(rows, (rows + 1) % n_in, -epsilon)] if n_in > 1 else [])
    for group_rows, columns, value in entries:
        tensor[_centred_index(tensor.shape, groups, *_per_group(tensor.shape, groups, group_rows, columns),
                              tensor.device)] = value
    return tensor


def centred_replicated(shape: Sequence[int], groups: int = 1) -> bool:
    """Whether two outputs of :func:`idic_centred_` copy the same input (more outputs per group than the group's
    window holds values): there loosening must tell the replicas apart."""
    per_group, n_in, _ = _centred_columns(shape, groups)
    return per_group > n_in


@torch.no_grad()
def loosen_centred_(tensor: torch.Tensor, std: float = 1e-6, *, groups: int = 1, wide: str = "partial",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """The loosening noise (§2) on the τ entries of :func:`idic_centred_`, drawn as :func:`loosen_` draws it
    (``target="all"`` needs no position: use :func:`loosen_` on the kernel)."""
    _check_kernel(tensor, groups, "loosen_centred_")
    _check_finite(std, "std", positive=False)
    if tensor.is_meta or std == 0 or tensor.numel() == 0:
        return tensor
    index = _centred_identity_entries(tensor.shape, groups, wide, tensor.device)
    tensor.index_put_(index, _noise(len(index[0]), std, generator, tensor), accumulate=True)
    return tensor


@torch.no_grad()
def idi_gain_(tensor: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """IDIτ of a diagonal stored as its 1-D gain ``g`` (``y = g ⊙ x``: a layer scale): ``g = τ``, the identity."""
    if tensor.dim() != 1:
        raise ValueError(f"idi_gain_ expects a 1-D gain; got shape {tuple(tensor.shape)}")
    _check_finite(tau, "tau", positive=True)
    if tensor.is_meta:
        return tensor
    return tensor.fill_(tau)
