#!/usr/bin/env bash
# Issue 19's runs, in order, one process at a time, one torch thread. Resumable: every run is saved as it ends
# and a rerun of this script skips the finished ones, so the same command continues where it stopped.
#
#   nohup bash benchmarks/run_issue19.sh > benchmarks/logs/issue19.log 2>&1 &
#   STAGES="c d" bash benchmarks/run_issue19.sh        # some stages only
#
#   a. head to head at 16 layers: every family of results/convergence.json that a practitioner's init of
#      baselines.py applies to (not ConvNeXt, T5), in the settings of its existing runs (those default / idinit /
#      zero-branch-out runs are reused), every practitioner's init, 3 seeds
#   b. the same at 8 layers
#   c. budget axis (budget.py): GPT-2 and Llama, 8 layers, width 128, State of the Union text; every baseline at
#      300 steps, then default, IDInit, neox and the best baseline of (a) at 300 / 1000 / 3000 steps; 2 seeds
#   d. width axis: widths 64 / 128 / 256 at 1000 steps, same methods, 2 seeds
#   e. OLMo 2 against depth-init, and Gemma 2 (docs/defaults.md, "OLMo 2 and Gemma 2 against the best practitioner's
#      init"): swap probes A+B[roles] between IDInit as it then was and depth-init (seed 0, 16 layers), IDInit's
#      options on a zero query (seed 0), the zero query and GPT-2's loosening on 3 seeds at 4 and 16 layers, the
#      training dynamics, the branch norms' ε floor (norm_floor.py). Names are today's: THEN is what "idinit" meant
#      on OLMo 2 before (Q = I, the paper's loosening)
#   f. a second corpus (docs/defaults.md, "On text no default was chosen on"): (a) on the State of the Union text for
#      the decoders, default / IDInit / neox / depth-init on 3 seeds, the other practitioners' inits on seed 0
#      (OLMo 2: 3 seeds); then the encoders (BERT, ModernBERT), default / IDInit / neox / depth-init
#   g. the loosening's size (docs/defaults.md, "OLMo 2's loosening"): 1, 2 (and 4 on OLMo 2) on OLMo 2, Llama, GPT-2
#      and Gemma 2 at 16 layers, 3 seeds; OLMo 2's swap probes (the 2.0 build's MLP or head into the 0.5 one) and a
#      random head; the new OLMo 2 default at 4 and 16 layers and on the State of the Union text; the MLP probes on
#      Llama, and 2.0 on ModernBERT. Names are today's: OLMo 2's former 0.5 everywhere is
#      "idinit:loosening=0.5,head_loosening_factor=1.0", 2.0 everywhere "idinit:head_loosening_factor=1.0"
#   h. ViT's stem on the digits (docs/defaults.md, "ViT's stem on the digits"): swap probes with GPT-NeoX's init at 128
#      and at 32 images per step, NeoX's stem and idinit_patch_embedding="small" on 3 seeds; Llama's loosening at 1.0
#      in the head-to-head's settings and at 1000 / 3000 steps. The ViT names are those of their time (Q = 0 was
#      ViT's default): today they are "idinit:query=idi…"
#   i. ViT's query (docs/defaults.md, "ViT's query"): swap probes narrowed to one projection (attention_in:q_proj,
#      …), idinit_query="small" in the head-to-head's settings and on text, the dynamics and the stability sweep of
#      ViT's new default; the weaker practitioner's inits on SOTU on seeds 1 and 2, and BERT's on SOTU; Llama's
#      default init at width 256
#   j. the encoders' query (docs/defaults.md, "ModernBERT's query"): idinit_query="small" on ModernBERT (16 layers on
#      both corpora, 4 layers on CPython text) and BERT (16 layers, both corpora), 3 seeds, with its dynamics; the
#      weaker practitioner's inits on ModernBERT on SOTU on seeds 1 and 2; ViT's stem loosened (the digits and
#      Fashion-MNIST, 16 layers, 3 seeds); T5's MLP output (docs/defaults.md, "T5's MLP output"): swap probes with the
#      default init at 4 layers, the loosening, ε and query variants, idinit_mlp_out="default" at 4 and 16 layers (and on
#      the State of the Union text) and on GPT-2, Llama and ModernBERT, 3 seeds. Names are today's: ModernBERT's former Q = I is "idinit:query=idi", T5's former
#      IDIZε on wo "idinit:mlp_out=idiz"
#
# Environment: PY (python), DATA_CWD (a folder whose parent holds shared/: the earlier runs name their data
# "../shared/...", and a rerun recognizes a run only by the same name; default: the checkout, as in /work/main).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-python}
STAGES=${STAGES:-a b c d e f g h i j}
DATA_CWD=${DATA_CWD:-$ROOT}
export PYTHONPATH=$ROOT HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TRANSFORMERS_VERBOSITY=error
cd "$DATA_CWD"
test -d ../shared/data || { echo "DATA_CWD=$DATA_CWD: no ../shared/data next to it" >&2; exit 2; }

BASELINES="zero-branch-out depth-scaled neox depth-init mimetic olmo2 zero-init-residual"
METHODS="default idinit $BASELINES"
CONVERGENCE="$PY $ROOT/benchmarks/convergence.py"
BUDGET="$PY $ROOT/benchmarks/budget.py --families gpt2 llama --text_dir ../shared/data/text/sotu --seeds 0 1"
TEXT="--steps 300 --eval_every 25 --eval_batches 4 --batch_size 8 --block_size 64 --width 64 --lr 0.001 --warmup 50"
BERT="--steps 800 --eval_every 50 --eval_batches 12 --batch_size 32 --block_size 64 --width 64 --lr 0.001 --warmup 50"

head_to_head() {  # $1 = depth; every family a practitioner's init applies to (baselines.py), GPT-2 and Llama first
    $CONVERGENCE --families gpt2 llama --depths "$1" --seeds 0 1 2 --methods $METHODS $TEXT
    $CONVERGENCE --families vit --depths "$1" --seeds 0 1 2 --methods $METHODS $TEXT
    $CONVERGENCE --families vit --depths "$1" --seeds 0 1 2 --methods $METHODS $TEXT \
        --image_dir ../shared/data/images/fashion-mnist
    $CONVERGENCE --families bert --depths "$1" --seeds 0 1 2 --methods $METHODS $BERT
    $CONVERGENCE --families gemma2 qwen2_moe mixtral olmo2 gpt_neox --depths "$1" --seeds 0 1 2 --methods $METHODS $TEXT
    $CONVERGENCE --families modernbert --depths "$1" --seeds 0 1 2 --methods $METHODS $BERT
    $CONVERGENCE --families resnet --depths "$1" --seeds 0 1 2 --methods $METHODS --steps 300 --eval_every 25 \
        --eval_batches 8 --batch_size 32 --width 16 --lr 1e-3 --warmup 50 --image_dir ../shared/data/images/fashion-mnist
}

best_baselines() {  # neox, and the practitioner's init with the lowest mean validation loss at 16 layers (a)
    $PY - "$ROOT/benchmarks/results/convergence.json" <<'EOF'
import json, statistics, sys
sys.path.insert(0, sys.argv[1].rsplit("/results/", 1)[0])
from baselines import BASELINES
runs = [r for r in json.load(open(sys.argv[1]))["runs"] if r["family"] in ("gpt2", "llama") and r["depth"] == 16]
best = {"neox"}
for family in ("gpt2", "llama"):
    finals = {}
    for r in runs:
        if r["family"] == family and r["method"] in BASELINES:
            finals.setdefault(r["method"], []).append(r["curve"][-1][1])
    if finals:
        best.add(min(finals, key=lambda m: statistics.mean(finals[m])))
print(" ".join(sorted(best)))
EOF
}

olmo2_probes() {
    # OLMo 2's names are today's: its head's loosening is a quarter of the rest since stage g, so the runs made
    # before name the head's factor 1 (the paper's loosening, or GPT-2's 0.5 of the default of then: WAS)
    local PAPERS="loosening=1e-06,loosening_target=identity,loosening_scale=absolute" C="$CONVERGENCE $TEXT"
    local OLMO_PAPERS="$PAPERS,head_loosening_factor=1.0" WAS="idinit:loosening=0.5,head_loosening_factor=1.0"
    local THEN="idinit:query_scale=1.0,$OLMO_PAPERS" Q0="idinit:$OLMO_PAPERS" roles option
    local -a probes=()  # an array: the names hold [...], which the shell must not expand
    for roles in attention_out,mlp_out attention_out_norm,mlp_out_norm \
                 attention_out,mlp_out,attention_out_norm,mlp_out_norm attention_in mlp_in,mlp_gate embedding,head \
                 attention_in,attention_out,mlp_out attention_in,embedding,head attention_in,embedding \
                 attention_in,mlp_in,mlp_gate,attention_out,mlp_out; do
        probes+=("$THEN+depth-init[$roles]")
    done
    for roles in attention_out_norm,mlp_out_norm attention_in mlp_in,mlp_gate embedding,head attention_out,mlp_out; do
        probes+=("depth-init+$THEN[$roles]")
    done
    probes+=("$Q0+depth-init[embedding,head]")
    for option in gate=default token_table=small normed_out=idiz heads=default branch_norm=default,normed_out=idiz \
                  embeddings=idi; do
        probes+=("$Q0,$option")
    done
    probes+=("idinit:epsilon=1e-3,$OLMO_PAPERS")  # options in the option table's order, as relabel.py names them
    $C --families olmo2 --depths 16 --seeds 0 --methods "${probes[@]}" --deep_methods "${probes[@]}"
    probes=("$WAS,gate=default" "$WAS,token_table=small" "idinit:loosening=1.0,head_loosening_factor=1.0"
            "$WAS,gqa=group")
    $C --families olmo2 --depths 16 --seeds 0 --methods "${probes[@]}" --deep_methods "${probes[@]}"
    $C --families olmo2 --depths 4 16 --seeds 0 1 2 --methods "$WAS" "$Q0" "$THEN" \
        --deep_methods "$WAS" "$Q0" "$THEN" idinit:query_scale=1.0,loosening=0.5,head_loosening_factor=1.0
    $C --families gemma2 --depths 4 16 --seeds 0 1 2 --methods idinit "idinit:$PAPERS" "idinit:query_scale=0,$PAPERS" \
        idinit:query_scale=0 --deep_methods idinit "idinit:$PAPERS" "idinit:query_scale=0,$PAPERS" idinit:query_scale=0
    # depth-init's random parts that helped IDInit with Q = I, in the default of then
    probes=("$WAS+depth-init[attention_in]" "$WAS+depth-init[attention_in,embedding,head]"
            "$WAS+depth-init[attention_out,mlp_out]")
    $C --families olmo2 --depths 16 --seeds 0 1 2 --methods "${probes[@]}" --deep_methods "${probes[@]}"
    # dynamics.py does not resume: it runs once (its file's method names are those of its time, meta.note)
    test -f "$ROOT/benchmarks/results/issue19/dynamics_olmo2.json" ||
        $PY "$ROOT/benchmarks/dynamics.py" --family olmo2 --depth 16 --width 64 --block_size 64 --batch_size 8 \
            --steps 300 --every 25 --methods "$THEN" "$Q0" idinit depth-init \
            --output_dir "$ROOT/benchmarks/results/issue19"
    # the branch norms' ε floor: the scales at init, and IDInit and depth-init trained with ε = 1e-10 (once, too)
    test -f "$ROOT/benchmarks/results/issue19/norm_floor_olmo2.json" ||
        $PY "$ROOT/benchmarks/norm_floor.py" --output_dir "$ROOT/benchmarks/results/issue19"
}

second_corpus() {  # the head to head at 16 layers on text no default was chosen on; the four weaker inits on seed 0
    local family SOTU="--text_dir ../shared/data/text/sotu --depths 16 $TEXT"
    for family in olmo2 gemma2 llama gpt2 gpt_neox mixtral qwen2_moe; do
        $CONVERGENCE --families $family --seeds 0 1 2 --methods default idinit neox depth-init \
            --deep_methods default idinit neox depth-init $SOTU
    done
    $CONVERGENCE --families olmo2 --seeds 0 1 2 --methods zero-branch-out depth-scaled olmo2 mimetic \
        --deep_methods zero-branch-out depth-scaled olmo2 mimetic $SOTU
    for family in gemma2 llama gpt2 gpt_neox mixtral qwen2_moe; do
        $CONVERGENCE --families $family --seeds 0 --methods zero-branch-out depth-scaled olmo2 mimetic \
            --deep_methods zero-branch-out depth-scaled olmo2 mimetic $SOTU
    done
    $CONVERGENCE --families olmo2 gemma2 --seeds 0 --methods zero-init-residual --deep_methods zero-init-residual $SOTU
    # OLMo 2's probe of stage e (in the default of then), on this corpus too
    local probe="idinit:loosening=0.5,head_loosening_factor=1.0+depth-init[attention_out,mlp_out]"
    $CONVERGENCE --families olmo2 --seeds 0 1 2 --methods "$probe" --deep_methods "$probe" $SOTU
    local seed  # the encoders (800-step masked LM runs, 5-7 minutes each here), a seed at a time
    for seed in 0 1 2; do
        for family in bert modernbert; do
            $CONVERGENCE --families $family --depths 16 --seeds $seed --methods default idinit neox depth-init \
                --deep_methods default idinit neox depth-init $BERT --text_dir ../shared/data/text/sotu
        done
    done
}

loosening_size() {  # stage g; on OLMo 2 (names of today): WAS = GPT-2's 0.5 everywhere, ALL2 = 2.0 everywhere
    local WAS="idinit:loosening=0.5,head_loosening_factor=1.0" ALL2="idinit:head_loosening_factor=1.0"
    local -a olmo=(idinit "$WAS" "$ALL2" "idinit:loosening=1.0,head_loosening_factor=1.0"
                   "idinit:loosening=4.0,head_loosening_factor=1.0" "$ALL2,heads=small"
                   "$WAS+$ALL2[mlp_in,mlp_gate]" "$WAS+$ALL2[head]")
    $CONVERGENCE --families olmo2 --depths 16 --seeds 0 1 2 --methods "${olmo[@]}" $TEXT
    $CONVERGENCE --families olmo2 --depths 4 --seeds 0 1 2 --methods idinit "$WAS" "$ALL2" $TEXT
    $CONVERGENCE --families olmo2 --depths 16 --seeds 0 1 2 --methods idinit "$WAS" "$ALL2" $TEXT \
        --text_dir ../shared/data/text/sotu
    local -a other=(idinit:loosening=1.0 idinit:loosening=2.0)
    $CONVERGENCE --families llama gpt2 gemma2 --depths 16 --seeds 0 1 2 --methods "${other[@]}" $TEXT
    $CONVERGENCE --families llama --depths 16 --seeds 0 1 2 --methods "idinit+idinit:loosening=2.0[mlp_in,mlp_gate]" \
        "idinit+idinit:loosening=1.0[mlp_in,mlp_gate]" $TEXT
    $CONVERGENCE --families modernbert --depths 16 --seeds 0 1 2 --methods idinit:loosening=2.0 \
        "idinit+idinit:loosening=2.0[mlp_in]" $BERT
}

vit_stem_and_long_loosening() {  # stage h (docs/defaults.md, "ViT's stem on the digits", Llama's "At 3000 steps")
    local IMAGES="--steps 300 --eval_every 25 --eval_batches 4 --block_size 64 --width 64 --lr 0.001 --warmup 50"
    local FASHION="--image_dir ../shared/data/images/fashion-mnist" SMALL=idinit:patch_embedding=small roles data
    local -a probes=() probes32=(neox $SMALL)
    for roles in attention_in embedding patch_embedding attention_out,mlp_out mlp_in head; do
        probes+=("idinit+neox[$roles]" "neox+idinit[$roles]")
        probes32+=("$SMALL+neox[$roles]" "neox+$SMALL[$roles]")
    done
    # 128 images per step (--batch_size 32; the head-to-head trains 32): the probes, then NeoX's stem and SmallInit's
    # (the fan-in reading of `small` in vit_stem/fan_in/ is no longer built by any name)
    local B128="$CONVERGENCE --families vit --batch_size 32 $IMAGES --output_dir $ROOT/benchmarks/results/issue19/vit_stem/batch128"
    $B128 --depths 16 --seeds 0 --methods "${probes[@]}" --deep_methods "${probes[@]}"
    for data in "" "$FASHION"; do  # the digits, then Fashion-MNIST
        $B128 --depths 4 16 --seeds 0 1 2 --methods "idinit+neox[patch_embedding]" $SMALL \
            --deep_methods "idinit+neox[patch_embedding]" $SMALL $data
    done
    # the head-to-head's batch: the probes on SmallInit's stem, the attention probes on 3 seeds, then `small` itself
    local B32="$CONVERGENCE --families vit --batch_size 8 $IMAGES --output_dir $ROOT/benchmarks/results/issue19/vit_stem/batch32"
    $B32 --depths 16 --seeds 0 --methods "${probes32[@]}" --deep_methods "${probes32[@]}"
    local -a attention=("$SMALL,query_scale=1" idinit:query_scale=1 "$SMALL+neox[attention_in]" "idinit+neox[attention_in]")
    $B32 --depths 16 --seeds 0 1 2 --methods "${attention[@]}" --deep_methods "${attention[@]}"
    for data in "" "$FASHION"; do
        $CONVERGENCE --families vit --depths 4 16 --seeds 0 1 2 --methods $SMALL --deep_methods $SMALL $TEXT $data
    done
    # Llama's loosening at 1.0: the head-to-head's settings, and ten times the budget
    $CONVERGENCE --families llama --depths 4 8 --seeds 0 1 2 --methods idinit:loosening=1.0 \
        --deep_methods idinit:loosening=1.0 $TEXT
    $CONVERGENCE --families llama --depths 16 --seeds 0 1 2 --methods idinit:loosening=1.0 \
        --deep_methods idinit:loosening=1.0 $TEXT --text_dir ../shared/data/text/sotu
    $PY "$ROOT/benchmarks/budget.py" --families llama --text_dir ../shared/data/text/sotu --seeds 0 1 --budgets 1000 3000 \
        --widths --methods idinit:loosening=1.0
}

vit_query_and_fill_ins() {  # stage i (docs/defaults.md, "ViT's query: why Q = 0 trailed on images")
    local IMAGES="--steps 300 --eval_every 25 --eval_batches 4 --block_size 64 --width 64 --lr 0.001 --warmup 50"
    local FASHION="--image_dir ../shared/data/images/fashion-mnist" Q0=idinit:query=idi
    local SMALL="$Q0,patch_embedding=small" data family method
    local B32="$CONVERGENCE --families vit --batch_size 8 $IMAGES --output_dir $ROOT/benchmarks/results/issue19/vit_stem/batch32"
    local -a probes=("$SMALL+neox[attention_in:v_proj]" "$SMALL+neox[attention_in:q_proj,attention_in:k_proj]"
                     "$SMALL+neox[attention_in:q_proj]" "$SMALL+neox[attention_in:k_proj]")
    $B32 --depths 16 --seeds 0 1 2 --methods "${probes[@]}" --deep_methods "${probes[@]}"
    probes=("$Q0+neox[attention_in:q_proj]")
    $B32 --depths 16 --seeds 0 1 2 --methods "${probes[@]}" --deep_methods "${probes[@]}"
    probes=("$Q0+neox[attention_in:q_proj]" "$SMALL+neox[attention_in:q_proj]")
    $B32 --depths 16 --seeds 0 1 2 --methods "${probes[@]}" --deep_methods "${probes[@]}" $FASHION
    # the option: ViT's default since this stage (idinit), with the SmallInit stem as well
    for data in "" "$FASHION"; do
        $CONVERGENCE --families vit --depths 4 16 --seeds 0 1 2 --methods idinit idinit:patch_embedding=small \
            --deep_methods idinit idinit:patch_embedding=small $TEXT $data
    done
    $CONVERGENCE --families dinov2 beit --depths 4 16 --seeds 0 1 2 --methods default idinit "$Q0" \
        --deep_methods default idinit "$Q0" $TEXT $FASHION --output_dir "$ROOT/benchmarks/results/issue19/vit_query_siblings"
    for family in olmo2 llama gpt2; do
        $CONVERGENCE --families $family --depths 16 --seeds 0 1 2 --methods idinit:query=small \
            --deep_methods idinit:query=small $TEXT --text_dir ../shared/data/text/sotu
    done
    test -f "$ROOT/benchmarks/results/issue19/dynamics_vit_query.json" ||
        $PY "$ROOT/benchmarks/dynamics.py" --family vit --depth 16 --width 64 --batch_size 8 --steps 300 --every 25 \
            --methods "$Q0" idinit idinit:patch_embedding=small neox --tag _query --output_dir "$ROOT/benchmarks/results/issue19"
    $PY "$ROOT/benchmarks/stability.py" --sweeps lr depth --families vit --depth_families vit --methods idinit --update
    # the weaker practitioner's inits on SOTU on every seed (stage f ran them on seed 0), and BERT's
    local SOTU="--text_dir ../shared/data/text/sotu --depths 16 $TEXT" WEAK="zero-branch-out depth-scaled olmo2 mimetic"
    for family in gpt2 llama gemma2 gpt_neox qwen2_moe mixtral; do
        $CONVERGENCE --families $family --seeds 0 1 2 --methods $WEAK --deep_methods $WEAK $SOTU
    done
    $CONVERGENCE --families olmo2 gemma2 --seeds 0 1 2 --methods zero-init-residual --deep_methods zero-init-residual $SOTU
    for method in $WEAK; do
        $CONVERGENCE --families bert --depths 16 --seeds 0 1 2 --methods $method --deep_methods $method $BERT \
            --text_dir ../shared/data/text/sotu
    done
    $PY "$ROOT/benchmarks/budget.py" --families llama --text_dir ../shared/data/text/sotu --seeds 0 1 --budgets \
        --widths 256 --methods default
}

encoders_query() {  # stage j (docs/defaults.md, "ModernBERT's query")
    local SOTU="--text_dir ../shared/data/text/sotu" Q0=idinit:query=idi WEAK="zero-branch-out depth-scaled olmo2 mimetic"
    $CONVERGENCE --families modernbert --depths 4 16 --seeds 0 1 2 --methods idinit --deep_methods idinit $BERT
    $CONVERGENCE --families modernbert --depths 16 --seeds 0 1 2 --methods idinit --deep_methods idinit $BERT $SOTU
    $CONVERGENCE --families bert --depths 16 --seeds 0 1 2 --methods idinit:query=small \
        --deep_methods idinit:query=small $BERT
    $CONVERGENCE --families bert --depths 16 --seeds 0 1 2 --methods idinit:query=small \
        --deep_methods idinit:query=small $BERT $SOTU
    test -f "$ROOT/benchmarks/results/issue19/dynamics_modernbert_query.json" ||
        $PY "$ROOT/benchmarks/dynamics.py" --family modernbert --depth 16 --width 64 --batch_size 32 --block_size 64 \
            --steps 300 --every 25 --lr 0.001 --warmup 50 --methods "$Q0" idinit neox --tag _query \
            --output_dir "$ROOT/benchmarks/results/issue19"
    $CONVERGENCE --families modernbert --depths 16 --seeds 0 1 2 --methods $WEAK --deep_methods $WEAK $BERT $SOTU
    # T5's MLP output: probes with the default init's roles, then the variants at 4 and 16 layers
    local T5="--steps 600 --eval_every 25 --eval_batches 4 --batch_size 16 --block_size 64 --width 64 --lr 0.001 --warmup 50"
    local P=idinit:mlp_out=idiz L=loosening_target=all,loosening_scale=fan_in role
    local -a probes=() t5=(idinit "$P" "idinit:loosening=0.5,$L,mlp_out=idiz" "idinit:loosening=2.0,$L,mlp_out=idiz"
                           "idinit:loosening=4.0,$L,mlp_out=idiz" "idinit:loosening=2.0,$L"
                           "idinit:epsilon=0.01,mlp_out=idiz" "idinit:query=small,mlp_out=idiz")
    for role in embedding attention_in cross_attention_in position_bias attention_out mlp_in mlp_out attention_out,mlp_out; do
        probes+=("$P+default[$role]")
    done
    $CONVERGENCE --families t5 --depths 4 --seeds 0 1 2 --methods "${probes[@]}" $T5
    $CONVERGENCE --families t5 --depths 4 16 --seeds 0 1 2 --methods "${t5[@]}" --deep_methods "${t5[@]}" "$P+default[mlp_out]" \
        "$P+default[attention_out,mlp_out]" $T5
    $CONVERGENCE --families t5 --depths 4 16 --seeds 0 1 2 --methods default idinit "$P" --deep_methods default idinit \
        "$P" $T5 --text_dir ../shared/data/text/sotu
    $CONVERGENCE --families gpt2 llama --depths 16 --seeds 0 1 2 --methods idinit:mlp_out=default \
        --deep_methods idinit:mlp_out=default $TEXT
    local data
    for data in "" "$SOTU"; do
        $CONVERGENCE --families modernbert --depths 16 --seeds 0 1 2 --methods idinit:mlp_out=default \
            --deep_methods idinit:mlp_out=default $BERT $data
    done
    # ViT's stem loosened (GPT-2's loosening on the stem alone, and everywhere)
    local LOOSE="idinit:loosening=0.5,loosening_target=all,loosening_scale=fan_in"
    local -a stem=("$LOOSE" "idinit+$LOOSE[patch_embedding]")
    for data in "" "--image_dir ../shared/data/images/fashion-mnist"; do
        $CONVERGENCE --families vit --depths 16 --seeds 0 1 2 --methods "${stem[@]}" --deep_methods "${stem[@]}" $TEXT \
            $data --output_dir "$ROOT/benchmarks/results/issue19/vit_stem/loosened"
    done
}

for stage in $STAGES; do
    echo "=== stage $stage: $(date -Is)"
    case $stage in
        a) head_to_head 16 ;;
        b) head_to_head 8 ;;
        c) $BUDGET --budgets 300 --widths --methods $METHODS
           $BUDGET --budgets 300 1000 3000 --widths --methods default idinit $(best_baselines) ;;
        d) $BUDGET --budgets --widths 64 128 256 --methods default idinit $(best_baselines) ;;
        e) olmo2_probes ;;
        f) second_corpus ;;
        g) loosening_size ;;
        h) vit_stem_and_long_loosening ;;
        i) vit_query_and_fill_ins ;;
        j) encoders_query ;;
        *) echo "unknown stage $stage (a, b, c, d, e, f, g, h, i, j)" >&2; exit 2 ;;
    esac
done
echo "=== done: $(date -Is)"
