#!/usr/bin/env bash
# Issue 21 (vision): ResNet and ConvNeXt on Fashion-MNIST, default init vs IDInit and the variants that decide the
# conv-net options. One process at a time, resumable (a rerun skips finished runs). Usage, from the repo root:
#   PYTHONPATH=$PWD setsid nohup nice -n 10 bash benchmarks/run_issue21_vision.sh > benchmarks/logs/vision.log 2>&1 &
set -euo pipefail
IMAGES=${IMAGES:-../../shared/data/images/fashion-mnist}
OUT=benchmarks/results/vision
COMMON=(--seeds 0 1 2 --steps 300 --eval_every 25 --eval_batches 8 --batch_size 32 --width 16 --lr 1e-3 --warmup 50
        --image_dir "$IMAGES" --output_dir "$OUT")
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
PY=${PY:-/work/main/.venv/bin/python}
STAGE=${1:-variants}
if [ "$STAGE" = variants ]; then
  # (a) 4 blocks: every open choice of the conv-net tables, each against IDInit at the table's defaults
  "$PY" benchmarks/convergence.py --families resnet --depths 4 "${COMMON[@]}" --methods default idinit \
      idinit:conv=centred idinit:epsilon=0 idinit:branch_norm=default,normed_out=idiz idinit:branch_norm=default \
      idinit:downsample=default idinit:patch_embedding=default
  "$PY" benchmarks/convergence.py --families convnext --depths 4 "${COMMON[@]}" --methods default idinit \
      idinit:conv=centred idinit:layer_scale=idi idinit:downsample=default idinit:patch_embedding=default
fi
