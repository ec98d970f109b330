#!/usr/bin/env bash
# GPU check of the Triton LSTM kernels: install what is missing, record the machine, compile
# every launch, run the gpu-marked tests, the README example and a short run of the default LM
# with impl="auto" (whatever it picks on this GPU), and the benchmark. Results go to
# benchmarks/results/gpu/.
#
#   bash scripts/gpu_check.sh [extra flags for python -m benchmarks.lstm_kernels]
#
# Expects a CUDA machine with jax (CUDA), triton and torch installed. jax-triton (and any other
# missing wheel) is installed from .whl/ when that folder exists, so no network is needed;
# otherwise pip is asked for jax-triton==0.3.1. Exit status: non-zero if a step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=benchmarks/results/gpu
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
import rnnjax_kernels
print("rnnjax_kernels.gpu_available()", rnnjax_kernels.gpu_available())
EOF
} 2>&1 | tee "$RESULTS/environment.txt"

echo "== compile check (sm_90 cubins: registers, shared and local memory)"
timeout 600 "$PY" -m rnnjax_kernels.compile_check --arch=90 2>&1 | tee "$RESULTS/compile_check_sm90.md"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(compile_check)

echo "== gpu-marked tests"
timeout 1200 "$PY" -m pytest -m gpu tests/kernels -v -rs -p no:cacheprovider 2>&1 \
  | tee "$RESULTS/gpu_tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(gpu_tests)

echo "== README example (impl=auto): forward and gradient"
timeout 600 "$PY" - <<'EOF' 2>&1 | tee "$RESULTS/readme_example.txt"
import re

import jax
import jax.numpy as jnp

code = re.search(r"```python\n(.*?)```", open("README.md").read(), re.S).group(1)
scope = {}
exec(code, scope)
lstm, x, lengths = scope["lstm"], scope["x"], scope["lengths"]
print("lstm resolves impl='auto' to", lstm.resolved_impl(x.dtype))
grad = jax.grad(lambda x: jnp.sum(lstm(x, seq_lengths=lengths)[0] ** 2))(x)
assert jnp.isfinite(grad).all(), "non-finite gradient"
print("README example: outputs and gradient finite")
EOF
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(readme_example)

echo "== default LM (impl=auto), 40 training steps"
LM_DIR=$(mktemp -d)
timeout 900 "$PY" -m experiments.lm --workdir="$LM_DIR" --config.num_epochs=1 \
  --config.steps_per_epoch=40 --config.log_every_steps=10 2>&1 | tee "$RESULTS/lm_default.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(lm_default)
cp "$LM_DIR/results.json" "$RESULTS/lm_default_results.json" 2>/dev/null
rm -rf "$LM_DIR"

echo "== benchmark"
timeout 2400 "$PY" -m benchmarks.lstm_kernels --config=gpu --out_dir="$RESULTS" --name=lstm_kernels_gpu "$@" 2>&1 \
  | tee "$RESULTS/bench_log.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=(bench)

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (see $RESULTS/)"
  exit 1
fi
echo "OK: results in $RESULTS/"
