"""The style-transfer objective of the notes: content, style (Gram matrix) and total variation.

The synthesized image `x` is scored by three losses whose weighted sum is minimized:

    content_loss(Y_hat, Y)     = mean((Y_hat - Y)^2)          content-layer features
    style_loss(Y_hat, G)       = mean((gram(Y_hat) - G)^2)    per style layer, G = gram(Y_style)
    total_variation_loss(x)    = sum_ij |x_ij - x_i+1,j| + |x_ij - x_i,j+1|

with `gram(Y) = X X^T / (c h w)` for the feature map `Y` reshaped to the `(c, h*w)` matrix
`X`. Features are channels-last `(1, h, w, c)`: their `(h*w, c)` reshape is `X^T`, so
`X X^T = reshape(Y)^T reshape(Y)`.
These are pure functions of tensors (not `keras.losses.Loss` objects): they score one
image against fixed targets, not a batch of examples.
"""

from keras import ops


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
