"""The metadata of an `scn export` file or an scn checkpoint, checked as scn's reader checks it
(models/checkpoint.cpp) before anything is built from it. Needs PyYAML only (no torch).

Keys (all strings): format ("pt" with scn_export "1", or "scn-checkpoint-2" / "scn-checkpoint-1"), config (the
run's resolved YAML config, at most 1 MiB as scn reads configs, SCN_MAX_CONFIG_BYTES), epoch, step and
epoch_step (non-negative integers), normalize_mean and normalize_std (comma-separated finite numbers, one per
input channel, std > 0), class_names (a JSON list of strings, one per class), val_accuracy (one number).
Every refusal is an ExportError naming the file and the key.
"""
import json
import math
import os

from .config import load_yaml
from .errors import ExportError, shown

CHECKPOINT_FORMATS = ("scn-checkpoint-2", "scn-checkpoint-1")
DEFAULT_MAX_CONFIG_BYTES = 1 << 20     # core/input_limits.cpp: a config file


def max_config_bytes():
    """SCN_MAX_CONFIG_BYTES where it is a positive integer, else scn's 1 MiB."""
    text = os.environ.get("SCN_MAX_CONFIG_BYTES", "")
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_CONFIG_BYTES


def check_format(metadata, path):
    fmt = metadata.get("format")
    if metadata.get("scn_export") is not None:
        if metadata["scn_export"] != "1" or fmt != "pt":
            raise ExportError(f"{path}: metadata 'scn_export' {shown(metadata['scn_export'])} with format "
                              f"{shown(fmt)}: not an export this scn_torch reads (scn_export \"1\", format \"pt\")")
    elif fmt not in CHECKPOINT_FORMATS:
        raise ExportError(f"{path}: metadata format {shown(fmt)}: not an scn export (scn_export) or scn checkpoint "
                          f"({', '.join(CHECKPOINT_FORMATS)})")


def parse_config(metadata, path):
    """The metadata's config as a dict with a `model:` map."""
    text = metadata.get("config")
    if text is None:
        raise ExportError(f"{path}: no 'config' in the file's metadata: not written by scn export or scn train")
    limit = max_config_bytes()
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        raise ExportError(f"{path}: metadata 'config' is {len(text.encode('utf-8', 'surrogatepass'))} bytes, more "
                          f"than the {limit} a config may have (SCN_MAX_CONFIG_BYTES)")
    import yaml
    try:
        config = load_yaml(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ExportError(f"{path}: metadata 'config'{where}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ExportError(f"{path}: metadata 'config': not valid YAML: {shown(str(e), 200)}") from None
    except RecursionError:
        raise ExportError(f"{path}: metadata 'config': nested too deeply to be a config") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ExportError(f"{path}: metadata 'config' has no `model:` section")
    return config


def parse_count(metadata, key, path):
    """A non-negative integer (None when absent)."""
    text = metadata.get(key)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()):
        raise ExportError(f"{path}: metadata {key!r} is not a non-negative integer: {shown(text)}")
    return int(text)


def parse_numbers(metadata, key, path):
    """The comma-separated finite numbers of metadata[key] as a tuple (None when absent)."""
    text = metadata.get(key)
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ExportError(f"{path}: metadata {key!r} is not a comma-separated list of numbers: {shown(text)}") from None
    if not all(math.isfinite(v) for v in values):
        raise ExportError(f"{path}: metadata {key!r} holds a value that is not finite: {shown(text)}")
    return values


def parse_normalization(metadata, channels, path):
    """(mean, std) per input channel, or (None, None) when the file has neither."""
    mean, std = parse_numbers(metadata, "normalize_mean", path), parse_numbers(metadata, "normalize_std", path)
    if (mean is None) != (std is None) or (mean is not None and len(mean) != len(std)):
        raise ExportError(f"{path}: metadata normalize_mean and normalize_std do not match")
    if mean is not None:
        if len(mean) != channels:
            raise ExportError(f"{path}: metadata 'normalize_mean' has {len(mean)} values for a net of {channels} "
                              f"input channel(s)")
        if not all(s > 0 for s in std):
            raise ExportError(f"{path}: metadata 'normalize_std' {shown(metadata['normalize_std'])}: every std "
                              f"must be > 0 (the input is divided by it)")
    return mean, std


def parse_class_names(metadata, classes, path):
    """The list of class names (one per class), or None when the file has none."""
    text = metadata.get("class_names")
    if text is None:
        return None
    try:
        names = json.loads(text)
    except RecursionError:
        names = None
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ExportError(f"{path}: metadata 'class_names' is not a JSON list of strings")
    if len(names) != classes:
        raise ExportError(f"{path}: metadata 'class_names' has {len(names)} names for a net of {classes} classes")
    return names


def check_other(metadata, path):
    """The keys scn checks that load() does not use: step, epoch_step, val_accuracy."""
    for key in ("step", "epoch_step"):
        parse_count(metadata, key, path)
    accuracy = parse_numbers(metadata, "val_accuracy", path)
    if accuracy is not None and len(accuracy) != 1:
        raise ExportError(f"{path}: metadata 'val_accuracy' must be one number")
