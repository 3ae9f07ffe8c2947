"""Anchor boxes centred on every pixel of a feature map (d2l's "multibox prior")."""

import math

import tensorflow as tf

from kerasnotes._checks import check_int, check_numbers


def multibox_prior(feature_height, feature_width, sizes, ratios):
    """Generates the anchor boxes of one feature map, in normalized corner coordinates.

    Every feature-map pixel `(i, j)` is the center `((j + 0.5) / feature_width,
    (i + 0.5) / feature_height)` of `n + m - 1` anchors, for sizes `s_1..s_n` and aspect
    ratios `r_1..r_m`: the anchors `(s_1, r_1), (s_2, r_1), ..., (s_n, r_1)` followed by
    `(s_1, r_2), ..., (s_1, r_m)` (the notes keep only the pairs containing `s_1` or `r_1`).
    An anchor `(s, r)` has height `h = s / sqrt(r)` and width `w = s * sqrt(r)` in image
    units.

    Non-square feature maps: like d2l (and MXNet's `MultiBoxPrior`) the width is multiplied
    by `feature_height / feature_width`, i.e. `w = s * sqrt(r) * feature_height /
    feature_width` in normalized units. With a feature map of the image's aspect, the anchor
    then has pixel aspect ratio exactly `r` (width / height) and a height of `s / sqrt(r)`
    times the image height; `s` is a fraction of the image height. For square feature maps
    (TinySSD's 256x256 input) the factor is 1.

    Args:
        feature_height: feature-map height `h` (Python int > 0).
        feature_width: feature-map width `w` (Python int > 0).
        sizes: sequence of `n >= 1` sizes in `(0, 1]`-ish image units (> 0).
        ratios: sequence of `m >= 1` aspect ratios width / height (> 0).

    Returns:
        float32 tensor `(h * w * (n + m - 1), 4)` of `(xmin, ymin, xmax, ymax)` in `[0, 1]`
        image units (anchors near the border may extend beyond it), ordered pixel-major:
        row `i`, then column `j`, then anchor `k`, so `reshape(h, w, n + m - 1, 4)[i, j, k]`
        is anchor `k` of pixel `(i, j)`.

    Example:

    >>> anchors = multibox_prior(2, 2, sizes=[0.5], ratios=[1.0])
    >>> anchors.shape
    TensorShape([4, 4])
    >>> anchors.numpy()[0]
    array([0. , 0. , 0.5, 0.5], dtype=float32)
    """
    feature_height = check_int("multibox_prior", "feature_height", feature_height)
    feature_width = check_int("multibox_prior", "feature_width", feature_width)
    sizes = check_numbers("multibox_prior", "sizes", sizes, exclusive_minimum=0)
    ratios = check_numbers("multibox_prior", "ratios", ratios, exclusive_minimum=0)
    aspect = feature_height / feature_width
    pairs = [(s, ratios[0]) for s in sizes] + [(sizes[0], r) for r in ratios[1:]]
    widths = [s * math.sqrt(r) * aspect for s, r in pairs]
    heights = [s / math.sqrt(r) for s, r in pairs]
    half_sizes = tf.constant(
        [[-w / 2, -h / 2, w / 2, h / 2] for w, h in zip(widths, heights, strict=True)], "float32"
    )  # (a, 4)

    center_y = (tf.range(feature_height, dtype="float32") + 0.5) / feature_height
    center_x = (tf.range(feature_width, dtype="float32") + 0.5) / feature_width
    shift_y, shift_x = tf.meshgrid(center_y, center_x, indexing="ij")  # (h, w) each
    centers = tf.stack([shift_x, shift_y, shift_x, shift_y], axis=-1)  # (h, w, 4)
    anchors = centers[:, :, None, :] + half_sizes[None, None, :, :]  # (h, w, a, 4)
    return tf.reshape(anchors, (-1, 4))
