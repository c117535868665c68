"""Building blocks of the role tables: the slot groups that most layouts repeat (an attention's projections, an MLP,
a run of norms), each a small pure function returning a tuple of :class:`~idinit_hf.roles.Slot`.

A table stays a list of its layout's modules, top to bottom; a block only spares it the lines every attention or
MLP has in common. Each function writes exactly the slots the tables spelled out before (the same fields, the same
order): ``*attention_slots("Attention", grouped=True)`` is Llama's ``q_proj``, ``k_proj``, ``v_proj``, ``o_proj``.
``owner`` is whatever a :class:`Slot` takes (a module type, a class-name suffix, a tuple of them); ``prefix`` is the
dotted path from the owner to the attention or MLP module (``"self_attn."``), prepended to every name.
"""

from __future__ import annotations

from typing import Any

from ..roles import KEY_VALUE, QUERY, FusedQKV, Role, Slot

#: A norm's parameters: weight and, where the norm has one, bias (each written only if present: LayerNorm's 1 / 0,
#: RMSNorm's 1).
NORM = ("weight", "bias")

#: The parameters of a norm with a weight only (Cohere's LayerNorm, Phi-3's RMSNorm): :class:`Slot`'s default.
WEIGHT = ("weight",)


def attention_slots(owner: Any, *, q: str = "q_proj", k: str = "k_proj", v: str = "v_proj", out: str | None = "o_proj",
                    prefix: str = "", grouped: bool = False, role: Role = Role.ATTENTION_IN) -> tuple[Slot, ...]:
    """Separate query, key and value projections, then the output projection.

    The query, key and value get ``role`` (``ATTENTION_IN``: IDIτ; ``CROSS_ATTENTION_IN`` for an encoder-decoder's
    cross-attention), the query marked ``heads=QUERY`` (its IDIτ scaled by ``idinit_query_scale``), the key and value
    ``heads=KEY_VALUE`` with ``grouped`` (grouped-query attention: ``idinit_gqa`` lines their heads up; the owner must
    have ``head_dim`` and ``num_key_value_groups``). The output projection ends the branch: ``ATTENTION_OUT`` (IDIZε).
    ``out=None``: the output projection lives in another module (BERT's ``SelfOutput``) and is listed there.
    """
    key_value = KEY_VALUE if grouped else ""
    slots = (
        Slot(owner, prefix + q, role, heads=QUERY),
        Slot(owner, prefix + k, role, heads=key_value),
        Slot(owner, prefix + v, role, heads=key_value),
    )
    return slots if out is None else (*slots, Slot(owner, prefix + out, Role.ATTENTION_OUT))


def fused_attention_slots(owner: Any, qkv: FusedQKV, *, fused: str = "query_key_value", out: str = "dense",
                          prefix: str = "") -> tuple[Slot, ...]:
    """One fused Q|K|V projection whose rows are laid out as ``qkv`` says (each row gets the IDIτ row a separate
    projection would have, :func:`idinit_hf.init.idi_qkv_`), then the output projection (``ATTENTION_OUT``: IDIZε)."""
    return (
        Slot(owner, prefix + fused, Role.ATTENTION_IN, qkv=qkv),
        Slot(owner, prefix + out, Role.ATTENTION_OUT),
    )


def mlp_slots(owner: Any, fc_in: str, fc_out: str, *, prefix: str = "", **fields: Any) -> tuple[Slot, ...]:
    """An ungated MLP ``fc_out(act(fc_in(x)))``: ``MLP_IN`` (IDIτ) and ``MLP_OUT`` (IDIZε, or as ``idinit_mlp_out``
    says). ``fields`` go to both slots (GPT-2's ``transposed=True``)."""
    return (
        Slot(owner, prefix + fc_in, Role.MLP_IN, **fields),
        Slot(owner, prefix + fc_out, Role.MLP_OUT, **fields),
    )


def gated_mlp_slots(owner: Any, *, gate: str = "gate_proj", up: str = "up_proj", down: str = "down_proj",
                    prefix: str = "", **fields: Any) -> tuple[Slot, ...]:
    """A gated MLP ``down(act(gate(x)) * up(x))``: ``MLP_GATE`` (the ``idinit_gate`` option's rule), ``MLP_IN``
    (IDIτ), ``MLP_OUT`` (IDIZε, or as ``idinit_mlp_out`` says). ``fields`` go to all three (a shared expert's
    ``option="shared_experts"``)."""
    return (
        Slot(owner, prefix + gate, Role.MLP_GATE, **fields),
        Slot(owner, prefix + up, Role.MLP_IN, **fields),
        Slot(owner, prefix + down, Role.MLP_OUT, **fields),
    )


def norm_slots(owner: Any, *paths: str, params: tuple[str, ...] = NORM, **fields: Any) -> tuple[Slot, ...]:
    """The norms at ``paths`` inside ``owner``, in that order: ``Role.NORM`` (the library's gain 1 and shift 0),
    writing ``params``."""
    return tuple(Slot(owner, path, Role.NORM, params=params, **fields) for path in paths)
