#!/usr/bin/env python3
"""Writes the seed corpus of the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp): a few small valid inputs
each, so the fuzzer starts from files the readers accept instead of having to discover the formats.

    tests/fuzz/make_corpus.py OUT_DIR        # writes OUT_DIR/<harness>/seed-*

Generated rather than committed: the formats are spelled out here, next to the harnesses' framing. Standard
library only (struct, zlib, gzip); the JPEGs are baseline files encoded by hand (DC-only 8×8 blocks)."""
import gzip
import json
import pathlib
import struct
import sys
import zlib

REPO = pathlib.Path(__file__).resolve().parents[2]


# --- safetensors --------------------------------------------------------------------------------------------
def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] laid out in order."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    f32 = struct.pack("<6f", *range(6))
    yield "two", safetensors([("w", "F32", [2, 3], f32), ("b", "I32", [2], struct.pack("<2i", -1, 7))],
                             {"format": "scn", "epoch": "3"})
    yield "dtypes", safetensors([("a", "F64", [1, 1, 2, 1], struct.pack("<2d", 0.5, -2)),
                                 ("u", "U8", [4], bytes([0, 1, 254, 255])), ("empty", "F32", [0, 5], b"")])
    yield "scalar", safetensors([("s", "F32", [], struct.pack("<f", 1.0))])


# --- config (fuzz_config: YAML, then NUL-separated overrides) -----------------------------------------------
SMALL_CONFIG = """model:
  input: [3, 8, 8]
  classes: 4
  layers:
    - {type: sparse_code, out: 8, kernel: 3, iters: 2, algorithm: fista, step: auto, threshold: {init: 0.1, shared: true}}
    - {type: batch_norm, affine: false}
    - {type: pool, mode: max, kernel: 2}
    - {type: conv, name: c, out: 8, kernel: 3, stride: 1, pad: 1, bias: true, init: {type: kaiming}}
    - {type: relu}
    - {type: add, inputs: [l4, l2]}
    - {type: dropout, p: 0.1}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
data: {format: cifar100, dir: data/x, label: coarse, val_split: 10, normalize: {mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}, augment: {crop_pad: 2, flip: true}}
optimizer: {type: adamw, lr: 0.001, betas: [0.9, 0.99], eps: 1.0e-7, weight_decay: 0.05}
schedule: {type: multistep, milestones: [2, 4], gamma: 0.5, warmup_epochs: 0.5}
train: {epochs: 5, batch: 16, label_smoothing: 0.1, deterministic: true, device: cpu, threads: 1}
eval: {every: 1, batch: 32}
output: {dir: runs/fuzz}
seed: 7
"""


def config_seeds():
    yield "small", SMALL_CONFIG.encode()
    yield "overrides", b"\0".join([SMALL_CONFIG.encode(), b"train.epochs=2", b"model.layers[0].iters=1",
                                   b"model.layers[8]={type: linear, out: 4}", b"data.augment.flip=false"])
    yield "minimal", b"model: {input: [1, 4, 4], classes: 2, layers: [{type: linear, out: 2}]}\n"
    yield "short", b"\0".join([b"""model:
  input: [3, 8, 8]
  classes: 4
  defaults: {sparse_code: {iters: 2, step: auto}, batch_norm: {affine: false}}
  layers:
    - repeat: 2
      layers:
        - {type: batch_norm, name: n}
        - {type: sparse_code, out: 3, name: s}
        - {type: add, inputs: [n, s]}
    - {type: global_avg_pool}
    - {type: linear, out: 4}
""", b"model.layers[*].layers[*].out=3", b"model.defaults.sparse_code.iters=1"])
    # The project's own configs: the real schema, with comments.
    for path in sorted(REPO.glob("configs/**/*.yaml")):
        yield "repo-" + "-".join(path.relative_to(REPO / "configs").with_suffix("").parts), path.read_bytes()


# --- CIFAR / IDX (fuzz_cifar_idx framing: format byte, image size byte, length-prefixed files) ---------------
def framed(format_byte, image_size, files):
    return bytes([format_byte, image_size]) + b"".join(struct.pack("<I", len(f)) + f for f in files)


def cifar_records(count, size, labels):
    """count records of `size`×`size` RGB; labels: the label bytes of record i (a function)."""
    return b"".join(bytes(labels(i)) + bytes((i * 7 + k) % 256 for k in range(3 * size * size)) for i in range(count))


def idx_images(count, rows, cols):
    return struct.pack(">4I", 2051, count, rows, cols) + bytes((i * 13) % 256 for i in range(count * rows * cols))


def idx_labels(count):
    return struct.pack(">2I", 2049, count) + bytes(i % 10 for i in range(count))


def cifar_idx_seeds():
    gz = lambda b: gzip.compress(b, mtime=0)
    train10, test10 = cifar_records(3, 2, lambda i: [i % 3]), cifar_records(2, 2, lambda i: [1])
    names = b"cat\ndog\n\nbird\n"
    yield "cifar10", framed(0, 2, [train10, test10])
    yield "cifar10-meta", framed(0, 2, [train10, test10, names])
    yield "cifar10-gzip", framed(4, 2, [gz(train10), gz(test10), gz(names)])
    yield "cifar10-32", framed(0, 32, [cifar_records(1, 32, lambda i: [9]), cifar_records(1, 32, lambda i: [0])])
    train100 = cifar_records(4, 2, lambda i: [i % 20, (i * 31) % 100])
    yield "cifar100-fine", framed(1, 2, [train100])
    yield "cifar100-coarse-names", framed(1 | 8, 2, [train100, b"", "".join(f"c{i}\n" for i in range(20)).encode()])
    yield "cifar100-gzip", framed(1 | 4, 2, [gz(train100)])
    yield "mnist", framed(2, 0, [idx_images(3, 4, 5), idx_labels(3)])
    yield "fashion-gzip", framed(2 | 4 | 8, 0, [gz(idx_images(2, 3, 3)), gz(idx_labels(2))])


# --- gzip (fuzz_gzip: the file itself) -----------------------------------------------------------------------
def gzip_seeds():
    text = b"scn " * 50
    yield "gzip", gzip.compress(text, mtime=0)
    yield "gzip-two-members", gzip.compress(b"first ", mtime=0) + gzip.compress(b"second", mtime=0)
    yield "gzip-empty", gzip.compress(b"", mtime=0)
    yield "gzip-stored", gzip.compress(bytes(range(256)), compresslevel=0, mtime=0)
    yield "plain", b"not compressed\n"


# --- images (fuzz_image) -------------------------------------------------------------------------------------
def png(width, height, color_type, bit_depth, rows, palette=None, interlace=0):
    """rows: the raw scanlines (each gets filter byte 0). color_type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha,
    6 RGBA."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">2I5B", width, height, bit_depth, color_type, 0, 0,
                                                             interlace))
    if palette:
        out += chunk(b"PLTE", palette)
    return out + chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in rows))) + chunk(b"IEND", b"")


def jpeg(width, height, components, dc_levels):
    """A baseline JPEG whose 8×8 blocks are flat: block b of each component has DC value dc_levels[b] (in
    units of the quantiser, 16: each unit is 2 grey levels), all AC coefficients zero. One Huffman table pair
    serves all components: DC category 0 ("0") or 4 ("10" + 4 bits), AC end-of-block ("0")."""
    seg = lambda marker, body: struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body
    out = b"\xff\xd8" + seg(0xDB, b"\x00" + bytes([16] * 64))
    out += seg(0xC0, struct.pack(">BHHB", 8, height, width, components) +
               b"".join(bytes([c + 1, 0x11, 0]) for c in range(components)))
    out += seg(0xC4, b"\x00" + bytes([1, 1] + [0] * 14) + bytes([0, 4]))  # DC: "0" → 0, "10" → category 4
    out += seg(0xC4, b"\x10" + bytes([1] + [0] * 15) + bytes([0]))        # AC: "0" → end of block
    out += seg(0xDA, bytes([components]) + b"".join(bytes([c + 1, 0]) for c in range(components)) + b"\x00\x3f\x00")
    bits, previous = "", [0] * components
    for b in range((width + 7) // 8 * ((height + 7) // 8)):  # MCUs in raster order, one block per component
        for c in range(components):
            diff = dc_levels[b % len(dc_levels)] - previous[c]
            previous[c] += diff
            assert diff == 0 or 8 <= abs(diff) < 16, "category 4 only"
            bits += "0" if diff == 0 else "10" + format(diff if diff > 0 else diff + 15, "04b")
            bits += "0"  # end of block
    bits += "1" * (-len(bits) % 8)
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).replace(b"\xff", b"\xff\x00")
    return out + data + b"\xff\xd9"


def image_seeds():
    yield "png-rgb", png(4, 3, 2, 8, [bytes(range(y * 12, y * 12 + 12)) for y in range(3)])
    yield "png-grey", png(5, 2, 0, 8, [b"\x00\x40\x80\xc0\xff"] * 2)
    yield "png-rgba16", png(2, 2, 6, 16, [bytes(range(16))] * 2)
    yield "png-palette", png(3, 1, 3, 8, [b"\x00\x01\x02"], palette=b"\xff\x00\x00\x00\xff\x00\x00\x00\xff")
    yield "png-grey-alpha-interlaced", png(1, 1, 4, 8, [b"\x80\xff"], interlace=1)
    yield "jpeg-grey", jpeg(8, 8, 1, [0])
    yield "jpeg-grey-2-blocks", jpeg(16, 8, 1, [0, 8])
    yield "jpeg-rgb", jpeg(9, 9, 3, [8, 0, -8, 0])


HARNESSES = {"fuzz_safetensors": safetensors_seeds, "fuzz_config": config_seeds, "fuzz_cifar_idx": cifar_idx_seeds,
             "fuzz_gzip": gzip_seeds, "fuzz_image": image_seeds}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for harness, seeds in HARNESSES.items():
        folder = pathlib.Path(sys.argv[1]) / harness
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds():
            (folder / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
