"""scn's layers other than sparse_code (configs/README.md, "Other layers"), as PyTorch modules.

Each module carries `kinds` (parameter name -> the group `scn info` counts it in) and `no_decay` (the
parameters scn gives no weight decay), which tools/bench/pytorch_scn.py uses for its training steps.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .sparse_code import init_weight


class Conv(nn.Conv2d):
    """type: conv — weight [out, in, k, k], bias [out]."""

    def __init__(self, in_shape, c, init=True, device=None):
        super().__init__(in_shape[0], c["out"], c["kernel"], c["stride"], c["pad"], bias=c["bias"], device=device)
        self.regularized = bool(c.get("regularizer"))
        if init:
            init_weight(self.weight, c["init"], "kaiming")
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self.kinds = {"weight": "weights", "bias": "weights"}
        self.no_decay = {"bias"}   # scn: convolution biases get no weight decay


class Linear(nn.Linear):
    """type: linear — y = flatten(x)·Wᵀ + b, weight [out, in] as PyTorch's."""

    def __init__(self, features, c, init=True, device=None):
        super().__init__(features, c["out"], bias=c["bias"], device=device)   # PyTorch's default init is scn's `uniform`
        if init and c["init"] and c["init"].get("type", "uniform") != "uniform":
            init_weight(self.weight, c["init"], "uniform")
        self.kinds = {"weight": "weights", "bias": "weights"}
        self.no_decay = set()      # scn decays the linear bias (PyTorch's SGD decays all it is given)

    def forward(self, x):
        return super().forward(x.flatten(1))


class BatchNorm(nn.Module):
    """type: batch_norm — over the channels of [C, H, W] or the features of [C]. Evaluation uses the running
    statistics (scn eval --bn running, the default); `batch_statistics = True` in eval mode normalises with
    each batch's own statistics without touching the running ones (scn eval --bn batch)."""

    def __init__(self, in_shape, c, device=None):
        super().__init__()
        cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
        self.bn = cls(in_shape[0], eps=float(c["eps"]), momentum=float(c["momentum"]), affine=bool(c["affine"]),
                      device=device)
        self.batch_statistics = False
        self.kinds = {}
        self.no_decay = {"weight", "bias"}

    def forward(self, x):
        # PyTorch's CPU batch norm computes the statistics of a channels_last float32 tensor (what the patch
        # pursuit outputs) imprecisely: on SCN-1 the logits with batch statistics were 1.9e-4 off scn's, and
        # 2.7e-6 with the NCHW copy.
        if x.dim() == 4 and (self.training or self.batch_statistics):
            x = x.contiguous()
        if not self.training and self.batch_statistics:
            return F.batch_norm(x, None, None, self.bn.weight, self.bn.bias, True, 0.0, self.bn.eps)
        return self.bn(x)

    # parameter names as scn writes them (<node>.weight, .bias, .running_mean, .running_var)
    def named_scn_tensors(self):
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(self.bn, name, None)
            if isinstance(t, torch.Tensor):
                yield name, t

    def counts(self):
        c = {"norm": 0, "statistics": 0}
        for name, t in self.named_scn_tensors():
            c["norm" if name in ("weight", "bias") else "statistics"] += t.numel()
        return c


def Pool(c):
    """type: pool — max, or avg counting the padding as zeros (PyTorch's count_include_pad=True)."""
    k, s, p = c["kernel"], c["stride"], c["pad"]
    return nn.MaxPool2d(k, s, p) if c["mode"] == "max" else nn.AvgPool2d(k, s, p, count_include_pad=True)


class GlobalAvgPool(nn.Module):
    """type: global_avg_pool — [C, H, W] -> [C]."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Add(nn.Module):
    """type: add — the sum of two or more inputs of one shape."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out
