#!/usr/bin/env bash
# The GPU checks of idinit_hf (what the CPU test suite cannot check): one run, about 2-5 minutes on one GPU.
#
#   bash scripts/check_gpu.sh          # on a GPU machine with torch, transformers, accelerate preinstalled
#   bash scripts/check_gpu.sh --cpu    # dry run on the CPU: proves the script executes (no GPU result)
#   bash scripts/check_gpu.sh --quick --checks build train compile   # some checks, 60 training steps
#
# Installs nothing but this package from the working tree (no dependencies, no network), then runs
# scripts/check_gpu.py, which prints one line per check and a summary table; exit status 1 if a check failed.
# What each check does and what the results mean: docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
PYTHON="${PYTHON:-python}"

if ! "$PYTHON" -c "import idinit_hf" 2>/dev/null; then
  # Offline: pip's isolated build would fetch setuptools, so build with the installed one; if that fails too
  # (setuptools < 77 cannot read this pyproject), import the package from the working tree instead.
  "$PYTHON" -m pip install --no-deps --no-build-isolation -q -e . \
    || "$PYTHON" -m pip install --no-deps -q -e . \
    || { echo "pip install failed: using the working tree through PYTHONPATH"; export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"; }
fi
"$PYTHON" -c "import idinit_hf, sys; print('idinit_hf from', idinit_hf.__file__, file=sys.stderr)"

# One GPU run ends well inside 10 minutes; the CPU dry run of every check takes ~10 minutes on one core.
# On a timeout check_gpu.py still prints the table of the checks that finished (and exits 1).
case " $* " in *" --cpu "*) limit=1800 ;; *) limit=600 ;; esac
timeout "${CHECK_GPU_TIMEOUT:-$limit}" "$PYTHON" scripts/check_gpu.py "$@"
