"""The SSD loss: softmax cross-entropy over anchor classes + masked L1 on box offsets."""

import logging
import numbers

import keras
import tensorflow as tf
from keras import ops
from tensorflow.python.ops import control_flow_util

from kerasnotes.losses.softmax_cross_entropy import softmax_cross_entropy

_LOG = logging.getLogger(__name__)
_KERNEL = {}  # "ops": the loaded kernel module, or None when it is unavailable here

TARGET_KEYS = ("class_labels", "bbox_offsets", "bbox_mask")
PREDICTION_KEYS = ("class_logits", "bbox_offsets")


def _check_keys(name, value, keys):
    if not isinstance(value, dict) or any(k not in value for k in keys):
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise ValueError(f"ssd_loss: {name} must be a dict with keys {list(keys)}; "
                         f"received {found}")


def _checked_inputs(y_true, y_pred):
    """`(labels, target, mask, logits, offsets)` of `ssd_loss`'s inputs, checked (keys and
    shapes: one `ValueError` naming them), in the logits' dtype (labels int32)."""
    _check_keys("y_true", y_true, TARGET_KEYS)
    _check_keys("y_pred", y_pred, PREDICTION_KEYS)
    logits = ops.convert_to_tensor(y_pred["class_logits"])
    offsets = ops.cast(y_pred["bbox_offsets"], logits.dtype)
    labels = ops.cast(y_true["class_labels"], "int32")
    target = ops.cast(y_true["bbox_offsets"], logits.dtype)
    mask = ops.cast(y_true["bbox_mask"], logits.dtype)
    if len(logits.shape) != 3 or len(labels.shape) != 2 or (
        labels.shape[1] is not None and logits.shape[1] is not None
        and labels.shape[1] != logits.shape[1]
    ):
        raise ValueError(
            "ssd_loss: class_labels must have shape (batch, A) and class_logits (batch, A, "
            f"num_classes + 1); received {tuple(labels.shape)} and {tuple(logits.shape)}"
        )
    if offsets.shape[-1] is not None and logits.shape[1] is not None and (
        offsets.shape[-1] != 4 * logits.shape[1]
        or target.shape[-1] != offsets.shape[-1] or mask.shape[-1] != offsets.shape[-1]
    ):
        raise ValueError(
            f"ssd_loss: the box offsets and mask must have shape (batch, {4 * logits.shape[1]}) "
            f"for {logits.shape[1]} anchors; received predictions {tuple(offsets.shape)}, "
            f"targets {tuple(target.shape)}, mask {tuple(mask.shape)}"
        )
    return labels, target, mask, logits, offsets


def hardest_negatives(loss, is_positive, count):
    """The `count[i]` anchors of largest `loss` among the negatives of each image `i`, the
    lower index first among equal losses: a boolean `(batch, A)` mask.

    The selection of a top-k without a top-k, so that its shapes never depend on the data
    (XLA compiles it once for all batches; `ops.top_k` with a data-dependent k recompiles
    for every new k). The losses are >= 0, so their float32 bit patterns, read as int32,
    order them as the floats do; a per-image threshold is built bit by bit, from the
    highest, as the largest `t` with at least `count` negatives of key `>= t`: `t` is the
    key of the count-th largest negative. Every key above `t` is chosen, then the keys
    equal to `t` in anchor order until `count` are chosen (fewer negatives than `count`:
    all of them).

    Args:
        loss: `(batch, A)` losses >= 0 (NaN and -0.0 count as 0).
        is_positive: boolean `(batch, A)`, the anchors never chosen.
        count: int32 `(batch, 1)`, the negatives wanted per image.

    Example:

    >>> hardest_negatives(np.array([[0.5, 2.0, 0.5, 1.0]]), np.array([[0, 0, 0, 1]]) > 0,
    ...                   np.array([[2]]))  # [[True, True, False, False]]
    """
    loss = ops.cast(loss, "float32")
    key = ops.where(is_positive, -1, tf.bitcast(ops.where(loss > 0, loss, 0.0), tf.int32))
    count = ops.cast(count, "int32")
    threshold = ops.zeros_like(count)
    for bit in range(30, -1, -1):
        candidate = threshold + (1 << bit)
        at_least = ops.sum(ops.cast(key >= candidate, "int32"), axis=1, keepdims=True)
        threshold = ops.where(at_least >= count, candidate, threshold)
    above = key > threshold
    equal = key == threshold
    still_wanted = count - ops.sum(ops.cast(above, "int32"), axis=1, keepdims=True)
    return above | (equal & (ops.cumsum(ops.cast(equal, "int32"), axis=1) <= still_wanted))


def ssd_loss(y_true, y_pred, negative_ratio=None):
    """Per-image SSD loss (d2l's `calc_loss`): class cross-entropy + masked L1 of offsets.

    With `A` anchors, class logits `o_a`, target classes `c_a` (0 = background), predicted
    offsets `p`, target offsets `t` and the mask `m` (1 on the 4 offsets of each anchor
    assigned to an object, else 0), all from `multibox_target`:

        l = 1/A sum_a -log softmax(o_a)[c_a]  +  1/(4A) sum_k |m_k * (p_k - t_k)|

    (the notes: SoftmaxCrossEntropyLoss on the classes plus L1Loss on the offsets, each
    averaged over its non-batch axes). Averaging over the batch is the caller's job.

    With `negative_ratio=k` (the SSD paper's hard negative mining, not in the notes): with
    `P` positive anchors in the image, only the `floor(max(k * P, k))` background anchors of
    largest cross-entropy (the lower index first among equal ones) count besides the
    positives, and both terms are normalized by the positives instead of the anchors:

        l = (sum_{a in pos or hard negatives} CE_a + sum_k |m_k * (p_k - t_k)|) / max(P, 1)

    The d2l loss gives every one of the ~99% background anchors the weight of a positive;
    a small model then predicts "background" everywhere for many epochs.

    Args:
        y_true: dict with `"class_labels"` int `(batch, A)`, `"bbox_offsets"` `(batch, 4A)`
            and `"bbox_mask"` `(batch, 4A)`.
        y_pred: dict with `"class_logits"` `(batch, A, q + 1)` and `"bbox_offsets"`
            `(batch, 4A)` (TinySSD's outputs).
        negative_ratio: `None` (d2l's loss, the default) or a number > 0 of hard negatives
            per positive.

    Returns:
        the loss per image, `(batch,)`.

    Example:

    >>> y_true = {"class_labels": np.array([[0, 1]]), "bbox_offsets": np.ones((1, 8)),
    ...           "bbox_mask": np.array([[0, 0, 0, 0, 1, 1, 1, 1.0]])}
    >>> y_pred = {"class_logits": np.zeros((1, 2, 2)), "bbox_offsets": np.zeros((1, 8))}
    >>> ssd_loss(y_true, y_pred)  # log 2 + 4 / 8
    """
    labels, target, mask, logits, offsets = _checked_inputs(y_true, y_pred)
    cross_entropy = softmax_cross_entropy(labels, logits)  # (batch, A)
    box_error = ops.abs(mask * (offsets - target))
    if negative_ratio is None:
        return ops.mean(cross_entropy, axis=1) + ops.mean(box_error, axis=1)
    # Counts in float32 and int32 whatever the logits' dtype (bfloat16 is exact to 256).
    is_positive = labels > 0
    num_positive = ops.sum(ops.cast(is_positive, "float32"), axis=1, keepdims=True)
    num_negative = ops.cast(
        ops.floor(ops.maximum(negative_ratio * num_positive, negative_ratio)), "int32")
    hard_negative = ops.cast(
        hardest_negatives(ops.stop_gradient(cross_entropy), is_positive, num_negative),
        logits.dtype)
    positive = ops.cast(is_positive, logits.dtype)
    selected = ops.sum(cross_entropy * (positive + hard_negative * (1.0 - positive)), axis=1)
    normalizer = ops.cast(ops.maximum(num_positive[:, 0], 1.0), logits.dtype)
    return (selected + ops.sum(box_error, axis=1)) / normalizer


def _kernel():
    """The SSD loss kernel's op module, or None (logged once) when it cannot be built."""
    if "ops" not in _KERNEL:
        from kerasnotes.ops.ssd_loss_kernel import KernelUnavailable, load_ssd_loss_kernel
        try:
            _KERNEL["ops"] = load_ssd_loss_kernel()
        except KernelUnavailable as error:
            _LOG.warning("compiled_ssd_loss: the C++ kernel is unavailable (%s); using XLA",
                         error)
            _KERNEL["ops"] = None
    return _KERNEL["ops"]


@tf.function(jit_compile=True)
def _losses_and_gradients(labels, target, mask, logits, offsets, negative_ratio):
    with tf.GradientTape() as tape:
        tape.watch([logits, offsets])
        losses = ssd_loss({"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask},
                          {"class_logits": logits, "bbox_offsets": offsets}, negative_ratio)
        total = tf.reduce_sum(losses)
    return (losses, *tape.gradient(total, [logits, offsets]))


def _in_xla_computation():
    """Whether the graph being built is compiled by XLA (a `jit_compile=True` function or
    one inside it), which has no kernel for a custom op."""
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def _kernel_losses_and_gradients(kernel, labels, target, mask, logits, offsets, negative_ratio):
    return kernel.ssd_loss_with_gradient(
        tf.cast(labels, tf.int32), tf.cast(target, tf.float32), tf.cast(mask, tf.float32),
        logits, offsets, hard_negatives=negative_ratio is not None,
        negative_ratio=0.0 if negative_ratio is None else negative_ratio)


def compiled_ssd_loss(y_true, y_pred, negative_ratio=None):
    """`ssd_loss`, values and gradient, computed in one fused computation.

    The loss is ~40 small ops on `(batch, A)` tensors, each reading and writing memory.
    Here they run as one computation, forward and backward: the C++ kernel
    `SsdLossWithGradient` (kerasnotes/ops/ssd_loss_kernel: one loop per image, the hard
    negatives by one partial sort) for float32 predictions on a machine without a GPU,
    else (and inside a `jit_compile=True` function) one XLA computation. The gradient
    `g_i = d l_i / d y_i` of each image's loss with respect to its own predictions is
    computed with the value (image `i`'s loss depends on image `i`'s predictions only), and
    the backward pass multiplies it by the incoming gradient:
    `d(sum_i u_i l_i)/d y_i = u_i g_i`. Same values and gradients as `ssd_loss`
    (float32 rounding aside); shapes may be unknown (XLA: one compilation per batch shape).

    Example:

    >>> with tf.GradientTape() as tape:
    ...     losses = compiled_ssd_loss(y_true, y_pred, negative_ratio=3)
    """
    _checked_inputs(y_true, y_pred)  # the errors in one line, before tracing
    logits = tf.convert_to_tensor(y_pred["class_logits"])
    offsets = tf.convert_to_tensor(y_pred["bbox_offsets"])
    inputs = (tf.convert_to_tensor(y_true["class_labels"]),
              tf.convert_to_tensor(y_true["bbox_offsets"]),
              tf.convert_to_tensor(y_true["bbox_mask"]), tf.stop_gradient(logits),
              tf.stop_gradient(offsets), negative_ratio)
    kernel = (_kernel() if logits.dtype == tf.float32 and offsets.dtype == tf.float32
              and not tf.config.list_logical_devices("GPU") and not _in_xla_computation()
              else None)
    if kernel is not None:
        losses, logits_gradient, offsets_gradient = _kernel_losses_and_gradients(kernel,
                                                                                 *inputs)
    else:
        losses, logits_gradient, offsets_gradient = _losses_and_gradients(*inputs)

    @tf.custom_gradient
    def with_gradient(logits, offsets):
        def gradient(upstream):
            return (tf.cast(upstream, logits.dtype)[:, None, None] * logits_gradient,
                    tf.cast(upstream, offsets.dtype)[:, None] * offsets_gradient)
        return tf.identity(losses), gradient

    return with_gradient(logits, offsets)


@keras.saving.register_keras_serializable(package="kerasnotes")
class SSDLoss(keras.losses.Loss):
    """The SSD loss of `ssd_loss`, averaged over the batch by the Keras reduction.

    `J = 1/|B| sum_i l_i` with `l_i` the per-image loss of `ssd_loss` (class cross-entropy
    averaged over anchors plus masked L1 averaged over the `4A` offsets).

    Args:
        negative_ratio: `None` (d2l) or hard negatives per positive (see `ssd_loss`).
        jit_compile: compute the loss and its gradient in one fused computation
            (`compiled_ssd_loss`: the C++ kernel for float32, else XLA; same values) or op
            by op (`ssd_loss`).
        reduction: Keras loss reduction (default `"sum_over_batch_size"`).
        name: name of the loss.
        dtype: dtype of the computation.

    Call arguments:
        y_true: dict of targets (see `ssd_loss`), as `kerasnotes.ops.ssd_targets` makes
            them.
        y_pred: dict of TinySSD outputs.

    Example:

    >>> SSDLoss()(y_true, model(images))
    """

    def __init__(self, negative_ratio=None, reduction="sum_over_batch_size", name="ssd_loss",
                 dtype=None, jit_compile=True):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if negative_ratio is not None and not (
            isinstance(negative_ratio, numbers.Real) and not isinstance(negative_ratio, bool)
            and negative_ratio > 0
        ):
            raise ValueError("SSDLoss: negative_ratio must be None or a number > 0; received "
                             f"negative_ratio={negative_ratio!r}")
        self.negative_ratio = None if negative_ratio is None else float(negative_ratio)
        self.jit_compile = bool(jit_compile)

    def call(self, y_true, y_pred):
        loss = compiled_ssd_loss if self.jit_compile else ssd_loss
        return loss(y_true, y_pred, self.negative_ratio)

    def get_config(self):
        config = super().get_config()
        config.update({"negative_ratio": self.negative_ratio, "jit_compile": self.jit_compile})
        return config
