#!/usr/bin/env bash
# Issue 21 (vision): ResNet and ConvNeXt on Fashion-MNIST, default init vs IDInit and the variants that decide the
# conv-net options (docs/defaults.md). One process at a time, resumable (a rerun skips finished runs). From the repo
# root, one stage at a time:
#   PYTHONPATH=$PWD setsid nohup nice -n 10 bash benchmarks/run_issue21_vision.sh STAGE > benchmarks/logs/vision_STAGE.log 2>&1 &
# Method names mean today's defaults: runs made before a default changed were relabelled (benchmarks/relabel.py; the
# notes are in the results file). Stages (a)-(c) ran in that order, each deciding defaults the next builds on.
set -euo pipefail
IMAGES=${IMAGES:-../../shared/data/images/fashion-mnist}
OUT=benchmarks/results/vision
COMMON=(--seeds 0 1 2 --steps 300 --eval_every 25 --eval_batches 8 --batch_size 32 --width 16 --lr 1e-3 --warmup 50
        --image_dir "$IMAGES" --output_dir "$OUT")
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
PY=${PY:-/work/main/.venv/bin/python}
case "${1:-variants}" in
  variants)  # (a) 4 blocks: every open choice of the conv-net tables, each against IDInit at the table's defaults
    "$PY" benchmarks/convergence.py --families resnet --depths 4 "${COMMON[@]}" --methods default idinit \
        idinit:conv=centred idinit:epsilon=0 idinit:branch_norm=default,normed_out=idiz idinit:branch_norm=default \
        idinit:downsample=default idinit:patch_embedding=default
    "$PY" benchmarks/convergence.py --families convnext --depths 4 "${COMMON[@]}" --methods default idinit \
        idinit:conv=centred idinit:layer_scale=idi idinit:downsample=default idinit:patch_embedding=default ;;
  variants2)  # (b) 4 blocks: the other choices again, on the new ResNet defaults and on ConvNeXt's layer scale of 1
    "$PY" benchmarks/convergence.py --families resnet --depths 4 "${COMMON[@]}" --methods default idinit \
        idinit:conv=centred idinit:downsample=default idinit:patch_embedding=default
    "$PY" benchmarks/convergence.py --families convnext --depths 4 "${COMMON[@]}" --methods default idinit \
        idinit:layer_scale=idi,downsample=default ;;
  variants3)  # (c) 4 blocks: the winners of (b) together
    "$PY" benchmarks/convergence.py --families resnet --depths 4 "${COMMON[@]}" --methods default idinit \
        idinit:conv=centred,patch_embedding=default idinit:conv=centred,downsample=default \
        idinit:conv=centred,patch_embedding=default,downsample=default
    "$PY" benchmarks/convergence.py --families convnext --depths 4 "${COMMON[@]}" --methods default idinit \
        idinit:layer_scale=idi,downsample=default,patch_embedding=default ;;
  deep)  # (d) 16 blocks: the default init, IDInit at the chosen defaults, and the readings they won against
    "$PY" benchmarks/convergence.py --families resnet --depths 16 "${COMMON[@]}" --methods default idinit \
        idinit:branch_norm=idiz,normed_out=idi idinit:conv=flatten,patch_embedding=idic
    "$PY" benchmarks/convergence.py --families convnext --depths 16 "${COMMON[@]}" --methods default idinit \
        idinit:layer_scale=default,downsample=idic ;;
  *) echo "unknown stage $1 (variants, variants2, variants3, deep)" >&2; exit 2 ;;
esac
