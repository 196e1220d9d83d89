"""Reading a run folder's JSON-lines logs (metrics.jsonl, steps.jsonl) for tools/plot and tools/tensorboard.

One reader for both, so that both refuse the same malformed input with the same one-line message naming the
file and the line (and the key): a binary file, a line that is not JSON or nests too deeply, a record that is
not an object, `"epoch": null` or any non-integer epoch, a string where a number belongs, a layer map that is
not an object of numbers. A run still being written may end in a partial line: it is skipped with a warning.
Numbers may be NaN or Infinity (Python's json reads them): the tools decide what to draw of them.

metrics.jsonl (docs/design.md, "Run folder"): one object per epoch with "epoch" (a non-negative integer),
the numbers (or null) of EPOCH_KEYS, and the maps of LAYER_MAPS (node -> number or null; sparsity fractions
in [0, 1]). steps.jsonl: one object every train.log_every steps with "step" (a non-negative integer) and the
numbers (or null) of STEP_KEYS. Other keys are not read.
"""
import json
import math
import os
import sys

EPOCH_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_acc_batch_statistics", "lr", "images_per_s",
              "seconds", "regularizer")
LAYER_MAPS = ("sparsity", "coherence")
STEP_KEYS = ("epoch", "epoch_step", "loss", "epoch_loss", "epoch_acc", "lr", "images_per_s")


class MetricsError(Exception):
    """Malformed input: one line naming the file and the line."""


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_type(v):
    """How a message names the JSON type of v."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_number(v):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


def parse_json(text, where):
    """json.loads(text), or a MetricsError at `where` (file:line) for invalid or too deeply nested JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise MetricsError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise MetricsError(f"{where}: nested too deeply to be a record") from None


def read_jsonl(path, required=True, warn=None):
    """[(line number, record)] of a JSON-lines file of objects; [] when it is absent and not required."""
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
    if not os.path.isfile(path):
        if required:
            raise MetricsError(f"{path}: no such file (is {os.path.dirname(path) or '.'} a run folder?)")
        return []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MetricsError(f"{path}: cannot read: {e.strerror or e}") from None
    lines = data.split(b"\n")
    # A file written line by line ends in "\n"; anything after the last "\n" is a line still being written.
    partial_tail = data != b"" and not data.endswith(b"\n")
    records = []
    for number, raw in enumerate(lines, start=1):
        where = f"{path}:{number}"
        last = number == len(lines) and partial_tail
        try:
            line = raw.decode("utf-8")
            if "\0" in line:
                raise UnicodeDecodeError("utf-8", raw, line.index("\0"), line.index("\0") + 1, "NUL byte")
        except UnicodeDecodeError as e:
            if last:
                warn(f"{where}: ignoring an incomplete last line (run still in progress?)")
                continue
            raise MetricsError(f"{where}: not text (byte {e.start + 1} of the line is not UTF-8; a binary file?)") \
                from None
        if not line.strip():
            continue
        try:
            record = parse_json(line, where)
        except MetricsError:
            if last:
                warn(f"{where}: ignoring an incomplete last line (run still in progress?)")
                continue
            raise
        if not isinstance(record, dict):
            raise MetricsError(f"{where}: expected a JSON object, got {json_type(record)}")
        records.append((number, record))
    return records


def check_count(record, key, where, required=True):
    v = record.get(key)
    if v is None and not required and key not in record:
        return
    if not (is_number(v) and math.isfinite(v) and v >= 0 and v == int(v)):
        shown = json.dumps(v) if isinstance(v, str) and len(v) < 30 else json_type(v)
        raise MetricsError(f"{where}: \"{key}\" must be a non-negative integer, got {shown}")


def check_numbers(record, keys, where):
    for key in keys:
        v = record.get(key)
        if v is not None and not is_number(v):
            raise MetricsError(f"{where}: \"{key}\" must be a number or null, got {json_type(v)}")


def check_layer_map(record, key, where):
    """record[key], when present, is an object of node -> number or null (a fraction for sparsity)."""
    m = record.get(key)
    if m is None:
        return
    if not isinstance(m, dict):
        raise MetricsError(f"{where}: \"{key}\" must be an object of layer -> number, got {json_type(m)}")
    for node, v in m.items():
        if v is None:
            continue
        if not is_number(v):
            raise MetricsError(f"{where}: \"{key}\".\"{node}\" must be a number or null, got {json_type(v)}")
        if key == "sparsity" and math.isfinite(v) and not 0.0 <= v <= 1.0:
            raise MetricsError(f"{where}: \"sparsity\".\"{node}\" must be a fraction of non-zeros in [0, 1], got {v}")


def read_metrics(run_dir, warn=None):
    """[(line number, record)] of RUN_DIR/metrics.jsonl, each checked (see the module's docstring)."""
    path = os.path.join(run_dir, "metrics.jsonl")
    records = read_jsonl(path, True, warn)
    for number, record in records:
        where = f"{path}:{number}"
        check_count(record, "epoch", where)
        check_numbers(record, EPOCH_KEYS, where)
        for key in LAYER_MAPS:
            check_layer_map(record, key, where)
    return records


def read_steps(run_dir, warn=None):
    """[(line number, record)] of RUN_DIR/steps.jsonl ([] when absent), each checked."""
    path = os.path.join(run_dir, "steps.jsonl")
    records = read_jsonl(path, False, warn)
    for number, record in records:
        where = f"{path}:{number}"
        check_count(record, "step", where)
        check_numbers(record, STEP_KEYS, where)
    return records
