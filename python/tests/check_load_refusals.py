#!/usr/bin/env python3
"""ctest python.load_refuses_hostile_exports: scn_torch.load refuses each broken export of issue 24 (item 6)
with an ExportError that names the file and the tensor or key, quickly and before allocating what the file
claims — never a hang, a raw TypeError/KeyError/RecursionError/yaml error or a silent load.

    check_load_refusals.py

Every case starts from a valid export (export_files.py) and breaks one thing. Prints one line per case and
"N passed, M failed".
"""
import json
import os
import signal
import sys
import tempfile
import time

import export_files as ef

import scn_torch
from scn_torch.errors import ExportError

SECONDS = 5.0     # each refusal; the hang of `iters: 1000000000` took forever, a 360 GB allocation failed raw


def layer_edit(key, value, layer=0):
    """The config with one key of one layer replaced."""
    config = scn_torch.load_yaml(ef.CONFIG)
    config["model"]["layers"][layer][key] = value
    import yaml
    return yaml.safe_dump(config)


def header_edit(edit):
    """The valid export's bytes after edit(header) changed its header dict in place."""
    header, data = ef.header_and_data(ef.tensors(), ef.metadata())
    edit(header)
    return ef.encode(header, data)


def with_tensor(name, value):
    t = ef.tensors()
    t[name] = value
    return ef.export_bytes(tensor_map=t)


def cases():
    """(what, file bytes or a path, the fragment the message must hold)."""
    import torch
    t = ef.tensors()
    w = t["head.weight"]
    deep = "[" * 100000 + "]" * 100000
    return [
        ("iters: 1000000000", ef.export_bytes(layer_edit("iters", 1000000000)), "layers[0].iters"),
        ("out: 100000", ef.export_bytes(layer_edit("out", 100000)), "layers[0].out"),
        ("out: a string", ef.export_bytes(layer_edit("out", "eight")), "layers[0].out"),
        ("a wrong shape of the right size", with_tensor("head.weight", w.reshape(w.shape[1], w.shape[0])),
         "head.weight has shape"),
        ("NaN weights", with_tensor("code1.weight", torch.full_like(t["code1.weight"], float("nan"))),
         "code1.weight holds"),
        ("Inf weights", with_tensor("bn1.running_var", torch.full_like(t["bn1.running_var"], float("inf"))),
         "bn1.running_var holds"),
        ("F64 weights", with_tensor("head.bias", t["head.bias"].double()), "head.bias is F64"),
        ("overlapping data offsets",
         header_edit(lambda h: h["head.bias"].update(data_offsets=[h["head.bias"]["data_offsets"][0] - 4,
                                                                   h["head.bias"]["data_offsets"][1] - 4])),
         "overlap"),
        ("too few class names", ef.export_bytes(class_names=["a", "b"]), "class_names"),
        ("class names not a list", header_edit(lambda h: h["__metadata__"].update(class_names="{}")), "class_names"),
        ("100k-deep class names", header_edit(lambda h: h["__metadata__"].update(class_names=deep)), "class_names"),
        ("a non-object header entry", header_edit(lambda h: h.update({"code1.weight": 5})), "code1.weight"),
        ("missing offsets", header_edit(lambda h: h["head.bias"].pop("data_offsets")), "data_offsets"),
        ("a list __metadata__", header_edit(lambda h: h.update(__metadata__=[1, 2])), "__metadata__"),
        ("a number in __metadata__", header_edit(lambda h: h["__metadata__"].update(epoch=1)), "epoch"),
        ("100k-deep header JSON", ef.encode(None, b"", header_text='{"a":' + deep + "}"), "nests deeper"),
        ("a negative dimension", header_edit(lambda h: h["head.bias"].update(shape=[-3])), "dimension -3"),
        ("a fifth dimension", header_edit(lambda h: h["head.bias"].update(shape=[3, 1, 1, 1, 1])), "dimensions"),
        ("bad YAML", ef.export_bytes("model: [\n  {type: relu\n"), "metadata 'config' line"),
        ("100k-deep YAML", ef.export_bytes("model: " + deep), "metadata 'config'"),
        ("a YAML key twice", ef.export_bytes(ef.CONFIG.replace("classes: 3", "classes: 3\n  classes: 4")),
         "appears twice"),
        ("a config without model", ef.export_bytes("seed: 1\n"), "no `model:`"),
        ("a layer that is a list", ef.export_bytes(ef.CONFIG.replace("- {type: linear, name: head, out: 3}",
                                                                      "- [linear]")), "layers[4]"),
        ("a layer type that is a list (found by the fuzzer)", ef.export_bytes(layer_edit("type", [])), "layers[0].type"),
        ("a key holding a newline (found by the fuzzer)",
         ef.export_bytes(ef.CONFIG.replace("classes: 3", 'classes: 3\n  defaults: {"x\\ny": 5}')), "defaults.x\\ny"),
        ("a tensor missing", ef.export_bytes(tensor_map={k: v for k, v in t.items() if k != "head.bias"}),
         "no tensor head.bias"),
        ("a foreign tensor", with_tensor("stranger.weight", torch.zeros(2)), "stranger.weight"),
        ("a duplicate header key", ef.encode(None, b"", header_text='{"a":{},"a":{}}'), "duplicate key"),
        ("trailing bytes", ef.export_bytes() + b"\0" * 8, "trailing bytes"),
        ("a truncated file", ef.export_bytes()[:-5], "outside the data section"),
        ("a header longer than the file", ef.export_bytes()[:100], "header length"),
        ("an empty file", b"", "shorter than the 8-byte"),
        ("a header that is not UTF-8", ef.encode(None, b"", header_text=b'{"\xff":1}'), "UTF-8"),
        ("NaN in the header", ef.encode(None, b"", header_text='{"a":NaN}'), "not valid JSON"),
        ("normalize_std 0", header_edit(lambda h: h["__metadata__"].update(normalize_std="0")), "normalize_std"),
        ("normalize_mean NaN", header_edit(lambda h: h["__metadata__"].update(normalize_mean="nan")),
         "normalize_mean"),
        ("an epoch that is text", header_edit(lambda h: h["__metadata__"].update(epoch="one")), "'epoch'"),
        ("another format", header_edit(lambda h: h["__metadata__"].update(scn_export="7")), "scn_export"),
        ("input of 2^33 elements", ef.export_bytes(ef.CONFIG.replace("input: [1, 12, 12]", "input: [2, 65536, 65536]")),
         "input"),
        ("inputs: a string", ef.export_bytes(ef.CONFIG.replace("name: head,", "name: head, inputs: bn1,")),
         "inputs"),
        ("/dev/zero", "/dev/zero", "not a regular file"),
        ("a FIFO", "FIFO", "not a regular file"),
        ("a folder", "FOLDER", "not a regular file"),
        ("no such file", "MISSING", "cannot open"),
    ]


def run_case(folder, index, what, blob, fragment):
    """'' when the case is refused as it should be, else what went wrong."""
    if blob == "FIFO":
        path = os.path.join(folder, "fifo.safetensors")
        os.mkfifo(path)
    elif blob == "FOLDER":
        path = folder
    elif blob == "MISSING":
        path = os.path.join(folder, "missing.safetensors")
    elif isinstance(blob, str):
        path = blob
    else:
        path = ef.write(os.path.join(folder, f"case{index}.safetensors"), blob)
    start = time.monotonic()
    signal.alarm(int(4 * SECONDS))   # a hang is reported as one, not waited out
    try:
        scn_torch.load(path)
        return "loaded without an error"
    except Hang:
        return f"still running after {4 * SECONDS:.0f} s"
    except ExportError as e:
        message, seconds = str(e), time.monotonic() - start
        if not message.startswith(path):
            return f"the message does not start with the file's name: {message}"
        if fragment not in message:
            return f"the message does not say {fragment!r}: {message}"
        if "\n" in message:
            return f"the message is not one line: {message!r}"
        if seconds > SECONDS:
            return f"took {seconds:.1f} s"
        return ""
    except Exception as e:   # noqa: BLE001 — the point of the test: nothing but ExportError may escape
        return f"raised {type(e).__name__}: {str(e)[:200]}"
    finally:
        signal.alarm(0)


class Hang(BaseException):
    pass


def _hang(signum, frame):
    raise Hang()


def main():
    signal.signal(signal.SIGALRM, _hang)
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="scn_torch_refusals_") as folder:
        ok = ef.write(os.path.join(folder, "valid.safetensors"), ef.export_bytes())
        scn_torch.load(ok)   # the base every case breaks is valid
        for index, (what, blob, fragment) in enumerate(cases()):
            problem = run_case(folder, index, what, blob, fragment)
            print(f"{'ok  ' if not problem else 'FAIL'} {what}" + (f": {problem}" if problem else ""))
            if os.environ.get("SCN_SHOW_MESSAGES") and not problem:
                try:
                    scn_torch.load(os.path.join(folder, f"case{index}.safetensors"))
                except ExportError as e:
                    print("     ", str(e).replace(folder, "DIR"))
            passed, failed = passed + (not problem), failed + bool(problem)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
