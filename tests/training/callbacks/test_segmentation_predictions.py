"""The TensorBoard panel input | ground truth | prediction written after every epoch."""

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.data.segmentation.voc_colormap import VOC_COLORMAP
from kerasnotes.serving.drawing import segmentation_panel
from kerasnotes.training.callbacks.segmentation_predictions import (
    SegmentationPredictionsSummary,
)


class Constant(keras.Model):
    """Scores class `k` highest at every pixel (3 classes)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def call(self, images, training=False):
        scores = tf.one_hot(tf.fill(tf.shape(images)[:3], self.k), 3)
        return scores + 0.0 * images[..., :1]


def test_the_panel_shows_the_model_s_prediction(tmp_path):
    images = tf.zeros((2, 8, 10, 3))
    labels = tf.concat([tf.zeros((2, 8, 5), tf.int32), tf.ones((2, 8, 5), tf.int32)], axis=2)
    summary = SegmentationPredictionsSummary(images, labels)
    summary.set_model(Constant(2))
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        summary.on_epoch_end(4)
    writer.flush()
    events = [event for path in tmp_path.iterdir()
              for event in tf.compat.v1.train.summary_iterator(str(path))]
    values = [(event.step, value) for event in events for value in event.summary.value]
    assert [(step, value.tag) for step, value in values] == [(4, "input_truth_prediction")]
    encoded = tf.make_ndarray(values[0][1].tensor)
    assert len(encoded) == 2 + 2  # width, height, one PNG per image
    panel = tf.io.decode_png(encoded[2]).numpy()
    assert panel.shape == (8, 30, 3)  # input | truth | prediction side by side
    expected = segmentation_panel(images, labels, tf.fill((2, 8, 10), 2))[0]
    # The summary's float -> uint8 conversion may differ from rounding by 1 (the input's third).
    np.testing.assert_allclose(panel, expected.numpy() * 255, atol=1)
    # The prediction third is class 2 everywhere; the truth third shows classes 0 and 1.
    assert {tuple(p) for p in panel[:, 20:].reshape(-1, 3).tolist()} == {VOC_COLORMAP[2]}
    assert {tuple(p) for p in panel[:, 10:20].reshape(-1, 3).tolist()} == {
        tuple(VOC_COLORMAP[0]), tuple(VOC_COLORMAP[1])}
