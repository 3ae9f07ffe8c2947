// The fused batch-norm + ReLU kernels: batch norm in training mode over every axis but the
// last (channels), followed by ReLU (and, in the MaxPool pair, by a 2x2 max pooling),
// forward and gradient, for float32 and bfloat16.
//
// BatchNormRelu, the forward pass:
//
//   mean, var = per-channel mean and (biased) variance of x
//   z         = gamma * inv_std * (x - mean) + beta,   inv_std = 1 / sqrt(var + epsilon)
//   y         = relu(z)
//
// It returns the variance with Bessel's correction, as TF's FusedBatchNormV3 does (0 for a
// single row, NaN for none). Two passes over x: the sums (shifted by the first row, in
// float per 256 rows and in double across them), then y. TF's oneDNN kernel for the same
// takes about 1.5x the time in bf16 on TinySSD's shapes (benchmarks/RESULTS.md).
//
// BatchNormReluGrad, its gradient. TensorFlow on CPU computes it as ReluGrad then
// FusedBatchNormGradV3 (TF's remapper fuses the two on GPU only), and its bfloat16 ReluGrad
// is built without AVX2; here the ReLU mask is applied on the fly:
//
//   z      = gamma * inv_std * (x - mean) + beta        (y = relu(z), recomputed from x)
//   g      = dy * (z > 0)
//   dbeta  = sum g              dgamma = inv_std * sum g * (x - mean)     (per channel)
//   dx     = gamma * inv_std * (g - dbeta / n - (x - mean) * inv_std * dgamma / n)
//
// The mask comes from x, which both passes read anyway, rather than from y: the op reads
// dy and x twice and writes dx, five full-size streams where reading y too would take
// seven; on these CPUs the op is limited by that memory traffic.
//
// BatchNormReluMaxPool and BatchNormReluMaxPoolGrad: the same, followed by a 2x2 max
// pooling with stride 2 (NHWC; height and width halved, rounded down):
//
//   p[i, j] = max(y[2i, 2j], y[2i, 2j + 1], y[2i + 1, 2j], y[2i + 1, 2j + 1])
//
// The forward writes only p. The gradient gives each window's dp to its first maximum in
// row-major order (as TF's MaxPoolGrad), comparing the y values as the forward stores them
// (rounded to bfloat16 for bfloat16), recomputed from x: the full-size y and its gradient
// are never written. Elements outside every window (the last row or column of an odd
// size) get no gradient through the ReLU.
//
// All four ops work in fixed row blocks whose sums are added in a fixed order, so the
// results do not depend on the thread scheduling. With AVX-512 (and channels a multiple of
// 16) each row's channels stay in registers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512BF16__)
#include <immintrin.h>
#define KERASNOTES_AVX512 1
#endif

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

using namespace tensorflow;

// Both gradients: dx of x's shape, dgamma and dbeta of gamma's.
Status GradientShape(shape_inference::InferenceContext* c) {
  c->set_output(0, c->input(1));
  c->set_output(1, c->input(2));
  c->set_output(2, c->input(2));
  return OkStatus();
}

REGISTER_OP("BatchNormRelu")
    .Input("x: T")
    .Input("gamma: float")
    .Input("beta: float")
    .Output("y: T")
    .Output("mean: float")
    .Output("corrected_variance: float")
    .Attr("T: {bfloat16, float}")
    .Attr("epsilon: float")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(0));
      c->set_output(1, c->input(1));
      c->set_output(2, c->input(1));
      return OkStatus();
    });

REGISTER_OP("BatchNormReluGrad")
    .Input("dy: T")
    .Input("x: T")
    .Input("gamma: float")
    .Input("beta: float")
    .Input("mean: float")
    .Input("inv_std: float")
    .Output("dx: T")
    .Output("dgamma: float")
    .Output("dbeta: float")
    .Attr("T: {bfloat16, float}")
    .SetShapeFn(GradientShape);

REGISTER_OP("BatchNormReluMaxPool")
    .Input("x: T")
    .Input("gamma: float")
    .Input("beta: float")
    .Output("p: T")
    .Output("mean: float")
    .Output("corrected_variance: float")
    .Attr("T: {bfloat16, float}")
    .Attr("epsilon: float")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle x;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &x));
      shape_inference::DimensionHandle height, width;
      TF_RETURN_IF_ERROR(c->Divide(c->Dim(x, 1), 2, /*evenly_divisible=*/false, &height));
      TF_RETURN_IF_ERROR(c->Divide(c->Dim(x, 2), 2, /*evenly_divisible=*/false, &width));
      c->set_output(0, c->MakeShape({c->Dim(x, 0), height, width, c->Dim(x, 3)}));
      c->set_output(1, c->input(1));
      c->set_output(2, c->input(1));
      return OkStatus();
    });

REGISTER_OP("BatchNormReluMaxPoolGrad")
    .Input("dp: T")
    .Input("x: T")
    .Input("gamma: float")
    .Input("beta: float")
    .Input("mean: float")
    .Input("inv_std: float")
    .Output("dx: T")
    .Output("dgamma: float")
    .Output("dbeta: float")
    .Attr("T: {bfloat16, float}")
    .SetShapeFn(GradientShape);

namespace {

constexpr int64_t kBlocks = 16;     // row blocks of the sums (fixed: deterministic sums)
constexpr int64_t kChunkRows = 256;  // rows summed in float before adding into double

// The per-channel constants of the passes.
struct Channels {
  const float* mean;   // the forward's statistics pass: the shift (the first row)
  const float* scale;  // gamma * inv_std
  const float* beta;
  const float* a;      // dx = a * g + k * x + m
  const float* k;
  const float* m;
};

inline float load(const float* __restrict p, int64_t i) { return p[i]; }
inline float load(const uint16_t* __restrict p, int64_t i) {  // bfloat16 bits
  return __builtin_bit_cast(float, static_cast<uint32_t>(p[i]) << 16);
}
inline void store(float* __restrict p, int64_t i, float v) { p[i] = v; }
inline void store(uint16_t* __restrict p, int64_t i, float v) {  // round to nearest even
  uint32_t bits = __builtin_bit_cast(uint32_t, v);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN stays NaN
    p[i] = static_cast<uint16_t>((bits >> 16) | 0x40);
    return;
  }
  bits += 0x7FFF + ((bits >> 16) & 1);
  p[i] = static_cast<uint16_t>(bits >> 16);
}

// Forward statistics: s1[c] += sum (x - shift), s2[c] += sum (x - shift)^2 over [r0, r1).
template <typename S>
void row_moments(const S* __restrict x, const Channels& ch, float* __restrict s1,
                 float* __restrict s2, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const float d = load(x, o + c) - ch.mean[c];
      s1[c] += d;
      s2[c] += d * d;
    }
  }
}

// Forward output: y = relu((x - mean) * scale + beta) over rows [r0, r1).
template <typename S>
void row_y(const S* __restrict x, const Channels& ch, S* __restrict y, int64_t r0, int64_t r1,
           int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      store(y, o + c, std::max((load(x, o + c) - ch.mean[c]) * ch.scale[c] + ch.beta[c], 0.0f));
    }
  }
}

// Gradient sums: sg[c] += sum g, sgx[c] += sum g * (x - mean) over rows [r0, r1).
template <typename S>
void row_sums(const S* __restrict dy, const S* __restrict x, const Channels& ch,
              float* __restrict sg, float* __restrict sgx, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const float centered = load(x, o + c) - ch.mean[c];
      const float g = centered * ch.scale[c] + ch.beta[c] > 0.0f ? load(dy, o + c) : 0.0f;
      sg[c] += g;
      sgx[c] += g * centered;
    }
  }
}

// Gradient output: dx = a * g + k * x + m over rows [r0, r1).
template <typename S>
void row_dx(const S* __restrict dy, const S* __restrict x, const Channels& ch,
            S* __restrict dx, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const float xc = load(x, o + c);
      const float g = (xc - ch.mean[c]) * ch.scale[c] + ch.beta[c] > 0.0f ? load(dy, o + c)
                                                                          : 0.0f;
      store(dx, o + c, ch.a[c] * g + ch.k[c] * xc + ch.m[c]);
    }
  }
}


// 2x2 max pooling with stride 2 after the batch norm and ReLU (NHWC; height and width
// halved, rounded down). Pooled row q = n * Ho + i covers rows 2i and 2i + 1 of image n.
struct Pooling {
  int64_t N, H, W, C, Ho, Wo;
  // Offset of element (row 2i, column 2j, channel 0) of pooled row q.
  int64_t window(int64_t q, int64_t j) const {
    return (((q / Ho) * H + 2 * (q % Ho)) * W + 2 * j) * C;
  }
};

// The ReLU value as the forward pass stores it (rounded to bfloat16 for bfloat16 tensors):
// the gradient picks each window's maximum among these, as TF's MaxPoolGrad does from y.
inline float stored(const float*, float v) { return v; }
inline float stored(const uint16_t*, float v) {
  uint16_t bits;
  store(&bits, 0, v);
  return load(&bits, 0);
}

// The gradient of relu(z_k) for the four elements of a window: dp goes to the first
// (row-major) element holding the window's maximum, if that maximum is above 0.
template <typename S>
inline void window_gradients(const S* tag, const float z[4], float dp, float g[4]) {
  float y[4], top = 0.0f;
  for (int e = 0; e < 4; ++e) top = std::max(top, y[e] = stored(tag, std::max(z[e], 0.0f)));
  bool taken = !(top > 0.0f);
  for (int e = 0; e < 4; ++e) {
    const bool here = !taken && y[e] == top;
    g[e] = here ? dp : 0.0f;
    taken = taken || here;
  }
}

// Pooled outputs p of pooled rows [q0, q1).
template <typename S>
void pool_rows(const S* __restrict x, const Channels& ch, S* __restrict p, const Pooling& P,
               int64_t q0, int64_t q1) {
  const int64_t C = P.C, offsets[4] = {0, C, P.W * C, P.W * C + C};
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t j = 0; j < P.Wo; ++j) {
      const int64_t w = P.window(q, j), o = (q * P.Wo + j) * C;
      for (int64_t c = 0; c < C; ++c) {
        float top = 0.0f;
        for (int64_t e : offsets) {
          top = std::max(top, (load(x, w + e + c) - ch.mean[c]) * ch.scale[c] + ch.beta[c]);
        }
        store(p, o + c, top);
      }
    }
  }
}

// The sums of the gradient (as row_sums) over the windows of pooled rows [q0, q1); the
// elements outside every window get no gradient and add nothing.
template <typename S>
void pool_row_sums(const S* __restrict dp, const S* __restrict x, const Channels& ch,
                   float* __restrict sg, float* __restrict sgx, const Pooling& P, int64_t q0,
                   int64_t q1) {
  const int64_t C = P.C, offsets[4] = {0, C, P.W * C, P.W * C + C};
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t j = 0; j < P.Wo; ++j) {
      const int64_t w = P.window(q, j), o = (q * P.Wo + j) * C;
      for (int64_t c = 0; c < C; ++c) {
        float centered[4], z[4], g[4];
        for (int e = 0; e < 4; ++e) {
          centered[e] = load(x, w + offsets[e] + c) - ch.mean[c];
          z[e] = centered[e] * ch.scale[c] + ch.beta[c];
        }
        window_gradients(x, z, load(dp, o + c), g);
        for (int e = 0; e < 4; ++e) {
          sg[c] += g[e];
          sgx[c] += g[e] * centered[e];
        }
      }
    }
  }
}

// dx = a * g + k * x + m over the windows of pooled rows [q0, q1), and over the last column
// of their two rows when the width is odd (outside every window: g = 0).
template <typename S>
void pool_row_dx(const S* __restrict dp, const S* __restrict x, const Channels& ch,
                 S* __restrict dx, const Pooling& P, int64_t q0, int64_t q1, bool windows) {
  const int64_t C = P.C, offsets[4] = {0, C, P.W * C, P.W * C + C};
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t j = windows ? 0 : P.Wo; j < P.Wo; ++j) {
      const int64_t w = P.window(q, j), o = (q * P.Wo + j) * C;
      for (int64_t c = 0; c < C; ++c) {
        float xs[4], z[4], g[4];
        for (int e = 0; e < 4; ++e) {
          xs[e] = load(x, w + offsets[e] + c);
          z[e] = (xs[e] - ch.mean[c]) * ch.scale[c] + ch.beta[c];
        }
        window_gradients(x, z, load(dp, o + c), g);
        for (int e = 0; e < 4; ++e) {
          store(dx, w + offsets[e] + c, ch.a[c] * g[e] + ch.k[c] * xs[e] + ch.m[c]);
        }
      }
    }
    if (P.W % 2 == 1) {
      const int64_t last = P.window(q, P.Wo);
      for (int64_t e : {int64_t{0}, P.W * C}) {
        for (int64_t c = 0; c < C; ++c) {
          store(dx, last + e + c, ch.k[c] * load(x, last + e + c) + ch.m[c]);
        }
      }
    }
  }
}

#ifdef KERASNOTES_AVX512
// The same four loops with AVX-512, for NV groups of 16 channels starting at c0: the
// constants and the running sums stay in registers across the rows.
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}
inline void store16(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline void store16(uint16_t* p, __m512 v) {  // round to nearest even
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), (__m256i)_mm512_cvtneps_pbh(v));
}
// Registers r[v] = p[c0 + 16 v .. c0 + 16 v + 15], v < NV (a group of channels), and back.
template <int NV>
inline void load_group(const float* p, int64_t c0, __m512 (&r)[NV]) {
  for (int v = 0; v < NV; ++v) r[v] = _mm512_loadu_ps(p + c0 + 16 * v);
}
template <int NV>
inline void store_group(float* p, int64_t c0, const __m512 (&r)[NV]) {
  for (int v = 0; v < NV; ++v) _mm512_storeu_ps(p + c0 + 16 * v, r[v]);
}
// (x - mean) * scale + beta
inline __m512 normalized(__m512 x, __m512 mean, __m512 scale, __m512 beta) {
  return _mm512_fmadd_ps(_mm512_sub_ps(x, mean), scale, beta);
}
inline __mmask16 positive(__m512 z) {
  return _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ);
}
// The per-channel constants of a pass for NV registers of 16 channels from c0, loaded once
// for all of its rows: the normalization's, and with Dx those of dx = a * g + k * x + m.
template <int NV, bool Dx = false>
struct GroupConstants {
  __m512 mean[NV], scale[NV], beta[NV], a[NV], k[NV], m[NV];
  GroupConstants(const Channels& ch, int64_t c0) {
    load_group(ch.mean, c0, mean);
    load_group(ch.scale, c0, scale);
    load_group(ch.beta, c0, beta);
    if constexpr (Dx) {
      load_group(ch.a, c0, a);
      load_group(ch.k, c0, k);
      load_group(ch.m, c0, m);
    }
  }
  __m512 z(__m512 x, int v) const { return normalized(x, mean[v], scale[v], beta[v]); }
  __m512 dx(__m512 g, __m512 x, int v) const {
    return _mm512_fmadd_ps(a[v], g, _mm512_fmadd_ps(k[v], x, m[v]));
  }
};

template <int NV, typename S>
void row_moments16(const S* __restrict x, const Channels& ch, float* __restrict s1,
                   float* __restrict s2, int64_t r0, int64_t r1, int64_t C, int64_t c0) {
  __m512 sum1[NV], sum2[NV], shift[NV];
  load_group(s1, c0, sum1);
  load_group(s2, c0, sum2);
  load_group(ch.mean, c0, shift);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512 d = _mm512_sub_ps(load16(x + o + 16 * v), shift[v]);
      sum1[v] = _mm512_add_ps(sum1[v], d);
      sum2[v] = _mm512_fmadd_ps(d, d, sum2[v]);
    }
  }
  store_group(s1, c0, sum1);
  store_group(s2, c0, sum2);
}

template <int NV, typename S>
void row_y16(const S* __restrict x, const Channels& ch, S* __restrict y, int64_t r0,
             int64_t r1, int64_t C, int64_t c0) {
  const GroupConstants<NV> n(ch, c0);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512 z = n.z(load16(x + o + 16 * v), v);
      store16(y + o + 16 * v, _mm512_max_ps(z, _mm512_setzero_ps()));
    }
  }
}

template <int NV, typename S>
void row_sums16(const S* __restrict dy, const S* __restrict x, const Channels& ch,
                float* __restrict sg, float* __restrict sgx, int64_t r0, int64_t r1,
                int64_t C, int64_t c0) {
  __m512 g_sum[NV], gx_sum[NV];
  load_group(sg, c0, g_sum);
  load_group(sgx, c0, gx_sum);
  const GroupConstants<NV> n(ch, c0);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512 centered = _mm512_sub_ps(load16(x + o + 16 * v), n.mean[v]);
      const __mmask16 on = positive(_mm512_fmadd_ps(centered, n.scale[v], n.beta[v]));
      const __m512 g = _mm512_maskz_mov_ps(on, load16(dy + o + 16 * v));
      g_sum[v] = _mm512_add_ps(g_sum[v], g);
      gx_sum[v] = _mm512_fmadd_ps(g, centered, gx_sum[v]);
    }
  }
  store_group(sg, c0, g_sum);
  store_group(sgx, c0, gx_sum);
}

template <int NV, typename S>
void row_dx16(const S* __restrict dy, const S* __restrict x, const Channels& ch,
              S* __restrict dx, int64_t r0, int64_t r1, int64_t C, int64_t c0) {
  const GroupConstants<NV, true> n(ch, c0);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512 xv = load16(x + o + 16 * v);
      const __mmask16 on = positive(n.z(xv, v));
      const __m512 g = _mm512_maskz_mov_ps(on, load16(dy + o + 16 * v));
      store16(dx + o + 16 * v, n.dx(g, xv, v));
    }
  }
}

// The pooled passes with AVX-512 (as pool_rows, pool_row_sums and pool_row_dx, windows
// only): 16 channels per register, the four elements of a window side by side.
inline __m512 stored16(const float*, __m512 v) { return v; }
inline __m512 stored16(const uint16_t*, __m512 v) {
  const __m256i bits = (__m256i)_mm512_cvtneps_pbh(v);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}
template <typename S>
inline void window_gradients16(const S* tag, const __m512 z[4], __m512 dp, __m512 g[4]) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 y[4];
  for (int e = 0; e < 4; ++e) y[e] = stored16(tag, _mm512_max_ps(z[e], zero));
  const __m512 top = _mm512_max_ps(_mm512_max_ps(y[0], y[1]), _mm512_max_ps(y[2], y[3]));
  __mmask16 free = positive(top);
  for (int e = 0; e < 4; ++e) {
    const __mmask16 here = free & _mm512_cmp_ps_mask(y[e], top, _CMP_EQ_OQ);
    g[e] = _mm512_maskz_mov_ps(here, dp);
    free &= ~here;
  }
}

template <int NV, typename S>
void pool_rows16(const S* __restrict x, const Channels& ch, S* __restrict p, const Pooling& P,
                 int64_t q0, int64_t q1, int64_t c0) {
  const int64_t C = P.C, offsets[4] = {0, C, P.W * C, P.W * C + C};
  const GroupConstants<NV> n(ch, c0);
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t j = 0; j < P.Wo; ++j) {
      const int64_t w = P.window(q, j) + c0, o = (q * P.Wo + j) * C + c0;
      for (int v = 0; v < NV; ++v) {
        __m512 top = _mm512_setzero_ps();
        for (int64_t e : offsets) {
          top = _mm512_max_ps(top, n.z(load16(x + w + e + 16 * v), v));
        }
        store16(p + o + 16 * v, top);
      }
    }
  }
}

template <int NV, typename S>
void pool_row_sums16(const S* __restrict dp, const S* __restrict x, const Channels& ch,
                     float* __restrict sg, float* __restrict sgx, const Pooling& P,
                     int64_t q0, int64_t q1, int64_t c0) {
  const int64_t C = P.C, offsets[4] = {0, C, P.W * C, P.W * C + C};
  __m512 g_sum[NV], gx_sum[NV];
  load_group(sg, c0, g_sum);
  load_group(sgx, c0, gx_sum);
  const GroupConstants<NV> n(ch, c0);
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t j = 0; j < P.Wo; ++j) {
      const int64_t w = P.window(q, j) + c0, o = (q * P.Wo + j) * C + c0;
      for (int v = 0; v < NV; ++v) {
        __m512 centered[4], z[4], g[4];
        for (int e = 0; e < 4; ++e) {
          centered[e] = _mm512_sub_ps(load16(x + w + offsets[e] + 16 * v), n.mean[v]);
          z[e] = _mm512_fmadd_ps(centered[e], n.scale[v], n.beta[v]);
        }
        window_gradients16(x, z, load16(dp + o + 16 * v), g);
        for (int e = 0; e < 4; ++e) {
          g_sum[v] = _mm512_add_ps(g_sum[v], g[e]);
          gx_sum[v] = _mm512_fmadd_ps(g[e], centered[e], gx_sum[v]);
        }
      }
    }
  }
  store_group(sg, c0, g_sum);
  store_group(sgx, c0, gx_sum);
}

template <int NV, typename S>
void pool_row_dx16(const S* __restrict dp, const S* __restrict x, const Channels& ch,
                   S* __restrict dx, const Pooling& P, int64_t q0, int64_t q1, int64_t c0) {
  const int64_t C = P.C, offsets[4] = {0, C, P.W * C, P.W * C + C};
  const GroupConstants<NV, true> n(ch, c0);
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t j = 0; j < P.Wo; ++j) {
      const int64_t w = P.window(q, j) + c0, o = (q * P.Wo + j) * C + c0;
      for (int v = 0; v < NV; ++v) {
        __m512 xs[4], z[4], g[4];
        for (int e = 0; e < 4; ++e) {
          xs[e] = load16(x + w + offsets[e] + 16 * v);
          z[e] = n.z(xs[e], v);
        }
        window_gradients16(x, z, load16(dp + o + 16 * v), g);
        for (int e = 0; e < 4; ++e) {
          store16(dx + w + offsets[e] + 16 * v, n.dx(g[e], xs[e], v));
        }
      }
    }
  }
}

// Runs CALL(NV) for the channels in groups of at most 8 registers (128 channels).
#define KERASNOTES_BY_CHANNEL_GROUPS(CALL)               \
  for (int64_t c0 = 0; c0 < C; c0 += 128) {              \
    switch (std::min<int64_t>(8, (C - c0) / 16)) {       \
      case 1: CALL(1); break;                            \
      case 2: CALL(2); break;                            \
      case 3: CALL(3); break;                            \
      case 4: CALL(4); break;                            \
      case 5: CALL(5); break;                            \
      case 6: CALL(6); break;                            \
      case 7: CALL(7); break;                            \
      default: CALL(8); break;                           \
    }                                                    \
  }
#define KERASNOTES_MOMENTS(NV) row_moments16<NV>(x, ch, s1, s2, r0, r1, C, c0)
#define KERASNOTES_Y(NV) row_y16<NV>(x, ch, y, r0, r1, C, c0)
#define KERASNOTES_SUMS(NV) row_sums16<NV>(dy, x, ch, sg, sgx, r0, r1, C, c0)
#define KERASNOTES_DX(NV) row_dx16<NV>(dy, x, ch, dx, r0, r1, C, c0)
#define KERASNOTES_POOL(NV) pool_rows16<NV>(x, ch, p, P, q0, q1, c0)
#define KERASNOTES_POOL_SUMS(NV) pool_row_sums16<NV>(dp, x, ch, sg, sgx, P, q0, q1, c0)
#define KERASNOTES_POOL_DX(NV) pool_row_dx16<NV>(dp, x, ch, dx, P, q0, q1, c0)
#define KERASNOTES_VECTOR(CALL)          \
  if (C % 16 == 0) {                     \
    KERASNOTES_BY_CHANNEL_GROUPS(CALL)   \
    return;                              \
  }
#define KERASNOTES_POOL_VECTOR(CALL, AFTER)  \
  if (P.C % 16 == 0) {                       \
    const int64_t C = P.C;                   \
    KERASNOTES_BY_CHANNEL_GROUPS(CALL)       \
    AFTER;                                   \
    return;                                  \
  }
#else
#define KERASNOTES_VECTOR(CALL)
#define KERASNOTES_POOL_VECTOR(CALL, AFTER)
#endif  // KERASNOTES_AVX512

// The four passes over rows [r0, r1): AVX-512 where it applies, else the plain loops.
template <typename S>
void moments(const S* x, const Channels& ch, float* s1, float* s2, int64_t r0, int64_t r1,
             int64_t C) {
  KERASNOTES_VECTOR(KERASNOTES_MOMENTS)
  row_moments(x, ch, s1, s2, r0, r1, C);
}
template <typename S>
void output(const S* x, const Channels& ch, S* y, int64_t r0, int64_t r1, int64_t C) {
  KERASNOTES_VECTOR(KERASNOTES_Y)
  row_y(x, ch, y, r0, r1, C);
}
template <typename S>
void sums(const S* dy, const S* x, const Channels& ch, float* sg, float* sgx, int64_t r0,
          int64_t r1, int64_t C) {
  KERASNOTES_VECTOR(KERASNOTES_SUMS)
  row_sums(dy, x, ch, sg, sgx, r0, r1, C);
}
template <typename S>
void input_gradient(const S* dy, const S* x, const Channels& ch, S* dx, int64_t r0,
                    int64_t r1, int64_t C) {
  KERASNOTES_VECTOR(KERASNOTES_DX)
  row_dx(dy, x, ch, dx, r0, r1, C);
}

// The three pooled passes over pooled rows [q0, q1), AVX-512 where it applies.
template <typename S>
void pooled_output(const S* x, const Channels& ch, S* p, const Pooling& P, int64_t q0,
                   int64_t q1) {
  KERASNOTES_POOL_VECTOR(KERASNOTES_POOL, )
  pool_rows(x, ch, p, P, q0, q1);
}
template <typename S>
void pooled_sums(const S* dp, const S* x, const Channels& ch, float* sg, float* sgx,
                 const Pooling& P, int64_t q0, int64_t q1) {
  KERASNOTES_POOL_VECTOR(KERASNOTES_POOL_SUMS, )
  pool_row_sums(dp, x, ch, sg, sgx, P, q0, q1);
}
template <typename S>
void pooled_input_gradient(const S* dp, const S* x, const Channels& ch, S* dx,
                           const Pooling& P, int64_t q0, int64_t q1) {
  // The vector loops cover the windows; pool_row_dx with windows=false the odd column.
  KERASNOTES_POOL_VECTOR(KERASNOTES_POOL_DX, pool_row_dx(dp, x, ch, dx, P, q0, q1, false))
  pool_row_dx(dp, x, ch, dx, P, q0, q1, true);
}

// Per-channel sums of a pass over N rows in kBlocks fixed row blocks, in parallel: each
// block sums `chunk_rows` rows at a time in float (`pass(chunk, chunk + C, r0, r1)`) and
// adds them into its doubles; the blocks are added in order. Returns the 2 * C sums.
template <typename Pass>
std::vector<double> blocked_sums(OpKernelContext* context, int64_t N, int64_t C,
                                 const Pass& pass, int64_t chunk_rows = kChunkRows) {
  if (N == 0) return std::vector<double>(2 * C, 0.0);
  const int64_t blocks = std::min(N, kBlocks);
  const int64_t rows = (N + blocks - 1) / blocks;
  std::vector<double> partial(blocks * 2 * C, 0.0);
  auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
  workers->ParallelFor(blocks, /*cost_per_unit=*/rows * C * 8, [&](int64_t b0, int64_t b1) {
    std::vector<float> chunk(2 * C);
    for (int64_t b = b0; b < b1; ++b) {
      double* block_sums = partial.data() + b * 2 * C;
      const int64_t end = std::min(N, (b + 1) * rows);
      for (int64_t r = b * rows; r < end; r += chunk_rows) {
        std::fill(chunk.begin(), chunk.end(), 0.0f);
        pass(chunk.data(), chunk.data() + C, r, std::min(end, r + chunk_rows));
        for (int64_t i = 0; i < 2 * C; ++i) block_sums[i] += chunk[i];
      }
    }
  });
  std::vector<double> total(2 * C, 0.0);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t i = 0; i < 2 * C; ++i) total[i] += partial[b * 2 * C + i];
  }
  return total;
}

// Runs `pass(r0, r1)` over N rows (of `row_size` elements) in the same kBlocks row blocks,
// in parallel.
template <typename Pass>
void blocked_rows(OpKernelContext* context, int64_t N, int64_t row_size, const Pass& pass) {
  if (N == 0) return;
  const int64_t blocks = std::min(N, kBlocks);
  const int64_t rows = (N + blocks - 1) / blocks;
  auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
  workers->ParallelFor(blocks, rows * row_size * 6, [&](int64_t b0, int64_t b1) {
    pass(b0 * rows, std::min(N, b1 * rows));
  });
}

// The channel count of x and its number of rows (elements / channels), after checking that
// inputs [first, last) (their names in `names`) hold one value per channel.
bool channels_and_rows(OpKernelContext* context, const char* op, const char* names,
                       const Tensor& x, int first, int last, int64_t* C, int64_t* N) {
  *C = x.dim_size(x.dims() - 1);
  *N = *C > 0 ? x.NumElements() / *C : 0;
  for (int i = first; i < last; ++i) {
    if (context->input(i).dims() != 1 || context->input(i).dim_size(0) != *C) {
      context->CtxFailure(errors::InvalidArgument(
          op, ": ", names, " must hold ", *C, " values (the channels); input ", i,
          " has shape ", context->input(i).shape().DebugString()));
      return false;
    }
  }
  return true;
}

// The forward statistics of x (N rows of C channels; N >= 1): the mean, the variance with
// Bessel's correction (0 for one row) and scale = gamma / sqrt(variance + epsilon). The sums
// are of x shifted by its first row (no cancellation when |mean| >> std).
template <typename S>
void forward_statistics(OpKernelContext* context, const S* x, int64_t N, int64_t C,
                        const float* gamma, float epsilon, float* mean,
                        float* corrected_variance, float* scale) {
  std::vector<float> shift(C);
  for (int64_t c = 0; c < C; ++c) shift[c] = load(x, c);
  const Channels shifted{shift.data(), nullptr, nullptr, nullptr, nullptr, nullptr};
  const std::vector<double> s = blocked_sums(
      context, N, C, [&](float* s1, float* s2, int64_t r0, int64_t r1) {
        moments(x, shifted, s1, s2, r0, r1, C);
      });
  for (int64_t c = 0; c < C; ++c) {
    const double m1 = s[c] / N;
    const double variance = std::max(0.0, s[C + c] / N - m1 * m1);
    mean[c] = static_cast<float>(shift[c] + m1);
    corrected_variance[c] = N > 1 ? static_cast<float>(variance * N / (N - 1)) : 0.0f;
    scale[c] = static_cast<float>(gamma[c] / std::sqrt(variance + epsilon));
  }
}

// The gradient's per-channel constants from its sums (sg, sgx): dbeta, dgamma, and a, k,
// m of dx = a * g + k * x + m (see the formulas at the top).
void gradient_constants(int64_t N, int64_t C, const std::vector<double>& s, const float* gamma,
                        const float* mean, const float* inv_std, float* dgamma, float* dbeta,
                        float* a, float* k, float* m) {
  for (int64_t c = 0; c < C; ++c) {
    const double sg = s[c], sgx = s[C + c];
    const double q = sgx / N * inv_std[c] * inv_std[c];
    const double scale_c = static_cast<double>(gamma[c]) * inv_std[c];
    dbeta[c] = static_cast<float>(sg);
    dgamma[c] = static_cast<float>(sgx * inv_std[c]);
    a[c] = static_cast<float>(scale_c);
    k[c] = static_cast<float>(-scale_c * q);
    m[c] = static_cast<float>(scale_c * (q * mean[c] - sg / N));
  }
}

// NaN statistics, as FusedBatchNormV3's for an empty batch.
void no_statistics(int64_t C, float* mean, float* corrected_variance) {
  std::fill(mean, mean + C, std::numeric_limits<float>::quiet_NaN());
  std::fill(corrected_variance, corrected_variance + C, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace

// The body of both forward ops once x (N rows of C channels) is checked: the outputs
// (`output_shape`, the mean, the corrected variance), the statistics, then
// `write_output(x, channels, output)`.
template <typename T, typename S, typename WriteOutput>
void forward(OpKernelContext* context, const Tensor& x_t, int64_t C, int64_t N,
             const TensorShape& output_shape, float epsilon, const WriteOutput& write_output) {
  Tensor *out_t, *mean_t, *variance_t;
  OP_REQUIRES_OK(context, context->allocate_output(0, output_shape, &out_t));
  OP_REQUIRES_OK(context, context->allocate_output(1, TensorShape({C}), &mean_t));
  OP_REQUIRES_OK(context, context->allocate_output(2, TensorShape({C}), &variance_t));
  float* mean = mean_t->flat<float>().data();
  float* corrected_variance = variance_t->flat<float>().data();
  if (N == 0) return no_statistics(C, mean, corrected_variance);
  const S* x = reinterpret_cast<const S*>(x_t.flat<T>().data());
  std::vector<float> scale(C);
  forward_statistics(context, x, N, C, context->input(1).flat<float>().data(), epsilon, mean,
                     corrected_variance, scale.data());
  const Channels ch{mean, scale.data(), context->input(2).flat<float>().data(),
                    nullptr, nullptr, nullptr};
  write_output(x, ch, reinterpret_cast<S*>(out_t->flat<T>().data()));
}

// The body of both gradients once dy (or dp) and x are checked: the outputs dx, dgamma,
// dbeta, the per-channel constants, `sums_of(x, channels)` (the 2 * C sums of the first
// pass), then `write_dx(x, channels, dx)`.
template <typename T, typename S, typename SumsOf, typename WriteDx>
void gradient(OpKernelContext* context, const Tensor& x_t, int64_t C, int64_t N,
              const SumsOf& sums_of, const WriteDx& write_dx) {
  Tensor *dx_t, *dgamma_t, *dbeta_t;
  OP_REQUIRES_OK(context, context->allocate_output(0, x_t.shape(), &dx_t));
  OP_REQUIRES_OK(context, context->allocate_output(1, TensorShape({C}), &dgamma_t));
  OP_REQUIRES_OK(context, context->allocate_output(2, TensorShape({C}), &dbeta_t));
  float* dgamma = dgamma_t->flat<float>().data();
  float* dbeta = dbeta_t->flat<float>().data();
  std::fill(dgamma, dgamma + C, 0.0f);
  std::fill(dbeta, dbeta + C, 0.0f);
  if (N == 0 || C == 0) return;

  const S* x = reinterpret_cast<const S*>(x_t.flat<T>().data());
  const float* gamma = context->input(2).flat<float>().data();
  const float* mean = context->input(4).flat<float>().data();
  const float* inv_std = context->input(5).flat<float>().data();
  std::vector<float> scale(C), a(C), k(C), m(C);
  for (int64_t c = 0; c < C; ++c) scale[c] = gamma[c] * inv_std[c];
  const Channels ch{mean, scale.data(), context->input(3).flat<float>().data(),
                    a.data(), k.data(), m.data()};
  gradient_constants(N, C, sums_of(x, ch), gamma, mean, inv_std, dgamma, dbeta, a.data(),
                     k.data(), m.data());
  write_dx(x, ch, reinterpret_cast<S*>(dx_t->flat<T>().data()));
}

template <typename T, typename S>  // S: the storage of T (float, or bfloat16's 16 bits)
class BatchNormReluOp : public OpKernel {
 public:
  explicit BatchNormReluOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("epsilon", &epsilon_));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& x_t = context->input(0);
    OP_REQUIRES(context, x_t.dims() >= 1,
                errors::InvalidArgument("BatchNormRelu: x must have rank >= 1; received ",
                                        x_t.shape().DebugString()));
    int64_t C, N;
    if (!channels_and_rows(context, "BatchNormRelu", "gamma and beta", x_t, 1, 3, &C, &N)) {
      return;
    }
    forward<T, S>(context, x_t, C, N, x_t.shape(), epsilon_,
                  [&](const S* x, const Channels& ch, S* y) {
                    blocked_rows(context, N, C, [&](int64_t r0, int64_t r1) {
                      output(x, ch, y, r0, r1, C);
                    });
                  });
  }

 private:
  float epsilon_;
};

template <typename T, typename S>
class BatchNormReluGradOp : public OpKernel {
 public:
  explicit BatchNormReluGradOp(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& dy_t = context->input(0);
    const Tensor& x_t = context->input(1);
    OP_REQUIRES(context, x_t.dims() >= 1 && dy_t.shape() == x_t.shape(),
                errors::InvalidArgument("BatchNormReluGrad: dy and x must have one shape "
                                        "of rank >= 1; received ", dy_t.shape().DebugString(),
                                        " and ", x_t.shape().DebugString()));
    int64_t C, N;
    if (!channels_and_rows(context, "BatchNormReluGrad", "gamma, beta, mean and inv_std",
                           x_t, 2, 6, &C, &N)) {
      return;
    }
    const S* dy = reinterpret_cast<const S*>(dy_t.flat<T>().data());
    gradient<T, S>(
        context, x_t, C, N,
        [&](const S* x, const Channels& ch) {
          return blocked_sums(context, N, C, [&](float* sg, float* sgx, int64_t r0,
                                                 int64_t r1) {
            sums(dy, x, ch, sg, sgx, r0, r1, C);
          });
        },
        [&](const S* x, const Channels& ch, S* dx) {
          blocked_rows(context, N, C, [&](int64_t r0, int64_t r1) {
            input_gradient(dy, x, ch, dx, r0, r1, C);
          });
        });
  }
};

// The pooling geometry of a 4-D x, or false (with the error set) when x is not 4-D.
bool pooling_of(OpKernelContext* context, const char* op, const Tensor& x, Pooling* P) {
  if (x.dims() != 4) {
    context->CtxFailure(errors::InvalidArgument(
        op, ": x must be 4-D (batch, height, width, channels); received ",
        x.shape().DebugString()));
    return false;
  }
  *P = Pooling{x.dim_size(0), x.dim_size(1), x.dim_size(2), x.dim_size(3),
               x.dim_size(1) / 2, x.dim_size(2) / 2};
  return true;
}

template <typename T, typename S>
class BatchNormReluMaxPoolOp : public OpKernel {
 public:
  explicit BatchNormReluMaxPoolOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("epsilon", &epsilon_));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& x_t = context->input(0);
    Pooling P;
    int64_t C, N;
    if (!pooling_of(context, "BatchNormReluMaxPool", x_t, &P) ||
        !channels_and_rows(context, "BatchNormReluMaxPool", "gamma and beta", x_t, 1, 3, &C,
                           &N)) {
      return;
    }
    forward<T, S>(context, x_t, C, N, TensorShape({P.N, P.Ho, P.Wo, C}), epsilon_,
                  [&](const S* x, const Channels& ch, S* p) {
                    blocked_rows(context, P.N * P.Ho, 4 * P.Wo * C,
                                 [&](int64_t q0, int64_t q1) {
                                   pooled_output(x, ch, p, P, q0, q1);
                                 });
                  });
  }

 private:
  float epsilon_;
};

template <typename T, typename S>
class BatchNormReluMaxPoolGradOp : public OpKernel {
 public:
  explicit BatchNormReluMaxPoolGradOp(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& dp_t = context->input(0);
    const Tensor& x_t = context->input(1);
    Pooling P;
    int64_t C, N;
    if (!pooling_of(context, "BatchNormReluMaxPoolGrad", x_t, &P) ||
        !channels_and_rows(context, "BatchNormReluMaxPoolGrad", "gamma, beta, mean and "
                           "inv_std", x_t, 2, 6, &C, &N)) {
      return;
    }
    OP_REQUIRES(context, dp_t.shape() == TensorShape({P.N, P.Ho, P.Wo, C}),
                errors::InvalidArgument("BatchNormReluMaxPoolGrad: dp must have the pooled "
                                        "shape of x ", x_t.shape().DebugString(), "; received ",
                                        dp_t.shape().DebugString()));
    const S* dp = reinterpret_cast<const S*>(dp_t.flat<T>().data());
    const int64_t Q = P.N * P.Ho;  // pooled rows
    gradient<T, S>(
        context, x_t, C, N,
        [&](const S* x, const Channels& ch) {
          // Sums over the windows of 64 pooled positions at a time (4 x 64 elements).
          return blocked_sums(context, Q, C, [&](float* sg, float* sgx, int64_t q0,
                                                 int64_t q1) {
            pooled_sums(dp, x, ch, sg, sgx, P, q0, q1);
          }, std::max<int64_t>(1, 64 / std::max<int64_t>(1, P.Wo)));
        },
        [&](const S* x, const Channels& ch, S* dx) {
          blocked_rows(context, Q, 4 * P.Wo * C, [&](int64_t q0, int64_t q1) {
            pooled_input_gradient(dp, x, ch, dx, P, q0, q1);
          });
          if (P.H % 2 == 0) return;
          // The last row of each image is outside every window: g = 0.
          const int64_t row = P.W * C;
          blocked_rows(context, P.N, row, [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; ++n) {
              const int64_t o = ((n + 1) * P.H - 1) * row;
              for (int64_t i = 0; i < row; ++i) {
                const int64_t c = i % C;
                store(dx, o + i, ch.k[c] * load(x, o + i) + ch.m[c]);
              }
            }
          });
        });
  }
};

REGISTER_KERNEL_BUILDER(
    Name("BatchNormRelu").Device(DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    BatchNormReluOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormRelu").Device(DEVICE_CPU).TypeConstraint<float>("T"),
    BatchNormReluOp<float, float>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluGrad").Device(DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    BatchNormReluGradOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluGrad").Device(DEVICE_CPU).TypeConstraint<float>("T"),
    BatchNormReluGradOp<float, float>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluMaxPool").Device(DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    BatchNormReluMaxPoolOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluMaxPool").Device(DEVICE_CPU).TypeConstraint<float>("T"),
    BatchNormReluMaxPoolOp<float, float>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluMaxPoolGrad").Device(DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    BatchNormReluMaxPoolGradOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluMaxPoolGrad").Device(DEVICE_CPU).TypeConstraint<float>("T"),
    BatchNormReluMaxPoolGradOp<float, float>);
