"""The SSD loss against a NumPy computation, and its gradients."""

import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.losses.ssd_loss import (
    SSDLoss,
    _losses_and_gradients,
    compiled_ssd_loss,
    hardest_negatives,
    ssd_loss,
)
from kerasnotes.ops import custom_op_build
from kerasnotes.ops.ssd_loss_kernel import load_ssd_loss_kernel
from tests.test_case import assert_same_values_and_gradients, random_inputs

# The module, not the function of the same name that kerasnotes.losses exports.
ssd_loss_module = importlib.import_module("kerasnotes.losses.ssd_loss")


def numpy_ssd_loss(labels, target, mask, logits, offsets):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    return ce.mean(1) + np.abs(mask * (offsets - target)).mean(1)


def example(batch=3, anchors=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes + 1, (batch, anchors)).astype("int32")
    mask = np.repeat(labels > 0, 4, axis=1).astype("float32")
    target = random_inputs((batch, 4 * anchors), seed=seed + 1) * mask
    logits = random_inputs((batch, anchors, classes + 1), seed=seed + 2, low=-3, high=3)
    offsets = random_inputs((batch, 4 * anchors), seed=seed + 3)
    return labels, target, mask, logits, offsets


def test_loss_equals_numpy_and_keras_builtins():
    labels, target, mask, logits, offsets = example()
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
    y_pred = {"class_logits": logits, "bbox_offsets": offsets}
    expected = numpy_ssd_loss(labels, target, mask, logits, offsets)
    np.testing.assert_allclose(ssd_loss(y_true, y_pred), expected, atol=1e-5)
    np.testing.assert_allclose(float(SSDLoss()(y_true, y_pred)), expected.mean(), atol=1e-5)

    builtin_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def ours(logits, offsets):
        return ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": offsets})

    def reference(logits, offsets):
        ce = tf.reduce_mean(builtin_ce(labels, logits), axis=1)
        l1 = tf.reduce_mean(tf.abs(mask * offsets - mask * target), axis=1)
        return ce + l1

    assert_same_values_and_gradients(ours, reference, [logits, offsets])


def test_hand_worked_value():
    # Two anchors, uniform logits over 2 classes (log 2 each), one positive anchor whose four
    # offsets are all off by 1: L1 mean = 4 / 8.
    y_true = {"class_labels": np.array([[0, 1]]), "bbox_offsets": np.ones((1, 8), "float32"),
              "bbox_mask": np.array([[0, 0, 0, 0, 1, 1, 1, 1]], "float32")}
    y_pred = {"class_logits": np.zeros((1, 2, 2), "float32"),
              "bbox_offsets": np.zeros((1, 8), "float32")}
    np.testing.assert_allclose(ssd_loss(y_true, y_pred), [np.log(2) + 0.5], atol=1e-6)


def test_masked_offsets_do_not_count():
    labels, target, mask, logits, offsets = example()
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
    noisy = offsets + 100.0 * (1 - mask)
    np.testing.assert_allclose(
        ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": offsets}),
        ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": noisy}), atol=1e-5)


def test_config_round_trip():
    assert SSDLoss.from_config(SSDLoss().get_config()).get_config() == SSDLoss().get_config()
    assert SSDLoss(negative_ratio=3).get_config()["negative_ratio"] == 3.0
    assert SSDLoss.from_config(SSDLoss(jit_compile=False).get_config()).jit_compile is False


def numpy_hard_negative_loss(labels, target, mask, logits, offsets, ratio):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    losses = []
    for i in range(len(labels)):
        positive = labels[i] > 0
        count = positive.sum()
        negatives = np.flatnonzero(~positive)
        keep = int(max(ratio * count, ratio))
        hard = negatives[np.argsort(-ce[i, negatives], kind="stable")[:keep]]
        total = ce[i, positive].sum() + ce[i, hard].sum()
        total += np.abs(mask[i] * (offsets[i] - target[i])).sum()
        losses.append(total / max(count, 1))
    return np.array(losses)


# Fractional ratios keep floor(ratio * P) negatives (floor(ratio) without positives).
@pytest.mark.parametrize("ratio", [1.0, 3.0, 0.5, 1.5, 2.7])
def test_hard_negative_mining_equals_numpy(ratio):
    labels, target, mask, logits, offsets = example(batch=4, anchors=12, seed=5)
    labels[3] = 0  # an image without objects keeps floor(ratio) negatives, divides by 1
    mask[3] = 0
    y_true = {"class_labels": labels, "bbox_offsets": target * mask, "bbox_mask": mask}
    y_pred = {"class_logits": logits, "bbox_offsets": offsets}
    expected = numpy_hard_negative_loss(labels, target * mask, mask, logits, offsets, ratio)
    np.testing.assert_allclose(ssd_loss(y_true, y_pred, negative_ratio=ratio), expected,
                               rtol=1e-5)
    loss = SSDLoss(negative_ratio=ratio)
    np.testing.assert_allclose(float(loss(y_true, y_pred)), expected.mean(), rtol=1e-5)
    assert SSDLoss.from_config(loss.get_config()).negative_ratio == ratio


def test_hard_negative_mining_hand_worked():
    # One positive (uniform logits: CE log 2) and three negatives with CE log(1 + e^k) for
    # logits (0, k): k = 2, 0, 1. Ratio 1 keeps the hardest negative (k = 2).
    logits = np.array([[[0, 0], [0, 2], [0, 0], [0, 1]]], "float32")
    y_true = {"class_labels": np.array([[1, 0, 0, 0]]), "bbox_offsets": np.zeros((1, 16)),
              "bbox_mask": np.zeros((1, 16))}
    y_pred = {"class_logits": logits, "bbox_offsets": np.zeros((1, 16), "float32")}
    np.testing.assert_allclose(ssd_loss(y_true, y_pred, negative_ratio=1),
                               [np.log(2) + np.log(1 + np.e ** 2)], rtol=1e-6)


def test_hard_negatives_tie_break_by_lower_index_and_stop_at_the_background():
    # Image 0: one positive and five negatives of equal loss: ratio 2 keeps anchors 1 and 2.
    # Image 1: one positive and two negatives: ratio 5 wants 5, gets both, not the positive.
    logits = np.zeros((2, 6, 2), "float32")
    logits[0, 0] = [0.0, 3.0]
    logits[1, 3:] = [0.0, 50.0]  # absent from image 1's sum: their CE would be ~50
    labels = np.array([[1, 0, 0, 0, 0, 0], [1, 0, 0, 1, 1, 1]], "int32")
    labels[1, 3:] = 1
    mask = np.zeros((2, 24), "float32")
    y_true = {"class_labels": labels, "bbox_offsets": mask, "bbox_mask": mask}
    y_pred = {"class_logits": logits, "bbox_offsets": mask}
    log2 = np.log(2.0)
    ce_positive = np.log(1 + np.exp(-3.0))
    np.testing.assert_allclose(ssd_loss(y_true, y_pred, negative_ratio=2)[0],
                               ce_positive + 2 * log2, rtol=1e-6)
    losses = ssd_loss(y_true, y_pred, negative_ratio=5)
    positives_1 = log2 + 3 * np.log(1 + np.exp(-50.0))
    np.testing.assert_allclose(losses[1], (positives_1 + 2 * log2) / 4, rtol=1e-6)
    # Which negatives: image 0 with ratio 2 picks the lowest indices among equal losses.
    grad_logits = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = ssd_loss(y_true, {"class_logits": grad_logits, "bbox_offsets": mask},
                        negative_ratio=2)[0]
    touched = np.abs(tape.gradient(loss, grad_logits).numpy()[0]).sum(-1) > 0
    assert touched.tolist() == [True, True, True, False, False, False]


def test_hard_negative_counts_are_exact_with_bfloat16_logits():
    # 301 positives and ratio 3: 903 negatives of 1,500 anchors; bfloat16 holds neither 301
    # nor 903 (they round to 300 and 904), so the counts must not be kept in its dtype.
    rng = np.random.default_rng(3)
    labels = np.zeros((1, 1500), "int32")
    labels[0, rng.choice(1500, 301, replace=False)] = 1
    logits = tf.Variable(tf.constant(rng.uniform(-3, 3, (1, 1500, 2)), tf.bfloat16))
    zeros = tf.zeros((1, 6000), tf.bfloat16)
    y_true = {"class_labels": labels, "bbox_offsets": zeros, "bbox_mask": zeros}
    with tf.GradientTape() as tape:
        loss = ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": zeros},
                        negative_ratio=3)
    selected = np.abs(tf.cast(tape.gradient(loss, logits), tf.float32).numpy()).sum(-1) > 0
    assert selected.sum() == 301 + 903
    rounded = tf.cast(logits, tf.float32).numpy()
    expected = numpy_hard_negative_loss(labels, np.zeros((1, 6000)), np.zeros((1, 6000)),
                                        rounded, np.zeros((1, 6000)), 3)
    np.testing.assert_allclose(tf.cast(loss, tf.float32), expected, rtol=1e-2)


def test_hard_negative_mining_with_unknown_batch_and_anchors_and_gradients():
    labels, target, mask, logits, offsets = example(batch=4, anchors=30, seed=11)
    y_true = {"class_labels": labels, "bbox_offsets": target * mask, "bbox_mask": mask}
    expected = numpy_hard_negative_loss(labels, target * mask, mask, logits, offsets, 3)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32),
                                  tf.TensorSpec([None, None], tf.float32),
                                  tf.TensorSpec([None, None], tf.float32),
                                  tf.TensorSpec([None, None, logits.shape[-1]], tf.float32),
                                  tf.TensorSpec([None, None], tf.float32)])
    def loss_and_gradient(labels, target, mask, logits, offsets):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = ssd_loss({"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask},
                            {"class_logits": logits, "bbox_offsets": offsets},
                            negative_ratio=3)
        return loss, tape.gradient(loss, logits)

    loss, gradient = loss_and_gradient(labels, target * mask, mask, logits, offsets)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    # The gradient: softmax - one-hot on the positives and the selected negatives only.
    probs = tf.nn.softmax(logits).numpy()
    selected = np.abs(gradient.numpy()).sum(-1) > 0
    one_hot = np.eye(logits.shape[-1])[labels]
    num_positive = np.maximum((labels > 0).sum(1), 1)[:, None, None]
    np.testing.assert_allclose(gradient, selected[..., None] * (probs - one_hot) / num_positive,
                               atol=1e-6)
    assert (selected.sum(1) == (labels > 0).sum(1) + np.minimum(
        3 * (labels > 0).sum(1), (labels == 0).sum(1))).all()
    y_pred = {"class_logits": logits, "bbox_offsets": offsets}
    assert float(SSDLoss(negative_ratio=3)(y_true, y_pred)) == pytest.approx(expected.mean(),
                                                                             rel=1e-5)

def test_hardest_negatives_hand_worked():
    # Keys equal to the threshold go in anchor order; -0.0 and NaN count as 0; a count
    # larger than the negatives takes them all and never a positive.
    loss = np.array([[0.5, 2.0, 0.5, 1.0, 0.5],
                     [-0.0, np.nan, 0.0, 3.0, 1.0]], "float32")
    is_positive = np.array([[0, 0, 0, 1, 0], [0, 0, 0, 0, 1]]) > 0
    chosen = hardest_negatives(loss, is_positive, np.array([[3], [9]]))
    assert np.asarray(chosen).tolist() == [[True, True, True, False, False],
                                           [True, True, True, True, False]]
    none = hardest_negatives(loss, is_positive, np.array([[0], [1]]))
    assert np.asarray(none).tolist() == [[False] * 5, [False, False, False, True, False]]


@pytest.fixture(params=["kernel", "xla"])
def loss_path(request, monkeypatch):
    """`compiled_ssd_loss` by the C++ kernel (skipped without a compiler), or by XLA as
    where the kernel is unavailable."""
    kernel = None
    if request.param == "kernel":
        if custom_op_build.compiler() is None:
            pytest.skip("no C++ compiler")
        kernel = load_ssd_loss_kernel()
    monkeypatch.setitem(ssd_loss_module._KERNEL, "ops", kernel)
    return request.param


@pytest.mark.parametrize("ratio", [None, 3.0, 0.5])
def test_compiled_loss_equals_ssd_loss_in_values_and_gradients(ratio, loss_path):
    # Several images, each with its own number of positives (0 to 12 of 40 anchors) and
    # tied losses, weighted per image so the backward pass's u_i * g_i is checked too.
    rng = np.random.default_rng(7)
    labels = np.zeros((6, 40), "int32")
    for i in range(6):
        labels[i, rng.choice(40, 2 * i, replace=False)] = rng.integers(1, 4, 2 * i)
    mask = np.repeat(labels > 0, 4, axis=1).astype("float32")
    logits = np.round(rng.uniform(-2, 2, (6, 40, 4)), 1).astype("float32")
    y_true = {"class_labels": labels, "bbox_offsets": rng.normal(size=(6, 160)) * mask,
              "bbox_mask": mask}
    offsets = rng.normal(size=(6, 160)).astype("float32")
    weights = tf.constant(rng.uniform(0.5, 2.0, 6), tf.float32)

    @tf.function
    def losses_and_gradients(loss_fn, logits, offsets):
        with tf.GradientTape() as tape:
            tape.watch([logits, offsets])
            losses = loss_fn(y_true, {"class_logits": logits, "bbox_offsets": offsets}, ratio)
            total = tf.reduce_sum(weights * losses)
        return (losses, *tape.gradient(total, [logits, offsets]))

    expected = losses_and_gradients(ssd_loss, tf.constant(logits), tf.constant(offsets))
    compiled = losses_and_gradients(compiled_ssd_loss, tf.constant(logits),
                                    tf.constant(offsets))
    graph = losses_and_gradients.get_concrete_function(
        compiled_ssd_loss, tf.constant(logits), tf.constant(offsets)).graph
    kernel_ops = [op for op in graph.get_operations() if op.type == "SsdLossWithGradient"]
    assert bool(kernel_ops) == (loss_path == "kernel")
    for want, got in zip(expected, compiled, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    if ratio is not None:
        expected_losses = numpy_hard_negative_loss(labels, y_true["bbox_offsets"], mask,
                                                   logits, offsets, ratio)
        np.testing.assert_allclose(compiled[0], expected_losses, rtol=1e-5)
    for jit_compile in (True, False):
        loss = SSDLoss(negative_ratio=ratio, jit_compile=jit_compile)
        assert float(loss(y_true, {"class_logits": logits, "bbox_offsets": offsets})) == (
            pytest.approx(float(tf.reduce_mean(expected[0])), rel=1e-5))


def test_compiled_loss_after_other_shapes_in_the_same_process():
    # Calls with other batch, anchor and class counts must not loosen the shapes a later
    # call is traced with (the class count must stay known).
    for batch, anchors, classes in [(2, 5, 2), (3, 7, 3), (4, 6, 5), (2, 9, 4), (3, 5, 2)]:
        labels, target, mask, logits, offsets = example(batch, anchors, classes, seed=batch)
        y_true = {"class_labels": labels, "bbox_offsets": target * mask, "bbox_mask": mask}
        y_pred = {"class_logits": logits, "bbox_offsets": offsets}
        np.testing.assert_allclose(compiled_ssd_loss(y_true, y_pred, negative_ratio=3),
                                   ssd_loss(y_true, y_pred, negative_ratio=3), rtol=1e-5)


def test_compiled_loss_compiles_once_for_every_batch_of_labels():
    # No compile-time constant depends on the labels (a top-k of data-dependent k would
    # make XLA compile the loss anew for every batch): the loss compiles for abstract
    # inputs of a fixed shape.
    specs = [tf.TensorSpec((4, 10), tf.int32), tf.TensorSpec((4, 40)), tf.TensorSpec((4, 40)),
             tf.TensorSpec((4, 10, 3)), tf.TensorSpec((4, 40))]
    with_ratio_3 = tf.function(lambda *inputs: _losses_and_gradients(*inputs, 3.0),
                               jit_compile=True)
    hlo = with_ratio_3.experimental_get_compiler_ir(*specs)(stage="hlo")
    assert "ENTRY" in hlo


def test_compiled_loss_gives_each_prediction_its_dtype():
    labels, target, mask, logits, offsets = example(batch=2, anchors=6, seed=2)
    y_true = {"class_labels": labels, "bbox_offsets": target * mask, "bbox_mask": mask}
    logits = tf.constant(logits, tf.bfloat16)
    offsets = tf.constant(offsets, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([logits, offsets])
        losses = compiled_ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": offsets},
                                   negative_ratio=3)
    logits_gradient, offsets_gradient = tape.gradient(losses, [logits, offsets])
    assert (losses.dtype, logits_gradient.dtype, offsets_gradient.dtype) == (
        tf.bfloat16, tf.bfloat16, tf.float32)
    expected = ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": offsets},
                        negative_ratio=3)
    np.testing.assert_allclose(tf.cast(losses, tf.float32), tf.cast(expected, tf.float32),
                               rtol=1e-2)


def test_bad_input():
    with pytest.raises(ValueError, match="negative_ratio=0"):
        SSDLoss(negative_ratio=0)
    # The compiled loss checks before tracing: one line, not TF's "in user code" dump.
    zeros = np.zeros((2, 20), "float32")
    with pytest.raises(ValueError) as error:
        SSDLoss(negative_ratio=3)(
            {"class_labels": np.zeros((2, 5)), "bbox_offsets": zeros, "bbox_mask": zeros},
            {"class_logits": np.zeros((2, 6, 3), "float32"), "bbox_offsets": zeros})
    assert str(error.value).splitlines() == [
        "ssd_loss: class_labels must have shape (batch, A) and class_logits (batch, A, "
        "num_classes + 1); received (2, 5) and (2, 6, 3)"]
    labels, target, mask, logits, offsets = example()
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
    with pytest.raises(ValueError, match="y_pred must be a dict"):
        ssd_loss(y_true, logits)
    with pytest.raises(ValueError, match="bbox_mask"):
        ssd_loss({"class_labels": labels, "bbox_offsets": target},
                 {"class_logits": logits, "bbox_offsets": offsets})
    with pytest.raises(ValueError, match="box offsets and mask"):
        ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": offsets[:, :8]})
