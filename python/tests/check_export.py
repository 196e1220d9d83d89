#!/usr/bin/env python3
"""ctest python.scn_torch_matches_scn_eval: an scn export loaded with scn_torch gives scn eval's logits.

    check_export.py SCN_BINARY REPO

Trains python/tests/export_check.yaml (every layer type; both pursuits) with the scn binary for one epoch
on the first 300 Fashion-MNIST training images, then on the first 200 test images compares the logits of
`scn eval --dump-logits` (running batch-norm statistics) with those of scn_torch.load() of
`scn export`'s file (which has no power-iteration vectors: the patch pursuit's step is recomputed from a
converged cold start) and of the checkpoint itself (which has them: scn's own 20 warm iterations). Passes
when both differ by at most 1e-4 (max |Δ logit|). Exit 77 (skipped) without Fashion-MNIST
($SCN_FASHION_MNIST_DIR, default /usr/share/datasets/fashion-mnist).
"""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile

TOLERANCE = 1e-4
TRAIN_IMAGES, TEST_IMAGES = 300, 200
SKIP = 77


def idx_file(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def read_idx(path, limit):
    """The first `limit` items of an IDX file (MNIST's format) as (bytes, dims)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range((magic & 0xFF) - 1)]
        n = min(limit, count)
        size = 1
        for d in dims:
            size *= d
        return f.read(n * size), [n] + dims


def run(argv, what):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stdout.write(p.stdout[-3000:])
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit(f"check_export: {what} failed with exit status {p.returncode}: {' '.join(argv)}")
    return p.stdout


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    scn, repo = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    data = os.environ.get("SCN_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    files = {s: idx_file(data, s) for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    if not all(files.values()):
        print(f"SKIP: no Fashion-MNIST in {data} (Debian's dataset-fashion-mnist package, or set "
              f"SCN_FASHION_MNIST_DIR)")
        return SKIP
    sys.path.insert(0, os.path.join(repo, "python"))   # this tree's scn_torch, not an installed one
    import torch
    import scn_torch
    from scn_torch.sparse_code import PatchSparseCode
    print(f"torch {torch.__version__}, scn_torch from {os.path.dirname(scn_torch.__file__)}")
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    config = os.path.join(repo, "python", "tests", "export_check.yaml")
    work = tempfile.mkdtemp(prefix="scn_torch_check_")
    ok = False
    try:
        overrides = [f"data.dir={data}", f"data.limit={TRAIN_IMAGES}", f"data.test_limit={TEST_IMAGES}"]
        run_dir = os.path.join(work, "run")
        run([scn, "train", config, *overrides, "--out", run_dir, "--device", "cpu"], "scn train")
        ckpt = os.path.join(run_dir, "last.safetensors")
        dump = os.path.join(work, "logits.safetensors")
        out = run([scn, "eval", config, *overrides, "--checkpoint", ckpt, "--dump-logits", dump, "--device", "cpu"],
                  "scn eval")
        accuracy = [l.split(":", 1)[-1].strip() for l in out.splitlines() if "top-1" in l][:1]
        export = os.path.join(work, "export.safetensors")
        run([scn, "export", ckpt, "--to", export], "scn export")

        ref, _, _ = scn_torch.read_safetensors(dump)
        pixels, shape = read_idx(files["t10k-images-idx3-ubyte"], TEST_IMAGES)
        images = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).view(shape)      # [N, 28, 28]
        labels, _ = read_idx(files["t10k-labels-idx1-ubyte"], TEST_IMAGES)
        labels = torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()
        if ref["logits"].shape != (TEST_IMAGES, 10) or not torch.equal(ref["labels"].long(), labels):
            raise SystemExit(f"check_export: scn eval's dump holds {list(ref['logits'].shape)} logits whose labels "
                             f"are not the first {TEST_IMAGES} test labels")
        print(f"scn eval on {TEST_IMAGES} test images: {accuracy[0] if accuracy else '(no top-1 line)'}")

        results = {}
        etas = {}
        for what, path in (("export", export), ("checkpoint", ckpt)):
            model = scn_torch.load(path)
            x = scn_torch.preprocess(images, model)
            with torch.no_grad():
                logits = model(x)
            diff = (logits - ref["logits"]).abs().max().item()
            agree = (logits.argmax(1) == ref["logits"].argmax(1)).float().mean().item()
            results[what] = diff
            etas[what] = {n: m.evaluation_step().item() for n, m in zip(model.names, model.nodes)
                          if isinstance(m, PatchSparseCode) and m.step_auto}
            print(f"scn_torch.load({what}): max |logit difference| against scn eval {diff:.2e} (max |logit| "
                  f"{ref['logits'].abs().max().item():.3g}, argmax agrees on {100 * agree:.1f}%)  "
                  f"[{'ok' if diff <= TOLERANCE else 'FAIL'}]")
            if what == "export":
                names = model.class_names
                if not (names and len(names) == 10 and names[0] == "T-shirt/top" and model.epoch == 1 and
                        len(model.config["model"]["layers"]) == 16 and model.normalize_mean is not None):
                    raise SystemExit(f"check_export: the export's metadata is not what was trained: class_names "
                                     f"{names}, epoch {model.epoch}, normalize_mean {model.normalize_mean}")
        for node, eta in etas["export"].items():
            warm = etas["checkpoint"][node]
            print(f"{node} (patch, step: auto): η from the converged cold start {eta:.7g}, from the checkpoint's "
                  f"power_vector {warm:.7g} (relative difference {abs(eta - warm) / warm:.1e})")
        # The loaded export also trains: one step from the cold power iterations, finite loss and gradients.
        model = scn_torch.load(export).train()
        loss = torch.nn.functional.cross_entropy(model(scn_torch.preprocess(images[:50], model)), labels[:50])
        loss.backward()
        finite = bool(torch.isfinite(loss)) and all(bool(torch.isfinite(p.grad).all()) for p in model.parameters()
                                                    if p.grad is not None)
        print(f"one training step of the loaded export: loss {loss.item():.4f}, gradients "
              f"{'finite' if finite else 'NOT FINITE'}  [{'ok' if finite else 'FAIL'}]")
        ok = finite and all(d <= TOLERANCE for d in results.values())
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"files kept in {work}")
    print("scn_torch matches scn eval" if ok else f"FAILED: a logit differs by more than {TOLERANCE:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
