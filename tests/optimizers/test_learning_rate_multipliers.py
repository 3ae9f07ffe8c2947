"""LearningRateMultipliers: per-layer learning rates, checked against the plain optimizer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.optimizers.learning_rate_multipliers import LearningRateMultipliers
from tests.test_case import assert_config_round_trip, random_inputs


def two_layer_model():
    """Two parallel layers: each one's gradient depends only on its own weights, so each
    can be compared with a plain optimizer training a copy of the model."""
    inputs = keras.Input((3,))
    body = keras.layers.Dense(4, name="body")(inputs)
    output = keras.layers.Dense(2, name="output")(inputs)
    return keras.Model(inputs, keras.layers.Concatenate(name="both")([body, output]))


def gradients(model, x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(x)))
    return tape.gradient(loss, model.trainable_variables)


@pytest.mark.parametrize("make", [lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
                                  lambda lr: keras.optimizers.Adam(lr)])
def test_each_layer_follows_the_optimizer_at_its_own_rate(make):
    keras.utils.set_random_seed(0)
    model = two_layer_model()
    body_ref, head_ref = two_layer_model(), two_layer_model()
    for ref in (body_ref, head_ref):
        ref.set_weights(model.get_weights())
    wrapped = LearningRateMultipliers(make(0.01), {"output": 10.0})
    body_opt, head_opt = make(0.01), make(0.1)
    x = random_inputs((5, 3))
    for _ in range(3):  # several steps: slots and Adam's step count matter
        wrapped.apply_gradients(zip(gradients(model, x), model.trainable_variables))
        body_opt.apply_gradients(zip(gradients(body_ref, x), body_ref.trainable_variables))
        head_opt.apply_gradients(zip(gradients(head_ref, x), head_ref.trainable_variables))
    for layer in ("body", "output"):
        ref = body_ref if layer == "body" else head_ref
        for w, r in zip(model.get_layer(layer).weights, ref.get_layer(layer).weights):
            np.testing.assert_allclose(np.array(w), np.array(r), atol=1e-6)
    assert int(wrapped.iterations) == 3
    assert float(wrapped.learning_rate) == pytest.approx(0.01)


def test_sgd_update_is_the_formula_under_mirrored_strategy(mirrored_strategy):
    with mirrored_strategy.scope():
        model = two_layer_model()
        optimizer = LearningRateMultipliers(keras.optimizers.SGD(0.1), {"output": 1000.0})
        optimizer.build(model.trainable_variables)
    before = [np.array(v) for v in model.trainable_variables]
    x = random_inputs((4, 3))
    expected_grads = [np.array(g) for g in gradients(model, x)]

    def step(batch):
        grads = gradients(model, batch)
        # Each replica holds half the batch; the strategy sums the replicas' gradients.
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    dataset = mirrored_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(4))
    for batch in dataset:
        mirrored_strategy.run(tf.function(step), args=(batch,))
    rates = [0.1, 0.1, 100.0, 100.0]  # body kernel, bias; output kernel, bias
    for b, v, g, lr in zip(before, model.trainable_variables, expected_grads, rates):
        np.testing.assert_allclose(np.array(v), b - lr * g, rtol=1e-4, atol=1e-4)


def test_config_round_trip_and_checkpoint(tmp_path):
    optimizer = LearningRateMultipliers(keras.optimizers.Adam(0.01), {"output": 10.0})
    rebuilt = assert_config_round_trip(optimizer)
    assert rebuilt.multipliers == {"output": 10.0}
    model = two_layer_model()
    optimizer.apply_gradients(zip(gradients(model, random_inputs((2, 3))),
                                  model.trainable_variables))
    path = tf.train.Checkpoint(optimizer=optimizer).save(str(tmp_path / "ckpt"))
    restored = LearningRateMultipliers(keras.optimizers.Adam(0.01), {"output": 10.0})
    restored.build(model.trainable_variables)
    tf.train.Checkpoint(optimizer=restored).restore(path).assert_existing_objects_matched()
    assert int(restored.iterations) == 1
    for a, b in zip(optimizer._copies[0].variables, restored._copies[0].variables):
        np.testing.assert_array_equal(np.array(a), np.array(b))


@pytest.mark.parametrize("kwargs, message", [
    (dict(optimizer="sgd", multipliers={"output": 10.0}), "optimizer"),
    (dict(optimizer=keras.optimizers.SGD(0.1), multipliers={}), "multipliers"),
    (dict(optimizer=keras.optimizers.SGD(0.1), multipliers={"output": -1.0}), "output"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LearningRateMultipliers(**kwargs)
