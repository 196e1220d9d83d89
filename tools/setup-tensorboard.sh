#!/usr/bin/env bash
# Creates .venv-tensorboard/ at the repository root, a Python virtual environment with the `tensorboard`
# package from PyPI (its event-file writer and the TensorBoard server), for tools/tensorboard. Idempotent.
#
#   tools/setup-tensorboard.sh
#   tools/tensorboard runs/cscn1 runs/cnn1            # writes runs/*/tensorboard/ event files
#   .venv-tensorboard/bin/tensorboard --logdir runs   # view them
#
# SCN_TENSORBOARD_VENV=DIR puts the environment elsewhere. On Debian, `python3 -m venv` needs python3-venv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SCN_TENSORBOARD_VENV:-$root/.venv-tensorboard}"
python=/usr/bin/python3
[[ -x $python ]] || python="$(command -v python3)"
ready() { [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import tensorboard' 2>/dev/null; }
if ! ready; then
  if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv" || { echo "setup-tensorboard: '$python -m venv' failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
  fi
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input tensorboard
fi
ready || { echo "setup-tensorboard: $venv cannot import tensorboard" >&2; exit 1; }
echo "setup-tensorboard: $venv ready (tensorboard $("$venv/bin/python" -c 'import tensorboard; print(tensorboard.__version__)'))"
