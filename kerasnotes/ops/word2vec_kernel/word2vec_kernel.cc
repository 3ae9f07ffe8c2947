// word2vec training kernels: Hogwild SGD over sentences (Word2VecTrainSentences) and a
// deterministic single-thread step over given examples (Word2VecTrainExamples).
//
// One "example" is one SGD step of the notes' loss: a hidden vector h, the mean of the
// example's input rows of `input_vectors` (skip-gram: the center's v_c; CBOW: the context
// words' v_o), scored against target rows u_t of `output_vectors` (negative sampling: the
// positive word and its K noise words; hierarchical softmax: the inner nodes of the
// positive word's Huffman path) with labels l_t:
//
//   loss = sum_t softplus(z_t),  z_t = -s_t if l_t = 1 else s_t,  s_t = u_t^T h
//   dloss/ds_t = sigmoid(s_t) - l_t = g_t
//   u_t <- u_t - step * g_t * h,      v_i <- v_i - step * (sum_t g_t u_t) / n_inputs
//
// every gradient evaluated at the parameters before the example's update (the exact
// gradient of the example's loss), so a step equals the TF path's step on that example.
//
// Word2VecTrainSentences batches skip-gram by window (`batching="window"`, the default, as
// word2vec.c orients skip-gram and as HogBatch / Intel's pWord2Vec batch it): for a center
// word, each context word of its window is one example's input, and all of them share the
// center's targets (the center and ONE draw of K noise words, or the center's Huffman path).
// The window is one SGD step, its gradient a few small dense products (scores = H U^T,
// grad H = G U, grad U = G^T H) over rows that stay in L1, vectorized with AVX-512 where the
// build has it. `batching="word"` keeps one step per (center, context) pair, the center the
// input and the context word the target, with its own noise words. CBOW is one step per
// window in both modes; with window batching each context row moves by the whole gradient
// of the window's mean vector (word2vec.c's and gensim's CBOW update), with "word" by its
// 1 / (number of context words) share (the exact gradient, as the TF path). The rows of
// the next window are prefetched while one trains (the sentence's draws are made first, in
// the same order as before). The loss and sigmoid use a branch-free exp/log1p (relative
// error ~2e-7), not word2vec.c's lookup table.
//
// Threads share nothing they write at every step but the tables: each keeps its sums on its
// own stack, and with hierarchical softmax its own copy of the tree's top nodes, merged
// into the table every `hot_merge_steps` steps (HotRows; the op's `hot_rows`).
//
// The variables are TF resource variables updated in place under their mutexes; a buffer
// still shared with a reader is copied first (copy-on-write), as TF's own ops do.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_mgr.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace kerasnotes {
namespace {

using tensorflow::DEVICE_CPU;
using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Status;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using tensorflow::Var;
using tensorflow::errors::InvalidArgument;
using tensorflow::shape_inference::InferenceContext;

// ---------------------------------------------------------------------------- random
// splitmix64: one 64-bit state per sentence, seeded from (seed, epoch, sentence), so the
// draws of a sentence do not depend on which thread trains it.
struct Random {
  uint64_t state;
  Random(int64_t seed, int64_t epoch, int64_t sentence) {
    state = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL;
    state ^= (static_cast<uint64_t>(epoch) + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
    state ^= (static_cast<uint64_t>(sentence) + 0x85EBCA77C2B2AE63ULL) * 0x94D049BB133111EBULL;
    Next();
  }
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  float Uniform() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }
  int64_t Below(int64_t n) {  // uniform in [0, n)
    return static_cast<int64_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
};

// ---------------------------------------------------------------------------- one step
struct Tables {
  float* input;   // (rows_in, dim)
  float* output;  // (rows_out, dim)
  int64_t dim;
  // A thread's own copy of the output rows hot_first.. (see HotRows), or nullptr.
  float* hot = nullptr;
  int64_t hot_first = 0;
  float* OutputRow(int64_t id) const {
    return hot != nullptr && id >= hot_first ? hot + (id - hot_first) * dim : output + id * dim;
  }
};

// Scratch space of one thread.
struct Scratch {
  std::vector<float> hidden, grad_hidden, scores;
  std::vector<const float*> hidden_rows, target_rows;
  std::vector<float*> grad_rows;
  std::vector<float> transposed, labels;
  explicit Scratch(int64_t dim) : hidden(dim) {}
};

// exp(x) for x <= 0 (flushed to 0 below -87): 2^n times a degree-6 polynomial, branch-free
// so that loops over it vectorize; relative error ~2e-7.
inline float ExpNonPositive(float x) {
  x = std::max(x, -87.0f);
  const float n = std::floor(x * 1.44269504f + 0.5f);
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}

// log(1 + e) for e in [0, 1]: 2 atanh(t), t = e / (2 + e) <= 1/3 (no rounding of 1 + e).
inline float Log1pUnit(float e) {
  const float t = e / (2.0f + e);
  const float t2 = t * t;
  float p = 1.0f / 15.0f;
  p = p * t2 + 1.0f / 13.0f;
  p = p * t2 + 1.0f / 11.0f;
  p = p * t2 + 1.0f / 9.0f;
  p = p * t2 + 1.0f / 7.0f;
  p = p * t2 + 1.0f / 5.0f;
  p = p * t2 + 1.0f / 3.0f;
  p = p * t2 + 1.0f;
  return 2.0f * t * p;
}

// Scores s -> gradients g = sigmoid(s) - l, in place, over n entries (labels one per
// entry); returns sum softplus(z).
inline double ScoresToGradients(float* s, const float* labels, int64_t n) {
  float loss = 0.0f;
#pragma omp simd reduction(+ : loss)
  for (int64_t i = 0; i < n; ++i) {
    const float x = s[i];
    const float e = ExpNonPositive(-std::fabs(x));
    const float sigmoid = (x >= 0.0f ? 1.0f : e) / (1.0f + e);
    const float z = labels[i] > 0.5f ? -x : x;
    loss += std::max(z, 0.0f) + Log1pUnit(e);
    s[i] = sigmoid - labels[i];
  }
  return loss;
}

#if defined(__AVX512F__)
inline __mmask16 TailMask(int64_t k, int64_t d) {
  const int64_t left = d - k;
  return left >= 16 ? static_cast<__mmask16>(0xFFFF)
                    : static_cast<__mmask16>((1u << left) - 1u);
}

// ScoresToGradients, 16 entries at a time (the same formulas as the scalar version, which
// the compiler vectorizes only 8 wide and finishes entry by entry).
inline double ScoresToGradients512(float* s, const float* labels, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
  __m512 loss = zero;
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(i, n);
    const __m512 x = _mm512_maskz_loadu_ps(m, s + i);
    const __m512 l = _mm512_maskz_loadu_ps(m, labels + i);
    // e = exp(-|x|)
    const __m512 a = _mm512_max_ps(_mm512_sub_ps(zero, _mm512_abs_ps(x)), _mm512_set1_ps(-87.0f));
    const __m512 k = _mm512_roundscale_ps(
        _mm512_fmadd_ps(a, _mm512_set1_ps(1.44269504f), _mm512_set1_ps(0.5f)),
        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187e-06f),
                                      _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), a));
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, one);
    p = _mm512_fmadd_ps(p, r, one);
    const __m512i bits = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvttps_epi32(k), _mm512_set1_epi32(127)), 23);
    const __m512 e = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
    // sigmoid(x) = (x >= 0 ? 1 : e) / (1 + e)
    const __mmask16 positive = _mm512_cmp_ps_mask(x, zero, _CMP_GE_OQ);
    const __m512 sigmoid = _mm512_div_ps(_mm512_mask_blend_ps(positive, e, one),
                                         _mm512_add_ps(one, e));
    // softplus(z) = max(z, 0) + log(1 + e), z = -x for a positive label
    const __mmask16 label_one = _mm512_cmp_ps_mask(l, _mm512_set1_ps(0.5f), _CMP_GT_OQ);
    const __m512 z = _mm512_mask_sub_ps(x, label_one, zero, x);
    const __m512 t = _mm512_div_ps(e, _mm512_add_ps(_mm512_set1_ps(2.0f), e));
    const __m512 t2 = _mm512_mul_ps(t, t);
    __m512 q = _mm512_set1_ps(1.0f / 15.0f);
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(1.0f / 13.0f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(1.0f / 11.0f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(1.0f / 9.0f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(1.0f / 7.0f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(1.0f / 5.0f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(1.0f / 3.0f));
    q = _mm512_fmadd_ps(q, t2, one);
    const __m512 log1p = _mm512_mul_ps(_mm512_add_ps(t, t), q);
    loss = _mm512_mask_add_ps(loss, m, loss, _mm512_add_ps(_mm512_max_ps(z, zero), log1p));
    _mm512_mask_storeu_ps(s + i, m, _mm512_sub_ps(sigmoid, l));
  }
  return _mm512_reduce_add_ps(loss);
}

// The vectors are NC chunks of 16 floats (NC = 0: ceil(d / 16), known at run time only),
// the last chunk masked. With NC known at compile time the loops over chunks unroll and the
// accumulators of a whole row stay in registers.
template <int NC>
inline int64_t Chunks(int64_t d) {
  return NC > 0 ? NC : (d + 15) / 16;
}

// s[t] = h . u_t for NT targets at once (one pass over h).
template <int NC, int NT>
inline void DotBlock(const float* h, const float* const* u, float* s, int64_t d) {
  const int64_t nc = Chunks<NC>(d);
  const __mmask16 tail = TailMask((nc - 1) * 16, d);
  __m512 acc[NT];
  for (int i = 0; i < NT; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t c = 0; c < nc; ++c) {
    const __mmask16 m = c == nc - 1 ? tail : static_cast<__mmask16>(0xFFFF);
    const __m512 x = _mm512_maskz_loadu_ps(m, h + c * 16);
    for (int i = 0; i < NT; ++i) {
      acc[i] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, u[i] + c * 16), acc[i]);
    }
  }
  if constexpr (NT == 4) {  // the four sums at once: fold 512 -> 256, then a hadd tree
    __m256 r[4];
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm256_add_ps(_mm512_castps512_ps256(acc[i]),
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i]), 1)));
    }
    const __m256 all = _mm256_hadd_ps(_mm256_hadd_ps(r[0], r[1]), _mm256_hadd_ps(r[2], r[3]));
    _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(all), _mm256_extractf128_ps(all, 1)));
  } else {
    for (int i = 0; i < NT; ++i) s[i] = _mm512_reduce_add_ps(acc[i]);
  }
}

// scores (nh x T) = H U^T
template <int NC>
inline void ScoresN(const float* const* h, int64_t nh, const float* const* u, int64_t T,
                    float* s, int64_t d) {
  for (int64_t j = 0; j < nh; ++j) {
    int64_t t = 0;
    for (; t + 4 <= T; t += 4) DotBlock<NC, 4>(h[j], u + t, s + j * T + t, d);
    switch (T - t) {
      case 3: DotBlock<NC, 3>(h[j], u + t, s + j * T + t, d); break;
      case 2: DotBlock<NC, 2>(h[j], u + t, s + j * T + t, d); break;
      case 1: DotBlock<NC, 1>(h[j], u + t, s + j * T + t, d); break;
      default: break;
    }
  }
}

// out_j (+)= sum_t g[j][t] u_t for j < nh (out_j: row pointers; rows may repeat).
template <int NC>
inline void CombineN(const float* g, int64_t nh, const float* const* u, int64_t T,
                     float* const* out, bool accumulate, int64_t d) {
  const int64_t nc = Chunks<NC>(d);
  const __mmask16 tail = TailMask((nc - 1) * 16, d);
  if constexpr (NC > 0) {  // a row's NC accumulators in registers
    for (int64_t j = 0; j < nh; ++j) {
      __m512 acc[NC];
      for (int c = 0; c < NC; ++c) {
        const __mmask16 m = c == NC - 1 ? tail : static_cast<__mmask16>(0xFFFF);
        acc[c] = accumulate ? _mm512_maskz_loadu_ps(m, out[j] + c * 16) : _mm512_setzero_ps();
      }
      for (int64_t t = 0; t < T; ++t) {
        const __m512 b = _mm512_set1_ps(g[j * T + t]);
        for (int c = 0; c < NC; ++c) {
          const __mmask16 m = c == NC - 1 ? tail : static_cast<__mmask16>(0xFFFF);
          acc[c] = _mm512_fmadd_ps(b, _mm512_maskz_loadu_ps(m, u[t] + c * 16), acc[c]);
        }
      }
      for (int c = 0; c < NC; ++c) {
        const __mmask16 m = c == NC - 1 ? tail : static_cast<__mmask16>(0xFFFF);
        _mm512_mask_storeu_ps(out[j] + c * 16, m, acc[c]);
      }
    }
  } else {
    for (int64_t c = 0; c < nc; ++c) {
      const __mmask16 m = c == nc - 1 ? tail : static_cast<__mmask16>(0xFFFF);
      for (int64_t j = 0; j < nh; ++j) {
        __m512 acc = accumulate ? _mm512_maskz_loadu_ps(m, out[j] + c * 16)
                                : _mm512_setzero_ps();
        for (int64_t t = 0; t < T; ++t) {
          acc = _mm512_fmadd_ps(_mm512_set1_ps(g[j * T + t]),
                                _mm512_maskz_loadu_ps(m, u[t] + c * 16), acc);
        }
        _mm512_mask_storeu_ps(out[j] + c * 16, m, acc);
      }
    }
  }
}

// Dispatch on the number of 16-float chunks (word2vec's usual widths: 50, 100, 128).
inline void Scores(const float* const* h, int64_t nh, const float* const* u, int64_t T,
                   float* s, int64_t d) {
  switch ((d + 15) / 16) {
    case 4: return ScoresN<4>(h, nh, u, T, s, d);
    case 7: return ScoresN<7>(h, nh, u, T, s, d);
    case 8: return ScoresN<8>(h, nh, u, T, s, d);
    default: return ScoresN<0>(h, nh, u, T, s, d);
  }
}

inline void Combine(const float* g, int64_t nh, const float* const* u, int64_t T,
                    float* const* out, bool accumulate, int64_t d) {
  switch ((d + 15) / 16) {
    case 4: return CombineN<4>(g, nh, u, T, out, accumulate, d);
    case 7: return CombineN<7>(g, nh, u, T, out, accumulate, d);
    case 8: return CombineN<8>(g, nh, u, T, out, accumulate, d);
    default: return CombineN<0>(g, nh, u, T, out, accumulate, d);
  }
}
#else
inline void Scores(const float* const* h, int64_t nh, const float* const* u, int64_t T,
                   float* s, int64_t d) {
  for (int64_t j = 0; j < nh; ++j) {
    for (int64_t t = 0; t < T; ++t) {
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t k = 0; k < d; ++k) sum += h[j][k] * u[t][k];
      s[j * T + t] = sum;
    }
  }
}

inline void Combine(const float* g, int64_t nh, const float* const* u, int64_t T,
                    float* const* out, bool accumulate, int64_t d) {
  for (int64_t j = 0; j < nh; ++j) {
    float* o = out[j];
    if (!accumulate) std::memset(o, 0, d * sizeof(float));
    for (int64_t t = 0; t < T; ++t) {
      const float a = g[j * T + t];
      const float* x = u[t];
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) o[k] += a * x[k];
    }
  }
}
#endif

// One SGD step on a block of examples that share their targets (one hidden row each: with
// `mean`, one example whose hidden row is the mean of the inputs (CBOW, or any example of
// the examples op); without, one example per input row (skip-gram's window: the context
// words against the center's targets). Every gradient is taken at the parameters before the
// step, so the step is the exact gradient step of the block's summed loss; except with
// `full_input_steps` (CBOW's window batching), where every input row moves by the whole
// gradient of the mean, as word2vec.c and gensim (cbow_mean=1) update them, instead of its
// 1 / n_inputs share. Returns the block's loss (before the step).
double TrainBlock(const Tables& tables, const int32_t* inputs, int64_t num_inputs, bool mean,
                  const int32_t* targets, const float* labels, int64_t num_targets,
                  float step, Scratch* scratch, bool full_input_steps = false) {
  const int64_t d = tables.dim;
  const int64_t nh = mean ? 1 : num_inputs;
  auto& h = scratch->hidden_rows;
  auto& u = scratch->target_rows;
  h.resize(nh);
  u.resize(num_targets);
  for (int64_t t = 0; t < num_targets; ++t) u[t] = tables.OutputRow(targets[t]);
  if (mean && num_inputs > 1) {
    float* m = scratch->hidden.data();
    std::memcpy(m, tables.input + static_cast<int64_t>(inputs[0]) * d, d * sizeof(float));
    for (int64_t i = 1; i < num_inputs; ++i) {
      const float* x = tables.input + static_cast<int64_t>(inputs[i]) * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) m[k] += x[k];
    }
    const float inverse = 1.0f / static_cast<float>(num_inputs);
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) m[k] *= inverse;
    h[0] = m;
  } else {
    for (int64_t j = 0; j < nh; ++j) h[j] = tables.input + static_cast<int64_t>(inputs[j]) * d;
  }
  if (static_cast<int64_t>(scratch->scores.size()) < nh * num_targets) {
    scratch->scores.resize(nh * num_targets);
  }
  if (static_cast<int64_t>(scratch->grad_hidden.size()) < nh * d) {
    scratch->grad_hidden.resize(nh * d);
  }
  float* g = scratch->scores.data();
  Scores(h.data(), nh, u.data(), num_targets, g, d);
  auto& all_labels = scratch->labels;
  all_labels.resize(nh * num_targets);
  for (int64_t j = 0; j < nh; ++j) {
    std::memcpy(all_labels.data() + j * num_targets, labels, num_targets * sizeof(float));
  }
#if defined(__AVX512F__)
  const double loss = ScoresToGradients512(g, all_labels.data(), nh * num_targets);
#else
  const double loss = ScoresToGradients(g, all_labels.data(), nh * num_targets);
#endif
  // grad_h_j = sum_t g[j][t] u_t, at the targets' values before the step.
  std::vector<float*>& grad_rows = scratch->grad_rows;
  grad_rows.resize(std::max(nh, num_targets));
  for (int64_t j = 0; j < nh; ++j) grad_rows[j] = scratch->grad_hidden.data() + j * d;
  Combine(g, nh, u.data(), num_targets, grad_rows.data(), false, d);
  // u_t -= step * sum_j g[j][t] h_j (the inputs are not updated yet).
  auto& gt = scratch->transposed;
  gt.resize(num_targets * nh);
  for (int64_t j = 0; j < nh; ++j) {
    for (int64_t t = 0; t < num_targets; ++t) gt[t * nh + j] = -step * g[j * num_targets + t];
  }
  for (int64_t t = 0; t < num_targets; ++t) grad_rows[t] = tables.OutputRow(targets[t]);
  Combine(gt.data(), num_targets, h.data(), nh, grad_rows.data(), true, d);
  // v_i -= step * grad_h (mean: grad_h / n_inputs on every input).
  const float input_step =
      mean && !full_input_steps ? -step / static_cast<float>(num_inputs) : -step;
  for (int64_t i = 0; i < num_inputs; ++i) {
    const float* gh = scratch->grad_hidden.data() + (mean ? 0 : i * d);
    float* v = tables.input + static_cast<int64_t>(inputs[i]) * d;
    Combine(&input_step, 1, &gh, 1, &v, true, d);
  }
  return loss;
}

// ---------------------------------------------------------------------------- variables
// Locks both variables, checks them and makes their buffers safe to write in place.
class LockedTables {
 public:
  LockedTables(OpKernelContext* ctx, Status* status) {
    *status = tensorflow::LookupResource(ctx, tensorflow::HandleFromInput(ctx, 0), &input_);
    if (!status->ok()) return;
    *status = tensorflow::LookupResource(ctx, tensorflow::HandleFromInput(ctx, 1), &output_);
    if (!status->ok()) return;
    if (input_.get() == output_.get()) {
      *status = InvalidArgument("input_vectors and output_vectors must be two variables");
      return;
    }
    Var* first = input_.get() < output_.get() ? input_.get() : output_.get();
    Var* second = first == input_.get() ? output_.get() : input_.get();
    first->mu()->lock();
    second->mu()->lock();
    locked_ = true;
    for (Var* var : {input_.get(), output_.get()}) {
      Tensor* t = var->tensor();
      if (!t->IsInitialized() || t->dtype() != tensorflow::DT_FLOAT || t->dims() != 2) {
        *status = InvalidArgument("word2vec tables must be initialized float32 matrices");
        return;
      }
      if (!t->RefCountIsOne()) {  // a reader still holds this buffer: copy on write
        Tensor copy;
        *status = ctx->allocate_temp(tensorflow::DT_FLOAT, t->shape(), &copy);
        if (!status->ok()) return;
        std::memcpy(copy.flat<float>().data(), t->flat<float>().data(),
                    t->NumElements() * sizeof(float));
        *t = copy;
      }
    }
    Tensor* in = input_->tensor();
    Tensor* out = output_->tensor();
    if (in->dim_size(1) != out->dim_size(1)) {
      *status = InvalidArgument("input_vectors and output_vectors need the same width");
      return;
    }
    tables_.input = in->flat<float>().data();
    tables_.output = out->flat<float>().data();
    tables_.dim = in->dim_size(1);
    input_rows_ = in->dim_size(0);
    output_rows_ = out->dim_size(0);
  }
  ~LockedTables() {
    if (locked_) {
      input_->mu()->unlock();
      output_->mu()->unlock();
    }
  }
  const Tables& tables() const { return tables_; }
  int64_t input_rows() const { return input_rows_; }
  int64_t output_rows() const { return output_rows_; }

 private:
  tensorflow::core::RefCountPtr<Var> input_, output_;
  bool locked_ = false;
  Tables tables_{nullptr, nullptr, 0};
  int64_t input_rows_ = 0, output_rows_ = 0;
};

bool AllBelow(const int32_t* ids, int64_t n, int64_t limit) {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= limit) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------- examples op
class TrainExamplesOp : public OpKernel {
 public:
  explicit TrainExamplesOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& input_ids = ctx->input(2);
    const Tensor& input_splits = ctx->input(3);
    const Tensor& target_ids = ctx->input(4);
    const Tensor& target_labels = ctx->input(5);
    const Tensor& target_splits = ctx->input(6);
    const Tensor& step_sizes = ctx->input(7);
    const int64_t examples = step_sizes.NumElements();
    OP_REQUIRES(ctx, input_splits.NumElements() == examples + 1 &&
                         target_splits.NumElements() == examples + 1 &&
                         target_labels.NumElements() == target_ids.NumElements(),
                InvalidArgument("splits must have one more entry than step_sizes, labels "
                                "one per target"));
    const auto in_splits = input_splits.flat<int64_t>();
    const auto t_splits = target_splits.flat<int64_t>();
    for (int64_t e = 0; e < examples; ++e) {
      OP_REQUIRES(ctx, in_splits(e) < in_splits(e + 1) && t_splits(e) <= t_splits(e + 1),
                  InvalidArgument("every example needs >= 1 input; splits must increase"));
    }
    OP_REQUIRES(ctx, in_splits(0) == 0 && in_splits(examples) == input_ids.NumElements() &&
                         t_splits(0) == 0 && t_splits(examples) == target_ids.NumElements(),
                InvalidArgument("splits must start at 0 and end at the number of ids"));
    Status status;
    LockedTables locked(ctx, &status);
    OP_REQUIRES_OK(ctx, status);
    const int32_t* inputs = input_ids.flat<int32_t>().data();
    const int32_t* targets = target_ids.flat<int32_t>().data();
    OP_REQUIRES(ctx, AllBelow(inputs, input_ids.NumElements(), locked.input_rows()) &&
                         AllBelow(targets, target_ids.NumElements(), locked.output_rows()),
                InvalidArgument("an id is outside its table"));
    Tensor* losses = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({examples}), &losses));
    Scratch scratch(locked.tables().dim);
    const float* labels = target_labels.flat<float>().data();
    const float* steps = step_sizes.flat<float>().data();
    for (int64_t e = 0; e < examples; ++e) {
      losses->flat<float>()(e) = static_cast<float>(TrainBlock(
          locked.tables(), inputs + in_splits(e), in_splits(e + 1) - in_splits(e), true,
          targets + t_splits(e), labels + t_splits(e), t_splits(e + 1) - t_splits(e),
          steps[e], &scratch));
    }
  }
};

// ---------------------------------------------------------------------------- sentences op
struct Settings {
  bool cbow, hierarchical, window_batching;
  int64_t window, negatives;
  const int32_t* tokens;
  const int64_t* sentence_splits;
  const float* keep;
  const float* accept;
  const int32_t* alias;
  int64_t vocabulary;
  const int32_t* paths;
  const int32_t* codes;
  const int32_t* lengths;
  int64_t depth;
  float lr_start, lr_end;
  int64_t words_before, total_words, first_token;
  int64_t seed, epoch;
  int64_t hot_rows = 0;        // output rows each thread keeps a copy of (HotRows)
  int64_t sync_windows = 128;  // steps between two merges of a thread's copy
};

// A thread's private copy of the last `count` rows of output_vectors. With hierarchical
// softmax these are the Huffman tree's busiest inner nodes (a node is created after both
// its children, so the largest ids are the nodes of the largest counts; the root is on
// every path, the top 64 nodes take half of all node visits on PTB). When two threads
// write them at every window, their cache lines bounce between the cores at every window
// (the 2-thread run was no faster than 1 thread); instead each thread trains its own copy
// (its own updates seen at once, as before) and every `sync_windows` steps adds what it
// changed to the shared rows and reads back the other threads' changes: Hogwild, with the
// other threads' updates of these rows seen up to 128 steps late. On one thread it
// equals training the shared rows in place (up to rounding).
class HotRows {
 public:
  HotRows(float* shared, int64_t first, int64_t count, int64_t dim)
      : shared_(shared + first * dim), size_(count * dim), local_(shared_, shared_ + size_),
        base_(local_) {}
  float* local() { return local_.data(); }
  // shared += local - base; then local = base = shared.
  void Merge() {
    float* shared = shared_;
    float* local = local_.data();
    float* base = base_.data();
#pragma omp simd
    for (int64_t k = 0; k < size_; ++k) {
      const float merged = shared[k] + (local[k] - base[k]);
      shared[k] = merged;
      local[k] = merged;
      base[k] = merged;
    }
  }

 private:
  float* shared_;
  int64_t size_;
  std::vector<float> local_, base_;
};

struct Recorder {  // the examples trained, in order (one thread only)
  std::vector<int32_t> inputs, targets;
  std::vector<int64_t> input_splits{0}, target_splits{0}, step_splits{0};
  std::vector<float> labels, steps;
};

struct Totals {
  double loss = 0.0;
  int64_t examples = 0, targets = 0, kept = 0, raw = 0;
};

class SentenceTrainer {
 public:
  SentenceTrainer(const Settings& s, const Tables& tables, Recorder* recorder,
                  int64_t output_rows)
      : s_(s), tables_(tables), scratch_(tables.dim), recorder_(recorder) {
    const int64_t count = std::min(s.hot_rows, output_rows);
    if (count > 0) {
      hot_ = std::make_unique<HotRows>(tables.output, output_rows - count, count, tables.dim);
      tables_.hot = hot_->local();
      tables_.hot_first = output_rows - count;
    }
  }
  // Adds this thread's changes of its hot rows to the shared table (call at the end).
  void Flush() {
    if (hot_ != nullptr && since_merge_ > 0) hot_->Merge();
    since_merge_ = 0;
  }

  void Sentence(int64_t index, Totals* totals) {
    const int64_t begin = s_.sentence_splits[index], end = s_.sentence_splits[index + 1];
    Random random(s_.seed, s_.epoch, index);
    kept_.clear();
    for (int64_t i = begin; i < end; ++i) {  // subsampling: keep w with probability keep[w]
      const int32_t w = s_.tokens[i];
      if (s_.keep[w] >= 1.0f || random.Uniform() < s_.keep[w]) kept_.push_back(w);
    }
    totals->raw += end - begin;
    totals->kept += static_cast<int64_t>(kept_.size());
    // Linear decay by position in the run: the same rate whichever thread trains it.
    const double progress = std::min(
        1.0, static_cast<double>(s_.words_before + begin - s_.first_token) /
                 static_cast<double>(std::max<int64_t>(s_.total_words, 1)));
    const float lr = static_cast<float>(s_.lr_start - (s_.lr_start - s_.lr_end) * progress);
    const int64_t n = static_cast<int64_t>(kept_.size());
    if (s_.cbow || s_.window_batching) {
      Windows(n, lr, &random, totals);
      return;
    }
    for (int64_t i = 0; i < n; ++i) {  // skip-gram, one step per (center, context) pair
      const int64_t reduced = s_.window - random.Below(s_.window);  // in 1..window
      const int64_t lo = std::max<int64_t>(0, i - reduced);
      const int64_t hi = std::min<int64_t>(n - 1, i + reduced);
      for (int64_t j = lo; j <= hi; ++j) {
        if (j == i) continue;
        targets_.clear();
        labels_.clear();
        DrawTargets(kept_[j], &random);
        Step(&kept_[i], 1, true, targets_.data(), labels_.data(),
             static_cast<int64_t>(targets_.size()), lr, totals);
      }
    }
  }

 private:
  struct Window {
    int64_t center, lo, hi, first_target, last_target;
  };

  // One step per window (CBOW; skip-gram with window batching). The draws of the whole
  // sentence come first, in the order of the centers (window size, then noise words), so
  // that the rows of the next window can be prefetched while this one trains.
  void Windows(int64_t n, float lr, Random* random, Totals* totals) {
    windows_.clear();
    targets_.clear();
    labels_.clear();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t reduced = s_.window - random->Below(s_.window);  // in 1..window
      const int64_t lo = std::max<int64_t>(0, i - reduced);
      const int64_t hi = std::min<int64_t>(n - 1, i + reduced);
      if (lo == hi) continue;  // no context word
      const int64_t first = static_cast<int64_t>(targets_.size());
      DrawTargets(kept_[i], random);
      windows_.push_back({i, lo, hi, first, static_cast<int64_t>(targets_.size())});
    }
    const int64_t count = static_cast<int64_t>(windows_.size());
    for (int64_t w = 0; w < count; ++w) {
      if (w + 1 < count) Prefetch(windows_[w + 1]);
      const Window& window = windows_[w];
      inputs_.clear();
      for (int64_t j = window.lo; j <= window.hi; ++j) {
        if (j != window.center) inputs_.push_back(kept_[j]);
      }
      Step(inputs_.data(), static_cast<int64_t>(inputs_.size()), s_.cbow,
           targets_.data() + window.first_target, labels_.data() + window.first_target,
           window.last_target - window.first_target, lr, totals);
    }
  }

  void PrefetchRow(const float* row) const {
    const int64_t d = tables_.dim;
    for (int64_t k = 0; k < d; k += 16) __builtin_prefetch(row + k, 1, 3);
    __builtin_prefetch(row + d - 1, 1, 3);
  }

  void Prefetch(const Window& window) const {
    const int64_t d = tables_.dim;
    for (int64_t t = window.first_target; t < window.last_target; ++t) {
      PrefetchRow(tables_.OutputRow(targets_[t]));
    }
    PrefetchRow(tables_.input + static_cast<int64_t>(kept_[window.hi]) * d);  // new context
  }

  // Appends `positive`'s targets: its Huffman path, or itself and K noise words (never
  // `positive` itself; a noise word that is still `positive` after 16 tries is left out).
  void DrawTargets(int32_t positive, Random* random) {
    if (s_.hierarchical) {
      const int64_t length = s_.lengths[positive];
      for (int64_t j = 0; j < length; ++j) {
        targets_.push_back(s_.paths[positive * s_.depth + j]);
        labels_.push_back(1.0f - static_cast<float>(s_.codes[positive * s_.depth + j]));
      }
      return;
    }
    targets_.push_back(positive);
    labels_.push_back(1.0f);
    for (int64_t k = 0; k < s_.negatives; ++k) {
      int32_t noise = positive;
      for (int tries = 0; tries < 16 && noise == positive; ++tries) {
        const int64_t column = random->Below(s_.vocabulary);
        noise = random->Uniform() < s_.accept[column] ? static_cast<int32_t>(column)
                                                       : s_.alias[column];
      }
      if (noise == positive) continue;
      targets_.push_back(noise);
      labels_.push_back(0.0f);
    }
  }

  // One SGD step: `mean` (CBOW, or one skip-gram pair): one example, the mean of the inputs
  // against the targets; else (skip-gram window batching) one example per input (context)
  // word, all against the same targets: the center's noise words are drawn once (or its
  // Huffman path read once) and shared by the window.
  void Step(const int32_t* inputs, int64_t num_inputs, bool mean, const int32_t* targets,
            const float* labels, int64_t num_targets, float lr, Totals* totals) {
    totals->loss += TrainBlock(tables_, inputs, num_inputs, mean, targets, labels,
                               num_targets, lr, &scratch_, s_.cbow && s_.window_batching);
    if (hot_ != nullptr && ++since_merge_ >= s_.sync_windows) Flush();
    const int64_t examples = mean ? 1 : num_inputs;
    totals->examples += examples;
    totals->targets += examples * num_targets;
    if (recorder_ != nullptr) {
      for (int64_t e = 0; e < examples; ++e) {
        const int32_t* first = mean ? inputs : inputs + e;
        const int32_t* last = mean ? inputs + num_inputs : inputs + e + 1;
        recorder_->inputs.insert(recorder_->inputs.end(), first, last);
        recorder_->input_splits.push_back(static_cast<int64_t>(recorder_->inputs.size()));
        recorder_->targets.insert(recorder_->targets.end(), targets, targets + num_targets);
        recorder_->labels.insert(recorder_->labels.end(), labels, labels + num_targets);
        recorder_->target_splits.push_back(static_cast<int64_t>(recorder_->targets.size()));
        recorder_->steps.push_back(lr);
      }
      recorder_->step_splits.push_back(static_cast<int64_t>(recorder_->steps.size()));
    }
  }

  const Settings& s_;
  Tables tables_;  // with this thread's hot rows
  std::unique_ptr<HotRows> hot_;
  int64_t since_merge_ = 0;
  Scratch scratch_;
  Recorder* recorder_;
  std::vector<int32_t> kept_, inputs_, targets_;
  std::vector<float> labels_;
  std::vector<Window> windows_;
};

template <typename T>
void Output(OpKernelContext* ctx, int index, const std::vector<T>& values) {
  Tensor* out = nullptr;
  OP_REQUIRES_OK(ctx, ctx->allocate_output(
                          index, TensorShape({static_cast<int64_t>(values.size())}), &out));
  if (!values.empty()) std::memcpy(out->flat<T>().data(), values.data(), values.size() * sizeof(T));
}

// Hierarchical softmax on several threads: the Huffman tree's top nodes each thread keeps
// its own copy of (HotRows; the op's `hot_rows = -1`), merged every `hot_merge_steps`. On
// PTB (CBOW, 2 threads) 64 nodes merged every 64, 128 or 256 steps measured alike, 1.2x
// the shared rows; 256 nodes no faster; every 256 steps the loss after 5 epochs was 0.05%
// higher than with shared rows, every 64 steps equal.
constexpr int64_t kHotNodes = 64;

class TrainSentencesOp : public OpKernel {
 public:
  explicit TrainSentencesOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string model, loss;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("model", &model));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("loss", &loss));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("window", &window_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("negatives", &negatives_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("num_threads", &num_threads_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("return_examples", &return_examples_));
    std::string batching;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("batching", &batching));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("hot_rows", &hot_rows_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("hot_merge_steps", &hot_merge_steps_));
    window_batching_ = batching == "window";
    cbow_ = model == "cbow";
    hierarchical_ = loss == "hierarchical";
    OP_REQUIRES(ctx, !return_examples_ || num_threads_ == 1,
                InvalidArgument("return_examples needs num_threads=1"));
    OP_REQUIRES(ctx, hierarchical_ || negatives_ >= 1,
                InvalidArgument("negative sampling needs negatives >= 1"));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& tokens = ctx->input(2);
    const Tensor& splits = ctx->input(3);
    const Tensor& range = ctx->input(4);
    const Tensor& keep = ctx->input(5);
    const Tensor& accept = ctx->input(6);
    const Tensor& alias = ctx->input(7);
    const Tensor& paths = ctx->input(8);
    const Tensor& codes = ctx->input(9);
    const Tensor& lengths = ctx->input(10);
    const Tensor& lr = ctx->input(11);
    const Tensor& progress = ctx->input(12);
    const Tensor& seed = ctx->input(13);
    OP_REQUIRES(ctx, range.NumElements() == 2 && lr.NumElements() == 2 &&
                         progress.NumElements() == 2 && seed.NumElements() == 2,
                InvalidArgument("sentence_range, learning_rate, progress and seed are pairs"));
    const int64_t num_sentences = splits.NumElements() - 1;
    const int64_t first = range.flat<int64_t>()(0), last = range.flat<int64_t>()(1);
    OP_REQUIRES(ctx, num_sentences >= 0 && 0 <= first && first <= last && last <= num_sentences,
                InvalidArgument("sentence_range must lie in [0, number of sentences]"));
    const int64_t vocabulary = keep.NumElements();
    Status status;
    LockedTables locked(ctx, &status);
    OP_REQUIRES_OK(ctx, status);
    OP_REQUIRES(ctx, locked.input_rows() == vocabulary,
                InvalidArgument("input_vectors needs one row per word of keep_probabilities"));
    const int64_t* s = splits.flat<int64_t>().data();
    OP_REQUIRES(ctx, s[0] == 0 && s[num_sentences] == tokens.NumElements(),
                InvalidArgument("sentence_splits must run from 0 to the number of tokens"));
    for (int64_t i = 0; i < num_sentences; ++i) {
      OP_REQUIRES(ctx, s[i] <= s[i + 1], InvalidArgument("sentence_splits must not decrease"));
    }
    OP_REQUIRES(ctx, AllBelow(tokens.flat<int32_t>().data() + s[first], s[last] - s[first],
                              vocabulary),
                InvalidArgument("a token id is outside the vocabulary"));
    Settings settings;
    settings.cbow = cbow_;
    settings.hierarchical = hierarchical_;
    settings.window_batching = window_batching_;
    settings.window = window_;
    settings.negatives = negatives_;
    settings.tokens = tokens.flat<int32_t>().data();
    settings.sentence_splits = s;
    settings.keep = keep.flat<float>().data();
    settings.vocabulary = vocabulary;
    if (hierarchical_) {
      OP_REQUIRES(ctx, paths.dims() == 2 && paths.dim_size(0) == vocabulary &&
                           codes.shape() == paths.shape() && lengths.NumElements() == vocabulary,
                  InvalidArgument("paths and codes must be (V, depth), lengths (V,)"));
      settings.paths = paths.flat<int32_t>().data();
      settings.codes = codes.flat<int32_t>().data();
      settings.lengths = lengths.flat<int32_t>().data();
      settings.depth = paths.dim_size(1);
      OP_REQUIRES(ctx, AllBelow(settings.paths, paths.NumElements(), locked.output_rows()),
                  InvalidArgument("a Huffman node id is outside output_vectors"));
      for (int64_t w = 0; w < vocabulary; ++w) {
        OP_REQUIRES(ctx, settings.lengths[w] >= 0 && settings.lengths[w] <= settings.depth,
                    InvalidArgument("path lengths must be in [0, depth]"));
      }
    } else {
      OP_REQUIRES(ctx, accept.NumElements() == vocabulary && alias.NumElements() == vocabulary,
                  InvalidArgument("the alias table needs one entry per word"));
      OP_REQUIRES(ctx, locked.output_rows() == vocabulary,
                  InvalidArgument("output_vectors needs one row per word"));
      OP_REQUIRES(ctx, AllBelow(alias.flat<int32_t>().data(), vocabulary, vocabulary),
                  InvalidArgument("an alias id is outside the vocabulary"));
      settings.accept = accept.flat<float>().data();
      settings.alias = alias.flat<int32_t>().data();
    }
    settings.lr_start = lr.flat<float>()(0);
    settings.lr_end = lr.flat<float>()(1);
    settings.words_before = progress.flat<int64_t>()(0);
    settings.total_words = progress.flat<int64_t>()(1);
    settings.first_token = s[first];
    settings.seed = seed.flat<int64_t>()(0);
    settings.epoch = seed.flat<int64_t>()(1);
    // hot_rows -1: the Huffman tree's top kHotNodes nodes when several threads share it.
    settings.hot_rows = hot_rows_ >= 0 ? hot_rows_
                                       : (hierarchical_ && num_threads_ > 1 ? kHotNodes : 0);
    settings.sync_windows = hot_merge_steps_;

    Recorder recorder;
    std::vector<Totals> totals(num_threads_);
    std::atomic<int64_t> next(first);
    const int64_t chunk = 16;
    auto work = [&](int thread) {
      SentenceTrainer trainer(settings, locked.tables(), return_examples_ ? &recorder : nullptr,
                              locked.output_rows());
      // The thread's sums stay on its own stack until the end: `totals` packs the threads'
      // sums into one cache line, which written at every step bounced between the cores.
      Totals mine;
      for (;;) {
        const int64_t begin = next.fetch_add(chunk);
        if (begin >= last) break;
        const int64_t end = std::min(last, begin + chunk);
        for (int64_t i = begin; i < end; ++i) trainer.Sentence(i, &mine);
      }
      trainer.Flush();
      totals[thread] = mine;
    };
    if (num_threads_ == 1) {
      work(0);
    } else {
      std::vector<std::thread> threads;
      for (int t = 0; t < num_threads_; ++t) threads.emplace_back(work, t);
      for (auto& thread : threads) thread.join();
    }
    Totals sum;
    for (const Totals& t : totals) {
      sum.loss += t.loss;
      sum.examples += t.examples;
      sum.targets += t.targets;
      sum.kept += t.kept;
      sum.raw += t.raw;
    }
    Tensor* stats = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({5}), &stats));
    auto out = stats->flat<double>();
    out(0) = sum.loss;
    out(1) = static_cast<double>(sum.examples);
    out(2) = static_cast<double>(sum.targets);
    out(3) = static_cast<double>(sum.kept);
    out(4) = static_cast<double>(sum.raw);
    Output(ctx, 1, recorder.inputs);
    Output(ctx, 2, recorder.input_splits);
    Output(ctx, 3, recorder.targets);
    Output(ctx, 4, recorder.labels);
    Output(ctx, 5, recorder.target_splits);
    Output(ctx, 6, recorder.steps);
    Output(ctx, 7, recorder.step_splits);
  }

 private:
  bool cbow_ = false, hierarchical_ = false, return_examples_ = false, window_batching_ = true;
  int64_t window_ = 5, negatives_ = 5, hot_rows_ = -1, hot_merge_steps_ = 128;
  int num_threads_ = 1;
};

Status VectorOutputs(InferenceContext* c, int first, int count) {
  for (int i = first; i < first + count; ++i) c->set_output(i, c->Vector(c->UnknownDim()));
  return Status();
}

}  // namespace

REGISTER_OP("Word2VecTrainExamples")
    .Input("input_vectors: resource")
    .Input("output_vectors: resource")
    .Input("input_ids: int32")
    .Input("input_splits: int64")
    .Input("target_ids: int32")
    .Input("target_labels: float")
    .Input("target_splits: int64")
    .Input("step_sizes: float")
    .Output("losses: float")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) { return VectorOutputs(c, 0, 1); });

REGISTER_OP("Word2VecTrainSentences")
    .Input("input_vectors: resource")
    .Input("output_vectors: resource")
    .Input("tokens: int32")
    .Input("sentence_splits: int64")
    .Input("sentence_range: int64")
    .Input("keep_probabilities: float")
    .Input("noise_accept: float")
    .Input("noise_alias: int32")
    .Input("paths: int32")
    .Input("codes: int32")
    .Input("path_lengths: int32")
    .Input("learning_rate: float")
    .Input("progress: int64")
    .Input("seed: int64")
    .Output("stats: double")
    .Output("input_ids: int32")
    .Output("input_splits: int64")
    .Output("target_ids: int32")
    .Output("target_labels: float")
    .Output("target_splits: int64")
    .Output("step_sizes: float")
    .Output("step_splits: int64")
    .Attr("model: {'skipgram', 'cbow'} = 'skipgram'")
    .Attr("loss: {'negative', 'hierarchical'} = 'negative'")
    .Attr("window: int >= 1 = 5")
    .Attr("negatives: int >= 0 = 5")
    .Attr("num_threads: int >= 1 = 1")
    .Attr("return_examples: bool = false")
    .Attr("batching: {'window', 'word'} = 'window'")
    .Attr("hot_rows: int >= -1 = -1")
    .Attr("hot_merge_steps: int >= 1 = 128")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->Vector(5));
      return VectorOutputs(c, 1, 7);
    });

REGISTER_KERNEL_BUILDER(Name("Word2VecTrainExamples").Device(DEVICE_CPU), TrainExamplesOp);
REGISTER_KERNEL_BUILDER(Name("Word2VecTrainSentences").Device(DEVICE_CPU), TrainSentencesOp);

}  // namespace kerasnotes
