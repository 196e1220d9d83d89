#include "core/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"

namespace scn {

// Tensor bytes go to and from the file as they are in memory; safetensors data is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;  // keeps the header's key order (the order of equal offsets)

constexpr const char* kMetadataKey = "__metadata__";

const char* format_dtype(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i32:
      return "I32";
    default:
      return "U8";
  }
}

bool parse_dtype(const std::string& s, DType* out) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::u8}) {
    if (s == format_dtype(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

// A JSON value for an error message, cut short: a corrupt header can hold megabytes in one value.
std::string shown(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Every refusal of the reader names the file.
template <class... Args>
[[noreturn]] void refuse(const std::string& path, const Args&... args) {
  SCN_FAIL("read_safetensors: '", path, "': ", args...);
}

void read_exact(std::ifstream& in, void* dst, uint64_t bytes, const std::string& path, const std::string& what) {
  if (bytes == 0) return;
  in.read(static_cast<char*>(dst), static_cast<std::streamsize>(bytes));
  if (static_cast<uint64_t>(in.gcount()) != bytes) {
    refuse(path, "unexpected end of file reading ", what, " (", in.gcount(), " of ", bytes,
           " bytes; file truncated while being read?)");
  }
}

// A validated header entry.
struct Entry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

// A non-negative JSON integer (nlohmann parses those as unsigned; negatives as signed; anything with a
// fraction, an exponent or beyond 2^64 as floating point).
uint64_t json_unsigned(const Json& v, const std::string& path, const std::string& name, const char* what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) refuse(path, "tensor '", name, "': ", what, " ", shown(v), " is negative");
  refuse(path, "tensor '", name, "': ", what, " must be a non-negative integer, got ", shown(v));
}

Entry parse_entry(const std::string& name, const Json& v, uint64_t data_bytes, const std::string& path) {
  auto bad = [&](const auto&... args) { refuse(path, "tensor '", name, "': ", args...); };
  if (!v.is_object()) bad("the entry must be an object {dtype, shape, data_offsets}, got ", shown(v));
  for (const auto& [key, value] : v.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") bad("unknown key '", key, "'");
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) bad("missing \"", key, "\"");
  }
  Entry e;
  e.name = name;

  const Json& dtype = v["dtype"];
  if (!dtype.is_string()) bad("\"dtype\" must be a string, got ", shown(dtype));
  const std::string dtype_text = dtype.get<std::string>();
  if (!parse_dtype(dtype_text, &e.dtype)) {
    bad("dtype ", dtype_text, " is not supported (scn reads F32, F64, I32 and U8)");
  }

  const Json& shape = v["shape"];
  if (!shape.is_array()) bad("\"shape\" must be an array of integers, got ", shown(shape));
  if (shape.size() > static_cast<size_t>(Shape::kMaxDims)) {
    bad("shape ", shown(shape), " has ", shape.size(), " dimensions; scn tensors have at most ", Shape::kMaxDims);
  }
  for (const Json& d : shape) {
    const uint64_t dim = json_unsigned(d, path, name, "dimension");
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) bad("dimension ", dim, " is too large");
    e.shape.push(static_cast<int64_t>(dim));
  }

  const Json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    bad("\"data_offsets\" must be an array [begin, end], got ", shown(offsets));
  }
  e.begin = json_unsigned(offsets[0], path, name, "data offset");
  e.end = json_unsigned(offsets[1], path, name, "data offset");
  if (e.begin > e.end) bad("data_offsets [", e.begin, ", ", e.end, "] end before they begin");
  if (e.end > data_bytes) {
    bad("data_offsets [", e.begin, ", ", e.end, "] lie outside the data section of ", data_bytes,
        " bytes (truncated file?)");
  }

  // shape × dtype size, without overflow: the product of huge dimensions must not wrap around to a match.
  // A zero dimension makes the product exactly 0 whatever the others are.
  uint64_t bytes = dtype_size(e.dtype);
  bool overflow = false;
  for (int i = 0; i < e.shape.rank(); ++i) {
    overflow |= __builtin_mul_overflow(bytes, static_cast<uint64_t>(e.shape[i]), &bytes);
    if (e.shape[i] == 0) {
      bytes = 0;
      overflow = false;
    }
  }
  if (overflow || bytes != e.end - e.begin) {
    bad("shape ", e.shape.str(), " of ", dtype_text, " needs ", overflow ? "more than 2^64" : std::to_string(bytes),
        " bytes but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin, " (size does not match)");
  }
  return e;
}

std::map<std::string, std::string> parse_metadata(const Json& v, const std::string& path) {
  if (!v.is_object()) refuse(path, "\"__metadata__\" must be an object of strings, got ", shown(v));
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string()) refuse(path, "metadata '", key, "' must be a string, got ", shown(value));
    out[key] = value.get<std::string>();
  }
  return out;
}

// Parses the header, refusing invalid JSON, duplicate keys (nlohmann would silently keep one of them) and
// nesting deeper than a header has (root object → entry → shape array → dimension).
Json parse_header(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> keys;  // the keys seen so far in each open object
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > 3) refuse(path, "the header nests deeper than a safetensors header can");
    if (event == Json::parse_event_t::object_start) keys.emplace_back();
    if (event == Json::parse_event_t::object_end) keys.pop_back();
    if (event == Json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second) {
      if (depth == 1) refuse(path, "duplicate tensor name '", parsed.get<std::string>(), "' in the header");
      refuse(path, "duplicate key '", parsed.get<std::string>(), "' in the header");
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(text, callback);
  } catch (const Json::exception& e) {
    refuse(path, "the header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) refuse(path, "the header must be a JSON object, got ", shown(header));
  return header;
}

}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [key, value] : metadata) m[key] = value;
    header[kMetadataKey] = std::move(m);
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SCN_CHECK(t.defined(), "write_safetensors: '", path, "': tensor '", name, "' is undefined");
    SCN_CHECK(name != kMetadataKey, "write_safetensors: '", path, "': \"", kMetadataKey,
              "\" is reserved and cannot name a tensor");
    SCN_CHECK(names.insert(name).second, "write_safetensors: '", path, "': duplicate tensor name '", name, "'");
    Json shape = Json::array();
    for (int i = 0; i < t.rank(); ++i) shape.push_back(t.size(i));
    Json entry = Json::object();
    entry["dtype"] = format_dtype(t.dtype());
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = Json::array({offset, offset + t.bytes()});
    header[name] = std::move(entry);
    offset += t.bytes();
  }
  for (const auto& [name, t] : tensors) {
    try {
      (void)Json(name).dump();
    } catch (const Json::exception&) {
      SCN_FAIL("write_safetensors: '", path, "': tensor name '", shorten(name), "' is not UTF-8");
    }
  }
  // Metadata is descriptive text (a config naming a Latin-1 folder, say): bytes that are not UTF-8 become
  // U+FFFD rather than making the checkpoint unwritable after a whole epoch of training.
  std::string text = header.dump(-1, ' ', false, Json::error_handler_t::replace);  // compact, as Python's safetensors writes it
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned

  write_file_atomically(path, [&](std::ostream& out) {
    char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
    out.write(length, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : tensors) {
      if (t.bytes() == 0) continue;
      const Tensor host = t.to(Device::cpu());
      out.write(static_cast<const char*>(host.raw()), static_cast<std::streamsize>(host.bytes()));
    }
  }, 8 + text.size() + offset);
}

SafetensorsFile read_safetensors(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) refuse(path, "cannot open: ", ec ? ec.message() : "no such file");
  if (!fs::is_regular_file(status)) refuse(path, "not a regular file");
  const uint64_t file_bytes = fs::file_size(path, ec);
  if (ec) refuse(path, "cannot read the size: ", ec.message());
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, "cannot open: ", errno ? std::strerror(errno) : "unknown error");

  if (file_bytes < 8) {
    refuse(path, "the file is ", file_bytes, " bytes, shorter than the 8-byte header length (truncated or not a ",
           "safetensors file)");
  }
  unsigned char length[8];
  read_exact(in, length, 8, path, "the header length");
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | length[i];
  if (header_bytes > kSafetensorsMaxHeaderBytes) {
    refuse(path, "header length ", header_bytes, " exceeds the limit of ", kSafetensorsMaxHeaderBytes,
           " bytes (corrupt or not a safetensors file)");
  }
  if (header_bytes > file_bytes - 8) {
    refuse(path, "header length ", header_bytes, " exceeds the ", file_bytes - 8,
           " bytes that follow it (truncated file?)");
  }
  std::string text(header_bytes, '\0');
  read_exact(in, text.data(), header_bytes, path, "the header");
  const Json header = parse_header(text, path);
  const uint64_t data_bytes = file_bytes - 8 - header_bytes;

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata = parse_metadata(value, path);
    } else {
      entries.push_back(parse_entry(key, value, data_bytes, path));
    }
  }

  // The ranges must tile [0, data_bytes): in offset order (header order among equal offsets, which only
  // empty tensors can share) each begins where the previous one ended.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered) {
      refuse(path, "tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end, "] overlap those of tensor '",
             previous->name, "' [", previous->begin, ", ", previous->end, "]");
    }
    if (e.begin > covered) {
      refuse(path, "tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end, "] leave a gap of ",
             e.begin - covered, " bytes after offset ", covered);
    }
    covered = e.end;
    previous = &e;
  }
  if (covered != data_bytes) {
    refuse(path, "the data section has ", data_bytes - covered, " trailing bytes after offset ", covered,
           " that no tensor covers (a gap at the end)");
  }

  // Only now, with every size checked against the file, is memory allocated.
  file.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    read_exact(in, t.raw(), e.end - e.begin, path, "tensor '" + e.name + "'");
    file.tensors.emplace_back(e.name, std::move(t));
  }
  return file;
}

}  // namespace scn
