"""The serving module of an image classifier."""

import tensorflow as tf

from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS, check_max_pixels
from kerasnotes.serving.image_inputs import at_least_one_image, check_image_sizes, first_rows


class ImageClassifierServer(tf.Module):
    """Serving wrapper of a Keras image classifier that returns logits.

    `serve` takes what a client sends, a uint8 image batch `(N, H, W, C)` of any height and
    width up to `max_pixels` pixels per image, resizes it to the model's input size when they
    differ (bilinear, straight from uint8: the only float32 copy is at the model's size),
    scales it to `[0, 1]` as in training, and returns named outputs:

    - `probabilities`: `(N, num_classes)` float32, `softmax(logits)`;
    - `class_ids`: `(N,)` int64, `argmax` of the probabilities;
    - `class_names`: `(N,)` string, the names of those classes.

    A batch of 0 images gets outputs of 0 rows; an image of height or width 0 fails with an
    `InvalidArgumentError` naming the signature and the shape (see `image_inputs`), and so
    does an image of more than `max_pixels` pixels (`H * W`; default 40 megapixels), before
    any work on the batch. The pixels are used as sent: clients send upright images (apply
    the EXIF orientation before sending, e.g. with `decode_image_bounded`). The class names
    and the budget travel inside the SavedModel (`loaded.max_pixels()` returns the budget),
    which loads with plain `tf.saved_model.load` in a process that has no kerasnotes.

    Example:

    >>> server = ImageClassifierServer(model, class_names=["a", "b"])
    >>> export_saved_model(server, "saved_models/classify", {"serving_default": server.serve})
    """

    def __init__(self, model, class_names, max_pixels=DEFAULT_MAX_PIXELS):
        super().__init__(name="image_classifier")
        max_pixels = check_max_pixels("ImageClassifierServer", max_pixels)
        height, width, channels = model.input_shape[1:]
        if len(class_names) != model.output_shape[-1]:
            raise ValueError(
                f"ImageClassifierServer: {len(class_names)} class names for a model with "
                f"{model.output_shape[-1]} outputs"
            )
        self.model = model
        self.image_size = (int(height), int(width))
        self.class_names = tf.constant(list(class_names))
        self.image_budget = max_pixels
        self.max_pixels = tf.function(self._max_pixels, input_signature=[])
        self.serve = tf.function(
            self._serve,
            input_signature=[
                tf.TensorSpec([None, None, None, int(channels)], tf.uint8, name="images")
            ],
        )

    def _max_pixels(self):
        """The pixel budget per image (int64), a constant of the SavedModel."""
        return tf.constant(self.image_budget, tf.int64)

    def _serve(self, images):
        images = check_image_sizes(images, "serving_default", self.image_budget)
        images, count = at_least_one_image(images)
        # Bilinear resizing of uint8 gives float32 at the output size only; resizing to the
        # size an image already has returns its values unchanged.
        pixels = tf.image.resize(images, self.image_size)
        logits = tf.cast(self.model(pixels / 255.0, training=False), tf.float32)
        probabilities = tf.nn.softmax(logits, axis=-1)
        class_ids = tf.argmax(probabilities, axis=-1)
        return first_rows({
            "probabilities": probabilities,
            "class_ids": class_ids,
            "class_names": tf.gather(self.class_names, class_ids),
        }, count)
