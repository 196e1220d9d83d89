#pragma once
// scn::Error and the checks that raise it. Library-specific checks (CUDA, cuDNN, cuBLAS, cuFFT) live in
// core/cuda/check.h; oneDNN's where kernels/cpu/conv2d_onednn.cpp calls it.
#include <sstream>
#include <stdexcept>
#include <string>

namespace scn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The message of an scn::Error without the source location its check appends (" (core/x.cpp:12)").
std::string without_location(const std::string& message);

// `text` cut to at most `max` characters ("abc… (20971520 characters)"), for echoing user input in messages.
std::string shorten(const std::string& text, size_t max = 80);

// "1.5 GiB", "900 B": sizes for people.
std::string format_bytes(double bytes);

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_error(const char* file, int line, const std::string& what);
}  // namespace detail

}  // namespace scn

// Throws scn::Error("<message> (file:line)") when `cond` is false. The message parts are streamed.
#define SCN_CHECK(cond, ...)                                                                   \
  do {                                                                                         \
    if (!(cond)) ::scn::detail::throw_error(__FILE__, __LINE__, ::scn::detail::concat(__VA_ARGS__)); \
  } while (0)

#define SCN_FAIL(...) ::scn::detail::throw_error(__FILE__, __LINE__, ::scn::detail::concat(__VA_ARGS__))
