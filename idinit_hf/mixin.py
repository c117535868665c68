"""How the IDInit rules reach every layer of a transformers model, without touching a loaded weight.

transformers 5.x initializes a model with ``initialize_weights``, which walks the module tree and hands every
*nested* ``PreTrainedModel`` (``transformer`` in ``GPT2LMHeadModel``, ``bert``, ``vit``) to that submodel's own
``_init_weights``. Overriding ``_init_weights`` on the head class alone therefore never reaches the body
(docs/design.md). :class:`IDInitMixin` instead, in ``post_init``:

1. tags each module that holds a role's parameters with its :class:`~idinit_hf.roles.Slot` (from the
   family's role table) and its name;
2. makes every nested ``PreTrainedModel`` *instance* dispatch its ``_init_weights`` to IDInit (an instance
   attribute: the nested *class* stays stock, so checkpoint conversion and saving are unchanged);
3. clears the module-level ``_is_hf_initialized`` flags that the nested models' own ``post_init`` left on the
   modules IDInit rewrites, so that the outer pass visits them (and only them) again.

The per-module rule (:func:`init_module`) runs the model's stock ``_init_weights`` with IDInit's parameters
reserved (flagged as initialized for the duration, so the stock init skips them and nothing is written twice),
then writes the IDInit pattern into the parameters of the module itself. It reads a parameter's
``_is_hf_initialized`` flag before its shape, touches only the module and its direct children (what
DeepSpeed ZeRO-3 gathers), and is deterministic, so visiting a module twice is harmless.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, PreTrainedModel
from transformers import initialization as hf_init

from . import init as idinit
from .families import family_for, supported_model_types
from .options import IDInitOptions, apply_option_overrides, pop_option_kwargs, read_options
from .roles import Family, Rule, Slot, rule_for

__all__ = ["IDInitMixin", "prepare_model", "init_module", "tagged_slots", "slot_parameters", "write_pattern"]

logger = logging.getLogger(__name__)

_SLOTS = "_idinit_slots"  # tuple[Slot, ...] on the module that holds the parameters
_NAME = "_idinit_name"  # its dotted name, relative to the base model (same in BertModel and BertForMaskedLM)
_SEED = "_idinit_seed"  # the loosening seed actually used, recorded for verify()
_FLAG = "_is_hf_initialized"
#: Keyword arguments that say where to find a checkpoint: the config and the weights must both see them.
HUB_KWARGS = ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")


def tagged_slots(module: nn.Module) -> tuple[Slot, ...]:
    """The role slots a module was tagged with by :func:`prepare_model` (empty if none)."""
    return getattr(module, _SLOTS, ())


def _is_initialized(tensor: torch.Tensor) -> bool:
    return getattr(tensor, _FLAG, False)


def _resolve(module: nn.Module, path: str) -> Any:
    for attribute in filter(None, path.split(".")):
        module = getattr(module, attribute, None)
        if module is None:
            return None
    return module


def tied_embeddings(config: Any) -> bool:
    """Whether output embeddings share the input embedding's weight (transformers' default is True)."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return bool(getattr(text_config, "tie_word_embeddings", True))


def tag_roles(model: nn.Module, family: Family) -> int:
    """Attach each matching :class:`Slot` of ``family`` to the module that holds its parameters; return the count."""
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    count = 0
    for name, owner in model.named_modules():
        for slot in family.slots:
            if not isinstance(owner, slot.owner):
                continue
            target = _resolve(owner, slot.path)
            if not isinstance(target, nn.Module) or not any(
                isinstance(getattr(target, p, None), nn.Parameter) for p in slot.params
            ):
                continue  # optional layer absent (no pooler, cross-attention off, nn.Identity head)
            full_name = ".".join(filter(None, (name, slot.path))).removeprefix(prefix)
            if slot not in tagged_slots(target):
                setattr(target, _SLOTS, (*tagged_slots(target), slot))
                setattr(target, _NAME, full_name)
                count += 1
    return count


class _NestedInitWeights:
    """The ``_init_weights`` of a nested stock ``PreTrainedModel`` inside an IDInit model.

    Set as an instance attribute, so it shadows the class method for that instance only. A small class rather
    than a closure so that the model stays picklable and deep-copyable.
    """

    def __init__(self, model: PreTrainedModel) -> None:
        self.model = model

    def __call__(self, module: nn.Module) -> None:
        stock = type(self.model)._init_weights.__get__(self.model)
        init_module(self.model.config, module, stock)


def prepare_model(model: PreTrainedModel) -> Family | None:
    """Make ``model`` initialize with IDInit if its config asks for it (called by :meth:`IDInitMixin.post_init`).

    Returns the family used, or None when the model keeps its own initialization.

    Raises:
        ValueError: invalid options, or ``init_method="idinit"`` on an architecture with no role table and
            ``idinit_unsupported`` not set to ``"default"``.
    """
    options = read_options(model.config)
    if options is None:
        return None
    family = family_for(model.config)
    if family is None:
        model_type = getattr(model.config, "model_type", None)
        message = (
            f"init_method='idinit' has no role table for model_type={model_type!r}; supported: "
            f"{', '.join(map(repr, supported_model_types()))}"
        )
        if options.unsupported == "default":
            logger.warning("%s; using the model's default initialization (idinit_unsupported='default')", message)
            return None
        raise ValueError(f"{message}. Set idinit_unsupported='default' to fall back to the default initialization.")
    tag_roles(model, family)
    for submodel in model.modules():
        if isinstance(submodel, PreTrainedModel) and not isinstance(submodel, IDInitMixin):
            submodel._init_weights = _NestedInitWeights(submodel)
    tied = tied_embeddings(model.config)
    for module in model.modules():
        if any(rule_for(s, options, tied_embeddings=tied) not in (Rule.DEFAULT, Rule.TIED) for s in tagged_slots(module)):
            if hasattr(module, _FLAG):
                delattr(module, _FLAG)
    return family


def slot_parameters(module: nn.Module, slot: Slot, *, with_bias: bool) -> Iterator[tuple[str, nn.Parameter]]:
    """The parameters a slot's rule writes: ``slot.params`` (and ``bias`` when the rule resets it)."""
    names = (*slot.params, "bias") if with_bias and "bias" not in slot.params else slot.params
    for name in names:
        param = getattr(module, name, None)
        if isinstance(param, nn.Parameter):
            yield name, param


@contextmanager
def _reserved(params: list[nn.Parameter]):
    """Flag ``params`` as initialized for the duration, so that the stock, guarded init leaves them alone."""
    fresh = [p for p in params if not _is_initialized(p)]
    for param in fresh:
        setattr(param, _FLAG, True)
    try:
        yield
    finally:
        for param in fresh:
            delattr(param, _FLAG)


def _param_seed(base: int, name: str) -> int:
    """A per-parameter seed: the same on every rank and device, whatever the order modules are visited in."""
    return (base * 1_000_003 + zlib.crc32(name.encode())) % (2**63 - 1)


def _as_matrix(param: torch.Tensor, slot: Slot) -> torch.Tensor:
    """The ``out x in`` view a 2-D rule sees: transposed storage undone, leading dims of a table folded."""
    if slot.transposed:
        return param.t()
    if param.dim() > 2:  # ViT's (1, N+1, d) position table and (1, 1, d) class token
        return param.view(-1, param.shape[-1])
    return param


def _replicated(matrix: torch.Tensor) -> bool:
    """IDIτ replicates rows when the output is larger than the input: where loosening is needed (§2)."""
    return matrix.shape[0] > matrix.shape[1]


@torch.no_grad()
def write_rule(module: nn.Module, slot: Slot, rule: Rule, options: IDInitOptions, seed: int) -> None:
    """Write ``rule`` into the parameters of ``module`` for ``slot`` that are not loaded (bias, if any, to 0)."""
    fresh = {n: p for n, p in slot_parameters(module, slot, with_bias=True) if not _is_initialized(p)}
    write_pattern(fresh, slot, rule, options, seed, **layer_facts(module))


def layer_facts(module: nn.Module) -> dict[str, Any]:
    """What a rule needs to know of the layer besides its tensors."""
    return {
        "name": getattr(module, _NAME, ""),
        "is_conv": isinstance(module, nn.modules.conv._ConvNd),
        "padding_idx": getattr(module, "padding_idx", None),
    }


@torch.no_grad()
def write_pattern(
    tensors: dict[str, torch.Tensor],
    slot: Slot,
    rule: Rule,
    options: IDInitOptions,
    seed: int,
    *,
    name: str,
    is_conv: bool,
    padding_idx: int | None,
) -> None:
    """Write ``rule`` into ``tensors`` (parameter name → tensor of one layer). Pure: reads no flag.

    The weights a rule writes depend only on the shapes, the options, the seed and the layer's name, so
    :func:`idinit_hf.verify` can rebuild them on fresh tensors and compare bit for bit.
    """
    for param_name, param in tensors.items():
        if param_name == "bias" and "bias" not in slot.params:
            hf_init.zeros_(param)
        elif rule is Rule.ZERO:
            hf_init.zeros_(param)
        elif rule is Rule.IDIZ:
            if is_conv:
                idinit.idizc_(param, options.epsilon, pattern=options.zero_pattern)
            else:
                idinit.idiz_(_as_matrix(param, slot), options.epsilon, pattern=options.zero_pattern)
        elif rule in (Rule.IDI, Rule.IDIC):
            _write_identity(param, slot, options, _param_seed(seed, f"{name}.{param_name}"), is_conv)
        else:
            raise AssertionError(f"rule {rule} writes nothing")  # DEFAULT and TIED never reach here
        if param_name == "weight" and padding_idx is not None and rule is not Rule.ZERO:
            param[padding_idx].zero_()  # as nn.Embedding does: the padding row stays 0


def _write_identity(param: nn.Parameter, slot: Slot, options: IDInitOptions, seed: int, is_conv: bool) -> None:
    generator = torch.Generator().manual_seed(seed)
    loosen = dict(std=options.loosening, generator=generator, target=options.loosening_target, wide=options.wide)
    if is_conv:
        idinit.idic_(param, options.tau, wide=options.wide)
        if param.shape[0] > param[0].numel():
            idinit.loosen_(param, **loosen)
        return
    matrix = _as_matrix(param, slot)
    if slot.fused:
        n_in = matrix.shape[1]
        for block in idinit.fused_blocks(matrix, [n_in] * (matrix.shape[0] // n_in)):
            idinit.idi_(block, options.tau, wide=options.wide)
        return
    idinit.idi_(matrix, options.tau, wide=options.wide)
    if _replicated(matrix):
        idinit.loosen_(matrix, **loosen)


def resolve_seed(options: IDInitOptions) -> int:
    """The base seed of the loosening noise: ``idinit_seed``, else the seed torch was last seeded with."""
    return options.seed if options.seed is not None else torch.initial_seed()


def init_module(config: Any, module: nn.Module, stock: Callable[[nn.Module], None]) -> None:
    """Initialize one module: the stock init for what IDInit leaves alone, then the IDInit rules.

    ``stock`` is the model's own ``_init_weights``. With ``config.init_method != "idinit"`` this is exactly
    ``stock(module)``.
    """
    options = read_options(config)
    if options is None:
        stock(module)
        return
    tied = tied_embeddings(config)
    targets = [module, *(c for c in module.children() if not isinstance(c, PreTrainedModel))]
    plan = [
        (target, slot, rule)
        for target in targets
        for slot in tagged_slots(target)
        if (rule := rule_for(slot, options, tied_embeddings=tied)) not in (Rule.DEFAULT, Rule.TIED)
    ]
    owned = [p for target, slot, _ in plan for _, p in slot_parameters(target, slot, with_bias=True)]
    with _reserved(owned):
        stock(module)
    seed = resolve_seed(options)
    for target, slot, rule in plan:
        if target is module:
            write_rule(module, slot, rule, options, seed)
            setattr(module, _SEED, seed)


class IDInitMixin:
    """Give a transformers model IDInit weights when ``config.init_method == "idinit"``.

    Mix in before the stock class: ``class MyGPT2(IDInitMixin, GPT2LMHeadModel)``. With any other
    ``init_method`` (or none) the model is initialized exactly as the stock class would. Loaded weights are
    never rewritten: every write is guarded by transformers' ``_is_hf_initialized`` flag.
    """

    @classmethod
    def is_custom_code(cls) -> bool:
        # transformers treats classes defined outside its package as custom code: it then skips checkpoint key
        # conversion (stock ViT checkpoints would not load) and parent-level inits. The mixin adds no module or
        # parameter: the modeling code is the stock one, so the stock treatment is the right one.
        return False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, *args: Any, **kwargs: Any):
        """As transformers' ``from_pretrained``; ``init_method=`` and ``idinit_*=`` keywords update the config.

        Weights in the checkpoint are loaded as they are; only the missing ones get IDInit.
        """
        overrides = pop_option_kwargs(kwargs)
        if overrides:
            config = kwargs.pop("config", None)
            if config is None:
                hub = {k: kwargs[k] for k in HUB_KWARGS if k in kwargs}
                config = AutoConfig.from_pretrained(pretrained_model_name_or_path, **hub)
            kwargs["config"] = apply_option_overrides(config, overrides)
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    def to_empty(self, *, device: Any, recurse: bool = True):
        """``nn.Module.to_empty``, then forget every module's "already initialized" flag.

        ``to_empty`` hands back uninitialized memory, so flags left by an earlier pass (for instance the one
        transformers runs on meta tensors under ``accelerate.init_empty_weights()``) are stale; without this,
        the following ``init_weights()`` would skip every module and leave garbage in the weights.
        """
        result = super().to_empty(device=device, recurse=recurse)
        for module in self.modules():
            if hasattr(module, _FLAG):
                delattr(module, _FLAG)
        return result

    def post_init(self) -> None:
        prepare_model(self)
        super().post_init()

    def _init_weights(self, module: nn.Module) -> None:
        init_module(self.config, module, super()._init_weights)

