"""`pip install ./python`: the scn_torch package and, when it can be built, scn's compiled ops (python/ops).

The ops are built by CMake from this source tree against the torch of the Python that pip installs for (the
interpreter running this file; pip's isolated build environment is left for that one command, so torch need not be
a build requirement): a CPU build, or a CUDA one when that torch has CUDA and nvcc is found. It needs scn's
build dependencies (tools/setup.sh installs them; on Debian 12 with python3-torch also libtorch-dev). Anything
missing gives the pure-PyTorch package and one line saying why: printed (pip shows it with -v) and kept in the
package, where scn_torch.compiled_ops_status() reports it.

    SCN_BUILD_DIR=build     reuse a configured scn build of this tree (CI: seconds instead of minutes) when its
                            ops are built for the same torch
    SCN_TORCH_OPS=OFF       the pure-PyTorch package only
    SCN_JOBS=N              parallel build jobs (default: the number of CPUs)
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIBRARY = "_scn_ops.so"
STATUS = "_build_status.txt"


def target_environment():
    """The environment without pip's build isolation, so that sys.executable sees its own site-packages."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONNOUSERSITE"):
        env.pop(key, None)
    return env


def torch_of(python):
    """(torch's folder, torch's CUDA version or '') of `python`, or None when it cannot import torch."""
    code = "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.version.cuda or '')"
    p = subprocess.run([python, "-c", code], env=target_environment(), capture_output=True, text=True)
    if p.returncode != 0:
        return None
    lines = p.stdout.splitlines() + [""]
    return lines[0], lines[1]


def cache_value(build, key):
    cache = build / "CMakeCache.txt"
    if not cache.is_file():
        return None
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith(key + ":"):
            return line.split("=", 1)[1]
    return None


def run_logged(argv, log):
    with open(log, "a") as f:
        f.write("+ " + " ".join(argv) + "\n")
        f.flush()
        return subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env=target_environment()).returncode == 0


def build_ops():
    """(path of the built library, None) or (None, why not)."""
    if os.environ.get("SCN_TORCH_OPS", "").upper() == "OFF":
        return None, "SCN_TORCH_OPS=OFF"
    if not (REPO / "CMakeLists.txt").is_file() or not (HERE / "ops" / "torch_ops.cpp").is_file():
        return None, f"{REPO} is not scn's source tree"
    if not shutil.which("cmake"):
        return None, "cmake is not installed (tools/setup.sh installs scn's build dependencies)"
    torch = torch_of(sys.executable)
    if torch is None:
        return None, f"{sys.executable} cannot import torch"
    jobs = os.environ.get("SCN_JOBS", str(os.cpu_count() or 1))
    reuse = os.environ.get("SCN_BUILD_DIR")
    if reuse:
        build = (REPO / reuse).resolve()
        other = cache_value(build, "SCN_TORCH_PYTHON")
        if other is None:
            return None, f"SCN_BUILD_DIR={reuse} is not a configured scn build"
        if torch_of(other) != torch:
            return None, f"SCN_BUILD_DIR={reuse} builds the ops for {other}, whose torch is not {torch[0]}"
        log = build / "scn_torch_ops.log"
    else:
        build = REPO / "build-torch-ops"
        build.mkdir(exist_ok=True)
        log = build / "scn_torch_ops.log"
        log.write_text("")
        cuda = "ON" if torch[1] and (shutil.which("nvcc") or Path("/usr/local/cuda/bin/nvcc").exists()) else "OFF"
        configure = ["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                     f"-DSCN_TORCH_PYTHON={sys.executable}", "-DSCN_TORCH_OPS=ON", "-DSCN_MPI=OFF",
                     f"-DSCN_CUDA={cuda}"]
        if not run_logged(configure, log):
            return None, f"CMake could not configure scn (missing build dependencies? see {log})"
    if not run_logged(["cmake", "--build", str(build), "--target", "scn_torch_ops", "-j", jobs], log):
        return None, f"the build failed (see {log})"
    library = build / "python" / LIBRARY
    if not library.is_file():
        return None, f"the build made no {library}"
    return library, None


class BuildPy(build_py):
    def run(self):
        super().run()
        package = Path(self.build_lib) / "scn_torch"
        (package / LIBRARY).unlink(missing_ok=True)   # pip builds in the tree: a library of an earlier build
        library, why = build_ops()
        if library:
            shutil.copy2(library, package / LIBRARY)
            line = f"compiled ops built from {REPO}"
        else:
            line = f"compiled ops not built at install: {why}"
        (package / STATUS).write_text(line + "\n")
        print(f"scn_torch: {line}" + ("" if library else "; installing the pure-PyTorch package"), file=sys.stderr)


class MaybeBinary(Distribution):
    """A wheel with the compiled library is for this platform and Python, not for any."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=MaybeBinary)
