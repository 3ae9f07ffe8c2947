"""The TensorBoard picture of detections written after every epoch."""

import numpy as np
import tensorflow as tf

from kerasnotes.serving.drawing import draw_boxes_tf
from kerasnotes.training.callbacks.detection_images import DetectionImagesSummary


def test_detection_images_summary_writes_the_drawn_boxes(tmp_path):
    images = tf.zeros((2, 32, 32, 3))
    labels = tf.constant([[[0, 0.1, 0.1, 0.5, 0.5]], [[-1, 0.0, 0.0, 0.0, 0.0]]])
    detections = tf.constant([[[0, 0.9, 0.5, 0.5, 0.9, 0.9]], [[0, 0.2, 0.1, 0.1, 0.9, 0.9]]])
    summary = DetectionImagesSummary(lambda pixels: detections, images, labels, 0.5)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        summary.on_epoch_end(3)
    writer.flush()
    events = [event for path in tmp_path.iterdir()
              for event in tf.compat.v1.train.summary_iterator(str(path))]
    values = [(event.step, value) for event in events for value in event.summary.value]
    assert [(step, value.tag) for step, value in values] == [(3, "validation_detections")]
    # The summary's tensor: width, height, then one PNG per image, drawn by draw_boxes_tf.
    encoded = tf.make_ndarray(values[0][1].tensor)
    assert len(encoded) == 2 + 2
    expected = draw_boxes_tf(images, labels, detections, 0.5)
    decoded = [tf.io.decode_png(picture).numpy() for picture in encoded[2:]]
    for i in range(2):
        np.testing.assert_array_equal(
            decoded[i], tf.cast(tf.round(expected[i] * 255), tf.uint8).numpy())
    # Image 0: the green ground truth and the red detection (its score 0.9 >= 0.5).
    colors = {tuple(pixel) for pixel in decoded[0].reshape(-1, 3)}
    assert {(0, 255, 0), (255, 0, 0)} <= colors
