#!/usr/bin/env bash
# Issue 21's encoder runs, in order, one process at a time, one torch thread. Resumable: every run is saved as it
# ends and a rerun skips the finished ones. Results: benchmarks/results/issue21_encoders/convergence.json (merge into
# the main file with `python benchmarks/convergence.py --merge benchmarks/results/issue21_encoders/convergence.json`).
#
#   setsid nohup bash benchmarks/run_issue21_encoders.sh > benchmarks/logs/issue21_encoders.log 2>&1 &
#   STAGES="b" bash benchmarks/run_issue21_encoders.sh          # some stages only
#
#   a. ModernBERT, 4 layers: default, IDInit and the variants that decide its open options (embeddings, gate)
#   b. ModernBERT, 16 layers: default and IDInit
#   c. RoBERTa, 4 layers: default, IDInit, the embeddings variant
#   d. DeBERTa-v2, 4 layers: default, IDInit, the embeddings and relative-position variants
#   e. RoBERTa, 16 layers: default and IDInit
#   f. BERT's pre-LN variants (Megatron-BERT), 4 layers: default, IDInit, the embeddings variant
# 3 seeds each. On the shared 2-core machine a 4-layer run takes ~7 minutes, a 16-layer one ~25.
# Settings: BERT's of benchmarks/run_issue19.sh (masked LM on CPython's reference text, 800 steps, batch 32 x 64).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-python}
STAGES=${STAGES:-a b c d e f}
export PYTHONPATH=$ROOT HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TRANSFORMERS_VERBOSITY=error
OUT="--output_dir $ROOT/benchmarks/results/issue21_encoders"
BERT="--steps 800 --eval_every 50 --eval_batches 12 --batch_size 32 --block_size 64 --width 64 --lr 0.001 --warmup 50"
RUN="nice -n 10 $PY $ROOT/benchmarks/convergence.py --seeds 0 1 2 $BERT $OUT"

for stage in $STAGES; do
    echo "=== stage $stage: $(date -Is)"
    case $stage in
        a) $RUN --families modernbert --depths 4 --methods default idinit idinit:embeddings=default idinit:gate=default ;;
        b) $RUN --families modernbert --depths 16 --methods default idinit ;;
        c) $RUN --families roberta --depths 4 --methods default idinit idinit:embeddings=default ;;
        d) $RUN --families deberta_v2 --depths 4 --methods default idinit idinit:embeddings=default \
               idinit:relative_positions=idi ;;
        e) $RUN --families roberta --depths 16 --methods default idinit ;;
        f) $RUN --families bert_prenorm --depths 4 --methods default idinit idinit:embeddings=default ;;
    esac
done
echo "=== done: $(date -Is)"
