"""The mAP callback: the detector's mAP on the batches in the logs, after every epoch."""

import tensorflow as tf

from kerasnotes.metrics.mean_average_precision import detector_map
from kerasnotes.training.callbacks.mean_average_precision import MeanAveragePrecisionCallback

A = [0.1, 0.1, 0.4, 0.4]
FAR = [0.0, 0.6, 0.2, 0.8]


def two_batches_and_a_detector():
    """Two batches of one image each (image i is filled with i) and a detector of them:
    image 0 found exactly, image 1 found at the wrong place (AP 0.5 over the 2 objects)."""
    batches = [(tf.fill((1, 2, 2, 3), float(i)), tf.constant([[[0, *A]]])) for i in (0, 1)]
    found = {0: [[[0, 0.9, *A]]], 1: [[[0, 0.8, *FAR]]]}
    return batches, lambda images: tf.constant(found[int(images[0, 0, 0, 0])], tf.float32)


def test_callback_logs_the_map_after_every_epoch(capsys):
    batches, detect = two_batches_and_a_detector()
    assert detector_map(detect, batches, num_classes=1) == 0.5
    logs = {"loss": 1.0}
    MeanAveragePrecisionCallback(detect, batches, num_classes=1).on_epoch_end(0, logs)
    assert logs == {"loss": 1.0, "val_mAP@0.5": 0.5}
    assert capsys.readouterr().out == "  val_mAP@0.5: 0.5000\n"
    quiet = MeanAveragePrecisionCallback(detect, batches, 1, name="mAP", verbose=0)
    quiet.on_epoch_end(1, logs)
    assert logs["mAP"] == 0.5 and capsys.readouterr().out == ""


def test_the_iou_threshold_decides_a_match():
    batches = [(tf.zeros((1, 2, 2, 3)), tf.constant([[[0, *A]]]))]
    # IoU with A: (0.3 * 0.28) / (0.3 * 0.3) = 0.93.
    detect = lambda images: tf.constant([[[0, 0.9, 0.1, 0.1, 0.4, 0.38]]])  # noqa: E731
    logs = {}
    for threshold, expected in ((0.9, 1.0), (0.95, 0.0)):
        MeanAveragePrecisionCallback(detect, batches, 1, iou_threshold=threshold,
                                     verbose=0).on_epoch_end(0, logs)
        assert logs["val_mAP@0.5"] == expected, threshold
