#!/usr/bin/python3
"""The `model:` section of an scn config with `repeat:` blocks and `model.defaults` expanded, as scn expands
it before building the net (configs/README.md, "Short configs"; models/run_config.cpp, expand_layers).

    tools/bench/scn_config.py CONFIG       prints the expanded layer list, one layer per line
    tools/bench/scn_config.py --self-test  checks the expansion rules on small cases

The expansion is python/scn_torch/config.py's (it needs PyYAML only; importing it does not import torch):
this is its command line. Rules: an item {repeat: N, layers: [...]} becomes N copies of its layers in place
(1 <= N <= 10000, blocks nest); a name declared inside a block gets `_<copy>` appended per copy (inner blocks
first), and so do the block's references to it in `inputs`. Then every layer gets the keys of
model.defaults.<its type> it does not set itself (a map value is replaced whole); a defaults entry no layer
uses is an error.
"""
import os
import sys

_PYTHON = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python")
if os.path.isdir(os.path.join(_PYTHON, "scn_torch")):
    sys.path.insert(0, _PYTHON)   # this tree's scn_torch, else an installed one
from scn_torch.config import ConfigError, expand_model, load_yaml, self_test  # noqa: E402,F401


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    import yaml
    try:
        with open(argv[1], "r", encoding="utf-8") as f:
            cfg = load_yaml(f)
        model = expand_model((cfg or {}).get("model"))
    except (OSError, yaml.YAMLError, ConfigError) as e:
        print(f"scn_config: {argv[1]}: {e}", file=sys.stderr)
        return 2
    for layer in model["layers"]:
        print("- " + yaml.safe_dump(layer, default_flow_style=True, sort_keys=False).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
