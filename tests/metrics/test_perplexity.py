import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.metrics.perplexity import Perplexity
from tests.test_case import assert_config_round_trip, random_inputs


def numpy_perplexity(y, logits, weights=None):
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]
    weights = np.ones_like(nll) if weights is None else np.broadcast_to(
        weights.reshape(weights.shape + (1,) * (nll.ndim - weights.ndim)), nll.shape)
    return np.exp((nll * weights).sum() / weights.sum())


def test_equals_numpy_and_exp_of_keras_cross_entropy():
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, 7, (3, 5)), random_inputs((3, 5, 7), seed=i, low=-3, high=3))
               for i in range(3)]
    metric = Perplexity()
    for y, logits in batches:
        metric.update_state(y, logits)
    y_all = np.concatenate([b[0] for b in batches])
    logits_all = np.concatenate([b[1] for b in batches])
    np.testing.assert_allclose(float(metric.result()), numpy_perplexity(y_all, logits_all),
                               rtol=1e-5)
    keras_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_all, logits_all)
    np.testing.assert_allclose(float(metric.result()), np.exp(float(keras_ce)), rtol=1e-5)
    metric.reset_state()
    assert float(metric.count) == 0


def test_probabilities_weights_and_uniform_prediction():
    metric = Perplexity(from_logits=False)
    metric.update_state(np.array([[1, 2]]), np.full((1, 2, 10), 0.1, "float32"))
    np.testing.assert_allclose(float(metric.result()), 10.0, rtol=1e-5)  # uniform: vocab size
    y = np.array([[0, 1], [2, 0]])
    logits = random_inputs((2, 2, 3), seed=3)
    weights = np.array([1.0, 0.0], "float32")  # the second sequence does not count
    weighted = Perplexity()
    weighted.update_state(y, logits, sample_weight=weights)
    np.testing.assert_allclose(float(weighted.result()), numpy_perplexity(y[:1], logits[:1]),
                               rtol=1e-5)
    np.testing.assert_allclose(float(weighted.result()),
                               numpy_perplexity(y, logits, weights), rtol=1e-5)


def test_under_mirrored_strategy(mirrored_strategy):
    with mirrored_strategy.scope():
        metric = Perplexity()
    y = np.array([[0, 1], [2, 0], [1, 1], [0, 2]])
    logits = random_inputs((4, 2, 3), seed=4)
    dataset = mirrored_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((y, logits)).batch(4))

    @tf.function
    def update(batch):
        mirrored_strategy.run(metric.update_state, args=batch)

    for batch in dataset:
        update(batch)
    np.testing.assert_allclose(float(metric.result()), numpy_perplexity(y, logits), rtol=1e-5)


def test_config_and_bad_shapes():
    rebuilt = assert_config_round_trip(Perplexity(from_logits=False, name="ppl"))
    assert rebuilt.from_logits is False and rebuilt.name == "ppl"
    with pytest.raises(ValueError, match="y_true must have the shape"):
        Perplexity().update_state(np.zeros((2, 3, 4), "int32"), np.zeros((2, 3, 4), "float32"))
