// The weight gradient of a 3x3 convolution (stride 1, padding 1: "same") in bfloat16 on
// Intel AMX, for the thin layers where oneDNN's kernel is slow (TinySSD's first two
// convolutions: 3 -> 16 channels at 176 GFLOP/s and 16 -> 16 at ~600 on this CPU).
//
//   dw[kh, kw, ci, co] = sum_{n, h, w} x[n, h + kh - 1, w + kw - 1, ci] * dy[n, h, w, co]
//
// (x zero outside the image), accumulated in float32. x and dy are NHWC bfloat16; the
// result is float32 (3, 3, C_in, C_out), C_in 3 or 16, C_out 16, width a multiple of 16.
//
// AMX's bfloat16 product `C[m][n] += sum_k A[m][2k] B[k][2n] + A[m][2k + 1] B[k][2n + 1]`
// pairs elements along the summed dimension. Here the pair is two images at the same pixel
// and k runs over 16 pixels of a row, so each tile holds (16 pixels x 2 images):
// - 16 input channels: A = dy transposed (16 output channels x 16 pixels x 2 images, a
//   16x16 transpose of 32-bit pairs per block), B = x as it is, each pixel's 16 channels of
//   the two images interleaved; one tile product per kernel tap (9 accumulators: taps 0-5,
//   then 6-8, over each chunk of 16 rows kept in cache).
// - 3 input channels: A = x's 27 (tap, channel) rows (two tiles of 16, rows 27-31 unused)
//   over 16 pixels x 2 images, B = dy interleaved; two tile products per block.
//
// Work is cut into fixed blocks of (image pair, 16-row chunk) jobs whose sums are added in
// order, so the result does not depend on thread scheduling. Each block saves the thread's
// tile configuration, sets its own and restores the saved one (oneDNN uses AMX on the same
// threads). `Conv3x3WeightGradientAvailable` says whether this CPU and kernel let a
// process use AMX (CPUID and the Linux permission request); without it the caller uses
// TensorFlow's Conv2DBackpropFilter.

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <cpuid.h>
#include <immintrin.h>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

using namespace tensorflow;

#define KERASNOTES_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl")))

namespace {

constexpr int kChunk = 16;     // output rows per job
constexpr int64_t kBlocks = 16;  // fixed work blocks (deterministic sums)
constexpr int kMaxWidth = 4096;

struct alignas(64) TileConfig {
  uint8_t palette = 0, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

bool AmxUsable() {
  static const bool usable = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!((d >> 22) & 1) || !((d >> 24) & 1)) return false;  // AMX-BF16, AMX-TILE
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return false;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3) != 3) return false;  // XTILECFG, XTILEDATA enabled by the OS
    // Linux: a process asks for the tile data state once (ARCH_REQ_XCOMP_PERM).
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  }();
  return usable;
}

// Saves the thread's tile configuration, sets one with `tiles` tiles of 16 rows x 64 bytes;
// the destructor restores the saved one (or releases the tiles if there was none).
class TileScope {
 public:
  KERASNOTES_AMX explicit TileScope(int tiles) {
    _tile_storeconfig(&saved_);
    TileConfig config;
    config.palette = 1;
    for (int i = 0; i < tiles; ++i) {
      config.rows[i] = 16;
      config.colsb[i] = 64;
    }
    _tile_loadconfig(&config);
  }
  KERASNOTES_AMX ~TileScope() {
    if (saved_.palette != 0) {
      _tile_loadconfig(&saved_);
    } else {
      _tile_release();
    }
  }

 private:
  TileConfig saved_;
};

// 16 channels of two images at one pixel -> 16 32-bit pairs (low half: the first image).
KERASNOTES_AMX inline __m512i Pair16(const uint16_t* a, const uint16_t* b) {
  const __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
  const __m512i hi = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)));
  return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// r[i][j] -> r[j][i] for a 16x16 matrix of 32-bit elements in 16 registers.
KERASNOTES_AMX inline void Transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; ++k) {
    u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i a = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x88);
    const __m512i b = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xDD);
    const __m512i c = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x88);
    const __m512i d = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xDD);
    r[m] = _mm512_shuffle_i32x4(a, c, 0x88);
    r[8 + m] = _mm512_shuffle_i32x4(a, c, 0xDD);
    r[4 + m] = _mm512_shuffle_i32x4(b, d, 0x88);
    r[12 + m] = _mm512_shuffle_i32x4(b, d, 0xDD);
  }
}

struct Shape {
  int64_t n, h, w, ci;
  int64_t pairs() const { return (n + 1) / 2; }
  int64_t chunks() const { return (h + kChunk - 1) / kChunk; }
};

// Row h of image `image` (C channels), or the zero row past the last image / outside.
inline const uint16_t* Row(const uint16_t* t, const Shape& s, int64_t c, int64_t image,
                           int64_t h, const uint16_t* zeros) {
  if (image >= s.n || h < 0 || h >= s.h) return zeros;
  return t + ((image * s.h + h) * s.w) * c;
}

// Scratch buffer `slot` of this thread, at least `size` 32-bit words (kept between calls, so
// that the pages are not faulted in again at every call; the 3-channel path's over-read rows
// stay inside it and are zero or finite).
uint32_t* Scratch(int slot, int64_t size) {
  thread_local std::vector<uint32_t> buffers[2];
  if (static_cast<int64_t>(buffers[slot].size()) < size) buffers[slot].assign(size, 0u);
  return buffers[slot].data();
}

// 16 input channels. acc: [tap][co][ci] float (9 x 256), accumulated over the jobs.
KERASNOTES_AMX void Jobs16(const uint16_t* x, const uint16_t* dy, const Shape& s,
                           const uint16_t* zeros, int64_t job0, int64_t job1, float* acc) {
  const int64_t W = s.w, blocks = W / 16, xrow = (W + 2) * 16;
  uint32_t* xi = Scratch(0, (kChunk + 2) * xrow);
  uint32_t* dt = Scratch(1, kChunk * blocks * 256);
  TileScope scope(8);
  for (int64_t job = job0; job < job1; ++job) {
    const int64_t p = job / s.chunks(), h0 = (job % s.chunks()) * kChunk;
    const int64_t rows = std::min<int64_t>(kChunk, s.h - h0);
    for (int64_t r = 0; r < rows + 2; ++r) {  // x rows h0 - 1 .. h0 + rows, pairs, padded
      const uint16_t* x0 = Row(x, s, 16, 2 * p, h0 + r - 1, zeros);
      const uint16_t* x1 = Row(x, s, 16, 2 * p + 1, h0 + r - 1, zeros);
      uint32_t* out = xi + r * xrow;
      std::memset(out, 0, 64);
      std::memset(out + (W + 1) * 16, 0, 64);
      for (int64_t w = 0; w < W; ++w) {
        _mm512_storeu_si512(out + (w + 1) * 16, Pair16(x0 + w * 16, x1 + w * 16));
      }
    }
    for (int64_t r = 0; r < rows; ++r) {  // dy blocks, transposed: [co][16 pixels] pairs
      const uint16_t* d0 = Row(dy, s, 16, 2 * p, h0 + r, zeros);
      const uint16_t* d1 = Row(dy, s, 16, 2 * p + 1, h0 + r, zeros);
      for (int64_t b = 0; b < blocks; ++b) {
        __m512i t[16];
        for (int i = 0; i < 16; ++i) t[i] = Pair16(d0 + (b * 16 + i) * 16, d1 + (b * 16 + i) * 16);
        Transpose16(t);
        uint32_t* out = dt + (r * blocks + b) * 256;
        for (int i = 0; i < 16; ++i) _mm512_storeu_si512(out + i * 16, t[i]);
      }
    }
    // Taps 0-5 accumulate in tiles 0-5, then taps 6-8 in tiles 0-2; tile 6 = A, 7 = B.
#define KERASNOTES_TAP(K)                                                         \
  {                                                                               \
    const int64_t tap = first + K;                                                \
    _tile_loadd(7, xb + (tap / 3) * xrow + (tap % 3) * 16, 64);                   \
    _tile_dpbf16ps(K, 6, 7);                                                      \
  }
    for (int group = 0; group < 2; ++group) {
      const int64_t first = group * 6;
      float* c = acc + first * 256;
      _tile_loadd(0, c, 64);
      _tile_loadd(1, c + 256, 64);
      _tile_loadd(2, c + 512, 64);
      if (group == 0) {
        _tile_loadd(3, c + 768, 64);
        _tile_loadd(4, c + 1024, 64);
        _tile_loadd(5, c + 1280, 64);
      }
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < blocks; ++b) {
          _tile_loadd(6, dt + (r * blocks + b) * 256, 64);
          const uint32_t* xb = xi + r * xrow + b * 256;
          if (group == 0) {
            KERASNOTES_TAP(0) KERASNOTES_TAP(1) KERASNOTES_TAP(2)
            KERASNOTES_TAP(3) KERASNOTES_TAP(4) KERASNOTES_TAP(5)
          } else {
            KERASNOTES_TAP(0) KERASNOTES_TAP(1) KERASNOTES_TAP(2)
          }
        }
      }
      _tile_stored(0, c, 64);
      _tile_stored(1, c + 256, 64);
      _tile_stored(2, c + 512, 64);
      if (group == 0) {
        _tile_stored(3, c + 768, 64);
        _tile_stored(4, c + 1024, 64);
        _tile_stored(5, c + 1280, 64);
      }
    }
#undef KERASNOTES_TAP
  }
}

// 3 input channels. acc: [row r = kh * 9 + ci * 3 + kw, 32 rows][co] float (512).
KERASNOTES_AMX void Jobs3(const uint16_t* x, const uint16_t* dy, const Shape& s,
                          const uint16_t* zeros, int64_t job0, int64_t job1, float* acc) {
  const int64_t W = s.w, S = W + 16;  // 32-bit pairs per A row
  const int64_t row_set = 9 * S;      // one padded input row: its 9 (ci, kw) rows
  uint32_t* rows_buf = Scratch(0, (kChunk + 2 + 2) * row_set);  // + 2: rows 27-31 over-read
  uint32_t* plane = Scratch(1, 3 * (W + 32));
  alignas(64) uint32_t bbuf[256];
  alignas(64) uint16_t index[3][32];
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 32; ++i) index[c][i] = static_cast<uint16_t>(i < 16 ? 3 * i + c : 0);
  }
  TileScope scope(5);
  for (int64_t job = job0; job < job1; ++job) {
    const int64_t p = job / s.chunks(), h0 = (job % s.chunks()) * kChunk;
    const int64_t rows = std::min<int64_t>(kChunk, s.h - h0);
    for (int64_t r = 0; r < rows + 2; ++r) {
      const uint16_t* x0 = Row(x, s, 3, 2 * p, h0 + r - 1, zeros);
      const uint16_t* x1 = Row(x, s, 3, 2 * p + 1, h0 + r - 1, zeros);
      std::memset(plane, 0, 3 * (W + 32) * sizeof(uint32_t));
      for (int64_t w = 0; w < W; w += 16) {  // 16 pixels x 3 channels of each image
        const __m512i a0 = _mm512_loadu_si512(x0 + w * 3);
        const __m512i b0 = _mm512_maskz_loadu_epi16(0xFFFF, x0 + w * 3 + 32);
        const __m512i a1 = _mm512_loadu_si512(x1 + w * 3);
        const __m512i b1 = _mm512_maskz_loadu_epi16(0xFFFF, x1 + w * 3 + 32);
        for (int c = 0; c < 3; ++c) {
          const __m512i idx = _mm512_load_si512(index[c]);
          const __m256i v0 = _mm512_castsi512_si256(_mm512_permutex2var_epi16(a0, idx, b0));
          const __m256i v1 = _mm512_castsi512_si256(_mm512_permutex2var_epi16(a1, idx, b1));
          _mm512_storeu_si512(plane + c * (W + 32) + 1 + w,
                              _mm512_or_si512(_mm512_cvtepu16_epi32(v0),
                                              _mm512_slli_epi32(_mm512_cvtepu16_epi32(v1), 16)));
        }
      }
      uint32_t* out = rows_buf + r * row_set;
      for (int c = 0; c < 3; ++c) {
        for (int kw = 0; kw < 3; ++kw) {
          std::memcpy(out + (c * 3 + kw) * S, plane + c * (W + 32) + kw, S * 4);
        }
      }
    }
    _tile_loadd(0, acc, 64);
    _tile_loadd(1, acc + 256, 64);
    for (int64_t r = 0; r < rows; ++r) {
      const uint16_t* d0 = Row(dy, s, 16, 2 * p, h0 + r, zeros);
      const uint16_t* d1 = Row(dy, s, 16, 2 * p + 1, h0 + r, zeros);
      const uint32_t* a = rows_buf + r * row_set;  // row (kh, ci, kw) at a + that * S
      for (int64_t w0 = 0; w0 < W; w0 += 16) {
        for (int i = 0; i < 16; ++i) {
          _mm512_store_si512(bbuf + i * 16, Pair16(d0 + (w0 + i) * 16, d1 + (w0 + i) * 16));
        }
        _tile_loadd(4, bbuf, 64);
        _tile_loadd(2, a + w0, S * 4);
        _tile_loadd(3, a + 16 * S + w0, S * 4);
        _tile_dpbf16ps(0, 2, 4);
        _tile_dpbf16ps(1, 3, 4);
      }
    }
    _tile_stored(0, acc, 64);
    _tile_stored(1, acc + 256, 64);
  }
}

}  // namespace

REGISTER_OP("Conv3x3WeightGradient")
    .Input("x: bfloat16")
    .Input("dy: bfloat16")
    .Output("dw: float")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle x, dy;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &x));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 4, &dy));
      c->set_output(0, c->MakeShape({3, 3, c->Dim(x, 3), c->Dim(dy, 3)}));
      return OkStatus();
    });

REGISTER_OP("Conv3x3WeightGradientAvailable")
    .Output("available: bool")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      c->set_output(0, c->Scalar());
      return OkStatus();
    });

class Conv3x3WeightGradientOp : public OpKernel {
 public:
  explicit Conv3x3WeightGradientOp(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* context) override {
    const Tensor& x = context->input(0);
    const Tensor& dy = context->input(1);
    OP_REQUIRES(context, x.dims() == 4 && dy.dims() == 4,
                errors::InvalidArgument("Conv3x3WeightGradient: x and dy must be NHWC; "
                                        "received ", x.shape().DebugString(), " and ",
                                        dy.shape().DebugString()));
    const Shape s{x.dim_size(0), x.dim_size(1), x.dim_size(2), x.dim_size(3)};
    OP_REQUIRES(context, dy.dim_size(0) == s.n && dy.dim_size(1) == s.h && dy.dim_size(2) == s.w,
                errors::InvalidArgument("Conv3x3WeightGradient: dy ", dy.shape().DebugString(),
                                        " does not match x ", x.shape().DebugString()));
    OP_REQUIRES(context, (s.ci == 3 || s.ci == 16) && dy.dim_size(3) == 16,
                errors::InvalidArgument("Conv3x3WeightGradient: needs 3 or 16 input and 16 "
                                        "output channels; received ", s.ci, " and ",
                                        dy.dim_size(3)));
    OP_REQUIRES(context, s.w % 16 == 0 && s.w <= kMaxWidth,
                errors::InvalidArgument("Conv3x3WeightGradient: the width must be a multiple "
                                        "of 16 up to ", kMaxWidth, "; received ", s.w));
    OP_REQUIRES(context, AmxUsable(),
                errors::Unavailable("Conv3x3WeightGradient: this CPU or OS offers no AMX"));
    Tensor* dw = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, TensorShape({3, 3, s.ci, 16}), &dw));
    float* out = dw->flat<float>().data();
    const int64_t jobs = s.n > 0 && s.h > 0 ? s.pairs() * s.chunks() : 0;
    const int64_t acc_size = s.ci == 16 ? 9 * 256 : 512;
    const int64_t blocks = std::min(jobs, kBlocks);
    std::vector<float> partial(std::max<int64_t>(blocks, 1) * acc_size, 0.0f);
    if (blocks > 0) {
      const auto* x_data = reinterpret_cast<const uint16_t*>(x.flat<bfloat16>().data());
      const auto* dy_data = reinterpret_cast<const uint16_t*>(dy.flat<bfloat16>().data());
      std::vector<uint16_t> zeros(s.w * 16, 0);
      const int64_t per_block = (jobs + blocks - 1) / blocks;
      auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
      const int64_t cost = 1000000000;  // one task per block: even shares on any threads
      workers->ParallelFor(blocks, cost, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t j0 = b * per_block, j1 = std::min(jobs, j0 + per_block);
          if (j0 >= j1) continue;
          float* acc = partial.data() + b * acc_size;
          if (s.ci == 16) {
            Jobs16(x_data, dy_data, s, zeros.data(), j0, j1, acc);
          } else {
            Jobs3(x_data, dy_data, s, zeros.data(), j0, j1, acc);
          }
        }
      });
    }
    std::vector<double> total(acc_size, 0.0);
    for (int64_t b = 0; b < blocks; ++b) {
      for (int64_t i = 0; i < acc_size; ++i) total[i] += partial[b * acc_size + i];
    }
    for (int kh = 0; kh < 3; ++kh) {
      for (int kw = 0; kw < 3; ++kw) {
        for (int64_t ci = 0; ci < s.ci; ++ci) {
          for (int co = 0; co < 16; ++co) {
            const int64_t from = s.ci == 16 ? ((kh * 3 + kw) * 16 + co) * 16 + ci
                                            : (kh * 9 + ci * 3 + kw) * 16 + co;
            out[((kh * 3 + kw) * s.ci + ci) * 16 + co] = static_cast<float>(total[from]);
          }
        }
      }
    }
  }
};

class Conv3x3WeightGradientAvailableOp : public OpKernel {
 public:
  explicit Conv3x3WeightGradientAvailableOp(OpKernelConstruction* context)
      : OpKernel(context) {}
  void Compute(OpKernelContext* context) override {
    Tensor* out = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, TensorShape({}), &out));
    out->scalar<bool>()() = AmxUsable();
  }
};

REGISTER_KERNEL_BUILDER(Name("Conv3x3WeightGradient").Device(DEVICE_CPU),
                        Conv3x3WeightGradientOp);
REGISTER_KERNEL_BUILDER(Name("Conv3x3WeightGradientAvailable").Device(DEVICE_CPU),
                        Conv3x3WeightGradientAvailableOp);
