// The SSD loss of one batch with its gradient, in one pass per image (TensorFlow custom op
// `SsdLossWithGradient`, float32). The same values and gradients as
// kerasnotes/losses/ssd_loss.py's `ssd_loss` (the formulas are in its docstring), which
// XLA runs in ~40 fused loops; here each image is one loop over its anchors, and the hard
// negatives are found with one partial sort instead of 31 counting passes.
//
// For image i with A anchors, classes c_a (0 = background), logits o_a (q + 1 of them),
// box offsets p and targets t (4A of them), mask m:
//
//   CE_a = log sum_j exp(o_aj - max_j o_aj) - (o_a,c_a - max_j o_aj)   (0 when c_a is not
//          a class index, as a one-hot row of zeros gives)
//   e_k  = m_k * (p_k - t_k)
//
// Without hard negatives (hard_negatives false: the notes' loss):
//
//   l = 1/A sum_a CE_a + 1/(4A) sum_k |e_k|
//
// With hard negatives, negative_ratio k and P anchors of class > 0: the n =
// floor(max(k * P, k)) background anchors of largest CE (NaN and -0 count as 0; the lower
// index first among equal values; all of them when there are fewer) count besides the
// positives:
//
//   l = (sum_a w_a CE_a + sum_k |e_k|) / max(P, 1),   w_a = 1 if positive or chosen, else 0
//
// The gradients of each image's loss with respect to its own predictions:
//
//   dl/do_aj = w_a / N * (softmax(o_a)_j - [j = c_a]),   dl/dp_k = sign(e_k) m_k / N
//
// (N = max(P, 1); in the notes' loss w_a = 1 and N = A, 4A for the two terms). Every term is
// computed, chosen or not, so a NaN anywhere reaches the loss and the gradient, as in
// `ssd_loss` (0 * NaN is NaN). Images run in parallel; each image's sums are added in a
// fixed order in double, so the results do not depend on the thread scheduling.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

using namespace tensorflow;

REGISTER_OP("SsdLossWithGradient")
    .Input("labels: int32")
    .Input("target: float")
    .Input("mask: float")
    .Input("logits: float")
    .Input("offsets: float")
    .Attr("hard_negatives: bool")
    .Attr("negative_ratio: float")
    .Output("losses: float")
    .Output("logits_gradient: float")
    .Output("offsets_gradient: float")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle labels, logits, offsets;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 2, &labels));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(3), 3, &logits));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(4), 2, &offsets));
      c->set_output(0, c->Vector(c->Dim(labels, 0)));
      c->set_output(1, logits);
      c->set_output(2, offsets);
      return OkStatus();
    });

namespace {

// A negative anchor's rank key: its CE's float bits read as an int (the CEs are >= 0, so
// the ints order as the floats do), and its index.
struct Candidate {
  int32_t key;
  int32_t index;
};

int32_t KeyOf(float ce) {
  const float kept = ce > 0.0f ? ce : 0.0f;  // NaN and -0 count as 0
  int32_t key;
  std::memcpy(&key, &kept, sizeof key);
  return key;
}

// The weights w_a (1: the anchor counts) of one image's anchors.
void ChooseAnchors(const int32_t* labels, const float* ce, int64_t A, float negative_ratio,
                   std::vector<Candidate>* negatives, float* weight, float* num_positive) {
  negatives->clear();
  int64_t positives = 0;
  for (int64_t a = 0; a < A; ++a) {
    if (labels[a] > 0) {
      ++positives;
      weight[a] = 1.0f;
    } else {
      weight[a] = 0.0f;
      negatives->push_back({KeyOf(ce[a]), static_cast<int32_t>(a)});
    }
  }
  *num_positive = static_cast<float>(positives);
  // As ssd_loss, in float32: floor(max(k * P, k)).
  const float wanted = std::floor(std::max(negative_ratio * *num_positive, negative_ratio));
  const int64_t available = static_cast<int64_t>(negatives->size());
  if (wanted < static_cast<float>(available)) {  // else all of them
    const int64_t count = wanted > 0.0f ? static_cast<int64_t>(wanted) : 0;
    auto harder = [](const Candidate& x, const Candidate& y) {
      return x.key > y.key || (x.key == y.key && x.index < y.index);
    };
    std::nth_element(negatives->begin(), negatives->begin() + count, negatives->end(),
                     harder);
    negatives->resize(count);
  }
  for (const Candidate& chosen : *negatives) weight[chosen.index] = 1.0f;
}

}  // namespace

class SsdLossWithGradientOp : public OpKernel {
 public:
  explicit SsdLossWithGradientOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("hard_negatives", &hard_negatives_));
    OP_REQUIRES_OK(context, context->GetAttr("negative_ratio", &negative_ratio_));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& labels_t = context->input(0);
    const Tensor& target_t = context->input(1);
    const Tensor& mask_t = context->input(2);
    const Tensor& logits_t = context->input(3);
    const Tensor& offsets_t = context->input(4);
    OP_REQUIRES(context, logits_t.dims() == 3 && labels_t.dims() == 2,
                errors::InvalidArgument(
                    "SsdLossWithGradient: labels must be (batch, A) and logits (batch, A, "
                    "classes); received ", labels_t.shape().DebugString(), " and ",
                    logits_t.shape().DebugString()));
    const int64_t B = logits_t.dim_size(0), A = logits_t.dim_size(1), C = logits_t.dim_size(2);
    OP_REQUIRES(context, labels_t.dim_size(0) == B && labels_t.dim_size(1) == A,
                errors::InvalidArgument("SsdLossWithGradient: labels ",
                                        labels_t.shape().DebugString(), " do not match logits ",
                                        logits_t.shape().DebugString()));
    OP_REQUIRES(context, C > 0 || B * A == 0,  // each anchor's row is read from its start
                errors::InvalidArgument("SsdLossWithGradient: logits need at least one class "
                                        "(the background); received ",
                                        logits_t.shape().DebugString()));
    const TensorShape box_shape({B, 4 * A});
    for (const Tensor* t : {&target_t, &mask_t, &offsets_t}) {
      OP_REQUIRES(context, t->shape() == box_shape,
                  errors::InvalidArgument("SsdLossWithGradient: box offsets, targets and "
                                          "mask must be ", box_shape.DebugString(),
                                          "; received ", t->shape().DebugString()));
    }
    Tensor *losses_t, *logits_gradient_t, *offsets_gradient_t;
    OP_REQUIRES_OK(context, context->allocate_output(0, TensorShape({B}), &losses_t));
    OP_REQUIRES_OK(context, context->allocate_output(1, logits_t.shape(), &logits_gradient_t));
    OP_REQUIRES_OK(context, context->allocate_output(2, box_shape, &offsets_gradient_t));
    if (B == 0) return;

    const int32_t* labels = labels_t.flat<int32_t>().data();
    const float* target = target_t.flat<float>().data();
    const float* mask = mask_t.flat<float>().data();
    const float* logits = logits_t.flat<float>().data();
    const float* offsets = offsets_t.flat<float>().data();
    float* losses = losses_t->flat<float>().data();
    float* logits_gradient = logits_gradient_t->flat<float>().data();
    float* offsets_gradient = offsets_gradient_t->flat<float>().data();
    const bool hard_negatives = hard_negatives_;
    const float ratio = negative_ratio_;

    auto images = [&](int64_t first, int64_t last) {
      std::vector<float> ce(A), weight(A), softmax(C);
      std::vector<Candidate> negatives;
      negatives.reserve(A);
      for (int64_t i = first; i < last; ++i) {
        const int32_t* label = labels + i * A;
        const float* o = logits + i * A * C;
        float* d_o = logits_gradient + i * A * C;
        // Each anchor's cross-entropy; the softmax is written to the gradient for now.
        for (int64_t a = 0; a < A; ++a) {
          const float* row = o + a * C;
          float* d_row = d_o + a * C;
          float top = row[0];
          for (int64_t j = 1; j < C; ++j) top = std::max(top, row[j]);
          float sum = 0.0f;
          for (int64_t j = 0; j < C; ++j) {
            d_row[j] = std::exp(row[j] - top);
            sum += d_row[j];
          }
          const float log_sum = std::log(sum);
          const int32_t c = label[a];
          const bool is_class = c >= 0 && c < C;
          ce[a] = is_class ? log_sum - (row[c] - top) : 0.0f;
          for (int64_t j = 0; j < C; ++j) d_row[j] = is_class ? d_row[j] / sum : 0.0f;
          if (is_class) d_row[c] -= 1.0f;
        }
        float class_divisor, box_divisor;  // as ssd_loss: a mean, or over max(P, 1)
        if (!hard_negatives) {
          std::fill(weight.begin(), weight.end(), 1.0f);
          class_divisor = static_cast<float>(A);
          box_divisor = static_cast<float>(4 * A);
        } else {
          float num_positive;
          ChooseAnchors(label, ce.data(), A, ratio, &negatives, weight.data(), &num_positive);
          class_divisor = box_divisor = std::max(num_positive, 1.0f);
        }
        double class_sum = 0.0;
        for (int64_t a = 0; a < A; ++a) {
          class_sum += static_cast<double>(weight[a] * ce[a]);
          for (int64_t j = 0; j < C; ++j) {
            d_o[a * C + j] = weight[a] * d_o[a * C + j] / class_divisor;
          }
        }
        double box_sum = 0.0;
        const float* m = mask + i * 4 * A;
        const float* p = offsets + i * 4 * A;
        const float* t = target + i * 4 * A;
        float* d_p = offsets_gradient + i * 4 * A;
#pragma omp simd reduction(+ : box_sum)
        for (int64_t k = 0; k < 4 * A; ++k) {
          const float e = m[k] * (p[k] - t[k]);
          box_sum += static_cast<double>(std::fabs(e));
          // sign(e), NaN for NaN
          const float sign = e > 0.0f ? 1.0f : (e < 0.0f ? -1.0f : e * 0.0f);
          d_p[k] = sign * m[k] / box_divisor;
        }
        losses[i] = !hard_negatives
            ? static_cast<float>(class_sum) / class_divisor +
                  static_cast<float>(box_sum) / box_divisor
            : (static_cast<float>(class_sum) + static_cast<float>(box_sum)) / class_divisor;
      }
    };
    auto* workers = context->device()->tensorflow_cpu_worker_threads()->workers;
    workers->ParallelFor(B, /*cost_per_unit=*/A * (C * 40 + 40), images);
  }

 private:
  bool hard_negatives_;
  float negative_ratio_;
};

REGISTER_KERNEL_BUILDER(Name("SsdLossWithGradient").Device(DEVICE_CPU), SsdLossWithGradientOp);
