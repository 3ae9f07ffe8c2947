"""The serving module of an image classifier."""

import tensorflow as tf

from kerasnotes.ops.image_decoding import (
    DEFAULT_MAX_PIXELS,
    check_max_pixels,
    decode_image_bounded,
)
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

    `serve_bytes` (the `classify_image_bytes` signature) takes a batch `(N,)` of encoded
    JPEG/PNG/GIF/BMP files instead: each is refused before decoding when its header declares
    more than `max_pixels` pixels, decoded, turned upright by its EXIF orientation (as the
    training loaders do), converted to the model's channels (grayscale for a 1-channel model)
    and resized from uint8; the outputs are the same.

    Example:

    >>> server = ImageClassifierServer(model, class_names=["a", "b"])
    >>> export_saved_model(server, "saved_models/classify", server.signatures())
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
        self.channels = int(channels)
        if self.channels not in (1, 3):
            raise ValueError(f"ImageClassifierServer: the model must take 1 or 3 channels; "
                             f"its input shape is {model.input_shape}")
        self.class_names = tf.constant(list(class_names))
        self.image_budget = max_pixels
        self.max_pixels = tf.function(self._max_pixels, input_signature=[])
        self.serve = tf.function(
            self._serve,
            input_signature=[
                tf.TensorSpec([None, None, None, int(channels)], tf.uint8, name="images")
            ],
        )
        self.serve_bytes = tf.function(
            self._serve_bytes,
            input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
        )

    def signatures(self):
        """`{"serving_default": serve (uint8 images), "classify_image_bytes": serve_bytes}`."""
        return {"serving_default": self.serve, "classify_image_bytes": self.serve_bytes}

    def _max_pixels(self):
        """The pixel budget per image (int64), a constant of the SavedModel."""
        return tf.constant(self.image_budget, tf.int64)

    def _serve(self, images):
        images = check_image_sizes(images, "serving_default", self.image_budget)
        images, count = at_least_one_image(images)
        # Bilinear resizing of uint8 gives float32 at the output size only; resizing to the
        # size an image already has returns its values unchanged.
        return first_rows(self._classify(tf.image.resize(images, self.image_size)), count)

    def _decode_one(self, args):
        index, data = args
        name = tf.strings.join(["classify_image_bytes: image_bytes[",
                                tf.strings.as_string(index), "]"])
        image = decode_image_bounded(data, self.image_budget, name)  # uint8 (H, W, 3)
        if self.channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        return tf.image.resize(image, self.image_size)  # float32 at the model's size only

    def _serve_bytes(self, image_bytes):
        count = tf.shape(image_bytes)[0]
        pixels = tf.map_fn(
            self._decode_one, (tf.range(count), image_bytes),
            fn_output_signature=tf.TensorSpec(self.image_size + (self.channels,), tf.float32))
        pixels, count = at_least_one_image(pixels)  # the model's kernels need >= 1 image
        return first_rows(self._classify(pixels), count)

    def _classify(self, pixels):
        logits = tf.cast(self.model(pixels / 255.0, training=False), tf.float32)
        probabilities = tf.nn.softmax(logits, axis=-1)
        class_ids = tf.argmax(probabilities, axis=-1)
        return {
            "probabilities": probabilities,
            "class_ids": class_ids,
            "class_names": tf.gather(self.class_names, class_ids),
        }
