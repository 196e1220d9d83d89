"""safetensors files (scn's checkpoints, exports and logits), read and written with the standard library and
torch: no dependency on the `safetensors` package. (safetensors.torch.load_file reads the same files where it
is installed.)

Layout: an 8-byte little-endian header length n, n bytes of JSON {name: {dtype, shape, data_offsets}, ...,
"__metadata__": {str: str}}, then the tensor data, offsets relative to its start.

The reader refuses what scn's reader (core/safetensors.cpp) refuses, with an ExportError naming the file and
the tensor or key, and checks every size against the file before it allocates anything: a header longer than
100 MB or than the file, JSON that is invalid, not UTF-8 or has a key twice, an entry that is not
{dtype, shape, data_offsets}, more than 4 dimensions, negative or non-integer sizes, a shape whose bytes are not
its offsets' span, offsets outside the data section, and ranges that do not tile the data section exactly (an
overlap, a gap, trailing bytes). Files that are not regular files (a FIFO, /dev/zero) are refused unread.
"""
import json
import os
import stat
import struct

from .errors import ExportError, shown

MAX_HEADER_BYTES = 100_000_000   # core/safetensors.h kSafetensorsMaxHeaderBytes
MAX_DIMS = 4                     # scn's tensors (core/shape.h)
METADATA_KEY = "__metadata__"
ENTRY_KEYS = ("dtype", "shape", "data_offsets")
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class SafetensorsError(ExportError):
    """A file that is not a readable safetensors file."""


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    # json keeps the last of two equal keys silently; scn refuses them (a tensor named twice is ambiguous).
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen.add(key)
    return dict(pairs)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")   # Python's json accepts NaN and Infinity; the format does not


def _is_size(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


class Entry:
    """One validated header entry."""
    __slots__ = ("name", "dtype", "shape", "begin", "end")

    def __init__(self, name, dtype, shape, begin, end):
        self.name, self.dtype, self.shape, self.begin, self.end = name, dtype, shape, begin, end


def _entry(name, info, data_bytes, path):
    def bad(msg):
        return SafetensorsError(f"{path}: tensor {shown(name)}: {msg}")

    if not isinstance(info, dict):
        raise bad(f"the entry must be an object {{dtype, shape, data_offsets}}, got {shown(info)}")
    for key in info:
        if key not in ENTRY_KEYS:
            raise bad(f"unknown key {shown(key)}")
    for key in ENTRY_KEYS:
        if key not in info:
            raise bad(f'missing "{key}"')
    dtype = info["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise bad(f"dtype {shown(dtype)} is not supported (known: {', '.join(DTYPE_BYTES)})")
    shape = info["shape"]
    if not isinstance(shape, list):
        raise bad(f'"shape" must be an array of integers, got {shown(shape)}')
    if len(shape) > MAX_DIMS:
        raise bad(f"shape has {len(shape)} dimensions; scn tensors have at most {MAX_DIMS}")
    for d in shape:
        if not _is_size(d) or d >= 1 << 63:
            raise bad(f"dimension {shown(d)} is not a non-negative integer below 2^63")
    offsets = info["data_offsets"]
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_size(v) for v in offsets):
        raise bad(f'"data_offsets" must be [begin, end] of non-negative integers, got {shown(offsets)}')
    begin, end = offsets
    if begin > end:
        raise bad(f"data_offsets [{begin}, {end}] end before they begin")
    if end > data_bytes:
        raise bad(f"data_offsets [{begin}, {end}] lie outside the data section of {data_bytes} bytes (truncated file?)")
    count = 1
    for d in shape:
        count *= d
    if count * DTYPE_BYTES[dtype] != end - begin:
        raise bad(f"shape {shape} of {dtype} needs {count * DTYPE_BYTES[dtype]} bytes but data_offsets "
                  f"[{begin}, {end}] hold {end - begin} (size does not match)")
    return Entry(name, dtype, tuple(shape), begin, end)


def _metadata(value, path):
    if not isinstance(value, dict):
        raise SafetensorsError(f'{path}: "{METADATA_KEY}" must be an object of strings, got {shown(value)}')
    for key, v in value.items():
        if not isinstance(v, str):
            raise SafetensorsError(f"{path}: metadata {shown(key)} must be a string, got {shown(v)}")
    return dict(value)


def _open_regular(path):
    """The open file and its size; a path that is not a regular file is refused before it is opened (opening
    a FIFO blocks, /dev/zero never ends)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise SafetensorsError(f"{path}: cannot open: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SafetensorsError(f"{path}: not a regular file")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise SafetensorsError(f"{path}: cannot open: {e.strerror or e}") from None
    return f, os.fstat(f.fileno()).st_size


def _read_exact(f, n, path, what):
    data = f.read(n)
    if len(data) != n:
        raise SafetensorsError(f"{path}: unexpected end of file reading {what} ({len(data)} of {n} bytes; "
                               f"file truncated while being read?)")
    return data


def _header(f, file_bytes, path):
    """(entries in offset order, metadata): the whole header validated against the file's size."""
    if file_bytes < 8:
        raise SafetensorsError(f"{path}: the file is {file_bytes} bytes, shorter than the 8-byte header length "
                               f"(truncated or not a safetensors file)")
    (n,) = struct.unpack("<Q", _read_exact(f, 8, path, "the header length"))
    if n > MAX_HEADER_BYTES:
        raise SafetensorsError(f"{path}: header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes "
                               f"(corrupt or not a safetensors file)")
    if n > file_bytes - 8:
        raise SafetensorsError(f"{path}: header length {n} exceeds the {file_bytes - 8} bytes that follow it "
                               f"(truncated file?)")
    raw = _read_exact(f, n, path, "the header")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Duplicate as e:
        raise SafetensorsError(f"{path}: duplicate key {shown(e.args[0])} in the header") from None
    except UnicodeDecodeError as e:
        raise SafetensorsError(f"{path}: the header is not UTF-8 text (byte {e.start})") from None
    except RecursionError:
        raise SafetensorsError(f"{path}: the header nests deeper than a safetensors header can") from None
    except ValueError as e:
        raise SafetensorsError(f"{path}: the header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: the header must be a JSON object, got {shown(header)}")
    data_bytes = file_bytes - 8 - n
    metadata, entries = {}, []
    for name, info in header.items():
        if name == METADATA_KEY:
            metadata = _metadata(info, path)
        else:
            entries.append(_entry(name, info, data_bytes, path))
    # The ranges must tile [0, data_bytes): in offset order (header order among equal offsets, which only empty
    # tensors can share) each begins where the previous one ended.
    entries.sort(key=lambda e: (e.begin, e.end))
    covered, previous = 0, None
    for e in entries:
        if e.begin < covered:
            raise SafetensorsError(f"{path}: tensor {shown(e.name)}: data_offsets [{e.begin}, {e.end}] overlap those "
                                   f"of tensor {shown(previous.name)} [{previous.begin}, {previous.end}]")
        if e.begin > covered:
            raise SafetensorsError(f"{path}: tensor {shown(e.name)}: data_offsets [{e.begin}, {e.end}] leave a gap "
                                   f"of {e.begin - covered} bytes after offset {covered}")
        covered, previous = e.end, e
    if covered != data_bytes:
        raise SafetensorsError(f"{path}: the data section has {data_bytes - covered} trailing bytes after offset "
                               f"{covered} that no tensor covers")
    return entries, metadata


def read_header(path):
    """(entries, metadata) of the file, validated but without reading the tensors: entries in offset order,
    each with .name, .dtype (e.g. "F32"), .shape (a tuple), .begin and .end."""
    f, size = _open_regular(path)
    with f:
        return _header(f, size, path)


def read_metadata(path):
    """The file's `__metadata__` (a dict of strings), without reading the tensors."""
    return read_header(path)[1]


def _dtypes():
    import torch
    return {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
            "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
            "BOOL": torch.bool}


def read_safetensors(path):
    """({name: tensor}, metadata, names in file order). The tensors are CPU tensors that own their memory;
    memory is allocated only once the header has been checked against the file."""
    import torch
    dtypes = _dtypes()
    f, size = _open_regular(path)
    with f:
        entries, metadata = _header(f, size, path)
        tensors, order = {}, []
        for e in entries:   # in offset order: the ranges tile the data section, so the reads are sequential
            n = e.end - e.begin
            if n:
                buf = bytearray(n)
                if f.readinto(buf) != n:
                    raise SafetensorsError(f"{path}: unexpected end of file reading tensor {shown(e.name)} "
                                           f"(file truncated while being read?)")
                t = torch.frombuffer(buf, dtype=dtypes[e.dtype]).reshape(e.shape)
            else:
                t = torch.empty(e.shape, dtype=dtypes[e.dtype])
            tensors[e.name] = t
            order.append(e.name)
    return tensors, metadata, order


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} (in the dict's order) and a metadata dict of strings as scn writes them: compact
    JSON padded with spaces to a multiple of 8. For tests and tools; scn's own files come from scn."""
    import torch
    names = {v: k for k, v in _dtypes().items()}
    header, blobs, offset = {}, [], 0
    if metadata:
        header[METADATA_KEY] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().to("cpu").contiguous()
        data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
