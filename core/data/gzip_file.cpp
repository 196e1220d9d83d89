#include "core/data/gzip_file.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
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

std::vector<uint8_t> read_gzip(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  SCN_CHECK(gz != nullptr, path, ": cannot open the gzip file");
  gzbuffer(gz, 1 << 17);
  std::vector<uint8_t> bytes;
  size_t used = 0;
  // The stream's length is known only at its end: read at most one byte past the budget, so a gzip bomb is
  // refused after `limit` bytes instead of exhausting memory.
  const size_t limit = static_cast<size_t>(input_limit(InputKind::data_file));
  for (;;) {
    if (used > limit) {
      gzclose(gz);
      fail_input_size(path, "the decompressed data", InputKind::data_file);
    }
    if (bytes.size() - used < (1u << 20))
      bytes.resize(std::min(std::max<size_t>(bytes.size() * 2, used + (1u << 20)), limit + 1));
    const int got = gzread(gz, bytes.data() + used, static_cast<unsigned>(bytes.size() - used));
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
  bytes.shrink_to_fit();
  return bytes;
}

}  // namespace

std::vector<uint8_t> read_data_file(const std::string& path) {
  std::error_code ec;
  SCN_CHECK(fs::is_regular_file(path, ec), path, ": no such file");
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
