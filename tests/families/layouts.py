"""Finding the model types of the installed transformers that have a given decoder layout (the families' coverage
tests): what every decoder layer holds, read from a tiny model on the meta device, and what its residual branches
end in, read from a forward pass of a real one."""

from __future__ import annotations

from functools import cache

import torch
import transformers
from helpers import text_windows
from transformers import AutoConfig
from transformers.models.auto import modeling_auto

from idinit_hf.families import LLAMA

CAUSAL_LM_TYPES = tuple(modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
#: What every decoder layer of the Gemma 2 sandwich layout holds (Gemma 3 adds q/k norms); what the model holds besides.
SANDWICH_LAYER = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                  "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm",
                  "pre_feedforward_layernorm", "post_feedforward_layernorm"}
QK_NORMS = {"self_attn.q_norm", "self_attn.k_norm"}
OUTSIDE = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}


@cache
def tiny_causal_lm(model_type: str, device: str = "meta"):
    """A tiny stock causal LM of ``model_type`` (the Llama example's sizes), or None where such a config cannot be
    built (configs that need other fields: MoE, hybrid, encoder-decoder, ...)."""
    try:
        config = AutoConfig.for_model(model_type, **LLAMA.example)
        with torch.device(device):
            return transformers.AutoModelForCausalLM.from_config(config).eval()
    except Exception:
        return None


def decoder_layers(model_type: str):
    """The decoder layers of the tiny model (``model.layers``), or None: no model, no ``model.layers``, or a causal
    LM built from the text part of another model type's config (multimodal: not a text table's job)."""
    model = tiny_causal_lm(model_type)
    if model is None or model.config.model_type != model_type:
        return None
    return getattr(getattr(model, "model", None), "layers", None)


def held(module: torch.nn.Module) -> set[str]:
    """The paths of the modules that hold the parameters of ``module`` (``self_attn.q_proj``, ``input_layernorm``)."""
    return {name.rpartition(".")[0] for name, _ in module.named_parameters()}


def outside_layers(model_type: str) -> set[str]:
    """The parameters of the tiny model that no decoder layer holds."""
    return {name for name, _ in tiny_causal_lm(model_type).named_parameters() if not name.startswith("model.layers.")}


def types_whose_layers_hold(required: set[str], optional: set[str] = frozenset(),
                            outside: set[str] = frozenset()) -> set[str]:
    """Model types whose every decoder layer holds ``required``, nothing but ``optional`` besides, and nothing
    outside the layers but ``outside``."""
    found = set()
    for model_type in CAUSAL_LM_TYPES:
        layers = decoder_layers(model_type)
        if layers is not None and all(required <= held(layer) <= required | optional for layer in layers) \
                and outside_layers(model_type) <= outside:
            found.add(model_type)
    return found


@torch.no_grad()
def branches_end_in(model_type: str, attention_end: str, mlp_end: str) -> bool:
    """Whether each decoder layer of a real tiny model computes ``out = x + a + m`` where ``a`` and ``m`` are what
    its modules ``attention_end`` and ``mlp_end`` return: the last modules of its two residual branches."""
    torch.manual_seed(0)
    model = tiny_causal_lm(model_type, device="cpu")
    seen: dict[str, torch.Tensor] = {}
    hooks = []
    for index, layer in enumerate(model.model.layers):
        hooks.append(layer.register_forward_hook(
            lambda module, args, kwargs, out, i=index: seen.update({
                f"{i}.in": args[0] if args else kwargs["hidden_states"], f"{i}.out": out[0] if isinstance(out, tuple) else out}),
            with_kwargs=True))
        for key, path in (("a", attention_end), ("m", mlp_end)):
            hooks.append(layer.get_submodule(path).register_forward_hook(
                lambda module, args, out, i=index, key=key: seen.update({f"{i}.{key}": out})))
    try:
        model(input_ids=text_windows(2, 16) % model.config.vocab_size)
    finally:
        for hook in hooks:
            hook.remove()
    return all(torch.allclose(seen[f"{i}.out"], seen[f"{i}.in"] + seen[f"{i}.a"] + seen[f"{i}.m"], atol=1e-5, rtol=1e-5)
               for i in range(len(model.model.layers)))


def sandwich_types() -> set[str]:
    """Model types with the Gemma 2 layout: the sandwich norms' layers, whose branches end in the post norms."""
    return {t for t in types_whose_layers_hold(SANDWICH_LAYER, QK_NORMS, OUTSIDE)
            if branches_end_in(t, "post_attention_layernorm", "post_feedforward_layernorm")}


@torch.no_grad()
def gain_offset(model_type: str) -> float:
    """1.0 if the final norm of a real tiny model computes ``(1 + w) ⊙ x̂`` (``w = −1`` zeroes it), else 0.0."""
    norm = tiny_causal_lm(model_type, device="cpu").model.norm
    saved = norm.weight.clone()
    norm.weight.fill_(-1.0)
    zero = bool((norm(torch.randn(2, norm.weight.shape[0])) == 0).all())
    norm.weight.copy_(saved)
    return 1.0 if zero else 0.0
