#!/usr/bin/env bash
# Installs what building and testing kiln needs on a fresh Debian 12 machine, then builds
# and installs the Python package (editable) together with the C++ tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="g++ cmake ninja-build ccache libopenblas-dev liblapacke-dev libgtest-dev zlib1g-dev"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

PY=${PYTHON:-python3}
$PY -m pip install -q --upgrade "scikit-build-core>=0.10" "nanobind>=2.0" numpy pytest hypothesis
# MLX's CPU build is a black-box oracle for some tests (printing, weak typing); never a dependency.
$PY -m pip install -q "mlx[cpu]" || echo "setup: mlx[cpu] unavailable; the MLX-oracle tests will be skipped"
# Independent readers/writers of .safetensors and .gguf files: oracles for the I/O tests.
$PY -m pip install -q safetensors gguf || echo "setup: safetensors/gguf unavailable; their oracle tests will be skipped"

# One CMake build serves both: the extension and the C++ test binary (build/py/kiln_tests).
$PY -m pip install -q --no-build-isolation -e . \
  -Cbuild-dir=build/py \
  -Ccmake.define.KILN_BUILD_TESTS=ON
