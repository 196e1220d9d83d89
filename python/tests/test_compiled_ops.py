"""scn's compiled ops in PyTorch (python/ops/torch_ops.cpp, scn_torch/compiled.py), against autograd and against
the pure-PyTorch path (scn_torch/sparse_code.py, ml_pursuit.py):

  * gradcheck in float64 of the op for every pursuit family, on small odd shapes (fixed steps: under step: auto
    scn's ∂η/∂W holds the power iteration's vector fixed, which finite differences do not);
  * compiled against pure PyTorch on random inputs: outputs and gradients over three training steps (step: auto
    included, with its state carried from step to step), then in evaluation;
  * the defaults of scn_torch's config resolution against scn's own parser (one source of truth: scn's);
  * errors: a wrong input, a bad key, SCN_TORCH_COMPILED=0.

Run by ctest python.compiled_ops (python/CMakeLists.txt) with SCN_TORCH_OPS_LIBRARY naming the build's library.
"""
import gc
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
import yaml  # noqa: E402

import scn_torch  # noqa: E402
from scn_torch.compiled import CompiledLayer, _LayerFunction  # noqa: E402
from scn_torch.config import with_defaults  # noqa: E402

# name, node, input (C, H, W): odd sizes, every pursuit family and option that changes the maths.
CASES = [
    ("conv_ista", {"type": "sparse_code", "out": 5, "iters": 2, "algorithm": "ista", "step": {"init": 0.3}}, (3, 7, 9)),
    ("conv_fista_stride2", {"type": "sparse_code", "out": 4, "stride": 2, "iters": 3, "step": {"init": 0.3}}, (3, 7, 9)),
    ("conv_two_sided_shared", {"type": "sparse_code", "out": 5, "kernel": 1, "iters": 3, "mode": "two_sided",
                               "step": {"init": 0.3}, "threshold": {"init": 0.1, "shared": True}}, (3, 5, 7)),
    ("conv_lasso_form", {"type": "sparse_code", "out": 4, "kernel": 5, "iters": 2, "step": {"init": 0.25},
                         "threshold": {"form": "lasso", "init": 0.2}}, (2, 7, 6)),
    ("conv_recompute", {"type": "sparse_code", "out": 4, "iters": 3, "recompute": True, "step": {"init": 0.3}},
     (3, 5, 7)),
    # Implicit backwards are the gradient of the converged pursuit: enough steps to converge in float64.
    ("conv_implicit", {"type": "sparse_code", "out": 3, "stride": 2, "iters": 2000, "mode": "two_sided",
                       "step": {"init": 0.2}, "backward": "implicit",
                       "implicit": {"ridge": 1.0e-12, "iters": 200, "tolerance": 1.0e-12}}, (2, 7, 5)),
    ("patch_fista", {"type": "sparse_code", "pursuit": "patch", "out": 4, "iters": 3, "step": {"init": 0.3}},
     (3, 6, 5)),
    ("patch_implicit", {"type": "sparse_code", "pursuit": "patch", "out": 3, "iters": 300, "step": {"init": 0.3},
                        "backward": "implicit", "implicit": {"ridge": 1.0e-12}}, (3, 5, 4)),
    ("ml_ista", {"type": "ml_pursuit", "algorithm": "ml_ista", "iters": 2, "step": {"init": 0.3},
                 "layers": [{"out": 4}, {"out": 5, "stride": 2}]}, (2, 7, 9)),
    ("ml_fista_two_sided", {"type": "ml_pursuit", "algorithm": "ml_fista", "iters": 3, "mode": "two_sided",
                            "step": {"init": 0.3}, "threshold": {"init": 0.05},
                            "layers": [{"out": 3, "kernel": 3}, {"out": 4, "kernel": 1}]}, (2, 5, 7)),
    ("lbp", {"type": "ml_pursuit", "algorithm": "lbp", "iters": 2, "step": {"init": 0.3},
             "layers": [{"out": 4}, {"out": 3}]}, (2, 5, 6)),
]
# Modules as users make them, with step: auto (state carried between training steps) as well.
MODULE_CASES = CASES + [
    ("conv_step_auto", {"type": "sparse_code", "out": 6, "iters": 2, "step": "auto"}, (3, 9, 7)),
    ("conv_step_auto_k6", {"type": "sparse_code", "out": 4, "iters": 6, "step": "auto"}, (2, 6, 5)),
    ("patch_scn_defaults", {"type": "sparse_code", "pursuit": "patch", "out": 8}, (3, 7, 5)),
    ("patch_implicit_scn", {"type": "sparse_code", "pursuit": "patch", "out": 8, "backward": "implicit"}, (3, 7, 5)),
    ("ml_lista_untied", {"type": "ml_pursuit", "algorithm": "ml_lista", "iters": 2, "tied": False,
                         "layers": [{"out": 4}, {"out": 5}]}, (2, 5, 7)),
]


def random_tensors(handle, seed, dtype):
    """Parameters for the layer's arena entries: weights ~ N(0, 1/fan_in), thresholds and steps in a sensible range."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for name in handle.param_names():
        leaf = name.rsplit(".", 1)[-1]
        shape = _arena_shape(handle, name)
        if leaf in ("weight", "encoder"):
            fan_in = max(1, shape[1] * shape[2] * shape[3])
            t = torch.randn(shape, generator=g, dtype=torch.float64) / fan_in ** 0.5
        elif leaf == "threshold":
            t = 0.02 + 0.1 * torch.rand(shape, generator=g, dtype=torch.float64)
        elif leaf == "step":
            t = torch.full(shape, 0.25, dtype=torch.float64)
        else:
            t = torch.randn(shape, generator=g, dtype=torch.float64)
        out.append(t.to(dtype))
    return out


def _arena_shape(handle, name):
    return tuple(handle.param_shape(name))


class Gradcheck(unittest.TestCase):
    """torch.autograd.gradcheck of torch.ops.scn.layer_forward/layer_backward in float64."""

    def test_every_family(self):
        for name, node, shape in CASES:
            with self.subTest(case=name):
                layer = CompiledLayer(node)
                x = torch.randn((2,) + shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
                handle = layer.handle(x)
                tensors = random_tensors(handle, 7, torch.float64)
                trainable = handle.param_trainable()
                inputs = [x.requires_grad_()] + [t.requires_grad_(bool(k)) for t, k in zip(tensors, trainable)]

                def f(*args):
                    return _LayerFunction.apply(handle, True, *args)

                self.assertTrue(torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4))


def _pair(node, shape, seed):
    """The same layer twice, compiled and pure, with equal parameters."""
    torch.manual_seed(seed)
    c = with_defaults(dict(node), "case")
    factory = scn_torch.SparseCode2d if node["type"] == "sparse_code" else scn_torch.MLPursuit
    keys = {k: v for k, v in node.items() if k not in ("type", "out")}
    if node["type"] == "sparse_code":
        kernel, stride = keys.pop("kernel", 3), keys.pop("stride", 1)
        fast = factory(shape[0], c["out"], kernel, stride, input_size=shape[1:], compiled=True, **keys)
        torch.manual_seed(seed)
        slow = factory(shape[0], c["out"], kernel, stride, input_size=shape[1:], compiled=False, **keys)
    else:
        layers = keys.pop("layers")
        fast = factory(shape[0], layers, input_size=shape[1:], compiled=True, **keys)
        torch.manual_seed(seed)
        slow = factory(shape[0], layers, input_size=shape[1:], compiled=False, **keys)
    slow.load_state_dict(fast.state_dict())
    for attr in ("power_ready",):
        if hasattr(fast, attr):
            setattr(slow, attr, getattr(fast, attr))
    return fast, slow


def _close(test, a, b, what, tol):
    scale = max(float(b.abs().max()), 1e-3)
    err = float((a - b).abs().max())
    test.assertLessEqual(err, tol * scale, f"{what}: max |difference| {err:.3g} against max |value| {scale:.3g}")


class CompiledMatchesPure(unittest.TestCase):
    """Compiled and pure-PyTorch modules: three training steps (SGD on a random linear loss), then evaluation."""

    def test_training_and_evaluation(self):
        for name, node, shape in MODULE_CASES:
            if node.get("backward") == "implicit" and node.get("pursuit", "convolution") == "convolution":
                continue   # not emulated in pure PyTorch; the gradcheck above covers it
            with self.subTest(case=name):
                fast, slow = _pair(node, shape, 3)
                g = torch.Generator().manual_seed(11)
                x = torch.randn((3,) + shape, generator=g)
                r = None
                for step in range(3):
                    outs, grads = [], []
                    for m in (fast, slow):
                        m.train()
                        xx = x.clone().requires_grad_()
                        y = m(xx)
                        if r is None:
                            r = torch.randn(y.shape, generator=g)
                        params = [p for p in m.parameters() if p.requires_grad]
                        gs = torch.autograd.grad((y * r).sum(), [xx] + params, allow_unused=True)
                        # Unused: η under the pure patch pursuit's implicit backward (scn's is zero).
                        gs = [torch.zeros_like(p) if g_ is None else g_ for g_, p in zip(gs, [xx] + params)]
                        outs.append(y.detach())
                        grads.append(gs)
                    tol = 2e-4 if node.get("pursuit") != "patch" else 1e-3
                    _close(self, outs[0], outs[1], f"step {step} output", tol)
                    for i, (a, b) in enumerate(zip(*grads)):
                        _close(self, a, b, f"step {step} gradient {i}", 5 * tol)
                    with torch.no_grad():
                        for m, gs in zip((fast, slow), grads):
                            for p, gp in zip([p for p in m.parameters() if p.requires_grad], gs[1:]):
                                # a step that moves each tensor by 2% of its largest value at most
                                p.sub_(0.02 * p.abs().max() * gp / gp.abs().max().clamp(min=1e-12))
                            m.project()
                for m in (fast, slow):
                    m.eval()
                with torch.no_grad():
                    _close(self, fast(x), slow(x), "evaluation output", 2e-4 if node.get("pursuit") != "patch" else 1e-3)

    def test_another_input_size(self):
        """A module follows its input's size (a new scn layer for it), in either path, with the same numbers."""
        fast, slow = _pair({"type": "sparse_code", "out": 4, "iters": 2, "step": "auto"}, (3, 8, 8), 5)
        x = torch.randn(2, 3, 11, 5)
        _close(self, fast(x), slow(x), "output at 11x5", 2e-4)

    def test_load_uses_compiled_ops(self):
        """A Net with compiled=True (what scn_torch.load builds when the ops are built) runs through them."""
        model = {"input": [2, 7, 7], "classes": 3, "layers": [
            {"type": "sparse_code", "out": 4, "iters": 2, "step": "auto"},
            {"type": "ml_pursuit", "algorithm": "ml_fista", "iters": 2, "layers": [{"out": 5}]},
            {"type": "global_avg_pool"}, {"type": "linear", "out": 3}]}
        torch.manual_seed(0)
        fast = scn_torch.Net(model, compiled=True)
        slow = scn_torch.Net(model, compiled=False)
        slow.load_state_dict(fast.state_dict())
        self.assertIsNotNone(fast.nodes[0].compiled)
        self.assertIsNone(slow.nodes[0].compiled)
        fast.eval(), slow.eval()
        x = torch.randn(3, 2, 7, 7)
        with torch.no_grad():
            _close(self, fast(x), slow(x), "net logits", 2e-4)


@unittest.skipUnless(torch.cuda.is_available(), "no CUDA device, or a torch without CUDA")
class OnTheGpu(unittest.TestCase):
    """The CUDA dispatch of the ops (a CUDA build of the extension) against the CPU's, forward and backward."""

    def test_matches_the_cpu(self):
        for name, node, shape in MODULE_CASES:
            with self.subTest(case=name):
                cpu, _ = _pair(node, shape, 4)
                gpu, _ = _pair(node, shape, 4)
                gpu.load_state_dict(cpu.state_dict())
                gpu.to("cuda")
                x = torch.randn((3,) + shape)
                outs, grads = [], []
                for m, xx in ((cpu, x), (gpu, x.cuda())):
                    xx = xx.clone().requires_grad_()
                    y = m(xx)
                    y.square().sum().backward()
                    outs.append(y.detach().cpu())
                    grads.append(xx.grad.cpu())
                _close(self, outs[1], outs[0], "CUDA output", 1e-3)
                _close(self, grads[1], grads[0], "CUDA input gradient", 5e-3)


def _normal(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dict):
        return {k: _normal(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normal(x) for x in v]
    return v


class CallsAreReleased(unittest.TestCase):
    """A call's state (the pursuit's tape) lives as long as autograd's graph and no longer. The op's output
    gets its grad_fn in place and that node holds the call: a call holding the output itself was a reference
    cycle that kept every call's tape and output alive (about 32 MB a step for a CSCN-1 layer at batch 32)."""

    def test_training_steps_keep_no_call_alive(self):
        for node, shape in (({"type": "sparse_code", "out": 6, "iters": 2}, (3, 9, 7)),
                            ({"type": "sparse_code", "out": 5, "pursuit": "patch", "iters": 4}, (3, 7, 9))):
            with self.subTest(pursuit=node.get("pursuit", "convolution")):
                m = scn_torch.SparseCode2d(shape[0], node["out"], 3, compiled=True,
                                           **{k: v for k, v in node.items() if k not in ("type", "out")})
                x = torch.randn((2,) + shape, requires_grad=True)
                for _ in range(5):
                    y = m(x)
                    y.square().sum().backward()
                handle = m.compiled.handle(x)
                self.assertLessEqual(handle.calls_alive(), 1, "calls of finished steps are still alive")
                del y
                gc.collect()
                self.assertEqual(handle.calls_alive(), 0, "a call outlived its graph")
                with torch.no_grad():
                    m.eval()
                    m(x)
                self.assertEqual(handle.calls_alive(), 0, "an evaluation call outlived its output")

    def test_output_changed_in_place_is_refused(self):
        m = scn_torch.SparseCode2d(3, 4, 3, iters=2, compiled=True)
        x = torch.randn(2, 3, 5, 5, requires_grad=True)
        y = m(x)
        z = y * 2
        y.add_(1)   # scn's backward reads the output: autograd must refuse
        with self.assertRaisesRegex(RuntimeError, "modified by an inplace operation"):
            z.sum().backward()


class DefaultsMatchScn(unittest.TestCase):
    """scn_torch's resolution of a node (config.with_defaults) and scn's (the compiled layer's to_yaml) agree."""

    def test_defaults(self):
        nodes = [{"type": "sparse_code", "out": 5}, {"type": "sparse_code", "out": 5, "pursuit": "patch"},
                 {"type": "sparse_code", "out": 5, "kernel": 5, "mode": "two_sided", "backward": "implicit",
                  "iters": 3},
                 {"type": "ml_pursuit", "layers": [{"out": 4}, {"out": 6, "stride": 2}]},
                 {"type": "ml_pursuit", "algorithm": "ml_lista", "tied": False, "layers": [{"out": 4}]},
                 {"type": "ml_pursuit", "algorithm": "lbp", "iters": 3, "layers": [{"out": 4, "kernel": 5}]}]
        for node in nodes:
            with self.subTest(node=node):
                ours = with_defaults(dict(node), "node")
                theirs = yaml.safe_load(CompiledLayer(node).resolved_yaml(torch.zeros(1, 3, 9, 9)))
                for key, value in theirs.items():
                    mine = ours.get(key)
                    if key == "init":
                        mine = mine or {"type": ours.get("default_init", "normal")}
                        if mine["type"] == "normal":
                            mine = {"std": "auto", **mine}
                    self.assertEqual(_normal(mine), _normal(value), f"{key}: scn_torch {mine!r}, scn {value!r}")
                # What scn leaves out of its resolved node is at its default in scn_torch.
                for key in set(ours) - set(theirs) - {"default_init", "name", "inputs"}:
                    self.assertIn(key, ("tied", "implicit", "regularizer"), key)


class Errors(unittest.TestCase):
    def test_wrong_channels(self):
        m = scn_torch.SparseCode2d(3, 4, compiled=True)
        with self.assertRaisesRegex(ValueError, r"expected \(N, 3, H, W\) inputs"):
            m(torch.randn(1, 2, 5, 5))

    def test_op_checks_its_tensors(self):
        layer = CompiledLayer({"type": "sparse_code", "out": 4, "iters": 1})
        x = torch.randn(1, 3, 5, 5)
        h = layer.handle(x)
        with self.assertRaisesRegex(RuntimeError, "weight has shape"):
            torch.ops.scn.layer_forward(h, x, [torch.zeros(4, 3, 5, 5), torch.zeros(4), torch.ones(1)], True)
        with self.assertRaisesRegex(RuntimeError, r"built for inputs \(N, \[3, 5, 5\]\)"):
            torch.ops.scn.layer_forward(h, torch.randn(1, 3, 6, 5), [], True)

    def test_bad_key(self):
        with self.assertRaisesRegex(scn_torch.ConfigError, "SparseCode2d.iters"):
            scn_torch.SparseCode2d(3, 4, iters=-1)

    def test_scn_parser_errors_reach_python(self):
        with self.assertRaisesRegex(RuntimeError, "scn_torch layer:1: layer"):
            torch.classes.scn.Layer("{type: sparse_code, out: 4, iters: two}", [3, 5, 5], False, "cpu")

    def test_turned_off(self):
        env = dict(os.environ, SCN_TORCH_COMPILED="0")
        code = ("import scn_torch; print(scn_torch.has_compiled_ops()); print(scn_torch.compiled_ops_status()); "
                "print(scn_torch.SparseCode2d(3, 4).compiled)")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split("\n")[:3], ["False", "pure PyTorch: SCN_TORCH_COMPILED=0", "None"])


if __name__ == "__main__":
    if not scn_torch.has_compiled_ops():
        print(f"test_compiled_ops: {scn_torch.compiled_ops_status()}", file=sys.stderr)
        sys.exit(1)
    print(scn_torch.compiled_ops_status())
    unittest.main()
