"""Neural style transfer: the synthesized image is the trained variable."""

import keras
import tensorflow as tf
from keras import ops

from kerasnotes.losses.style_transfer_losses import (
    content_loss,
    gram_matrix,
    style_loss,
    total_variation_loss,
)


class StyleTransfer(tf.Module):
    """The notes' style transfer: optimize an image so its features match two targets.

    With `f` the feature extractor, `x` the synthesized (standardized) image, initialized
    from the content image `c`, and `s` the style image:

        L(x) = content_weight * sum_{content layers l} content_loss(f_l(x), f_l(c))
             + style_weight   * sum_{style layers l}   style_loss(f_l(x), gram(f_l(s)))
             + tv_weight      * total_variation_loss(x) / (h * w * 3)

    (see `kerasnotes.losses.style_transfer_losses`; the total variation is divided by the
    number of pixel values so its weight does not depend on the image size). Each `step()`
    is one Adam step on `x`; the extractor's weights stay fixed.

    Args:
        extractor: a model `standardized images (1, h, w, 3) -> {"style": [features...],
            "content": [features...]}` (e.g. `vgg19_feature_extractor()`).
        content_image: standardized content image `(1, h, w, 3)`.
        style_image: standardized style image `(1, h', w', 3)` (any size).
        content_weight, style_weight, tv_weight: the weights of the three losses (>= 0).
        learning_rate: Adam's learning rate (on standardized pixel values).

    Attributes:
        image: the synthesized image, a `keras.Variable` `(1, h, w, 3)`.
        optimizer: the `keras.optimizers.Adam` updating it.

    Example:

    >>> transfer = StyleTransfer(vgg19_feature_extractor(), content, style)
    >>> for _ in range(100):
    ...     losses = transfer.step()    # {"content": ..., "style": ..., "tv": ..., "total": ...}
    >>> pixels = postprocess_image(transfer.image)
    """

    def __init__(self, extractor, content_image, style_image, content_weight=1.0,
                 style_weight=1e3, tv_weight=10.0, learning_rate=0.3):
        super().__init__(name="style_transfer")
        for name, value in (("content_weight", content_weight), ("style_weight", style_weight),
                            ("tv_weight", tv_weight)):
            if not float(value) >= 0:
                raise ValueError(f"StyleTransfer: {name} must be >= 0; received {name}={value!r}")
        if not float(learning_rate) > 0:
            raise ValueError("StyleTransfer: learning_rate must be > 0; received "
                             f"learning_rate={learning_rate!r}")
        for name, image in (("content_image", content_image), ("style_image", style_image)):
            shape = tuple(ops.shape(image))
            if len(shape) != 4 or shape[0] != 1 or shape[-1] != 3:
                raise ValueError(f"StyleTransfer: {name} must have shape (1, height, width, "
                                 f"3); received {shape}")
        self.extractor = extractor
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        content_image = ops.convert_to_tensor(content_image, "float32")
        self.content_targets = [tf.constant(f) for f in extractor(content_image)["content"]]
        self.style_targets = [tf.constant(gram_matrix(f))
                              for f in extractor(ops.convert_to_tensor(style_image,
                                                                       "float32"))["style"]]
        self.image = keras.Variable(content_image, name="synthesized_image")
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.optimizer.build([self.image])
        self._step = tf.function(self._train_step)

    def losses(self, image):
        """The three weighted losses of `image` and their sum, a dict of scalars."""
        features = self.extractor(image)
        content = tf.add_n([content_loss(f, t) for f, t in
                            zip(features["content"], self.content_targets)])
        style = tf.add_n([style_loss(f, g) for f, g in zip(features["style"],
                                                             self.style_targets)])
        size = tf.cast(tf.reduce_prod(tf.shape(image)[1:]), tf.float32)
        tv = tf.reduce_sum(total_variation_loss(image)) / size
        losses = {"content": self.content_weight * content, "style": self.style_weight * style,
                  "tv": self.tv_weight * tv}
        losses["total"] = losses["content"] + losses["style"] + losses["tv"]
        return losses

    def _train_step(self):
        with tf.GradientTape() as tape:
            losses = self.losses(self.image.value)
        gradient = tape.gradient(losses["total"], self.image.value)
        self.optimizer.apply_gradients([(gradient, self.image)])
        return losses

    def step(self):
        """One Adam step on the image; returns the losses before the step (dict of floats)."""
        return {name: float(value) for name, value in self._step().items()}
