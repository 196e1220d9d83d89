"""`type: sparse_code` in PyTorch, exactly as scn computes it (docs/pursuits.md; layers/sparse_code.cpp).

* pursuit: convolution (default): b = Dᵀx = conv2d(x, W, s, p), γ₀ = S_θ(η·b), then K ISTA/FISTA steps
  γₜ = S_θ(zₜ + η(b − Dᵀ(D zₜ))), D z = conv2d_input (the data gradient of conv2d) sized to x. FISTA is
  Beck–Teboulle from γ₀ as its first iterate: t₁ = 1, tₖ₊₁ = (1 + √(1 + 4tₖ²))/2, βₖ = (tₖ − 1)/tₖ₊₁,
  z₁ = γ₀ and zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂) for t ≥ 2 (β₁ = 0, β₂ ≈ 0.2818: K = 2 FISTA differs from ISTA).
  Backward: autograd through the unrolled steps. `step: auto`: η = 1/‖D‖² from a power iteration on DᵀD
  (50 iterations at construction, the dictionary then rescaled to ‖D‖² = 1; one warm-started iteration
  before every training forward; in evaluation the η stored with the weights, as scn) and, as scn, ∂η/∂W in
  the gradient (η = 1/L(W), L = ‖D v‖² at the iteration's unit vector v, giving ∂L/∂η·(−η²)·∂L/∂W).
  `backward: implicit` is not emulated in training for this pursuit (an error names it; evaluation, whose
  forward is the same, works).
* pursuit: patch (SCN): every zero-padded k×k×C patch coded independently as a non-negative lasso.
  b = conv2d(x, W, s, p) (Aᵀy per patch), M = W_f W_fᵀ (W_f = W viewed (Co, C·k·k)), η = 1/λ_max(M) by the
  power iteration scn runs: 20 warm-started iterations per forward, in training (the vector and η kept) and
  in evaluation (from the kept vector, neither changed); θ = η·λ (`threshold.form: lasso`, λ ≥ 0 clamped
  after each step); γ₀ = S_θ(η b), then K FISTA steps with M applied per pixel: the codes live as one
  (N·H·W, Co) matrix and a step is one GEMM, γ = S_θ(z (I − ηM) + (ηb − θ)). `backward: implicit` is a
  torch.autograd.Function: with g = ∂L/∂γ, per pixel on the support Λ, β_Λ = (M_ΛΛ + εI)⁻¹ g_Λ (in float64
  like scn's kernel), β = 0 off Λ; ∂L/∂x = D β, ∂L/∂W = ∂⟨β, conv2d(x, W)⟩/∂W − ((Σ_pixels βγᵀ + γβᵀ) W_f),
  ∂L/∂λ = −Σβ; η gets no gradient (the lasso's solution does not depend on it). `backward: unrolled`
  differentiates the steps with autograd (and ∂η/∂W as above).

Compiled path: a module given a compiled layer (scn_torch.SparseCode2d, scn_torch.load) runs its forward and
backward through scn's compiled layer when the extension is built (compiled.py): the same numbers, and what
this file does not emulate (the convolutional pursuit's implicit backward) as well. The cold starts of the power
iteration below happen in either path.

Input size: a module follows the spatial size of its input (SparseCode2d needs none at construction). Under
step: auto the convolutional pursuit's vector is as large as its output: an input of another size starts it
cold again (in training; evaluation uses the stored η), and the dictionary scaling of scn's initialisation
(‖D‖² = 1) waits for the first input when the module was made without one.

The power iteration's vector (`<node>.power_vector`) is run state that `scn export` leaves out. A layer
whose vector was not loaded (and not initialised here) starts its power iteration cold: the patch pursuit
takes the top eigenvector of M (float64 eigh: the power iteration run to convergence) before its first
forward and then runs scn's 20 iterations from it; the convolutional pursuit, which evaluates with the
stored η, runs 50 iterations from a random vector before its first training forward (scn's initialisation).
"""
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.grad import conv2d_input



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


def init_weight(w, init, default_type):
    """scn's initialisations (layers/weight_init.cpp): normal (std auto = 1/sqrt(fan_in)), kaiming, uniform,
    scn (normal with std 1/fan_in); `gain` multiplies the std (uniform: the bound)."""
    init = init or {}
    kind = init.get("type", default_type)
    gain = float(init.get("gain", 1.0))
    fan_in = max(w[0].numel(), 1)
    with torch.no_grad():
        if kind == "uniform":
            bound = gain / math.sqrt(fan_in)
            w.uniform_(-bound, bound)
        elif kind == "kaiming":
            w.normal_(0.0, gain * math.sqrt(2.0 / fan_in))
        elif kind == "scn":
            w.normal_(0.0, gain / fan_in)
        else:
            std = init.get("std", "auto")
            w.normal_(0.0, gain * (1.0 / math.sqrt(fan_in) if std == "auto" else float(std)))


def shrink(z, theta, two_sided):
    if two_sided:
        return torch.sign(z) * F.relu(z.abs() - theta)
    return F.relu(z - theta)


def _random_vector(shape, like, seed):
    """A fixed standard-normal vector of `shape` on like's device and dtype (a cold start that is the same on
    every device)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float32).to(like.device, like.dtype)


def is_meta(device):
    """Whether modules are built on the meta device: shapes only, nothing allocated (scn_torch.load sizes
    the net this way before it trusts a file's config)."""
    return device is not None and torch.device(device).type == "meta"


class SparseCodeBase(nn.Module):
    """What both pursuits share: parameters, η = step (a buffer under step: auto), θ = η·λ or θ.
    init=False leaves the weights zero for a checkpoint to fill (no initialisation, no power iteration);
    device="meta" (with init=False) builds the shapes only. in_shape (Ci, H, W); H and W may be None (known at the
    first forward). compiled: a compiled.CompiledLayer to run forward and backward through scn's kernels (None:
    this file's pure-PyTorch code)."""

    def __init__(self, in_shape, c, init=True, device=None, compiled=None):
        super().__init__()
        self.stride, self.pad, self.iters = c["stride"], c["pad"], c["iters"]
        self.kernel, self.channels = c["kernel"], c["out"]
        self.algorithm = c["algorithm"]
        self.betas = fista_momenta(self.iters, self.algorithm == "fista")
        self.two_sided = c["mode"] == "two_sided"
        self.lasso = c["threshold"]["form"] == "lasso"
        self.implicit = c["backward"] == "implicit"
        self.ridge = float(c["implicit"]["ridge"])
        self.recompute = bool(c["recompute"])
        self.regularized = bool(c.get("regularizer"))
        k, co = c["kernel"], c["out"]
        self.set_input_shape(in_shape)
        self.weight = nn.Parameter(torch.zeros(co, in_shape[0], k, k, device=device))
        if init:
            init_weight(self.weight, c["init"], c["default_init"])
        th = c["threshold"]
        self.threshold = nn.Parameter(torch.full((1 if th["shared"] else co,), float(th["init"]), device=device),
                                      requires_grad=bool(th["learn"]))
        self.step_auto = c["step"] == "auto"
        if self.step_auto:
            self.register_buffer("step", torch.ones(1, device=device))
        else:
            self.step = nn.Parameter(torch.tensor([float(c["step"]["init"])], device=device),
                                     requires_grad=bool(c["step"]["learn"]))
        # What training cannot emulate (evaluation can: the forward is the same K-step pursuit).
        self.training_unsupported = None
        # step: auto — whether power_vector holds the run's vector (from an initialisation here, a checkpoint
        # or training) or must be started cold before it is used.
        self.power_ready = False
        self.kinds = {"weight": "weights", "threshold": "thresholds", "step": "steps"}
        self.no_decay = {"threshold", "step"}
        self.compiled = None if is_meta(device) else compiled

    def set_input_shape(self, in_shape):
        """(Ci, H, W) of the input; the output's shape follows (None while H and W are unknown)."""
        self.in_shape = tuple(in_shape)
        if in_shape[1] is None:
            self.out_shape = None
            return
        self.out_shape = (self.channels, conv_output_size(in_shape[1], self.kernel, self.stride, self.pad),
                          conv_output_size(in_shape[2], self.kernel, self.stride, self.pad))

    def follow_input(self, x):
        """Adopts x's spatial size; True when it changed (the convolutional pursuit's vector then restarts)."""
        if x.dim() != 4 or x.shape[1] != self.in_shape[0]:
            raise ValueError(f"sparse_code: expected (N, {self.in_shape[0]}, H, W) inputs, got {tuple(x.shape)}")
        if tuple(x.shape[1:]) == self.in_shape:
            return False
        self.set_input_shape(tuple(x.shape[1:]))
        return True

    def scn_tensors(self, names):
        """The parameters and buffers scn's compiled layer reads, by its names ("weight", "power_vector")."""
        return [self.run_state(n) if n == "power_vector" else getattr(self, n) for n in names]

    def run_state(self, name):
        return getattr(self, name)
    def extra_repr(self):
        return (f"{'patch' if isinstance(self, PatchSparseCode) else 'convolution'} {self.in_shape[0]}->{self.channels}, kernel={self.weight.shape[2]}, stride={self.stride}, "
                f"pad={self.pad}, iters={self.iters}, {self.algorithm}, "
                f"{'two_sided' if self.two_sided else 'nonneg'}, step={'auto' if self.step_auto else 'scalar'}, "
                f"threshold={'lasso' if self.lasso else 'absolute'}")

    def check_training(self):
        if self.training_unsupported and self.training and torch.is_grad_enabled():
            raise RuntimeError(f"sparse_code: {self.training_unsupported} (evaluation works: model.eval())")

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

    def __init__(self, in_shape, c, op=d_conv2d_input, init=True, device=None, compiled=None):
        super().__init__(in_shape, c, init, device, compiled)
        if self.implicit:
            self.training_unsupported = ("backward: implicit with pursuit: convolution is not emulated in pure "
                                         "PyTorch (scn solves it by conjugate gradients: build the compiled ops, "
                                         "pip install ./python); use backward: unrolled")
        self.op = op
        self.scale_pending = False   # scn's initial scaling of the dictionary, waiting for the input's size
        if self.step_auto:
            # η = 1/‖D‖²: a buffer; the dictionary is rescaled so that ‖D‖² = 1 and η starts at 1 (as scn).
            # Without init the vector is sized when it is loaded or first started: it is as large as the
            # layer's output, and an export (which leaves it out) must not cost that memory unused.
            self.power_shape = (1,) + self.out_shape if self.out_shape else None
            sized = init and self.power_shape is not None
            self.register_buffer("power_vector", torch.randn(self.power_shape) if sized else
                                 torch.zeros(self.power_shape if is_meta(device) else (0,), device=device))
            if sized:
                self.scale_dictionary(self.power_iteration(50))
            self.scale_pending = init and not sized

    @torch.no_grad()
    def scale_dictionary(self, lipschitz):
        """scn's initialisation under step: auto: W/‖D‖ (so that ‖D‖² = 1) and η = 1."""
        if lipschitz > 0:
            self.weight.mul_(1.0 / math.sqrt(lipschitz))
        self.step.fill_(1.0)

    def run_state(self, name):
        # Evaluation of a vector never started (an export) or sized for another input: scn's evaluation of this
        # pursuit uses the stored η, not the vector; the compiled layer still takes one of its size.
        if self.power_vector.shape != self.power_shape:
            return torch.zeros(self.power_shape, dtype=self.weight.dtype, device=self.weight.device)
        return self.power_vector

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
        self.power_ready = True
        return float(lipschitz)

    def forward(self, x):
        if self.follow_input(x) and self.step_auto:
            self.power_shape = (1,) + self.out_shape
            self.power_ready = self.power_ready and self.power_vector.shape == self.power_shape
        if self.step_auto and (self.scale_pending or (self.training and not self.power_ready)):
            # cold: scn's 50 initial iterations from a random vector (and its initial scaling, when pending)
            with torch.no_grad():
                self.power_vector = _random_vector(self.power_shape, self.weight, 0x5eed)
            lipschitz = self.power_iteration(50)
            if self.scale_pending:
                self.scale_dictionary(lipschitz)
                self.scale_pending = False
        if self.compiled is not None:
            return self.compiled.forward(self, x, self.training)
        self.check_training()
        if self.step_auto:
            if self.training:
                self.power_iteration(1)
            # A vector never started (an export evaluated) gives ∂η/∂W nothing to act on: η alone.
            eta = self.eta_with_gradient(lambda: self.d(self.power_vector).square().sum()) if self.power_ready \
                else self.step.detach()
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
        theta = (eta * lam if layer.lasso else lam).view(1, -1)
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

    def __init__(self, in_shape, c, init=True, device=None, compiled=None):
        super().__init__(in_shape, c, init, device, compiled)
        if self.implicit and not self.lasso:
            self.training_unsupported = "backward: implicit with pursuit: patch is emulated for threshold.form: lasso only"
        if self.step_auto:
            self.power_shape = (1, self.channels, 1, 1)
            self.register_buffer("power_vector", torch.randn(self.power_shape) if init else
                                 torch.zeros(self.power_shape, device=device))
            if init:
                self.power_iteration(50)   # SCN's atoms are not normalised: η = 1/λ_max(AᵀA)

    def gram(self):
        wf = self.weight.reshape(self.weight.shape[0], -1)
        return wf @ wf.t()

    @torch.no_grad()
    def _iterate(self, n):
        """(v, 1/‖M v‖) after n steps of v ← M v/‖M v‖ from the stored vector (scn's power_iterate)."""
        m = self.gram()
        v = self.power_vector.view(-1)
        v = v / v.norm()
        lipschitz = None
        for _ in range(n):
            out = m @ v
            lipschitz = out.norm()
            v = out / lipschitz
        return v, lipschitz

    @torch.no_grad()
    def power_iteration(self, n):
        """Training's: n iterations from the stored vector, which they replace, and η ← 1/‖M v‖."""
        v, lipschitz = self._iterate(n)
        self.power_vector.copy_(v.view_as(self.power_vector))
        self.step.copy_(1.0 / lipschitz)
        self.power_ready = True
        return float(lipschitz)

    @torch.no_grad()
    def evaluation_step(self):
        """Evaluation's η (scn: SparseCodeLayer::forward, eval): 20 iterations from the stored vector, which
        stays as it is, and 1/‖M v‖. The η of the last training forward belongs to the weights before the
        optimizer's last step, which can move the unnormalised atoms far."""
        _, lipschitz = self._iterate(20)
        return (1.0 / lipschitz).view(1)

    @torch.no_grad()
    def start_power_iteration(self):
        """A cold start run to convergence: the top eigenvector of M (float64), where no vector was loaded."""
        m = self.gram().double()
        values, vectors = torch.linalg.eigh(m)
        v = vectors[:, -1] if values[-1] > 0 else torch.ones_like(values)
        self.power_vector.copy_(v.to(self.power_vector.dtype).view_as(self.power_vector))
        self.power_ready = True

    def forward(self, x):
        self.follow_input(x)
        if self.step_auto and not self.power_ready:
            self.start_power_iteration()
        if self.compiled is not None:
            return self.compiled.forward(self, x, self.training)
        self.check_training()
        if self.step_auto and not self.training:
            eta = self.evaluation_step()
        elif self.step_auto:
            self.power_iteration(20)
            eta = None   # below: with ∂η/∂W for the unrolled backward
        else:
            eta = self.step
        if self.implicit and self.lasso:
            return PatchImplicit.apply(x, self.weight, self.threshold, self, (self.step if eta is None else eta).detach())
        # backward: unrolled — the same steps under autograd (and ∂η/∂W under step: auto in training).
        if eta is None:
            v = self.power_vector.view(-1)
            eta = self.eta_with_gradient(lambda: v @ (self.gram() @ v))
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
