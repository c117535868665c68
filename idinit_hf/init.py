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
    "GAIN_PATTERNS",
    "idiz_gain_",
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
