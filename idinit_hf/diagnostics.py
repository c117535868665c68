"""What a model actually holds, and what it does at init: the checks users (and the tests) run.

* :func:`verify` lists, layer by layer, the role and rule of every tagged parameter and whether the weights
  match the rule exactly (the pattern is rebuilt independently, loosening noise included, and compared
  bit for bit in the parameter's dtype).
* :func:`identity_report` runs real inputs through the model and gives, per residual block, the relative
  identity error ``‖block(x) − x‖ / ‖x‖``, the relative size of each branch output and the attention entropy.
* :func:`jacobian_spectrum` gives the singular values of each block's input-output Jacobian on real inputs.
* :func:`replica_spread` / :func:`replica_report` measure how far the replicated rows of a tall IDIτ matrix (an
  MLP's up-projection) have come apart: 0 while they are tied, about √2 for rows drawn independently.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .families import family_for
from .patterns import (
    LocatedSlot,
    as_matrix,
    is_initialized,
    layer_facts,
    locate_slots,
    partitioned_parameters,
    recorded_seed,
    slot_parameters,
    write_pattern,
)
from .plan import InitPlan
from .roles import Role, Rule, writes_whole

__all__ = [
    "LayerCheck", "VerifyReport", "verify", "BlockReport", "IdentityReport", "identity_report",
    "JacobianReport", "jacobian_spectrum", "role_modules", "role_slots", "replica_spread", "replica_report",
]


@dataclass(frozen=True)
class LayerCheck:
    """One parameter: its role, the rule IDInit applies to it, and whether it holds that rule's weights.

    ``matches`` is None where there is nothing to check (rule ``default``: the model's own random init).
    """

    name: str
    role: Role
    rule: Rule
    shape: tuple[int, ...]
    matches: bool | None
    max_abs_diff: float | None = None


@dataclass
class VerifyReport:
    """The result of :func:`verify`: one :class:`LayerCheck` per tagged parameter."""

    layers: list[LayerCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no checked layer deviates from its rule."""
        return all(layer.matches is not False for layer in self.layers)

    def failures(self) -> list[LayerCheck]:
        return [layer for layer in self.layers if layer.matches is False]

    def by_role(self, role: Role) -> list[LayerCheck]:
        return [layer for layer in self.layers if layer.role is role]

    def __str__(self) -> str:
        rows = [f"{'parameter':60} {'role':16} {'rule':8} {'shape':>16}  match"]
        for layer in self.layers:
            status = "-" if layer.matches is None else "yes" if layer.matches else f"NO (max |diff| {layer.max_abs_diff:.3g})"
            rows.append(f"{layer.name:60} {layer.role.value:16} {layer.rule.value:8} {str(layer.shape):>16}  {status}")
        rows.append(f"{len(self.layers)} parameters, {len(self.failures())} mismatches")
        return "\n".join(rows)


def _expected(located: LocatedSlot, rule: Rule, options: Any, seed: int) -> dict[str, torch.Tensor]:
    """Rebuild, on fresh CPU tensors, what ``rule`` writes into the located layer's parameters."""
    fresh = {
        name: torch.full(param.shape, float("nan"), dtype=param.dtype)
        for name, param in slot_parameters(located.module, located.slot, with_bias=True)
    }
    write_pattern(fresh, located.slot, rule, options, seed, **layer_facts(located.module, located))
    return fresh


def _input_embeddings(model: nn.Module) -> nn.Module | None:
    """The model's input embedding, or None (a convolutional model has none: transformers raises there)."""
    try:
        return model.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return None


def verify(model: nn.Module) -> VerifyReport:
    """Check, layer by layer, that ``model`` holds the IDInit weights its config asks for. Reads only.

    Parameters that were loaded from a checkpoint (flagged ``_is_hf_initialized``) and tied weights are
    reported with ``matches=None``. A model whose config does not ask for IDInit gets an empty report. A model
    whose config asks for IDInit but that a stock class built is checked all the same, from its family's table:
    it fails, since its weights are the library's random ones.

    Raises:
        ValueError: the config asks for IDInit on an architecture with no role table.
    """
    partitioned = partitioned_parameters(model)
    if partitioned:
        raise ValueError(
            f"verify() needs the full weights, but {len(partitioned)} parameters (e.g. {partitioned[0]}) are "
            "DeepSpeed ZeRO-3 partitions: call it inside deepspeed.zero.GatheredParameters(list(model.parameters()))"
        )
    report = VerifyReport()
    plan = InitPlan.for_config(model.config)
    if plan is None:
        return report
    input_embeddings = _input_embeddings(model)
    located_rules = list(plan.located(model))
    # a tied weight is the input embedding's tensor, or another slot's that is written (an encoder-decoder's
    # stacks share its ``shared`` table; Marian's LM head is its decoder's own table when it has one)
    held = {p.data_ptr() for p in getattr(input_embeddings, "parameters", lambda: ())()}
    held |= {param.data_ptr() for located, rule in located_rules if rule is not Rule.TIED
             for _, param in slot_parameters(located.module, located.slot, with_bias=False)}
    for located, rule in located_rules:
        writes = rule not in (Rule.DEFAULT, Rule.TIED)
        params = dict(slot_parameters(located.module, located.slot, with_bias=writes))
        expected = {}
        if writes:
            seed = recorded_seed(located.module)
            expected = _expected(located, rule, plan.options, plan.seed if seed is None else seed)
        for param_name, param in params.items():
            matches, diff = None, None
            if rule is Rule.TIED:
                matches = param.data_ptr() in held
            elif param_name in expected and not is_initialized(param) and not param.is_meta:
                want = expected[param_name]
                got = param.detach().to("cpu")
                if not writes_whole(located.slot, plan.options):  # the library's part is the model's own init
                    written = ~want.isnan()
                    want, got = want[written], got[written]
                matches = bool(torch.equal(got, want))
                diff = float((got.float() - want.float()).abs().max()) if got.numel() else 0.0
            report.layers.append(LayerCheck(f"{located.path}.{param_name}", located.slot.role, rule,
                                            tuple(param.shape), matches, diff))
    return report


@dataclass(frozen=True)
class BlockReport:
    """One residual block at init, measured on real inputs.

    ``identity_error`` = ‖block(x) − x‖ / ‖x‖ for a pre-LN block (an identity map under IDInit), and
    ‖block(x) − LN(x)‖ / ‖LN(x)‖ for a post-LN block (``LN(x + f(x))`` with a zero branch: ``x ↦ LN(x)``, with the
    library's gains 1 and biases 0); NaN for a block whose output has another shape than its input (a convolutional
    block that changes width or resolution: it maps ``x`` to its shortcut's output). ``attention_branch`` and
    ``mlp_branch`` = ‖branch output‖ / ‖x‖ (NaN where the block has no such branch).
    ``attention_entropy`` = mean entropy (nats) of the attention rows, ``uniform_entropy`` what uniform
    attention over the same keys would give: their ratio near 0 means tokens attend to one key.
    """

    index: int
    identity_error: float
    attention_branch: float
    mlp_branch: float
    attention_entropy: float
    uniform_entropy: float


@dataclass
class IdentityReport:
    blocks: list[BlockReport]

    def max_identity_error(self) -> float:
        """The largest identity error over the blocks that keep their shape (NaN if none does)."""
        return max((b.identity_error for b in self.blocks if not math.isnan(b.identity_error)), default=math.nan)

    def max_branch(self) -> float:
        """The largest branch output relative to its block's input, over the branches the blocks have."""
        sizes = [size for b in self.blocks for size in (b.attention_branch, b.mlp_branch) if not math.isnan(size)]
        return max(sizes, default=math.nan)

    def __str__(self) -> str:
        rows = [f"{'block':>5} {'|f(x)-x|/|x|':>13} {'attn branch':>12} {'mlp branch':>12} {'attn entropy':>13} {'uniform':>8}"]
        for b in self.blocks:
            rows.append(
                f"{b.index:5d} {b.identity_error:13.3e} {b.attention_branch:12.3e} {b.mlp_branch:12.3e} "
                f"{b.attention_entropy:13.3f} {b.uniform_entropy:8.3f}"
            )
        return "\n".join(rows)


def _first(value: Any) -> torch.Tensor:
    return value[0] if isinstance(value, (tuple, list)) else value


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a.float().norm() / b.float().norm().clamp_min(1e-30))


def role_slots(model: nn.Module, *roles: Role) -> list[LocatedSlot]:
    """The slots of ``model`` that play one of ``roles`` (any model of a supported family, IDInit or stock;
    reads only)."""
    family = family_for(model.config)
    if family is None:
        raise ValueError(f"no role table for model_type={model.config.model_type!r}")
    return [located for located in locate_slots(model, family) if located.slot.role in roles]


def role_modules(model: nn.Module, *roles: Role) -> list[nn.Module]:
    """The modules of ``model`` that hold one of ``roles``, in module order (see :func:`role_slots`)."""
    found = {id(located.module) for located in role_slots(model, *roles)}
    return [module for module in model.modules() if id(module) in found]


@contextmanager
def _batch_statistics(model: nn.Module) -> Iterator[None]:
    """Batch norms in training mode (normalized by the batch's statistics, as training sees them), their running
    statistics restored afterwards."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [{name: buffer.clone() for name, buffer in m.named_buffers(recurse=False)} for m in norms]
    for norm in norms:
        norm.train()
    try:
        yield
    finally:
        for norm, buffers in zip(norms, saved, strict=True):
            norm.eval()
            for name, value in buffers.items():
                getattr(norm, name).copy_(value)


@torch.no_grad()
def identity_report(model: nn.Module, inputs: dict[str, torch.Tensor], *,
                    batch_statistics: bool = False) -> IdentityReport:
    """Run ``inputs`` through ``model`` (eval mode, eager attention) and measure every residual block.

    Works for any model of a supported family, IDInit or not, so the default init can be compared side by side.
    Branch outputs are read at the attention-output and MLP-output layers (the IDIZ layers), or at the norms that
    end the branches where a family has them (OLMo 2, Gemma 2, a ResNet's batch norm).

    ``batch_statistics=True`` runs batch norms as training does, normalized by the batch (their running statistics
    are restored): in eval mode a fresh batch norm divides by its initial running variance of 1, so a branch that
    ends in a batch norm after an ε-sized convolution looks ≈ 0 there, while training rescales it to full size.
    """
    family = family_for(model.config)
    if family is None:
        raise ValueError(f"identity_report: no role table for model_type={model.config.model_type!r}")
    blocks = [m for m in model.modules() if family.is_block(m)]
    calls: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # (block, input, output) in the order blocks ran
    # a branch output belongs to the block that holds its layer (a decoder block of an encoder-decoder has two
    # attention branches, self and cross: the larger is reported)
    branches: dict[str, dict[int, list[torch.Tensor]]] = {"attn": {}, "mlp": {}}
    hooks = []

    def block_hook(index: int, args: tuple, kwargs: dict, output: Any) -> None:
        calls.append((index, args[0] if args else kwargs["hidden_states"], _first(output)))

    for index, block in enumerate(blocks):
        hooks.append(block.register_forward_hook(
            lambda m, a, k, o, index=index: block_hook(index, a, k, o), with_kwargs=True))
    # a branch's output is what its last layer returns: the norm that ends it where there is one (x + norm(f(x)))
    branch_ends = (("attn", role_modules(model, Role.ATTENTION_OUT_NORM) or role_modules(model, Role.ATTENTION_OUT)),
                   ("mlp", role_modules(model, Role.MLP_OUT_NORM) or role_modules(model, Role.MLP_OUT)))
    block_of = {id(m): index for index, block in enumerate(blocks) for m in block.modules()}
    for key, modules in branch_ends:
        for module in modules:
            index = block_of.get(id(module))
            outputs = branches[key].setdefault(index, [])
            # a copy: a block may add its residual to the branch's output in place (ResNet's hidden_state += residual)
            hooks.append(module.register_forward_hook(
                lambda m, a, o, outputs=outputs: outputs.append(_first(o).clone())))
    was_training = model.training
    previous_attention = getattr(model.config, "_attn_implementation", None)
    model.eval()
    try:
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation("eager")  # attention probabilities are only returned by eager
        with _batch_statistics(model) if batch_statistics else nullcontext():
            outputs = model(**inputs, output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
        if previous_attention is not None and hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(previous_attention)
    # an encoder-decoder returns its encoder's and its decoder's self-attentions apart, in the order they ran; a
    # convolutional model's output has none
    attentions = outputs.get("attentions") or (*(outputs.get("encoder_attentions") or ()),
                                               *(outputs.get("decoder_attentions") or ()))
    report = []
    for position, (index, x, y) in enumerate(calls):
        entropy, uniform = _attention_entropy(attentions[position]) if position < len(attentions) else (math.nan, math.nan)
        report.append(
            BlockReport(
                index=position,
                identity_error=(_relative(y - family.at_init(x), family.at_init(x))
                                if y.shape == x.shape else math.nan),
                attention_branch=_largest_branch(branches["attn"].get(index, ()), x),
                mlp_branch=_largest_branch(branches["mlp"].get(index, ()), x),
                attention_entropy=entropy,
                uniform_entropy=uniform,
            )
        )
    return IdentityReport(report)


def _largest_branch(outputs: Any, x: torch.Tensor) -> float:
    """‖branch output‖ / ‖x‖ of the largest of a block's branch-output layers (NaN where the block has none)."""
    return max((_relative(output, x) for output in outputs), default=math.nan)


def _attention_entropy(probs: torch.Tensor) -> tuple[float, float]:
    """Mean row entropy of attention probabilities (batch, heads, queries, keys), and of uniform rows over the
    same support (the keys with non-zero probability allowed by the mask: causal rows see fewer keys)."""
    probs = probs.float()
    entropy = -(probs * probs.clamp_min(1e-30).log()).sum(-1)
    support = (probs > 0).sum(-1).clamp_min(1).float()
    return float(entropy.mean()), float(support.log().mean())


@dataclass(frozen=True)
class JacobianReport:
    """Singular values of each residual block's input-output Jacobian (dynamical isometry).

    For block ``f`` and its real input ``x`` (one sequence of ``T`` tokens of width ``d``), ``J = ∂f(x)/∂x`` is a
    ``(T·d) x (T·d)`` matrix. An identity block has every singular value equal to 1; ``log_spread`` is the
    standard deviation of ``log σ`` over the non-negligible singular values (0 = perfectly isometric).
    """

    index: int
    sigma_min: float
    sigma_max: float
    sigma_mean: float
    log_spread: float


def _first_example(inputs: dict[str, torch.Tensor], max_tokens: int) -> dict[str, torch.Tensor]:
    """The first example of the batch, cut to ``max_tokens`` along the sequence for token inputs."""
    out = {}
    for key, value in inputs.items():
        value = value[:1]
        if key in ("input_ids", "attention_mask", "token_type_ids", "position_ids"):
            value = value[:, :max_tokens]
        out[key] = value
    return out


def jacobian_spectrum(model: nn.Module, inputs: dict[str, torch.Tensor], *, max_tokens: int = 16) -> list[JacobianReport]:
    """Per residual block, the singular values of ``∂block(x)/∂x`` on the first example of ``inputs``.

    The block is re-run with the exact arguments it received in a real forward pass (masks, position
    information), so causal masking is kept. Cost: one ``(T·d)²`` Jacobian per block: keep ``T·d`` to a few
    thousand (``max_tokens`` cuts token sequences).
    """
    family = family_for(model.config)
    if family is None:
        raise ValueError(f"jacobian_spectrum: no role table for model_type={model.config.model_type!r}")
    blocks = [m for m in model.modules() if family.is_block(m)]
    calls: list[tuple[tuple, dict]] = []

    def capture(module: nn.Module, args: tuple, kwargs: dict) -> None:
        kwargs = dict(kwargs)
        for cache in ("past_key_values", "past_key_value", "layer_past"):  # a replay must not grow a KV cache
            if cache in kwargs:
                kwargs[cache] = None
        if "use_cache" in kwargs:
            kwargs["use_cache"] = False
        calls.append((args, kwargs))

    hooks = [block.register_forward_pre_hook(capture, with_kwargs=True) for block in blocks]
    was_training = model.training
    model.eval()
    try:
        example = _first_example(inputs, max_tokens)
        if "use_cache" in inspect.signature(model.forward).parameters:
            example["use_cache"] = False  # a replayed block must not append to a KV cache
        with torch.no_grad():
            model(**example)
    finally:
        for hook in hooks:
            hook.remove()
    reports = []
    try:
        for index, (block, (args, kwargs)) in enumerate(zip(blocks, calls, strict=True)):
            hidden = (args[0] if args else kwargs.pop("hidden_states")).detach()
            rest = args[1:]

            def block_fn(h: torch.Tensor, block=block, rest=rest, kwargs=kwargs) -> torch.Tensor:
                return _first(block(h, *rest, **kwargs))

            jacobian = torch.autograd.functional.jacobian(block_fn, hidden.float(), vectorize=True)
            n = hidden.numel()  # a block that changes width or resolution has a rectangular Jacobian
            sigma = torch.linalg.svdvals(jacobian.reshape(-1, n).double())
            kept = sigma[sigma > sigma.max() * 1e-6]
            logs = kept.log()
            reports.append(JacobianReport(index, float(sigma.min()), float(sigma.max()), float(sigma.mean()),
                                          float(logs.std()) if kept.numel() > 1 else 0.0))
    finally:
        model.train(was_training)
    return reports


@torch.no_grad()
def replica_spread(matrix: torch.Tensor) -> float:
    r"""How far the replicated rows of a tall ``out x in`` matrix have come apart (NaN when ``out <= in``):

    .. math:: \operatorname{spread}(W) = \frac{1}{\mathrm{out} - \mathrm{in}} \sum_{m \ge \mathrm{in}}
              \frac{\lVert W_m - W_{m \bmod \mathrm{in}} \rVert}{\lVert W_{m \bmod \mathrm{in}} \rVert}

    IDIτ makes row ``m`` a copy of row ``m mod in`` (§1), so the spread starts at the loosening noise's relative
    size; for rows drawn independently from one distribution it is about √2. Replicated hidden units compute the
    same function and get the same gradient up to what tells them apart, so a spread that stays near 0 in training
    means the layer works as if it had ``in`` rows, not ``out`` (benchmarks/dynamics.py records it).
    """
    rows, cols = matrix.shape
    if rows <= cols:
        return math.nan
    weights = matrix.detach().float()
    originals = weights[torch.arange(cols, rows, device=weights.device) % cols]
    distance = (weights[cols:] - originals).norm(dim=1)
    return float((distance / originals.norm(dim=1).clamp_min(1e-30)).mean())


def replica_report(model: nn.Module) -> list[tuple[str, float]]:
    """(parameter path, :func:`replica_spread`) of every tall 2-D MLP-in weight of ``model`` (the up- and gate
    projections, in their ``out x in`` orientation), IDInit or stock. A weight that fuses a gate and an up
    projection is measured per part (``path[0]``, ``path[1]``: each part is its own IDIτ); stacked expert weights
    are left out."""
    report = []
    for located in role_slots(model, Role.MLP_IN, Role.MLP_GATE):
        slot = located.slot
        for name in slot.params:
            weight = getattr(located.module, name, None)
            if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or slot.experts:
                continue
            matrix = as_matrix(weight, slot)
            if slot.gate_up == "interleaved":  # gate on the even rows, up on the odd ones
                split = [matrix[0::2], matrix[1::2]]
            else:
                split = list(matrix.chunk(len(slot.stacked) if slot.stacked else 2 if slot.gate_up else 1))
            parts = len(split)
            for index, part in enumerate(split):
                if part.shape[0] > part.shape[1]:
                    path = f"{located.path}.{name}" + (f"[{index}]" if parts > 1 else "")
                    report.append((path, replica_spread(part)))
    return report
