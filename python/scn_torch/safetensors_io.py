"""safetensors files (scn's checkpoints, exports and logits), read with the standard library and torch: no
dependency on the `safetensors` package. (safetensors.torch.load_file reads the same files where it is
installed.)

Layout: an 8-byte little-endian header length n, n bytes of JSON {name: {dtype, shape, data_offsets}, ...,
"__metadata__": {str: str}}, then the tensor data, offsets relative to its start.
"""
import json
import struct

MAX_HEADER_BYTES = 100 << 20   # the format's own limit (100 MB)


class SafetensorsError(ValueError):
    """A file that is not a readable safetensors file."""


def _header(f, path):
    head = f.read(8)
    if len(head) != 8:
        raise SafetensorsError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER_BYTES:
        raise SafetensorsError(f"{path}: not a safetensors file (header of {n} bytes)")
    raw = f.read(n)
    if len(raw) != n:
        raise SafetensorsError(f"{path}: truncated header")
    try:
        header = json.loads(raw)
    except ValueError as e:
        raise SafetensorsError(f"{path}: header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    return header, metadata, 8 + n


def read_metadata(path):
    """The file's `__metadata__` (a dict of strings), without reading the tensors."""
    with open(path, "rb") as f:
        return _header(f, path)[1]


def _dtypes():
    import torch
    d = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
         "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
         "BOOL": torch.bool}
    return d


def read_safetensors(path):
    """({name: tensor}, metadata, names in file order). The tensors are CPU tensors that own their memory."""
    import torch
    dtypes = _dtypes()
    with open(path, "rb") as f:
        header, metadata, base = _header(f, path)
        blob = f.read()
    tensors, order = {}, []
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        try:
            begin, end = (int(v) for v in info["data_offsets"])
            dtype = dtypes[info["dtype"]]
            shape = [int(v) for v in info["shape"]]
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{path}: tensor {name!r}: bad or unsupported entry {info!r}") from None
        if not 0 <= begin <= end <= len(blob):
            raise SafetensorsError(f"{path}: tensor {name!r}: data [{begin}, {end}) outside the file")
        t = torch.frombuffer(bytearray(blob[begin:end]), dtype=dtype) if end > begin else \
            torch.empty(0, dtype=dtype)
        count = 1
        for s in shape:
            count *= s
        if t.numel() != count:
            raise SafetensorsError(f"{path}: tensor {name!r}: {end - begin} bytes for shape {shape}")
        tensors[name] = t.reshape(shape)
        order.append(name)
    return tensors, metadata, order
