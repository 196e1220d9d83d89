"""scn configs in Python: the `model:` section as scn builds the net from it. Needs PyYAML only (no torch).

* expand_model(model): `repeat:` blocks and `model.defaults` expanded as scn expands them before building the
  net (configs/README.md, "Short configs"; models/run_config.cpp, expand_layers). The resolved config of a
  run (its config.yaml, the `config` metadata of checkpoints and exports) is already flat: expanding it
  changes nothing.
* with_defaults(layer): one layer node with every default of configs/README.md filled in.

Expansion rules: an item {repeat: N, layers: [...]} becomes N copies of its layers in place (1 <= N <= 10000,
blocks nest); a name declared inside a block gets `_<copy>` appended per copy (inner blocks first), and so do
the block's references to it in `inputs`. Then every layer gets the keys of model.defaults.<its type> it does
not set itself (a map value is replaced whole); a defaults entry no layer uses is an error.
"""

import re

MAX_REPEAT = 10000
MAX_LAYERS = 100000
MAX_NESTING = 32


class ConfigError(Exception):
    """A problem with the config: one line."""


# ---------------------------------------------------------------------------------------------------------
# YAML as scn reads it

_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
_loader = None


def yaml_loader():
    """PyYAML's SafeLoader, plus the floats YAML 1.2 (and scn) read that PyYAML's YAML 1.1 rules take for strings:
    an exponent without a dot or without a sign (1e-05, 5e-4, 1e5). scn writes numbers in their shortest form,
    so a resolved config holds `eps: 1e-05`."""
    global _loader
    if _loader is None:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
        _loader = Loader
    return _loader


def load_yaml(text_or_file):
    """yaml.load with yaml_loader()."""
    import yaml
    return yaml.load(text_or_file, Loader=yaml_loader())


# ---------------------------------------------------------------------------------------------------------
# repeat: blocks and model.defaults

def _expand_list(items, where, depth, out):
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: expected a non-empty list of layers")
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if not (isinstance(item, dict) and "repeat" in item):
            if len(out) >= MAX_LAYERS:
                raise ConfigError(f"{w}: the net has more than {MAX_LAYERS} layers")
            name = item.get("name") if isinstance(item, dict) else None
            inputs = item.get("inputs") if isinstance(item, dict) else None
            out.append({"node": item,
                        "name": name if isinstance(name, str) else None,
                        "inputs": list(inputs) if isinstance(inputs, list) and all(isinstance(s, str) for s in inputs)
                        else None})
            continue
        unknown = set(item) - {"repeat", "layers"}
        if unknown:
            raise ConfigError(f"{w}.{sorted(unknown)[0]}: unknown key (allowed here: repeat, layers)")
        n = item["repeat"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPEAT:
            raise ConfigError(f"{w}.repeat: expected a positive integer up to {MAX_REPEAT}, got {n!r}")
        if depth >= MAX_NESTING:
            raise ConfigError(f"{w}: repeat blocks nest at most {MAX_NESTING} deep")
        if "layers" not in item:
            raise ConfigError(f"{w}: missing key 'layers'")
        block = []
        _expand_list(item["layers"], f"{w}.layers", depth + 1, block)
        if n > (MAX_LAYERS - len(out)) // len(block):
            raise ConfigError(f"{w}: repeat: {n} copies of {len(block)} layers would make the net longer than "
                              f"{MAX_LAYERS} layers")
        declared = {l["name"] for l in block if l["name"] and l["name"] != "input"}
        for r in range(1, n + 1):
            for l in block:
                c = dict(l)
                if c["name"] in declared:
                    c["name"] = f"{c['name']}_{r}"
                if c["inputs"] is not None:
                    c["inputs"] = [f"{s}_{r}" if s in declared else s for s in c["inputs"]]
                out.append(c)


def expand_model(model, known_types=None, where="model"):
    """A copy of `model` whose `layers` is the flat list the net is built from, without `defaults`."""
    if not isinstance(model, dict):
        raise ConfigError(f"{where}: expected a map")
    if "layers" not in model:
        raise ConfigError(f"{where}.layers: required")
    flat = []
    _expand_list(model["layers"], f"{where}.layers", 0, flat)
    defaults = model.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{where}.defaults: expected a map from layer type to a map of keys")
    for t, keys in defaults.items():
        if not isinstance(keys, dict):
            raise ConfigError(f"{where}.defaults.{t}: expected a map of the keys every '{t}' layer gets")
        for own in ("type", "name", "inputs"):
            if own in keys:
                raise ConfigError(f"{where}.defaults.{t}.{own}: '{own}' has no default: every layer sets its own")
    types = [l["node"].get("type") if isinstance(l["node"], dict) else None for l in flat]
    if known_types is None or all(t in known_types for t in types):
        for t in defaults:
            if t not in types:
                raise ConfigError(f"{where}.defaults.{t}: no layer has type '{t}'")
    layers = []
    for l in flat:
        node = l["node"]
        if not isinstance(node, dict):
            layers.append(node)
            continue
        c = dict(node)
        if l["name"] is not None:
            c["name"] = l["name"]
        if l["inputs"] is not None:
            c["inputs"] = l["inputs"]
        for k, v in (defaults.get(node.get("type")) or {}).items():
            c.setdefault(k, v)  # the layer's own key wins
        layers.append(c)
    out = {k: v for k, v in model.items() if k != "defaults"}
    out["layers"] = layers
    return out


# ---------------------------------------------------------------------------------------------------------
# One layer node with configs/README.md's defaults.

COMMON_KEYS = {"type", "name", "inputs"}
LAYER_KEYS = {
    "sparse_code": {"out", "kernel", "stride", "pad", "iters", "algorithm", "mode", "step", "threshold", "init",
                    "recompute", "pursuit", "backward", "implicit", "regularizer", "tied"},
    "ml_pursuit": {"algorithm", "layers", "iters", "tied", "back_project", "mode", "step", "threshold", "init",
                   "backward"},
    "conv": {"out", "kernel", "stride", "pad", "bias", "init", "regularizer"},
    "relu": set(),
    "batch_norm": {"affine", "momentum", "eps", "sync"},  # sync: across ranks; one process is unaffected
    "pool": {"mode", "kernel", "stride", "pad"},
    "global_avg_pool": set(),
    "linear": {"out", "bias", "init"},
    "dropout": {"p"},
    "add": set(),
}


def with_defaults(layer, where):
    """A copy of one layer node with every default of configs/README.md filled in."""
    if not isinstance(layer, dict) or "type" not in layer:
        raise ConfigError(f"{where}: expected a mapping with a 'type'")
    t = layer["type"]
    if t not in LAYER_KEYS:
        raise ConfigError(f"{where}.type: unknown layer type '{t}'")
    unknown = set(layer) - COMMON_KEYS - LAYER_KEYS[t]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} for type {t}")
    c = dict(layer)
    if t in ("sparse_code", "conv", "linear") and "out" not in c:
        raise ConfigError(f"{where}.out: required")
    if t in ("sparse_code", "conv"):
        c.setdefault("kernel", 3)
        c.setdefault("stride", 1)
        c.setdefault("pad", c["kernel"] // 2)
        c.setdefault("init", None)
        c.setdefault("regularizer", None)
    if t == "sparse_code":
        c.setdefault("pursuit", "convolution")
        c.setdefault("backward", "unrolled")
        patch = c["pursuit"] == "patch"
        if c["pursuit"] not in ("convolution", "patch"):
            raise ConfigError(f"{where}.pursuit: expected convolution or patch")
        if c["backward"] not in ("unrolled", "implicit"):
            raise ConfigError(f"{where}.backward: expected unrolled or implicit")
        c.setdefault("iters", 49 if patch else 0)  # SCN's 50 FISTA steps: γ₀ and 49 more
        c.setdefault("algorithm", "fista")
        c.setdefault("mode", "nonneg")
        c.setdefault("recompute", False)
        if c.get("tied", True) is not True:
            raise ConfigError(f"{where}.tied: false (untied LISTA steps) is not in scn_torch yet; type: ml_pursuit "
                              f"with tied: false is")
        if c["algorithm"] not in ("ista", "fista"):
            raise ConfigError(f"{where}.algorithm: expected ista or fista")
        if c["mode"] not in ("nonneg", "two_sided"):
            raise ConfigError(f"{where}.mode: expected nonneg or two_sided")
        step = c.get("step", "auto" if patch else {})
        if step != "auto":
            if not isinstance(step, dict):
                raise ConfigError(f"{where}.step: expected auto or {{init, learn}}")
            step = {"init": 1.0, "learn": True, **step}
        c["step"] = step
        c["threshold"] = {"form": "lasso" if patch else "absolute", "init": 0.0, "learn": True, "shared": False,
                          **(c.get("threshold") or {})}
        if c["threshold"]["form"] not in ("absolute", "lasso"):
            raise ConfigError(f"{where}.threshold.form: expected absolute or lasso")
        c["implicit"] = {"ridge": 1e-6, "iters": 100, "tolerance": 1e-4, **(c.get("implicit") or {})}
        c["default_init"] = "scn" if patch else "normal"
        if c["backward"] == "implicit" and c["iters"] == 0:
            raise ConfigError(f"{where}.backward: implicit needs iters > 0")
    if t == "ml_pursuit":
        algorithms = ("ml_ista", "ml_fista", "ml_lista", "lbp")
        c.setdefault("algorithm", "ml_ista")
        if c["algorithm"] not in algorithms:
            raise ConfigError(f"{where}.algorithm: expected one of {', '.join(algorithms)}")
        c.setdefault("iters", 0)
        c.setdefault("tied", True)
        c.setdefault("back_project", c["algorithm"] != "lbp")
        c.setdefault("mode", "nonneg")
        c.setdefault("init", None)
        if c.get("backward", "unrolled") != "unrolled":
            raise ConfigError(f"{where}.backward: expected unrolled")
        if not c.get("layers"):
            raise ConfigError(f"{where}.layers: expected a list of dictionaries {{out, kernel, stride, pad}}")
        layers = []
        for j, d in enumerate(c["layers"]):
            unknown = set(d) - {"out", "kernel", "stride", "pad"}
            if unknown or "out" not in d:
                raise ConfigError(f"{where}.layers[{j}]: expected {{out, kernel, stride, pad}}, got {sorted(d)}")
            d = {"kernel": 3, "stride": 1, **d}
            d.setdefault("pad", d["kernel"] // 2)
            layers.append(d)
        c["layers"] = layers
        c["step"] = {"init": 1.0, "learn": c["algorithm"] != "ml_lista" and c["tied"], **(c.get("step") or {})}
        c["threshold"] = {"init": 0.0, "learn": True, **(c.get("threshold") or {})}
    if t == "conv":
        c.setdefault("bias", True)
    if t == "linear":
        c.setdefault("bias", True)
        c.setdefault("init", None)
    if t == "batch_norm":
        c.setdefault("affine", True)
        c.setdefault("momentum", 0.1)
        c.setdefault("eps", 1e-5)
    if t == "pool":
        c.setdefault("mode", "max")
        c.setdefault("kernel", 2)
        c.setdefault("stride", c["kernel"])
        c.setdefault("pad", 0)
        if c["mode"] not in ("max", "avg"):
            raise ConfigError(f"{where}.mode: expected max or avg")
    if t == "dropout":
        c.setdefault("p", 0.5)
    if t == "add" and len(c.get("inputs") or []) < 2:
        raise ConfigError(f"{where}.inputs: add needs two or more inputs")
    return c


# ---------------------------------------------------------------------------------------------------------

def self_test():
    """Checks the expansion rules on small cases (tools/bench/scn_config.py --self-test, a ctest)."""
    def layers(text):
        return expand_model(load_yaml(text))["layers"]

    def error(text):
        try:
            expand_model(load_yaml(text))
        except ConfigError as e:
            return str(e)
        return ""

    got = layers("""
defaults: {sparse_code: {iters: 3, step: {init: 0.5, learn: false}}, batch_norm: {affine: false}}
layers:
  - {type: batch_norm}
  - {type: sparse_code, out: 6}
  - {type: sparse_code, out: 6, iters: 1, step: {init: 2}}
  - {type: batch_norm, affine: true}
""")
    assert got[0] == {"type": "batch_norm", "affine": False}, got[0]
    assert got[1] == {"type": "sparse_code", "out": 6, "iters": 3, "step": {"init": 0.5, "learn": False}}, got[1]
    assert got[2] == {"type": "sparse_code", "out": 6, "iters": 1, "step": {"init": 2}}, got[2]
    assert got[3]["affine"] is True
    assert error("defaults: {batch_nrom: {}}\nlayers: [{type: relu}]") == \
        "model.defaults.batch_nrom: no layer has type 'batch_nrom'"

    got = layers("""
layers:
  - {type: relu, name: stem}
  - repeat: 2
    layers:
      - {type: relu, name: x}
      - repeat: 2
        layers: [{type: relu, name: y}, {type: add, inputs: [x, y, stem], name: s}]
      - {type: add, inputs: [y_1, s_2], name: z}
  - {type: add, inputs: [z_1, z_2]}
""")
    names = [l.get("name", "-") for l in got]
    assert names == ["stem", "x_1", "y_1_1", "s_1_1", "y_2_1", "s_2_1", "z_1",
                     "x_2", "y_1_2", "s_1_2", "y_2_2", "s_2_2", "z_2", "-"], names
    assert got[5]["inputs"] == ["x_1", "y_2_1", "stem"], got[5]
    assert got[6]["inputs"] == ["y_1_1", "s_2_1"], got[6]
    assert got[13]["inputs"] == ["z_1", "z_2"], got[13]
    for bad in ("0", "two", "2.5", "10001", "true"):
        assert error(f"layers: [{{repeat: {bad}, layers: [{{type: relu}}]}}]").startswith(
            "model.layers[0].repeat: expected a positive integer up to 10000"), bad
    assert error("layers: [{repeat: 2, layers: []}]") == "model.layers[0].layers: expected a non-empty list of layers"

    # Layer defaults: the patch pursuit's four SCN defaults, and the regularizer key a resolved config may hold.
    c = with_defaults({"type": "sparse_code", "out": 4, "pursuit": "patch"}, "t")
    assert (c["iters"], c["step"], c["threshold"]["form"], c["default_init"]) == (49, "auto", "lasso", "scn"), c
    c = with_defaults({"type": "sparse_code", "out": 4, "regularizer": {"coherence": 0.1}}, "t")
    assert (c["iters"], c["step"], c["threshold"]["form"], c["pad"]) == (0, {"init": 1.0, "learn": True},
                                                                         "absolute", 1), c
    try:
        with_defaults({"type": "sparse_code", "out": 4, "kernal": 3}, "t")
        raise AssertionError("an unknown key passed")
    except ConfigError as e:
        assert str(e) == "t: unknown key(s) ['kernal'] for type sparse_code", e
    # Numbers as scn writes them: PyYAML alone reads 1e-05 as a string.
    got = load_yaml("a: 1e-05\nb: 5.0e-4\nc: 1e5\nd: 3\ne: -2E+3\nf: 1e\ng: [0.5, .5e1]\nh: '1e-05'")
    assert got == {"a": 1e-05, "b": 5e-4, "c": 1e5, "d": 3, "e": -2e3, "f": "1e", "g": [0.5, 5.0], "h": "1e-05"}, got
    assert isinstance(got["d"], int)
    print("scn_config self-test: ok")
