// BatchNormReluGrad: the gradient of y = relu(gamma * (x - mean) * inv_std + beta), batch norm
// in training mode over every axis but the last (channels), in one kernel. TensorFlow on CPU
// computes it as ReluGrad then FusedBatchNormGradV3 (TF's remapper fuses the two on GPU only),
// and its bfloat16 ReluGrad is built without AVX2; here the ReLU mask is applied on the fly:
//
//   z      = gamma * inv_std * (x - mean) + beta        (y = relu(z), recomputed from x)
//   g      = dy * (z > 0)
//   dbeta  = sum g              dgamma = inv_std * sum g * (x - mean)     (per channel)
//   dx     = gamma * inv_std * (g - dbeta / n - (x - mean) * inv_std * dgamma / n)
//
// The mask comes from x, which both passes read anyway, rather than from y: the op reads
// dy and x twice and writes dx, five full-size streams where reading y too would take
// seven; on these CPUs the op is limited by that memory traffic. Two passes (the
// per-channel sums, then dx), in fixed row blocks whose sums are added in a fixed order, so
// the result does not depend on the thread scheduling. With AVX-512 (and channels a
// multiple of 16) each row's channels stay in registers.
#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512BF16__)
#include <immintrin.h>
#define KERASNOTES_AVX512 1
#endif

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

using namespace tensorflow;

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
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(1));
      c->set_output(1, c->input(2));
      c->set_output(2, c->input(2));
      return OkStatus();
    });

namespace {

constexpr int64_t kBlocks = 16;     // row blocks of the sums (fixed: deterministic sums)
constexpr int64_t kChunkRows = 256;  // rows summed in float before adding into double

// The per-channel constants of both passes.
struct Channels {
  const float* mean;
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

// sg[c] += sum g, sgx[c] += sum g * (x - mean) over rows [r0, r1).
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

// dx = a * g + k * x + m over rows [r0, r1).
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

#ifdef KERASNOTES_AVX512
// The same two passes with AVX-512, for NV groups of 16 channels starting at c0: the
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

template <int NV, typename S>
void row_sums16(const S* __restrict dy, const S* __restrict x, const Channels& ch,
                float* __restrict sg, float* __restrict sgx, int64_t r0, int64_t r1,
                int64_t C, int64_t c0) {
  __m512 g_sum[NV], gx_sum[NV], mean[NV], scale[NV], beta[NV];
  for (int v = 0; v < NV; ++v) {
    const int64_t c = c0 + 16 * v;
    g_sum[v] = _mm512_loadu_ps(sg + c);
    gx_sum[v] = _mm512_loadu_ps(sgx + c);
    mean[v] = _mm512_loadu_ps(ch.mean + c);
    scale[v] = _mm512_loadu_ps(ch.scale + c);
    beta[v] = _mm512_loadu_ps(ch.beta + c);
  }
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512 centered = _mm512_sub_ps(load16(x + o + 16 * v), mean[v]);
      const __mmask16 on = _mm512_cmp_ps_mask(_mm512_fmadd_ps(centered, scale[v], beta[v]),
                                              _mm512_setzero_ps(), _CMP_GT_OQ);
      const __m512 g = _mm512_maskz_mov_ps(on, load16(dy + o + 16 * v));
      g_sum[v] = _mm512_add_ps(g_sum[v], g);
      gx_sum[v] = _mm512_fmadd_ps(g, centered, gx_sum[v]);
    }
  }
  for (int v = 0; v < NV; ++v) {
    _mm512_storeu_ps(sg + c0 + 16 * v, g_sum[v]);
    _mm512_storeu_ps(sgx + c0 + 16 * v, gx_sum[v]);
  }
}

template <int NV, typename S>
void row_dx16(const S* __restrict dy, const S* __restrict x, const Channels& ch,
              S* __restrict dx, int64_t r0, int64_t r1, int64_t C, int64_t c0) {
  __m512 mean[NV], scale[NV], beta[NV], a[NV], k[NV], m[NV];
  for (int v = 0; v < NV; ++v) {
    const int64_t c = c0 + 16 * v;
    mean[v] = _mm512_loadu_ps(ch.mean + c);
    scale[v] = _mm512_loadu_ps(ch.scale + c);
    beta[v] = _mm512_loadu_ps(ch.beta + c);
    a[v] = _mm512_loadu_ps(ch.a + c);
    k[v] = _mm512_loadu_ps(ch.k + c);
    m[v] = _mm512_loadu_ps(ch.m + c);
  }
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C + c0;
    for (int v = 0; v < NV; ++v) {
      const __m512 xv = load16(x + o + 16 * v);
      const __m512 z = _mm512_fmadd_ps(_mm512_sub_ps(xv, mean[v]), scale[v], beta[v]);
      const __mmask16 on = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ);
      const __m512 g = _mm512_maskz_mov_ps(on, load16(dy + o + 16 * v));
      store16(dx + o + 16 * v, _mm512_fmadd_ps(a[v], g, _mm512_fmadd_ps(k[v], xv, m[v])));
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
#define KERASNOTES_SUMS(NV) row_sums16<NV>(dy, x, ch, sg, sgx, r0, r1, C, c0)
#define KERASNOTES_DX(NV) row_dx16<NV>(dy, x, ch, dx, r0, r1, C, c0)
#endif  // KERASNOTES_AVX512

template <typename S>
void sums(const S* dy, const S* x, const Channels& ch, float* sg, float* sgx, int64_t r0,
          int64_t r1, int64_t C) {
#ifdef KERASNOTES_AVX512
  if (C % 16 == 0) {
    KERASNOTES_BY_CHANNEL_GROUPS(KERASNOTES_SUMS)
    return;
  }
#endif
  row_sums(dy, x, ch, sg, sgx, r0, r1, C);
}

template <typename S>
void input_gradient(const S* dy, const S* x, const Channels& ch, S* dx, int64_t r0,
                    int64_t r1, int64_t C) {
#ifdef KERASNOTES_AVX512
  if (C % 16 == 0) {
    KERASNOTES_BY_CHANNEL_GROUPS(KERASNOTES_DX)
    return;
  }
#endif
  row_dx(dy, x, ch, dx, r0, r1, C);
}

}  // namespace

template <typename T, typename S>  // S: the storage of T (float, or bfloat16's 16 bits)
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
    const int64_t C = x_t.dim_size(x_t.dims() - 1);
    const int64_t N = C > 0 ? x_t.NumElements() / C : 0;
    for (int i = 2; i < 6; ++i) {
      OP_REQUIRES(context, context->input(i).dims() == 1 && context->input(i).dim_size(0) == C,
                  errors::InvalidArgument("BatchNormReluGrad: gamma, beta, mean and inv_std "
                                          "must hold ", C, " values (the channels); input ",
                                          i, " has shape ",
                                          context->input(i).shape().DebugString()));
    }
    Tensor *dx_t, *dgamma_t, *dbeta_t;
    OP_REQUIRES_OK(context, context->allocate_output(0, x_t.shape(), &dx_t));
    OP_REQUIRES_OK(context, context->allocate_output(1, TensorShape({C}), &dgamma_t));
    OP_REQUIRES_OK(context, context->allocate_output(2, TensorShape({C}), &dbeta_t));
    float* dgamma = dgamma_t->flat<float>().data();
    float* dbeta = dbeta_t->flat<float>().data();
    std::fill(dgamma, dgamma + C, 0.0f);
    std::fill(dbeta, dbeta + C, 0.0f);
    if (N == 0 || C == 0) return;

    const S* dy = reinterpret_cast<const S*>(dy_t.flat<T>().data());
    const S* x = reinterpret_cast<const S*>(x_t.flat<T>().data());
    S* dx = reinterpret_cast<S*>(dx_t->flat<T>().data());
    const float* gamma = context->input(2).flat<float>().data();
    const float* mean = context->input(4).flat<float>().data();
    const float* inv_std = context->input(5).flat<float>().data();
    std::vector<float> scale(C), a(C), k(C), m(C);
    for (int64_t c = 0; c < C; ++c) scale[c] = gamma[c] * inv_std[c];
    const Channels ch{mean, scale.data(), context->input(3).flat<float>().data(),
                      a.data(), k.data(), m.data()};
    auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;

    const int64_t blocks = std::min(N, kBlocks);
    const int64_t rows = (N + blocks - 1) / blocks;
    std::vector<double> partial(blocks * 2 * C, 0.0);
    workers->ParallelFor(blocks, /*cost_per_unit=*/rows * C * 8, [&](int64_t b0, int64_t b1) {
      std::vector<float> chunk(2 * C);
      for (int64_t b = b0; b < b1; ++b) {
        double* block_sums = partial.data() + b * 2 * C;
        const int64_t end = std::min(N, (b + 1) * rows);
        for (int64_t r = b * rows; r < end; r += kChunkRows) {
          std::fill(chunk.begin(), chunk.end(), 0.0f);
          sums(dy, x, ch, chunk.data(), chunk.data() + C, r, std::min(end, r + kChunkRows), C);
          for (int64_t i = 0; i < 2 * C; ++i) block_sums[i] += chunk[i];
        }
      }
    });
    for (int64_t c = 0; c < C; ++c) {
      double sg = 0.0, sgx = 0.0;
      for (int64_t b = 0; b < blocks; ++b) {
        sg += partial[b * 2 * C + c];
        sgx += partial[b * 2 * C + C + c];
      }
      const double s = static_cast<double>(gamma[c]) * inv_std[c];
      const double q = sgx / N * inv_std[c] * inv_std[c];
      dbeta[c] = static_cast<float>(sg);
      dgamma[c] = static_cast<float>(sgx * inv_std[c]);
      a[c] = static_cast<float>(s);
      k[c] = static_cast<float>(-s * q);
      m[c] = static_cast<float>(s * (q * mean[c] - sg / N));
    }
    workers->ParallelFor(blocks, rows * C * 6, [&](int64_t b0, int64_t b1) {
      input_gradient(dy, x, ch, dx, b0 * rows, std::min(N, b1 * rows), C);
    });
  }
};

REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluGrad").Device(DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    BatchNormReluGradOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluGrad").Device(DEVICE_CPU).TypeConstraint<float>("T"),
    BatchNormReluGradOp<float, float>);
