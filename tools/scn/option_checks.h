#pragma once
// Validators for numeric options whose messages say what is allowed in words ("--images 0: expected a whole
// number from 1 to 1000000000"), where CLI11's own print the limits of a double ("Value 0 not in range
// 0.000000 to 1797693134862315708…") and take "nan" or a number past the option's type.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace scn::cli {

inline constexpr int64_t kMaxCount = 1000000000;            // images, steps, trials: far past any real use
inline constexpr int64_t kMaxSeed = 9223372036854775807;  // seeds: what a config's `seed` takes (int64)

// A whole number in [lo, hi], written as digits only (no sign, exponent or fraction). `name` is what the
// help shows after the type ("POSITIVE", "NONNEGATIVE", or "" for the range itself).
CLI::Validator whole_number(int64_t lo, int64_t hi, const std::string& name = "");
// A finite number in [lo, hi] (`lo_open`: > lo), never NaN or infinite.
CLI::Validator finite_number(double lo, double hi, bool lo_open, const std::string& name = "");

}  // namespace scn::cli
