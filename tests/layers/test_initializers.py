import math

import keras
import numpy as np
import pytest

from kerasnotes.layers.normal_initializer import RandomNormal
from kerasnotes.layers.xavier_uniform import XavierUniform, compute_fans
from tests.test_case import assert_config_round_trip

Z = 5.0  # tolerance in standard deviations of the estimator


def check_normal_moments(values, mean, stddev):
    values = values.astype("float64").ravel()
    n = values.size
    # The sample mean has std sigma/sqrt(n); the sample variance has std ~ sigma^2 sqrt(2/n).
    assert abs(values.mean() - mean) <= Z * stddev / math.sqrt(n)
    assert abs(values.var() - stddev ** 2) <= Z * stddev ** 2 * math.sqrt(2.0 / n)
    # The fraction within one sigma is Binomial(n, 0.6827)/n.
    p = math.erf(1 / math.sqrt(2))
    inside = np.mean(np.abs(values - mean) < stddev)
    assert abs(inside - p) <= Z * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("mean, stddev", [(0.0, 1.0), (3.0, 0.5), (0.0, 0.01)])
def test_random_normal_moments(mean, stddev):
    values = np.array(RandomNormal(mean=mean, stddev=stddev, seed=0)((400, 250)))
    check_normal_moments(values, mean, stddev)


def test_random_normal_default_is_the_notes_standard_normal_and_matches_keras():
    init = RandomNormal(seed=3)
    assert (init.mean, init.stddev) == (0.0, 1.0)
    ours = np.array(init((30, 20)))
    theirs = np.array(keras.initializers.RandomNormal(mean=0.0, stddev=1.0, seed=3)((30, 20)))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    np.testing.assert_array_equal(ours, np.array(init((30, 20))))  # a seed repeats


def check_uniform(values, limit):
    values = values.astype("float64").ravel()
    n = values.size
    assert np.abs(values).max() <= limit
    # P(max |w| < limit (1 - eps)) = (1 - eps)^n ~ exp(-n eps) = exp(-20) for eps = 20/n.
    assert np.abs(values).max() >= limit * (1 - 20.0 / n)
    # U(-L, L): mean 0 with std L/sqrt(3n); variance L^2/3, Var(w^2) = 4 L^4 / 45.
    assert abs(values.mean()) <= Z * limit / math.sqrt(3 * n)
    assert abs(values.var() - limit ** 2 / 3) <= Z * limit ** 2 * math.sqrt(4 / 45 / n)


@pytest.mark.parametrize(
    "shape, fans",
    [((300, 200), (300, 200)), ((3, 3, 16, 32), (144, 288)), ((5, 8, 40), (40, 200))],
)
def test_xavier_uniform_bounds_and_moments(shape, fans):
    assert compute_fans(shape) == fans
    limit = XavierUniform.limit(shape)
    assert limit == pytest.approx(math.sqrt(6 / sum(fans)))
    check_uniform(np.array(XavierUniform(seed=1)(shape)), limit)


@pytest.mark.parametrize("shape", [(30, 20), (3, 3, 4, 8)])
def test_xavier_uniform_equals_keras_glorot_uniform(shape):
    ours = np.array(XavierUniform(seed=5)(shape))
    theirs = np.array(keras.initializers.GlorotUniform(seed=5)(shape))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    # Glorot's limit: the largest magnitude of a big sample reaches the same bound.
    big = (400, 300)
    glorot_max = np.abs(np.array(keras.initializers.GlorotUniform(seed=1)(big))).max()
    assert glorot_max <= XavierUniform.limit(big)
    assert glorot_max >= XavierUniform.limit(big) * (1 - 20.0 / (400 * 300))


@pytest.mark.parametrize("init", [lambda: RandomNormal(0.5, 2.0, seed=1),
                                  lambda: XavierUniform(seed=1)])
def test_config_and_use_in_a_saved_layer(init, tmp_path):
    init = init()
    rebuilt = assert_config_round_trip(init)
    np.testing.assert_array_equal(np.array(rebuilt((4, 3))), np.array(init((4, 3))))
    assert isinstance(keras.initializers.get(keras.initializers.serialize(init)), type(init))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_initializer=init)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.layers[0].kernel_initializer, type(init))
    np.testing.assert_array_equal(reloaded.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: RandomNormal(stddev=0.0), "stddev"),
        (lambda: RandomNormal(stddev=-1.0), "stddev"),
        (lambda: RandomNormal(mean=float("nan")), "mean"),
        (lambda: RandomNormal(seed=1.5), "seed"),
        (lambda: XavierUniform(seed="a"), "seed"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
