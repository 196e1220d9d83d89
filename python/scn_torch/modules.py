"""scn's pursuit layers as PyTorch modules for nets written in PyTorch (docs/pytorch.md).

    import scn_torch
    code = scn_torch.SparseCode2d(3, 64, 3, iters=2, step="auto")        # CSCN's layer: 2 FISTA steps
    scn1 = scn_torch.SparseCode2d(3, 64, 3, pursuit="patch")             # SCN's: 50 FISTA steps per patch
    deep = scn_torch.MLPursuit(3, [{"out": 32, "kernel": 3}, {"out": 64, "kernel": 3, "stride": 2}],
                               algorithm="ml_fista", iters=2)

The keyword arguments are the YAML layer's keys (configs/README.md: `type: sparse_code`, `type: ml_pursuit`) with
its defaults: the node is checked and completed by config.with_defaults, which mirrors scn's parser (tested
against it: python/tests/test_compiled_ops.py), and the compiled layer parses the node itself. They run through
scn's compiled ops when those are built (scn_torch.has_compiled_ops()), else in pure PyTorch with the same
numbers; compiled=True insists on the former, compiled=False on the latter.

The modules take (N, C, H, W) inputs of any spatial size. After each optimizer step, call `project()` on them
as scn does (θ ≥ 0 for two-sided thresholds, λ ≥ 0 for lasso weights, η ≥ 0).
"""
from .compiled import compiled_layer
from .config import ConfigError, with_defaults
from .ml_pursuit import MlPursuit
from .sparse_code import PatchSparseCode, SparseCode


def _channels(value, what):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{what}: expected a positive integer, got {value!r}")
    return value


def _in_shape(in_channels, input_size, what):
    _channels(in_channels, f"{what}: in_channels")
    if input_size is None:
        return (in_channels, None, None)
    h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    return (in_channels, _channels(h, f"{what}: input_size"), _channels(w, f"{what}: input_size"))


def _no_regularizer(keys, what):
    if keys.get("regularizer") is not None:
        raise ConfigError(f"{what}: regularizer: scn adds the coherence penalty in its own trainer; in PyTorch add "
                          f"it to the loss instead (scn_torch does not apply it)")


def SparseCode2d(in_channels, out_channels, kernel_size=3, stride=1, pad=None, *, input_size=None, compiled=None,
                 device=None, **keys):
    """A `type: sparse_code` layer: in_channels → out_channels codes of a kernel_size × kernel_size dictionary.

    keys: the layer's other YAML keys — pursuit (convolution | patch), iters, algorithm (ista | fista), mode
    (nonneg | two_sided), step (auto | {init, learn}), threshold ({form, init, learn, shared}), init, backward
    (unrolled | implicit), implicit ({ridge, iters, tolerance}), recompute. pad defaults to kernel_size // 2.
    input_size (H, W): optional; initialises now what otherwise waits for the first input (the convolutional
    pursuit's scaling under step: auto). Returns a sparse_code.SparseCode (pursuit: convolution) or
    PatchSparseCode (pursuit: patch) module."""
    node = {"type": "sparse_code", "out": _channels(out_channels, "SparseCode2d: out_channels"),
            "kernel": kernel_size, "stride": stride}
    if pad is not None:
        node["pad"] = pad
    node.update(keys)
    _no_regularizer(node, "SparseCode2d")
    c = with_defaults(node, "SparseCode2d")
    in_shape = _in_shape(in_channels, input_size, "SparseCode2d")
    fast = compiled_layer(node, compiled)
    if c["pursuit"] == "patch":
        return PatchSparseCode(in_shape, c, device=device, compiled=fast)
    return SparseCode(in_shape, c, device=device, compiled=fast)


def MLPursuit(in_channels, layers, *, input_size=None, compiled=None, device=None, **keys):
    """A `type: ml_pursuit` block: the joint pursuit of several dictionaries (ML-ISTA, ML-FISTA, ML-LISTA, layered
    BP). layers: a list of {out, kernel, stride, pad}; keys: algorithm, iters, tied, back_project, mode, step,
    threshold, init, backward. Returns an ml_pursuit.MlPursuit module."""
    node = {"type": "ml_pursuit", "layers": layers, **keys}
    c = with_defaults(node, "MLPursuit")
    return MlPursuit(_in_shape(in_channels, input_size, "MLPursuit"), c, device=device,
                     compiled=compiled_layer(node, compiled))
