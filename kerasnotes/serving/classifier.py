"""The serving module of an image classifier."""

import tensorflow as tf

from kerasnotes.serving.image_inputs import at_least_one_image, check_image_sizes, first_rows


class ImageClassifierServer(tf.Module):
    """Serving wrapper of a Keras image classifier that returns logits.

    `serve` takes what a client sends, a uint8 image batch `(N, H, W, C)` of any height and
    width, resizes it to the model's input size when they differ (bilinear), scales it to
    `[0, 1]` as in training, and returns named outputs:

    - `probabilities`: `(N, num_classes)` float32, `softmax(logits)`;
    - `class_ids`: `(N,)` int64, `argmax` of the probabilities;
    - `class_names`: `(N,)` string, the names of those classes.

    A batch of 0 images gets outputs of 0 rows; an image of height or width 0 fails with an
    `InvalidArgumentError` naming the signature and the shape (see `image_inputs`). The
    class names travel inside the SavedModel, which loads with plain `tf.saved_model.load`
    in a process that has no kerasnotes.

    Example:

    >>> server = ImageClassifierServer(model, class_names=["a", "b"])
    >>> export_saved_model(server, "saved_models/classify", {"serving_default": server.serve})
    """

    def __init__(self, model, class_names):
        super().__init__(name="image_classifier")
        height, width, channels = model.input_shape[1:]
        if len(class_names) != model.output_shape[-1]:
            raise ValueError(
                f"ImageClassifierServer: {len(class_names)} class names for a model with "
                f"{model.output_shape[-1]} outputs"
            )
        self.model = model
        self.image_size = (int(height), int(width))
        self.class_names = tf.constant(list(class_names))
        self.serve = tf.function(
            self._serve,
            input_signature=[
                tf.TensorSpec([None, None, None, int(channels)], tf.uint8, name="images")
            ],
        )

    def _serve(self, images):
        images = check_image_sizes(images, "serving_default")
        images, count = at_least_one_image(images)
        # Bilinear resizing to the size an image already has returns it unchanged.
        pixels = tf.image.resize(tf.cast(images, tf.float32), self.image_size)
        logits = tf.cast(self.model(pixels / 255.0, training=False), tf.float32)
        probabilities = tf.nn.softmax(logits, axis=-1)
        class_ids = tf.argmax(probabilities, axis=-1)
        return first_rows({
            "probabilities": probabilities,
            "class_ids": class_ids,
            "class_names": tf.gather(self.class_names, class_ids),
        }, count)
