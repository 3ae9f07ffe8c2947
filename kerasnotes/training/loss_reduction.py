"""The loss of one replica's step: per-example losses in float32, summed over the global batch.

The Trainer divides the replica's sum of per-example losses by the global batch size, so the
gradients the strategy sums over replicas are those of the mean loss over the global batch.
"""

import keras
import tensorflow as tf


def unreduced(loss):
    """A function `(y, y_pred, sample_weight) -> per-example (or per-element) losses`.

    `loss` is a `keras.losses.Loss` (its reduction is replaced by none) or a function
    `loss(y_true, y_pred)` returning unreduced losses (then multiplied by `sample_weight`).

    Example:

    >>> losses = unreduced(keras.losses.MeanSquaredError())
    >>> losses(tf.zeros([2, 1]), tf.ones([2, 1]), None).shape
    TensorShape([2])
    """
    if isinstance(loss, keras.losses.Loss):
        config = dict(loss.get_config(), reduction=None)
        without_reduction = loss.__class__.from_config(config)
        return lambda y, y_pred, sample_weight: without_reduction(y, y_pred,
                                                                  sample_weight=sample_weight)
    if callable(loss):

        def weighted(y, y_pred, sample_weight):
            losses = loss(y, y_pred)
            if sample_weight is not None:
                losses = losses * tf.cast(sample_weight, losses.dtype)
            return losses

        return weighted
    raise ValueError(f"Trainer: loss must be a keras.losses.Loss or a function; received {loss!r}")


def per_example_loss(loss_fn, y, y_pred, sample_weight):
    """float32 `(batch,)` losses of `loss_fn` (an `unreduced` loss), per-element losses
    averaged over their other axes.

    Example:

    >>> per_example_loss(unreduced(keras.losses.MeanSquaredError()), y, y_pred, None)
    """
    losses = tf.cast(loss_fn(y, y_pred, sample_weight), tf.float32)
    if losses.shape.rank and losses.shape.rank > 1:
        losses = tf.reduce_mean(losses, axis=list(range(1, losses.shape.rank)))
    return losses


def to_float32(outputs):
    """Floating-point outputs cast to float32 (losses and metrics run in float32 under a
    mixed precision policy).

    Example:

    >>> to_float32(tf.ones([2], tf.bfloat16)).dtype
    tf.float32
    """
    return tf.nest.map_structure(
        lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating and t.dtype != tf.float32 else t,
        outputs,
    )
