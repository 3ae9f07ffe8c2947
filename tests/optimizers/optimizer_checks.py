"""Shared checks for the optimizers: NumPy transcriptions of the notes' formulas are run
side by side with the Keras optimizer on the same gradients.

A test file gives a per-variable NumPy update `numpy_update(x, g, state, t, eta) -> x`
(float64; `state` is a dict the function keeps its accumulators in; `t` counts from 1) and
a factory for the optimizer. The gradients are known exactly: the loss is
`sum(x * c_t) / num_replicas` (dense) or `sum(Embedding(ids) * c_t) / num_replicas`
(sparse), with `c_t` random per step and the same on every replica, so the gradient the
strategy sums over the replicas is `c_t` (dense) or `c_t` scattered onto the looked-up rows
(sparse; `ids` repeats a row and leaves rows without gradient).
"""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_case import assert_config_round_trip, assert_keras_save_load

STEPS = 5
DENSE_SHAPES = [(3, 4), (4,)]
VOCAB, DIM = 6, 3
IDS = np.array([1, 4, 1, 0], dtype="int32")  # row 1 twice; rows 2, 3, 5 get no gradient
STRATEGIES = ["default", "mirrored"]


@functools.cache
def mirrored_strategy():
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def get_strategy(name):
    return mirrored_strategy() if name == "mirrored" else tf.distribute.get_strategy()


def random_problem(sparse, seed=0, steps=STEPS):
    """Initial values and per-step cotangents `c_t` (float32), and the dense gradients
    the loss gives (float64)."""
    rng = np.random.default_rng(seed)
    shapes = [(VOCAB, DIM)] if sparse else DENSE_SHAPES
    initial = [rng.normal(size=s).astype("float32") for s in shapes]
    if sparse:
        cotangents = [[rng.normal(size=(len(IDS), DIM)).astype("float32")] for _ in range(steps)]
        gradients = []
        for (c,) in cotangents:
            g = np.zeros((VOCAB, DIM))
            np.add.at(g, IDS, c.astype("float64"))
            gradients.append([g])
    else:
        cotangents = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(steps)]
        gradients = [[c.astype("float64") for c in cs] for cs in cotangents]
    return initial, cotangents, gradients


def run_keras(make_optimizer, initial, cotangents, sparse, strategy_name="default"):
    """Applies the optimizer for len(cotangents) steps inside a tf.function; returns the
    final values (float32 NumPy) and the optimizer."""
    strategy = get_strategy(strategy_name)
    with strategy.scope():
        if sparse:
            layer = keras.layers.Embedding(
                VOCAB, DIM, embeddings_initializer=keras.initializers.Constant(initial[0])
            )
            layer.build((None,))
            variables = [layer.embeddings]
        else:
            layer = None
            variables = [keras.Variable(x) for x in initial]
        optimizer = make_optimizer()
        optimizer.build(variables)
    ids = tf.constant(IDS)
    gradient_types = []

    @tf.function
    def train_step(cs):
        def replica_step():
            with tf.GradientTape() as tape:
                outputs = [layer(ids)] if sparse else [ops_value(v) for v in variables]
                loss = tf.add_n([tf.reduce_sum(o * c) for o, c in zip(outputs, cs, strict=True)])
                loss = loss / strategy.num_replicas_in_sync
            grads = tape.gradient(loss, variables)
            gradient_types.extend(type(g) for g in grads)
            optimizer.apply_gradients(zip(grads, variables, strict=True))

        strategy.run(replica_step)

    for cs in cotangents:
        train_step([tf.constant(c) for c in cs])
    expected_type = tf.IndexedSlices if sparse else tf.Tensor
    assert gradient_types and all(issubclass(t, expected_type) for t in gradient_types), (
        gradient_types
    )
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables], optimizer


def ops_value(variable):
    return keras.ops.convert_to_tensor(variable)


def run_numpy(numpy_update, initial, gradients, learning_rate, weight_decay=None):
    """The NumPy transcription in float64. `learning_rate` is a float or a function of the
    0-based step (as Keras schedules are called)."""
    xs = [x.astype("float64") for x in initial]
    states = [{} for _ in xs]
    for step, grads in enumerate(gradients):
        eta = learning_rate(step) if callable(learning_rate) else learning_rate
        for i, g in enumerate(grads):
            if weight_decay is not None:
                xs[i] = xs[i] - eta * weight_decay * xs[i]
            xs[i] = numpy_update(xs[i], g, states[i], step + 1, eta)
    return xs


def assert_close(actual, expected, tol=1e-6):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol)


def check_against_numpy(make_optimizer, numpy_update, learning_rate, sparse, strategy_name,
                        weight_decay=None):
    initial, cotangents, gradients = random_problem(sparse)
    actual, _ = run_keras(make_optimizer, initial, cotangents, sparse, strategy_name)
    expected = run_numpy(numpy_update, initial, gradients, learning_rate, weight_decay)
    # The update must do something, or the comparison proves nothing.
    assert not np.allclose(expected[0], initial[0])
    assert_close(actual, expected)


def check_against_keras(make_optimizer, make_keras_optimizer, sparse=False, tol=1e-6):
    """Ours and a Keras built-in of the same family end at the same values."""
    initial, cotangents, _ = random_problem(sparse, seed=1)
    ours, _ = run_keras(make_optimizer, initial, cotangents, sparse)
    theirs, _ = run_keras(make_keras_optimizer, initial, cotangents, sparse)
    assert_close(ours, theirs, tol)


def tiny_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    return x, y


def check_fit_and_save(optimizer, tmp_path):
    """Config round trip; `fit` for 2 steps; `.keras` save/load keeps the optimizer's class,
    config and slot variables, and the model's outputs."""
    assert_config_round_trip(optimizer)
    x, y = tiny_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    model.compile(optimizer=optimizer, loss="mse")
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert int(optimizer.iterations) == 2
    assert any(not np.array_equal(b, a) for b, a in zip(before, model.get_weights(), strict=True))
    reloaded = assert_keras_save_load(model, x, tmp_path)
    assert type(reloaded.optimizer) is type(optimizer)
    assert reloaded.optimizer.get_config() == optimizer.get_config()
    assert len(reloaded.optimizer.variables) == len(optimizer.variables)
    for a, b in zip(reloaded.optimizer.variables, optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.array(a), np.array(b))


def check_bad_argument(cls, name, value, **other):
    with pytest.raises(ValueError, match=name):
        cls(**{name: value}, **other)
