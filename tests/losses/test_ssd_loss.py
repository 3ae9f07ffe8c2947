"""The SSD loss against a NumPy computation, and its gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.losses.ssd_loss import SSDLoss, ssd_loss
from tests.test_case import assert_same_values_and_gradients, random_inputs


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


@pytest.mark.parametrize("ratio", [1.0, 3.0])
def test_hard_negative_mining_equals_numpy(ratio):
    labels, target, mask, logits, offsets = example(batch=4, anchors=12, seed=5)
    labels[3] = 0  # an image without objects keeps `ratio` negatives, divides by 1
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


def test_bad_input():
    with pytest.raises(ValueError, match="negative_ratio=0"):
        SSDLoss(negative_ratio=0)
    labels, target, mask, logits, offsets = example()
    y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
    with pytest.raises(ValueError, match="y_pred must be a dict"):
        ssd_loss(y_true, logits)
    with pytest.raises(ValueError, match="bbox_mask"):
        ssd_loss({"class_labels": labels, "bbox_offsets": target},
                 {"class_logits": logits, "bbox_offsets": offsets})
    with pytest.raises(ValueError, match="box offsets and mask"):
        ssd_loss(y_true, {"class_logits": logits, "bbox_offsets": offsets[:, :8]})
