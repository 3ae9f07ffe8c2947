"""Private helpers shared by the optimizers: argument checks and sparse-gradient handling."""

import numbers

import tensorflow as tf


def check_learning_rate(owner, learning_rate):
    """A non-negative Python number becomes a float; schedules and callables pass through."""
    if isinstance(learning_rate, bool):
        raise ValueError(f"{owner}: learning_rate must be a number >= 0; "
                         f"received learning_rate={learning_rate}")
    if isinstance(learning_rate, numbers.Real):
        if not learning_rate >= 0:
            raise ValueError(f"{owner}: learning_rate must be >= 0; "
                             f"received learning_rate={learning_rate}")
        return float(learning_rate)
    return learning_rate


def check_decay(owner, name, value):
    """A decay factor (gamma, rho, beta) must be a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{owner}: {name} must be a number in [0, 1); "
                         f"received {name}={value}")
    return float(value)


def check_epsilon(owner, epsilon):
    """epsilon must be a number > 0."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ValueError(f"{owner}: epsilon must be a number > 0; received epsilon={epsilon}")
    return float(epsilon)


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
