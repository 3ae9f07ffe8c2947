// The weight gradient of a 3x3 convolution (stride 1, padding 1: "same") in bfloat16 on
// Intel AMX, where oneDNN's kernel is slow: TinySSD's first two convolutions (3 -> 16
// channels at 176 GFLOP/s and 16 -> 16 at ~600 on this CPU), the 16 to 128 channels of
// its later blocks (1.2-1.8x oneDNN's time) and the small feature maps of its prediction
// layers (up to a millisecond per call whatever the work).
//
//   dw[kh, kw, ci, co] = sum_{n, h, w} x[n, h + kh - 1, w + kw - 1, ci] * dy[n, h, w, co]
//
// (x zero outside the image), accumulated in float32. x and dy are NHWC bfloat16; the
// result is float32 (3, 3, C_in, C_out). Two paths:
// - thin (Jobs3, Jobs16; UsesThinPath): C_in 3 and C_out 16, or multiples of 16 of both,
//   width a multiple of 16 (at least 32 unless C_out is 16);
// - general (PrepareWide, MultiplyWide): C_in a multiple of 16, any C_out, any size.
// The width is at most kMaxWidth on both.
//
// AMX's bfloat16 product `C[m][n] += sum_k A[m][2k] B[k][2n] + A[m][2k + 1] B[k][2n + 1]`
// pairs elements along the summed dimension. Here the pair is two images at the same pixel
// and k runs over 16 pixels of a row, so each tile holds (16 pixels x 2 images):
// - multiples of 16 channels: per (16 input, 16 output channels) block pair, A = dy
//   transposed (16 output channels x 16 pixels x 2 images, a 16x16 transpose of 32-bit
//   pairs per block), B = x as it is, each pixel's 16 channels of the two images
//   interleaved; one tile product per kernel tap (9 accumulators: taps 0-5, then 6-8, over
//   each chunk of 16 rows, all its channel blocks prepared in cache).
// - 3 input channels: A = x's 27 (tap, channel) rows (two tiles of 16, rows 27-31 unused)
//   over 16 pixels x 2 images, B = dy interleaved; two tile products per block.
//
// The thin path cuts its work into fixed blocks of (image pair, 16-row chunk) jobs whose
// sums are added in order, so the result does not depend on thread scheduling. Each block
// saves the thread's tile configuration, sets its own and restores the saved one (oneDNN
// uses AMX on the same threads). `Conv3x3WeightGradientAvailable` says whether this CPU and kernel let a
// process use AMX (CPUID and the Linux permission request); without it the caller uses
// TensorFlow's Conv2DBackpropFilter.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../amx_tiles.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

using namespace tensorflow;
using kerasnotes_amx::AmxUsable;
using kerasnotes_amx::Scratch;
using kerasnotes_amx::TileScope;
using kerasnotes_amx::UniformTiles;

namespace {

constexpr int kChunk = 16;     // output rows per job
constexpr int64_t kBlocks = 16;  // fixed work blocks (deterministic sums)
constexpr int kMaxWidth = 4096;

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
  int64_t n, h, w, ci, co;
  int64_t pairs() const { return (n + 1) / 2; }
  int64_t chunks() const { return (h + kChunk - 1) / kChunk; }
};

// The thin path: 3 -> 16 channels, or multiples of 16 input and output channels with a
// width of at least 32 (at 16 only with 16 output channels: for more, the general path
// measured faster there), the width a multiple of 16.
inline bool UsesThinPath(const Shape& s) {
  if (s.w % 16 != 0) return false;
  if (s.ci == 3) return s.co == 16;
  return s.ci > 0 && s.ci % 16 == 0 && s.co > 0 && s.co % 16 == 0 && (s.w >= 32 || s.co == 16);
}

// Where element i of the thin path's sums goes in dw (3, 3, C_in, C_out): the sums are
// [kh * 9 + ci * 3 + kw][co] for 3 input channels, [ci block][co block][tap][co][ci] for
// multiples of 16.
inline int64_t ThinOutputIndex(const Shape& s, int64_t i) {
  if (s.ci == 3) {
    const int64_t row = i / 16, co = i % 16;
    const int64_t kh = row / 9, ci = (row % 9) / 3, kw = row % 3;
    return ((kh * 3 + kw) * 3 + ci) * 16 + co;
  }
  const int64_t pair = i / (9 * 256), tap = (i / 256) % 9, co = (i / 16) % 16, ci = i % 16;
  const int64_t cb = pair / (s.co / 16), ob = pair % (s.co / 16);
  return (tap * s.ci + cb * 16 + ci) * s.co + ob * 16 + co;
}

// Row h of image `image` (C channels), or the zero row past the last image / outside.
inline const uint16_t* Row(const uint16_t* t, const Shape& s, int64_t c, int64_t image,
                           int64_t h, const uint16_t* zeros) {
  if (image >= s.n || h < 0 || h >= s.h) return zeros;
  return t + ((image * s.h + h) * s.w) * c;
}

// The accumulators of a tap group in tiles 0-5 (group 0: taps 0-5) or 0-2 (group 1: taps
// 6-8), from or to c = acc + first tap * 256 ([tap][16][16] float).
KERASNOTES_AMX inline void LoadTapAccumulators(const float* c, int group) {
  _tile_loadd(0, c, 64);
  _tile_loadd(1, c + 256, 64);
  _tile_loadd(2, c + 512, 64);
  if (group == 0) {
    _tile_loadd(3, c + 768, 64);
    _tile_loadd(4, c + 1024, 64);
    _tile_loadd(5, c + 1280, 64);
  }
}

KERASNOTES_AMX inline void StoreTapAccumulators(float* c, int group) {
  _tile_stored(0, c, 64);
  _tile_stored(1, c + 256, 64);
  _tile_stored(2, c + 512, 64);
  if (group == 0) {
    _tile_stored(3, c + 768, 64);
    _tile_stored(4, c + 1024, 64);
    _tile_stored(5, c + 1280, 64);
  }
}

// Tile 6 = A (from a) against the B tiles of a tap group (tile 7, from xb + offsets[tap]):
// tile k += A x B(tap first + k), taps 0-5 (group 0) or 6-8 (group 1).
KERASNOTES_AMX inline void MultiplyTapGroup(const uint32_t* a, const uint32_t* xb,
                                            const int64_t offsets[9], int group) {
  _tile_loadd(6, a, 64);
  if (group == 0) {
    _tile_loadd(7, xb + offsets[0], 64);
    _tile_dpbf16ps(0, 6, 7);
    _tile_loadd(7, xb + offsets[1], 64);
    _tile_dpbf16ps(1, 6, 7);
    _tile_loadd(7, xb + offsets[2], 64);
    _tile_dpbf16ps(2, 6, 7);
    _tile_loadd(7, xb + offsets[3], 64);
    _tile_dpbf16ps(3, 6, 7);
    _tile_loadd(7, xb + offsets[4], 64);
    _tile_dpbf16ps(4, 6, 7);
    _tile_loadd(7, xb + offsets[5], 64);
    _tile_dpbf16ps(5, 6, 7);
  } else {
    _tile_loadd(7, xb + offsets[6], 64);
    _tile_dpbf16ps(0, 6, 7);
    _tile_loadd(7, xb + offsets[7], 64);
    _tile_dpbf16ps(1, 6, 7);
    _tile_loadd(7, xb + offsets[8], 64);
    _tile_dpbf16ps(2, 6, 7);
  }
}

// Multiples of 16 input and output channels. acc: [ci block][co block][tap][co][ci] float
// (9 x 256 per pair of blocks), accumulated over the jobs.
KERASNOTES_AMX void Jobs16(const uint16_t* x, const uint16_t* dy, const Shape& s,
                           const uint16_t* zeros, int64_t job0, int64_t job1, float* acc) {
  const int64_t W = s.w, blocks = W / 16, xrow = (W + 2) * 16;
  const int64_t ci_blocks = s.ci / 16, co_blocks = s.co / 16;
  const int64_t xblock = (kChunk + 2) * xrow, dblock = kChunk * blocks * 256;
  uint32_t* xi = Scratch(0, ci_blocks * xblock);
  uint32_t* dt = Scratch(1, co_blocks * dblock);
  int64_t offsets[9];  // tap (kh, kw) reads the interleaved row r + kh at pixel w + kw
  for (int tap = 0; tap < 9; ++tap) offsets[tap] = (tap / 3) * xrow + (tap % 3) * 16;
  TileScope scope(UniformTiles(8));
  for (int64_t job = job0; job < job1; ++job) {
    const int64_t p = job / s.chunks(), h0 = (job % s.chunks()) * kChunk;
    const int64_t rows = std::min<int64_t>(kChunk, s.h - h0);
    for (int64_t r = 0; r < rows + 2; ++r) {  // x rows h0 - 1 .. h0 + rows, pairs, padded
      const uint16_t* x0 = Row(x, s, s.ci, 2 * p, h0 + r - 1, zeros);
      const uint16_t* x1 = Row(x, s, s.ci, 2 * p + 1, h0 + r - 1, zeros);
      for (int64_t cb = 0; cb < ci_blocks; ++cb) {
        uint32_t* out = xi + cb * xblock + r * xrow;
        std::memset(out, 0, 64);
        std::memset(out + (W + 1) * 16, 0, 64);
        for (int64_t w = 0; w < W; ++w) {
          _mm512_storeu_si512(out + (w + 1) * 16,
                              Pair16(x0 + w * s.ci + cb * 16, x1 + w * s.ci + cb * 16));
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r) {  // dy blocks, transposed: [co][16 pixels] pairs
      const uint16_t* d0 = Row(dy, s, s.co, 2 * p, h0 + r, zeros);
      const uint16_t* d1 = Row(dy, s, s.co, 2 * p + 1, h0 + r, zeros);
      for (int64_t ob = 0; ob < co_blocks; ++ob) {
        for (int64_t b = 0; b < blocks; ++b) {
          __m512i t[16];
          for (int i = 0; i < 16; ++i) {
            const int64_t at = (b * 16 + i) * s.co + ob * 16;
            t[i] = Pair16(d0 + at, d1 + at);
          }
          Transpose16(t);
          uint32_t* out = dt + ob * dblock + (r * blocks + b) * 256;
          for (int i = 0; i < 16; ++i) _mm512_storeu_si512(out + i * 16, t[i]);
        }
      }
    }
    // Per (ci block, co block): taps 0-5 accumulate in tiles 0-5, then taps 6-8 in tiles
    // 0-2; tile 6 = A, 7 = B.
    for (int64_t cb = 0; cb < ci_blocks; ++cb) {
      for (int64_t ob = 0; ob < co_blocks; ++ob) {
        for (int group = 0; group < 2; ++group) {
          float* c = acc + (cb * co_blocks + ob) * 9 * 256 + group * 6 * 256;
          LoadTapAccumulators(c, group);
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t b = 0; b < blocks; ++b) {
              MultiplyTapGroup(dt + ob * dblock + (r * blocks + b) * 256,
                               xi + cb * xblock + r * xrow + b * 256, offsets, group);
            }
          }
          StoreTapAccumulators(c, group);
        }
      }
    }
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
  TileScope scope(UniformTiles(5));
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

// 16 channels of two images at one pixel, the first `count` of them (the rest zero).
KERASNOTES_AMX inline __m512i Pair16Masked(const uint16_t* a, const uint16_t* b, int count) {
  const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
  const __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, a));
  const __m512i hi = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, b));
  return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// Any number of 16-channel input blocks and output channels, any height and width (the
// other layers of TinySSD: 16 to 128 channels, 1x1 to 64x64 at a 128 input).
//
// Each image pair's zero-padded (H + 2) x (W + 2) grid is read as one sequence of positions
// q = (h + 1) * Wp + (w + 1), Wp = W + 2; the tap (kh, kw) of the output at q reads x at
// q + (kh - 1) * Wp + (kw - 1), so every tap is a contiguous run of the sequence, whatever
// the width. The sum runs over the output positions of rows 1..H, 16 at a time (dy zero in
// the two padding columns and past the end).
//
// Two passes. Prepare (parallel over image pairs) writes
//   X[ci block][pair][16 + position][16 channel pairs]  (zero margins of 16 before and 32
//     after each pair's grid),
//   D[co block][pair][block of 16 positions][16 output channels][16 position pairs]
//     (dy transposed; output channels past C_out zero);
// Multiply (parallel over (ci block, co block, pair split) items, each its own sums; the
// splits summed in order, so the result does not depend on thread scheduling) runs the
// tile products of one (ci block, co block): taps 0-5 in tiles 0-5, then taps 6-8.
struct WideShape {
  int64_t n, h, w, ci, co;
  int64_t pairs() const { return (n + 1) / 2; }
  int64_t wp() const { return w + 2; }
  int64_t grid() const { return (h + 2) * (w + 2) + 48; }       // positions per pair
  int64_t position_blocks() const { return (h * (w + 2) + 15) / 16; }
  int64_t ci_blocks() const { return ci / 16; }
  int64_t co_blocks() const { return (co + 15) / 16; }
};

KERASNOTES_AMX void PrepareWide(const uint16_t* x, const uint16_t* dy, const WideShape& s,
                                int64_t pair, uint32_t* xs, uint32_t* ds) {
  const int64_t W = s.w, Wp = s.wp(), grid = s.grid(), blocks = s.position_blocks();
  for (int64_t cb = 0; cb < s.ci_blocks(); ++cb) {
    uint32_t* out = xs + (cb * s.pairs() + pair) * grid * 16;
    std::memset(out, 0, (16 + Wp) * 64);                        // margin, padding row 0
    for (int64_t h = 0; h < s.h; ++h) {
      uint32_t* row = out + (16 + (h + 1) * Wp) * 16;
      std::memset(row, 0, 64);
      std::memset(row + (W + 1) * 16, 0, 64);
      const int64_t i0 = 2 * pair, i1 = 2 * pair + 1;
      const uint16_t* x0 = x + ((i0 * s.h + h) * W) * s.ci + cb * 16;
      const uint16_t* x1 = i1 < s.n ? x + ((i1 * s.h + h) * W) * s.ci + cb * 16 : nullptr;
      for (int64_t w = 0; w < W; ++w) {
        const __m512i v = x1 != nullptr ? Pair16(x0 + w * s.ci, x1 + w * s.ci)
                                        : _mm512_cvtepu16_epi32(_mm256_loadu_si256(
                                              reinterpret_cast<const __m256i*>(x0 + w * s.ci)));
        _mm512_storeu_si512(row + (w + 1) * 16, v);
      }
    }
    std::memset(out + (16 + (s.h + 1) * Wp) * 16, 0, (Wp + 32) * 64);  // last row, margin
  }
  for (int64_t cb = 0; cb < s.co_blocks(); ++cb) {
    const int count = static_cast<int>(std::min<int64_t>(16, s.co - cb * 16));
    uint32_t* out = ds + (cb * s.pairs() + pair) * blocks * 256;
    const int64_t i0 = 2 * pair, i1 = 2 * pair + 1;
    for (int64_t b = 0; b < blocks; ++b) {
      __m512i t[16];
      for (int i = 0; i < 16; ++i) {
        const int64_t j = b * 16 + i, h = j / Wp, w = j % Wp - 1;
        if (h >= s.h || w < 0 || w >= W) {
          t[i] = _mm512_setzero_si512();
          continue;
        }
        const uint16_t* d0 = dy + ((i0 * s.h + h) * W + w) * s.co + cb * 16;
        const uint16_t* d1 = i1 < s.n ? dy + ((i1 * s.h + h) * W + w) * s.co + cb * 16 : nullptr;
        if (d1 == nullptr) {
          const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
          t[i] = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, d0));
        } else if (count == 16) {
          t[i] = Pair16(d0, d1);
        } else {
          t[i] = Pair16Masked(d0, d1, count);
        }
      }
      Transpose16(t);
      for (int i = 0; i < 16; ++i) _mm512_storeu_si512(out + b * 256 + i * 16, t[i]);
    }
  }
}

// The 9 x 16 x 16 sums ([tap][co][ci]) of one (ci block, co block) over pairs [p0, p1).
KERASNOTES_AMX void MultiplyWide(const uint32_t* xs, const uint32_t* ds, const WideShape& s,
                                 int64_t ci_block, int64_t co_block, int64_t p0, int64_t p1,
                                 float* acc) {
  const int64_t Wp = s.wp(), grid = s.grid(), blocks = s.position_blocks();
  int64_t offsets[9];  // tap (kh, kw) reads x at q + (kh - 1) * Wp + (kw - 1)
  for (int tap = 0; tap < 9; ++tap) offsets[tap] = ((tap / 3 - 1) * Wp + (tap % 3 - 1)) * 16;
  TileScope scope(UniformTiles(8));
  for (int64_t p = p0; p < p1; ++p) {
    const uint32_t* xp = xs + (ci_block * s.pairs() + p) * grid * 16 + (16 + Wp) * 16;
    const uint32_t* dp = ds + (co_block * s.pairs() + p) * blocks * 256;
    for (int group = 0; group < 2; ++group) {
      float* c = acc + group * 6 * 256;
      LoadTapAccumulators(c, group);
      for (int64_t b = 0; b < blocks; ++b) {
        MultiplyTapGroup(dp + b * 256, xp + b * 256, offsets, group);
      }
      StoreTapAccumulators(c, group);
    }
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
    const Shape s{x.dim_size(0), x.dim_size(1), x.dim_size(2), x.dim_size(3), dy.dim_size(3)};
    const int64_t co = s.co;
    OP_REQUIRES(context, dy.dim_size(0) == s.n && dy.dim_size(1) == s.h && dy.dim_size(2) == s.w,
                errors::InvalidArgument("Conv3x3WeightGradient: dy ", dy.shape().DebugString(),
                                        " does not match x ", x.shape().DebugString()));
    const bool thin = UsesThinPath(s);
    const bool wide = s.ci > 0 && s.ci % 16 == 0 && co > 0;
    OP_REQUIRES(context, thin || wide,
                errors::InvalidArgument("Conv3x3WeightGradient: needs a multiple of 16 input "
                                        "channels, or 3 input and 16 output channels with a "
                                        "width that is a multiple of 16; received ", s.ci,
                                        " and ", co, " channels, width ", s.w));
    OP_REQUIRES(context, s.w <= kMaxWidth,
                errors::InvalidArgument("Conv3x3WeightGradient: the width must be at most ",
                                        kMaxWidth, "; received ", s.w));
    OP_REQUIRES(context, AmxUsable(),
                errors::Unavailable("Conv3x3WeightGradient: this CPU or OS offers no AMX"));
    Tensor* dw = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, TensorShape({3, 3, s.ci, co}), &dw));
    float* out = dw->flat<float>().data();
    if (s.n == 0 || s.h == 0 || s.w == 0) {  // an empty sum (both paths write every element)
      std::fill(out, out + dw->NumElements(), 0.0f);
      return;
    }
    const auto* x_data = reinterpret_cast<const uint16_t*>(x.flat<bfloat16>().data());
    const auto* dy_data = reinterpret_cast<const uint16_t*>(dy.flat<bfloat16>().data());
    if (thin) {
      ComputeThin(context, x_data, dy_data, s, out);
    } else {
      ComputeWide(context, x_data, dy_data, WideShape{s.n, s.h, s.w, s.ci, co}, out);
    }
  }

 private:
  // 3 or 16 -> 16 channels, the width a multiple of 16: Jobs3 and Jobs16.
  static void ComputeThin(OpKernelContext* context, const uint16_t* x, const uint16_t* dy,
                          const Shape& s, float* out) {
    const int64_t jobs = s.pairs() * s.chunks();
    const int64_t acc_size = s.ci == 3 ? 512 : 9 * s.ci * s.co;
    const int64_t blocks = std::min(jobs, kBlocks);
    std::vector<float> partial(blocks * acc_size, 0.0f);
    std::vector<uint16_t> zeros(s.w * std::max<int64_t>({16, s.ci, s.co}), 0);  // a zero row
    const int64_t per_block = (jobs + blocks - 1) / blocks;
    auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
    const int64_t cost = 1000000000;  // one task per block: even shares on any threads
    workers->ParallelFor(blocks, cost, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t j0 = b * per_block, j1 = std::min(jobs, j0 + per_block);
        if (j0 >= j1) continue;
        float* acc = partial.data() + b * acc_size;
        if (s.ci != 3) {
          Jobs16(x, dy, s, zeros.data(), j0, j1, acc);
        } else {
          Jobs3(x, dy, s, zeros.data(), j0, j1, acc);
        }
      }
    });
    // Each sum over the blocks in block order (in double), in parallel over the elements
    // (for 3 input channels the first 27 of its 32 rows).
    const int64_t sums = s.ci == 3 ? 27 * 16 : acc_size;
    workers->ParallelFor(sums, blocks * 8, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        double total = 0.0;
        for (int64_t b = 0; b < blocks; ++b) total += partial[b * acc_size + i];
        out[ThinOutputIndex(s, i)] = static_cast<float>(total);
      }
    });
  }

  // Multiples of 16 input channels, any output channels and size: PrepareWide, then
  // MultiplyWide over (ci block, co block, pair split) items; at least kBlocks / 2 items,
  // the pairs split in a way fixed by the shape alone.
  static void ComputeWide(OpKernelContext* context, const uint16_t* x, const uint16_t* dy,
                          const WideShape& s, float* out) {
    const int64_t pairs = s.pairs(), outputs = s.ci_blocks() * s.co_blocks();
    Tensor xs_t, ds_t, acc_t;
    OP_REQUIRES_OK(context, context->allocate_temp(
                                DT_INT32, TensorShape({s.ci_blocks() * pairs * s.grid() * 16}),
                                &xs_t));
    OP_REQUIRES_OK(context, context->allocate_temp(
                                DT_INT32,
                                TensorShape({s.co_blocks() * pairs * s.position_blocks() * 256}),
                                &ds_t));
    const int64_t splits =
        std::min(pairs, std::max<int64_t>(1, (kBlocks / 2 + outputs - 1) / outputs));
    const int64_t per_split = (pairs + splits - 1) / splits;
    const int64_t items = outputs * splits;
    OP_REQUIRES_OK(context, context->allocate_temp(DT_FLOAT, TensorShape({items * 9 * 256}),
                                                   &acc_t));
    auto* xs = reinterpret_cast<uint32_t*>(xs_t.flat<int32>().data());
    auto* ds = reinterpret_cast<uint32_t*>(ds_t.flat<int32>().data());
    float* acc = acc_t.flat<float>().data();
    std::fill(acc, acc + items * 9 * 256, 0.0f);
    auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
    const int64_t cost = 1000000000;  // one task per unit: even shares on any threads
    workers->ParallelFor(pairs, cost, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) PrepareWide(x, dy, s, p, xs, ds);
    });
    workers->ParallelFor(items, cost, [&](int64_t i0, int64_t i1) {
      for (int64_t item = i0; item < i1; ++item) {
        const int64_t o = item / splits, split = item % splits;
        const int64_t p0 = split * per_split, p1 = std::min(pairs, p0 + per_split);
        if (p0 >= p1) continue;
        MultiplyWide(xs, ds, s, o / s.co_blocks(), o % s.co_blocks(), p0, p1,
                     acc + item * 9 * 256);
      }
    });
    std::vector<double> total(9 * 256);
    for (int64_t o = 0; o < outputs; ++o) {
      std::fill(total.begin(), total.end(), 0.0);
      for (int64_t split = 0; split < splits; ++split) {
        const float* part = acc + (o * splits + split) * 9 * 256;
        for (int64_t i = 0; i < 9 * 256; ++i) total[i] += part[i];
      }
      const int64_t ci0 = (o / s.co_blocks()) * 16, co0 = (o % s.co_blocks()) * 16;
      for (int64_t tap = 0; tap < 9; ++tap) {
        for (int64_t j = 0; j < 16 && co0 + j < s.co; ++j) {
          for (int64_t i = 0; i < 16; ++i) {
            out[(tap * s.ci + ci0 + i) * s.co + co0 + j] =
                static_cast<float>(total[(tap * 16 + j) * 16 + i]);
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
