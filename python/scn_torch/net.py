"""The net of an scn config's `model:` section as one torch.nn.Module, and loading scn's tensors into it."""
import math

import torch
import torch.nn as nn

from .config import (LAYER_KEYS, MAX_ACTIVATION_ELEMENTS, MAX_CHANNELS, ConfigError, check_int, expand_model, shown,
                     with_defaults)
from .errors import ExportError
from .compiled import compiled_layer
from .layers import Add, BatchNorm, Conv, GlobalAvgPool, Linear, Pool
from .ml_pursuit import MlPursuit
from .safetensors_io import read_safetensors
from .sparse_code import PatchSparseCode, SparseCode, SparseCodeBase, conv_output_size, d_conv2d_input


SPATIAL = ("sparse_code", "ml_pursuit", "conv", "pool", "global_avg_pool")


def _elements(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def output_shape(t, c, in_shape, where):
    """The per-image output shape of a checked layer node c of type t on in_shape, or a ConfigError: computed
    from the config alone, before any module (and any tensor) is made. Bounds as scn's (models/net.cpp): every
    size positive, at most 2³² elements per image."""
    if t in SPATIAL and len(in_shape) != 3:
        raise ConfigError(f"{where}: {t} expects a [C, H, W] input, got {list(in_shape)}")
    if t in ("sparse_code", "conv"):
        out = (c["out"],) + tuple(conv_output_size(in_shape[j], c["kernel"], c["stride"], c["pad"]) for j in (1, 2))
    elif t == "ml_pursuit":
        out = tuple(in_shape)
        for j, d in enumerate(c["layers"]):
            out = (d["out"],) + tuple(conv_output_size(out[i], d["kernel"], d["stride"], d["pad"]) for i in (1, 2))
            if j + 1 < len(c["layers"]):
                _check_shape(out, f"{where}.layers[{j}]")
    elif t == "pool":
        out = (in_shape[0],) + tuple(conv_output_size(in_shape[j], c["kernel"], c["stride"], c["pad"]) for j in (1, 2))
    elif t == "global_avg_pool":
        out = (in_shape[0],)
    elif t == "linear":
        out = (c["out"],)
    else:
        out = tuple(in_shape)
    _check_shape(out, where)
    return out


def _check_shape(shape, where):
    if any(v <= 0 for v in shape):
        raise ConfigError(f"{where}: output shape {list(shape)} is empty")
    if _elements(shape) > MAX_ACTIVATION_ELEMENTS:
        raise ConfigError(f"{where}: output shape {list(shape)} has more than {MAX_ACTIVATION_ELEMENTS} elements per "
                          f"image")


def check_input(model, where):
    """model.input [C, H, W] and model.classes as scn checks them; returns (input shape, classes)."""
    shape = model["input"]
    if not isinstance(shape, list) or len(shape) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_CHANNELS for v in shape):
        raise ConfigError(f"{where}.input: expected [C, H, W] of positive integers up to {MAX_CHANNELS}, "
                          f"got {shown(shape)}")
    if _elements(shape) > MAX_ACTIVATION_ELEMENTS:
        raise ConfigError(f"{where}.input: {_elements(shape)} elements per image, more than the limit of "
                          f"{MAX_ACTIVATION_ELEMENTS}")
    check_int(model, "classes", where, 1, MAX_CHANNELS)
    return tuple(shape), model["classes"]


class Net(nn.Module):
    """A list of nodes; each reads the previous node or the nodes named in `inputs` (`input`: the image).

    model: the `model:` section of an scn config (short forms allowed: `repeat:` blocks, `model.defaults`).
    op: how D z is computed for the convolutional pursuit (sparse_code.DICTIONARY_OPS; default conv2d_input).
    init: initialise the weights as scn does (False: zeros, for a checkpoint to fill).
    device: where the tensors are made; "meta" (with init=False) makes the shapes only, no memory.
    compiled: sparse_code and ml_pursuit nodes through scn's compiled ops (compiled.py): False (the default: this
    package's pure-PyTorch twin of scn, which tools/bench/pytorch_scn.py measures), True (an error when they are
    not built), None (when they are built).
    Every key is checked as scn checks it (config.with_defaults) and every shape is computed before any tensor
    is made, so a config that asks for absurd sizes is a ConfigError, not an allocation.
    `nodes[i]` is the module of node `names[i]`; `node(name)` finds one by its scn name."""

    def __init__(self, model, op=None, where="model", init=True, device=None, compiled=False):
        super().__init__()
        op = op or d_conv2d_input
        if not isinstance(model, dict):
            raise ConfigError(f"{where}: expected a map")
        for key in ("input", "classes", "layers"):
            if key not in model:
                raise ConfigError(f"{where}.{key}: required")
        unknown = set(model) - {"input", "classes", "layers", "defaults"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(map(str, unknown))} (allowed here: input, classes, "
                              f"layers, defaults)")
        self.input_shape, self.classes = check_input(model, where)
        model = expand_model(model, set(LAYER_KEYS), where)  # layer indices below: the expanded list
        self.nodes = nn.ModuleList()
        self.names = []
        self.sources = []          # per node: indices of its inputs (-1 = the net's input)
        names, shapes = {"input": -1}, {-1: self.input_shape}
        self.sparse_layers = []
        for i, raw in enumerate(model["layers"]):
            w = f"{where}.layers[{i}]"
            c = with_defaults(raw, w)
            name = c.get("name", f"l{i}")
            if name in names:
                raise ConfigError(f"{w}.name: '{name}' names an earlier node")
            inputs = c.get("inputs")
            if inputs is None:
                src = [i - 1]
            else:
                missing = [n for n in inputs if n not in names]
                if missing:
                    raise ConfigError(f"{w}.inputs: no earlier node named {shown(missing[0])}")
                src = [names[n] for n in inputs]
            t = c["type"]
            if t != "add" and len(src) != 1:
                raise ConfigError(f"{w}.inputs: {t} takes 1 input, got {len(src)}")
            in_shape = shapes[src[0]]
            if t == "add" and any(shapes[j] != in_shape for j in src):
                raise ConfigError(f"{w}: add: input shapes differ ({', '.join(str(list(shapes[j])) for j in src)})")
            out_shape = output_shape(t, c, in_shape, w)
            fast = compiled_layer(raw, compiled) if t in ("sparse_code", "ml_pursuit") and device != "meta" else None
            if t == "sparse_code":
                m = PatchSparseCode(in_shape, c, init, device, fast) if c["pursuit"] == "patch" else \
                    SparseCode(in_shape, c, op, init, device, fast)
                self.sparse_layers.append(m)
            elif t == "ml_pursuit":
                m = MlPursuit(in_shape, c, op, init, device, fast)
            elif t == "conv":
                m = Conv(in_shape, c, init, device)
            elif t == "relu":
                m = nn.ReLU()
            elif t == "batch_norm":
                m = BatchNorm(in_shape, c, device)
            elif t == "pool":
                m = Pool(c)
            elif t == "global_avg_pool":
                m = GlobalAvgPool()
            elif t == "linear":
                m = Linear(math.prod(in_shape), c, init, device)
            elif t == "dropout":
                m = nn.Dropout(float(c["p"]))
            else:  # add
                m = Add()
            self.nodes.append(m)
            self.names.append(name)
            self.sources.append(src)
            names[name] = i
            shapes[i] = tuple(out_shape)
        if shapes[len(self.nodes) - 1] != (self.classes,):
            raise ConfigError(f"{where}: the last layer outputs {list(shapes[len(self.nodes) - 1])}, "
                              f"expected [{self.classes}]")
        self.shapes = [shapes[i] for i in range(len(self.nodes))]

    def forward(self, x):
        outs = {-1: x}
        last = len(self.nodes) - 1
        # Each output is dropped once no later node reads it.
        readers = {}
        for i, src in enumerate(self.sources):
            for j in src:
                readers[j] = i
        for i, (m, src) in enumerate(zip(self.nodes, self.sources)):
            outs[i] = m(*[outs[j] for j in src])
            for j in src:
                if readers.get(j) == i:
                    del outs[j]
        return outs[last]

    def training_unsupported(self):
        """'<node>: what' for every layer whose training is not emulated (evaluation is)."""
        return [f"{n}: {m.training_unsupported}" for n, m in zip(self.names, self.nodes)
                if getattr(m, "training_unsupported", None) and getattr(m, "compiled", None) is None]

    def node(self, name):
        """The module of the node scn calls `name`."""
        try:
            return self.nodes[self.names.index(name)]
        except ValueError:
            raise KeyError(f"no node named {name!r}") from None

    def scn_tensors(self):
        """(scn name, tensor, module, attribute) for every parameter and state tensor scn keeps."""
        for name, m in zip(self.names, self.nodes):
            if hasattr(m, "named_scn_tensors"):   # batch norm, ml_pursuit: tensors named as scn does
                for attr, t in m.named_scn_tensors():
                    yield f"{name}.{attr}", t, m, attr
                continue
            for attr in list(getattr(m, "kinds", {})) + ["power_vector"]:
                t = getattr(m, attr, None)
                if isinstance(t, torch.Tensor):
                    yield f"{name}.{attr}", t, m, attr

    def scn_state_dict(self):
        """{<node>.<param>: tensor}: the names and layouts of scn's checkpoints (with the power-iteration vectors
        in use) and exports."""
        return {name: t.detach() for name, t, m, attr in self.scn_tensors()
                if attr != "power_vector" or m.power_ready}   # a vector not yet started is no state

    def check_scn_tensors(self, tensors, source="tensors"):
        """Checks that scn's tensors ({<node>.<param>: tensor, or anything with .shape and .dtype}) fit the net:
        every parameter there, in float32 and of exactly the net's shape; `power_vector` may be missing (scn
        export leaves it out); nothing the net has no place for, except the optimizer's (`optimizer/...`).
        Returns [(name, tensor or None, the net's tensor, module, attribute)]; an ExportError names the source
        and the tensor."""
        missing, plan = [], []
        for name, t, m, attr in self.scn_tensors():
            if name not in tensors:
                if attr != "power_vector":
                    missing.append(name)
                else:
                    plan.append((name, None, t, m, attr))
                continue
            src = tensors[name]
            # A power vector not loaded yet is held empty (sparse_code.py): its shape is m.power_shape.
            shape = m.power_shape if attr == "power_vector" else tuple(t.shape)
            if tuple(src.shape) != tuple(shape):
                raise ExportError(f"{source}: tensor {name} has shape {list(src.shape)}, the net's is {list(shape)}")
            if src.dtype != torch.float32:
                raise ExportError(f"{source}: tensor {name} is {src.dtype}, expected F32 (float32)")
            plan.append((name, src, t, m, attr))
        if missing:
            raise ExportError(f"{source}: no tensor {missing[0]}" +
                              (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "") +
                              ": the file does not hold this net")
        used = {name for name, src, *_ in plan if src is not None}
        extra = sorted(n for n in tensors if n not in used and not n.startswith("optimizer/"))
        if extra:
            raise ExportError(f"{source}: tensor {shown(extra[0])} has no place in the net" +
                              (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))
        return plan

    def load_scn_tensors(self, tensors, source="tensors"):
        """Copies scn's tensors ({<node>.<param>: tensor}, a checkpoint's or an export's) into the net, after
        check_scn_tensors: a file that does not fit leaves the net as it was. A missing `power_vector` makes
        that layer's power iteration start cold (sparse_code.py)."""
        plan = self.check_scn_tensors(tensors, source)
        with torch.no_grad():
            for name, src, t, m, attr in plan:
                if attr == "power_vector":
                    m.power_ready = src is not None
                    if src is not None and tuple(t.shape) != tuple(src.shape):
                        setattr(m, attr, src.to(device=t.device, dtype=t.dtype).clone())
                        continue
                if src is not None:
                    t.copy_(src)

    def counts(self):
        """Elements per scn group: weights (dictionaries, weights, biases), thresholds, steps, norm, statistics."""
        c = {"weights": 0, "thresholds": 0, "steps": 0, "norm": 0, "statistics": 0}
        for m in self.nodes:
            if hasattr(m, "counts"):
                for k, v in m.counts().items():
                    c[k] += v
                continue
            for name, kind in getattr(m, "kinds", {}).items():
                t = getattr(m, name, None)
                if isinstance(t, torch.Tensor):
                    c[kind] += t.numel()
        return c

    def param_groups(self, weight_decay):
        decay, no_decay = [], []
        for m in self.nodes:
            if hasattr(m, "decay_groups"):
                d, n = m.decay_groups()
                decay += d
                no_decay += n
                continue
            params = dict(m.bn.named_parameters()) if isinstance(m, BatchNorm) else {
                n: getattr(m, n, None) for n in getattr(m, "kinds", {})}
            for name, p in params.items():
                if isinstance(p, nn.Parameter) and p.requires_grad:
                    (no_decay if name in getattr(m, "no_decay", set()) else decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    def project(self):
        """scn's projections after an optimizer step (λ ≥ 0, two-sided θ ≥ 0, η ≥ 0)."""
        for m in self.nodes:
            if hasattr(m, "project"):
                m.project()

    def set_batch_statistics(self, on):
        """Evaluation with each batch's own batch-norm statistics (scn eval --bn batch) or the running ones."""
        for m in self.nodes:
            if isinstance(m, BatchNorm):
                m.batch_statistics = on


def load_scn_checkpoint(net, path):
    """Copies a checkpoint's (or an export's) weights and state into the net; returns (tensors, metadata,
    order)."""
    tensors, metadata, order = read_safetensors(path)
    net.load_scn_tensors(tensors, path)
    return tensors, metadata, order


__all__ = ["Net", "load_scn_checkpoint", "SparseCodeBase"]
