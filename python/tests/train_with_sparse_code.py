#!/usr/bin/env python3
"""ctest python.small_cnn_with_sparse_code_trains: a small CNN written in plain PyTorch with one
scn_torch.SparseCode2d (a CSCN-style layer: 2 FISTA steps, step: auto) trains 300 SGD steps on Fashion-MNIST
and its loss falls; then it classifies held-out test images well above chance.

    train_with_sparse_code.py [--compiled | --pure]

--compiled (the ctest) insists on scn's compiled ops, --pure on the pure-PyTorch path. Passes when the mean loss
of the last 30 steps is below 60% of the first 30's and test accuracy on 1,000 images is above 60% (chance: 10%).
Exit 77 (skipped) without Fashion-MNIST ($SCN_FASHION_MNIST_DIR, default /usr/share/datasets/fashion-mnist).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from check_export import SKIP, idx_file, read_idx  # noqa: E402

STEPS, BATCH, TEST_IMAGES = 300, 32, 1000


def images_and_labels(folder, split, limit):
    import torch
    pixels, shape = read_idx(idx_file(folder, f"{split}-images-idx3-ubyte"), limit)
    labels, _ = read_idx(idx_file(folder, f"{split}-labels-idx1-ubyte"), limit)
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).view(shape[0], 1, 28, 28).float() / 255.0
    return (x - 0.286) / 0.353, torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()


def main(argv):
    data = os.environ.get("SCN_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
    if not all(idx_file(data, f"{s}-{k}-idx{n}-ubyte") for s in ("train", "t10k")
               for k, n in (("images", 3), ("labels", 1))):
        print(f"SKIP: no Fashion-MNIST in {data} (Debian's dataset-fashion-mnist package, or set SCN_FASHION_MNIST_DIR)")
        return SKIP
    compiled = {"--compiled": True, "--pure": False}.get(argv[1] if len(argv) > 1 else "--compiled")
    import torch
    import torch.nn as nn
    import scn_torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    print(scn_torch.compiled_ops_status())

    # The user's side: a CNN in plain PyTorch with one sparse-coding layer.
    model = nn.Sequential(
        scn_torch.SparseCode2d(1, 16, 5, stride=2, iters=2, step="auto", compiled=compiled),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)

    x, y = images_and_labels(data, "train", STEPS * BATCH)
    losses, start = [], time.perf_counter()
    for step in range(STEPS):
        xb, yb = x[step * BATCH:(step + 1) * BATCH], y[step * BATCH:(step + 1) * BATCH]
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model[0].project()          # scn's projections: thresholds and steps stay >= 0
        losses.append(float(loss))
    seconds = time.perf_counter() - start

    tx, ty = images_and_labels(data, "t10k", TEST_IMAGES)
    model.eval()
    with torch.no_grad():
        accuracy = float((model(tx).argmax(1) == ty).float().mean())
    first, last = sum(losses[:30]) / 30, sum(losses[-30:]) / 30
    print(f"{STEPS} steps of {BATCH} in {seconds:.1f} s ({STEPS * BATCH / seconds:.0f} images/s): loss "
          f"{first:.3f} -> {last:.3f}; test accuracy {100 * accuracy:.1f}% on {TEST_IMAGES} images")
    ok = last < 0.6 * first and accuracy > 0.6
    if not ok:
        print("FAIL: the loss did not fall below 60% of its start, or the accuracy is not above 60%")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
