#!/usr/bin/env bash
# GPU check of the Triton LSTM kernels: install what is missing, record the machine, compile
# every launch, run the gpu-marked tests and the benchmark. Results go to kernels/results/.
#
#   bash scripts/gpu_check.sh [extra flags for python -m kernels.bench]
#
# Expects a CUDA machine with jax (CUDA), triton and torch installed. jax-triton (and any other
# missing wheel) is installed from .whl/ when that folder exists, so no network is needed;
# otherwise pip is asked for jax-triton==0.3.1. Exit status: non-zero if a step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=kernels/results
mkdir -p "$RESULTS"
PY=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
failed=()

install() {  # install <import name> <pip requirement>
  "$PY" -c "import $1" 2>/dev/null && return 0
  if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-deps --no-index --find-links .whl "$2" && return 0
  fi
  "$PY" -m pip install -q --no-deps "$2" || echo "WARNING: could not install $2"
}
install jax_triton "jax-triton==0.3.1"
install absl "absl-py"
install pytest "pytest"

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$PY" - <<'EOF'
import importlib.metadata as md, platform, sys
print("python", sys.version.split()[0], platform.machine())
for name in ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "triton", "jax-triton",
             "torch", "flax", "numpy"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "not installed")
import jax
print("jax devices", jax.devices())
import kernels
print("kernels.gpu_available()", kernels.gpu_available())
EOF
} 2>&1 | tee "$RESULTS/environment.txt"

echo "== compile check (sm_90 cubins: registers, shared and local memory)"
timeout 600 "$PY" -m kernels.compile_check --arch=90 2>&1 | tee "$RESULTS/compile_check_sm90.md"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(compile_check)

echo "== gpu-marked tests"
timeout 1200 "$PY" -m pytest -m gpu tests/kernels -v -rs -p no:cacheprovider 2>&1 \
  | tee "$RESULTS/gpu_tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(gpu_tests)

echo "== benchmark"
timeout 2400 "$PY" -m kernels.bench --config=gpu --out_dir="$RESULTS" --name=bench_gpu "$@" 2>&1 \
  | tee "$RESULTS/bench_log.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(bench)

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (see $RESULTS/)"
  exit 1
fi
echo "OK: results in $RESULTS/"
