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
// The variables are TF resource variables updated in place under their mutexes; a buffer
// still shared with a reader is copied first (copy-on-write), as TF's own ops do.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

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
};

// Scratch space of one thread.
struct Scratch {
  std::vector<float> hidden, grad_hidden, grads;
  explicit Scratch(int64_t dim) : hidden(dim), grad_hidden(dim), grads(64) {}
};

inline float Dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

inline void Axpy(float alpha, const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// One SGD step on one example; returns its loss (before the step).
double TrainExample(const Tables& tables, const int32_t* inputs, int64_t num_inputs,
                    const int32_t* targets, const float* labels, int64_t num_targets,
                    float step, Scratch* scratch) {
  const int64_t d = tables.dim;
  float* h = scratch->hidden.data();
  float* grad_h = scratch->grad_hidden.data();
  if (static_cast<int64_t>(scratch->grads.size()) < num_targets) {
    scratch->grads.resize(num_targets);
  }
  float* g = scratch->grads.data();
  std::memcpy(h, tables.input + static_cast<int64_t>(inputs[0]) * d, d * sizeof(float));
  for (int64_t i = 1; i < num_inputs; ++i) {
    Axpy(1.0f, tables.input + static_cast<int64_t>(inputs[i]) * d, h, d);
  }
  if (num_inputs > 1) {
    const float inverse = 1.0f / static_cast<float>(num_inputs);
    for (int64_t k = 0; k < d; ++k) h[k] *= inverse;
  }
  double loss = 0.0;
  for (int64_t t = 0; t < num_targets; ++t) {
    const float s = Dot(tables.output + static_cast<int64_t>(targets[t]) * d, h, d);
    const float e = std::exp(-std::fabs(s));
    const float sigmoid = s >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    const float z = labels[t] > 0.5f ? -s : s;
    loss += std::max(z, 0.0f) + std::log(1.0f + e);  // logf: 3x faster than log1pf
    g[t] = sigmoid - labels[t];
  }
  std::memset(grad_h, 0, d * sizeof(float));
  for (int64_t t = 0; t < num_targets; ++t) {
    Axpy(g[t], tables.output + static_cast<int64_t>(targets[t]) * d, grad_h, d);
  }
  for (int64_t t = 0; t < num_targets; ++t) {
    Axpy(-step * g[t], h, tables.output + static_cast<int64_t>(targets[t]) * d, d);
  }
  const float input_step = -step / static_cast<float>(num_inputs);
  for (int64_t i = 0; i < num_inputs; ++i) {
    Axpy(input_step, grad_h, tables.input + static_cast<int64_t>(inputs[i]) * d, d);
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
      losses->flat<float>()(e) = static_cast<float>(TrainExample(
          locked.tables(), inputs + in_splits(e), in_splits(e + 1) - in_splits(e),
          targets + t_splits(e), labels + t_splits(e), t_splits(e + 1) - t_splits(e),
          steps[e], &scratch));
    }
  }
};

// ---------------------------------------------------------------------------- sentences op
struct Settings {
  bool cbow, hierarchical;
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
};

struct Recorder {  // the examples trained, in order (one thread only)
  std::vector<int32_t> inputs, targets;
  std::vector<int64_t> input_splits{0}, target_splits{0};
  std::vector<float> labels, steps;
};

struct Totals {
  double loss = 0.0;
  int64_t examples = 0, targets = 0, kept = 0, raw = 0;
};

class SentenceTrainer {
 public:
  SentenceTrainer(const Settings& s, const Tables& tables, Recorder* recorder)
      : s_(s), tables_(tables), scratch_(tables.dim), recorder_(recorder) {}

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
    for (int64_t i = 0; i < n; ++i) {
      const int64_t reduced = s_.window - random.Below(s_.window);  // in 1..window
      const int64_t lo = std::max<int64_t>(0, i - reduced);
      const int64_t hi = std::min<int64_t>(n - 1, i + reduced);
      if (s_.cbow) {
        inputs_.clear();
        for (int64_t j = lo; j <= hi; ++j) {
          if (j != i) inputs_.push_back(kept_[j]);
        }
        if (inputs_.empty()) continue;
        Example(inputs_.data(), static_cast<int64_t>(inputs_.size()), kept_[i], lr, &random,
                totals);
      } else {
        for (int64_t j = lo; j <= hi; ++j) {
          if (j != i) Example(&kept_[i], 1, kept_[j], lr, &random, totals);
        }
      }
    }
  }

 private:
  void Example(const int32_t* inputs, int64_t num_inputs, int32_t positive, float lr,
               Random* random, Totals* totals) {
    targets_.clear();
    labels_.clear();
    if (s_.hierarchical) {
      const int64_t length = s_.lengths[positive];
      for (int64_t j = 0; j < length; ++j) {
        targets_.push_back(s_.paths[positive * s_.depth + j]);
        labels_.push_back(1.0f - static_cast<float>(s_.codes[positive * s_.depth + j]));
      }
    } else {
      targets_.push_back(positive);
      labels_.push_back(1.0f);
      for (int64_t k = 0; k < s_.negatives; ++k) {
        int32_t noise = positive;
        for (int tries = 0; tries < 16 && noise == positive; ++tries) {  // never the positive
          const int64_t column = random->Below(s_.vocabulary);
          noise = random->Uniform() < s_.accept[column] ? static_cast<int32_t>(column)
                                                         : s_.alias[column];
        }
        if (noise == positive) continue;
        targets_.push_back(noise);
        labels_.push_back(0.0f);
      }
    }
    const int64_t num_targets = static_cast<int64_t>(targets_.size());
    totals->loss += TrainExample(tables_, inputs, num_inputs, targets_.data(), labels_.data(),
                                 num_targets, lr, &scratch_);
    totals->examples += 1;
    totals->targets += num_targets;
    if (recorder_ != nullptr) {
      recorder_->inputs.insert(recorder_->inputs.end(), inputs, inputs + num_inputs);
      recorder_->input_splits.push_back(static_cast<int64_t>(recorder_->inputs.size()));
      recorder_->targets.insert(recorder_->targets.end(), targets_.begin(), targets_.end());
      recorder_->labels.insert(recorder_->labels.end(), labels_.begin(), labels_.end());
      recorder_->target_splits.push_back(static_cast<int64_t>(recorder_->targets.size()));
      recorder_->steps.push_back(lr);
    }
  }

  const Settings& s_;
  const Tables& tables_;
  Scratch scratch_;
  Recorder* recorder_;
  std::vector<int32_t> kept_, inputs_, targets_;
  std::vector<float> labels_;
};

template <typename T>
void Output(OpKernelContext* ctx, int index, const std::vector<T>& values) {
  Tensor* out = nullptr;
  OP_REQUIRES_OK(ctx, ctx->allocate_output(
                          index, TensorShape({static_cast<int64_t>(values.size())}), &out));
  if (!values.empty()) std::memcpy(out->flat<T>().data(), values.data(), values.size() * sizeof(T));
}

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
    OP_REQUIRES(ctx, AllBelow(tokens.flat<int32_t>().data(), tokens.NumElements(), vocabulary),
                InvalidArgument("a token id is outside the vocabulary"));
    Settings settings;
    settings.cbow = cbow_;
    settings.hierarchical = hierarchical_;
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

    Recorder recorder;
    std::vector<Totals> totals(num_threads_);
    std::atomic<int64_t> next(first);
    const int64_t chunk = 16;
    auto work = [&](int thread) {
      SentenceTrainer trainer(settings, locked.tables(), return_examples_ ? &recorder : nullptr);
      for (;;) {
        const int64_t begin = next.fetch_add(chunk);
        if (begin >= last) break;
        const int64_t end = std::min(last, begin + chunk);
        for (int64_t i = begin; i < end; ++i) trainer.Sentence(i, &totals[thread]);
      }
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
  }

 private:
  bool cbow_ = false, hierarchical_ = false, return_examples_ = false;
  int64_t window_ = 5, negatives_ = 5;
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
    .Attr("model: {'skipgram', 'cbow'} = 'skipgram'")
    .Attr("loss: {'negative', 'hierarchical'} = 'negative'")
    .Attr("window: int >= 1 = 5")
    .Attr("negatives: int >= 0 = 5")
    .Attr("num_threads: int >= 1 = 1")
    .Attr("return_examples: bool = false")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->Vector(5));
      return VectorOutputs(c, 1, 6);
    });

REGISTER_KERNEL_BUILDER(Name("Word2VecTrainExamples").Device(DEVICE_CPU), TrainExamplesOp);
REGISTER_KERNEL_BUILDER(Name("Word2VecTrainSentences").Device(DEVICE_CPU), TrainSentencesOp);

}  // namespace kerasnotes
