"""GPT-2 (pre-LN). Weights of ``Conv1D`` are stored ``in x out``; ``c_attn`` fuses Q|K|V (K|V in cross-attention)."""

from transformers.models.gpt2 import modeling_gpt2 as gpt2

from ..roles import QUERY, Role, Slot
from ._blocks import mlp_slots, norm_slots
from .family import LOOSENED_REPLICAS, Family


def _scale(depth: int, width: int) -> dict:
    """Heads of width 16 (nanoGPT-like small models)."""
    return dict(n_layer=depth, n_embd=width, n_head=max(1, width // 16))


def _fit(shape) -> dict:
    return dict(vocab_size=shape.vocab_size, n_positions=shape.length)


GPT2 = Family(
    name="gpt2",
    model_types=("gpt2",),
    block=gpt2.GPT2Block,
    norm_position="pre",
    slots=(
        Slot(gpt2.GPT2Attention, "c_attn", Role.ATTENTION_IN, transposed=True, fused=True, heads=QUERY),
        Slot(gpt2.GPT2Attention, "q_attn", Role.ATTENTION_IN, transposed=True, heads=QUERY),  # cross-attention
        Slot(gpt2.GPT2Attention, "c_proj", Role.ATTENTION_OUT, transposed=True),
        *mlp_slots(gpt2.GPT2MLP, "c_fc", "c_proj", transposed=True),
        Slot(gpt2.GPT2Model, "wte", Role.EMBEDDING, token_table=True),
        Slot(gpt2.GPT2Model, "wpe", Role.EMBEDDING),
        *norm_slots(gpt2.GPT2Block, "ln_1", "ln_2", "ln_cross_attn"),
        *norm_slots(gpt2.GPT2Model, "ln_f"),
        Slot(gpt2.GPT2LMHeadModel, "lm_head", Role.HEAD, tied=True),
        Slot(gpt2.GPT2ForSequenceClassification, "score", Role.HEAD),
        Slot(gpt2.GPT2ForTokenClassification, "classifier", Role.HEAD),
        Slot(gpt2.GPT2ForQuestionAnswering, "qa_outputs", Role.HEAD),
    ),
    pretraining="AutoModelForCausalLM",
    # Q = 0 at init (issue 12, docs/defaults.md): with Q = K = I each token attends mostly to itself, and IDInit
    # stalled between steps 150 and 250 before overtaking the default init; with Q = 0 every token starts from
    # uniform causal attention and the plateau is gone (byte-level GPT-2, 8 layers, width 128, SOTU text).
    # Loosening of size 0.5 relative to a row, on every entry of c_fc (and of any other tall IDIτ: wpe under
    # idinit_embeddings="idi"), issue 19: with the paper's 1e-6 c_fc's four replicas of each row stay tied through
    # training (the MLP works as if it were d wide, not 4d), and GPT-NeoX's init overtook IDInit at 3000 steps;
    # with the replicas told apart IDInit stays ahead.
    option_defaults=(("query_scale", 0.0), ("token_table", "small"), *LOOSENED_REPLICAS),
    example=dict(n_layer=2, n_embd=16, n_head=2, vocab_size=64, n_positions=32, bos_token_id=0, eos_token_id=0),
    scale=_scale,
    fit=_fit,
    dropout=("resid_pdrop", "embd_pdrop", "attn_pdrop"),
)
