"""Neural style transfer as a Keras model whose only weight is the synthesized image."""

import keras
from keras import ops

from kerasnotes.losses.style_transfer_losses import gram_matrix


class StyleTransfer(keras.Model):
    """The notes' style transfer: the trained weight is the image, the features are fixed.

    With `f` the feature extractor and `x` the synthesized standardized image, initialized
    from the content image `c`, calling the model (on any input: a dummy batch of one)
    returns `x` and its features,

        {"image": x, "content": (f_l(x) for the content layers l),
         "style": (f_l(x) for the style layers l)},

    and training it with `StyleTransferLoss` against the fixed targets
    `style_transfer_targets(f, c, s)` (given as `y`) minimizes the notes' objective

        L(x) = content_weight * sum_l content_loss(f_l(x), f_l(c))
             + style_weight   * sum_l style_loss(f_l(x), gram(f_l(s)))
             + tv_weight      * total_variation_loss(x) / (h * w * 3).

    The image stays float32 under a mixed-precision policy (the extractor computes in the
    policy's dtype). The extractor is held by a function, not as a layer: its weights are
    fixed, so they are neither trained nor saved in the model's checkpoints (they come from
    the same weights file or seed again when a run resumes). It always runs in inference
    mode (`training=False`), so that a network with batch normalization or dropout
    (EfficientNet-Lite) gives the features of the targets during `fit` too.

    Args:
        extractor: a model `standardized images (1, h, w, 3) -> {"style": [features...],
            "content": [features...]}` (e.g. `vgg19_feature_extractor()`).
        content_image: the standardized content image `(1, h, w, 3)`.

    Attributes:
        image: the synthesized image, a float32 `keras.Variable` `(1, h, w, 3)`.

    Example:

    >>> extractor = vgg19_feature_extractor()
    >>> model = StyleTransfer(extractor, content)
    >>> targets = style_transfer_targets(extractor, content, style)
    >>> steps = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
    >>> Trainer(model, StyleTransferLoss(), keras.optimizers.Adam(0.3)).fit(steps, epochs=100)
    >>> pixels = postprocess_image(model.image)
    """

    def __init__(self, extractor, content_image, **kwargs):
        super().__init__(**kwargs)
        shape = tuple(ops.shape(content_image))
        _check_image("content_image", shape)
        # Not tracked (fixed weights), and always in inference mode: batch normalization
        # uses its moving statistics and dropout is off, as for the targets, also in fit.
        self._features = lambda images: extractor(images, training=False)
        self.image = self.add_weight(shape=shape, initializer="zeros", dtype="float32",
                                     autocast=False, trainable=True, name="synthesized_image")
        self.image.assign(ops.convert_to_tensor(content_image, "float32"))
        self.built = True

    def call(self, inputs):
        image = ops.copy(self.image)  # a tensor, not the variable itself
        features = self._features(image)
        return {"image": image, "content": tuple(features["content"]),
                "style": tuple(features["style"])}


def style_transfer_targets(extractor, content_image, style_image):
    """The fixed targets of the objective: `{"content": (f_l(c), ...), "style": (gram(f_l(s)),
    ...)}`, float32, for the standardized content `(1, h, w, 3)` and style `(1, h', w', 3)`
    images (the style image may have another size)."""
    _check_image("content_image", tuple(ops.shape(content_image)))
    _check_image("style_image", tuple(ops.shape(style_image)))
    content = extractor(ops.convert_to_tensor(content_image, "float32"))["content"]
    style = extractor(ops.convert_to_tensor(style_image, "float32"))["style"]
    return {"content": tuple(ops.cast(f, "float32") for f in content),
            "style": tuple(gram_matrix(ops.cast(f, "float32")) for f in style)}


def _check_image(name, shape):
    if len(shape) != 4 or shape[0] != 1 or shape[-1] != 3:
        raise ValueError(f"StyleTransfer: {name} must have shape (1, height, width, 3); "
                         f"received {shape}")
