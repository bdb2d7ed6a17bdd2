#!/usr/bin/env bash
# GPU checks in one go (about 2-4 minutes): install what is missing, run the GPU tests, then the
# training throughput benchmark with and without bf16 mixed precision.
#
#   bash benchmarks/gpu.sh            # on a machine with an NVIDIA GPU and a CUDA build of torch
#
# It uses the machine's own python3 and torch (a CUDA build is expected there: the CPU pin of
# pyproject.toml is not installed over it). Missing pure-Python packages are installed with pip,
# from ./.whl when that folder holds wheels (machines without a package index), else from the index.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PREFECT_SERVER_ANALYTICS_ENABLED=false NUMBA_CACHE_DIR=/tmp/numba

$PY - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))
PY

NEEDED="pydantic numba scipy zarr numcodecs tqdm pytest pytest-timeout tensorboard"
missing=$($PY - $NEEDED <<'PY'
import importlib.util, sys
names = {"pytest-timeout": "pytest_timeout"}
print(" ".join(n for n in sys.argv[1:] if importlib.util.find_spec(names.get(n, n)) is None))
PY
)
if [[ -n $missing ]]; then
  if compgen -G ".whl/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
  else
    $PY -m pip install -q $missing
  fi
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

echo "== GPU tests (renderer and network on CUDA)"
timeout 150 $PY -m pytest -q -p no:cacheprovider tests/test_heatmaps.py tests/test_network.py -k "gpu or cuda" -rs

echo "== training throughput (default network, batch 64, fp32 and bf16 autocast)"
timeout 150 $PY -m benchmarks.train_speed --device cuda --frames 64 100 --batch 64 --steps 10 --amp
