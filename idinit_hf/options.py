"""The configuration options of IDInit: one table (:data:`OPTION_SPECS`) of names, defaults and allowed values.

The options are plain attributes of a transformers config (``config.init_method = "idinit"``,
``config.idinit_tau = 1.0``, …). transformers passes such attributes through ``GPT2Config(**kwargs)``,
``to_json_string``, ``save_pretrained`` and ``from_pretrained`` unchanged but does not check their types, so
:func:`validate_options` checks every one of them and raises one :class:`ValueError` naming the field and what
is allowed. Everything that reads options is driven by the table: :class:`IDInitOptions` (its fields and
defaults), config validation, the ``--idinit_*`` flags of the pretraining scripts (``training/args.py``) and
``docs/options.md``. Each *kind* of value is parsed and checked in one place (:data:`KINDS`).

This module knows nothing of architectures: a caller that has a family's own defaults (``Family.option_defaults``,
e.g. BERT's embeddings) passes them in (:func:`idinit_hf.families.read_options` does).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from .init import (
    CONV_ORDERS,
    GAIN_PATTERNS,
    GQA_RULES,
    LOOSEN_TARGETS,
    WIDE_RULES,
    ZERO_PATTERNS,
    number_problem,
)
from .roles import CROSS_ATTENTION_RULES

__all__ = [
    "INIT_METHODS", "KINDS", "OptionKind", "OptionSpec", "OPTION_SPECS", "OPTIONS", "IDInitOptions",
    "validate_options", "pop_option_kwargs", "apply_option_overrides",
]

#: Allowed values of ``config.init_method``. Absent means ``"default"``: the model's own initialization.
INIT_METHODS = ("default", "idinit")


class OptionError(ValueError):
    """A value that its option does not allow (the message says what is)."""


def _number(positive: bool) -> Callable[[Any, tuple[str, ...]], float]:
    def check(value: Any, choices: tuple[str, ...]) -> float:
        if number_problem(value, positive=positive):
            raise OptionError
        return float(value)

    return check


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise OptionError
    return value


def _seed(value: Any, choices: tuple[str, ...]) -> int | None:
    # bool is an int in Python; a flag where a seed belongs is a mistake, not 1
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OptionError
    return value


def _parse_seed(text: str) -> int | None:
    return None if text.strip().lower() == "none" else int(text)


@dataclass(frozen=True)
class OptionKind:
    """A kind of option value: how a config value is checked and normalized, and how command-line text is read."""

    allowed: str  # what is allowed, in words ("{choices}" is filled in with the option's choices)
    check: Callable[[Any, tuple[str, ...]], Any]  # (config value, choices) → normalized value; raises OptionError
    parse: Callable[[str], Any]  # command-line text → config value (then checked)
    type: type


#: Every kind of option value, checked and parsed in this one place.
KINDS: dict[str, OptionKind] = {
    "positive": OptionKind("a finite number > 0", _number(positive=True), float, float),
    "nonnegative": OptionKind("a finite number >= 0", _number(positive=False), float, float),
    "seed": OptionKind("None or an integer >= 0", _seed, _parse_seed, Any),
    "choice": OptionKind("{choices}", _choice, str, str),
}


@dataclass(frozen=True)
class OptionSpec:
    """One ``idinit_*`` config option: its field name, default, kind (a key of :data:`KINDS`) and choices."""

    field: str
    default: Any
    kind: str
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def key(self) -> str:
        """The config attribute and, with ``--``, the script flag: ``idinit_tau``."""
        return f"idinit_{self.field}"

    def allowed(self) -> str:
        return KINDS[self.kind].allowed.format(choices=", ".join(repr(c) for c in self.choices))

    def check(self, value: Any) -> Any:
        """``value`` normalized (an int τ becomes a float), or a ValueError naming the field and what is allowed."""
        try:
            return KINDS[self.kind].check(value, self.choices)
        except OptionError:
            raise OptionError(f"config.{self.key}={value!r} is not allowed; expected {self.allowed()}") from None

    def parse(self, text: str) -> Any:
        """Command-line text → a checked value; raises ValueError (argparse reports it for the flag)."""
        try:
            value = KINDS[self.kind].parse(text)
        except ValueError:
            raise OptionError(f"{text!r} is not {self.allowed()}") from None
        try:
            return self.check(value)
        except OptionError:
            raise OptionError(f"{text!r} is not {self.allowed()}") from None


#: Every option, its default and its allowed values. Defaults follow the paper's reading (docs/method.md), except
#: where the benchmark chose another default for one architecture (``Family.option_defaults``: BERT's embeddings).
OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("tau", 1.0, "positive", doc="τ of IDIτ / IDICτ (§1): the value on the identity entries."),
    OptionSpec("query_scale", 1.0, "nonnegative",
               doc="scale of the query projection's IDIτ (method.md §9); 0 = Q = 0: uniform attention at init."),
    OptionSpec("query", "idi", "choice", ("idi", "small"),
               "the query projection (its rows of a fused Q|K|V): IDIτ × idinit_query_scale, or SmallInit "
               "N(0, 2/(5·fan-in)) (GPT-NeoX's small_init: token-dependent attention at init, each head its own; "
               "idinit_query_scale then does not apply, idinit_unscaled_query still does). Keys and values keep IDIτ; "
               "a cross-attention's query follows this too."),
    OptionSpec("epsilon", 1e-6, "nonnegative", doc="ε of IDIZε on residual-branch outputs (§3); 0 = exact zero."),
    OptionSpec("loosening", 1e-6, "nonnegative",
               doc="size of the loosening noise on replicated identities (§2; the std, or with idinit_loosening_scale="
                   "'fan_in' relative to a row); 0 = none."),
    OptionSpec("loosening_target", "identity", "choice", LOOSEN_TARGETS,
               "perturb only the τ entries of a replicated identity, or every entry."),
    OptionSpec("loosening_scale", "absolute", "choice", ("absolute", "fan_in"),
               "idinit_loosening is the noise's std, or its size relative to a row of the identity (every "
               "replicated row moves by about loosening·τ, whatever the width: std = loosening·τ/√fan_in on every "
               "entry, loosening·τ on the τ entries)."),
    OptionSpec("head_loosening_factor", 1.0, "nonnegative",
               doc="the loosening of a tall IDIτ in the heads role (idinit_heads='idi': an untied LM head, a classifier "
                   "wider than its input, an image-modelling decoder) is idinit_loosening times this; a tied table "
                   "follows idinit_loosening. A head's replicas are scores, not hidden units (OLMo 2, issue 19)."),
    OptionSpec("seed", None, "seed", doc="seed of the loosening noise; None = torch.initial_seed()."),
    OptionSpec("wide", "partial", "choice", WIDE_RULES, "IDIτ when out < in: [τI | 0] or [τI | τI …]."),
    OptionSpec("zero_pattern", "subtract", "choice", ZERO_PATTERNS,
               "IDIZε (§3): ±ε pairs with zero row sums, or ε on the identity entries."),
    OptionSpec("gqa", "repeat", "choice", GQA_RULES,
               "grouped-query attention: key/value head g reads the dims of query head g (repeat), or of the "
               "first query head that uses it, g·group (group)."),
    OptionSpec("gate", "idi", "choice", ("idi", "default"),
               "gate projection of a gated MLP (Llama family): IDIτ like the up projection, or the library init."),
    OptionSpec("mlp_out", "idiz", "choice", ("idiz", "default"),
               "last layer of the MLP branch (down projection, an expert's too; not one a norm follows: "
               "idinit_normed_out): IDIZε (§3: the branch outputs ≈ 0 at init), or the library init (the MLP branch "
               "then computes from step 0: the block is no identity at init)."),
    OptionSpec("embeddings", "default", "choice", ("default", "idi"),
               "token / position / token-type tables, ViT class token and positions."),
    OptionSpec("token_table", "embeddings", "choice", ("embeddings", "small"),
               "the token table (and an LM head tied to it): the rule of idinit_embeddings, or SmallInit "
               "N(0, 2/(5d)) (GPT-NeoX's small_init: tied logits of spread ≈ 0.6 at any width d)."),
    OptionSpec("patch_embedding", "idic", "choice", ("default", "idic", "small"),
               "the stem convolution of an image model: ViT's patch embedding, ConvNeXt's patchify stem, a ResNet / "
               "RegNet stem; small: SmallInit N(0, 2/(5d)), d the stem's output width (GPT-NeoX's small_init: a patch of "
               "norm r embeds to norm ≈ 0.63·r at any patch size)."),
    OptionSpec("pooler", "idi", "choice", ("default", "idi", "zero"), "BERT / ViT pooler dense layer."),
    OptionSpec("heads", "default", "choice", ("default", "idi", "zero", "small"),
               "untied heads and head transforms (classifier, untied LM head, MLM transform, NSP, MIM decoder); "
               "small: SmallInit N(0, 2/(5·fan-in))."),
    OptionSpec("router", "default", "choice", ("default", "zero", "idi"),
               "router of a mixture of experts (and a shared expert's gate): the library's random init (token-dependent "
               "routing), zero (uniform routing: every expert scores the same), or IDIτ (expert e's logit reads "
               "dimension e)."),
    OptionSpec("experts", "shift", "choice", ("shift", "loosen", "identical", "default"),
               "what tells the experts of a mixture apart at init: each expert's identity in its own cyclic shift of "
               "the model dimensions (shift), the same identity with each expert's own loosening noise on its τ "
               "entries (loosen), exact copies (identical), or the library's random gate/up projections (default); "
               "every expert's down projection is IDIZε (as idinit_mlp_out says)."),
    OptionSpec("shared_experts", "idi", "choice", ("idi", "default"),
               "shared experts of a mixture (Qwen2-MoE, DeepSeek-V3): a gated MLP under IDInit (gate/up IDIτ, down "
               "IDIZε), or the library init (the block is then no identity at init)."),
    OptionSpec("branch_norm", "idiz", "choice", ("idiz", "default"),
               "gain of a norm that ends a residual branch, x + norm(f(x)) (OLMo 2, Gemma 2/3, EXAONE 4): ε, the "
               "zero-preserving element (IDIZε of a gain), or the library's gain of 1 (the norm then rescales the "
               "branch to full size: no identity at init)."),
    OptionSpec("normed_out", "default", "choice", ("default", "idi", "idiz"),
               "last linear layer of a branch that ends in a norm (o_proj, down_proj of OLMo 2 / Gemma 2): the "
               "library init, IDIτ, or IDIZε (ε twice with the gain's)."),
    OptionSpec("gain_pattern", "constant", "choice", GAIN_PATTERNS,
               "IDIZε of a branch norm's gain: ε on every channel, or +ε / −ε on alternate channels."),
    OptionSpec("embedding_projection", "idi", "choice", ("idi", "default"),
               "the linear map from a narrower (or wider) embedding to the model width, outside every block (ELECTRA, "
               "RoFormer, RemBERT, DeBERTa-v2 embed_proj): a main-stem layer, IDIτ, or the library init."),
    OptionSpec("relative_positions", "default", "choice", ("default", "idi"),
               "DeBERTa-v2's table of relative-position embeddings (rel_embeddings): the library init, or IDIτ "
               "(relative-position bucket b → unit vector e_(b mod d))."),
    OptionSpec("position_projections", "idi", "choice", ("idi", "default"),
               "DeBERTa-v2's position projections (pos_key_proj, pos_query_proj; present when share_att_key is "
               "False): IDIτ like the key and query projections they stand beside, or the library init."),
    OptionSpec("cross_attention", "idi", "choice", tuple(CROSS_ATTENTION_RULES),
               "cross-attention of encoder-decoders (query, key, value): as self-attention (IDIτ, the query as "
               "idinit_query and idinit_query_scale say), a zero query with K = V = I (uniform attention over the source at init), or the "
               "library init; its output projection is IDIZε whatever this says."),
    OptionSpec("unscaled_query", "fold", "choice", ("fold", "identity"),
               "the query of an attention that does not divide its logits by √d_head (T5): IDIτ (or idinit_query's "
               "SmallInit) × d_head^-½, the factor T5's own init folds into the query (fold), or plain (identity)."),
    OptionSpec("position_bias", "default", "choice", ("default", "zero"),
               "T5's relative attention bias table: the library init, or zero (no position preference at init)."),
    OptionSpec("conv", "flatten", "choice", CONV_ORDERS,
               "how IDICτ / IDIZCε see a kernel as a matrix (§4): PyTorch's view(c_out, -1) of the whole kernel "
               "(flatten), or per group the window's positions nearest the centre first, the input channels within "
               "each (centred: a Dirac kernel where c_out ≤ c_in, shifted copies beyond; depthwise kernels per-channel "
               "Dirac)."),
    OptionSpec("layer_scale", "default", "choice", ("default", "idi"),
               "per-channel layer scale that ends a residual branch (ConvNeXt, DINOv2, BEiT): the config's init "
               "value, or IDIτ of a diagonal (1: the branch's last layer alone keeps it ≈ 0)."),
    OptionSpec("downsample", "idic", "choice", ("idic", "default"),
               "main-stem convolution that changes width or resolution (projection shortcuts of ResNet / RegNet, "
               "ConvNeXt's downsampling layers): IDICτ, or the library init."),
    OptionSpec("unsupported", "error", "choice", ("error", "default"),
               "init_method='idinit' on an architecture with no role table: error, or the default init with a "
               "warning."),
)

#: Config key → default, e.g. ``OPTIONS["idinit_tau"] == 1.0``.
OPTIONS: dict[str, Any] = {spec.key: spec.default for spec in OPTION_SPECS}
_SPECS_BY_KEY = {spec.key: spec for spec in OPTION_SPECS}

IDInitOptions = make_dataclass(
    "IDInitOptions",
    [(spec.field, KINDS[spec.kind].type, field(default=spec.default)) for spec in OPTION_SPECS],
    frozen=True,
)
IDInitOptions.__module__ = __name__  # so that it pickles (make_dataclass takes module= only from Python 3.12)
IDInitOptions.__doc__ = "The validated IDInit options of one config; fields and defaults come from OPTION_SPECS."


def validate_options(config: Any, defaults: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> IDInitOptions:
    """Validate ``init_method`` and every ``idinit_*`` attribute of ``config``; return the options.

    ``defaults`` (field → value) replace the table's default of an option the config does not set: an
    architecture's own defaults (``Family.option_defaults``). A value set in the config always wins.

    Raises:
        ValueError: unknown ``init_method``, an ``idinit_*`` key that is not an option (a typo), or a value of
            the wrong type or range. The message names the field and the allowed values.
    """
    method = getattr(config, "init_method", "default")
    if method is not None and (not isinstance(method, str) or method not in INIT_METHODS):
        raise ValueError(
            f"config.init_method={method!r} is not supported; allowed: {', '.join(map(repr, INIT_METHODS))}"
        )
    present = {key for key in vars(config) if key.startswith("idinit_")}
    unknown = sorted(present - _SPECS_BY_KEY.keys())
    if unknown:
        raise ValueError(f"unknown IDInit option(s) {unknown} in the config; known options: {sorted(OPTIONS)}")
    defaults = dict(defaults)
    return IDInitOptions(**{
        spec.field: spec.check(getattr(config, spec.key, defaults.get(spec.field, spec.default)))
        for spec in OPTION_SPECS
    })


def pop_option_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Remove and return ``init_method`` and ``idinit_*`` entries of ``kwargs`` (``from_pretrained`` overrides).

    transformers hands keyword arguments that are not config attributes yet to the model's ``__init__``;
    these must go to the config instead.
    """
    return {key: kwargs.pop(key) for key in list(kwargs) if key == "init_method" or key.startswith("idinit_")}


def apply_option_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """A copy of ``config`` with ``overrides`` set, validated."""
    if not overrides:
        return config
    config = copy.deepcopy(config)
    for key, value in overrides.items():
        setattr(config, key, value)
    validate_options(config)
    return config
