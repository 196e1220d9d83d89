"""type: ml_pursuit — scn's joint multi-layer pursuits (layers/multi_layer_pursuit.h) in PyTorch, differentiated
by autograd. Layer i codes γᵢ₋₁ (γ₀ = x) with Aᵢ, θᵢ, ηᵢ and correlates its input with Bᵢ (= Aᵢ but for
ML-LISTA's encoders):

    first codes:  γᵢ = S_θᵢ(ηᵢ Bᵢᵀγᵢ₋₁)
    each sweep:   z_L = γ_L (ML-FISTA: γ_L + βₜ(γ_L − γ_L⁻)), zᵢ = Bᵢ₊₁zᵢ₊₁ (back_project: false: zᵢ = γᵢ),
                  γᵢ = S_θᵢ(zᵢ + ηᵢ(Bᵢᵀγᵢ₋₁ − Aᵢᵀ Aᵢ zᵢ)) for i = 1 … L in order
    lbp:          T ISTA steps on layer 1, then on layer 2, …

Untied (tied: false) every sweep t has its own Aᵢ⁽ᵗ⁾, Bᵢ⁽ᵗ⁾, θᵢ⁽ᵗ⁾, ηᵢ⁽ᵗ⁾ and a code of sweep t − 1 is
synthesised with sweep t − 1's dictionaries (the anchor's All-Free: Aᵢ⁽ᵗ⁾ᵀ(Aᵢ⁽ᵗ⁻¹⁾zᵢ − γᵢ₋₁)).
Tensors are named as scn names them: layer<i>[.sweep<t>].weight | encoder | threshold | step.
compiled: a compiled.CompiledLayer runs forward and backward through scn's kernels instead (the same numbers).
The module follows its input's spatial size (in_shape's H and W may be None)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .sparse_code import conv_output_size, d_conv2d_input, fista_momenta, init_weight, shrink


class MlPursuit(nn.Module):
    def __init__(self, in_shape, c, op=d_conv2d_input, init=True, device=None, compiled=None):
        super().__init__()
        self.op = op
        self.compiled = compiled
        self.layer_configs = c["layers"]
        self.algorithm, self.iters = c["algorithm"], c["iters"]
        self.tied, self.back_project = c["tied"], c["back_project"]
        self.two_sided = c["mode"] == "two_sided"
        self.betas = fista_momenta(self.iters, self.algorithm == "ml_fista")
        self.geometry = [(d["stride"], d["pad"]) for d in c["layers"]]
        self.set_input_shape(in_shape)
        self.tensors = nn.ParameterDict()                   # key: the scn name with '.' as '__'
        self.scn_kinds = {}
        sweeps = 1 if self.tied else self.iters + 1
        for u in range(sweeps):
            for i, d in enumerate(c["layers"]):
                shape = (d["out"], self.shapes[i][0], d["kernel"], d["kernel"])
                self._add(u, i, "weight", torch.zeros(shape, device=device), "weights", True)
                if self.algorithm == "ml_lista":
                    self._add(u, i, "encoder", torch.zeros(shape, device=device), "weights", True)
                self._add(u, i, "threshold", torch.full((d["out"],), float(c["threshold"]["init"]), device=device),
                          "thresholds", bool(c["threshold"]["learn"]))
                self._add(u, i, "step", torch.tensor([float(c["step"]["init"])], device=device), "steps",
                          bool(c["step"]["learn"]))
                if init:
                    for p in ("weight", "encoder"):
                        if self._has(u, i, p):
                            init_weight(self.get(u, i, p), c["init"], "normal")
        self.no_decay_kinds = {"thresholds", "steps"}

    def set_input_shape(self, in_shape):
        """x, γ₁, …, γ_L's shapes without the batch dimension (spatial sizes None while unknown)."""
        self.shapes = [tuple(in_shape)]
        for d in self.layer_configs:
            prev = self.shapes[-1]
            self.shapes.append((d["out"],) + tuple(
                None if prev[j] is None else conv_output_size(prev[j], d["kernel"], d["stride"], d["pad"])
                for j in (1, 2)))
        self.out_shape = self.shapes[-1]

    def scn_tensors(self, names):
        """The tensors scn's compiled layer reads, by its names ("layer1.weight")."""
        return [self.tensors[n.replace(".", "__")] for n in names]

    # --- names ---------------------------------------------------------------------------------------------
    def scn_name(self, u, i, param):
        return f"layer{i + 1}." + ("" if self.tied else f"sweep{u}.") + param

    def _add(self, u, i, param, value, kind, learn):
        name = self.scn_name(u, i, param)
        self.tensors[name.replace(".", "__")] = nn.Parameter(value, requires_grad=learn)
        self.scn_kinds[name] = kind

    def _has(self, u, i, param):
        return self.scn_name(u, i, param).replace(".", "__") in self.tensors

    def get(self, u, i, param):
        u = 0 if self.tied else u
        return self.tensors[self.scn_name(u, i, param).replace(".", "__")]

    def named_scn_tensors(self):
        for name in self.scn_kinds:
            yield name, self.tensors[name.replace(".", "__")]

    def counts(self):
        c = {"weights": 0, "thresholds": 0, "steps": 0}
        for name, kind in self.scn_kinds.items():
            c[kind] += self.tensors[name.replace(".", "__")].numel()
        return c

    def decay_groups(self):
        """(decayed, not decayed) trainable parameters: thresholds and steps get no weight decay (scn)."""
        decay, no_decay = [], []
        for name, kind in self.scn_kinds.items():
            p = self.tensors[name.replace(".", "__")]
            if p.requires_grad:
                (no_decay if kind in self.no_decay_kinds else decay).append(p)
        return decay, no_decay

    @torch.no_grad()
    def project(self):
        if self.two_sided:
            for name, kind in self.scn_kinds.items():
                if kind == "thresholds":
                    self.tensors[name.replace(".", "__")].clamp_(min=0.0)

    # --- operators -----------------------------------------------------------------------------------------
    def dt(self, w, i, y):            # Dᵀy for dictionary i: layer i's input space -> its code space
        s, p = self.geometry[i]
        return F.conv2d(y, w, None, s, p)

    def d(self, w, i, z):             # D z: code space of dictionary i -> its input space
        s, p = self.geometry[i]
        return self.op(z, w, s, p, self.shapes[i])

    def input_dictionary(self, u, i):
        return self.get(u, i, "encoder") if self.algorithm == "ml_lista" else self.get(u, i, "weight")

    def step(self, u, i, z, y, synthesis_sweep):
        """γ = S_θ(z + η(Bᵀy − Aᵀ S z)) at sweep u, S the dictionary of `synthesis_sweep`."""
        a = self.get(u, i, "weight")
        gram = self.dt(a, i, self.d(self.get(synthesis_sweep, i, "weight"), i, z))
        pre = z + self.get(u, i, "step") * (self.dt(self.input_dictionary(u, i), i, y) - gram)
        return shrink(pre, self.get(u, i, "threshold").view(1, -1, 1, 1), self.two_sided)

    def first_code(self, i, y):
        b = self.dt(self.input_dictionary(0, i), i, y)
        return shrink(self.get(0, i, "step") * b, self.get(0, i, "threshold").view(1, -1, 1, 1), self.two_sided)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.shapes[0][0]:
            raise ValueError(f"ml_pursuit: expected (N, {self.shapes[0][0]}, H, W) inputs, got {tuple(x.shape)}")
        if tuple(x.shape[1:]) != self.shapes[0]:
            self.set_input_shape(tuple(x.shape[1:]))
        if self.compiled is not None:
            return self.compiled.forward(self, x, self.training)
        L, T = len(self.geometry), self.iters
        if self.algorithm == "lbp":
            y = x
            for i in range(L):
                g = self.first_code(i, y)
                for t in range(1, T + 1):
                    g = self.step(t, i, g, y, t - 1)
                y = g
            return y
        codes, y = [], x
        for i in range(L):
            y = self.first_code(i, y)
            codes.append(y)
        deep_before = codes[-1]            # γ_L of the sweep before the last (FISTA)
        for t in range(1, T + 1):
            deep = codes[-1]
            z = deep + self.betas[t] * (deep - deep_before) if (t >= 2 and self.betas[t] != 0.0) else deep
            deep_before = deep
            points = [None] * L
            points[L - 1] = z
            for j in range(L - 2, -1, -1):
                points[j] = self.d(self.input_dictionary(t - 1, j + 1), j + 1, points[j + 1]) \
                    if self.back_project else codes[j]
            y, new = x, []
            for i in range(L):
                y = self.step(t, i, points[i], y, t - 1)
                new.append(y)
            codes = new
        return codes[-1]

    def extra_repr(self):
        return (f"{self.algorithm} T={self.iters} layers={[s[0] for s in self.shapes[1:]]} "
                f"{'tied' if self.tied else 'untied'}{'' if self.back_project else ' no back-projection'}")
