"""Convert scn run folders into TensorBoard event files (run through tools/tensorboard).

  tools/tensorboard RUN_DIR...            -> RUN_DIR/tensorboard/events.out.tfevents.*
  tools/tensorboard RUN_DIR --out DIR     -> DIR/events.out.tfevents.* (one run only)
  tools/tensorboard --self-test           -> converts a temporary run and reads it back

What is written, as scalars:
  metrics.jsonl (one record per epoch, step = epoch):
      epoch/train_loss, epoch/train_acc, epoch/val_loss, epoch/val_acc, epoch/val_acc_batch_statistics,
      epoch/lr, epoch/images_per_s, epoch/seconds, epoch/regularizer,
      sparsity/<node> (fraction of non-zero codes), coherence/<node> (mutual coherence)
  steps.jsonl (one record every train.log_every steps, step = optimizer step):
      step/loss, step/epoch_loss, step/epoch_acc, step/lr, step/images_per_s
Null values (epochs without evaluation) are skipped. Accuracies stay fractions in [0, 1].
The logs are read by tools/run_metrics.py, which tools/plot shares: a run still being written may end in a
partial line, skipped with a warning; a missing metrics.jsonl, a binary file, a line that is not JSON or nests
too deeply, `"epoch": null`, a string where a number belongs, ... is an error naming the file and the line
(exit status 2), found before the tensorboard package is even imported.

The event files are written with the tensorboard package's own EventFileWriter and protos (the writer behind
torch.utils.tensorboard), not a hand-rolled format; the old files of an earlier conversion are replaced.
"""
import argparse
import glob
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))   # tools/, wherever this runs from
from run_metrics import EPOCH_KEYS, LAYER_MAPS, MetricsError, read_metrics, read_steps  # noqa: E402

PROG = "tensorboard"
STEP_KEYS = ["loss", "epoch_loss", "epoch_acc", "lr", "images_per_s"]


class ConvertError(Exception):
    """A user-facing error: one line, exit status 2."""


def warn(msg):
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


def scalar_events(run_dir):
    """(tag, step, value) of every scalar of a run, in file order."""
    out = []
    try:
        metrics, steps = read_metrics(run_dir, warn), read_steps(run_dir, warn)
    except MetricsError as e:
        raise ConvertError(str(e)) from None
    for _, r in metrics:
        epoch = int(r["epoch"])
        for key in EPOCH_KEYS:
            if r.get(key) is not None:
                out.append((f"epoch/{key}", epoch, float(r[key])))
        for key in LAYER_MAPS:
            for node, value in (r.get(key) or {}).items():
                if value is not None:
                    out.append((f"{key}/{node}", epoch, float(value)))
    for _, r in steps:
        for key in STEP_KEYS:
            if r.get(key) is not None:
                out.append((f"step/{key}", int(r["step"]), float(r[key])))
    return out


def convert(run_dir, out_dir=None):
    """Writes the run's scalars as one event file in out_dir (default RUN_DIR/tensorboard); returns its path."""
    events = scalar_events(run_dir)   # first: malformed logs are refused without the tensorboard package
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    out_dir = out_dir or os.path.join(run_dir, "tensorboard")
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "events.out.tfevents.*")):
        os.remove(old)
    writer = EventFileWriter(out_dir)
    wall = os.path.getmtime(os.path.join(run_dir, "metrics.jsonl"))
    for tag, step, value in events:
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
        writer.add_event(Event(wall_time=wall, step=step, summary=summary))
    writer.flush()
    writer.close()
    files = glob.glob(os.path.join(out_dir, "events.out.tfevents.*"))
    print(f"{run_dir}: {len(events)} scalars ({len({t for t, _, _ in events})} tags) -> {files[0]}")
    return files[0]


def self_test():
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    with tempfile.TemporaryDirectory() as run:
        with open(os.path.join(run, "metrics.jsonl"), "w") as f:
            f.write(json.dumps({"epoch": 1, "train_loss": 1.5, "train_acc": 0.4, "val_loss": None, "val_acc": None,
                                "lr": 0.1, "sparsity": {"l1": 0.3}, "coherence": {"l1": 0.8}}) + "\n")
            f.write(json.dumps({"epoch": 2, "train_loss": 1.0, "train_acc": 0.6, "val_loss": 1.1, "val_acc": 0.55,
                                "lr": 0.05, "sparsity": {"l1": 0.25}, "coherence": {"l1": 0.7}}) + "\n")
            f.write('{"epoch": 3, "train_lo')  # a run still being written
        with open(os.path.join(run, "steps.jsonl"), "w") as f:
            for s in (50, 100):
                f.write(json.dumps({"epoch": 1, "step": s, "loss": 2.0 / s, "lr": 0.1}) + "\n")
        convert(run)
        acc = EventAccumulator(os.path.join(run, "tensorboard"))
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        expected = {"epoch/train_loss", "epoch/val_acc", "sparsity/l1", "coherence/l1", "step/loss", "step/lr"}
        if not expected <= tags:
            raise ConvertError(f"self-test: tags {sorted(tags)} miss {sorted(expected - tags)}")
        val = [(e.step, round(e.value, 6)) for e in acc.Scalars("epoch/val_acc")]
        loss = [(e.step, round(e.value, 6)) for e in acc.Scalars("step/loss")]
        if val != [(2, 0.55)] or loss != [(50, 0.04), (100, 0.02)]:
            raise ConvertError(f"self-test: read back val_acc {val}, step/loss {loss}")
        convert(run)  # again: replaces, does not add
        if len(glob.glob(os.path.join(run, "tensorboard", "events.out.tfevents.*"))) != 1:
            raise ConvertError("self-test: a second conversion left two event files")
        try:
            convert(os.path.join(run, "missing"))
            raise ConvertError("self-test: a folder without metrics.jsonl was accepted")
        except ConvertError as e:
            if "no such file" not in str(e):
                raise
    print(f"{PROG}: self-test passed")


def main(argv):
    p = argparse.ArgumentParser(prog="tools/tensorboard", description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="*", help="run folders (holding metrics.jsonl)")
    p.add_argument("--out", help="event-file folder (one run only; default RUN_DIR/tensorboard)")
    p.add_argument("--self-test", action="store_true", help="convert a temporary run and read it back")
    a = p.parse_args(argv)
    try:
        if a.self_test:
            self_test()
            return 0
        if not a.runs:
            p.error("name at least one run folder")
        if a.out and len(a.runs) > 1:
            raise ConvertError("--out takes one run folder")
        for run in a.runs:
            convert(run, a.out)
        return 0
    except ConvertError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
