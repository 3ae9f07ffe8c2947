"""Private helpers shared by the optimizers: argument checks and sparse-gradient handling."""

import numbers

import tensorflow as tf

from kerasnotes._checks import check_number


def check_learning_rate(owner, learning_rate):
    """A number >= 0 becomes a float; schedules, callables and variables pass through."""
    if isinstance(learning_rate, numbers.Real):  # bools included, and refused
        return check_number(owner, "learning_rate", learning_rate, minimum=0)
    return learning_rate


def sum_duplicate_indices(gradient):
    """The `tf.IndexedSlices` with each index once and the values of repeated indices summed.

    An `Embedding` that looks up the same row twice yields that row twice; the dense gradient
    of the row is their sum.
    """
    unique_indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(
        gradient.values, positions, tf.shape(unique_indices)[0]
    )
    return tf.IndexedSlices(values, unique_indices, gradient.dense_shape)


def densify(gradient):
    """The dense gradient: `tf.IndexedSlices` are scattered (duplicates summed), tensors pass."""
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient
