"""scn's compiled layers inside PyTorch (python/ops, docs/pytorch.md).

When the extension `_scn_ops.so` is built (`pip install ./python`, or CMake's build/python/_scn_ops.so of a
source checkout), `sparse_code` and `ml_pursuit` modules run their forward and backward through scn's own
kernels: torch.ops.scn.layer_forward / layer_backward on PyTorch's tensors, without copying activations. Without
it they run the pure-PyTorch code of sparse_code.py and ml_pursuit.py, which computes the same numbers (tested:
python/tests/test_compiled_ops.py).

    scn_torch.has_compiled_ops()      True when the compiled ops are in use
    scn_torch.compiled_ops_status()   one line: which library, or why the pure-PyTorch path is used

SCN_TORCH_COMPILED=0 turns the compiled ops off; SCN_TORCH_OPS_LIBRARY=<path> names the library to load.
"""
import os
from pathlib import Path

import torch

_LIBRARY_NAME = "_scn_ops.so"
_status = None   # (loaded: bool, line: str) once looked for


def _candidates():
    """Where the library may be: $SCN_TORCH_OPS_LIBRARY; next to this package (pip); and, for the package of a
    source checkout (python/scn_torch), that checkout's build ($SCN_BUILD_DIR, default build/)."""
    named = os.environ.get("SCN_TORCH_OPS_LIBRARY")
    if named:
        return [Path(named)]
    here = Path(__file__).resolve().parent
    out = [here / _LIBRARY_NAME]
    repo = here.parent.parent
    if (repo / "CMakeLists.txt").is_file() and (repo / "python" / "ops").is_dir():
        out.append(repo / os.environ.get("SCN_BUILD_DIR", "build") / "python" / _LIBRARY_NAME)
    return out


def _load():
    global _status
    if _status is not None:
        return _status
    if os.environ.get("SCN_TORCH_COMPILED", "1") == "0":
        _status = (False, "pure PyTorch: SCN_TORCH_COMPILED=0")
        return _status
    tried = []
    for path in _candidates():
        if not path.is_file():
            tried.append(str(path))
            continue
        try:
            torch.ops.load_library(str(path))
        except (OSError, RuntimeError) as e:
            _status = (False, f"pure PyTorch: {path} does not load into torch {torch.__version__}: "
                              f"{str(e).splitlines()[0]}")
            return _status
        _status = (True, f"compiled ops: {path} (torch {torch.__version__})")
        return _status
    # An installed package says why its build made no library (python/setup.py).
    built = Path(__file__).resolve().parent / "_build_status.txt"
    why = built.read_text().strip() if built.is_file() else ""
    _status = (False, "pure PyTorch: " + (why or "scn's compiled ops are not built (no " + ", ".join(tried) +
                                          "; pip install ./python builds them)"))
    return _status


def has_compiled_ops():
    """Whether sparse_code and ml_pursuit modules run through scn's compiled ops."""
    return _load()[0]


def compiled_ops_status():
    """One line: the library in use, or why the pure-PyTorch path is used."""
    return _load()[1]


def _yaml_text(node):
    import yaml
    return yaml.safe_dump(node, default_flow_style=True, width=1 << 30).strip()


class _LayerFunction(torch.autograd.Function):
    """One scn layer as an autograd node: forward and backward are scn's (unrolled, or the implicit backward)."""

    @staticmethod
    def forward(ctx, handle, train, x, *tensors):
        out, call = torch.ops.scn.layer_forward(handle, x, list(tensors), train)
        ctx.call = call
        # scn's backward reads the input, the output and the parameters: saved, so that autograd refuses a
        # backward after any of them was changed in place (the call holds them without autograd's history).
        ctx.save_for_backward(x, out, *tensors)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        tensors = ctx.saved_tensors[2:]
        grads = torch.ops.scn.layer_backward(ctx.call, grad_out, list(tensors), ctx.needs_input_grad[2])
        needs = ctx.needs_input_grad
        dx = grads[0] if needs[2] else None
        return (None, None, dx) + tuple(g if need else None for g, need in zip(grads[1:], needs[3:]))


class CompiledLayer:
    """The compiled path of one module: scn's layer built from the module's YAML node, one per input shape,
    dtype and device (scn sizes its layers for their input). `tensors(names)` of the module gives the
    parameters and buffers by scn's names, in the layer's order."""

    def __init__(self, node):
        if not has_compiled_ops():
            raise RuntimeError("scn_torch: " + compiled_ops_status())
        self.yaml = _yaml_text(node)
        self.handles = {}

    def handle(self, x):
        key = (tuple(x.shape[1:]), x.dtype, str(x.device))
        h = self.handles.get(key)
        if h is None:
            device = "cpu" if x.device.type == "cpu" else f"cuda:{x.device.index or 0}"
            h = torch.classes.scn.Layer(self.yaml, list(x.shape[1:]), x.dtype == torch.float64, device)
            self.handles[key] = h
        return h

    def resolved_yaml(self, x):
        """scn's resolution of the node (every default filled in) for inputs like x."""
        return self.handle(x).resolved_yaml()

    def forward(self, module, x, training):
        h = self.handle(x)
        tensors = module.scn_tensors(h.param_names())
        return _LayerFunction.apply(h, bool(training), x, *tensors)


def compiled_layer(node, want=None):
    """The compiled path for a layer node: want None: a CompiledLayer when the compiled ops are built, else None
    (the pure-PyTorch path); True: a CompiledLayer, or a RuntimeError saying why there is none; False: None."""
    if want is False:
        return None
    if not has_compiled_ops():
        if want:
            raise RuntimeError("scn_torch: compiled ops asked for, but " + compiled_ops_status())
        return None
    return CompiledLayer(node)
