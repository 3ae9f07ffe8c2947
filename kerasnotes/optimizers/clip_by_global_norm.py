"""Gradient clipping by the global norm (notes, section 5: 裁剪梯度)."""

import tensorflow as tf

from kerasnotes._checks import check_number
from kerasnotes.optimizers._utils import sum_duplicate_indices


def clip_by_global_norm(gradients, theta):
    """Scales all gradients together so that their global L2 norm is at most `theta`.

    The notes concatenate every parameter's gradient into one vector `g` and clip it:

        g' = min(theta / ||g||, 1) * g,    ||g|| = sqrt(sum over all gradients of sum(g_i**2))

    Gradients under the norm already pass through unchanged (the factor is 1). `None`
    entries (variables without a gradient) are passed through as `None`. A zero norm is safe:
    `theta / 0 = inf`, so the factor is 1. A `tf.IndexedSlices` (e.g. from an `Embedding`)
    counts as its dense gradient: values of a repeated row are summed before squaring; the
    result stays a `tf.IndexedSlices` with its values scaled. If the norm is Inf or NaN,
    every returned gradient is NaN, as with `tf.clip_by_global_norm` (a NaN guard then
    sees it). The norm is computed in float32 (float64 if any gradient is float64).

    Args:
        gradients: a list of tensors, `tf.IndexedSlices` or `None`.
        theta: the threshold, a number > 0 or a scalar tensor.

    Returns:
        `(clipped, norm)`: the list of clipped gradients (same structure, shapes and dtypes as
        `gradients`) and the global norm `||g||` before clipping, a scalar tensor.

    Example:

    >>> clipped, norm = clip_by_global_norm([tf.constant([3.0, 4.0])], theta=1.0)
    >>> clipped[0].numpy(), float(norm)
    (array([0.6, 0.8], dtype=float32), 5.0)
    """
    check_number("clip_by_global_norm", "theta", theta, exclusive_minimum=0, allow_tensor=True)
    gradients = list(gradients)
    present = [g for g in gradients if g is not None]
    dtype = tf.float64 if any(g.dtype == tf.float64 for g in present) else tf.float32

    squared_sums = []
    for g in present:
        values = sum_duplicate_indices(g).values if isinstance(g, tf.IndexedSlices) else g
        squared_sums.append(tf.reduce_sum(tf.square(tf.cast(values, dtype))))
    norm = tf.sqrt(tf.add_n(squared_sums)) if squared_sums else tf.zeros((), dtype)

    theta = tf.cast(theta, dtype)
    factor = tf.minimum(theta / norm, tf.ones((), dtype))
    factor = tf.where(tf.math.is_finite(norm), factor, tf.constant(float("nan"), dtype))

    clipped = []
    for g in gradients:
        if g is None:
            clipped.append(None)
        elif isinstance(g, tf.IndexedSlices):
            clipped.append(tf.IndexedSlices(
                g.values * tf.cast(factor, g.dtype), g.indices, g.dense_shape
            ))
        else:
            clipped.append(g * tf.cast(factor, g.dtype))
    return clipped, norm
