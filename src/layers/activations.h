// Internal: the activations the cell kernels share, and the functors that select them at
// compile time (one instantiation of a kernel per combination the options can ask for).
//
// double: std::exp / std::tanh (the references and gradient checks compute in double).
// float: our own branch-free, call-free exp, so that the kernels' loops over a row
// vectorize (a call to expf or tanhf in a loop stops GCC from vectorizing it, and
// libmvec's vector versions need -ffast-math, which rnnkit does not use):
//   exp(x):  x clamped to [-87, 88]; x = n ln2 + r with n = round(x / ln2) (by adding and
//            subtracting 1.5 * 2^23, exact with or without an FMA), r computed in two parts
//            (Cody-Waite) so |r| <= ln2 / 2 with no cancellation; exp(r) by its Taylor
//            polynomial to degree 7 (truncation error < 6e-9 relative); 2^n from exponent bits.
//            Error within 2 ulp (tests/layers/activations_test.cc measures it).
//   sigmoid(x) = 1 / (1 + exp(-x))
//   tanh(x)  = sign(x) (e - 1) / (e + 1) with e = exp(2|x|) for |x| >= 0.25, and its
//            Taylor polynomial to x^9 below, where e - 1 would cancel (error < 1e-8 relative).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

// RNNKIT_VECTORIZE, placed before a kernel's loop over a row, tells the compiler that the
// loop's iterations are independent: each gate's slice of a row is its own pointer and
// the slices never overlap, but with a dozen streams GCC would need more run-time alias
// checks than it emits (10) and keep the loop scalar.
#if defined(__clang__)
#define RNNKIT_VECTORIZE _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define RNNKIT_VECTORIZE _Pragma("GCC ivdep")
#else
#define RNNKIT_VECTORIZE
#endif

// RNNKIT_KERNEL, on a cell kernel: GCC compiles it for AVX-512, AVX2 and baseline x86-64 and
// picks one at load time from the CPU (target_clones), so the vectorized loops run 16 or 8
// floats wide where the CPU allows. The width does not change an element's arithmetic; GCC's
// contraction into FMAs (its C++ default) does, so the v3 and v4 clones, which have FMA, may
// differ in the last bit from the baseline one.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RNNKIT_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RNNKIT_KERNEL
#endif

namespace rnnkit::detail {

inline float exp_float(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504f + shifter;
  const float n = shifted - shifter;
  // n as an integer from the bits (its low mantissa bits): exact for every finite x, and no
  // float-to-int conversion, which a NaN input would make undefined (a NaN stays NaN below).
  const int32_t exponent = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(shifter);
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;  // ln2 = 0.693145752 + 1.42860677e-6
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = std::bit_cast<float>(static_cast<int32_t>(static_cast<uint32_t>(exponent + 127) << 23));
  return p * scale;
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + exp_float(-x)); }

inline double tanh(double x) { return std::tanh(x); }
inline float tanh(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float e = exp_float(2.0f * ax);
  const float large = (e - 1.0f) / (e + 1.0f);
  const float x2 = ax * ax;  // tanh x = x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - ...
  const float small =
      ax + ax * x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f + x2 * (62.0f / 2835.0f))));
  const float t = ax < 0.25f ? small : large;
  return x < 0.0f ? -t : t;
}

// The gate and cell activations as functors: value(x), and the derivative in terms of the
// output y = value(x) (what forward keeps). Comparisons are written so that NaN propagates
// (x < 0 ? 0 : x keeps a NaN where std::max-style code would not).
template <class T>
struct Sigmoid {
  T value(T x) const { return sigmoid(x); }
  T derivative(T y) const { return y * (T(1) - y); }
};

// max(0, min(1, alpha x + beta)); its derivative alpha inside (0, 1), 0 where it saturates.
template <class T>
struct HardSigmoid {
  T alpha, beta;
  T value(T x) const {
    T y = alpha * x + beta;
    y = y < T(0) ? T(0) : y;
    return y > T(1) ? T(1) : y;
  }
  T derivative(T y) const { return y > T(0) && y < T(1) ? alpha : T(0); }
};

template <class T>
struct Tanh {
  T value(T x) const { return tanh(x); }
  T derivative(T y) const { return T(1) - y * y; }
};

template <class T>
struct Relu {
  T value(T x) const { return x < T(0) ? T(0) : x; }
  T derivative(T y) const { return y > T(0) ? T(1) : T(0); }
};

// clip_C(x) = max(-C, min(C, x)); C = +inf is no clip. NaN passes through.
template <class T>
inline T clip(T x, T c) {
  x = x < -c ? -c : x;
  return x > c ? c : x;
}
// The clip's derivative: 1 strictly inside (-C, C), else 0.
template <class T>
inline T inside(T x, T c) {
  return x < c && x > -c ? T(1) : T(0);
}

}  // namespace rnnkit::detail
