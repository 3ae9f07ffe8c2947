"""correct_predictions: which images a classifier gets right, in batches, scaled as trained."""

import keras
import numpy as np
import pytest

from kerasnotes.metrics.correct_predictions import correct_predictions


class MeanBrightness(keras.Model):
    """Class 1 when the mean pixel (scaled to [0, 1]) is over 0.5, else class 0; records the
    batch sizes and the largest input value it saw."""

    def __init__(self):
        super().__init__()
        self.batches, self.largest = [], 0.0

    def call(self, images, training=None):
        assert training is False
        images = np.asarray(images)
        self.batches.append(len(images))
        self.largest = max(self.largest, float(images.max()))
        mean = images.reshape(len(images), -1).mean(-1)
        return np.stack([0.5 - mean, mean - 0.5], -1)


def test_counts_right_and_wrong_in_batches_on_scaled_images():
    images = np.stack([np.full((2, 2, 1), v, np.uint8) for v in (0, 255, 10, 250, 200)])
    labels = np.array([0, 1, 1, 1, 0])
    model = MeanBrightness()
    correct = correct_predictions(model, images, labels, batch_size=2)
    np.testing.assert_array_equal(correct, [True, True, False, True, False])
    assert correct.dtype == bool and model.batches == [2, 2, 1] and model.largest == 1.0


def test_no_images_and_bad_arguments():
    empty = correct_predictions(MeanBrightness(), np.zeros((0, 2, 2, 1)), np.zeros((0,)))
    assert empty.shape == (0,) and empty.dtype == bool
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        correct_predictions(MeanBrightness(), np.zeros((3, 2, 2, 1)), [0, 1])
    with pytest.raises(ValueError, match="batch_size"):
        correct_predictions(MeanBrightness(), np.zeros((3, 2, 2, 1)), [0, 1, 0], batch_size=0)
