"""A few images with their true and detected boxes in TensorBoard, after every epoch."""

import keras
import tensorflow as tf

from kerasnotes.serving.drawing import draw_boxes_tf


class DetectionImagesSummary(keras.callbacks.Callback):
    """After every epoch, `images` with their true (green) and detected (red) boxes
    (`draw_boxes_tf`) as the TensorBoard image `name`, to the default summary writer (the
    Trainer's validation run).

    Args:
        detect: images -> `(N, rows, 6)` detections, e.g. `TinySSD.detect`.
        images, labels: a few images, float `(N, H, W, 3)` in `[0, 1]`, and their labels
            `(N, max_objects, 5)`.
        score_threshold: smallest score drawn.
        name: the summary's tag.

    Example:

    >>> images, labels = next(iter(validation_batches))
    >>> trainer = Trainer(model, loss, optimizer, callbacks=[
    ...     DetectionImagesSummary(detect, images[:4], labels[:4], score_threshold=0.5)])
    """

    def __init__(self, detect, images, labels, score_threshold=0.5,
                 name="validation_detections"):
        super().__init__()
        self.detect, self.images, self.labels = detect, images, labels
        self.score_threshold, self.name = score_threshold, name

    def on_epoch_end(self, epoch, logs=None):
        drawn = draw_boxes_tf(self.images, self.labels, self.detect(self.images),
                              self.score_threshold)
        tf.summary.image(self.name, drawn, step=epoch, max_outputs=len(self.images))
