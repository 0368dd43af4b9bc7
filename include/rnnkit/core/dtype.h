// Element types of tensors and variable stores.
//
// rnnkit computes in float32; float64 exists so that finite-difference gradient
// checks have the precision they need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rnnkit {

enum class DType { f32, f64 };

// "F32" / "F64", the safetensors spelling.
const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

// The 16-bit floating-point types files hold, widened exactly: IEEE binary16 (F16: 1 sign, 5
// exponent, 10 mantissa bits; subnormals, infinities and NaNs kept) and bfloat16 (BF16: the
// high 16 bits of a float32).
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};

}  // namespace rnnkit
