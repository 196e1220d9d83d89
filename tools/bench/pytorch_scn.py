#!/usr/bin/python3
"""PyTorch twin of an scn network, for training-throughput comparisons.

Builds in PyTorch the network of an scn config file (its `model:` section; configs/README.md) and times
training steps on random data of the config's input shape: softmax cross entropy, SGD with momentum 0.9 and
weight decay 5e-4 (none on thresholds, steps and batch-norm parameters, as scn). Prints one line

    pytorch <config> batch B: T ms/step, X images/s (threads N)

and optionally writes the numbers as JSON (--json FILE). --params prints the parameter counts the way
`scn info` groups them (dictionaries, weights and biases; thresholds; steps; batch-norm affine; statistics).

The sparse-coding layer follows DESIGN §1: b = Dᵀx = conv2d(x, W, s, p), γ₀ = S_θ(η·b), then K ISTA/FISTA
steps γₜ = S_θ(zₜ + η(b − Dᵀ(D zₜ))), D z = conv_transpose2d(z, W, s, p) sized to x, differentiated by
autograd through the unrolled iterations. `step: auto` sets η = 1/‖D‖² from a power iteration on DᵀD
(50 iterations at construction, then one warm-started iteration before every training forward, not
differentiated), exactly as scn does.

D is written as torch.nn.grad.conv2d_input (the data gradient of conv2d) by default: on the CPU build of
Debian's torch 1.13 (2 cores), F.conv_transpose2d was 3-58x slower forward and 9-41x slower forward+backward
on CSCN-1's layer shapes at batch 128, and a whole CSCN-1 training step 13x slower (7.4 s against 0.57 s).
--compare-ops measures both on the config's sparse-coding layer shapes; --dictionary-op picks one for the
whole net (on a GPU both are cuDNN's backward-data convolution, so they should be close).

Examples (Debian's Python: /usr/bin/python3):
    tools/bench/pytorch_scn.py configs/cifar10/cscn1.yaml --params
    tools/bench/pytorch_scn.py configs/cifar10/cscn1.yaml --batch 128 --warmup 2 --steps 5
    tools/bench/pytorch_scn.py configs/cifar10/cscn1.yaml --compare-ops
    tools/bench/pytorch_scn.py configs/cifar10/cscn4.yaml --device cuda --tf32 off --steps 50 --json out.json
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from torch.nn.grad import conv2d_input

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scn_config  # noqa: E402  (repeat blocks and model.defaults, expanded as scn does)

PROG = "pytorch_scn"


class ConfigError(Exception):
    """A problem with the config file: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------------------------------------
# The dictionary operator D z (the adjoint of Dᵀx = conv2d(x, W, s, p)), sized to the layer's input.

def d_conv2d_input(z, w, stride, pad, in_shape):
    # in_shape: (Ci, H, W) of the layer's input; z: (N, Co, Ho, Wo) -> (N, Ci, H, W)
    return conv2d_input((z.shape[0],) + tuple(in_shape), w, z, stride, pad)


def d_conv_transpose2d(z, w, stride, pad, in_shape):
    # output_padding makes the output exactly the input size when the stride leaves a remainder.
    extra = [in_shape[i + 1] - ((z.shape[2 + i] - 1) * stride - 2 * pad + w.shape[2 + i]) for i in range(2)]
    return F.conv_transpose2d(z, w, None, stride, pad, output_padding=tuple(extra))


DICTIONARY_OPS = {"conv2d_input": d_conv2d_input, "conv_transpose2d": d_conv_transpose2d}


def conv_output_size(n, kernel, stride, pad):
    return (n + 2 * pad - kernel) // stride + 1


# ---------------------------------------------------------------------------------------------------------
# Layers. Each module carries `kinds`: parameter/buffer name -> the group scn counts it in.

def init_weight(w, init, default_type):
    """scn's initialisations (layers/weight_init.cpp): normal (std auto = 1/sqrt(fan_in)), kaiming, uniform."""
    init = init or {}
    kind = init.get("type", default_type)
    fan_in = max(w[0].numel(), 1)
    with torch.no_grad():
        if kind == "uniform":
            bound = 1.0 / math.sqrt(fan_in)
            w.uniform_(-bound, bound)
        elif kind == "kaiming":
            w.normal_(0.0, math.sqrt(2.0 / fan_in))
        else:
            std = init.get("std", "auto")
            w.normal_(0.0, 1.0 / math.sqrt(fan_in) if std == "auto" else float(std))


class SparseCode(nn.Module):
    def __init__(self, in_shape, c, op):
        super().__init__()
        self.in_shape = tuple(in_shape)          # (Ci, H, W)
        self.stride, self.pad, self.iters = c["stride"], c["pad"], c["iters"]
        self.fista = c["algorithm"] == "fista"
        self.two_sided = c["mode"] == "two_sided"
        self.recompute = bool(c["recompute"])
        self.op = op
        k, co = c["kernel"], c["out"]
        self.out_shape = (co, conv_output_size(in_shape[1], k, self.stride, self.pad),
                          conv_output_size(in_shape[2], k, self.stride, self.pad))
        self.weight = nn.Parameter(torch.empty(co, in_shape[0], k, k))
        init_weight(self.weight, c["init"], "normal")
        th = c["threshold"]
        self.threshold = nn.Parameter(torch.full((1 if th["shared"] else co,), float(th["init"])),
                                      requires_grad=bool(th["learn"]))
        self.step_auto = c["step"] == "auto"
        if self.step_auto:
            # η = 1/‖D‖²: a buffer, never differentiated; the power-iteration vector is kept warm.
            self.register_buffer("step", torch.ones(1))
            self.register_buffer("power_vector", torch.randn((1,) + self.out_shape))
            self.power_iteration(50)
        else:
            self.step = nn.Parameter(torch.tensor([float(c["step"]["init"])]),
                                     requires_grad=bool(c["step"]["learn"]))
        # FISTA: τ₁ = 1, τₜ₊₁ = (1 + √(1 + 4τₜ²))/2, βₜ = (τₜ − 1)/τₜ₊₁ (β₁ = 0).
        self.betas, tau = [0.0] * (self.iters + 1), 1.0
        for t in range(1, self.iters + 1):
            nxt = (1.0 + math.sqrt(1.0 + 4.0 * tau * tau)) / 2.0
            self.betas[t], tau = (tau - 1.0) / nxt, nxt
        self.kinds = {"weight": "weights", "threshold": "thresholds", "step": "steps"}

    def dt(self, x):   # Dᵀx  (N, Ci, H, W) -> (N, Co, Ho, Wo)
        return F.conv2d(x, self.weight, None, self.stride, self.pad)

    def d(self, z):    # D z  (N, Co, Ho, Wo) -> (N, Ci, H, W)
        return self.op(z, self.weight, self.stride, self.pad, self.in_shape)

    @torch.no_grad()
    def power_iteration(self, n):
        """n steps of v ← DᵀD v/‖DᵀD v‖ from the stored vector; η ← 1/‖DᵀD v‖ (≈ 1/‖D‖²)."""
        v = self.power_vector / self.power_vector.norm()
        for _ in range(n):
            out = self.dt(self.d(v))
            lipschitz = out.norm()
            v = out / lipschitz
        self.power_vector.copy_(v)
        self.step.copy_(1.0 / lipschitz)

    def shrink(self, z, theta):
        if self.two_sided:
            return torch.sign(z) * F.relu(z.abs() - theta)
        return F.relu(z - theta)

    def forward(self, x):
        if self.step_auto and self.training:
            self.power_iteration(1)
        eta, theta = self.step, self.threshold.view(1, -1, 1, 1)
        b = self.dt(x)
        gamma = self.shrink(eta * b, theta)             # γ₀
        z = gamma                                        # z₁ = γ₀
        for t in range(1, self.iters + 1):
            new = self.shrink(z + eta * (b - self.dt(self.d(z))), theta)   # γₜ
            beta = self.betas[t] if self.fista and t < self.iters else 0.0
            z = new + beta * (new - gamma) if beta != 0.0 else new           # zₜ₊₁
            gamma = new
        return gamma

    @torch.no_grad()
    def project(self):
        """scn's projections after each optimizer step: θ ≥ 0 (two_sided), η ≥ 0 (learned step)."""
        if self.two_sided:
            self.threshold.clamp_(min=0.0)
        if not self.step_auto:
            self.step.clamp_(min=0.0)


class Conv(nn.Conv2d):
    def __init__(self, in_shape, c):
        super().__init__(in_shape[0], c["out"], c["kernel"], c["stride"], c["pad"], bias=c["bias"])
        init_weight(self.weight, c["init"], "kaiming")
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self.kinds = {"weight": "weights", "bias": "weights"}


class Linear(nn.Linear):
    def __init__(self, features, c):
        super().__init__(features, c["out"], bias=c["bias"])   # PyTorch's default init is scn's `uniform`
        if c["init"] and c["init"].get("type", "uniform") != "uniform":
            init_weight(self.weight, c["init"], "uniform")
        self.kinds = {"weight": "weights", "bias": "weights"}

    def forward(self, x):
        return super().forward(x.flatten(1))


def batch_norm(in_shape, c):
    cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    m = cls(in_shape[0], eps=c["eps"], momentum=c["momentum"], affine=c["affine"])
    m.kinds = {"weight": "norm", "bias": "norm", "running_mean": "statistics", "running_var": "statistics"}
    return m


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Add(nn.Module):
    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


# ---------------------------------------------------------------------------------------------------------
# Config: the `model:` section with configs/README.md's defaults.

COMMON_KEYS = {"type", "name", "inputs"}
LAYER_KEYS = {
    "sparse_code": {"out", "kernel", "stride", "pad", "iters", "algorithm", "mode", "step", "threshold", "init",
                    "recompute"},
    "conv": {"out", "kernel", "stride", "pad", "bias", "init"},
    "relu": set(),
    "batch_norm": {"affine", "momentum", "eps"},
    "pool": {"mode", "kernel", "stride", "pad"},
    "global_avg_pool": set(),
    "linear": {"out", "bias", "init"},
    "dropout": {"p"},
    "add": set(),
}


def with_defaults(layer, where):
    """A copy of one layer node with every default of configs/README.md filled in."""
    if not isinstance(layer, dict) or "type" not in layer:
        raise ConfigError(f"{where}: expected a mapping with a 'type'")
    t = layer["type"]
    if t not in LAYER_KEYS:
        raise ConfigError(f"{where}.type: unknown layer type '{t}'")
    unknown = set(layer) - COMMON_KEYS - LAYER_KEYS[t]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} for type {t}")
    c = dict(layer)
    if t in ("sparse_code", "conv", "linear") and "out" not in c:
        raise ConfigError(f"{where}.out: required")
    if t in ("sparse_code", "conv"):
        c.setdefault("kernel", 3)
        c.setdefault("stride", 1)
        c.setdefault("pad", c["kernel"] // 2)
        c.setdefault("init", None)
    if t == "sparse_code":
        c.setdefault("iters", 0)
        c.setdefault("algorithm", "fista")
        c.setdefault("mode", "nonneg")
        c.setdefault("recompute", False)
        if c["algorithm"] not in ("ista", "fista"):
            raise ConfigError(f"{where}.algorithm: expected ista or fista")
        if c["mode"] not in ("nonneg", "two_sided"):
            raise ConfigError(f"{where}.mode: expected nonneg or two_sided")
        step = c.get("step", {})
        if step != "auto":
            if not isinstance(step, dict):
                raise ConfigError(f"{where}.step: expected auto or {{init, learn}}")
            step = {"init": 1.0, "learn": True, **step}
        c["step"] = step
        c["threshold"] = {"init": 0.0, "learn": True, "shared": False, **(c.get("threshold") or {})}
    if t == "conv":
        c.setdefault("bias", True)
    if t == "linear":
        c.setdefault("bias", True)
        c.setdefault("init", None)
    if t == "batch_norm":
        c.setdefault("affine", True)
        c.setdefault("momentum", 0.1)
        c.setdefault("eps", 1e-5)
    if t == "pool":
        c.setdefault("mode", "max")
        c.setdefault("kernel", 2)
        c.setdefault("stride", c["kernel"])
        c.setdefault("pad", 0)
        if c["mode"] not in ("max", "avg"):
            raise ConfigError(f"{where}.mode: expected max or avg")
    if t == "dropout":
        c.setdefault("p", 0.5)
    if t == "add" and len(c.get("inputs") or []) < 2:
        raise ConfigError(f"{where}.inputs: add needs two or more inputs")
    return c


class Net(nn.Module):
    """A list of nodes; each reads the previous node or the nodes named in `inputs` (`input`: the image)."""

    def __init__(self, model, op, where="model"):
        super().__init__()
        for key in ("input", "classes", "layers"):
            if key not in model:
                raise ConfigError(f"{where}.{key}: required")
        try:
            model = scn_config.expand_model(model, set(LAYER_KEYS), where)  # layer indices below: expanded list
        except scn_config.ConfigError as e:
            raise ConfigError(str(e))
        self.input_shape = tuple(int(v) for v in model["input"])
        self.classes = int(model["classes"])
        self.nodes = nn.ModuleList()
        self.sources = []          # per node: indices of its inputs (-1 = the net's input)
        names, shapes = {"input": -1}, {-1: self.input_shape}
        self.sparse_layers = []
        for i, raw in enumerate(model["layers"]):
            w = f"{where}.layers[{i}]"
            c = with_defaults(raw, w)
            name = c.get("name", f"l{i}")
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
            if t in ("sparse_code", "conv", "pool", "global_avg_pool") and len(in_shape) != 3:
                raise ConfigError(f"{w}: {t} expects a [C, H, W] input, got {list(in_shape)}")
            if t == "sparse_code":
                m = SparseCode(in_shape, c, op)
                out_shape = m.out_shape
                self.sparse_layers.append(m)
            elif t == "conv":
                m = Conv(in_shape, c)
                out_shape = (c["out"],) + tuple(
                    conv_output_size(in_shape[j], c["kernel"], c["stride"], c["pad"]) for j in (1, 2))
            elif t == "relu":
                m, out_shape = nn.ReLU(), in_shape
            elif t == "batch_norm":
                m, out_shape = batch_norm(in_shape, c), in_shape
            elif t == "pool":
                k, s, p = c["kernel"], c["stride"], c["pad"]
                m = nn.MaxPool2d(k, s, p) if c["mode"] == "max" else nn.AvgPool2d(k, s, p, count_include_pad=True)
                out_shape = (in_shape[0],) + tuple(conv_output_size(in_shape[j], k, s, p) for j in (1, 2))
            elif t == "global_avg_pool":
                m, out_shape = GlobalAvgPool(), (in_shape[0],)
            elif t == "linear":
                m, out_shape = Linear(math.prod(in_shape), c), (c["out"],)
            elif t == "dropout":
                m, out_shape = nn.Dropout(c["p"]), in_shape
            else:  # add
                if any(shapes[j] != in_shape for j in src):
                    raise ConfigError(f"{w}: add: input shapes differ")
                m, out_shape = Add(), in_shape
            if any(v <= 0 for v in out_shape):
                raise ConfigError(f"{w}: output shape {list(out_shape)} is empty")
            self.nodes.append(m)
            self.sources.append(src)
            names[name] = i
            shapes[i] = tuple(out_shape)
        if shapes[len(self.nodes) - 1] != (self.classes,):
            raise ConfigError(f"{where}: the last layer outputs {list(shapes[len(self.nodes) - 1])}, "
                              f"expected [{self.classes}]")

    def forward(self, x):
        outs = {-1: x}
        for i, (m, src) in enumerate(zip(self.nodes, self.sources)):
            outs[i] = m(*[outs[j] for j in src])
        return outs[len(self.nodes) - 1]

    def counts(self):
        """Elements per scn group: weights (dictionaries, weights, biases), thresholds, steps, norm, statistics."""
        c = {"weights": 0, "thresholds": 0, "steps": 0, "norm": 0, "statistics": 0}
        for m in self.nodes:
            for name, kind in getattr(m, "kinds", {}).items():
                t = getattr(m, name, None)
                if isinstance(t, torch.Tensor):
                    c[kind] += t.numel()
        return c

    def param_groups(self, weight_decay):
        decay, no_decay = [], []
        for m in self.nodes:
            for name, kind in getattr(m, "kinds", {}).items():
                p = getattr(m, name, None)
                if isinstance(p, nn.Parameter) and p.requires_grad:
                    (decay if kind == "weights" else no_decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    def project(self):
        for m in self.sparse_layers:
            m.project()


def load_config(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}")
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), dict):
        raise ConfigError("no `model:` section")
    return cfg


# ---------------------------------------------------------------------------------------------------------

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def thousands(n):
    return f"{n:,}"


def compare_ops(net, batch, device, repeats):
    """Times D z with both formulations, forward and forward+backward, on each distinct sparse-coding shape."""
    seen = set()
    print(f"D z = conv_transpose2d vs conv2d_input, batch {batch}, best of {repeats} (ms):")
    print(f"{'layer (Ci->Co, HxW, stride)':32s} {'fwd ct2d':>9s} {'fwd c2di':>9s} {'f+b ct2d':>9s} {'f+b c2di':>9s}")
    rows = []
    for m in net.sparse_layers:
        key = (m.in_shape, m.out_shape, m.stride, m.pad, m.weight.shape[2])
        if key in seen:
            continue
        seen.add(key)
        w = m.weight.detach().clone().requires_grad_()
        z = torch.randn((batch,) + m.out_shape, device=device, requires_grad=True)
        g = torch.randn((batch,) + m.in_shape, device=device)
        ref = d_conv_transpose2d(z, w, m.stride, m.pad, m.in_shape)
        alt = d_conv2d_input(z, w, m.stride, m.pad, m.in_shape)
        if ref.shape != alt.shape or not torch.allclose(ref, alt, rtol=1e-3, atol=1e-3):
            raise RuntimeError("conv_transpose2d and conv2d_input disagree")
        times = []
        for backward in (False, True):
            for op in (d_conv_transpose2d, d_conv2d_input):
                def run():
                    y = op(z, w, m.stride, m.pad, m.in_shape)
                    if backward:
                        y.backward(g)
                run()
                sync(device)
                best = float("inf")
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    run()
                    sync(device)
                    best = min(best, time.perf_counter() - t0)
                times.append(best * 1e3)
        label = f"{m.in_shape[0]}->{m.out_shape[0]}, {m.in_shape[1]}x{m.in_shape[2]}, s{m.stride}"
        print(f"{label:32s} " + " ".join(f"{t:9.2f}" for t in times))
        rows.append({"layer": label, "forward_ms": {"conv_transpose2d": times[0], "conv2d_input": times[1]},
                     "forward_backward_ms": {"conv_transpose2d": times[2], "conv2d_input": times[3]}})
    return rows


def main(argv):
    ap = argparse.ArgumentParser(
        prog="tools/bench/pytorch_scn.py",
        description="Build an scn config's network in PyTorch and measure its training throughput "
                    "(random data, SGD momentum 0.9, weight decay 5e-4, softmax cross entropy).")
    ap.add_argument("config", help="scn config file (YAML); its model: and train.batch are used")
    ap.add_argument("--batch", type=int, help="batch size (default: the config's train.batch, else 128)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps (default 10)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    ap.add_argument("--tf32", choices=("on", "off"), default="off",
                    help="CUDA: TF32 in matmuls and cuDNN convolutions (default off: plain f32 as scn)")
    ap.add_argument("--dictionary-op", choices=sorted(DICTIONARY_OPS), default="conv2d_input",
                    help="how D z is computed (default conv2d_input, the faster on the CPU)")
    ap.add_argument("--compile", action="store_true",
                    help="wrap the net in torch.compile (PyTorch 2.x only; not in Debian's 1.13)")
    ap.add_argument("--params", action="store_true", help="print the parameter counts and exit")
    ap.add_argument("--compare-ops", action="store_true",
                    help="time D z as conv_transpose2d and as conv2d_input on the config's layer shapes, exit")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--seed", type=int, default=0, help="seed of the weights and the random data")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or (args.batch is not None and args.batch < 1) or args.threads < 1:
        ap.error("--steps, --batch and --threads must be positive, --warmup non-negative")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit(f"{PROG}: --device {args.device}: this torch has no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = args.tf32 == "on"
        torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
        torch.backends.cudnn.benchmark = True   # best algorithm per shape, as scn's cuDNN *FindEx
    elif device.type != "cpu":
        raise SystemExit(f"{PROG}: --device {args.device}: expected cpu, cuda or cuda:N")

    try:
        cfg = load_config(args.config)
        net = Net(cfg["model"], DICTIONARY_OPS[args.dictionary_op])
    except ConfigError as e:
        print(f"{PROG}: {args.config}: {e}", file=sys.stderr)
        return 2
    counts = net.counts()
    if args.params:
        print(f"pytorch {args.config}: parameters (dictionaries, weights and biases): {thousands(counts['weights'])}")
        print(f"also: thresholds {thousands(counts['thresholds'])}, steps {thousands(counts['steps'])}, "
              f"batch-norm affine {thousands(counts['norm'])}, "
              f"batch-norm statistics {thousands(counts['statistics'])}")
        return 0
    if any(m.recompute for m in net.sparse_layers):
        print(f"{PROG}: warning: recompute: true is not emulated (autograd keeps every iterate)", file=sys.stderr)
    train = cfg.get("train") or {}
    batch = args.batch or int(train.get("batch", 128))
    net.to(device)

    if args.compare_ops:
        rows = compare_ops(net, batch, device, repeats=max(args.steps, 1))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"config": args.config, "batch": batch, "device": str(device),
                           "threads": args.threads, "compare_ops": rows}, f, indent=2)
        return 0

    lr = float((cfg.get("optimizer") or {}).get("lr", 0.1))
    opt = torch.optim.SGD(net.param_groups(5e-4), lr=lr, momentum=0.9)
    model = net
    if args.compile:
        if not hasattr(torch, "compile"):
            raise SystemExit(f"{PROG}: --compile needs PyTorch 2.x (this is {torch.__version__})")
        model = torch.compile(net)
    net.train()
    x = torch.randn((batch,) + net.input_shape, device=device)
    y = torch.randint(0, net.classes, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        net.project()
        return loss

    for _ in range(args.warmup):
        step()
    sync(device)
    per_step = []
    start = time.perf_counter()
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        if device.type == "cpu":
            per_step.append((time.perf_counter() - t0) * 1e3)
    sync(device)   # only around the timed loop: per-step syncs would stop the GPU queue from running ahead
    seconds = time.perf_counter() - start
    final_loss = float(loss.detach())
    if not math.isfinite(final_loss):
        print(f"{PROG}: warning: the loss is {final_loss} after the timed steps", file=sys.stderr)
    ms = seconds * 1e3 / args.steps
    ips = batch * args.steps / seconds
    where = f"threads {args.threads}"
    device_name = "cpu"
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
        where = f"{device_name}, tf32 {args.tf32}, threads {args.threads}"
    print(f"pytorch {args.config} batch {batch}: {ms:.1f} ms/step, {ips:.1f} images/s ({where})")
    if args.json:
        result = {
            "tool": "pytorch", "config": args.config, "batch": batch, "warmup": args.warmup, "steps": args.steps,
            "device": str(device), "device_name": device_name, "threads": args.threads, "tf32": args.tf32,
            "dictionary_op": args.dictionary_op, "compile": args.compile, "torch": torch.__version__,
            "ms_per_step": ms, "images_per_s": ips, "final_loss": final_loss, "params": counts,
        }
        if per_step:
            result["step_ms"] = per_step
            result["median_step_ms"] = statistics.median(per_step)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
