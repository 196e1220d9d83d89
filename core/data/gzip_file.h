#pragma once
// Whole-file reads of data files that may be gzip-compressed: `name` or `name.gz`, told apart by the gzip
// magic bytes (1f 8b) rather than by the name, and decompressed with zlib (gzopen/gzread).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scn {

// The file's bytes, decompressed when it starts with the gzip magic. Missing, unreadable, truncated or
// corrupt files throw scn::Error naming `path`.
std::vector<uint8_t> read_data_file(const std::string& path);

// `dir/name` if it exists, else `dir/name.gz` if that exists, else nothing; both existing is an error.
std::optional<std::string> find_data_file(const std::string& dir, const std::string& name);

// As find_data_file, but a missing file is an scn::Error naming both paths it tried.
std::string require_data_file(const std::string& dir, const std::string& name);

// True when the file at `path` starts with the gzip magic bytes.
bool is_gzip_file(const std::string& path);

}  // namespace scn
