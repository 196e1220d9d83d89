"""Loading an `scn export` file (or an scn checkpoint) as a ready torch.nn.Module, and scn's preprocessing.

`scn export CKPT --to OUT.safetensors` writes the net's tensors (`<node>.<param>`, PyTorch layouts) and the
metadata format "pt", scn_export "1", scn_version, config (the run's resolved YAML config), normalize_mean
and normalize_std (per channel, comma-separated: input = (pixel/255 − mean)/std), class_names (a JSON list;
absent in older checkpoints) and epoch. A checkpoint (`last.safetensors`, `best.safetensors`) holds the same
metadata with format "scn-checkpoint-N", the optimizer's state (ignored here) and the power iteration's
vectors, which make the patch pursuit's step exactly scn's (without them it is recomputed to convergence).
"""
import os

import torch

from .config import ConfigError
from .errors import ExportError
from .metadata import (check_format, check_other, parse_class_names, parse_config, parse_count, parse_normalization,
                       parse_numbers)
from .net import Net
from .safetensors_io import read_header, read_safetensors
from .sparse_code import DICTIONARY_OPS


def _non_finite(tensors, path):
    for name, t in tensors.items():
        if t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise ExportError(f"{path}: tensor {name} holds {bad} NaN or Inf values: the run that wrote it had "
                              f"diverged, so the file is not usable")


def load(path, device=None, dictionary_op="conv2d_input", compiled=None):
    """The net of an `scn export` file (or of an scn checkpoint) with its weights, in eval mode.

    device: where the module goes (default: the CPU). dictionary_op: how the convolutional pursuit's D z is
    computed, "conv2d_input" or "conv_transpose2d" (the same values; speed differs by PyTorch build).
    compiled: its sparse_code and ml_pursuit nodes through scn's compiled ops: None (the default: when they are
    built; scn_torch.compiled_ops_status() says), True (an error when they are not), False (pure PyTorch).
    The module's forward takes preprocessed images (preprocess()) and returns logits [N, classes], as
    `scn eval --dump-logits` does with the default `--bn running`. Besides nn.Module's, it has:

      config         the run's resolved config (dict; `config["model"]` is the flat layer list)
      config_text    the same as scn wrote it (YAML)
      class_names    list of str, or None when the file has none
      normalize_mean, normalize_std   tuples of per-channel floats (None when the file has none)
      epoch          int or None; scn_version: str or None; metadata: the file's whole metadata (dict)
      names, nodes   the scn node names and their modules (node(name) finds one)

    The file is checked as scn checks it before anything is allocated: the header against the file
    (safetensors_io), the metadata (metadata.py), the config's keys and sizes within scn's bounds, and every
    tensor's name, dtype (F32) and exact shape against the net the config describes (built first on the meta
    device, which allocates nothing); then the data is read and must be finite. Any refusal is an
    ExportError (a ValueError) naming the file and the tensor or key.
    """
    if dictionary_op not in DICTIONARY_OPS:
        raise ValueError(f"dictionary_op: expected one of {sorted(DICTIONARY_OPS)}, got {dictionary_op!r}")
    path = os.fspath(path)
    entries, metadata = read_header(path)
    check_format(metadata, path)
    config = parse_config(metadata, path)
    where = f"{path}: metadata 'config': model"
    try:
        shapes = Net(config["model"], where=where, init=False, device="meta")
    except ConfigError as e:
        raise ExportError(str(e)) from None
    class_names = parse_class_names(metadata, shapes.classes, path)
    mean, std = parse_normalization(metadata, shapes.input_shape[0], path)
    epoch = parse_count(metadata, "epoch", path)
    check_other(metadata, path)
    shapes.check_scn_tensors({e.name: _HeaderTensor(e) for e in entries}, path)

    tensors, _, _ = read_safetensors(path)
    _non_finite(tensors, path)
    net = Net(config["model"], DICTIONARY_OPS[dictionary_op], where=where, init=False, compiled=compiled)
    net.load_scn_tensors(tensors, path)
    net.config = config
    net.config_text = metadata["config"]
    net.metadata = dict(metadata)
    net.class_names = class_names
    net.normalize_mean, net.normalize_std = mean, std
    net.epoch = epoch
    net.scn_version = metadata.get("scn_version")
    net.eval()
    if device is not None:
        net.to(device)
    return net


class _HeaderTensor:
    """A tensor as the header describes it (shape and dtype), for Net.check_scn_tensors before any data is read."""

    def __init__(self, entry):
        self.shape = entry.shape
        self.dtype = torch.float32 if entry.dtype == "F32" else entry.dtype


def normalize_images(images, mean, std, dtype=torch.float32, device=None):
    """(pixel/255 − mean)/std per channel of [N, C, H, W] pixels, in float32 as scn computes it
    (kernels/cpu/augment.cpp), then cast to dtype."""
    device = device if device is not None else images.device
    m = torch.tensor([float(v) for v in mean], dtype=torch.float32, device=device).view(1, -1, 1, 1)
    s = torch.tensor([float(v) for v in std], dtype=torch.float32, device=device).view(1, -1, 1, 1)
    x = (images.to(device=device, dtype=torch.float32) / 255.0 - m) / s
    return x.to(dtype)


def _as_tensor(images):
    if isinstance(images, torch.Tensor):
        return images
    import numpy as np
    a = np.asarray(images)
    if not a.flags.writeable or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a).copy()
    return torch.from_numpy(a)


def preprocess(images, model):
    """scn's input normalisation: (pixel/255 − mean)/std per channel, in float32 as scn computes it, on the
    model's device and in its dtype. `model`: a module from load(), or the path of an export.

    images: pixel values 0…255 (uint8, or any numeric tensor or NumPy array), [N, C, H, W], or one image
    [C, H, W], or [N, H, W] for a one-channel net."""
    x = _as_tensor(images)
    if isinstance(model, (str, os.PathLike)):
        from .safetensors_io import read_metadata
        path = os.fspath(model)
        meta = read_metadata(path)
        mean, std = parse_numbers(meta, "normalize_mean", path), parse_numbers(meta, "normalize_std", path)
        shape, dtype, device = None, torch.float32, x.device
    else:
        mean, std = getattr(model, "normalize_mean", None), getattr(model, "normalize_std", None)
        shape = getattr(model, "input_shape", None)
        p = next(iter(model.parameters()), None)
        dtype, device = (p.dtype, p.device) if p is not None else (torch.float32, x.device)
    if x.dim() == 3:
        if shape is not None and shape[0] == 1 and tuple(x.shape[1:]) == tuple(shape[1:]):
            x = x.unsqueeze(1)          # [N, H, W] of a one-channel net
        else:
            x = x.unsqueeze(0)          # one [C, H, W] image
    if x.dim() != 4:
        raise ValueError(f"preprocess: expected images [N, C, H, W] (or [C, H, W]), got shape {list(x.shape)}")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"preprocess: images of shape {list(x.shape[1:])}, the net takes {list(shape)}")
    if mean is None:   # data.normalize: none — scn's mean 0, std 1
        mean, std = (0.0,) * x.shape[1], (1.0,) * x.shape[1]
    if len(mean) != x.shape[1]:
        raise ValueError(f"preprocess: {x.shape[1]} channels, the normalisation has {len(mean)}")
    return normalize_images(x, mean, std, dtype, device)
