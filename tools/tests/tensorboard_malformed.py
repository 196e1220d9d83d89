#!/usr/bin/python3
"""ctest tools.tensorboard_names_malformed_logs: tools/tensorboard on malformed run folders (issue 24, item 12)
exits 2 with one line naming the file and the line, never a traceback. The logs are refused by
tools/run_metrics.py before the tensorboard package is imported, so this runs without it (the conversion itself
is tools/tensorboard --self-test, which needs tools/setup-tensorboard.sh). Prints "N passed, M failed".
"""
import contextlib
import io
import os
import sys
import tempfile

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
import tensorboard_convert  # noqa: E402

DEEP = "[" * 100000 + "]" * 100000
CASES = [  # (what, metrics.jsonl, steps.jsonl or None, the message after "RUN/<file>")
    ("a binary file", b"\x00\x01\x02\xff\xfe" * 20 + b"\n", None, "metrics.jsonl:1: not text"),
    ('"epoch": null', b'{"epoch": 1}\n{"epoch": null, "train_loss": 1}\n', None,
     'metrics.jsonl:2: "epoch" must be a non-negative integer, got null'),
    ('"epoch": "two"', b'{"epoch": "two"}\n', None, 'metrics.jsonl:1: "epoch" must be a non-negative integer, got "two"'),
    ("a string loss", b'{"epoch": 1, "train_loss": "low"}\n', None,
     'metrics.jsonl:1: "train_loss" must be a number or null, got a string'),
    ("a list for sparsity", b'{"epoch": 1, "sparsity": [1]}\n', None, 'metrics.jsonl:1: "sparsity" must be an object'),
    ("deep JSON", b'{"epoch": 1}\n' + DEEP.encode() + b"\n", None, "metrics.jsonl:2: nested too deeply"),
    ("a line that is not JSON", b'{"epoch": 1}\nnot json\n{"epoch": 2}\n', None, "metrics.jsonl:2: not valid JSON"),
    ("a record that is a list", b"[1, 2]\n", None, "metrics.jsonl:1: expected a JSON object, got a list"),
    ("steps: a string step", b'{"epoch": 1}\n', b'{"step": "x", "loss": 1}\n',
     'steps.jsonl:1: "step" must be a non-negative integer'),
    ("steps: binary", b'{"epoch": 1}\n', b"\x89PNG\r\n\x1a\n\x00\x00", "steps.jsonl:1: not text"),
]


def main():
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="scn-tensorboard-") as tmp:
        for i, (what, metrics, steps, expected) in enumerate(CASES):
            run = os.path.join(tmp, f"run{i}")
            os.makedirs(run)
            with open(os.path.join(run, "metrics.jsonl"), "wb") as f:
                f.write(metrics)
            if steps is not None:
                with open(os.path.join(run, "steps.jsonl"), "wb") as f:
                    f.write(steps)
            err = io.StringIO()
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    status = tensorboard_convert.main([run])
                text = err.getvalue().strip()
                want = f"tensorboard: {os.path.join(run, expected)}"
                problem = "" if status == 2 and text.startswith(want) and "\n" not in text else \
                    f"exit {status}, printed {text[:300]!r}; expected {want!r}"
            except BaseException as e:   # noqa: BLE001 — a traceback is the failure this test is about
                problem = f"raised {type(e).__name__}: {str(e)[:200]}"
            print(f"{'ok  ' if not problem else 'FAIL'} {what}" + (f": {problem}" if problem else ""))
            passed, failed = passed + (not problem), failed + bool(problem)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
