"""A few images with the model's predicted class names in TensorBoard, after every epoch."""

import keras
import numpy as np
import tensorflow as tf


class ImagePredictionsSummary(keras.callbacks.Callback):
    """Writes `images` (uint8, `(N, H, W, C)`) as the TensorBoard image `<prefix>_images`
    and the class names the model predicts for them as the text `<prefix>_predictions`
    (`"shirt | bag"`),
    at every epoch end, to the default writer (the Trainer's validation run).

    The images are scaled to [0, 1] and resized to the model's input size, as the apps'
    pipelines feed them; the model returns one score per class.

    Example:

    >>> trainer = Trainer(model, loss, optimizer,
    ...                   callbacks=[ImagePredictionsSummary(x_test[:8], class_names)])
    """

    def __init__(self, images, class_names, prefix="test"):
        super().__init__()
        self.images = np.asarray(images)
        self.class_names = tuple(class_names)
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        pixels = tf.cast(self.images, tf.float32) / 255.0
        model_input = tf.image.resize(pixels, self.model.input_shape[1:3])
        predicted = tf.argmax(self.model(model_input, training=False), axis=-1).numpy()
        tf.summary.image(f"{self.prefix}_images", pixels, step=epoch, max_outputs=len(self.images))
        tf.summary.text(f"{self.prefix}_predictions",
                        " | ".join(self.class_names[i] for i in predicted), step=epoch)
