// Element types of tensors and variable stores.
//
// rnnkit computes in float32; float64 exists so that finite-difference gradient
// checks have the precision they need.
#pragma once

#include <cstddef>
#include <string>

namespace rnnkit {

enum class DType { f32, f64 };

// "F32" / "F64", the safetensors spelling.
const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

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
