#!/usr/bin/python3
"""The `model:` section of an scn config with `repeat:` blocks and `model.defaults` expanded, as scn expands
it before building the net (configs/README.md, "Short configs"; models/run_config.cpp, expand_layers).

    tools/bench/scn_config.py CONFIG       prints the expanded layer list, one layer per line
    tools/bench/scn_config.py --self-test  checks the expansion rules on small cases

Rules: an item {repeat: N, layers: [...]} becomes N copies of its layers in place (1 <= N <= 10000, blocks
nest); a name declared inside a block gets `_<copy>` appended per copy (inner blocks first), and so do the
block's references to it in `inputs`. Then every layer gets the keys of model.defaults.<its type> it does
not set itself (a map value is replaced whole); a defaults entry no layer uses is an error.
"""
import sys

MAX_REPEAT = 10000
MAX_LAYERS = 100000
MAX_NESTING = 32


class ConfigError(Exception):
    """A problem with the config: one line."""


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


def _self_test():
    import yaml

    def layers(text):
        return expand_model(yaml.safe_load(text))["layers"]

    def error(text):
        try:
            expand_model(yaml.safe_load(text))
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
    print("scn_config self-test: ok")


def main(argv):
    if argv[1:] == ["--self-test"]:
        _self_test()
        return 0
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    import yaml
    try:
        with open(argv[1], "r", encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        model = expand_model((cfg or {}).get("model"))
    except (OSError, yaml.YAMLError, ConfigError) as e:
        print(f"scn_config: {argv[1]}: {e}", file=sys.stderr)
        return 2
    for layer in model["layers"]:
        print("- " + yaml.safe_dump(layer, default_flow_style=True, sort_keys=False).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
