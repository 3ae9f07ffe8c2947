"""Input | ground truth | prediction of a few segmentation crops in TensorBoard, every epoch."""

import keras
import tensorflow as tf

from kerasnotes.serving.drawing import segmentation_panel


class SegmentationPredictionsSummary(keras.callbacks.Callback):
    """After every epoch, `images` beside their true and predicted label maps in the VOC
    colormap (`segmentation_panel`) as the TensorBoard image `name`, to the default summary
    writer (the Trainer's validation run). The model returns per-pixel class scores.

    Args:
        images: standardized float `(N, H, W, 3)` crops, as the model is fed.
        labels: int `(N, H, W)` class indices (255 = boundary).
        name: the summary's tag.

    Example:

    >>> images, labels = next(iter(validation.unbatch().batch(4)))
    >>> trainer = Trainer(model, loss, optimizer,
    ...                   callbacks=[SegmentationPredictionsSummary(images, labels)])
    """

    def __init__(self, images, labels, name="input_truth_prediction"):
        super().__init__()
        self.images, self.labels, self.name = images, labels, name

    def on_epoch_end(self, epoch, logs=None):
        predicted = tf.argmax(self.model(self.images, training=False), axis=-1)
        tf.summary.image(self.name, segmentation_panel(self.images, self.labels, predicted),
                         step=epoch, max_outputs=len(self.images))
