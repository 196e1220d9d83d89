"""scn_torch: the nets of scn (deep sparse coding networks) in PyTorch.

    import scn_torch
    model = scn_torch.load("cscn1.safetensors")          # nn.Module in eval mode, weights loaded
    x = scn_torch.preprocess(images_uint8_nchw, model)    # (pixel/255 - mean)/std from the export's metadata
    logits = model(x)

Layers for nets written in PyTorch: SparseCode2d and MLPursuit (modules), run through scn's compiled ops when
they are built (compiled: has_compiled_ops(), compiled_ops_status()), else in pure PyTorch.

Modules: config (scn's configs: repeat blocks, model.defaults, layer defaults; needs PyYAML only),
safetensors_io (a reader without the safetensors package), sparse_code (both pursuits), layers (the other
layer types), net (Net: a config's model section as one module), export (load, preprocess), metadata (the
checks of an export's metadata), errors (ExportError, what every refusal of a file raises).
Importing the package does not import torch; `load`, `preprocess`, `Net`, ... import it when first used.
"""

__version__ = "0.1.0"

_LAZY = {
    "load": "export", "preprocess": "export",
    "Net": "net", "load_scn_checkpoint": "net",
    "read_safetensors": "safetensors_io", "read_metadata": "safetensors_io", "write_safetensors": "safetensors_io",
    "ExportError": "errors",
    "ConfigError": "config", "expand_model": "config", "load_yaml": "config",
    "SparseCode2d": "modules", "MLPursuit": "modules",
    "has_compiled_ops": "compiled", "compiled_ops_status": "compiled",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
