#!/usr/bin/env python3
"""PyTorch twin of an scn network, for training-throughput comparisons and a correctness check against scn.

Builds in PyTorch the network of an scn config file (its `model:` section; configs/README.md) and times
training steps on random data of the config's input shape: softmax cross entropy, SGD with momentum 0.9 and
the config's weight decay (5e-4 when it sets none; none on thresholds, steps, batch-norm parameters and
convolution biases, as scn). Prints one line

    pytorch <config> batch B: T ms/step, X images/s (threads N)

and optionally writes the numbers as JSON (--json FILE). --params prints the parameter counts the way
`scn info` groups them (dictionaries, weights and biases; thresholds; steps; batch-norm affine; statistics).

Python: tools/bench/setup-torch.sh makes .venv-bench/ (torch, numpy, PyYAML from PyPI); run this file with
.venv-bench/bin/python, or with any python3 that has torch and PyYAML.

Sparse-coding layers (DESIGN §1, configs/README.md `type: sparse_code`), exactly as scn computes them:

* pursuit: convolution (default): b = Dᵀx = conv2d(x, W, s, p), γ₀ = S_θ(η·b), then K ISTA/FISTA steps
  γₜ = S_θ(zₜ + η(b − Dᵀ(D zₜ))), D z = conv2d_input (the data gradient of conv2d) sized to x. FISTA is
  Beck–Teboulle from γ₀ as its first iterate: t₁ = 1, tₖ₊₁ = (1 + √(1 + 4tₖ²))/2, βₖ = (tₖ − 1)/tₖ₊₁,
  z₁ = γ₀ and zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂) for t ≥ 2 (β₁ = 0, β₂ ≈ 0.2818: K = 2 FISTA differs from ISTA).
  Backward: autograd through the unrolled steps. `step: auto`: η = 1/‖D‖² from a power iteration on DᵀD
  (50 iterations at construction, the dictionary then rescaled to ‖D‖² = 1; one warm-started iteration
  before every training forward) and, as scn, ∂η/∂W in the gradient (η = 1/L(W), L = ‖D v‖² at the
  iteration's unit vector v, giving ∂L/∂η·(−η²)·∂L/∂W). `backward: implicit` is not emulated for this
  pursuit (an error names it).
* pursuit: patch (SCN, configs/cifar10/scn*.yaml): every zero-padded k×k×C patch coded independently as a
  non-negative lasso. b = conv2d(x, W, s, p) (Aᵀy per patch), M = W_f W_fᵀ (W_f = W viewed (Co, C·k·k)),
  η = 1/λ_max(M) by the power iteration scn runs (20 warm-started iterations per training forward), θ = η·λ
  (`threshold.form: lasso`, λ ≥ 0 clamped after each step); γ₀ = S_θ(η b), then K FISTA steps with M
  applied per pixel: the codes live as one (N·H·W, Co) matrix and a step is one GEMM,
  γ = S_θ(z (I − ηM) + (ηb − θ)), under no_grad. `backward: implicit` is a torch.autograd.Function: with
  g = ∂L/∂γ, per pixel on the support Λ, β_Λ = (M_ΛΛ + εI)⁻¹ g_Λ (masked systems
  M̃ = mask·M·mask + diag(1 − mask) + εI solved in chunks of pixels, by Cholesky, in float64 like scn's
  kernel), β = 0 off Λ; ∂L/∂x = D β, ∂L/∂W = ∂⟨β, conv2d(x, W)⟩/∂W − ((Σ_pixels βγᵀ + γβᵀ) W_f).view_as(W),
  ∂L/∂λ = −Σβ (per channel, or summed for `shared: true`); η gets no gradient (the lasso's solution does
  not depend on it). `backward: unrolled` differentiates the steps with autograd (and ∂η/∂W as above).

Modes besides the plain measurement:
  --vs-scn        measure the config(s) in PyTorch and in scn (`scn profile`, same batch, steps and
                  threads), alternating for --rounds rounds, and print one table with the ratio.
  --check         train a fresh scn checkpoint on a few random images (two one-step epochs), then compare
                  with it: logits of the whole net (scn eval --dump-logits, running and batch statistics),
                  and the gradients of the second step (recovered from the checkpoint's SGD velocity), plus
                  self-checks of the FISTA momenta and of the implicit backward against autograd through
                  a converged pursuit.
  --compare-ops   D z as conv_transpose2d and as conv2d_input on the config's layer shapes.

D is written as torch.nn.grad.conv2d_input by default: on the CPU build of Debian's torch 1.13 (2 cores),
F.conv_transpose2d was 3-58x slower forward and 9-41x slower forward+backward on CSCN-1's layer shapes at
batch 128. With PyTorch's torch 2.15 CPU wheel (.venv-bench) the two are close: conv_transpose2d 1-3.8x
faster per op at batch 32 (--compare-ops), a whole CSCN-1 step the same within 2 %. --dictionary-op picks
one for the whole net.

Examples:
    .venv-bench/bin/python tools/bench/pytorch_scn.py configs/cifar10/cscn1.yaml --params
    .venv-bench/bin/python tools/bench/pytorch_scn.py configs/cifar10/scn1.yaml --batch 32 --threads 1
    .venv-bench/bin/python tools/bench/pytorch_scn.py configs/cifar10/scn1.yaml configs/cifar10/cscn1.yaml \\
        --vs-scn --batch 32 --threads 1 --warmup 2 --steps 5 --rounds 2
    .venv-bench/bin/python tools/bench/pytorch_scn.py configs/cifar10/scn1.yaml --check --threads 1
    .venv-bench/bin/python tools/bench/pytorch_scn.py configs/cifar10/cscn4.yaml --device cuda --tf32 off --json out.json
"""
import argparse
import json
import math
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from torch.nn.grad import conv2d_input

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scn_config  # noqa: E402  (repeat blocks and model.defaults, expanded as scn does)

PROG = "pytorch_scn"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ConfigError(Exception):
    """A problem with the config file: printed as one line, exit status 2."""


def f32(v):
    """v rounded to float32, as scn keeps its host-side scalars (momenta)."""
    return struct.unpack("f", struct.pack("f", v))[0]


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


def fista_momenta(iters, fista=True, single=True):
    """β₀ … β_K (index 0 unused): β₁ = 0, βₖ = (tₖ − 1)/tₖ₊₁ with t₁ = 1 (scn: layers/pursuit.cpp), rounded
    to float32 as scn keeps them (single=False: exact)."""
    beta, t = [0.0] * (iters + 1), 1.0
    if not fista:
        return beta
    for k in range(1, iters + 1):
        nxt = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        beta[k], t = (f32 if single else float)((t - 1.0) / nxt), nxt
    return beta


# ---------------------------------------------------------------------------------------------------------
# Layers. Each module carries `kinds`: parameter/buffer name -> the group scn counts it in, and `no_decay`:
# the parameters scn gives no weight decay.

def init_weight(w, init, default_type):
    """scn's initialisations (layers/weight_init.cpp): normal (std auto = 1/sqrt(fan_in)), kaiming, uniform,
    scn (normal with std 1/fan_in)."""
    init = init or {}
    kind = init.get("type", default_type)
    fan_in = max(w[0].numel(), 1)
    with torch.no_grad():
        if kind == "uniform":
            bound = 1.0 / math.sqrt(fan_in)
            w.uniform_(-bound, bound)
        elif kind == "kaiming":
            w.normal_(0.0, math.sqrt(2.0 / fan_in))
        elif kind == "scn":
            w.normal_(0.0, 1.0 / fan_in)
        else:
            std = init.get("std", "auto")
            w.normal_(0.0, 1.0 / math.sqrt(fan_in) if std == "auto" else float(std))


def shrink(z, theta, two_sided):
    if two_sided:
        return torch.sign(z) * F.relu(z.abs() - theta)
    return F.relu(z - theta)


class SparseCodeBase(nn.Module):
    """What both pursuits share: parameters, η = step (a buffer under step: auto), θ = η·λ or θ."""

    def __init__(self, in_shape, c):
        super().__init__()
        self.in_shape = tuple(in_shape)          # (Ci, H, W)
        self.stride, self.pad, self.iters = c["stride"], c["pad"], c["iters"]
        self.betas = fista_momenta(self.iters, c["algorithm"] == "fista")
        self.two_sided = c["mode"] == "two_sided"
        self.lasso = c["threshold"]["form"] == "lasso"
        self.implicit = c["backward"] == "implicit"
        self.ridge = float(c["implicit"]["ridge"])
        self.recompute = bool(c["recompute"])
        k, co = c["kernel"], c["out"]
        self.out_shape = (co, conv_output_size(in_shape[1], k, self.stride, self.pad),
                          conv_output_size(in_shape[2], k, self.stride, self.pad))
        self.weight = nn.Parameter(torch.empty(co, in_shape[0], k, k))
        init_weight(self.weight, c["init"], c["default_init"])
        th = c["threshold"]
        self.threshold = nn.Parameter(torch.full((1 if th["shared"] else co,), float(th["init"])),
                                      requires_grad=bool(th["learn"]))
        self.step_auto = c["step"] == "auto"
        if self.step_auto:
            self.register_buffer("step", torch.ones(1))
        else:
            self.step = nn.Parameter(torch.tensor([float(c["step"]["init"])]),
                                     requires_grad=bool(c["step"]["learn"]))
        self.kinds = {"weight": "weights", "threshold": "thresholds", "step": "steps"}
        self.no_decay = {"threshold", "step"}

    def extrapolates(self, t):
        return t >= 2 and self.betas[t] != 0.0

    def applied_threshold(self, eta):
        return eta * self.threshold if self.lasso else self.threshold

    def eta_with_gradient(self, lipschitz_of_w):
        """step: auto — η's value as the power iteration left it, with scn's ∂η/∂W = −η²·∂L/∂W (L = ⟨v, DᵀD v⟩
        at the iteration's vector v, differentiable in W)."""
        eta = self.step.detach()
        if not (torch.is_grad_enabled() and self.weight.requires_grad):
            return eta
        lip = lipschitz_of_w()
        return eta - eta * eta * (lip - lip.detach())

    @torch.no_grad()
    def project(self):
        """scn's projections after each optimizer step: θ ≥ 0 (two_sided) or λ ≥ 0 (lasso), η ≥ 0."""
        if self.two_sided or self.lasso:
            self.threshold.clamp_(min=0.0)
        if not self.step_auto:
            self.step.clamp_(min=0.0)


class SparseCode(SparseCodeBase):
    """pursuit: convolution — the convolutional sparse model, unrolled and differentiated by autograd."""

    def __init__(self, in_shape, c, op):
        super().__init__(in_shape, c)
        if self.implicit:
            raise ConfigError("backward: implicit with pursuit: convolution is not emulated here "
                              "(scn solves it by conjugate gradients); use backward: unrolled")
        self.op = op
        if self.step_auto:
            # η = 1/‖D‖²: a buffer; the dictionary is rescaled so that ‖D‖² = 1 and η starts at 1 (as scn).
            self.register_buffer("power_vector", torch.randn((1,) + self.out_shape))
            lipschitz = self.power_iteration(50)
            with torch.no_grad():
                if lipschitz > 0:
                    self.weight.mul_(1.0 / math.sqrt(lipschitz))
                self.step.fill_(1.0)

    def dt(self, x):   # Dᵀx  (N, Ci, H, W) -> (N, Co, Ho, Wo)
        return F.conv2d(x, self.weight, None, self.stride, self.pad)

    def d(self, z):    # D z  (N, Co, Ho, Wo) -> (N, Ci, H, W)
        return self.op(z, self.weight, self.stride, self.pad, self.in_shape)

    @torch.no_grad()
    def power_iteration(self, n):
        """n steps of v ← DᵀD v/‖DᵀD v‖ from the stored vector; η ← 1/‖DᵀD v‖ (≈ 1/‖D‖²)."""
        v = self.power_vector / self.power_vector.norm()
        lipschitz = None
        for _ in range(n):
            out = self.dt(self.d(v))
            lipschitz = out.norm()
            v = out / lipschitz
        self.power_vector.copy_(v)
        self.step.copy_(1.0 / lipschitz)
        return float(lipschitz)

    def forward(self, x):
        if self.step_auto:
            if self.training:
                self.power_iteration(1)
            eta = self.eta_with_gradient(lambda: self.d(self.power_vector).square().sum())
        else:
            eta = self.step
        theta = self.applied_threshold(eta).view(1, -1, 1, 1)
        b = self.dt(x)
        codes = [shrink(eta * b, theta, self.two_sided)]                 # γ₀
        for t in range(1, self.iters + 1):
            z = codes[-1]
            if self.extrapolates(t):                                      # zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂)
                z = z + self.betas[t] * (z - codes[-2])
            codes.append(shrink(z + eta * (b - self.dt(self.d(z))), theta, self.two_sided))
            codes = codes[-2:]
        return codes[-1]


# --- pursuit: patch --------------------------------------------------------------------------------------

def patch_pursuit(b_flat, m, eta, theta, iters, betas, two_sided):
    """The per-pixel FISTA on codes held as one (P, Co) matrix, without autograd: returns γ_K (P, Co).
    A step is γ = S_θ(z (I − ηM) + ηb) (M symmetric), one addmm; for nonneg codes θ is folded into the
    constant term and S is a ReLU in place."""
    co = m.shape[0]
    a = torch.eye(co, dtype=m.dtype, device=m.device) - eta * m
    const = eta * b_flat
    if not two_sided:
        const = const - theta
    cur = F.relu(const) if not two_sided else shrink(const, theta, True)   # γ₀
    prev = torch.empty_like(cur)
    nxt = torch.empty_like(cur)
    z = torch.empty_like(cur)
    for t in range(1, iters + 1):
        point = cur
        if t >= 2 and betas[t] != 0.0:
            torch.sub(cur, prev, out=z)
            z.mul_(betas[t]).add_(cur)                                     # γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂)
            point = z
        torch.addmm(const, point, a, out=nxt)
        if two_sided:
            nxt.copy_(shrink(nxt, theta, True))
        else:
            nxt.relu_()
        prev, cur, nxt = cur, nxt, prev
    return cur


def active_set_solve(m, gamma, g, ridge, dtype=torch.float64, chunk_elements=1 << 23):
    """β with β_Λ = (M_ΛΛ + εI)⁻¹ g_Λ per pixel (row), Λ = {γ ≠ 0}, β = 0 off Λ. m: (C, C); gamma, g: (P, C).
    The pixels are grouped by support size s; each group's s×s systems are gathered from M and solved in one
    batched torch.linalg.solve (LU) in `dtype`. On SCN-1's shapes this was 3-10x faster than solving the
    masked C×C systems mask·M·mask + diag(1 − mask) + εI of every pixel (Cholesky or LU), which give the same
    β (the same to 1e-16 in float64)."""
    p, c = gamma.shape
    beta = torch.zeros(p * c, dtype=dtype, device=g.device)
    md, gd = m.to(dtype).reshape(-1), g.to(dtype).reshape(-1)
    active = gamma != 0
    size = active.sum(1)
    channels = active.nonzero()[:, 1]                 # the active channels, row by row
    start = torch.cumsum(size, 0) - size               # where each row's run begins in `channels`
    for s in torch.unique(size).tolist():
        if s == 0:
            continue
        rows_all = (size == s).nonzero().squeeze(1)
        step = max(1, chunk_elements // (s * s))
        for b in range(0, rows_all.numel(), step):
            rows = rows_all[b:b + step]
            n = rows.numel()
            run = start.index_select(0, rows).unsqueeze(1) + torch.arange(s, device=rows.device)
            idx = channels.index_select(0, run.view(-1)).view(n, s)          # (n, s): the channels of Λ
            # Flat indices and index_select: 4x faster than M[idx[:, :, None], idx[:, None, :]] here.
            a = md.index_select(0, ((idx * c).unsqueeze(2) + idx.unsqueeze(1)).view(-1)).view(n, s, s)
            a.diagonal(dim1=1, dim2=2).add_(ridge)                            # M_ΛΛ + εI
            at = (rows.unsqueeze(1) * c + idx).view(-1)
            sol, _ = torch.linalg.solve_ex(a, gd.index_select(0, at).view(n, s, 1))
            beta.index_copy_(0, at, sol.view(-1))
    return beta.view(p, c).to(g.dtype)


def active_set_solve_masked(m, gamma, g, ridge, dtype=torch.float64, chunk_elements=1 << 22):
    """The same β from the masked C×C systems of every pixel, by Cholesky (the reference for the grouped solve)."""
    p, c = gamma.shape
    beta = torch.empty_like(g)
    md = m.to(dtype)
    chunk = max(1, chunk_elements // (c * c))
    for s in range(0, p, chunk):
        mask = (gamma[s:s + chunk] != 0).to(dtype)                          # (n, C)
        sys_ = mask.unsqueeze(2) * md
        sys_.mul_(mask.unsqueeze(1))
        sys_.diagonal(dim1=1, dim2=2).add_(1.0 - mask + ridge)
        rhs = (g[s:s + chunk].to(dtype) * mask).unsqueeze(2)
        factor, _ = torch.linalg.cholesky_ex(sys_)
        beta[s:s + chunk] = (torch.cholesky_solve(rhs, factor).squeeze(2) * mask).to(g.dtype)
    return beta


def to_rows(t):
    """(N, C, H, W) -> (N·H·W, C): free for a channels_last tensor."""
    n, c, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(n * h * w, c)


def from_rows(rows, n, h, w):
    """(N·H·W, C) -> (N, C, H, W) view in channels_last memory."""
    return rows.view(n, h, w, rows.shape[1]).permute(0, 3, 1, 2)


class PatchImplicit(torch.autograd.Function):
    """γ = the patch pursuit's K-step code of x; backward: the implicit gradient of the lasso's solution."""

    @staticmethod
    def forward(ctx, x, weight, lam, layer, eta):
        st, pd = layer.stride, layer.pad
        co = weight.shape[0]
        wf = weight.reshape(co, -1)
        m = wf @ wf.t()
        b = F.conv2d(x, weight, None, st, pd)
        n, _, ho, wo = b.shape
        theta = (eta * lam).view(1, -1)
        gamma = patch_pursuit(to_rows(b), m, eta, theta, layer.iters, layer.betas, layer.two_sided)
        ctx.save_for_backward(x, weight, gamma, m)
        ctx.layer, ctx.shape = layer, (n, ho, wo)
        return from_rows(gamma, n, ho, wo)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, gamma, m = ctx.saved_tensors
        layer, (n, ho, wo) = ctx.layer, ctx.shape
        co = weight.shape[0]
        beta = active_set_solve(m, gamma, to_rows(grad_out), layer.ridge, layer.solve_dtype)
        beta_nchw = from_rows(beta, n, ho, wo)
        dx, dw, _ = torch.ops.aten.convolution_backward(
            beta_nchw, x, weight, None, [layer.stride] * 2, [layer.pad] * 2, [1, 1], False, [0, 0], 1,
            [ctx.needs_input_grad[0], True, False])
        s = beta.t() @ gamma                                              # Σ_pixels β γᵀ
        wf = weight.reshape(co, -1)
        dw = dw - ((s + s.t()) @ wf).view_as(weight)
        signed = beta if not layer.two_sided else beta * torch.sign(gamma)
        dlam = -(signed.sum(0) if layer.threshold.numel() > 1 else signed.sum().view(1))
        return dx, dw, dlam if ctx.needs_input_grad[2] else None, None, None


class PatchSparseCode(SparseCodeBase):
    """pursuit: patch — SCN's per-patch non-negative lasso, the Gram M = AᵀA acting per pixel."""

    solve_dtype = torch.float64

    def __init__(self, in_shape, c):
        super().__init__(in_shape, c)
        if self.implicit and not self.lasso:
            raise ConfigError("backward: implicit with pursuit: patch is emulated for threshold.form: lasso only")
        if self.step_auto:
            self.register_buffer("power_vector", torch.randn(1, self.out_shape[0], 1, 1))
            self.power_iteration(50)   # SCN's atoms are not normalised: η = 1/λ_max(AᵀA)

    def gram(self):
        wf = self.weight.reshape(self.weight.shape[0], -1)
        return wf @ wf.t()

    @torch.no_grad()
    def power_iteration(self, n):
        m = self.gram()
        v = self.power_vector.view(-1)
        v = v / v.norm()
        for _ in range(n):
            out = m @ v
            lipschitz = out.norm()
            v = out / lipschitz
        self.power_vector.copy_(v.view_as(self.power_vector))
        self.step.copy_(1.0 / lipschitz)
        return float(lipschitz)

    def forward(self, x):
        if self.step_auto and self.training:
            self.power_iteration(20)
        if self.implicit:
            eta = self.step.detach()
            return PatchImplicit.apply(x, self.weight, self.threshold, self, eta)
        # backward: unrolled — the same steps under autograd (and ∂η/∂W under step: auto).
        if self.step_auto:
            v = self.power_vector.view(-1)
            eta = self.eta_with_gradient(lambda: v @ (self.gram() @ v))
        else:
            eta = self.step
        m = self.gram()
        b = F.conv2d(x, self.weight, None, self.stride, self.pad)
        n, co, ho, wo = b.shape
        bf = to_rows(b)
        theta = self.applied_threshold(eta).view(1, -1)
        codes = [shrink(eta * bf, theta, self.two_sided)]
        for t in range(1, self.iters + 1):
            z = codes[-1]
            if self.extrapolates(t):
                z = z + self.betas[t] * (z - codes[-2])
            codes.append(shrink(z + eta * (bf - z @ m), theta, self.two_sided))
            codes = codes[-2:]
        return from_rows(codes[-1], n, ho, wo)


class Conv(nn.Conv2d):
    def __init__(self, in_shape, c):
        super().__init__(in_shape[0], c["out"], c["kernel"], c["stride"], c["pad"], bias=c["bias"])
        init_weight(self.weight, c["init"], "kaiming")
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self.kinds = {"weight": "weights", "bias": "weights"}
        self.no_decay = {"bias"}   # scn: convolution biases get no weight decay


class Linear(nn.Linear):
    def __init__(self, features, c):
        super().__init__(features, c["out"], bias=c["bias"])   # PyTorch's default init is scn's `uniform`
        if c["init"] and c["init"].get("type", "uniform") != "uniform":
            init_weight(self.weight, c["init"], "uniform")
        self.kinds = {"weight": "weights", "bias": "weights"}
        self.no_decay = set()      # scn decays the linear bias (PyTorch's SGD decays all it is given)

    def forward(self, x):
        return super().forward(x.flatten(1))


class BatchNorm(nn.Module):
    """scn's batch_norm; `batch_statistics` in eval mode normalises with the batch's own statistics without
    touching the running ones (scn eval --bn batch)."""

    def __init__(self, in_shape, c):
        super().__init__()
        cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
        self.bn = cls(in_shape[0], eps=c["eps"], momentum=c["momentum"], affine=c["affine"])
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
                    "recompute", "pursuit", "backward", "implicit"},
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
        c.setdefault("pursuit", "convolution")
        c.setdefault("backward", "unrolled")
        patch = c["pursuit"] == "patch"
        if c["pursuit"] not in ("convolution", "patch"):
            raise ConfigError(f"{where}.pursuit: expected convolution or patch")
        if c["backward"] not in ("unrolled", "implicit"):
            raise ConfigError(f"{where}.backward: expected unrolled or implicit")
        c.setdefault("iters", 50 if patch else 0)
        c.setdefault("algorithm", "fista")
        c.setdefault("mode", "nonneg")
        c.setdefault("recompute", False)
        if c["algorithm"] not in ("ista", "fista"):
            raise ConfigError(f"{where}.algorithm: expected ista or fista")
        if c["mode"] not in ("nonneg", "two_sided"):
            raise ConfigError(f"{where}.mode: expected nonneg or two_sided")
        step = c.get("step", "auto" if patch else {})
        if step != "auto":
            if not isinstance(step, dict):
                raise ConfigError(f"{where}.step: expected auto or {{init, learn}}")
            step = {"init": 1.0, "learn": True, **step}
        c["step"] = step
        c["threshold"] = {"form": "lasso" if patch else "absolute", "init": 0.0, "learn": True, "shared": False,
                          **(c.get("threshold") or {})}
        if c["threshold"]["form"] not in ("absolute", "lasso"):
            raise ConfigError(f"{where}.threshold.form: expected absolute or lasso")
        c["implicit"] = {"ridge": 1e-6, "iters": 100, "tolerance": 1e-4, **(c.get("implicit") or {})}
        c["default_init"] = "scn" if patch else "normal"
        if c["backward"] == "implicit" and c["iters"] == 0:
            raise ConfigError(f"{where}.backward: implicit needs iters > 0")
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
        self.names = []
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
            try:
                if t == "sparse_code":
                    m = PatchSparseCode(in_shape, c) if c["pursuit"] == "patch" else SparseCode(in_shape, c, op)
                    out_shape = m.out_shape
                    self.sparse_layers.append(m)
                elif t == "conv":
                    m = Conv(in_shape, c)
                    out_shape = (c["out"],) + tuple(
                        conv_output_size(in_shape[j], c["kernel"], c["stride"], c["pad"]) for j in (1, 2))
                elif t == "relu":
                    m, out_shape = nn.ReLU(), in_shape
                elif t == "batch_norm":
                    m, out_shape = BatchNorm(in_shape, c), in_shape
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

    def forward(self, x):
        outs = {-1: x}
        for i, (m, src) in enumerate(zip(self.nodes, self.sources)):
            outs[i] = m(*[outs[j] for j in src])
        return outs[len(self.nodes) - 1]

    def scn_tensors(self):
        """(scn name, tensor, module, attribute) for every parameter and state tensor scn keeps."""
        for name, m in zip(self.names, self.nodes):
            if isinstance(m, BatchNorm):
                for attr, t in m.named_scn_tensors():
                    yield f"{name}.{attr}", t, m, attr
                continue
            for attr in list(getattr(m, "kinds", {})) + ["power_vector"]:
                t = getattr(m, attr, None)
                if isinstance(t, torch.Tensor):
                    yield f"{name}.{attr}", t, m, attr

    def counts(self):
        """Elements per scn group: weights (dictionaries, weights, biases), thresholds, steps, norm, statistics."""
        c = {"weights": 0, "thresholds": 0, "steps": 0, "norm": 0, "statistics": 0}
        for m in self.nodes:
            if isinstance(m, BatchNorm):
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
            params = dict(m.bn.named_parameters()) if isinstance(m, BatchNorm) else {
                n: getattr(m, n, None) for n in getattr(m, "kinds", {})}
            for name, p in params.items():
                if isinstance(p, nn.Parameter) and p.requires_grad:
                    (no_decay if name in getattr(m, "no_decay", set()) else decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    def project(self):
        for m in self.sparse_layers:
            m.project()

    def set_batch_statistics(self, on):
        for m in self.nodes:
            if isinstance(m, BatchNorm):
                m.batch_statistics = on


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


def optimizer_settings(cfg):
    o = cfg.get("optimizer") or {}
    if o.get("type", "sgd") != "sgd":
        print(f"{PROG}: note: optimizer.type {o.get('type')} timed as SGD", file=sys.stderr)
    return float(o.get("lr", 0.1)), float(o.get("momentum", 0.9)), float(o.get("weight_decay", 5e-4))


# ---------------------------------------------------------------------------------------------------------
# safetensors (scn's checkpoints and logits), read with the standard library.

SAFETENSORS_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64,
                      "U8": torch.uint8}


def read_safetensors(path):
    """{name: tensor}, metadata, and the names in file order."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors, order = {}, []
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(blob[base + begin:base + end]), dtype=dtype) if end > begin else \
            torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
        order.append(name)
    return tensors, metadata, order


def load_scn_checkpoint(net, path):
    """Copies a checkpoint's weights and state into the net; returns (tensors, metadata, order)."""
    tensors, metadata, order = read_safetensors(path)
    missing = []
    with torch.no_grad():
        for name, t, _, _ in net.scn_tensors():
            if name not in tensors:
                missing.append(name)
                continue
            src = tensors[name]
            if src.numel() != t.numel():
                raise RuntimeError(f"{path}: {name} has {list(src.shape)}, the net {list(t.shape)}")
            t.copy_(src.view_as(t))
    if missing:
        raise RuntimeError(f"{path}: no {missing[0]} (and {len(missing) - 1} more)")
    return tensors, metadata, order


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


def build_net(cfg, args):
    return Net(cfg["model"], DICTIONARY_OPS[args.dictionary_op])


def measure_pytorch(cfg, args, device, batch, compile_net=False):
    """Training steps on random data: (ms per step, images/s, per-step ms, final loss)."""
    torch.manual_seed(args.seed)
    net = build_net(cfg, args).to(device)
    lr, momentum, wd = optimizer_settings(cfg)
    opt = torch.optim.SGD(net.param_groups(wd), lr=lr, momentum=momentum)
    model = net
    if compile_net:
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
    return seconds * 1e3 / args.steps, batch * args.steps / seconds, per_step, final_loss, net


# ---------------------------------------------------------------------------------------------------------
# scn itself: a private copy of the binary, so that a rebuild during a run changes nothing.

class ScnBinary:
    def __init__(self, path):
        self.tmp = None
        if path is None:
            src = os.path.join(REPO, "build", "scn")
            if not os.access(src, os.X_OK):
                raise SystemExit(f"{PROG}: no {src}: build scn first, or pass --scn PATH")
            fd, self.tmp = tempfile.mkstemp(prefix="scn_bench_", dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
            os.close(fd)
            shutil.copy2(src, self.tmp)
            path = self.tmp
        self.path = path

    def run(self, argv, threads, check=True):
        env = dict(os.environ)
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        p = subprocess.run([self.path] + argv, env=env, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"scn {' '.join(argv)}: exit {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
        return p

    def close(self):
        if self.tmp:
            os.unlink(self.tmp)
            self.tmp = None


def measure_scn(scn, config, args, batch, workdir):
    out = os.path.join(workdir, f"profile_{len(os.listdir(workdir))}.json")
    scn.run(["profile", config, "--device", "cpu", "--batch", str(batch), "--steps", str(args.steps), "--warmup",
             str(args.warmup), "--json", out], args.threads)
    with open(out, encoding="utf-8") as f:
        r = json.load(f)
    return r["step_ms"], r["train_images_per_s"]


def run_vs_scn(args, device):
    if device.type != "cpu":
        raise SystemExit(f"{PROG}: --vs-scn measures scn's CPU build; use --device cpu")
    scn = ScnBinary(args.scn)
    workdir = tempfile.mkdtemp(prefix="pytorch_scn_")
    results = []
    try:
        for config in args.config:
            cfg = load_config(config)
            batch = args.batch or int((cfg.get("train") or {}).get("batch", 128))
            # The patch pursuit's implicit backward solves in float64 like scn; with a float32 solve too.
            implicit = any(isinstance(m, PatchSparseCode) and m.implicit for m in build_net(cfg, args).sparse_layers)
            variants = [("pytorch", PatchSparseCode.solve_dtype)]
            if implicit and args.solve_dtype == "float64":
                variants.append(("pytorch, float32 solve", torch.float32))
            best = {"scn": 0.0, **{name: 0.0 for name, _ in variants}}
            for r in range(args.rounds):
                _, ips = measure_scn(scn, config, args, batch, workdir)
                best["scn"] = max(best["scn"], ips)
                print(f"  round {r + 1}: scn {config} batch {batch}: {ips:.1f} images/s", file=sys.stderr)
                for name, dtype in variants:
                    saved, PatchSparseCode.solve_dtype = PatchSparseCode.solve_dtype, dtype
                    try:
                        _, ips, _, _, _ = measure_pytorch(cfg, args, device, batch)
                    finally:
                        PatchSparseCode.solve_dtype = saved
                    best[name] = max(best[name], ips)
                    print(f"  round {r + 1}: {name} {config} batch {batch}: {ips:.1f} images/s", file=sys.stderr)
            results.append((config, batch, best))
    finally:
        scn.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"training images/s on {os.cpu_count()} cores, best of {args.rounds} alternating rounds, "
          f"{args.warmup} warm-up + {args.steps} timed steps each (torch {torch.__version__})")
    print(f"| {'config':30s} | {'framework':22s} | threads | batch | images/s | × scn |")
    print(f"|{'-' * 32}|{'-' * 24}|--------:|------:|---------:|------:|")
    rows = []
    for config, batch, best in results:
        for fw in best:
            ratio = best[fw] / best["scn"] if best["scn"] > 0 else float("nan")
            print(f"| {config:30s} | {fw:22s} | {args.threads:7d} | {batch:5d} | {best[fw]:8.1f} | {ratio:5.2f} |")
            rows.append({"config": config, "framework": fw, "threads": args.threads, "batch": batch,
                         "images_per_s": best[fw], "ratio_to_scn": ratio})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"torch": torch.__version__, "rounds": args.rounds, "warmup": args.warmup,
                       "steps": args.steps, "rows": rows}, f, indent=2)
            f.write("\n")
    return 0


# ---------------------------------------------------------------------------------------------------------
# --check

def relative(a, b):
    """max |a − b| / max |b|."""
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / scale if scale > 0 else (a - b).abs().max().item()


def check_momenta():
    beta = fista_momenta(5)
    ok = beta[1] == 0.0 and abs(beta[2] - 0.28175) < 1e-4
    # K = 2 FISTA against the textbook iterates x_k, y_k (Beck & Teboulle 2009) on a small lasso.
    torch.manual_seed(3)
    a = torch.randn(12, 8, dtype=torch.float64)
    y = torch.randn(12, dtype=torch.float64)
    m = a.t() @ a
    eta = 1.0 / torch.linalg.eigvalsh(m).max()
    lam = 0.1
    prox = lambda v: F.relu(v - eta * lam)   # noqa: E731
    grad_step = lambda v: v + eta * (a.t() @ y - m @ v)   # noqa: E731
    xk, yk, t = None, torch.zeros(8, dtype=torch.float64), 1.0
    textbook = []
    for _ in range(4):   # x₁ = p(y₁ = 0) = γ₀, then three more iterates
        x_new = prox(grad_step(yk))
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        yk = x_new + ((t - 1) / t_new) * (x_new - (xk if xk is not None else x_new))
        xk, t = x_new, t_new
        textbook.append(x_new)
    b, theta = (a.t() @ y).view(1, 8), (eta * lam).view(1, 1)
    ours = patch_pursuit(b, m, eta, theta, 3, fista_momenta(3, single=False), False).view(-1)
    err = (ours - textbook[3]).abs().max().item()
    ista = patch_pursuit(b, m, eta, theta, 2, fista_momenta(2, fista=False), False).view(-1)
    fista2 = patch_pursuit(b, m, eta, theta, 2, fista_momenta(2), False).view(-1)
    differs = (ista - fista2).abs().max().item() > 1e-6
    ok = ok and err < 1e-12 and differs
    print(f"FISTA momenta: β₁ = {beta[1]}, β₂ = {beta[2]:.4f}; 3 steps against the textbook iterates: max diff "
          f"{err:.1e}; K = 2 FISTA {'differs from' if differs else 'EQUALS'} ISTA  [{'ok' if ok else 'FAIL'}]")
    return ok


def check_implicit():
    """PatchImplicit's gradients against autograd through a long, converged pursuit (float64)."""
    torch.manual_seed(5)
    c = with_defaults({"type": "sparse_code", "out": 8, "pursuit": "patch", "backward": "implicit",
                       "iters": 3000, "threshold": {"shared": True, "init": 0.02}, "implicit": {"ridge": 0.0}},
                      "check")
    layer = PatchSparseCode((3, 6, 6), c).double()
    layer.train(False)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 8, 6, 6, dtype=torch.float64)
    out = layer(x)
    gx, gw, gl = torch.autograd.grad((out * g).sum(), [x, layer.weight, layer.threshold])
    layer.implicit = False
    out2 = layer(x)
    rx, rw, rl = torch.autograd.grad((out2 * g).sum(), [x, layer.weight, layer.threshold])
    # ridge 0: the implicit gradient is then exactly the limit of reverse mode through the converged steps
    # (whose ∂η/∂W term vanishes there: the lasso's solution does not depend on η).
    errs = [relative(gx, rx), relative(gw, rw), relative(gl, rl), relative(out, out2)]
    rows = to_rows(out.detach())
    grad_rows = to_rows(g)
    m = layer.gram().detach()
    solve_err = relative(active_set_solve(m, rows, grad_rows, 1e-6), active_set_solve_masked(m, rows, grad_rows, 1e-6))
    ok = max(errs) < 1e-8 and solve_err < 1e-10
    support = (out != 0).double().mean().item()
    print(f"implicit backward (patch, ridge 0, 3000 float64 FISTA steps, support {100 * support:.0f}%) against autograd "
          f"through the steps: ∂x {errs[0]:.1e}, ∂W {errs[1]:.1e}, ∂λ {errs[2]:.1e} (forward {errs[3]:.1e}); grouped "
          f"solve against the masked Cholesky {solve_err:.1e}  [{'ok' if ok else 'FAIL'}]")
    return ok


def write_cifar(path, images, labels):
    rows = torch.cat([labels.to(torch.uint8).view(-1, 1), images.reshape(images.shape[0], -1)], 1)
    with open(path, "wb") as f:
        f.write(rows.contiguous().numpy().tobytes())


def normalised(images, metadata):
    mean = torch.tensor([float(v) for v in metadata["normalize_mean"].split(",")], dtype=torch.float32)
    std = torch.tensor([float(v) for v in metadata["normalize_std"].split(",")], dtype=torch.float32)
    return (images.to(torch.float32) / 255.0 - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def arena_offsets(tensors, order):
    """scn's parameter arena: the checkpoint's tensors in file order, each at a 16-element boundary."""
    offsets, total = {}, 0
    for name in order:
        if name.startswith("optimizer/"):
            continue
        offsets[name] = total
        total += (tensors[name].numel() + 15) // 16 * 16
    return offsets, total


def run_check(args):
    if len(args.config) != 1:
        raise SystemExit(f"{PROG}: --check takes one config")
    config = args.config[0]
    cfg = load_config(config)
    ok = check_momenta()
    ok = check_implicit() and ok
    scn = ScnBinary(args.scn)
    work = tempfile.mkdtemp(prefix="pytorch_scn_check_")
    try:
        gen = torch.Generator().manual_seed(args.seed + 11)
        c, h, w = (int(v) for v in cfg["model"]["input"])
        if (c, h, w) != (3, 32, 32):
            raise SystemExit(f"{PROG}: --check writes CIFAR-10 files: the config's input must be [3, 32, 32]")
        n_train, n_test = args.check_batch, args.check_images
        data = os.path.join(work, "data")
        os.makedirs(data)
        train_x = torch.randint(0, 256, (n_train, 3, 32, 32), generator=gen, dtype=torch.uint8)
        train_y = torch.randint(0, 10, (n_train,), generator=gen)
        test_x = torch.randint(0, 256, (n_test, 3, 32, 32), generator=gen, dtype=torch.uint8)
        test_y = torch.randint(0, 10, (n_test,), generator=gen)
        write_cifar(os.path.join(data, "data_batch_1.bin"), train_x, train_y)
        write_cifar(os.path.join(data, "test_batch.bin"), test_x, test_y)
        run = os.path.join(work, "run")
        common = [f"data.dir={data}", f"data.limit={n_train}", f"train.batch={n_train}", "data.val_split=0",
                  "data.augment={crop_pad: 0, flip: false}", f"optimizer.lr={args.check_lr}",
                  f"eval.batch={n_test}", f"train.threads={args.threads}", "train.label_smoothing=0",
                  "train.device=cpu"]
        # Epoch 1: one step from scn's initialisation -> A. Epoch 2: one more step from A -> B.
        scn.run(["train", config, *common, "train.epochs=1", "--out", run], args.threads)
        ckpt_a = os.path.join(work, "A.safetensors")
        shutil.copy2(os.path.join(run, "last.safetensors"), ckpt_a)
        scn.run(["train", config, *common, "train.epochs=2", "--out", run, "--resume", ckpt_a], args.threads)
        ckpt_b = os.path.join(run, "last.safetensors")
        dumps = {}
        for bn in ("running", "batch"):
            dump = os.path.join(work, f"logits_{bn}.safetensors")
            scn.run(["eval", config, *common, "--checkpoint", ckpt_a, "--bn", bn, "--dump-logits", dump,
                     "--device", "cpu"], args.threads)
            dumps[bn] = read_safetensors(dump)[0]["logits"]

        tensors_a, metadata, order = read_safetensors(ckpt_a)
        resolved = yaml.safe_load(metadata["config"])
        net = Net(resolved["model"], DICTIONARY_OPS[args.dictionary_op])
        load_scn_checkpoint(net, ckpt_a)
        net.eval()
        x_test = normalised(test_x, metadata)
        with torch.no_grad():
            for bn in ("running", "batch"):
                net.set_batch_statistics(bn == "batch")
                ours = net(x_test)
                err = relative(ours, dumps[bn])
                agree = (ours.argmax(1) == dumps[bn].argmax(1)).float().mean().item()
                good = err < args.tolerance
                ok = ok and good
                print(f"logits of {n_test} test images, scn eval --bn {bn} against PyTorch: max relative "
                      f"difference {err:.2e} (max |logit| {dumps[bn].abs().max().item():.3g}), argmax agrees on "
                      f"{100 * agree:.0f}%  [{'ok' if good else 'FAIL'}]")
        net.set_batch_statistics(False)

        # Gradients of step 2: scn's SGD velocity v_B = μ v_A + g + wd·w_A, so g = v_B − μ v_A − wd·w_A.
        tensors_b, _, _ = read_safetensors(ckpt_b)
        offsets, total = arena_offsets(tensors_a, order)
        va, vb = tensors_a.get("optimizer/velocity"), tensors_b.get("optimizer/velocity")
        if va is None or va.numel() != total:
            print(f"gradients: the checkpoint's optimizer/velocity does not match the arena layout "
                  f"({None if va is None else va.numel()} against {total}): not compared  [FAIL]")
            return 1
        lr, momentum, wd = optimizer_settings(resolved)
        x_train = normalised(train_x, metadata)
        # The same step in PyTorch, in float32 (what is timed) and in float64: the float64 gradient tells how
        # far float32 rounding alone moves the gradient (the implicit backward of a 50-step pursuit depends on
        # the code's support, which rounding changes at a few elements).
        grads = {}
        for dtype in (torch.float32, torch.float64):
            twin = Net(resolved["model"], DICTIONARY_OPS[args.dictionary_op])
            load_scn_checkpoint(twin, ckpt_a)
            twin = twin.to(dtype).train()
            loss = F.cross_entropy(twin(x_train.to(dtype)), train_y)
            loss.backward()
            decay_of = {}
            for group in twin.param_groups(wd):
                for p in group["params"]:
                    decay_of[id(p)] = group["weight_decay"]
            grads[dtype] = {name: (t.grad.reshape(-1).double() if t.grad is not None else
                                   torch.zeros(t.numel(), dtype=torch.float64), decay_of.get(id(t), 0.0))
                            for name, t, _, _ in twin.scn_tensors() if isinstance(t, nn.Parameter) and t.requires_grad}

        def rel(a, b):
            norm = b.norm().item()
            return (a - b).norm().item() / norm if norm > 0 else (a - b).norm().item()

        rows = []
        for name, (g32, decay) in grads[torch.float32].items():
            o, n = offsets[name], g32.numel()
            g_scn = (vb[o:o + n] - momentum * va[o:o + n] - decay * tensors_a[name].reshape(-1)).double()
            g64 = grads[torch.float64][name][0]
            rows.append((name, rel(g32, g_scn), rel(g64, g_scn), rel(g32, g64)))
        worst32, worst64, floor = (max(r[k] for r in rows) for k in (1, 2, 3))
        limit = max(args.grad_tolerance, 2.0 * floor)
        good = worst32 <= limit and worst64 <= limit
        ok = ok and good
        rows.sort(key=lambda r: -r[1])
        print(f"gradients of the second training step ({n_train} images, batch statistics) against scn's (from "
              f"its SGD velocity), max over {len(rows)} tensors of ‖Δg‖/‖g‖: PyTorch float32 {worst32:.2e}, "
              f"float64 {worst64:.2e}; float32 against float64 within PyTorch {floor:.2e} (pass: ≤ "
              f"max({args.grad_tolerance:g}, 2 × that)); worst: " +
              ", ".join(f"{n} {e:.1e}" for n, e, _, _ in rows[:3]) + f"  [{'ok' if good else 'FAIL'}]")
        weights = [r for r in rows if r[0].endswith(".weight")]
        if weights:
            print(f"  weights only: float32 {max(r[1] for r in weights):.2e}, float64 "
                  f"{max(r[2] for r in weights):.2e}, float32 against float64 {max(r[3] for r in weights):.2e}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"config": config, "gradients": [
                    {"tensor": n, "float32_vs_scn": a, "float64_vs_scn": b, "float32_vs_float64": c}
                    for n, a, b, c in rows]}, f, indent=2)
                f.write("\n")
    finally:
        scn.close()
        if args.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("check: " + ("all passed" if ok else "FAILED"))
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(
        prog="tools/bench/pytorch_scn.py",
        description="Build an scn config's network in PyTorch and measure its training throughput "
                    "(random data, SGD momentum 0.9, softmax cross entropy), next to scn's (--vs-scn), or "
                    "check it against scn (--check).")
    ap.add_argument("config", nargs="+", help="scn config file(s) (YAML); model: and train.batch are used "
                                              "(several only with --vs-scn)")
    ap.add_argument("--batch", type=int, help="batch size (default: the config's train.batch, else 128)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps (default 10)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    ap.add_argument("--tf32", choices=("on", "off"), default="off",
                    help="CUDA: TF32 in matmuls and cuDNN convolutions (default off: plain f32 as scn)")
    ap.add_argument("--dictionary-op", choices=sorted(DICTIONARY_OPS), default="conv2d_input",
                    help="how D z is computed (default conv2d_input, the faster on the CPU)")
    ap.add_argument("--solve-dtype", choices=("float64", "float32"), default="float64",
                    help="the implicit backward's per-pixel Cholesky (default float64, as scn)")
    ap.add_argument("--compile", action="store_true", help="wrap the net in torch.compile")
    ap.add_argument("--params", action="store_true", help="print the parameter counts and exit")
    ap.add_argument("--compare-ops", action="store_true",
                    help="time D z as conv_transpose2d and as conv2d_input on the config's layer shapes, exit")
    ap.add_argument("--vs-scn", action="store_true",
                    help="also measure scn (`scn profile`, same batch, steps, threads) and print a table")
    ap.add_argument("--rounds", type=int, default=1, help="--vs-scn: alternating rounds, best kept (default 1)")
    ap.add_argument("--scn", metavar="PATH", help="scn binary (default: a private copy of build/scn)")
    ap.add_argument("--check", action="store_true", help="compare with a fresh scn checkpoint (see the header)")
    ap.add_argument("--check-batch", type=int, default=32, help="--check: training images = batch (default 32)")
    ap.add_argument("--check-images", type=int, default=8, help="--check: test images compared (default 8)")
    ap.add_argument("--check-lr", type=float, default=0.01, help="--check: learning rate of the two steps")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="--check: logits, max relative difference")
    ap.add_argument("--grad-tolerance", type=float, default=1e-3,
                    help="--check: gradients, ‖Δg‖/‖g‖ per tensor (or twice PyTorch's float32-float64 gap)")
    ap.add_argument("--keep", action="store_true", help="--check: keep the temporary files")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--seed", type=int, default=0, help="seed of the weights and the random data")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or (args.batch is not None and args.batch < 1) or args.threads < 1 \
            or args.rounds < 1:
        ap.error("--steps, --batch, --threads and --rounds must be positive, --warmup non-negative")
    if len(args.config) > 1 and not args.vs_scn:
        ap.error("several configs only with --vs-scn")

    torch.set_num_threads(args.threads)
    PatchSparseCode.solve_dtype = torch.float64 if args.solve_dtype == "float64" else torch.float32
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
        if args.check:
            torch.set_num_interop_threads(1)
            return run_check(args)
        if args.vs_scn:
            return run_vs_scn(args, device)
        config = args.config[0]
        cfg = load_config(config)
        net = build_net(cfg, args)
    except ConfigError as e:
        print(f"{PROG}: {' '.join(args.config)}: {e}", file=sys.stderr)
        return 2
    counts = net.counts()
    if args.params:
        print(f"pytorch {config}: parameters (dictionaries, weights and biases): {thousands(counts['weights'])}")
        print(f"also: thresholds {thousands(counts['thresholds'])}, steps {thousands(counts['steps'])}, "
              f"batch-norm affine {thousands(counts['norm'])}, "
              f"batch-norm statistics {thousands(counts['statistics'])}")
        return 0
    if any(m.recompute for m in net.sparse_layers):
        print(f"{PROG}: warning: recompute: true is not emulated (autograd keeps every iterate)", file=sys.stderr)
    train = cfg.get("train") or {}
    batch = args.batch or int(train.get("batch", 128))

    if args.compare_ops:
        net.to(device)
        rows = compare_ops(net, batch, device, repeats=max(args.steps, 1))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"config": config, "batch": batch, "device": str(device),
                           "threads": args.threads, "compare_ops": rows}, f, indent=2)
        return 0

    ms, ips, per_step, final_loss, _ = measure_pytorch(cfg, args, device, batch, args.compile)
    where = f"threads {args.threads}"
    device_name = "cpu"
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
        where = f"{device_name}, tf32 {args.tf32}, threads {args.threads}"
    print(f"pytorch {config} batch {batch}: {ms:.1f} ms/step, {ips:.1f} images/s ({where})")
    if args.json:
        result = {
            "tool": "pytorch", "config": config, "batch": batch, "warmup": args.warmup, "steps": args.steps,
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
