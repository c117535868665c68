"""What the role tables of the parallel, fused and other non-Llama decoders (issue 20) share: the task heads
transformers puts on a decoder, and how a tiny config is scaled and fitted to real data.

The owners are class-name suffixes (``"ForCausalLM"`` matches ``GPTNeoXForCausalLM``): a table is only ever used on
models of its own model types (:func:`idinit_hf.families.family_for`), so a suffix names one class there. A slot whose
module a model lacks (no token classifier, no ``classifier`` but a ``score``) is skipped.
"""

from __future__ import annotations

from typing import Any

from ..roles import Role, Slot

#: The LM head (initialized with the input embedding when the config ties them) and the classifiers.
HEADS = (
    Slot("ForCausalLM", "lm_head", Role.HEAD, tied=True),
    Slot("ForSequenceClassification", "score", Role.HEAD),
    Slot("ForTokenClassification", "score", Role.HEAD),
    Slot("ForTokenClassification", "classifier", Role.HEAD),
    Slot("ForQuestionAnswering", "qa_outputs", Role.HEAD),
)

#: Token ids of the example configs: the vocabulary of every family's example, and special ids inside it.
EXAMPLE_TOKENS = dict(vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=2)


def scale(depth: int, width: int, *, mlp: str | None = "intermediate_size", grouped: bool = False,
          head_dim: bool = False, **fixed: Any) -> dict[str, Any]:
    """Config keywords of ``depth`` blocks of ``width``: heads of width 16 (as every family of the registry), an MLP
    4× as wide under the config's own key ``mlp`` (None: the config derives it from the width), half as many
    key/value heads with ``grouped`` (grouped-query attention), ``head_dim`` set where the config does not derive it,
    and ``fixed`` as given. transformers' ``attribute_map`` turns the common names into each config's own
    (``hidden_size`` → GPT-J's ``n_embd``)."""
    heads = max(1, width // 16)
    sizes: dict[str, Any] = dict(num_hidden_layers=depth, hidden_size=width, num_attention_heads=heads, **fixed)
    if mlp:
        sizes[mlp] = 4 * width
    if grouped:
        sizes["num_key_value_heads"] = max(1, heads // 2)
    if head_dim:
        sizes["head_dim"] = width // heads
    return sizes


def fit(shape: Any, *, positions: str | None = "max_position_embeddings") -> dict[str, Any]:
    """What real text fixes: the vocabulary, the context length (under the config's key ``positions``; None for a
    model with no position limit, BLOOM's ALiBi) and the padding id (None for a causal LM: no padding)."""
    sizes: dict[str, Any] = {"vocab_size": shape.vocab_size, "pad_token_id": shape.pad_id}
    if positions:
        sizes[positions] = shape.length
    return sizes
