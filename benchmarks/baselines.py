"""The initializations practitioners use (issue 19), as benchmark methods: functions of the family's roles.

Each function takes a model of any registry family that the library built with its default init, rewrites the
weights its rule names and leaves the rest as the library made them. Nothing here looks at parameter names:
where a rule needs a layer, it asks the family's role table (:func:`role_slots`: each ``Slot`` of
``idinit_hf.FAMILIES`` found in the model, with its role, layout and parameters), the family's residual blocks
(``Family.is_block``, for the layer index ``l`` and the depth ``L``) or the stock transformers API
(``get_input_embeddings`` / ``get_output_embeddings``, for the token table and the LM head).
Notation: d = hidden size, L = number of residual blocks, l = 0-based block index, k = head size; N(0, s) is a
normal of standard deviation s (the issue's notation). A rule writes the parameters each slot names
(``slot.params``: ``weight``, a mixture's stacked experts ``gate_up_proj`` / ``down_proj``, GPT-OSS's ``sinks``) and
sets to 0 the biases it names (``slot.biases``: ``bias``, GPT-OSS's ``gate_up_proj_bias`` / ``down_proj_bias``);
the library default already has biases 0 except GPT-OSS's router bias. No rule here reads a weight's fan-in (every
std is a function of d, L and l), so an ``E x out x in`` stack of experts is drawn whole, which is drawing each of
its E matrices; the one shape a rule reads is the gate|up split of a fused weight (``slot.gate_up``, on the
``out x in`` view: GPT-OSS stores ``E x in x out`` with the gate on the even columns), where torchtitan's gate (w1)
and up (w3) differ. Routers (``Role.ROUTER``) and attention sinks follow each recipe, or the library default where a
recipe has none (each function's docstring says which).

======================  ======================================================================================
method                  rule (source)
======================  ======================================================================================
``zero-branch-out``     default, then branch outputs (attention out, MLP out) = 0 (modded-nanogpt; Zero-out)
``depth-scaled``        default (inputs N(0, 0.02) in every family), branch outputs N(0, 0.02/√(2L)) (Megatron-LM
                        ``scaled_init_method_normal``; GPT-2's own default already is this)
``neox``                GPT-NeoX / Pythia ``small_init`` + ``wang_init``: every non-norm weight N(0, √(2/(5d))),
                        branch outputs N(0, 2/(L·√d)) (EleutherAI gpt-neox ``megatron/model/init_functions.py``)
``depth-init``          torchtitan Llama ``depth_init`` (OLMo-core ``llama_depth``): q/k/v and gate N(0, 0.02),
                        attention out, MLP down (and up where a gate exists) N(0, 0.02/√(2(l+1))), untied token
                        table N(0, 1), untied LM head N(0, d^-½) truncated at ±3σ
``mimetic``             Trockman & Kolter 2023: per head W_q W_kᵀ ≈ α₁Z + β₁I, per layer W_v W_o ≈ α₂Z − β₂I;
                        attention only
``olmo2``               OLMo 2: every non-norm weight N(0, 0.02) truncated at ±3σ, no depth scaling
``zero-init-residual``  default, then the gain of the norm that ends each residual branch = 0 (Goyal et al. 2017;
                        torchvision's ``zero_init_residual``, timm's ResNet default ``zero_init_last``)
======================  ======================================================================================

Where each applies (:data:`WRITTEN_FOR`, :func:`applies_to`): the first six are recipes for one stack of
transformer blocks and apply to every such registry family (:func:`transformer_stack`), since each has the roles its
rule names, but Mimetic not to multi-head latent attention (DeepSeek V2/V3: no per-head W_q, W_k of the hidden state;
:func:`mimetic_init_` raises ``ValueError``). Zero-γ applies to the families whose residual branches end in a norm
with a gain (:func:`branches_end_in_a_norm`): ResNet and RegNet (a batch norm after the last convolution: there it
is *the* practitioner's init, timm's default), and the post-branch norms of OLMo 2, Gemma 2 and their layouts (there
it is zero-out through the norm: ``zero-branch-out`` zeroes the linear layer before it, which feeds the norm a zero
input). Encoder-decoders (T5, BART) and ConvNeXt get none: their own library init is the recipe practitioners use
(ConvNeXt's branches already end in a layer scale of 1e-6, a zero-out). The parts that need a layer a family
lacks fall back to the library default; for the first four families the table says so, the mixtures of experts
(Mixtral, Qwen2-MoE, DeepSeek V3, GPT-OSS) get the rules of their roles (experts, shared experts and dense MLPs as
MLPs; routers and sinks: the functions' docstrings):

==================  ======  ======  =====  =====  ===============================================================
method              gpt2    bert    vit    llama  notes
==================  ======  ======  =====  =====  ===============================================================
``depth-init``      yes     yes     yes    yes    token table N(0, 1) and LM head d^-½ only where they are untied
                                                  (Llama here); GPT-2 and BERT tie them, and a N(0, 1) table
                                                  would also be the output layer, so the tied table keeps the
                                                  library's N(0, 0.02). ViT has no token table. Position and
                                                  token-type tables, the pooler, other heads: library default
                                                  (torchtitan's models have none). The up projection is
                                                  depth-scaled only next to a gate (torchtitan's w3); a plain MLP's
                                                  input is torchtitan's w1 (N(0, 0.02)).
``mimetic``         yes     yes     yes    yes    GPT-2's fused Q|K|V is split into its blocks; Llama's
                                                  grouped-query attention: see :func:`mimetic_init_`
``neox``, ``olmo2`` yes     yes     yes    yes    "every weight" includes embeddings, positions, ViT's class token,
                                                  patch embedding, pooler and heads; a tied LM head is the table
==================  ======  ======  =====  =====  ===============================================================

Sources. The rules are the issue's; where a detail needed a source, what was checked here (offline, with the
project's search tools) is said, the rest is from the projects' code as we know it and was not re-read here:

* GPT-NeoX: ``small_init_init_method(dim)`` std = √(2/(5·dim)) (Nguyen & Salazar 2019, "Transformers without
  Tears"), ``wang_init_method(n_layers, dim)`` std = 2/(n_layers·√dim), checked against NXAI's xLSTM, which copies
  both from gpt-neox's ``megatron/model/init_functions.py`` (``xlstm/components/init.py``). Pythia's configs use
  ``small_init`` for every other layer (embeddings and the untied output layer included) and ``wang_init`` for the
  branch outputs (attention dense, MLP 4h→h).
* torchtitan's Llama: ``trunc_normal_(w, std=0.02)`` with torch's default bounds (±2, absolute: ±100σ, no
  truncation in practice) for wq/wk/wv/w1, ``init_std = 0.02 / (2 * (layer_id + 1)) ** 0.5`` for wo, w2, w3 under
  ``depth_init``; ``normal_(tok_embeddings)`` (std 1); output ``trunc_normal_(std=dim**-0.5, a=-3σ, b=3σ)``.
* Megatron-LM ``scaled_init_method_normal(sigma, num_layers)``: std = σ/√(2·num_layers), σ = 0.02 elsewhere. The
  ``depth-scaled`` method keeps the library default for the inputs; that default is N(0, 0.02) in all four
  families (``initializer_range`` = 0.02; ViT's ``trunc_normal_`` at ±2 absolute is not truncated at that std):
  ``tests/test_baselines.py`` checks it.
* Mimetic (Trockman & Kolter, ICML 2023, arXiv 2305.09828). The abstract (ar5iv, ICML proceedings text) states
  the scheme: W_q W_kᵀ ≈ identity and W_v W_proj ≈ −identity, closed form; the paper body's constants could not
  be retrieved offline here. Public reimplementations found by code search use α₁ = β₁ = 0.7 per head (Q, K from
  the top-k singular vectors of α₁Z + β₁I, one Z per head) and α₂ = β₂ = 0.4 for the full d×d value-projection
  product, Z with variance 1/d (one draws Z uniform on ±√(3/d), same variance; we draw it normal as the issue
  says); one alternative uses β = 0.05 per head for V·O only (modded-nanogpt PR #214). Those constants are the
  defaults here and keyword arguments of :func:`mimetic_init_`. One of those reimplementations assigns the SVD
  factors of the V·O product in the order that makes W_o W_v = √S Vᴴ U √S instead of α₂Z − β₂I (same trace, not
  the same matrix); here W_o W_v = α₂Z − β₂I exactly in multi-head attention. Those constants were tuned on
  vision transformers; a secondary summary of the paper (lovo.ai) reports other signs in pretrained GPT-2's
  products (negative query-key diagonal, value-projection turning positive with depth), so for language models
  they are a reading, not the paper's tuned values.
* OLMo 2 (OLMo 2 report, OLMo-core ``InitMethod.normal``): every parameter N(0, 0.02) truncated at ±3σ; HF's Llama
  default is the same normal without truncation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import torch
import transformers
from torch import nn

import idinit_hf
from idinit_hf import testing
from idinit_hf.diagnostics import role_modules
from idinit_hf.diagnostics import role_slots as located_slots
from idinit_hf.families import Family
from idinit_hf.init import gate_up_parts, qkv_rows
from idinit_hf.roles import GAIN_ROLES, QUERY, Role, Slot

INPUTS = (Role.ATTENTION_IN, Role.MLP_IN, Role.MLP_GATE)  # the branch's input projections
OUTPUTS = (Role.ATTENTION_OUT, Role.MLP_OUT)  # the last layer of each residual branch
#: Gains keep the library's init under every method: norms (1 / 0; Nemotron's 1 + w gain included), norm gains that
#: end a branch, layer scales.
GAINS = (Role.NORM, Role.NORM_1P, Role.ATTENTION_OUT_NORM, Role.MLP_OUT_NORM, Role.LAYER_SCALE)
#: "every weight" of NeoX and OLMo 2: all but the gains, GPT-OSS's attention sinks (per-head logits, no recipe's) and
#: placeholder tokens (DINOv2's mask and register tokens: zeros, no recipe's)
WEIGHTS = tuple(role for role in Role if role not in (*GAINS, Role.ATTENTION_SINK, Role.PLACEHOLDER_TOKEN))
STD = 0.02  # the fixed std of Megatron, torchtitan and OLMo 2 (= transformers' initializer_range default)

# ---- what the rules need to know of a model ------------------------------------------------------------------------


def family_of(model: nn.Module) -> Family:
    family = idinit_hf.family_for(model.config)
    if family is None:
        raise ValueError(f"no role table for model_type={model.config.model_type!r}")
    return family


def role_slots(model: nn.Module, *roles: Role, path: str | None = None) -> list[tuple[nn.Module, Slot]]:
    """(module, slot) for every slot of the family's table with one of ``roles`` present in ``model``, in module
    order (the library's :func:`idinit_hf.diagnostics.role_slots`: the same table its own init pass walks); with
    ``path``, only the slots at that path of their owner (``v_proj``: the value projections of ``attention_in``)."""
    return [(located.module, located.slot) for located in located_slots(model, *roles)
            if path is None or located.slot.path == path]


def blocks(model: nn.Module) -> list[nn.Module]:
    """The family's residual blocks, in module order (block l is the l-th)."""
    family = family_of(model)
    return [module for module in model.modules() if family.is_block(module)]


def block_index(model: nn.Module) -> dict[int, int]:
    """``id(module) → l`` for every module inside a residual block (the block's position among the blocks)."""
    return {id(inner): index for index, block in enumerate(blocks(model)) for inner in block.modules()}


def hidden_size(model: nn.Module) -> int:
    return int(model.config.hidden_size)


def _tied_to_input(model: nn.Module, param: nn.Parameter) -> bool:
    """Whether ``param`` is the input token table (a tied LM head): it is written as the table, never twice."""
    table = model.get_input_embeddings()
    return isinstance(table, nn.Embedding) and param is table.weight


def role_parameters(model: nn.Module, *roles: Role, path: str | None = None
                    ) -> Iterator[tuple[nn.Module, Slot, nn.Parameter]]:
    """(module, slot, parameter) of every weight of ``roles`` (the slot's ``params``: ``weight``, or ViT's class
    token and position table), in module order; a head tied to the token table is skipped (it is the table), and so
    is a bias a slot names as its parameter (ESM's and RoBERTa's ``lm_head.bias``: biases are 0 in every recipe).
    ``path``: only the slots at that path of their owner (:func:`role_slots`)."""
    for module, slot in role_slots(model, *roles, path=path):
        for name in slot.params:
            if name in slot.biases:
                continue
            param = getattr(module, name, None)
            if not isinstance(param, nn.Parameter):
                continue
            if slot.role is not Role.EMBEDDING and _tied_to_input(model, param):
                continue
            yield module, slot, param


def slot_biases(module: nn.Module, slot: Slot) -> list[nn.Parameter]:
    """The biases the slot names (``slot.biases``: ``bias``, GPT-OSS's ``gate_up_proj_bias`` / ``down_proj_bias``)
    that ``module`` has."""
    return [bias for name in slot.biases if isinstance(bias := getattr(module, name, None), nn.Parameter)]


def _zero_biases(model: nn.Module, *roles: Role) -> None:
    for module, slot in role_slots(model, *roles):
        for bias in slot_biases(module, slot):
            bias.zero_()


def role_parts(slot: Slot, param: nn.Parameter) -> list[tuple[Role, torch.Tensor]]:
    """(role, writable view) of the parts of ``param`` that a rule tells apart: the whole parameter, or for a fused
    gate|up weight (``slot.gate_up``) its gate part (``Role.MLP_GATE``) and its up part (the slot's role), split on
    the ``… x out x in`` view (GPT-OSS stores its experts ``E x in x out``, gate on the even columns)."""
    if not slot.gate_up:
        return [(slot.role, param)]
    gate, up = gate_up_parts(param.transpose(-1, -2) if slot.transposed else param, slot.gate_up)
    return [(Role.MLP_GATE, gate), (slot.role, up)]


def _padding_row_zero(module: nn.Module, param: torch.Tensor) -> None:
    """An ``nn.Embedding`` with a padding index keeps that row 0 (what torch's and transformers' inits do)."""
    if isinstance(module, nn.Embedding) and module.padding_idx is not None and param is module.weight:
        param[module.padding_idx].zero_()


def _normal_(module: nn.Module, param: torch.Tensor, std: float, cutoff: float | None = None) -> None:
    """N(0, std), truncated at ±cutoff·std if given (``param`` may be a view: a part of a fused gate|up weight)."""
    if cutoff is None:
        param.normal_(0.0, std)
    else:
        nn.init.trunc_normal_(param, 0.0, std, -cutoff * std, cutoff * std)
    _padding_row_zero(module, param)


# ---- the methods ---------------------------------------------------------------------------------------------------


@torch.no_grad()
def zero_branch_out_(model: nn.Module) -> None:
    """Zero-out (modded-nanogpt): default init, then the residual-branch output projections = 0 (every expert's
    down projection, the shared experts' too), biases 0. Routers and attention sinks: the library default
    (modded-nanogpt has neither)."""
    for _, _, param in role_parameters(model, *OUTPUTS):
        param.zero_()
    _zero_biases(model, *OUTPUTS)


@torch.no_grad()
def megatron_init_(model: nn.Module) -> None:
    """Megatron-LM ``scaled_init_method_normal``: branch outputs N(0, 0.02/√(2L)) on top of the default init
    (inputs N(0, 0.02) in every family), every expert's down projection included (Megatron-core's experts take the
    ``output_layer_init_method`` for fc2), biases 0. For GPT-2 this is what the library's default already does.
    Routers: the library default N(0, 0.02), which is Megatron's ``init_method`` for its router; attention sinks:
    the library default (not in the recipe)."""
    std = STD / math.sqrt(2 * len(blocks(model)))
    for module, _, param in role_parameters(model, *OUTPUTS):
        _normal_(module, param, std)
    _zero_biases(model, *OUTPUTS)


@torch.no_grad()
def neox_init_(model: nn.Module) -> None:
    """GPT-NeoX / Pythia: ``small_init`` N(0, √(2/(5d))) on every non-norm weight (input projections, gate,
    embeddings, ViT's patch embedding, class token and positions, pooler, heads, routers: gpt-neox's MoE routers
    take the model's ``init_method``, ``megatron/model/router.py``) and ``wang_init`` N(0, 2/(L·√d)) on the branch
    outputs (every expert's down projection); biases 0. Attention sinks: the library default (not in the recipe)."""
    d, depth = hidden_size(model), len(blocks(model))
    small, wang = math.sqrt(2 / (5 * d)), 2 / (depth * math.sqrt(d))
    for module, slot, param in role_parameters(model, *WEIGHTS):
        _normal_(module, param, wang if slot.role in OUTPUTS else small)
    _zero_biases(model, *WEIGHTS)


@torch.no_grad()
def depth_init_(model: nn.Module) -> None:
    """torchtitan Llama ``depth_init`` (OLMo-core ``llama_depth``), per block l:

    * q, k, v (every projection of multi-head latent attention's chains) and the gate: N(0, 0.02) (torchtitan's
      ``trunc_normal_`` at ±2 absolute: no truncation);
    * attention out, MLP down, and MLP up where the MLP has a gate: N(0, 0.02/√(2(l+1))); a plain MLP's input
      (no gate) is torchtitan's w1: N(0, 0.02). Experts alike (torchtitan's ``GroupedExperts``: w1 0.02, w2 and
      w3 scaled), a fused gate|up weight split into its gate and up parts;
    * routers N(0, 0.02/√(2(l+1))) (torchtitan's ``TokenChoiceTopKRouter.init_weights(init_std)``; Qwen2-MoE's
      shared-expert gate is a router too), GPT-OSS's attention sinks the same (torchtitan's GPT-OSS experiment,
      ``Attention.init_weights``: ``trunc_normal_(sinks, std=init_std)``);
    * the token table N(0, 1) and the LM head N(0, d^-½) truncated at ±3σ, where the two are not tied;
    * everything else (norms, tied tables, position tables, pooler, other heads): the library default. Biases 0.
    """
    index = block_index(model)
    gated = {index[id(module)] for module in role_modules(model, Role.MLP_GATE)}
    for module, slot, param in role_parameters(model, *INPUTS, *OUTPUTS, Role.ROUTER, Role.ATTENTION_SINK):
        layer = index[id(module)]
        for role, part in role_parts(slot, param):
            scaled = role in (*OUTPUTS, Role.ROUTER, Role.ATTENTION_SINK) or (
                role is Role.MLP_IN and (slot.gate_up or layer in gated))
            std = STD / math.sqrt(2 * (layer + 1)) if scaled else STD
            _normal_(module, part, std, cutoff=2 / std)  # ±2 absolute
    _zero_biases(model, *INPUTS, *OUTPUTS, Role.ROUTER)
    if unit_token_table_(model):
        head = model.get_output_embeddings()
        if head is not None:
            _normal_(head, head.weight, hidden_size(model) ** -0.5, cutoff=3.0)
            if getattr(head, "bias", None) is not None:
                head.bias.zero_()


@torch.no_grad()
def unit_token_table_(model: nn.Module) -> bool:
    """torchtitan's token table, N(0, 1), where it is not tied to the LM head (a tied table is the output layer
    too); returns whether it wrote it. :func:`depth_init_`'s, and on its own a probe of what the table's scale does
    under another init (the add-on probe ``idinit+unit-table``, ``common.ADD_ONS``)."""
    table, head = model.get_input_embeddings(), model.get_output_embeddings()
    if not isinstance(table, nn.Embedding) or (head is not None and head.weight is table.weight):
        return False
    _normal_(table, table.weight, 1.0)
    return True


@torch.no_grad()
def olmo2_init_(model: nn.Module) -> None:
    """OLMo 2: every non-norm weight N(0, 0.02) truncated at ±3σ (±0.06), no depth scaling, experts and routers
    included (OLMo-core's ``init_feed_forward_moe`` draws its router and experts from the same truncated normal);
    biases 0. Attention sinks: the library default (not in the recipe)."""
    for module, _, param in role_parameters(model, *WEIGHTS):
        _normal_(module, param, STD, cutoff=3.0)
    _zero_biases(model, *WEIGHTS)


@torch.no_grad()
def zero_init_residual_(model: nn.Module) -> None:
    """Zero-γ (Goyal et al. 2017, "Accurate, Large Minibatch SGD", arXiv 1706.02677, §5.1: γ = 0 for the batch norm
    that ends each residual block; torchvision's ``resnet(zero_init_residual=True)``, timm's ResNet default
    ``zero_init_last=True``): the library default, then the gain of every norm that ends a residual branch = 0
    (a gain stored with an offset, Gemma 2's 1 + w, gets w = −1), so each branch outputs its norm's bias, 0: every
    residual block starts as the identity (ResNet: up to the ReLU after the add). The norm's bias and everything
    else: the library default (ResNet's convolutions: Kaiming normal, fan-out, as torchvision's and timm's)."""
    for module, slot in role_slots(model, *GAIN_ROLES):
        for name in slot.params:
            getattr(module, name).fill_(-slot.gain_offset)


def attention_layout(model: nn.Module) -> tuple[int, int, int]:
    """(query heads, key/value heads, head size) from the config (``num_key_value_heads`` absent: one per query
    head); the head size from the hidden size unless the config sets ``head_dim``. A per-head fused Q|K|V says its
    own (Falcon's multi-query attention has one key/value head, which its config does not name)."""
    fused = [loc.qkv for loc in located_slots(model, Role.ATTENTION_IN) if loc.qkv is not None]
    if fused:
        return fused[0][:3]
    config = model.config
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or hidden_size(model) // heads)
    return heads, kv_heads, head_dim


def _matrix(module: nn.Module, slot: Slot) -> torch.Tensor:
    """The ``out × in`` view (writable) of the slot's weight (its first parameter): GPT-2's ``Conv1D`` stores
    ``in × out``."""
    weight = getattr(module, slot.params[0])
    return weight.t() if slot.transposed else weight


def attention_matrices(model: nn.Module, block: nn.Module) -> tuple[torch.Tensor, ...]:
    """The ``out × in`` views (writable) of Q, K, V and the output projection of one block's attention: the
    attention inputs in the order of the family's table (Q, K, V; a fused Q|K|V weight is split into its three
    blocks) and its attention output.

    Raises ``ValueError`` where the block's attention has no per-head query, key and value projections of the hidden
    state (:func:`attention_layout`'s shapes): multi-head latent attention (DeepSeek V2/V3) computes them through
    low-rank chains (``q_a_proj`` → ``q_b_proj``, ``kv_a_proj_with_mqa`` → ``kv_b_proj``, with norms and a shared
    rotary key between), so there is no W_qʰ, W_kʰ of the hidden state for Mimetic to set."""
    inside = {id(module) for module in block.modules()}
    inputs = [(m, s) for m, s in role_slots(model, Role.ATTENTION_IN) if id(m) in inside]
    outputs = [(m, s) for m, s in role_slots(model, Role.ATTENTION_OUT) if id(m) in inside]
    views = []
    for module, slot in inputs:
        matrix = _matrix(module, slot)
        if slot.qkv is not None:  # a per-head fused Q|K|V (GPT-NeoX, Falcon, Phi-3, ...): copies, see _store_fused
            views += [matrix[rows] for rows in _fused_rows(model, module)]
            continue
        views += list(matrix.split(matrix.shape[1])) if slot.fused else [matrix]
    heads, kv_heads, k = attention_layout(model)
    d = hidden_size(model)
    shapes = [(heads * k, d), (kv_heads * k, d), (kv_heads * k, d), (d, heads * k)]
    found = [tuple(view.shape) for view in (*views, *(_matrix(*located) for located in outputs))]
    if len(inputs) == 0 or (inputs[0][1].heads != QUERY and inputs[0][1].qkv is None) or found != shapes:
        raise ValueError(
            f"mimetic init needs per-head query, key and value projections of the hidden state and one output "
            f"projection per block (out x in shapes {shapes}); model_type={model.config.model_type!r} has "
            f"{len(views)} attention input projections and {len(outputs)} outputs of shapes {found} in "
            f"{type(block).__name__} (a low-rank chain, as multi-head latent attention's q_a/q_b and kv_a/kv_b, "
            f"has no per-head W_q, W_k of the hidden state to set)")
    return (*views, _matrix(*outputs[0]))


def _fused_rows(model: nn.Module, module: nn.Module) -> list[torch.Tensor]:
    """The stored rows of the query, the key and the value of a per-head fused Q|K|V ``module``, each in its own
    projection's row order (``idinit_hf.init.qkv_rows``): their rows are not one strided view."""
    located = next(loc for loc in located_slots(model, Role.ATTENTION_IN) if loc.module is module)
    heads, kv_heads, head_dim, shards = located.qkv
    part, index = qkv_rows(located.slot.qkv.layout, heads=heads, kv_heads=kv_heads, head_dim=head_dim, shards=shards)
    return [torch.nonzero(part == which).flatten()[index[part == which].argsort()] for which in range(3)]


def _store_fused(model: nn.Module, block: nn.Module, wq: torch.Tensor, wk: torch.Tensor, wv: torch.Tensor) -> None:
    """Write Q, K and V back into a per-head fused Q|K|V of ``block`` (:func:`attention_matrices` gave copies)."""
    inside = {id(module) for module in block.modules()}
    for module, slot in role_slots(model, Role.ATTENTION_IN):
        if id(module) in inside and slot.qkv is not None:
            matrix = _matrix(module, slot)
            for rows, values in zip(_fused_rows(model, module), (wq, wk, wv), strict=True):
                matrix[rows] = values


def _mimetic_target(d: int, alpha: float, beta: float) -> torch.Tensor:
    """αZ + βI, Z a fresh d × d matrix of N(0, 1/√d) entries (variance 1/d)."""
    return alpha * torch.randn(d, d) / math.sqrt(d) + beta * torch.eye(d)


def _factor(target: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(left, right) with left @ right the best rank-``rank`` approximation of ``target`` (d × d): left = U√S,
    right = √S Vᴴ over the top ``rank`` singular values."""
    u, s, vh = torch.linalg.svd(target)
    root = s[:rank].sqrt()
    return u[:, :rank] * root, root[:, None] * vh[:rank]


@torch.no_grad()
def mimetic_init_(model: nn.Module, alpha_qk: float = 0.7, beta_qk: float = 0.7, alpha_vo: float = 0.4,
                  beta_vo: float = 0.4) -> None:
    """Mimetic initialization (Trockman & Kolter 2023) of every block's self-attention; everything else default.

    With ``out × in`` matrices (q = W_q x), Z a d × d matrix of N(0, 1/√d) entries drawn afresh each time:

    * query-key, per query head h: W_qʰᵀ W_kʰ = the best rank-k approximation of α₁Z + β₁I (W_qʰᵀ = U√S,
      W_kʰ = √S Vᴴ, top k singular values). Grouped-query attention (Llama): the first query head of each group
      sets the group's shared W_k this way; the others get the least-squares W_qʰ for their own α₁Z + β₁I given
      that W_k (W_qʰᵀ = (α₁Z + β₁I) pinv(W_k)).
    * value-output: W_o W_v = the best rank-r approximation of α₂Z − β₂I, r = key/value heads × k (= d in
      multi-head attention: exact). Grouped-query attention: W_v gets the r rows, and the output columns of every
      query head of a group share their group's columns divided by the group size, so that if every head attended
      to one token alike the attention branch would map x to (α₂Z − β₂I)x.
    * biases of Q, K, V and the output: 0.
    * everything else the library default: the MLP and its experts, routers, GPT-OSS's attention sinks (the paper
      initializes the attention only).

    Raises ``ValueError``, before writing anything, where a block's attention has no separate per-head Q and K
    (multi-head latent attention: :func:`attention_matrices`).
    """
    heads, kv_heads, k = attention_layout(model)
    group = heads // kv_heads
    per_block = [(block, attention_matrices(model, block)) for block in blocks(model)]  # raises before any write
    for block, (wq, wk, wv, wo) in per_block:
        d = wq.shape[1]
        for g in range(kv_heads):
            rows_k = slice(g * k, (g + 1) * k)
            for h in range(g * group, (g + 1) * group):
                rows_q = slice(h * k, (h + 1) * k)
                if h == g * group:
                    left, right = _factor(_mimetic_target(d, alpha_qk, beta_qk), k)
                    wq[rows_q] = left.t().to(wq.dtype)
                    wk[rows_k] = right.to(wk.dtype)
                else:
                    least_squares = _mimetic_target(d, alpha_qk, beta_qk) @ torch.linalg.pinv(wk[rows_k].float())
                    wq[rows_q] = least_squares.t().to(wq.dtype)
        left, right = _factor(_mimetic_target(d, alpha_vo, -beta_vo), kv_heads * k)
        wv.copy_(right)
        for h in range(heads):
            g = h // group
            wo[:, h * k:(h + 1) * k] = left[:, g * k:(g + 1) * k] / group
        _store_fused(model, block, wq, wk, wv)
    _zero_biases(model, Role.ATTENTION_IN, Role.ATTENTION_OUT)


def mimetic_applies(model: nn.Module) -> bool:
    """Whether :func:`mimetic_init_` can set every block's attention of ``model`` (per-head Q, K, V of the hidden
    state: :func:`attention_matrices` raises nowhere). Reads shapes only: a model on the meta device will do."""
    try:
        for block in blocks(model):
            attention_matrices(model, block)
    except ValueError:
        return False
    return True


#: name (``--methods``) → the function that rewrites a default-initialized model. Each applies to every family
#: (the module's table says what falls back to the library default where) but where :data:`APPLIES` says otherwise.
BASELINES: dict[str, Callable[[nn.Module], None]] = {
    "zero-branch-out": zero_branch_out_,
    "depth-scaled": megatron_init_,
    "neox": neox_init_,
    "depth-init": depth_init_,
    "mimetic": mimetic_init_,
    "olmo2": olmo2_init_,
    "zero-init-residual": zero_init_residual_,
}


def transformer_stack(family: Family) -> bool:
    """One stack of transformer blocks (decoders, encoders, ViTs): what the recipes of GPT-NeoX, torchtitan,
    Megatron, modded-nanogpt, Mimetic and OLMo 2 are written for. Not encoder-decoders (two stacks joined by
    cross-attention) nor convolutional networks."""
    return family.stacks == 1 and Role.ATTENTION_IN in family.branch_roles


def branches_end_in_a_norm(family: Family) -> bool:
    """Some residual branch ends in a norm with a gain (roles ``attention_out_norm`` / ``mlp_out_norm``: ResNet's and
    RegNet's last batch norm, the post-branch norms of OLMo 2 and Gemma 2): what zero-γ zeroes."""
    return any(slot.role in GAIN_ROLES for slot in family.slots)


#: name → the families whose role table the baseline's rule is written for (judged on the table alone): one stack of
#: transformer blocks, but zero-γ.
WRITTEN_FOR: dict[str, Callable[[Family], bool]] = {
    name: branches_end_in_a_norm if name == "zero-init-residual" else transformer_stack for name in BASELINES}
#: name → whether the baseline applies to a model of such a family (the others apply to every one).
APPLIES: dict[str, Callable[[nn.Module], bool]] = {"mimetic": mimetic_applies}


def applies_to(name: str, families: Iterable[str]) -> tuple[str, ...]:
    """The registry families of ``families`` that baseline ``name`` applies to: those its rule is written for
    (:data:`WRITTEN_FOR`, on the family's table), and where :data:`APPLIES` asks more, whose tiny model
    (``idinit_hf.testing``) built on the meta device passes it: layouts and shapes, no memory, nothing drawn."""
    families = [family for family in families if WRITTEN_FOR[name](testing.family(family))]
    check = APPLIES.get(name)
    if check is None:
        return tuple(families)
    found, verbosity = [], transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # config warnings of a throwaway model (GPT-OSS's rope scaling)
    try:
        for family in families:
            with torch.device("meta"):
                model = testing.auto_class(family).from_config(testing.tiny_config(family, 1, 64))
            if check(model):
                found.append(family)
    finally:
        transformers.logging.set_verbosity(verbosity)
    return tuple(found)
