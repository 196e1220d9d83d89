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

The net is python/scn_torch's (this tree's python/, else an installed scn_torch): every scn layer
type, the sparse-coding layers exactly as scn computes them in training and in evaluation, both pursuits
(python/scn_torch/sparse_code.py states the maths: unrolled ISTA/FISTA with Beck–Teboulle momenta, `step:
auto` with ∂η/∂W, `threshold.form: lasso`, the patch pursuit's per-pixel FISTA as one GEMM per step and its
implicit backward as a torch.autograd.Function), and the joint multi-layer pursuits of `type: ml_pursuit`
(python/scn_torch/ml_pursuit.py: ML-ISTA, ML-FISTA, ML-LISTA, LBP, untied sweeps). Not emulated: `backward:
implicit` for the convolutional pursuit and `tied: false` on sparse_code (errors say so), `recompute: true`
and `regularizer` (warnings).

--compiled runs the sparse_code and ml_pursuit layers through scn's compiled ops inside PyTorch (python/ops:
built by CMake into build/python/_scn_ops.so, or by `pip install ./python`; docs/pytorch.md), the rest of the
net staying PyTorch's.

Modes besides the plain measurement:
  --vs-scn        measure the config(s) in PyTorch and in scn (`scn profile`, same batch, steps and
                  threads), alternating for --rounds rounds, and print one table with the ratio; when the
                  compiled ops are built, PyTorch with scn's ops is a row of its own.
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
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PROG = "pytorch_scn"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The net is scn_torch's: this tree's copy (python/scn_torch), so that the twin is always the one of the scn
# it is compared with; an installed one (pip install ./python) where the tree has none.
if os.path.isdir(os.path.join(REPO, "python", "scn_torch")):
    sys.path.insert(0, os.path.join(REPO, "python"))
from scn_torch.compiled import compiled_ops_status, has_compiled_ops  # noqa: E402
from scn_torch.config import ConfigError, load_yaml, with_defaults  # noqa: E402
from scn_torch.export import normalize_images  # noqa: E402
from scn_torch.net import Net, load_scn_checkpoint  # noqa: E402
from scn_torch.safetensors_io import read_safetensors  # noqa: E402
from scn_torch.sparse_code import (  # noqa: E402
    DICTIONARY_OPS, PatchSparseCode, active_set_solve, active_set_solve_masked, d_conv2d_input,
    d_conv_transpose2d, fista_momenta, patch_pursuit, to_rows)


def load_config(path):
    import yaml
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = load_yaml(f)
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


def build_net(cfg, args, compiled=None):
    compiled = args.compiled if compiled is None else compiled
    return trainable(Net(cfg["model"], DICTIONARY_OPS[args.dictionary_op], compiled=compiled))


def trainable(net):
    """The net, or a ConfigError naming a layer whose training scn_torch does not emulate."""
    problems = net.training_unsupported()
    if problems:
        raise ConfigError(problems[0])
    return net


def measure_pytorch(cfg, args, device, batch, compile_net=False, compiled=None):
    """Training steps on random data: (ms per step, images/s, per-step ms, final loss). compiled: scn's ops for
    the pursuit layers (None: as --compiled says)."""
    torch.manual_seed(args.seed)
    net = build_net(cfg, args, compiled).to(device)
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
            implicit = any(isinstance(m, PatchSparseCode) and m.implicit
                           for m in build_net(cfg, args, False).sparse_layers)
            variants = [("pytorch", PatchSparseCode.solve_dtype, False)]
            if implicit and args.solve_dtype == "float64":
                variants.append(("pytorch, float32 solve", torch.float32, False))
            if has_compiled_ops():
                variants.append(("pytorch + scn's ops", PatchSparseCode.solve_dtype, True))
            best = {"scn": 0.0, **{name: 0.0 for name, _, _ in variants}}
            for r in range(args.rounds):
                _, ips = measure_scn(scn, config, args, batch, workdir)
                best["scn"] = max(best["scn"], ips)
                print(f"  round {r + 1}: scn {config} batch {batch}: {ips:.1f} images/s", file=sys.stderr)
                for name, dtype, compiled in variants:
                    saved, PatchSparseCode.solve_dtype = PatchSparseCode.solve_dtype, dtype
                    try:
                        _, ips, _, _, _ = measure_pytorch(cfg, args, device, batch, compiled=compiled)
                    finally:
                        PatchSparseCode.solve_dtype = saved
                    best[name] = max(best[name], ips)
                    print(f"  round {r + 1}: {name} {config} batch {batch}: {ips:.1f} images/s", file=sys.stderr)
            results.append((config, batch, best))
    finally:
        scn.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"training images/s on {os.cpu_count()} cores, best of {args.rounds} alternating rounds, "
          f"{args.warmup} warm-up + {args.steps} timed steps each (torch {torch.__version__}; "
          f"{compiled_ops_status()})")
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
    return normalize_images(images, [float(v) for v in metadata["normalize_mean"].split(",")],
                            [float(v) for v in metadata["normalize_std"].split(",")])


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
        resolved = load_yaml(metadata["config"])
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
            twin = trainable(Net(resolved["model"], DICTIONARY_OPS[args.dictionary_op]))
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
    ap.add_argument("--compiled", action="store_true",
                    help="the pursuit layers through scn's compiled ops (python/ops; an error when not built)")
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
    if any(getattr(m, "regularized", False) for m in net.nodes):
        print(f"{PROG}: warning: regularizer (the coherence penalty) is not emulated: the loss is the cross "
              f"entropy alone", file=sys.stderr)
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
