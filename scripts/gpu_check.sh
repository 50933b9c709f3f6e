#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds kiln with the CUDA backend, runs the GPU-vs-CPU suite
# (python/tests/test_gpu_ops.py), the whole pytest suite with KILN_DEVICE=gpu, and
# benchmarks/bench_gpu.py, then prints a summary. Logs go to $KILN_GPU_LOGS (default
# /tmp/kiln_gpu_check). Failures of primitives that have no GPU kernel yet are counted by
# primitive, not hidden.
#
# SKIP_BENCH=1 skips the benchmarks; SUITE_FILES (paths or pytest args) narrows the whole-suite run to
# some test files (default python/tests); SKIP_SUITE=1 skips it; SUITE_TIMEOUT (seconds) caps it; ASAN_ON_CRASH=1 reruns
# it under AddressSanitizer when a test process crashed; CPU_SUITE=1 also runs it with KILN_DEVICE=cpu.
# Needs cmake, ninja, nvcc, Python with numpy, nanobind and pytest (torch for the benchmarks),
# and OpenBLAS/LAPACKE: the system's, or .deb files in $KILN_DEBS unpacked (not installed)
# into a private prefix when the system lacks them. Nothing is downloaded.
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS=${KILN_GPU_LOGS:-/tmp/kiln_gpu_check}
mkdir -p "$LOGS"
PY=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
nvcc --version | tail -1

CMAKE_EXTRA=()
# Built with the GPU image's compiler (/opt/gcc, which links libstdc++ statically), libkiln.so
# and the extension each carried their own C++ runtime, and tests that throw or format crashed
# (linking both with -static-libstdc++ reproduces it on any machine). So the core is linked
# into the extension: one binary, one runtime.
CMAKE_EXTRA+=(-DKILN_SHARED=OFF)
# That alone did not stop the crashes. When the compiler has no shared libstdc++ of its own,
# link the system's (libstdc++.so.6) instead of the static archive.
CXX_BIN=${CXX:-$(command -v g++)}
if [ "$($CXX_BIN -print-file-name=libstdc++.so)" = "libstdc++.so" ] && [ -e /usr/lib/x86_64-linux-gnu/libstdc++.so.6 ]; then
  LIBSTDCXX=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
  CMAKE_EXTRA+=(-DCMAKE_SHARED_LINKER_FLAGS=-nostdlib++ -DCMAKE_MODULE_LINKER_FLAGS=-nostdlib++
                -DCMAKE_EXE_LINKER_FLAGS=-nostdlib++ "-DCMAKE_CXX_STANDARD_LIBRARIES=$LIBSTDCXX"
                "-DCMAKE_CUDA_STANDARD_LIBRARIES=$LIBSTDCXX")
  echo "linking the system libstdc++ ($CXX_BIN has only a static one)"
fi
if ! ldconfig -p | grep -q liblapacke.so && [ -n "${KILN_DEBS:-}" ]; then
  PREFIX=/tmp/kiln_blas
  mkdir -p "$PREFIX"
  for f in "$KILN_DEBS"/*.deb; do dpkg -x "$f" "$PREFIX"; done
  LIB=$PREFIX/usr/lib/x86_64-linux-gnu
  CMAKE_EXTRA+=(-DBLA_VENDOR=OpenBLAS "-DCMAKE_LIBRARY_PATH=$LIB/openblas-pthread;$LIB"
               "-DCBLAS_INCLUDE_DIR=$PREFIX/usr/include/x86_64-linux-gnu/openblas-pthread")
  export LD_LIBRARY_PATH=$LIB/openblas-pthread:$LIB:${LD_LIBRARY_PATH:-}
  echo "using OpenBLAS/LAPACKE unpacked from $KILN_DEBS"
fi
# zlib (for .npz) the same way, when the system has no headers for it.
if [ ! -f /usr/include/zlib.h ] && [ -n "${KILN_DEBS:-}" ]; then
  PREFIX=/tmp/kiln_blas
  mkdir -p "$PREFIX"
  for f in "$KILN_DEBS"/zlib1g*.deb; do dpkg -x "$f" "$PREFIX"; done
  CMAKE_EXTRA+=("-DZLIB_INCLUDE_DIR=$PREFIX/usr/include" "-DZLIB_LIBRARY=$(ls $PREFIX/lib/x86_64-linux-gnu/libz.so.1.* $PREFIX/usr/lib/x86_64-linux-gnu/libz.so.1.* 2>/dev/null | head -1)")
fi

echo "== build"
start=$(date +%s)
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BUILD_PYTHON=ON -DKILN_BUILD_TESTS=OFF \
  -DKILN_BUILD_CUDA=ON -DPython_EXECUTABLE="$(command -v $PY)" "${CMAKE_EXTRA[@]}" >"$LOGS/cmake.log" 2>&1 \
  && ninja -C build/gpu -j "$JOBS" >"$LOGS/build.log" 2>&1
rc=$?
ldd build/gpu/core*.so | grep -E "stdc|gcc_s" || echo "the extension carries a static libstdc++"
echo "build rc=$rc in $(( $(date +%s) - start ))s with $(grep -m1 'CXX compiler identification' "$LOGS/cmake.log")"
if [ $rc -ne 0 ]; then tail -40 "$LOGS/cmake.log" "$LOGS/build.log"; exit 1; fi
cp build/gpu/core*.so python/kiln/
export PYTHONPATH=$PWD/python:${PYTHONPATH:-}
$PY -c "import kiln.core as mx; print('cuda available:', mx.cuda.is_available(), mx.default_device())"

export COLUMNS=400  # untruncated short summaries
PYTEST=($PY -m pytest -q -p no:cacheprovider -o addopts= --timeout=300)
$PY -c "import xdist" 2>/dev/null && XDIST=(-n 8) || XDIST=()

echo "== GPU vs CPU suite"
"${PYTEST[@]}" "${XDIST[@]}" python/tests/test_gpu_ops.py -rfE >"$LOGS/gpu_ops.log" 2>&1
echo "test_gpu_ops rc=$?"; tail -3 "$LOGS/gpu_ops.log"

echo "== benchmarks"
if [ -n "${SKIP_BENCH:-}" ]; then
  echo "skipped (SKIP_BENCH)" >"$LOGS/bench.log"
else
  $PY benchmarks/bench_gpu.py 2>&1 | tee "$LOGS/bench.log" | sed -n '/^benchmark /,$p'
fi

echo "== whole suite, KILN_DEVICE=gpu"
if [ -n "${SKIP_SUITE:-}" ]; then
  echo "skipped (SKIP_SUITE)" >"$LOGS/suite_gpu.log"
else
  KILN_DEVICE=gpu timeout "${SUITE_TIMEOUT:-1800}" "${PYTEST[@]}" "${XDIST[@]}" ${SUITE_FILES:-python/tests} -rfE \
    >"$LOGS/suite_gpu.log" 2>&1
  echo "suite rc=$?"
fi
tail -1 "$LOGS/suite_gpu.log"
echo "failures by missing GPU kernel:"
grep -E '^(FAILED|ERROR)' "$LOGS/suite_gpu.log" | grep -o '\[[A-Za-z]*\] has no GPU implementation' | sort | uniq -c | sort -rn | head -30
echo "failures with another cause: $(grep -E '^(FAILED|ERROR)' "$LOGS/suite_gpu.log" | grep -vc 'has no GPU implementation')"
grep -E '^(FAILED|ERROR)' "$LOGS/suite_gpu.log" | grep -v 'has no GPU implementation' | head -40 >"$LOGS/other_failures.txt"
echo "crashed workers: $(grep -c 'Fatal Python error' "$LOGS/suite_gpu.log")"

# The same suite on this machine's CPU tells GPU failures from the platform's (Python, NumPy).
if [ -n "${CPU_SUITE:-}" ]; then
  KILN_DEVICE=cpu timeout "${SUITE_TIMEOUT:-1800}" "${PYTEST[@]}" "${XDIST[@]}" python/tests -rfE >/tmp/suite_cpu.log 2>&1
  echo "suite on the CPU (KILN_DEVICE=cpu): $(tail -1 /tmp/suite_cpu.log); crashed workers: $(grep -c 'Fatal Python error' /tmp/suite_cpu.log)"
  grep -E '^(FAILED|ERROR)' /tmp/suite_cpu.log | head -20
fi

# A crashed worker usually means memory corruption found later than it happened: with
# ASAN_ON_CRASH=1, rebuild with AddressSanitizer and rerun the suite to catch the bad access.
if [ -n "${ASAN_ON_CRASH:-}" ] && grep -q 'Fatal Python error' "$LOGS/suite_gpu.log"; then
  echo "== AddressSanitizer rerun"
  SAN="-fsanitize=address -fno-omit-frame-pointer -g1"
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_BUILD_PYTHON=ON -DKILN_BUILD_TESTS=OFF \
    -DKILN_BUILD_CUDA=ON -DPython_EXECUTABLE="$(command -v $PY)" "${CMAKE_EXTRA[@]}" "-DCMAKE_CXX_FLAGS=$SAN" \
    "-DCMAKE_CUDA_FLAGS=-Xcompiler=-fsanitize=address,-fno-omit-frame-pointer,-g1" \
    -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address -DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=address \
    >/tmp/asan_build.log 2>&1 && ninja -C build/asan -j "$JOBS" >>/tmp/asan_build.log 2>&1
  echo "asan build rc=$?"
  rm -rf /tmp/asan_pkg /tmp/asan_log && mkdir -p /tmp/asan_pkg /tmp/asan_log
  cp -r python/kiln /tmp/asan_pkg/ && cp build/asan/core*.so /tmp/asan_pkg/kiln/
  LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
    ASAN_OPTIONS=protect_shadow_gap=0:replace_intrin=0:detect_leaks=0:halt_on_error=1:log_path=/tmp/asan_log/asan \
    PYTHONPATH=/tmp/asan_pkg KILN_DEVICE=gpu timeout "${ASAN_TIMEOUT:-300}" "${PYTEST[@]}" "${XDIST[@]}" python/tests \
    >/tmp/asan_pytest.log 2>&1
  { tail -20 /tmp/asan_build.log; tail -3 /tmp/asan_pytest.log; cat /tmp/asan_log/asan.* 2>/dev/null | head -400; } \
    >"$LOGS/asan.txt"
  echo "asan reports: $(ls /tmp/asan_log | wc -l)"
  grep -m3 -A12 "ERROR: AddressSanitizer" "$LOGS/asan.txt"
fi
echo "== summary"
echo "test_gpu_ops: $(tail -1 "$LOGS/gpu_ops.log")"
echo "suite (KILN_DEVICE=gpu): $(tail -1 "$LOGS/suite_gpu.log")"
sed -n '/^benchmark /,$p' "$LOGS/bench.log"
