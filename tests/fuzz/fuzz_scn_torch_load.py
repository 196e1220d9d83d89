#!/usr/bin/env python3
"""Fuzzes scn_torch.load (python/scn_torch) with Hypothesis, beside the libFuzzer harnesses of scn's own readers
in this folder. The property: on any file, load returns a net or raises ExportError with a one-line message
that starts with the file's name — never another exception, a hang or an allocation the file does not pay for.

    fuzz_scn_torch_load.py [EXAMPLES]      (default 2000, or $SCN_FUZZ_EXAMPLES; the ctest runs the default,
                                            about 15 s)
    SCN_FUZZ_RANDOM=1 fuzz_scn_torch_load.py 50000     new random examples instead of the fixed ones

Each example starts from a valid export (python/tests/export_files.py) and breaks it in one of four ways: a
value of the header replaced by any JSON value (an entry, its dtype, shape or offsets, a metadata string), one
key of one layer of the config replaced by a hostile value (huge, negative, a string, a list, null), metadata
text replaced (class names, normalisation, epoch, the config's YAML), or the bytes themselves flipped,
truncated or extended. The address space is capped at what torch needs plus 2 GiB, so an allocation that a
check should have prevented fails the test instead of the machine. Examples are derandomised (the same in
every run, as a CI test must be) unless SCN_FUZZ_RANDOM is set; a failure prints the smallest mutation
Hypothesis found. Exit 77 without
Hypothesis (Debian's python3-hypothesis, which python3-torch pulls in).
"""
import json
import os
import resource
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python", "tests"))
sys.path.insert(0, os.path.join(REPO, "python"))

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:
    print("SKIP: no Hypothesis (apt-get install python3-hypothesis)")
    sys.exit(77)

import export_files as ef  # noqa: E402
import scn_torch  # noqa: E402
import yaml  # noqa: E402
from scn_torch.errors import ExportError  # noqa: E402

EXAMPLES = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("SCN_FUZZ_EXAMPLES", "2000"))
FOLDER = tempfile.mkdtemp(prefix="scn_torch_fuzz_")
PATH = os.path.join(FOLDER, "fuzz.safetensors")
BASE_HEADER, BASE_DATA = ef.header_and_data(ef.tensors(), ef.metadata())
BASE_CONFIG = scn_torch.load_yaml(ef.CONFIG)

# JSON values of every kind, with the numbers that break size arithmetic.
numbers = st.one_of(st.integers(-2**70, 2**70), st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63, 2**64, 10**9]),
                    st.floats(allow_nan=False, allow_infinity=False))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                           max_leaves=12)
# Config values: what a hand-edited or hostile config could hold.
config_values = st.one_of(numbers, st.sampled_from([None, True, "auto", "patch", "", "1e9", [], {}, [1, 2, 3],
                                                    {"init": -1}, {"form": "lasso", "init": -5}]),
                          st.text(max_size=10))
layer_keys = st.sampled_from(["out", "kernel", "stride", "pad", "iters", "algorithm", "mode", "step", "threshold",
                              "init", "pursuit", "backward", "implicit", "inputs", "name", "type", "p", "momentum",
                              "eps", "affine", "bias", "repeat", "layers", "tied", "recompute", "regularizer"])
metadata_keys = st.sampled_from(["class_names", "normalize_mean", "normalize_std", "epoch", "format", "scn_export",
                                 "config", "step", "val_accuracy"])
texts = st.one_of(st.text(max_size=40), st.sampled_from(["[]", '["a"]', '["a","b","c","d"]', "[1,2,3]", "nan",
                                                         "0", "-1", "0.5,0.5", "inf", "1e400", "[" * 5000, "{",
                                                         "model: {input: [1, 12, 12], classes: 3, layers: []}"]))


def header_mutation():
    """Some place of the header (an entry, a field of one, a metadata key, or the whole header) given a value."""
    names = sorted(BASE_HEADER)
    return st.tuples(st.just("header"), st.sampled_from(names),
                     st.sampled_from([None, "dtype", "shape", "data_offsets", "extra"]), json_values)


def config_mutation():
    """One key of one layer, or of the model section itself (layer -1), given a hostile value."""
    model_keys = st.sampled_from(["input", "classes", "layers", "defaults", "extra"])
    return st.one_of(st.tuples(st.just("config"), st.integers(0, len(BASE_CONFIG["model"]["layers"]) - 1), layer_keys,
                               config_values),
                     st.tuples(st.just("config"), st.just(-1), model_keys,
                               st.one_of(config_values, json_values, st.lists(numbers, max_size=4))))


def metadata_mutation():
    return st.tuples(st.just("metadata"), metadata_keys, texts, st.none())


def bytes_mutation():
    return st.tuples(st.just("bytes"), st.sampled_from(["flip", "truncate", "extend"]),
                     st.integers(0, 4000), st.binary(min_size=1, max_size=16))


def build(mutation):
    """The file's bytes after one mutation of the valid export."""
    kind, a, b, c = mutation
    header = json.loads(json.dumps(BASE_HEADER))
    if kind == "header":
        if b is None:
            header[a] = c
        elif isinstance(header[a], dict):
            header[a][b] = c
        return ef.encode(header, BASE_DATA)
    if kind == "config":
        config = json.loads(json.dumps(BASE_CONFIG))
        (config["model"] if a < 0 else config["model"]["layers"][a])[b] = c
        header["__metadata__"]["config"] = yaml.safe_dump(config)
        return ef.encode(header, BASE_DATA)
    if kind == "metadata":
        header["__metadata__"][a] = b
        return ef.encode(header, BASE_DATA)
    blob = bytearray(ef.encode(header, BASE_DATA))
    at = a and b % len(blob)
    if a == "flip":
        blob[at:at + len(c)] = bytes(x ^ y for x, y in zip(blob[at:at + len(c)], c))
    elif a == "truncate":
        del blob[at:]
    else:
        blob[at:at] = c
    return bytes(blob)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("SCN_FUZZ_RANDOM"), database=None,
          suppress_health_check=list(HealthCheck))
@given(st.one_of(header_mutation(), config_mutation(), metadata_mutation(), bytes_mutation()))
def check_load(mutation):
    ef.write(PATH, build(mutation))
    try:
        scn_torch.load(PATH)
    except ExportError as e:
        message = str(e)
        assert message.startswith(PATH + ":"), f"the message does not start with the file's name: {message!r}"
        assert "\n" not in message, f"the message is not one line: {message!r}"


def cap_memory(extra=2 << 30):
    """RLIMIT_AS at what this process maps now (torch included) plus `extra`."""
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, resource.RLIM_INFINITY))


def main():
    scn_torch.load(ef.write(PATH, ef.encode(BASE_HEADER, BASE_DATA)))   # the base is valid
    cap_memory()
    try:
        check_load()
    finally:
        for name in os.listdir(FOLDER):
            os.remove(os.path.join(FOLDER, name))
        os.rmdir(FOLDER)
    print(f"fuzz_scn_torch_load: {EXAMPLES} examples, every file loaded or refused with an ExportError naming it")
    print(f"{EXAMPLES} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
