"""Valid scn export files made in Python, and the raw pieces to break them, for the tests of scn_torch.load's
checks (check_load_refusals.py, tests/fuzz/fuzz_scn_torch_load.py).

An export is what `scn export` writes (docs/design.md, "Exports"): the net's tensors under scn's names
(`<node>.<param>`, float32, PyTorch's layouts, no power-iteration vectors) and the metadata format "pt",
scn_export "1", config, normalize_mean, normalize_std, class_names and epoch. check_export.py checks that
scn_torch loads the files scn itself writes; these are the same layout, made without the scn binary.
"""
import json
import os
import struct
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "python"))   # this tree's scn_torch

# A small net with both pursuits, batch norm and a linear head: it builds and loads in milliseconds.
CONFIG = """model:
  input: [1, 12, 12]
  classes: 3
  layers:
    - {type: sparse_code, name: code1, out: 4, kernel: 3, iters: 2, step: auto}
    - {type: pool, mode: max, kernel: 2}
    - {type: batch_norm, name: bn1}
    - {type: sparse_code, name: patch1, pursuit: patch, out: 5, kernel: 3, iters: 3}
    - {type: linear, name: head, out: 3}
data: {format: fashion_mnist, normalize: auto}
seed: 1
"""
CLASS_NAMES = ["a", "b", "c"]


_cache = {}


def tensors(config=CONFIG, seed=0):
    """{<node>.<param>: tensor} of the config's net, initialised as scn does, without the power vectors."""
    import torch
    import scn_torch
    if (config, seed) not in _cache:
        torch.manual_seed(seed)
        net = scn_torch.Net(scn_torch.load_yaml(config)["model"])
        _cache[config, seed] = {k: v.clone() for k, v in net.scn_state_dict().items()
                                if not k.endswith(".power_vector")}
    return {k: v.clone() for k, v in _cache[config, seed].items()}


def metadata(config=CONFIG, class_names=CLASS_NAMES):
    return {"format": "pt", "scn_export": "1", "scn_version": "test", "config": config,
            "normalize_mean": "0.286", "normalize_std": "0.353", "class_names": json.dumps(class_names),
            "epoch": "1"}


def header_and_data(tensor_map, meta):
    """(header dict, data bytes) as the writer lays them out: tensors in order, offsets tiling the data."""
    import torch
    names = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.uint8: "U8"}
    header, data = {"__metadata__": dict(meta)}, b""
    for name, t in tensor_map.items():
        raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data


def encode(header, data, header_text=None):
    """The file's bytes: the header (a dict, or header_text as given) padded to 8 bytes, then the data."""
    text = header_text if header_text is not None else json.dumps(header, separators=(",", ":"))
    raw = text.encode("utf-8") if isinstance(text, str) else text
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)
    return path


def export_bytes(config=CONFIG, class_names=CLASS_NAMES, tensor_map=None):
    """An export file's bytes: the tensors of CONFIG's net (or tensor_map) with the metadata of `config` (an
    edited config is what a hostile file holds: valid weights under a config that asks for something else)."""
    return encode(*header_and_data(tensor_map if tensor_map is not None else tensors(),
                                   metadata(config, class_names)))
