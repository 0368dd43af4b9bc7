// The block-update kernels of orthogonal version 2 (orthogonal_kernels.h): portable C++, and
// x86-64 forms for AVX2 and AVX-512F, compiled into every build with GCC/clang target
// attributes and chosen by what the CPU reports at run time.
//
// Why every form gives the same bits: each output element is computed by the sequence the
// header spells out, and the vector forms only put different elements in different lanes.
//   dot_lanes: the four partial sums of one dot product are the four lanes of one vector
//     (AVX2: one ymm per (column, reflector); AVX-512: one zmm per (column, two reflectors));
//     each step multiplies four rows of V by the same four rows of C and adds, lane by lane.
//   subtract: lanes are consecutive rows of one column; each lane runs the column's sequence.
// Only vector multiply, add and subtract are used: no FMA (this file is compiled with
// -ffp-contract=off, src/CMakeLists.txt, so the compiler may not fuse them either, which it
// would otherwise do for AVX-512F, whose instruction set includes FMA), no horizontal sums,
// no reassociation.
#include "orthogonal_kernels.h"

#include <algorithm>

#include "rnnkit/core/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RNNKIT_ORTHOGONAL_X86 1
#include <immintrin.h>
#else
#define RNNKIT_ORTHOGONAL_X86 0
#endif

namespace rnnkit::detail {
namespace {

constexpr int64_t kQuad = kPanelWidth * 4;  // doubles per row quad of v_quads and per column of lanes

// ---- portable ---------------------------------------------------------------------------

// Four reflectors at a time: 16 independent sums, where one reflector's 4 would wait on the
// latency of each addition.
void dot_lanes_portable(const PackedReflector& v, const double* c, int64_t ldc, int64_t columns, int64_t q0, int64_t q1,
                        double* lanes) {
  constexpr int kTogether = 4;
  for (int64_t jc = 0; jc < columns; ++jc) {
    const double* col = c + jc * ldc;
    int64_t i0 = 0;
    for (; i0 + kTogether <= v.width; i0 += kTogether) {
      double* out = lanes + jc * kQuad + i0 * 4;
      double s[kTogether][4];
      for (int64_t ii = 0; ii < kTogether; ++ii) {
        for (int64_t u = 0; u < 4; ++u) s[ii][u] = out[ii * 4 + u];
      }
      const double* vi = v.v + i0 * v.ldv;
      for (int64_t r = 4 * q0; r < 4 * q1; r += 4) {
        for (int64_t ii = 0; ii < kTogether; ++ii) {
          for (int64_t u = 0; u < 4; ++u) s[ii][u] += vi[ii * v.ldv + r + u] * col[r + u];
        }
      }
      for (int64_t ii = 0; ii < kTogether; ++ii) {
        for (int64_t u = 0; u < 4; ++u) out[ii * 4 + u] = s[ii][u];
      }
    }
    for (int64_t i = i0; i < v.width; ++i) {
      const double* vi = v.v + i * v.ldv;
      double* out = lanes + jc * kQuad + i * 4;
      double s0 = out[0], s1 = out[1], s2 = out[2], s3 = out[3];
      for (int64_t r = 4 * q0; r < 4 * q1; r += 4) {
        s0 += vi[r] * col[r];
        s1 += vi[r + 1] * col[r + 1];
        s2 += vi[r + 2] * col[r + 2];
        s3 += vi[r + 3] * col[r + 3];
      }
      out[0] = s0;
      out[1] = s1;
      out[2] = s2;
      out[3] = s3;
    }
  }
}

void subtract_portable(const PackedReflector& v, const double* w, double* c, int64_t ldc, int64_t columns, int64_t r0,
                       int64_t r1) {
  const int64_t ldv = v.ldv, b = v.width;
  const int64_t b4 = b - b % 4;
  for (int64_t jc = 0; jc < columns; ++jc) {
    double* col = c + jc * ldc;
    const double* wc = w + jc * kPanelWidth;
    for (int64_t i = 0; i < b4; i += 4) {
      const double* v0 = v.v + i * ldv;
      const double* v1 = v0 + ldv;
      const double* v2 = v1 + ldv;
      const double* v3 = v2 + ldv;
      const double w0 = wc[i], w1 = wc[i + 1], w2 = wc[i + 2], w3 = wc[i + 3];
      for (int64_t r = r0; r < r1; ++r) col[r] -= ((v0[r] * w0 + v1[r] * w1) + v2[r] * w2) + v3[r] * w3;
    }
    for (int64_t i = b4; i < b; ++i) {
      const double* vi = v.v + i * ldv;
      const double wi = wc[i];
      for (int64_t r = r0; r < r1; ++r) col[r] -= vi[r] * wi;
    }
  }
}

constexpr ReflectorKernels kPortable = {dot_lanes_portable, subtract_portable};

#if RNNKIT_ORTHOGONAL_X86

// One element's subtract sequence, for the rows that a vector does not cover.
inline void subtract_element(const double* v, int64_t ldv, int64_t b, const double* wc, double* x, int64_t r) {
  const int64_t b4 = b - b % 4;
  double y = x[r];
  for (int64_t i = 0; i < b4; i += 4) {
    const double* v0 = v + i * ldv;
    y -= ((v0[r] * wc[i] + v0[ldv + r] * wc[i + 1]) + v0[2 * ldv + r] * wc[i + 2]) + v0[3 * ldv + r] * wc[i + 3];
  }
  for (int64_t i = b4; i < b; ++i) y -= v[i * ldv + r] * wc[i];
  x[r] = y;
}

// ---- AVX2 -------------------------------------------------------------------------------
// dot: tiles of 4 reflectors x kDotColumns2 columns, one ymm (4 lanes) per pair.
// subtract: tiles of 4 * kRowVectors2 rows x kSubColumns2 columns.

constexpr int kDotReflectors2 = 4;
constexpr int kDotColumns2 = 2;
constexpr int kRowVectors2 = 2;
constexpr int kSubColumns2 = 2;

template <int CT>
__attribute__((target("avx2"))) inline void dot_tile_avx2(const double* vq, const double* c, int64_t ldc, int64_t q0,
                                                          int64_t q1, double* lanes) {
  __m256d acc[CT][kDotReflectors2];
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < kDotReflectors2; ++h) acc[jc][h] = _mm256_loadu_pd(lanes + jc * kQuad + h * 4);
  }
  for (int64_t q = q0; q < q1; ++q) {
    const double* vrow = vq + q * kQuad;
    __m256d vh[kDotReflectors2];
    for (int64_t h = 0; h < kDotReflectors2; ++h) vh[h] = _mm256_loadu_pd(vrow + h * 4);
    for (int64_t jc = 0; jc < CT; ++jc) {
      const __m256d x = _mm256_loadu_pd(c + jc * ldc + 4 * q);
      for (int64_t h = 0; h < kDotReflectors2; ++h) acc[jc][h] = _mm256_add_pd(acc[jc][h], _mm256_mul_pd(vh[h], x));
    }
  }
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < kDotReflectors2; ++h) _mm256_storeu_pd(lanes + jc * kQuad + h * 4, acc[jc][h]);
  }
}

__attribute__((target("avx2"))) void dot_lanes_avx2(const PackedReflector& v, const double* c, int64_t ldc,
                                                    int64_t columns, int64_t q0, int64_t q1, double* lanes) {
  const int64_t blocks = (v.width + kDotReflectors2 - 1) / kDotReflectors2;
  int64_t jc = 0;
  for (; jc + kDotColumns2 <= columns; jc += kDotColumns2) {
    for (int64_t ib = 0; ib < blocks; ++ib) {
      const int64_t i0 = ib * kDotReflectors2;
      dot_tile_avx2<kDotColumns2>(v.v_quads + i0 * 4, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad + i0 * 4);
    }
  }
  for (; jc < columns; ++jc) {
    for (int64_t ib = 0; ib < blocks; ++ib) {
      const int64_t i0 = ib * kDotReflectors2;
      dot_tile_avx2<1>(v.v_quads + i0 * 4, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad + i0 * 4);
    }
  }
}

template <int RH, int CT>
__attribute__((target("avx2"))) inline void subtract_tile_avx2(const double* v, int64_t ldv, int64_t b, const double* w,
                                                               double* c, int64_t ldc, int64_t r) {
  __m256d x[CT][RH];
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < RH; ++h) x[jc][h] = _mm256_loadu_pd(c + jc * ldc + r + 4 * h);
  }
  const int64_t b4 = b - b % 4;
  for (int64_t i = 0; i < b4; i += 4) {
    __m256d a[4][RH];
    for (int64_t k = 0; k < 4; ++k) {
      for (int64_t h = 0; h < RH; ++h) a[k][h] = _mm256_loadu_pd(v + (i + k) * ldv + r + 4 * h);
    }
    for (int64_t jc = 0; jc < CT; ++jc) {
      const double* wc = w + jc * kPanelWidth + i;
      const __m256d w0 = _mm256_set1_pd(wc[0]), w1 = _mm256_set1_pd(wc[1]);
      const __m256d w2 = _mm256_set1_pd(wc[2]), w3 = _mm256_set1_pd(wc[3]);
      for (int64_t h = 0; h < RH; ++h) {
        __m256d t = _mm256_mul_pd(a[0][h], w0);
        t = _mm256_add_pd(t, _mm256_mul_pd(a[1][h], w1));
        t = _mm256_add_pd(t, _mm256_mul_pd(a[2][h], w2));
        t = _mm256_add_pd(t, _mm256_mul_pd(a[3][h], w3));
        x[jc][h] = _mm256_sub_pd(x[jc][h], t);
      }
    }
  }
  for (int64_t i = b4; i < b; ++i) {
    __m256d a[RH];
    for (int64_t h = 0; h < RH; ++h) a[h] = _mm256_loadu_pd(v + i * ldv + r + 4 * h);
    for (int64_t jc = 0; jc < CT; ++jc) {
      const __m256d wi = _mm256_set1_pd(w[jc * kPanelWidth + i]);
      for (int64_t h = 0; h < RH; ++h) x[jc][h] = _mm256_sub_pd(x[jc][h], _mm256_mul_pd(a[h], wi));
    }
  }
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < RH; ++h) _mm256_storeu_pd(c + jc * ldc + r + 4 * h, x[jc][h]);
  }
}

template <int CT>
__attribute__((target("avx2"))) inline void subtract_columns_avx2(const PackedReflector& v, const double* w, double* c,
                                                                  int64_t ldc, int64_t r0, int64_t r1) {
  constexpr int64_t kRows = int64_t{4} * kRowVectors2;
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows) {
    subtract_tile_avx2<kRowVectors2, CT>(v.v, v.ldv, v.width, w, c, ldc, r);
  }
  for (; r + 4 <= r1; r += 4) subtract_tile_avx2<1, CT>(v.v, v.ldv, v.width, w, c, ldc, r);
  for (; r < r1; ++r) {
    for (int64_t jc = 0; jc < CT; ++jc) subtract_element(v.v, v.ldv, v.width, w + jc * kPanelWidth, c + jc * ldc, r);
  }
}

__attribute__((target("avx2"))) void subtract_avx2(const PackedReflector& v, const double* w, double* c, int64_t ldc,
                                                   int64_t columns, int64_t r0, int64_t r1) {
  int64_t jc = 0;
  for (; jc + kSubColumns2 <= columns; jc += kSubColumns2) {
    subtract_columns_avx2<kSubColumns2>(v, w + jc * kPanelWidth, c + jc * ldc, ldc, r0, r1);
  }
  for (; jc < columns; ++jc) subtract_columns_avx2<1>(v, w + jc * kPanelWidth, c + jc * ldc, ldc, r0, r1);
}

constexpr ReflectorKernels kAvx2 = {dot_lanes_avx2, subtract_avx2};

// ---- AVX-512F ---------------------------------------------------------------------------
// dot: tiles of 2 * kDotPairs5 reflectors x kDotColumns5 columns, one zmm per (column, two
//   reflectors): lanes 0-3 one reflector's partial sums, lanes 4-7 the next one's; the four
//   rows of C are broadcast to both halves.
// subtract: tiles of 8 * kRowVectors5 rows x kSubColumns5 columns; the last rows masked.

constexpr int kDotPairs5 = 4;
constexpr int kDotColumns5 = 6;
constexpr int kRowVectors5 = 2;
constexpr int kSubColumns5 = 4;

template <int CT>
__attribute__((target("avx512f"))) inline void dot_tile_avx512(const double* vq, const double* c, int64_t ldc,
                                                               int64_t q0, int64_t q1, double* lanes) {
  __m512d acc[CT][kDotPairs5];
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < kDotPairs5; ++h) acc[jc][h] = _mm512_loadu_pd(lanes + jc * kQuad + h * 8);
  }
  for (int64_t q = q0; q < q1; ++q) {
    const double* vrow = vq + q * kQuad;
    __m512d vh[kDotPairs5];
    for (int64_t h = 0; h < kDotPairs5; ++h) vh[h] = _mm512_loadu_pd(vrow + h * 8);
    for (int64_t jc = 0; jc < CT; ++jc) {
      // All-ones mask: GCC 12's unmasked form reads an undefined vector, which -Wmaybe-uninitialized reports.
      const __m512d x = _mm512_maskz_broadcast_f64x4(0xFF, _mm256_loadu_pd(c + jc * ldc + 4 * q));
      for (int64_t h = 0; h < kDotPairs5; ++h) acc[jc][h] = _mm512_add_pd(acc[jc][h], _mm512_mul_pd(vh[h], x));
    }
  }
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < kDotPairs5; ++h) _mm512_storeu_pd(lanes + jc * kQuad + h * 8, acc[jc][h]);
  }
}

template <int CT>
__attribute__((target("avx512f"))) inline void dot_columns_avx512(const PackedReflector& v, const double* c,
                                                                  int64_t ldc, int64_t q0, int64_t q1, double* lanes) {
  constexpr int64_t kBlock = int64_t{2} * kDotPairs5;
  for (int64_t i0 = 0; i0 < v.width; i0 += kBlock) {
    dot_tile_avx512<CT>(v.v_quads + i0 * 4, c, ldc, q0, q1, lanes + i0 * 4);
  }
}

__attribute__((target("avx512f"))) void dot_lanes_avx512(const PackedReflector& v, const double* c, int64_t ldc,
                                                         int64_t columns, int64_t q0, int64_t q1, double* lanes) {
  int64_t jc = 0;
  for (; jc + kDotColumns5 <= columns; jc += kDotColumns5) {
    dot_columns_avx512<kDotColumns5>(v, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad);
  }
  switch (columns - jc) {
    case 0: break;
    case 1: dot_columns_avx512<1>(v, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad); break;
    case 2: dot_columns_avx512<2>(v, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad); break;
    case 3: dot_columns_avx512<3>(v, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad); break;
    case 4: dot_columns_avx512<4>(v, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad); break;
    default: dot_columns_avx512<5>(v, c + jc * ldc, ldc, q0, q1, lanes + jc * kQuad); break;
  }
}

template <bool kMasked>
__attribute__((target("avx512f"))) inline __m512d load_rows(const double* p, __mmask8 mask) {
  if constexpr (kMasked) {
    return _mm512_maskz_loadu_pd(mask, p);
  } else {
    return _mm512_loadu_pd(p);
  }
}

// Rows r .. r + 8 RH - 1 of CT columns; with kMasked, only the rows that `mask` (one 8-bit
// mask per row vector) selects are read and written.
template <int RH, int CT, bool kMasked>
__attribute__((target("avx512f"))) inline void subtract_tile_avx512(const double* v, int64_t ldv, int64_t b,
                                                                    const double* w, double* c, int64_t ldc, int64_t r,
                                                                    const __mmask8* mask) {
  __m512d x[CT][RH];
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < RH; ++h) x[jc][h] = load_rows<kMasked>(c + jc * ldc + r + 8 * h, kMasked ? mask[h] : 0);
  }
  const int64_t b4 = b - b % 4;
  for (int64_t i = 0; i < b4; i += 4) {
    __m512d a[4][RH];
    for (int64_t k = 0; k < 4; ++k) {
      for (int64_t h = 0; h < RH; ++h)
        a[k][h] = load_rows<kMasked>(v + (i + k) * ldv + r + 8 * h, kMasked ? mask[h] : 0);
    }
    for (int64_t jc = 0; jc < CT; ++jc) {
      const double* wc = w + jc * kPanelWidth + i;
      const __m512d w0 = _mm512_set1_pd(wc[0]), w1 = _mm512_set1_pd(wc[1]);
      const __m512d w2 = _mm512_set1_pd(wc[2]), w3 = _mm512_set1_pd(wc[3]);
      for (int64_t h = 0; h < RH; ++h) {
        __m512d t = _mm512_mul_pd(a[0][h], w0);
        t = _mm512_add_pd(t, _mm512_mul_pd(a[1][h], w1));
        t = _mm512_add_pd(t, _mm512_mul_pd(a[2][h], w2));
        t = _mm512_add_pd(t, _mm512_mul_pd(a[3][h], w3));
        x[jc][h] = _mm512_sub_pd(x[jc][h], t);
      }
    }
  }
  for (int64_t i = b4; i < b; ++i) {
    __m512d a[RH];
    for (int64_t h = 0; h < RH; ++h) a[h] = load_rows<kMasked>(v + i * ldv + r + 8 * h, kMasked ? mask[h] : 0);
    for (int64_t jc = 0; jc < CT; ++jc) {
      const __m512d wi = _mm512_set1_pd(w[jc * kPanelWidth + i]);
      for (int64_t h = 0; h < RH; ++h) x[jc][h] = _mm512_sub_pd(x[jc][h], _mm512_mul_pd(a[h], wi));
    }
  }
  for (int64_t jc = 0; jc < CT; ++jc) {
    for (int64_t h = 0; h < RH; ++h) {
      if constexpr (kMasked) {
        _mm512_mask_storeu_pd(c + jc * ldc + r + 8 * h, mask[h], x[jc][h]);
      } else {
        _mm512_storeu_pd(c + jc * ldc + r + 8 * h, x[jc][h]);
      }
    }
  }
}

template <int CT>
__attribute__((target("avx512f"))) inline void subtract_columns_avx512(const PackedReflector& v, const double* w,
                                                                       double* c, int64_t ldc, int64_t r0, int64_t r1) {
  constexpr int64_t kRows = int64_t{8} * kRowVectors5;
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows) {
    subtract_tile_avx512<kRowVectors5, CT, false>(v.v, v.ldv, v.width, w, c, ldc, r, nullptr);
  }
  if (r < r1) {
    __mmask8 mask[kRowVectors5];
    for (int64_t h = 0; h < kRowVectors5; ++h) {
      const int64_t left = std::clamp<int64_t>(r1 - r - 8 * h, 0, 8);
      mask[h] = static_cast<__mmask8>((1u << left) - 1u);
    }
    subtract_tile_avx512<kRowVectors5, CT, true>(v.v, v.ldv, v.width, w, c, ldc, r, mask);
  }
}

__attribute__((target("avx512f"))) void subtract_avx512(const PackedReflector& v, const double* w, double* c,
                                                        int64_t ldc, int64_t columns, int64_t r0, int64_t r1) {
  int64_t jc = 0;
  for (; jc + kSubColumns5 <= columns; jc += kSubColumns5) {
    subtract_columns_avx512<kSubColumns5>(v, w + jc * kPanelWidth, c + jc * ldc, ldc, r0, r1);
  }
  for (; jc < columns; ++jc) subtract_columns_avx512<1>(v, w + jc * kPanelWidth, c + jc * ldc, ldc, r0, r1);
}

constexpr ReflectorKernels kAvx512 = {dot_lanes_avx512, subtract_avx512};

bool cpu_runs(OrthogonalKernels kernels) {
  __builtin_cpu_init();  // needed only before main (static initializers); cheap after
  switch (kernels) {
    case OrthogonalKernels::portable: return true;
    case OrthogonalKernels::avx2: return __builtin_cpu_supports("avx2");
    case OrthogonalKernels::avx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
}

#else

bool cpu_runs(OrthogonalKernels kernels) { return kernels == OrthogonalKernels::portable; }

#endif

}  // namespace

const char* orthogonal_kernels_name(OrthogonalKernels kernels) {
  switch (kernels) {
    case OrthogonalKernels::portable: return "portable";
    case OrthogonalKernels::avx2: return "avx2";
    case OrthogonalKernels::avx512: return "avx512";
  }
  return "unknown";
}

std::vector<OrthogonalKernels> supported_orthogonal_kernels() {
  std::vector<OrthogonalKernels> all;
  for (OrthogonalKernels k : {OrthogonalKernels::portable, OrthogonalKernels::avx2, OrthogonalKernels::avx512}) {
    if (cpu_runs(k)) all.push_back(k);
  }
  return all;
}

OrthogonalKernels preferred_orthogonal_kernels() {
  static const OrthogonalKernels kPreferred = supported_orthogonal_kernels().back();
  return kPreferred;
}

const ReflectorKernels& reflector_kernels(OrthogonalKernels kernels) {
  if (!cpu_runs(kernels)) {
    throw Error(std::string("orthogonal: this CPU cannot run the ") + orthogonal_kernels_name(kernels) + " kernels");
  }
#if RNNKIT_ORTHOGONAL_X86
  if (kernels == OrthogonalKernels::avx2) return kAvx2;
  if (kernels == OrthogonalKernels::avx512) return kAvx512;
#endif
  return kPortable;
}

}  // namespace rnnkit::detail
