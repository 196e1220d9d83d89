#pragma once
// safetensors files (docs/design.md), the format of checkpoints: an 8-byte little-endian header
// length N, N bytes of JSON header (padded with spaces to a multiple of 8), then the raw little-endian
// tensor data. The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
// relative to the start of the data section, plus an optional "__metadata__" object of strings. Files are
// byte-compatible with Python's `safetensors` for the dtypes scn has.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace scn {

// The largest header a reader accepts (the limit of Python's safetensors): a larger length field means a
// corrupt file, and nothing is allocated for it.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// What read_safetensors returns; the tensors are on the CPU.
struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order (ascending data offsets)
  std::map<std::string, std::string> metadata;          // "__metadata__", empty when absent
  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// Writes `tensors` (any device; copied to the host one at a time) in the given order, with contiguous
// offsets, dtypes f32/f64/i32/u8 as F32/F64/I32/U8, and `metadata` as "__metadata__" (omitted when empty).
// The write is atomic (core/atomic_file.h): a crash never leaves a half-written file under `path`.
// Throws scn::Error on an undefined tensor, a duplicate name, the reserved name "__metadata__", a name or
// metadata string that is not UTF-8, or an I/O failure.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads a whole file after validating every byte of its structure against the file size: the header length,
// the JSON (an object without duplicate keys), each entry (dtype, shape, data_offsets and their JSON types),
// that shape × dtype size equals the byte range, and that the ranges tile the data section exactly (no
// overlap, no gap, nothing outside or left over). Dtypes other than F32, F64, I32 and U8 (BF16, F16, I64, …)
// are refused, as are shapes of more than 4 dimensions. Every refusal is an scn::Error that names the file
// and, where one is at fault, the tensor. No memory is allocated from a header value before it is checked.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace scn
