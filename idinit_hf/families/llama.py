"""The Llama layout (pre-norm, gated MLP, grouped-query attention), shared by many model types.

Block: ``h = x + o_proj(attn(input_layernorm(x)))``, ``out = h + down_proj(act(gate_proj(m)) * up_proj(m))`` with
``m = post_attention_layernorm(h)``, and no norm after a branch, so IDIZε on ``o_proj`` and ``down_proj`` makes every
block the identity at init. In transformers 5.x each model type generates its own classes (``MistralMLP`` does not
subclass ``LlamaMLP``), so the owners below are class-name suffixes matched inside each model.

``model_types`` lists every model type of the installed transformers with exactly this layout (the decoder layers
hold nothing but these projections and norms, plus Qwen2's q/k/v biases and Qwen3's q/k norms);
``tests/test_llama.py::test_every_llama_layout_model_type_is_covered`` finds them and checks the list. Architectures
whose branches end in a norm (``x + norm(f(x))``: Gemma 2/3, OLMo 2/3, EXAONE 4) would undo IDIZε: their tables
(``olmo2.py``, ``gemma2.py``) put the ε in the norm's gain. Not covered here: parallel blocks (Cohere), fused projections (Phi-3, GLM) and causal LMs built from the text part of
a multimodal config (Emu3), which need tables of their own.
"""

from ..roles import Role, Slot
from ._blocks import attention_slots, gated_mlp_slots, norm_slots
from .family import LOOSENED_REPLICAS, Family

#: The defaults the layouts derived from Llama's (mixtures of experts, branches that end in a norm) take from it: the
#: IDIτ untied head. Not its loosening, measured on the Llama layout alone.
LLAMA_LAYOUT_DEFAULTS: tuple[tuple[str, object], ...] = (("heads", "idi"),)


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16, half as many key/value heads (grouped-query attention), and Llama's MLP width: 8/3 of the
    model width rounded up to a multiple of 8 (176 for 64), which is not a multiple of the width."""
    heads = max(1, width // 16)
    return dict(num_hidden_layers=depth, hidden_size=width, num_attention_heads=heads,
                num_key_value_heads=max(1, heads // 2), head_dim=width // heads,
                intermediate_size=-(-8 * width // 3 // 8) * 8)


def _fit(shape) -> dict:
    return dict(vocab_size=shape.vocab_size, max_position_embeddings=shape.length, pad_token_id=shape.pad_id)

LLAMA = Family(
    name="llama",
    model_types=(
        "llama", "mistral", "qwen2", "qwen3", "smollm3", "granite", "helium", "ministral", "ministral3",
        "ernie4_5", "exaone", "internlm3", "iquestcoder", "seed_oss", "stablelm", "olmo", "gemma", "cwm",
    ),
    block="DecoderLayer",
    norm_position="pre",
    slots=(
        *attention_slots("Attention", grouped=True),
        *norm_slots("Attention", "q_norm", "k_norm"),  # Qwen3: RMSNorm over head_dim
        *gated_mlp_slots("MLP"),
        # RMSNorm has a weight only, StableLM's LayerNorm a bias too: each is written if present
        *norm_slots("DecoderLayer", "input_layernorm", "post_attention_layernorm"),
        Slot("Model", "embed_tokens", Role.EMBEDDING, token_table=True),
        *norm_slots("Model", "norm"),
        Slot("ForCausalLM", "lm_head", Role.HEAD, tied=True),  # tied only if config.tie_word_embeddings
        Slot("ForSequenceClassification", "score", Role.HEAD),
        Slot("ForTokenClassification", "score", Role.HEAD),
        Slot("ForQuestionAnswering", "qa_outputs", Role.HEAD),
    ),
    # An untied LM head gets IDIτ (logit v reads hidden dim v mod d): CPython text, width 64, 3 seeds, validation
    # loss 2.10 vs 2.37 (library head) at 4 layers and 2.09 vs 2.36 at 16, better on every seed. Measured and kept:
    # Q = I (Q = 0: 2.40 / 2.39, worse), the plain GQA rows (group: within noise), the IDIτ gate (library gate worse at
    # 4 layers). benchmarks/results/convergence.json, docs/defaults.md.
    # GPT-2's loosening (LOOSENED_REPLICAS, issue 19): with the paper's 1e-6 the replicated rows of the gate and up
    # projections (and of the IDIτ head) stay tied in training; told apart, SOTU text, 8 layers, width 128,
    # validation: 1.700 / 1.718 vs 1.717 / 1.723 at 300 steps, 1.426 vs 1.443 at 1000 (3 seeds, better on each), 1.322 vs
    # 1.344 at 3000 (seed 0); CPython text, 300 steps: level at 16 layers (2.101 vs 2.094), worse at 4 (2.142 vs 2.103).
    option_defaults=(*LLAMA_LAYOUT_DEFAULTS, *LOOSENED_REPLICAS),
    # GQA (4 query heads on 2 key/value heads) and an intermediate size that is not a multiple of the width
    pretraining="AutoModelForCausalLM",
    example=dict(hidden_size=16, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=4, vocab_size=64, max_position_embeddings=32, pad_token_id=0, bos_token_id=1,
                 eos_token_id=2),
    scale=_scale,
    fit=_fit,
    dropout=("attention_dropout",),
)
