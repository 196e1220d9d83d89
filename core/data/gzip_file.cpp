#include "core/data/gzip_file.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_kind.h"
#include "core/input_limits.h"

namespace scn {

namespace fs = std::filesystem;

bool is_gzip_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

namespace {

std::vector<uint8_t> read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  SCN_CHECK(in, path, ": cannot open the file");
  const std::streamsize size = in.tellg();
  SCN_CHECK(size >= 0, path, ": cannot tell the file's size");
  check_input_size(path, "the file", static_cast<uint64_t>(size), InputKind::data_file);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  SCN_CHECK(in.gcount() == size, path, ": read ", in.gcount(), " of ", size, " bytes");
  return bytes;
}

// The last member's ISIZE field (its decompressed size mod 2^32): for the usual one-member file the exact size,
// so the buffer is allocated once. Only a hint: other files are read all the same.
uint64_t gzip_size_hint(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in.tellg();
  if (!in || size < 18) return 0;
  unsigned char b[4] = {};
  in.seekg(size - 4);
  in.read(reinterpret_cast<char*>(b), 4);
  return in ? uint64_t{b[0]} | uint64_t{b[1]} << 8 | uint64_t{b[2]} << 16 | uint64_t{b[3]} << 24 : 0;
}

std::vector<uint8_t> read_gzip(const std::string& path) {
  // The stream's length is known only at its end: read at most one byte past the budget, so a gzip bomb is
  // refused after `limit` bytes instead of exhausting memory.
  const size_t limit = static_cast<size_t>(input_limit(InputKind::data_file));
  const size_t hint = static_cast<size_t>(std::min<uint64_t>(gzip_size_hint(path), limit));
  gzFile gz = gzopen(path.c_str(), "rb");
  SCN_CHECK(gz != nullptr, path, ": cannot open the gzip file");
  gzbuffer(gz, 1 << 17);
  std::vector<uint8_t> bytes;
  size_t used = 0;
  // With the hint one byte more than it says, so that the end shows without growing the buffer.
  bytes.resize(std::max<size_t>(hint + 1, 1u << 20));
  for (;;) {
    if (used > limit) {
      gzclose(gz);
      fail_input_size(path, "the decompressed data", InputKind::data_file);
    }
    // Grow by half (a doubling past 2 GiB held three times the data for a moment), up to the budget.
    if (bytes.size() - used < (1u << 20)) bytes.resize(std::min(std::max(bytes.size() + bytes.size() / 2, used + (1u << 20)), limit + 1));
    // gzread takes an unsigned count and returns an int: at most 1 GiB per call (a larger request failed
    // past 2 GiB with "request does not fit in an int").
    const unsigned request = static_cast<unsigned>(std::min<size_t>(bytes.size() - used, size_t{1} << 30));
    const int got = gzread(gz, bytes.data() + used, request);
    if (got <= 0) {
      // gzread returns -1 on a truncated stream ("unexpected end of file") or a CRC/format error; 0 only at
      // the clean end of the last member.
      int code = Z_OK;
      const char* message = gzerror(gz, &code);
      const std::string what = message ? message : "unknown error";
      gzclose(gz);
      SCN_CHECK(got == 0 && code == Z_OK, path, ": truncated or corrupt gzip data after ", used,
                " decompressed bytes (zlib: ", what, ")");
      break;
    }
    used += static_cast<size_t>(got);
  }
  bytes.resize(used);
  if (bytes.capacity() - used > used / 2) bytes.shrink_to_fit();  // a copy, but then of less than the buffer
  return bytes;
}

}  // namespace

std::vector<uint8_t> read_data_file(const std::string& path) {
  const std::string kind = non_regular_kind(path);
  SCN_CHECK(kind != "nothing", path, ": no such file");
  SCN_CHECK(kind.empty(), path, ": is ", kind, ", not a file scn can read (data and images are read from regular files)");
  return is_gzip_file(path) ? read_gzip(path) : read_plain(path);
}

std::optional<std::string> find_data_file(const std::string& dir, const std::string& name) {
  std::error_code ec;
  const std::string plain = (fs::path(dir) / name).string(), gz = plain + ".gz";
  const bool has_plain = fs::is_regular_file(plain, ec), has_gz = fs::is_regular_file(gz, ec);
  // Two copies may differ; reading one of them silently would hide which data trained the net.
  SCN_CHECK(!(has_plain && has_gz), plain, " and ", gz, " both exist: remove one of them");
  if (has_plain) return plain;
  if (has_gz) return gz;
  return std::nullopt;
}

std::string require_data_file(const std::string& dir, const std::string& name) {
  std::optional<std::string> path = find_data_file(dir, name);
  const std::string expected = (fs::path(dir) / name).string();
  SCN_CHECK(path.has_value(), expected, ": no such file (nor ", expected, ".gz)");
  return *path;
}

}  // namespace scn
