// BatchNormReluGrad: the gradient of y = relu(gamma * (x - mean) * inv_std + beta), batch norm
// in training mode over every axis but the last (channels), in one kernel. TensorFlow on CPU
// computes it as ReluGrad then FusedBatchNormGradV3 (TF's remapper fuses the two on GPU only),
// and its bfloat16 ReluGrad is built without AVX2; here the ReLU mask is applied on the fly:
//
//   g      = dy * (y > 0)
//   dbeta  = sum g              dgamma = inv_std * sum g * (x - mean)     (per channel)
//   dx     = gamma * inv_std * (g - dbeta / n - (x - mean) * inv_std * dgamma / n)
//
// Two passes over dy, y and x (the per-channel sums, then dx), in fixed row blocks whose sums
// are added in a fixed order, so the result does not depend on the thread scheduling.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

using namespace tensorflow;

REGISTER_OP("BatchNormReluGrad")
    .Input("dy: T")
    .Input("y: T")
    .Input("x: T")
    .Input("gamma: float")
    .Input("mean: float")
    .Input("inv_std: float")
    .Output("dx: T")
    .Output("dgamma: float")
    .Output("dbeta: float")
    .Attr("T: {bfloat16, float}")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(2));
      c->set_output(1, c->input(3));
      c->set_output(2, c->input(3));
      return OkStatus();
    });

namespace {

constexpr int64_t kBlocks = 16;     // row blocks of the sums (fixed: deterministic sums)
constexpr int64_t kChunkRows = 256;  // rows summed in float before adding into double

inline float load(const float* __restrict p, int64_t i) { return p[i]; }
inline float load(const uint16_t* __restrict p, int64_t i) {  // bfloat16 bits
  return __builtin_bit_cast(float, static_cast<uint32_t>(p[i]) << 16);
}
// dy where y > 0, else 0 (TF's ReluGrad).
inline float masked(const float* __restrict dy, const float* __restrict y, int64_t i) {
  return y[i] > 0.0f ? dy[i] : 0.0f;
}
inline float masked(const uint16_t* __restrict dy, const uint16_t* __restrict y, int64_t i) {
  // bits 0x0001..0x7F80: positive, +inf included; zeros, negatives and NaNs excluded.
  const uint32_t keep = static_cast<uint16_t>(y[i] - 1) < 0x7F80 ? 0xFFFFFFFFu : 0u;
  return __builtin_bit_cast(float, (static_cast<uint32_t>(dy[i]) << 16) & keep);
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
void row_sums(const S* __restrict dy, const S* __restrict y, const S* __restrict x,
              const float* __restrict mean, float* __restrict sg, float* __restrict sgx,
              int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const float g = masked(dy, y, o + c);
      sg[c] += g;
      sgx[c] += g * (load(x, o + c) - mean[c]);
    }
  }
}

// dx = a * g + k * x + m over rows [r0, r1).
template <typename S>
void row_dx(const S* __restrict dy, const S* __restrict y, const S* __restrict x,
            const float* __restrict a, const float* __restrict k, const float* __restrict m,
            S* __restrict dx, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      store(dx, o + c, a[c] * masked(dy, y, o + c) + k[c] * load(x, o + c) + m[c]);
    }
  }
}

}  // namespace

template <typename T, typename S>  // S: the storage of T (float, or bfloat16's 16 bits)
class BatchNormReluGradOp : public OpKernel {
 public:
  explicit BatchNormReluGradOp(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& dy_t = context->input(0);
    const Tensor& y_t = context->input(1);
    const Tensor& x_t = context->input(2);
    OP_REQUIRES(context, x_t.dims() >= 1 && dy_t.shape() == x_t.shape() &&
                             y_t.shape() == x_t.shape(),
                errors::InvalidArgument("BatchNormReluGrad: dy, y and x must have one shape "
                                        "of rank >= 1; received ", dy_t.shape().DebugString(),
                                        ", ", y_t.shape().DebugString(), ", ",
                                        x_t.shape().DebugString()));
    const int64_t C = x_t.dim_size(x_t.dims() - 1);
    const int64_t N = C > 0 ? x_t.NumElements() / C : 0;
    for (int i = 3; i < 6; ++i) {
      OP_REQUIRES(context, context->input(i).dims() == 1 && context->input(i).dim_size(0) == C,
                  errors::InvalidArgument("BatchNormReluGrad: gamma, mean and inv_std must "
                                          "hold ", C, " values (the channels); input ", i,
                                          " has shape ",
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
    const S* y = reinterpret_cast<const S*>(y_t.flat<T>().data());
    const S* x = reinterpret_cast<const S*>(x_t.flat<T>().data());
    S* dx = reinterpret_cast<S*>(dx_t->flat<T>().data());
    const float* gamma = context->input(3).flat<float>().data();
    const float* mean = context->input(4).flat<float>().data();
    const float* inv_std = context->input(5).flat<float>().data();
    auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;

    const int64_t blocks = std::min(N, kBlocks);
    const int64_t rows = (N + blocks - 1) / blocks;
    std::vector<double> partial(blocks * 2 * C, 0.0);
    workers->ParallelFor(blocks, /*cost_per_unit=*/rows * C * 8, [&](int64_t b0, int64_t b1) {
      std::vector<float> chunk(2 * C);
      for (int64_t b = b0; b < b1; ++b) {
        double* sums = partial.data() + b * 2 * C;
        const int64_t end = std::min(N, (b + 1) * rows);
        for (int64_t r = b * rows; r < end; r += kChunkRows) {
          std::fill(chunk.begin(), chunk.end(), 0.0f);
          row_sums(dy, y, x, mean, chunk.data(), chunk.data() + C, r,
                   std::min(end, r + kChunkRows), C);
          for (int64_t i = 0; i < 2 * C; ++i) sums[i] += chunk[i];
        }
      }
    });
    std::vector<float> a(C), k(C), m(C);
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
      row_dx(dy, y, x, a.data(), k.data(), m.data(), dx, b0 * rows, std::min(N, b1 * rows), C);
    });
  }
};

REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluGrad").Device(DEVICE_CPU).TypeConstraint<bfloat16>("T"),
    BatchNormReluGradOp<bfloat16, uint16_t>);
REGISTER_KERNEL_BUILDER(
    Name("BatchNormReluGrad").Device(DEVICE_CPU).TypeConstraint<float>("T"),
    BatchNormReluGradOp<float, float>);
