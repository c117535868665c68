"""Which causal language models of transformers IDInit refuses, and why: one place for every refusal.

Every model type of ``transformers``' causal-LM mapping is either covered by a family of the registry
(:func:`idinit_hf.supported_model_types`) or listed here under the reason it is refused; ``tests/test_coverage.py``
checks that the two together are all of the pinned transformers' causal LMs. A family that covers a model type listed
here wins (adding an architecture stays one table file and one line in ``FAMILIES``). A refused model type with
``init_method="idinit"`` raises :class:`~idinit_hf.families.UnsupportedArchitectureError` with its reason
(or keeps its own init under ``idinit_unsupported="default"``).
"""

from __future__ import annotations

__all__ = ["REFUSED", "refusal_reason"]

RECURRENT = (
    "state-space or recurrent blocks (selective scan, RWKV time mixing, xLSTM cells): there are no attention / MLP "
    "residual branches for IDIτ and IDIZε to act on, and the paper gives no rule for a recurrence"
)
HYBRID = (
    "a hybrid: attention blocks interleaved with state-space, linear-attention or short-convolution mixers that "
    "have no role table (the recurrence has no rule in the paper)"
)
MULTIMODAL = (
    "a multimodal model (a vision or audio tower, or a decoder conditioned on one): its towers have no role table, "
    "and it is not a from-scratch text pretraining target here"
)
CONDITIONED_DECODER = (
    "a decoder conditioned on an encoder (cross-attention LM, or the decoder half of an encoder-decoder): "
    "encoder-decoders are covered as a whole where a table exists (T5, BART; AutoModelForSeq2SeqLM)"
)
MOE_LAYOUT = (
    "a mixture of experts whose experts, router or attention differ from the tabled layouts (Mixtral, Qwen2-MoE, "
    "OLMoE, GraniteMoE, DeepSeek-V2/V3, GPT-OSS): refused rather than guessed until its layout is tabled and tested"
)
DENSE_LAYOUT = (
    "a dense decoder whose layout is not in a role table yet (its module names or block differ from the tabled "
    "ones, or it was not verified against them): refused rather than guessed"
)

#: reason → the causal-LM model types refused for it (transformers 5.24).
REFUSED: dict[str, tuple[str, ...]] = {
    RECURRENT: ("falcon_mamba", "mamba", "mamba2", "rwkv", "xlstm"),
    HYBRID: (
        "bailing_hybrid", "bamba", "falcon_h1", "granitemoe_swa", "granitemoehybrid", "inkling2_loop_text",
        "inkling2_text", "inkling_text", "jamba", "kimi_linear", "lara_mini", "lfm2", "lfm2_moe", "lfm3", "minimax",
        "nemotron_h", "olmo_hybrid", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text", "qwen3_5_text", "qwen3_next",
        "qwen4_exp", "qwen4_exp_text", "recurrent_gemma", "zamba", "zamba2",
    ),
    MULTIMODAL: (
        "apertus1p5_text", "aria_text", "blt", "cohere_compass_text", "dots3_note", "dots3_note_text", "emu3",
        "fuyu", "gemma3", "gemma3n", "gemma3n_text", "gemma4", "gemma4_text", "gemma4_unified", "git", "got_ocr2",
        "llama4", "llama4_text", "minimax_m3_vl_text", "mllama", "moshi", "moss_transcribe_diarize", "musicgen",
        "musicgen_melody", "phi4_multimodal", "trocr", "whisper",
    ),
    CONDITIONED_DECODER: ("bert-generation", "bigbird_pegasus", "prophetnet", "xmod"),
    MOE_LAYOUT: (
        "afmoe", "axk1", "axk2", "beam", "cohere2_moe", "dbrx", "deepseek_v32", "deepseek_v4", "doge", "dots1",
        "ernie4_5_moe", "exaone_moe", "flex_olmo", "flint", "glm4_moe", "glm_moe_dsa", "hunyuan_v1_moe", "hy_v3",
        "hy_v4", "jetmoe", "kolibri1", "laguna", "longcat_flash", "mimo_v2_flash", "sarvam_moe", "solar_open", "zaya",
    ),
    DENSE_LAYOUT: (
        "apertus", "arcee", "biogpt", "bitnet", "cpmant", "ctrl", "diffllama", "dory", "gemma4_assistant",
        "gemma4_unified_assistant", "glm", "glm4", "gpt-sw3", "gpt_bigcode", "gpt_neox_japanese", "granite_swa",
        "hrm_text", "hunyuan_v1_dense", "minicpm3", "modernbert-decoder", "mpt", "nanochat", "openai-gpt", "reformer",
        "xglm", "xlm", "xlnet", "youtu",
    ),
}


def refusal_reason(model_type: str | None) -> str | None:
    """Why IDInit refuses ``model_type`` (a causal LM it does not cover), or None if it is not listed here."""
    return next((reason for reason, types in REFUSED.items() if model_type in types), None)
