"""RNNCell, GRUCell and LSTMCell equal Keras SimpleRNN / GRU(reset_after=False) / LSTM."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.gru_cell import GRUCell
from kerasnotes.layers.lstm_cell import LSTMCell
from kerasnotes.layers.rnn_cell import RNNCell
from tests.test_case import (
    assert_config_round_trip,
    assert_keras_save_load,
    assert_same_values_and_gradients,
    assert_trains_one_step,
    random_inputs,
)

BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 6

# Gate order of the Keras kernels, and the state tensors of each cell.
KERAS_GATES = {"rnn": [""], "gru": ["z", "r", "h"], "lstm": ["i", "f", "c", "o"]}
NUM_STATES = {"rnn": 1, "gru": 1, "lstm": 2}


def make_pair(cell):
    scratch_cell = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}[cell](UNITS)
    scratch = keras.layers.RNN(scratch_cell, return_sequences=True, return_state=True)
    options = dict(return_sequences=True, return_state=True)
    reference = {
        "rnn": lambda: keras.layers.SimpleRNN(UNITS, **options),
        "gru": lambda: keras.layers.GRU(UNITS, reset_after=False, **options),
        "lstm": lambda: keras.layers.LSTM(UNITS, **options),
    }[cell]()
    scratch.build((None, STEPS, FEATURES))
    reference.build((None, STEPS, FEATURES))
    # Random weights everywhere (biases too), then the same values in Keras' layout.
    for i, variable in enumerate(scratch_cell.weights):
        variable.assign(random_inputs(variable.shape, seed=10 + i, low=-0.5, high=0.5))
    return scratch, scratch_cell, reference


def scratch_as_keras(cell, scratch_cell):
    """The scratch weights concatenated in the order of the Keras kernels."""
    gates = KERAS_GATES[cell]

    def concat(prefix):
        names = ["w_xh" if cell == "rnn" and prefix == "w_x" else
                 "w_hh" if cell == "rnn" and prefix == "w_h" else
                 "b_h" if cell == "rnn" and prefix == "b_" else prefix + g for g in gates]
        return tf.concat([getattr(scratch_cell, n) for n in names], axis=-1)

    return [concat("w_x"), concat("w_h"), concat("b_")]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_equals_keras_layer_values_and_gradients(cell):
    scratch, scratch_cell, reference = make_pair(cell)
    for variable, value in zip(reference.weights, scratch_as_keras(cell, scratch_cell)):
        variable.assign(value)
    x = random_inputs((BATCH, STEPS, FEATURES), seed=1)
    states = [random_inputs((BATCH, UNITS), seed=2 + i) for i in range(NUM_STATES[cell])]

    def run(layer):
        def fn(x, *states):
            outputs = layer(x, initial_state=list(states))
            # Sequence and final states together, so that every output is compared.
            return tf.concat([tf.reshape(outputs[0], (BATCH, -1))] + list(outputs[1:]), axis=1)
        return fn

    # Values and gradients with respect to the inputs and the initial states.
    assert_same_values_and_gradients(run(scratch), run(reference), [x, *states])

    # Gradients with respect to the weights, the scratch ones concatenated like Keras'.
    def weight_gradients(layer, variables):
        with tf.GradientTape() as tape:
            out = run(layer)(tf.constant(x), *[tf.constant(s) for s in states])
            total = tf.reduce_sum(out * random_inputs(out.shape, seed=123))
        return tape.gradient(total, variables)

    ours = types.SimpleNamespace(**{
        v.name: g for v, g in zip(scratch_cell.weights,
                                  weight_gradients(scratch, scratch_cell.weights))})
    theirs = weight_gradients(reference, reference.weights)
    for g_ours, g_theirs in zip(scratch_as_keras(cell, ours), theirs, strict=True):
        np.testing.assert_allclose(np.array(g_ours), np.array(g_theirs), atol=1e-5, rtol=0)


def test_rnn_cell_matches_numpy_formula():
    cell = RNNCell(UNITS)
    x = random_inputs((BATCH, FEATURES), seed=3)
    h_prev = random_inputs((BATCH, UNITS), seed=4)
    cell.build((None, FEATURES))
    cell.b_h.assign(random_inputs((UNITS,), seed=5))
    w_xh, w_hh, b_h = (np.array(v) for v in (cell.w_xh, cell.w_hh, cell.b_h))
    h, [state] = cell(x, [h_prev])
    expected = np.tanh(x @ w_xh + h_prev @ w_hh + b_h)
    np.testing.assert_allclose(np.array(h), expected, atol=1e-5)
    np.testing.assert_array_equal(np.array(h), np.array(state))


def test_gru_cell_matches_numpy_formula():
    cell = GRUCell(UNITS)
    cell.build((None, FEATURES))
    for i, variable in enumerate(cell.weights):
        variable.assign(random_inputs(variable.shape, seed=20 + i))
    w = {v.name: np.array(v) for v in cell.weights}
    x = random_inputs((BATCH, FEATURES), seed=6)
    h_prev = random_inputs((BATCH, UNITS), seed=7)

    def sigmoid(a):
        return 1 / (1 + np.exp(-a))

    r = sigmoid(x @ w["w_xr"] + h_prev @ w["w_hr"] + w["b_r"])
    z = sigmoid(x @ w["w_xz"] + h_prev @ w["w_hz"] + w["b_z"])
    h_tilde = np.tanh(x @ w["w_xh"] + (r * h_prev) @ w["w_hh"] + w["b_h"])
    expected = z * h_prev + (1 - z) * h_tilde
    np.testing.assert_allclose(np.array(cell(x, [h_prev])[0]), expected, atol=1e-5)


def test_lstm_cell_matches_numpy_formula_and_forget_bias():
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    np.testing.assert_array_equal(np.array(cell.b_f), np.ones(UNITS))
    np.testing.assert_array_equal(np.array(cell.b_i), np.zeros(UNITS))
    for i, variable in enumerate(cell.weights):
        variable.assign(random_inputs(variable.shape, seed=40 + i))
    w = {v.name: np.array(v) for v in cell.weights}
    x = random_inputs((BATCH, FEATURES), seed=8)
    h_prev, c_prev = random_inputs((BATCH, UNITS), seed=9), random_inputs((BATCH, UNITS), seed=10)

    def sigmoid(a):
        return 1 / (1 + np.exp(-a))

    def affine(g):
        return x @ w[f"w_x{g}"] + h_prev @ w[f"w_h{g}"] + w[f"b_{g}"]

    c = sigmoid(affine("f")) * c_prev + sigmoid(affine("i")) * np.tanh(affine("c"))
    h = sigmoid(affine("o")) * np.tanh(c)
    out, (h_new, c_new) = cell(x, [h_prev, c_prev])
    np.testing.assert_allclose(np.array(out), h, atol=1e-5)
    np.testing.assert_allclose(np.array(c_new), c, atol=1e-5)


@pytest.mark.parametrize("cell_class", [RNNCell, GRUCell, LSTMCell])
def test_cell_inside_keras_rnn_trains_and_saves(cell_class, tmp_path):
    # (keras.layers.RNN.from_config consumes its config dict, so the cell's own config
    # round trip is checked directly; the .keras round trip goes through a Model.)
    rebuilt = assert_config_round_trip(cell_class(UNITS, name="c"))
    assert rebuilt.units == UNITS
    inputs = keras.Input((STEPS, FEATURES))
    outputs = keras.layers.RNN(cell_class(UNITS), return_sequences=True)(inputs)
    model = keras.Model(inputs, outputs)
    x = random_inputs((BATCH, STEPS, FEATURES))
    assert tuple(model(x).shape) == (BATCH, STEPS, UNITS)
    assert_trains_one_step(model, x)
    assert_keras_save_load(model, x, tmp_path)
    initial = cell_class(UNITS).get_initial_state(batch_size=2)
    assert [tuple(s.shape) for s in initial] == [(2, UNITS)] * len(initial)


@pytest.mark.parametrize("cell_class", [RNNCell, GRUCell, LSTMCell])
@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_bad_units(cell_class, units):
    with pytest.raises(ValueError, match="units"):
        cell_class(units)
