import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.dropout import Dropout
from tests.test_case import random_inputs, run_layer_checks

N = 200_000  # elements per statistical test
Z = 5.0  # tolerance in standard deviations: a false failure has probability < 1e-6


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_drop_rate_and_mean_are_within_binomial_tolerance(rate):
    x = np.ones((N // 100, 100), "float32")
    out = np.array(Dropout(rate, seed=1)(x, training=True))
    # The number of dropped elements is Binomial(N, p): its fraction has std sqrt(p(1-p)/N).
    dropped = np.mean(out == 0)
    assert abs(dropped - rate) <= Z * math.sqrt(rate * (1 - rate) / N)
    # Each output is 1/(1-p) with probability 1-p, else 0: mean 1, variance p/(1-p).
    assert abs(out.mean() - 1.0) <= Z * math.sqrt(rate / ((1 - rate) * N))
    # The kept elements are scaled by exactly 1/(1-p).
    np.testing.assert_allclose(out[out != 0], 1 / (1 - rate), rtol=1e-6)


def test_kept_values_are_scaled_inputs_and_gradient_is_the_mask():
    x = tf.constant(random_inputs((50, 40), seed=2, low=0.5, high=1.5))
    layer = Dropout(0.3, seed=3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, training=True)
    grad = np.array(tape.gradient(out, x))
    out, x = np.array(out), np.array(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.7, rtol=1e-6)
    np.testing.assert_allclose(grad, kept / 0.7, rtol=1e-6)


def test_identity_at_inference_and_for_rate_zero():
    x = random_inputs((3, 5), seed=4)
    np.testing.assert_array_equal(np.array(Dropout(0.5, seed=0)(x)), x)
    np.testing.assert_array_equal(np.array(Dropout(0.5, seed=0)(x, training=False)), x)
    np.testing.assert_array_equal(np.array(Dropout(0.0, seed=0)(x, training=True)), x)


def test_seeding():
    x = np.ones((20, 30), "float32")
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    first = np.array(a(x, training=True))
    np.testing.assert_array_equal(first, np.array(b(x, training=True)))
    # The generator advances: the next call draws a new mask.
    assert not np.array_equal(first, np.array(a(x, training=True)))


def test_same_statistics_as_keras_dropout_in_fit():
    """In a model trained with fit, our layer and keras.layers.Dropout drop at the same rate."""
    def drop_fraction(layer):
        probe = keras.Sequential([keras.Input((1000,)), layer])
        return float(np.mean(np.array(probe(np.ones((100, 1000), "float32"), training=True)) == 0))
    ours = drop_fraction(Dropout(0.4, seed=1))
    theirs = drop_fraction(keras.layers.Dropout(0.4, seed=1))
    # Both are Binomial(1e5, 0.4) fractions: the difference has std sqrt(2 p (1-p) / 1e5).
    assert abs(ours - theirs) <= Z * math.sqrt(2 * 0.4 * 0.6 / 1e5)


def test_layer_checks(tmp_path):
    run_layer_checks(Dropout(0.5, seed=0), (2, 4, 3), tmp_path, expected_output_shape=(2, 4, 3))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.5", None])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        Dropout(0.5, seed=1.5)
