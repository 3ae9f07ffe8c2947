"""Shared checks for layers, models, losses and ops.

Every public layer and model goes through the same checks: config round trip, eager and
symbolic call, one training step, and a `.keras` save/reload that reproduces outputs exactly.

Example:

    from tests.test_case import run_layer_checks
    def test_residual(tmp_path):
        run_layer_checks(Residual(8, use_1x1conv=True, strides=2), (2, 6, 6, 3), tmp_path,
                         expected_output_shape=(2, 3, 3, 8))
"""

import keras
import numpy as np
import tensorflow as tf


def random_inputs(shape, seed=0, dtype="float32", low=-1.0, high=1.0):
    """Deterministic uniform random NumPy inputs."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


def assert_config_round_trip(obj):
    """`from_config(get_config())` rebuilds an object with the same config."""
    config = obj.get_config()
    rebuilt = obj.__class__.from_config(config)
    assert rebuilt.get_config() == config
    # The class must be registered so that `.keras` files can find it.
    registered = keras.saving.get_registered_object(
        keras.saving.get_registered_name(obj.__class__)
    )
    assert registered is obj.__class__, (
        f"{obj.__class__.__name__} is not registered with "
        "keras.saving.register_keras_serializable(package='kerasnotes')"
    )
    return rebuilt


def assert_keras_save_load(model, inputs, tmp_path, name="model.keras"):
    """Save `model` to a `.keras` file, reload it and check outputs are identical."""
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    path = str(tmp_path / name)
    model.save(path)
    reloaded = keras.saving.load_model(path)
    actual = keras.ops.convert_to_numpy(reloaded(inputs, training=False))
    np.testing.assert_array_equal(actual, expected)
    return reloaded


def assert_trains_one_step(model, inputs, targets=None, loss="mse"):
    """One optimizer step changes at least one weight and every trainable weight gets a gradient."""
    if targets is None:
        outputs = model(inputs, training=True)
        targets = np.zeros(outputs.shape, dtype="float32")
    loss_fn = keras.losses.get(loss)
    with tf.GradientTape() as tape:
        outputs = model(inputs, training=True)
        value = tf.reduce_mean(loss_fn(targets, outputs))
    grads = tape.gradient(value, model.trainable_variables)
    missing = [v.path for v, g in zip(model.trainable_variables, grads) if g is None]
    assert not missing, f"no gradient reaches {missing}"
    before = [np.array(v) for v in model.trainable_variables]
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_variables))
    changed = any(
        not np.array_equal(b, np.array(v)) for b, v in zip(before, model.trainable_variables)
    )
    assert changed, "one SGD step changed no weight"
    assert np.isfinite(float(value))


def run_layer_checks(layer, input_shape, tmp_path, expected_output_shape=None, train=True,
                     inputs=None):
    """Config round trip, eager and symbolic call, one training step, `.keras` round trip.

    `input_shape` includes the batch dimension. Returns the eager output.
    """
    assert_config_round_trip(layer)
    if inputs is None:
        inputs = random_inputs(input_shape)
    eager = layer(inputs)
    if expected_output_shape is not None:
        assert tuple(eager.shape) == tuple(expected_output_shape)
    symbolic_input = keras.Input(shape=input_shape[1:], batch_size=None)
    symbolic_output = layer(symbolic_input)
    assert tuple(symbolic_output.shape[1:]) == tuple(eager.shape[1:])
    model = keras.Model(symbolic_input, symbolic_output)
    if train and model.trainable_variables:
        assert_trains_one_step(model, inputs)
    assert_keras_save_load(model, inputs, tmp_path)
    return eager


def run_model_checks(model, input_shape, tmp_path, expected_output_shape=None, train=True):
    """The same checks for a `keras.Model` subclass whose config rebuilds it."""
    inputs = random_inputs(input_shape)
    outputs = model(inputs)
    if expected_output_shape is not None:
        assert tuple(outputs.shape) == tuple(expected_output_shape)
    assert_config_round_trip(model)
    if train:
        assert_trains_one_step(model, inputs)
    assert_keras_save_load(model, inputs, tmp_path)
    return outputs


def values_and_gradients(fn, inputs, variables=()):
    """Returns fn(*inputs) and the gradients of sum(fn * fixed random weights) w.r.t.
    the inputs and `variables`. The random cotangent makes every output element count."""
    inputs = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape(persistent=True) as tape:
        for x in inputs:
            tape.watch(x)
        out = fn(*inputs)
        cotangent = tf.constant(random_inputs(out.shape, seed=123))
        total = tf.reduce_sum(out * cotangent)
    grads = tape.gradient(total, inputs + list(variables))
    return np.array(out), [None if g is None else np.array(tf.convert_to_tensor(g)) for g in grads]


def assert_same_values_and_gradients(fn_a, fn_b, inputs, variables_a=(), variables_b=(),
                                     atol=1e-5):
    """Two implementations of one formula agree in value and gradients (float32, atol)."""
    out_a, grads_a = values_and_gradients(fn_a, inputs, variables_a)
    out_b, grads_b = values_and_gradients(fn_b, inputs, variables_b)
    np.testing.assert_allclose(out_a, out_b, atol=atol, rtol=0)
    assert len(grads_a) == len(grads_b)
    for i, (ga, gb) in enumerate(zip(grads_a, grads_b)):
        assert (ga is None) == (gb is None), f"gradient {i}: one side is None"
        if ga is not None:
            np.testing.assert_allclose(ga, gb, atol=atol, rtol=0, err_msg=f"gradient {i}")


def sgd_step(layer, learning_rate=0.1):
    """A `tf.function` `step(x)`: one SGD step on `layer` of a squared-error loss on its
    training-mode output (`mean((layer(x) - 1)^2)`); returns the gradients."""
    optimizer = keras.optimizers.SGD(learning_rate)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x, training=True) - 1.0))
        grads = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply_gradients(zip(grads, layer.trainable_variables, strict=True))
        return grads

    return step


def assert_same_training_steps(layer_a, layer_b, input_shape, steps=4, atol=1e-5):
    """Trains two layers that start with equal weights by the same SGD steps on the same
    batches (a squared-error loss on the training-mode output; batches with a shifting
    mean) and checks that every weight and statistic moved and that both ended equal."""
    initial = layer_a.get_weights()
    step_a, step_b = sgd_step(layer_a), sgd_step(layer_b)
    for i in range(steps):
        x = random_inputs(input_shape, seed=10 + i, low=-1.0 + i, high=2.0 + i)
        step_a(x)
        step_b(x)
    for a, b, before in zip(layer_a.get_weights(), layer_b.get_weights(), initial, strict=True):
        assert np.abs(a - before).max() > 1e-2  # every weight and statistic has moved
        np.testing.assert_allclose(a, b, atol=atol, rtol=0)


def assert_ops_wait_for_assertions(graph, is_guarded):
    """Every op of `graph` for which `is_guarded(op)` holds depends on an assertion op.

    An assertion in a `tf.function` runs, but in no fixed order with the ops beside it, unless
    they read its output: then a bad input could fail first in a later op, with TF's message
    instead of ours. This checks the graph (data and control inputs, transitively), so it does
    not depend on the order the runtime happens to pick.
    """
    assertions = {op.name for op in graph.get_operations() if op.type == "Assert"}
    assert assertions, "the graph has no assertion"
    guarded = [op for op in graph.get_operations() if is_guarded(op)]
    assert guarded, "no op to check"
    late = []
    for op in guarded:
        seen, stack = set(), [op]
        while stack:
            current = stack.pop()
            for parent in [tensor.op for tensor in current.inputs] + current.control_inputs:
                if parent.name not in seen:
                    seen.add(parent.name)
                    stack.append(parent)
        if not assertions & seen:
            late.append(op.name)
    assert not late, f"ops that can run before the assertions: {late}"
