"""The net of an scn config's `model:` section as one torch.nn.Module, and loading scn's tensors into it."""
import math

import torch
import torch.nn as nn

from .config import LAYER_KEYS, ConfigError, expand_model, with_defaults
from .layers import Add, BatchNorm, Conv, GlobalAvgPool, Linear, Pool
from .ml_pursuit import MlPursuit
from .safetensors_io import read_safetensors
from .sparse_code import PatchSparseCode, SparseCode, SparseCodeBase, conv_output_size, d_conv2d_input


class Net(nn.Module):
    """A list of nodes; each reads the previous node or the nodes named in `inputs` (`input`: the image).

    model: the `model:` section of an scn config (short forms allowed: `repeat:` blocks, `model.defaults`).
    op: how D z is computed for the convolutional pursuit (sparse_code.DICTIONARY_OPS; default conv2d_input).
    init: initialise the weights as scn does (False: zeros, for a checkpoint to fill).
    `nodes[i]` is the module of node `names[i]`; `node(name)` finds one by its scn name."""

    def __init__(self, model, op=None, where="model", init=True):
        super().__init__()
        op = op or d_conv2d_input
        if not isinstance(model, dict):
            raise ConfigError(f"{where}: expected a map")
        for key in ("input", "classes", "layers"):
            if key not in model:
                raise ConfigError(f"{where}.{key}: required")
        model = expand_model(model, set(LAYER_KEYS), where)  # layer indices below: the expanded list
        self.input_shape = tuple(int(v) for v in model["input"])
        self.classes = int(model["classes"])
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
                inputs = [inputs] if isinstance(inputs, str) else list(inputs)
                missing = [n for n in inputs if n not in names]
                if missing:
                    raise ConfigError(f"{w}.inputs: no earlier node named {missing[0]}")
                src = [names[n] for n in inputs]
            in_shape = shapes[src[0]]
            t = c["type"]
            if t in ("sparse_code", "ml_pursuit", "conv", "pool", "global_avg_pool") and len(in_shape) != 3:
                raise ConfigError(f"{w}: {t} expects a [C, H, W] input, got {list(in_shape)}")
            try:
                if t == "sparse_code":
                    m = PatchSparseCode(in_shape, c, init) if c["pursuit"] == "patch" else \
                        SparseCode(in_shape, c, op, init)
                    out_shape = m.out_shape
                    self.sparse_layers.append(m)
                elif t == "ml_pursuit":
                    m = MlPursuit(in_shape, c, op, init)
                    out_shape = m.out_shape
                elif t == "conv":
                    m = Conv(in_shape, c, init)
                    out_shape = (c["out"],) + tuple(
                        conv_output_size(in_shape[j], c["kernel"], c["stride"], c["pad"]) for j in (1, 2))
                elif t == "relu":
                    m, out_shape = nn.ReLU(), in_shape
                elif t == "batch_norm":
                    m, out_shape = BatchNorm(in_shape, c), in_shape
                elif t == "pool":
                    k, s, p = c["kernel"], c["stride"], c["pad"]
                    m = Pool(c)
                    out_shape = (in_shape[0],) + tuple(conv_output_size(in_shape[j], k, s, p) for j in (1, 2))
                elif t == "global_avg_pool":
                    m, out_shape = GlobalAvgPool(), (in_shape[0],)
                elif t == "linear":
                    m, out_shape = Linear(math.prod(in_shape), c, init), (c["out"],)
                elif t == "dropout":
                    m, out_shape = nn.Dropout(float(c["p"])), in_shape
                else:  # add
                    if any(shapes[j] != in_shape for j in src):
                        raise ConfigError(f"{w}: add: input shapes differ")
                    m, out_shape = Add(), in_shape
            except ConfigError as e:
                raise ConfigError(f"{w}: {e}") from None
            if any(v <= 0 for v in out_shape):
                raise ConfigError(f"{w}: output shape {list(out_shape)} is empty")
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
                if getattr(m, "training_unsupported", None)]

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

    def load_scn_tensors(self, tensors, source="tensors"):
        """Copies scn's tensors ({<node>.<param>: tensor}, a checkpoint's or an export's) into the net. Every
        parameter must be there; `power_vector` may be missing (scn export leaves it out): that layer's power
        iteration then starts cold (sparse_code.py). Tensors the net has no place for are an error, except
        the optimizer's (`optimizer/...`)."""
        missing, used = [], set()
        with torch.no_grad():
            for name, t, m, attr in self.scn_tensors():
                if name not in tensors:
                    if attr == "power_vector":
                        m.power_ready = False
                    else:
                        missing.append(name)
                    continue
                src = tensors[name]
                if src.numel() != t.numel():
                    raise ValueError(f"{source}: {name} has shape {list(src.shape)}, the net's is {list(t.shape)}")
                t.copy_(src.reshape(t.shape))
                used.add(name)
                if attr == "power_vector":
                    m.power_ready = True
        if missing:
            raise ValueError(f"{source}: no tensor {missing[0]}" +
                             (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "") +
                             ": the file does not hold this net")
        extra = sorted(n for n in tensors if n not in used and not n.startswith("optimizer/"))
        if extra:
            raise ValueError(f"{source}: tensor {extra[0]} has no place in the net" +
                             (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))

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
