"""The serving module of a semantic segmentation model."""

import numpy as np
import tensorflow as tf

from kerasnotes.data.segmentation.segmentation_pipeline import RGB_MEAN, RGB_STD
from kerasnotes.data.segmentation.voc_colormap import BOUNDARY_COLOR, IGNORE_LABEL, VOC_COLORMAP
from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS, check_max_pixels
from kerasnotes.serving.image_inputs import at_least_one_image, check_image_sizes


class SegmentationServer(tf.Module):
    """Serving wrapper of a per-pixel classifier such as `FCN`.

    `serve` takes uint8 images `(N, H, W, 3)` of any height and width, standardizes them
    as in training, pads the bottom and right to a multiple of the model's stride (zeros
    after standardization, i.e. the mean color), runs the model, crops back to `H x W`
    and returns named outputs:

    - `labels`: `(N, H, W)` uint8, the argmax class of every pixel;
    - `colored`: `(N, H, W, 3)` uint8, those labels in the VOC colormap.

    A batch of 0 images gets outputs of 0 rows; an image of height or width 0 fails with an
    `InvalidArgumentError` naming the signature and the shape (see `image_inputs`), and so
    does an image of more than `max_pixels` pixels (`H * W`; default 40 megapixels), before
    any work on the batch. The model runs at the image's full size, so memory grows with
    the budget (float32 activations per pixel): a small server sets a smaller one. The
    pixels are used as sent: clients send upright images (apply the EXIF orientation first,
    e.g. with `decode_image_bounded`, as the segmentation app's `predict` does). The class
    names, colormap and budget travel inside the SavedModel (`loaded.max_pixels()` returns
    the budget), which loads with plain `tf.saved_model.load`.

    Example:

    >>> server = SegmentationServer(model, class_names, stride=32)
    >>> export_saved_model(server, "saved_models/segmentation",
    ...                    {"serving_default": server.serve})
    """

    def __init__(self, model, class_names, stride=32, max_pixels=DEFAULT_MAX_PIXELS):
        super().__init__(name="segmentation_server")
        max_pixels = check_max_pixels("SegmentationServer", max_pixels)
        if len(class_names) != model.output_shape[-1]:
            raise ValueError(f"SegmentationServer: {len(class_names)} class names for a model "
                             f"with {model.output_shape[-1]} outputs")
        self.model = model
        self.stride = int(stride)
        self.class_names = tf.constant(list(class_names))
        palette = np.zeros((256, 3), "uint8")
        palette[: len(VOC_COLORMAP)] = VOC_COLORMAP
        palette[IGNORE_LABEL] = BOUNDARY_COLOR
        self.palette = tf.constant(palette)
        self.image_budget = max_pixels
        self.max_pixels = tf.function(self._max_pixels, input_signature=[])
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])

    def _max_pixels(self):
        """The pixel budget per image (int64), a constant of the SavedModel."""
        return tf.constant(self.image_budget, tf.int64)

    def _serve(self, images):
        images = check_image_sizes(images, "serving_default", self.image_budget)
        shape = tf.shape(images)
        height, width = shape[1], shape[2]
        images, count = at_least_one_image(images)
        x = (tf.cast(images, tf.float32) / 255.0 - tf.constant(RGB_MEAN)) / tf.constant(RGB_STD)
        pad_h = (-tf.shape(x)[1]) % self.stride
        pad_w = (-tf.shape(x)[2]) % self.stride
        x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        logits = self.model(x, training=False)[:count, :height, :width, :]
        labels = tf.cast(tf.argmax(logits, axis=-1), tf.int32)
        return {
            "labels": tf.cast(labels, tf.uint8),
            "colored": tf.gather(self.palette, labels),
        }
