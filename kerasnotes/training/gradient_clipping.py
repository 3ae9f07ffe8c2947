"""Clipping the gradient summed over replicas to a global norm, as the notes write it.

With `g` the gradient of the mean loss over the global batch (summed over replicas),
`g <- min(theta / ||g||, 1) g`, before the optimizer applies it.
"""

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.optimizers.clip_by_global_norm import clip_by_global_norm


def clip_summed_gradients(context, gradients, variables, optimizer, clip_norm):
    """One replica's gradients, to hand to `optimizer.apply_gradients`, such that the sum
    the optimizer makes over replicas is the summed gradient clipped to `clip_norm`.

    The norm is that of the gradient summed over replicas, so this sums first (one
    collective); the optimizer sums again, hence the division by the number of replicas.
    Under loss scaling (`keras.optimizers.LossScaleOptimizer`) the norm is that of the
    unscaled gradient, and the result is scaled back (the optimizer unscales it and skips
    the step if it is not finite).

    Example (in a replica's step):

    >>> context = tf.distribute.get_replica_context()
    >>> gradients = clip_summed_gradients(context, gradients, variables, optimizer, 1.0)
    >>> optimizer.apply_gradients(zip(gradients, variables))
    """
    gradients = all_reduce_sum(context, gradients, variables)
    scale = (optimizer.dynamic_scale
             if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else None)
    if scale is not None:
        gradients = [g / tf.cast(scale, g.dtype) for g in gradients]
    gradients, _ = clip_by_global_norm(gradients, clip_norm)
    if scale is not None:
        gradients = [g * tf.cast(scale, g.dtype) for g in gradients]
    return [g / context.num_replicas_in_sync for g in gradients]


def all_reduce_sum(context, gradients, variables):
    """Sums dense gradients over replicas with one collective (one flat vector).

    Shapes come from the variables: a gradient's static shape may be unknown.

    Example:

    >>> summed = all_reduce_sum(tf.distribute.get_replica_context(), gradients, variables)
    """
    shapes = [tuple(v.shape) for v in variables]
    flat = tf.concat([tf.reshape(tf.convert_to_tensor(g), [-1]) for g in gradients], axis=0)
    flat = context.all_reduce(tf.distribute.ReduceOp.SUM, flat)
    sizes = [int(np.prod(shape)) for shape in shapes]
    return [tf.reshape(part, shape) for part, shape in zip(tf.split(flat, sizes), shapes)]
