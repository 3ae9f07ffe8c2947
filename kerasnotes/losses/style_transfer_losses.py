"""The style-transfer objective of the notes: content, style (Gram matrix) and total variation.

The synthesized image `x` is scored by three losses whose weighted sum is minimized:

    content_loss(Y_hat, Y)     = mean((Y_hat - Y)^2)          content-layer features
    style_loss(Y_hat, G)       = mean((gram(Y_hat) - G)^2)    per style layer, G = gram(Y_style)
    total_variation_loss(x)    = sum_ij |x_ij - x_i+1,j| + |x_ij - x_i,j+1|

with `gram(Y) = X X^T / (c h w)` for the feature map `Y` reshaped to the `(c, h*w)` matrix
`X`. Features are channels-last `(1, h, w, c)`: their `(h*w, c)` reshape is `X^T`, so
`X X^T = reshape(Y)^T reshape(Y)`.
These are pure functions of tensors (not `keras.losses.Loss` objects): they score one
image against fixed targets, not a batch of examples. `StyleTransferLoss` is their weighted
sum, the loss a `Trainer` minimizes over the image, and `StyleTransferLossParts` reports its
three parts as a metric.
"""

import keras
from keras import ops

PARTS = ("content", "style", "tv")


def gram_matrix(features):
    """The notes' Gram matrix of a feature map, normalized by `c * h * w`.

    `X` is the `(c, h*w)` matrix of the `c` channels of `features`; element `(i, j)` of
    `X X^T` is the dot product of channels `i` and `j` (their correlation), and the result
    is `X X^T / (c * h * w)`.

    Args:
        features: `(1, h, w, c)` or `(h, w, c)` feature map (channels-last).

    Returns:
        `(c, c)` Gram matrix.

    Example:

    >>> gram_matrix(np.ones((1, 2, 2, 3), "float32"))  # every entry 4 / 12 = 1/3
    """
    features = ops.convert_to_tensor(features)
    channels = features.shape[-1]
    x = ops.reshape(features, (-1, channels))  # (h*w, c): X^T
    count = ops.cast(ops.shape(x)[0] * channels, x.dtype)
    return ops.matmul(ops.transpose(x), x) / count


def content_loss(features, target_features):
    """The notes' content loss: squared error `mean((Y_hat - Y)^2)` on content features.

    Args:
        features: content-layer features of the synthesized image.
        target_features: the same layer's features of the content image.

    Returns:
        a scalar.

    Example:

    >>> content_loss(np.ones((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)))  # 1.0
    """
    features = ops.convert_to_tensor(features)
    return ops.mean(ops.square(features - ops.cast(target_features, features.dtype)))


def style_loss(features, target_gram):
    """The notes' style loss of one style layer: `mean((gram(Y_hat) - G)^2)`.

    Args:
        features: style-layer features `(1, h, w, c)` of the synthesized image.
        target_gram: `(c, c)` Gram matrix of the same layer's features of the style image
            (`gram_matrix(style_features)`, computed once).

    Returns:
        a scalar.

    Example:

    >>> style_loss(np.ones((1, 2, 2, 3)), np.zeros((3, 3)))  # (1/3)^2 = 0.111
    """
    gram = gram_matrix(features)
    return ops.mean(ops.square(gram - ops.cast(target_gram, gram.dtype)))


def total_variation_loss(images):
    """The notes' total variation of each image: `sum |x_ij - x_i+1,j| + |x_ij - x_i,j+1|`.

    Summed over rows, columns and channels, per image; equal to
    `tf.image.total_variation`. Minimizing it smooths (denoises) the image.

    Args:
        images: `(batch, h, w, c)` or `(h, w, c)`.

    Returns:
        `(batch,)` (or a scalar for one image).

    Example:

    >>> total_variation_loss(np.array([[[0.0], [1.0]], [[1.0], [3.0]]]))  # down 1+2, right 1+2: 6
    """
    images = ops.convert_to_tensor(images)
    axes = (-3, -2, -1)
    down = ops.sum(ops.abs(images[..., 1:, :, :] - images[..., :-1, :, :]), axis=axes)
    right = ops.sum(ops.abs(images[..., :, 1:, :] - images[..., :, :-1, :]), axis=axes)
    return down + right


class StyleTransferLoss:
    """The notes' weighted objective, as the Trainer's loss of a `StyleTransfer` model.

    With `f_l` the features of layer `l` (content layers, style layers), `x` the synthesized
    standardized image, `c` the content image and `s` the style image:

        L(x) = content_weight * sum_l content_loss(f_l(x), f_l(c))
             + style_weight   * sum_l style_loss(f_l(x), gram(f_l(s)))
             + tv_weight      * total_variation_loss(x) / (h * w * 3)

    (the total variation is divided by the number of pixel values, so its weight does not
    depend on the image size).

    Args:
        content_weight, style_weight, tv_weight: the weights of the three losses (>= 0).

    Call arguments:
        targets: `{"content": (f_l(c), ...), "style": (gram(f_l(s)), ...)}`, the fixed
            targets (`kerasnotes.models.style_transfer.style_transfer_targets`).
        outputs: `{"image": x, "content": (f_l(x), ...), "style": (f_l(x), ...)}`, the
            outputs of the model.

    Returns:
        `L(x)` with shape `(1,)` (one "example": the image).

    Example:

    >>> loss = StyleTransferLoss(content_weight=1.0, style_weight=1e3, tv_weight=10.0)
    >>> outputs = model(np.zeros((1, 1)))    # a StyleTransfer model
    >>> loss(targets, outputs)                # L(x), shape (1,)
    >>> loss.components(targets, outputs)     # {"content": ..., "style": ..., "tv": ...}
    """

    def __init__(self, content_weight=1.0, style_weight=1e3, tv_weight=10.0):
        for name, value in (("content_weight", content_weight), ("style_weight", style_weight),
                            ("tv_weight", tv_weight)):
            if not float(value) >= 0:
                raise ValueError(f"StyleTransferLoss: {name} must be >= 0; received "
                                 f"{name}={value!r}")
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)

    def get_config(self):
        return {"content_weight": self.content_weight, "style_weight": self.style_weight,
                "tv_weight": self.tv_weight}

    def components(self, targets, outputs):
        """The three weighted losses, `{"content": ..., "style": ..., "tv": ...}` (scalars)."""
        content = sum(content_loss(f, t) for f, t in zip(outputs["content"], targets["content"]))
        style = sum(style_loss(f, g) for f, g in zip(outputs["style"], targets["style"]))
        image = ops.convert_to_tensor(outputs["image"])
        size = ops.cast(ops.prod(ops.shape(image)[1:]), image.dtype)
        tv = ops.sum(total_variation_loss(image)) / size
        return {"content": self.content_weight * content, "style": self.style_weight * style,
                "tv": self.tv_weight * tv}

    def __call__(self, targets, outputs):
        parts = self.components(targets, outputs)
        return ops.reshape(parts["content"] + parts["style"] + parts["tv"], (1,))


@keras.saving.register_keras_serializable(package="kerasnotes")
class StyleTransferLossParts(keras.metrics.Metric):
    """The mean weighted content, style and total-variation losses of `StyleTransferLoss`.

    `result()` is `{"content_loss": ..., "style_loss": ..., "tv_loss": ...}`, the means over
    the steps since the last reset (the Trainer's loss is their sum).

    Example:

    >>> parts = StyleTransferLossParts(style_weight=1e3)
    >>> parts.update_state(targets, outputs)
    >>> parts.result()["style_loss"]
    """

    def __init__(self, content_weight=1.0, style_weight=1e3, tv_weight=10.0,
                 name="style_transfer_losses", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = StyleTransferLoss(content_weight, style_weight, tv_weight)
        self.totals = self.add_variable(shape=(len(PARTS),), initializer="zeros", name="totals")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        parts = self.loss.components(y_true, y_pred)
        self.totals.assign_add(ops.cast(ops.stack([parts[p] for p in PARTS]), self.dtype))
        self.count.assign_add(ops.cast(1.0, self.dtype))

    def result(self):
        means = self.totals / ops.maximum(self.count, 1.0)
        return {f"{part}_loss": means[i] for i, part in enumerate(PARTS)}

    def get_config(self):
        return {**super().get_config(), **self.loss.get_config()}
