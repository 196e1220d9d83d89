"""Loading an `scn export` file (or an scn checkpoint) as a ready torch.nn.Module, and scn's preprocessing.

`scn export CKPT --to OUT.safetensors` writes the net's tensors (`<node>.<param>`, PyTorch layouts) and the
metadata format "pt", scn_export "1", scn_version, config (the run's resolved YAML config), normalize_mean
and normalize_std (per channel, comma-separated: input = (pixel/255 − mean)/std), class_names (a JSON list;
absent in older checkpoints) and epoch. A checkpoint (`last.safetensors`, `best.safetensors`) holds the same
metadata with format "scn-checkpoint-N", the optimizer's state (ignored here) and the power iteration's
vectors, which make the patch pursuit's step exactly scn's (without them it is recomputed to convergence).
"""
import json

import torch

from .config import ConfigError, load_yaml
from .net import Net
from .safetensors_io import read_safetensors
from .sparse_code import DICTIONARY_OPS


def _numbers(metadata, key, path):
    text = metadata.get(key)
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{path}: metadata {key!r} is not a comma-separated list of numbers: {text!r}") from None


def load(path, device=None, dictionary_op="conv2d_input"):
    """The net of an `scn export` file (or of an scn checkpoint) with its weights, in eval mode.

    device: where the module goes (default: the CPU). dictionary_op: how the convolutional pursuit's D z is
    computed, "conv2d_input" or "conv_transpose2d" (the same values; speed differs by PyTorch build).
    The module's forward takes preprocessed images (preprocess()) and returns logits [N, classes], as
    `scn eval --dump-logits` does with the default `--bn running`. Besides nn.Module's, it has:

      config         the run's resolved config (dict; `config["model"]` is the flat layer list)
      config_text    the same as scn wrote it (YAML)
      class_names    list of str, or None when the file has none
      normalize_mean, normalize_std   tuples of per-channel floats (None when the file has none)
      epoch          int or None; scn_version: str or None; metadata: the file's whole metadata (dict)
      names, nodes   the scn node names and their modules (node(name) finds one)
    """
    tensors, metadata, _ = read_safetensors(path)
    fmt = metadata.get("format", "")
    if "config" not in metadata:
        raise ValueError(f"{path}: no 'config' in the file's metadata: not written by scn export or scn train")
    if not (metadata.get("scn_export") or fmt.startswith("scn-checkpoint")):
        raise ValueError(f"{path}: metadata format {fmt!r}: not an scn export (scn_export) or scn checkpoint")
    if dictionary_op not in DICTIONARY_OPS:
        raise ValueError(f"dictionary_op: expected one of {sorted(DICTIONARY_OPS)}, got {dictionary_op!r}")
    config = load_yaml(metadata["config"])
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"{path}: the metadata's config has no `model:` section")
    try:
        net = Net(config["model"], DICTIONARY_OPS[dictionary_op], where=f"{path}: config: model", init=False)
    except ConfigError as e:
        raise ValueError(str(e)) from None
    net.load_scn_tensors(tensors, path)
    net.config = config
    net.config_text = metadata["config"]
    net.metadata = dict(metadata)
    names = metadata.get("class_names")
    net.class_names = list(json.loads(names)) if names else None
    net.normalize_mean = _numbers(metadata, "normalize_mean", path)
    net.normalize_std = _numbers(metadata, "normalize_std", path)
    if (net.normalize_mean is None) != (net.normalize_std is None) or (
            net.normalize_mean is not None and len(net.normalize_mean) != len(net.normalize_std)):
        raise ValueError(f"{path}: normalize_mean and normalize_std do not match")
    net.epoch = int(metadata["epoch"]) if metadata.get("epoch", "").isdigit() else None
    net.scn_version = metadata.get("scn_version")
    net.eval()
    if device is not None:
        net.to(device)
    return net


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
    if isinstance(model, str):
        from .safetensors_io import read_metadata
        meta = read_metadata(model)
        mean, std = _numbers(meta, "normalize_mean", model), _numbers(meta, "normalize_std", model)
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
