#pragma once
#include <cstddef>
#include <cstdint>

namespace scn {

// Element type, a runtime value. Floating point: f32 everywhere, f64 on the CPU reference engine (gradient
// checks). Integer: u8 for images as stored, i32 for labels and index tables.
enum class DType { f32, f64, i32, u8 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64: return 8;
    case DType::u8: return 1;
    default: return 4;
  }
}
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    default: return "u8";
  }
}

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::u8; }

}  // namespace scn
