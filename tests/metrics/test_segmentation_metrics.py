"""Pixel accuracy and mean IoU (ignoring 255), and the per-pixel cross-entropy loss."""

import keras
import numpy as np
import pytest

from kerasnotes.losses.pixel_cross_entropy import (
    PixelSoftmaxCrossEntropy,
    pixel_softmax_cross_entropy,
)
from kerasnotes.metrics.segmentation_metrics import MeanIoU, PixelAccuracy
from tests.test_case import assert_config_round_trip, assert_same_values_and_gradients


def random_batch(seed, num_classes=4, shape=(3, 5, 6)):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, shape)
    labels[rng.random(shape) < 0.2] = 255
    logits = rng.normal(size=(*shape, num_classes)).astype("float32")
    return labels, logits


def numpy_metrics(labels, logits, num_classes):
    predicted = logits.argmax(-1)
    valid = labels != 255
    accuracy = (predicted[valid] == labels[valid]).mean()
    ious = []
    for c in range(num_classes):
        inter = ((predicted == c) & (labels == c) & valid).sum()
        union = (((predicted == c) | (labels == c)) & valid).sum()
        if union:
            ious.append(inter / union)
    return accuracy, np.mean(ious)


def test_match_numpy_and_keras_over_several_batches():
    accuracy, miou = PixelAccuracy(4), MeanIoU(4)
    keras_miou = keras.metrics.MeanIoU(4, ignore_class=255, sparse_y_pred=False)
    all_labels, all_logits = [], []
    for seed in range(3):
        labels, logits = random_batch(seed)
        for metric in (accuracy, miou, keras_miou):
            metric.update_state(labels, logits)
        all_labels.append(labels)
        all_logits.append(logits)
    expected_accuracy, expected_miou = numpy_metrics(np.concatenate(all_labels),
                                                     np.concatenate(all_logits), 4)
    np.testing.assert_allclose(float(accuracy.result()), expected_accuracy, atol=1e-6)
    np.testing.assert_allclose(float(miou.result()), expected_miou, atol=1e-6)
    np.testing.assert_allclose(float(miou.result()), float(keras_miou.result()), atol=1e-6)
    miou.reset_state()
    assert float(miou.result()) == 0.0


def test_classes_absent_everywhere_do_not_count():
    labels = np.array([[0, 0, 1, 255]])
    logits = np.eye(5, dtype="float32")[[0, 1, 1, 3]][None]
    miou = MeanIoU(5)
    miou.update_state(labels, logits)
    # class 0: 1 / 2, class 1: 1 / 2; classes 2-4 never appear; the 255 pixel is ignored.
    np.testing.assert_allclose(float(miou.result()), 0.5)


def test_metric_config_and_bad_arguments():
    for metric in (PixelAccuracy(3), MeanIoU(3, ignore_label=7)):
        rebuilt = assert_config_round_trip(metric)
        assert rebuilt.num_classes == 3
    with pytest.raises(ValueError, match="num_classes"):
        MeanIoU(0)
    with pytest.raises(ValueError, match="ignore_label"):
        PixelAccuracy(3, ignore_label="x")


def test_loss_is_the_mean_over_labelled_pixels():
    labels, logits = random_batch(5)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = []
    for n in range(labels.shape[0]):
        valid = labels[n] != 255
        picked = np.take_along_axis(log_probs[n], np.where(valid, labels[n], 0)[..., None], -1)
        expected.append(-picked[..., 0][valid].mean())
    np.testing.assert_allclose(pixel_softmax_cross_entropy(labels, logits), expected, atol=1e-5)


def test_loss_equals_keras_with_ignore_class_on_one_image():
    labels, logits = random_batch(6, shape=(1, 4, 5))
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    assert_same_values_and_gradients(
        lambda z: PixelSoftmaxCrossEntropy()(labels, z),
        lambda z: keras_loss(labels, z),
        [logits],
    )
    assert_config_round_trip(PixelSoftmaxCrossEntropy(ignore_label=7))


def test_loss_bad_shapes():
    with pytest.raises(ValueError, match="y_true must be"):
        pixel_softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 3, 4)))
