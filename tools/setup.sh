#!/usr/bin/env bash
# Installs what scn needs from Debian (idempotent) and builds a Release build in build/.
# Works as root on a fresh Debian 12 machine, with or without CUDA (nvcc on PATH or in /usr/local/cuda).
#   SCN_SKIP_APT=1   do not touch packages      SCN_BUILD_DIR=dir   build elsewhere
#   SCN_CUDA=AUTO|ON|OFF                          SCN_JOBS=N          parallel build jobs
#   SCN_MPI=AUTO|ON|OFF   multi-process training over MPI (AUTO: when libopenmpi-dev is found)
#   SCN_CMAKE_ARGS="-D..."  extra CMake arguments
#   SCN_TARGETS="scn ..."  build only these targets (the quick start builds just the scn command)
#   --with-torch     also Debian's python3-torch with its C++ headers (libtorch-dev: the compiled ops of
#                    python/ops), Hypothesis (the loader's fuzz test) and python3-venv (README's pip recipe), for
#                    the python.* ctests and tools/bench/pytorch_scn.py; tools/test.sh
#                    passes it (tools/bench/setup-torch.sh installs a newer torch from PyPI into .venv-bench instead)
set -euo pipefail
cd "$(dirname "$0")/.."

# ocl-icd-opencl-dev: Debian's oneDNN CMake config calls find_package(OpenCL) (its GPU runtime is OpenCL), so
# the build needs OpenCL's headers and library even though scn never uses oneDNN on a GPU.
# python3-yaml: tools/bench/scn_config.py expands configs with it, and its self-test runs with the tests.
# libopenmpi-dev, openmpi-bin: data-parallel training over MPI (mpirun -np N scn train); the 2-rank tests.
packages=(cmake g++ make pkg-config libyaml-cpp-dev libdnnl-dev ocl-icd-opencl-dev libgtest-dev libbenchmark-dev
          zlib1g-dev libcli11-dev nlohmann-json3-dev libjpeg-dev libpng-dev libfftw3-dev dataset-fashion-mnist
          python3 python3-matplotlib python3-numpy python3-yaml libopenmpi-dev openmpi-bin)

for arg in "$@"; do
  case $arg in
    --with-torch) packages+=(python3-torch libtorch-dev python3-hypothesis python3-venv) ;;
    *) echo "setup.sh: unknown option $arg (known: --with-torch)" >&2; exit 2 ;;
  esac
done

tools/install-packages.sh setup "${packages[@]}"

# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

build=${SCN_BUILD_DIR:-build}
jobs=${SCN_JOBS:-$(nproc)}
# SCN_CMAKE_ARGS: extra configure arguments (tools/test.sh --sanitize passes its own); later ones win.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSCN_CUDA="${SCN_CUDA:-AUTO}" -DSCN_MPI="${SCN_MPI:-AUTO}" ${SCN_CMAKE_ARGS:-} >/dev/null
targets=()
for t in ${SCN_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
