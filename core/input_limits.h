#pragma once
// One budget for the sizes that untrusted input asks for: a decompressed data file, one decoded image, a
// config file. A file whose header or stream claims more is refused with a message that names the file, the
// size and the limit, before anything that large is allocated (a 900-byte JPEG may claim 65500² pixels, a
// 6 MiB gzip file may inflate to 6 GiB). The defaults fit every real data set scn reads; each limit can be
// raised through its environment variable for a data set that truly needs more.
#include <cstdint>
#include <string>

namespace scn {

struct InputLimits {
  uint64_t data_file_bytes;  // one data file after decompression  (SCN_MAX_DATA_FILE_BYTES, default 4 GiB)
  uint64_t image_pixels;     // one decoded image, width × height    (SCN_MAX_IMAGE_PIXELS, default 64 M)
  uint64_t config_bytes;     // one config file                      (SCN_MAX_CONFIG_BYTES, default 1 MiB)
};

// The limits in force (read from the environment once; tests lower them through the reference). A variable
// set to anything but a positive whole number is an error naming it (it used to be ignored).
InputLimits& input_limits();

// One variable's value: `fallback` when unset or empty, else the number; "lots", "-1", "0" throw scn::Error.
uint64_t parse_limit_variable(const char* name, const char* text, uint64_t fallback);

enum class InputKind { data_file, image, config };
uint64_t input_limit(InputKind kind);

// Throws scn::Error "<file>: <what> is <size>, more than the limit of <limit> (raise it with <env>=N …)"
// when `size` exceeds the limit of `kind`.
void check_input_size(const std::string& file, const std::string& what, uint64_t size, InputKind kind);
// The same when the size is not known, only that it is too large (a stream read up to the limit).
[[noreturn]] void fail_input_size(const std::string& file, const std::string& what, InputKind kind);

}  // namespace scn
