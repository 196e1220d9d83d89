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

import math
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
            def construct_mapping(self, node, deep=False):
                # PyYAML keeps the last of two equal keys silently; scn refuses them (core/config).
                seen = set()
                for key, _ in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                        if key.value in seen:
                            raise yaml.constructor.ConstructorError(
                                "while reading a map", node.start_mark, f"key {key.value!r} appears twice",
                                key.start_mark)
                        seen.add(key.value)
                return super().construct_mapping(node, deep)

        Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
        _loader = Loader
    return _loader


def load_yaml(text_or_file):
    """yaml.load with yaml_loader()."""
    import yaml
    return yaml.load(text_or_file, Loader=yaml_loader())


# ---------------------------------------------------------------------------------------------------------
# repeat: blocks and model.defaults

def _expand_list(items, where, depth, out, limit=MAX_LAYERS):
    # limit: the layers `out` may reach. A block gets what is left of its parent's, so a list of aliases to one
    # huge block stops at the first copy that does not fit rather than expanding every one of them first.
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where}: expected a non-empty list of layers")
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if not (isinstance(item, dict) and "repeat" in item):
            if len(out) >= limit:
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
        _expand_list(item["layers"], f"{w}.layers", depth + 1, block, limit - len(out))
        if n > (limit - len(out)) // len(block):
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


def _type_of(node):
    t = node.get("type") if isinstance(node, dict) else None
    return t if isinstance(t, str) else None


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
    # A type that is not a string (a list, in a hostile file) is no type: with_defaults names it later.
    types = [_type_of(l["node"]) for l in flat]
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
        for k, v in (defaults.get(_type_of(node)) or {}).items():
            c.setdefault(k, v)  # the layer's own key wins
        layers.append(c)
    out = {k: v for k, v in model.items() if k != "defaults"}
    out["layers"] = layers
    return out


# ---------------------------------------------------------------------------------------------------------
# One layer node with configs/README.md's defaults, checked as scn checks it.
#
# The bounds are scn's (layers/registry.h, models/net.cpp): a file's config is refused with the key at fault
# before anything is sized from it, so `iters: 1000000000` or `out: 100000` never reaches an allocation.

MAX_CHANNELS = 1 << 16               # channels, classes, input sizes (kMaxChannels)
MAX_KERNEL = 64                      # kernel, stride and pad of convolutions and pools (kMaxKernel)
MAX_PURSUIT_ITERS = 10000            # kMaxPursuitIters
MAX_ACTIVATION_ELEMENTS = 1 << 32    # of the input or of one node's output, per image (kMaxActivationElements)
NODE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")   # names become tensor names "<node>.<param>"

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


def shown(v, limit=60):
    """A config value for an error message, cut short."""
    text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def check_int(c, key, where, lo, hi):
    """c[key], an integer in [lo, hi] (YAML's 8, not 8.0, "8" or true)."""
    v = c[key]
    if not _is_int(v) or not lo <= v <= hi:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(lo, f"an integer from {lo}")
        raise ConfigError(f"{where}.{key}: expected {what} up to {hi}, got {shown(v)}")
    return v


def check_number(c, key, where, positive=False, lo=None, hi=None, hi_open=False):
    """c[key], a finite number (> 0 if positive; in [lo, hi] or [lo, hi) where given)."""
    v = c[key]
    ok = _is_number(v) and (not positive or v > 0) and (lo is None or v >= lo) and \
        (hi is None or (v < hi if hi_open else v <= hi))
    if not ok:
        what = "a positive number" if positive else "a number"
        if lo is not None and hi is not None:
            what = f"a number in [{lo}, {hi}{')' if hi_open else ']'}"
        elif lo is not None:
            what = f"a number >= {lo}"
        raise ConfigError(f"{where}.{key}: expected {what}, got {shown(v)}")
    return float(v)


def check_bool(c, key, where):
    v = c[key]
    if not isinstance(v, bool):
        raise ConfigError(f"{where}.{key}: expected true or false, got {shown(v)}")
    return v


def check_enum(c, key, where, choices):
    v = c[key]
    if not isinstance(v, str) or v not in choices:
        raise ConfigError(f"{where}.{key}: expected one of {', '.join(choices)}, got {shown(v)}")
    return v


def check_map(c, key, where, allowed):
    """c[key] (absent: {}), a map with only the allowed keys."""
    v = c.get(key, {})
    if not isinstance(v, dict):
        raise ConfigError(f"{where}.{key}: expected a map of keys ({', '.join(sorted(allowed))}), got {shown(v)}")
    for k, value in v.items():
        if k not in allowed:
            raise ConfigError(f"{where}.{key}: unknown key {shown(k)} (allowed here: {', '.join(sorted(allowed))})")
        if value is None:
            raise ConfigError(f"{where}.{key}.{k}: no value given (leave the key out to use its default)")
    return v


def check_init(c, default_type, where):
    """`init: {type, std, gain}` (layers/weight_init.cpp); the node's own map, or None when absent."""
    if c.get("init") is None:
        return None
    init = check_map(c, "init", where, {"type", "std", "gain"})
    w = f"{where}.init"
    kind = check_enum({"type": init.get("type", default_type)}, "type", w, ("normal", "kaiming", "uniform", "scn"))
    if "std" in init:
        if kind != "normal":
            raise ConfigError(f"{w}.std: 'std' applies to type: normal only")
        if init["std"] != "auto":
            check_number(init, "std", w, positive=True)
    if "gain" in init:
        check_number(init, "gain", w, positive=True)
    return init


def check_regularizer(c, where):
    if c.get("regularizer") is not None:
        reg = check_map(c, "regularizer", where, {"coherence"})
        if "coherence" in reg:
            check_number(reg, "coherence", f"{where}.regularizer", lo=0)


def _geometry(c, where, kernel_default):
    """kernel, stride and pad of a convolution or a pool, with their defaults and scn's bounds."""
    c.setdefault("kernel", kernel_default)
    check_int(c, "kernel", where, 1, MAX_KERNEL)
    c.setdefault("stride", 1)
    check_int(c, "stride", where, 1, MAX_KERNEL)
    c.setdefault("pad", c["kernel"] // 2)
    check_int(c, "pad", where, 0, MAX_KERNEL)


def _sparse_code(c, where):
    c.setdefault("pursuit", "convolution")
    patch = check_enum(c, "pursuit", where, ("convolution", "patch")) == "patch"
    c.setdefault("backward", "unrolled")
    check_enum(c, "backward", where, ("unrolled", "implicit"))
    check_int(c, "out", where, 1, MAX_CHANNELS)
    _geometry(c, where, 3)
    c.setdefault("iters", 49 if patch else 0)  # SCN's 50 FISTA steps: γ₀ and 49 more
    check_int(c, "iters", where, 0, MAX_PURSUIT_ITERS)
    c.setdefault("algorithm", "fista")
    check_enum(c, "algorithm", where, ("ista", "fista"))
    c.setdefault("mode", "nonneg")
    check_enum(c, "mode", where, ("nonneg", "two_sided"))
    c.setdefault("recompute", False)
    check_bool(c, "recompute", where)
    c.setdefault("tied", True)
    if check_bool(c, "tied", where) is not True:
        raise ConfigError(f"{where}.tied: false (untied LISTA steps) is not in scn_torch yet; type: ml_pursuit "
                          f"with tied: false is")
    c.setdefault("init", None)
    check_init(c, "scn" if patch else "normal", where)
    c.setdefault("regularizer", None)
    check_regularizer(c, where)
    step = c.get("step", "auto" if patch else {})
    if step != "auto":
        if not isinstance(step, dict):
            raise ConfigError(f"{where}.step: expected auto or {{init: <number>, learn: <bool>}}, got {shown(step)}")
        step = {"init": 1.0, "learn": True, **check_map(c, "step", where, {"init", "learn"})}
        check_number(step, "init", f"{where}.step", positive=True)
        check_bool(step, "learn", f"{where}.step")
    c["step"] = step
    th = {"form": "lasso" if patch else "absolute", "init": 0.0, "learn": True, "shared": False,
          **check_map(c, "threshold", where, {"form", "init", "learn", "shared"})}
    c["threshold"] = th
    w = f"{where}.threshold"
    check_enum(th, "form", w, ("absolute", "lasso"))
    check_number(th, "init", w)
    check_bool(th, "learn", w)
    check_bool(th, "shared", w)
    if (c["mode"] == "two_sided" or th["form"] == "lasso") and th["init"] < 0:
        raise ConfigError(f"{w}.init: {'a lasso weight' if th['form'] == 'lasso' else 'a two_sided threshold'} "
                          f"must be >= 0")
    if "implicit" in c and c["backward"] != "implicit":
        raise ConfigError(f"{where}.implicit: 'implicit' settings need backward: implicit")
    implicit = {"ridge": 1e-6, "iters": 100, "tolerance": 1e-4,
                **check_map(c, "implicit", where, {"ridge", "iters", "tolerance"})}
    c["implicit"] = implicit
    check_number(implicit, "ridge", f"{where}.implicit", lo=0)
    check_int(implicit, "iters", f"{where}.implicit", 1, MAX_PURSUIT_ITERS)
    check_number(implicit, "tolerance", f"{where}.implicit", positive=True)
    c["default_init"] = "scn" if patch else "normal"
    if c["backward"] == "implicit" and c["iters"] == 0:
        raise ConfigError(f"{where}.backward: implicit needs iters > 0")
    if c["backward"] == "implicit" and c["recompute"]:
        raise ConfigError(f"{where}.recompute: backward: implicit keeps no iterates: recompute does not apply")


def _ml_pursuit(c, where):
    algorithms = ("ml_ista", "ml_fista", "ml_lista", "lbp")
    c.setdefault("algorithm", "ml_ista")
    check_enum(c, "algorithm", where, algorithms)
    c.setdefault("iters", 0)
    check_int(c, "iters", where, 0, MAX_PURSUIT_ITERS)
    c.setdefault("tied", True)
    check_bool(c, "tied", where)
    c.setdefault("back_project", c["algorithm"] != "lbp")
    if check_bool(c, "back_project", where) and c["algorithm"] == "lbp":
        raise ConfigError(f"{where}.back_project: lbp pursues one layer at a time: it has no back-projection")
    c.setdefault("mode", "nonneg")
    check_enum(c, "mode", where, ("nonneg", "two_sided"))
    c.setdefault("init", None)
    check_init(c, "normal", where)
    c.setdefault("backward", "unrolled")
    check_enum(c, "backward", where, ("unrolled",))
    if not isinstance(c.get("layers"), list) or not c["layers"]:
        raise ConfigError(f"{where}.layers: expected a list of dictionaries {{out, kernel, stride, pad}}")
    layers = []
    for j, d in enumerate(c["layers"]):
        w = f"{where}.layers[{j}]"
        if not isinstance(d, dict):
            raise ConfigError(f"{w}: expected a map {{out, kernel, stride, pad}}, got {shown(d)}")
        unknown = set(d) - {"out", "kernel", "stride", "pad"}
        if unknown or "out" not in d:
            raise ConfigError(f"{w}: expected {{out, kernel, stride, pad}}, got {shown(sorted(map(str, d)))}")
        d = dict(d)
        check_int(d, "out", w, 1, MAX_CHANNELS)
        _geometry(d, w, 3)
        layers.append(d)
    c["layers"] = layers
    step = {"init": 1.0, "learn": c["algorithm"] != "ml_lista" and c["tied"],
            **check_map(c, "step", where, {"init", "learn"})}
    check_number(step, "init", f"{where}.step")
    check_bool(step, "learn", f"{where}.step")
    c["step"] = step
    th = {"init": 0.0, "learn": True, **check_map(c, "threshold", where, {"init", "learn"})}
    check_number(th, "init", f"{where}.threshold")
    check_bool(th, "learn", f"{where}.threshold")
    if c["mode"] == "two_sided" and th["init"] < 0:
        raise ConfigError(f"{where}.threshold.init: a two_sided threshold must be >= 0")
    c["threshold"] = th


def with_defaults(layer, where):
    """A copy of one layer node with every default of configs/README.md filled in, each key checked as scn
    checks it (types, choices and the bounds above); a ConfigError names the key at fault."""
    if not isinstance(layer, dict) or "type" not in layer:
        raise ConfigError(f"{where}: expected a mapping with a 'type'")
    t = layer["type"]
    if not isinstance(t, str) or t not in LAYER_KEYS:
        raise ConfigError(f"{where}.type: unknown layer type {shown(t)}")
    unknown = set(layer) - COMMON_KEYS - LAYER_KEYS[t]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(map(str, unknown))} for type {t}")
    for k, v in layer.items():
        if v is None:   # `key:` with nothing after it is a value lost in editing (scn refuses it too)
            raise ConfigError(f"{where}.{k}: no value given (leave the key out to use its default)")
    c = dict(layer)
    if "name" in c and (not isinstance(c["name"], str) or not NODE_NAME.fullmatch(c["name"])):
        raise ConfigError(f"{where}.name: a node name is 1 to 64 letters, digits, '_' or '-', got {shown(c['name'])}")
    if "inputs" in c and (not isinstance(c["inputs"], list) or not c["inputs"] or
                          not all(isinstance(s, str) for s in c["inputs"])):
        raise ConfigError(f"{where}.inputs: expected a list of node names, got {shown(c['inputs'])}")
    if t in ("sparse_code", "conv", "linear") and "out" not in c:
        raise ConfigError(f"{where}.out: required")
    if t == "sparse_code":
        _sparse_code(c, where)
    elif t == "ml_pursuit":
        _ml_pursuit(c, where)
    elif t == "conv":
        check_int(c, "out", where, 1, MAX_CHANNELS)
        _geometry(c, where, 3)
        c.setdefault("bias", True)
        check_bool(c, "bias", where)
        c.setdefault("init", None)
        check_init(c, "kaiming", where)
        c.setdefault("regularizer", None)
        check_regularizer(c, where)
    elif t == "linear":
        check_int(c, "out", where, 1, MAX_CHANNELS)
        c.setdefault("bias", True)
        check_bool(c, "bias", where)
        c.setdefault("init", None)
        check_init(c, "uniform", where)
    elif t == "batch_norm":
        c.setdefault("affine", True)
        check_bool(c, "affine", where)
        c.setdefault("momentum", 0.1)
        check_number(c, "momentum", where, lo=0, hi=1)
        c.setdefault("eps", 1e-5)
        check_number(c, "eps", where, positive=True)
        if "sync" in c:
            check_bool(c, "sync", where)
    elif t == "pool":
        c.setdefault("mode", "max")
        check_enum(c, "mode", where, ("max", "avg"))
        c.setdefault("kernel", 2)
        check_int(c, "kernel", where, 1, MAX_KERNEL)
        c.setdefault("stride", c["kernel"])
        check_int(c, "stride", where, 1, MAX_KERNEL)
        c.setdefault("pad", 0)
        check_int(c, "pad", where, 0, MAX_KERNEL)
    elif t == "dropout":
        c.setdefault("p", 0.5)
        check_number(c, "p", where, lo=0, hi=1, hi_open=True)
    elif t == "add" and len(c.get("inputs") or []) < 2:
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
