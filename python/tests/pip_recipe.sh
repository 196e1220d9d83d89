#!/bin/sh
# ctest python.readme_pip_recipe_works: README's recipe for installing scn_torch on Debian 12, run as written
# (issue 24, item 14: a bare `pip install ./python` fails there with "externally-managed-environment", PEP 668).
# The recipe's lines must appear in README.md verbatim; they run here with the environment's folder in a
# temporary directory instead of ~/.venvs/scn. Exit 77 (skipped) without Debian's python3-torch or python3-venv.
# With SCN_EXPECT_COMPILED=1 (CMake sets it where it builds the compiled ops) the installed package must hold and
# use them (the ctest sets SCN_BUILD_DIR, so that pip reuses the build's libraries); then the fallback: with
# SCN_TORCH_OPS=OFF pip installs the pure-PyTorch package, which says why.
#   pip_recipe.sh REPO
set -eu
repo=$1
venv_line='/usr/bin/python3 -m venv --system-site-packages ~/.venvs/scn'
pip_line='~/.venvs/scn/bin/pip install ./python'
use_line='~/.venvs/scn/bin/python -c "import scn_torch; print(scn_torch.load)"'
for line in "$venv_line" "$pip_line" "$use_line"; do
  grep -qF -- "$line" "$repo/README.md" || { echo "README.md no longer holds the tested line: $line" >&2; exit 1; }
done
if ! /usr/bin/python3 -c "import torch, yaml, numpy, ensurepip" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 lacks Debian's python3-torch or python3-venv (tools/setup.sh --with-torch installs them)"
  exit 77
fi
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
cd "$repo"
for line in "$venv_line" "$pip_line" "$use_line"; do
  cmd=$(printf '%s' "$line" | sed "s#~/#$home/#g")
  echo "+ $line"
  sh -c "$cmd"
done
# The installed copy, not this tree's: it imports from the environment and loads through Debian's torch.
"$home/.venvs/scn/bin/python" - <<'PY'
import os, sys, scn_torch, torch
where = os.path.dirname(scn_torch.__file__)
assert where.startswith(sys.prefix), f"scn_torch imported from {where}, not the environment {sys.prefix}"
print(f"scn_torch {scn_torch.__version__} from {where}, torch {torch.__version__} from {os.path.dirname(torch.__file__)}")
print(scn_torch.compiled_ops_status())
if os.environ.get("SCN_EXPECT_COMPILED") == "1":
    assert scn_torch.has_compiled_ops(), scn_torch.compiled_ops_status()
    assert scn_torch.compiled_ops_status().startswith(f"compiled ops: {where}/"), "the library is not the package's"
    m = scn_torch.SparseCode2d(3, 4, iters=2)
    y = m(torch.randn(2, 3, 5, 7))
    y.sum().backward()
    assert m.compiled is not None and m.weight.grad is not None
PY
echo "README's pip recipe works"
# The fallback: no compiled ops, one line saying why.
/usr/bin/python3 -m venv --system-site-packages "$home/pure"
SCN_TORCH_OPS=OFF "$home/pure/bin/pip" install -q ./python
status=$("$home/pure/bin/python" -c "import scn_torch; print(scn_torch.has_compiled_ops(), scn_torch.compiled_ops_status())")
echo "SCN_TORCH_OPS=OFF: $status"
[ "$status" = "False pure PyTorch: compiled ops not built at install: SCN_TORCH_OPS=OFF" ] || {
  echo "the pure-PyTorch install does not say why it has no compiled ops" >&2; exit 1; }
