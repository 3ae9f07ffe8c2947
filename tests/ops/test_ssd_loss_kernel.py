"""The SSD loss kernel (`SsdLossWithGradient`) against `ssd_loss` and its TF gradients, and
when `compiled_ssd_loss` uses it (tests/losses/test_ssd_loss.py checks it by both paths)."""

import importlib

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops import custom_op_build
from kerasnotes.ops.ssd_loss_kernel import load_ssd_loss_kernel

# The module, not the function of the same name that kerasnotes.losses exports.
ssd_loss_module = importlib.import_module("kerasnotes.losses.ssd_loss")


@pytest.fixture(scope="session")
def ops():
    """The kernel's ops (skipped without a C++ compiler)."""
    if custom_op_build.compiler() is None:
        pytest.skip("no C++ compiler")
    return load_ssd_loss_kernel()


def reference(labels, target, mask, logits, offsets, ratio):
    """`ssd_loss` per image and the gradients of its sum, op by op in TF."""
    logits, offsets = tf.constant(logits), tf.constant(offsets)
    with tf.GradientTape() as tape:
        tape.watch([logits, offsets])
        losses = ssd_loss_module.ssd_loss(
            {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask},
            {"class_logits": logits, "bbox_offsets": offsets}, ratio)
        total = tf.reduce_sum(losses)
    return (losses.numpy(), *(g.numpy() for g in tape.gradient(total, [logits, offsets])))


def kernel(ops, labels, target, mask, logits, offsets, ratio):
    return [t.numpy() for t in ssd_loss_module._kernel_losses_and_gradients(
        ops, tf.constant(labels), tf.constant(target), tf.constant(mask), tf.constant(logits),
        tf.constant(offsets), ratio)]


def batch(seed, images=6, anchors=300, classes=5, positives=(0, 1, 3, 12, 40, 300),
          ties=True):
    """Images with 0 to all positive anchors; logits rounded to 0.1 so that many cross-
    entropies tie; some box errors exactly 0."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((images, anchors), "int32")
    for i in range(images):
        count = positives[i % len(positives)]
        labels[i, rng.choice(anchors, count, replace=False)] = rng.integers(1, classes, count)
    logits = rng.uniform(-3, 3, (images, anchors, classes))
    logits = (np.round(logits, 1) if ties else logits).astype("float32")
    mask = np.repeat(labels > 0, 4, axis=1).astype("float32")
    target = (rng.normal(size=(images, 4 * anchors)) * mask).astype("float32")
    offsets = rng.normal(size=(images, 4 * anchors)).astype("float32")
    offsets[:, ::7] = target[:, ::7]  # errors of exactly 0: a gradient of 0
    return labels, target, mask, logits, offsets


@pytest.mark.parametrize("ratio", [None, 3.0, 0.5, 0.25, 1.5, 100.0])
def test_kernel_equals_ssd_loss_and_its_gradients(ops, ratio):
    # Ratio 0.25 asks for no negative in images of < 4 positives, 100 for more than there
    # are; the tied cross-entropies check the lower-index-first choice through the gradient
    # (a chosen anchor's row is nonzero).
    inputs = batch(seed=3)
    for want, got in zip(reference(*inputs, ratio), kernel(ops, *inputs, ratio), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
        assert got.dtype == np.float32


def test_kernel_chooses_the_same_anchors_as_ssd_loss_among_ties(ops):
    # Every logit 0 or 1: thousands of equal cross-entropies per image.
    labels, target, mask, logits, offsets = batch(seed=5, anchors=2000)
    logits = (logits > 0).astype("float32")
    _, want, _ = reference(labels, target, mask, logits, offsets, 3.0)
    _, got, _ = kernel(ops, labels, target, mask, logits, offsets, 3.0)
    np.testing.assert_array_equal(np.abs(got).sum(-1) > 0, np.abs(want).sum(-1) > 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_kernel_hand_worked(ops):
    # One image, anchors 0-3, anchor 3 positive (class 1, logits (0, 2)): P = 1, ratio 2
    # chooses the 2 negatives of largest CE. Logits (0, 0): CE log 2; (0, -1): log(1+e^-1)
    # for class 0. Negatives 0 and 2 tie at log 2 > anchor 1's CE: 0 and 2 are chosen.
    labels = np.array([[0, 0, 0, 1]], "int32")
    logits = np.array([[[0, 0], [0, -1], [0, 0], [0, 2]]], "float32")
    target = np.zeros((1, 16), "float32")
    mask = np.array([[0] * 12 + [1] * 4], "float32")
    offsets = np.array([[0.5] * 12 + [0.5, -0.25, 0.0, 1.0]], "float32")
    losses, d_logits, d_offsets = kernel(ops, labels, target, mask, logits, offsets, 2.0)
    ce_positive = np.log(1 + np.exp(-2.0))
    np.testing.assert_allclose(losses, [2 * np.log(2) + ce_positive + 1.75], rtol=1e-6)
    assert (np.abs(d_logits[0]).sum(-1) > 0).tolist() == [True, False, True, True]
    np.testing.assert_allclose(d_logits[0, 0], [0.5 - 1, 0.5], rtol=1e-6)
    np.testing.assert_allclose(d_offsets[0], [0] * 12 + [1, -1, 0, 1])


def test_kernel_without_hard_negatives_is_the_notes_mean(ops):
    labels, target, mask, logits, offsets = batch(seed=9, ties=False)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    expected = ce.mean(1) + np.abs(mask * (offsets - target)).mean(1)
    losses, _, _ = kernel(ops, labels, target, mask, logits, offsets, None)
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


def test_a_nan_logit_makes_its_image_nan_as_ssd_loss_does(ops):
    inputs = batch(seed=11, images=3)
    inputs[3][1, 7, 2] = np.nan
    want, got = reference(*inputs, 3.0), kernel(ops, *inputs, 3.0)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        finite = ~np.isnan(w)
        np.testing.assert_allclose(g[finite], w[finite], rtol=1e-5, atol=1e-7)
    assert np.isnan(got[0]).tolist() == [False, True, False]


def test_kernel_is_deterministic_across_threads(ops):
    inputs = batch(seed=13, images=32, anchors=1364, ties=False)
    first = kernel(ops, *inputs, 3.0)
    for _ in range(3):
        for a, b in zip(first, kernel(ops, *inputs, 3.0), strict=True):
            np.testing.assert_array_equal(a, b)


def test_kernel_rejects_mismatched_shapes(ops):
    labels, target, mask, logits, offsets = batch(seed=1, images=2, anchors=10)
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be \\[2,40\\]"):
        ops.ssd_loss_with_gradient(labels, target[:, :36], mask, logits, offsets,
                                   hard_negatives=True, negative_ratio=3.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels \\[2,9\\] do not match"):
        ops.ssd_loss_with_gradient(labels[:, :9], target, mask, logits, offsets,
                                   hard_negatives=True, negative_ratio=3.0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least one class"):
        ops.ssd_loss_with_gradient(labels, target, mask, logits[:, :, :0], offsets,
                                   hard_negatives=True, negative_ratio=3.0)


def test_bfloat16_predictions_take_the_xla_path(ops):
    labels, target, mask, logits, offsets = batch(seed=19, images=2, anchors=20)
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
    graph = tf.function(lambda logits: ssd_loss_module.compiled_ssd_loss(
        y_true, {"class_logits": logits, "bbox_offsets": offsets}, 3.0)).get_concrete_function(
        tf.constant(logits, tf.bfloat16)).graph
    assert "SsdLossWithGradient" not in {op.type for op in graph.get_operations()}


def test_without_a_compiler_the_loss_warns_once_and_uses_xla(tmp_path, monkeypatch, caplog):
    from kerasnotes.ops.ssd_loss_kernel import build

    monkeypatch.setenv("KERASNOTES_OPS_CACHE", str(tmp_path / "cache"))  # nothing built
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setattr(build, "_LOADED", {})
    monkeypatch.delitem(ssd_loss_module._KERNEL, "ops", raising=False)
    labels, target, mask, logits, offsets = batch(seed=23, images=2, anchors=30)
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
    y_pred = {"class_logits": logits, "bbox_offsets": offsets}
    with caplog.at_level("WARNING"):
        for _ in range(2):
            np.testing.assert_allclose(ssd_loss_module.compiled_ssd_loss(y_true, y_pred, 3.0),
                                       ssd_loss_module.ssd_loss(y_true, y_pred, 3.0),
                                       rtol=1e-5)
    warnings = [r.getMessage() for r in caplog.records if "compiled_ssd_loss" in r.getMessage()]
    assert len(warnings) == 1 and "no C++ compiler" in warnings[0] and "using XLA" in warnings[0]


def test_inside_a_jit_compiled_function_the_loss_takes_the_xla_path(ops):
    # XLA has no kernel for a custom op: a user's jit_compile=True step must still work.
    labels, target, mask, logits, offsets = batch(seed=29, images=2, anchors=20)
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}

    @tf.function(jit_compile=True)
    def loss_and_gradient(logits):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            losses = ssd_loss_module.compiled_ssd_loss(
                y_true, {"class_logits": logits, "bbox_offsets": offsets}, 3.0)
            total = tf.reduce_sum(losses)
        return losses, tape.gradient(total, logits)

    losses, gradient = loss_and_gradient(tf.constant(logits))
    want = reference(labels, target, mask, logits, offsets, 3.0)
    np.testing.assert_allclose(losses, want[0], rtol=1e-5)
    np.testing.assert_allclose(gradient, want[1], rtol=1e-5, atol=1e-7)
