"""DeepRNN and BidirectionalRNN: the notes' formulas, equal to stacked/Bidirectional Keras."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.bidirectional_rnn import BidirectionalRNN
from kerasnotes.layers.deep_rnn import DeepRNN
from tests.layers.test_recurrent_cells import scratch_as_keras
from tests.test_case import assert_same_values_and_gradients, random_inputs, run_layer_checks

BATCH, STEPS, FEATURES, UNITS = 2, 4, 3, 5
CELLS = ["rnn", "gru", "lstm"]


def randomize(layer, seed=0):
    for i, variable in enumerate(layer.weights):
        variable.assign(random_inputs(variable.shape, seed=seed + i, low=-0.5, high=0.5))


def copy_scratch_to_fused(cell, scratch_layers, fused_layers):
    """Copies the weights of scratch recurrent layers into the equivalent Keras layers."""
    for scratch, fused in zip(scratch_layers, fused_layers, strict=True):
        for variable, value in zip(fused.weights, scratch_as_keras(cell, scratch.cell),
                                   strict=True):
            variable.assign(value)


def keras_layer(cell, **options):
    if cell == "rnn":
        return keras.layers.SimpleRNN(UNITS, **options)
    if cell == "gru":
        return keras.layers.GRU(UNITS, reset_after=False, **options)
    return keras.layers.LSTM(UNITS, **options)


@pytest.mark.parametrize("cell", CELLS)
def test_deep_rnn_equals_stacked_keras_layers_and_fused(cell):
    scratch = DeepRNN(cell, UNITS, num_layers=2)
    fused = DeepRNN(cell, UNITS, num_layers=2, implementation="fused")
    scratch.build((None, STEPS, FEATURES))
    fused.build((None, STEPS, FEATURES))
    randomize(scratch)
    copy_scratch_to_fused(cell, scratch.recurrent_layers, fused.recurrent_layers)
    stacked = keras.Sequential([keras.Input((STEPS, FEATURES)),
                                keras_layer(cell, return_sequences=True),
                                keras_layer(cell, return_sequences=True)])
    copy_scratch_to_fused(cell, scratch.recurrent_layers, stacked.layers)
    x = random_inputs((BATCH, STEPS, FEATURES), seed=1)
    assert_same_values_and_gradients(scratch, stacked, [x])
    assert_same_values_and_gradients(scratch, fused, [x])


def test_deep_rnn_matches_the_notes_per_layer_formula():
    layer = DeepRNN("rnn", UNITS, num_layers=2, return_state=True)
    layer.build((None, STEPS, FEATURES))
    randomize(layer)
    x = random_inputs((BATCH, STEPS, FEATURES), seed=2)
    h0 = [random_inputs((BATCH, UNITS), seed=3), random_inputs((BATCH, UNITS), seed=4)]
    outputs, h1_final, h2_final = layer(x, initial_state=h0)
    w = [[np.array(v) for v in rnn.cell.weights] for rnn in layer.recurrent_layers]
    h = [h0[0], h0[1]]
    expected = []
    for t in range(STEPS):
        h[0] = np.tanh(x[:, t] @ w[0][0] + h[0] @ w[0][1] + w[0][2])       # l = 1
        h[1] = np.tanh(h[0] @ w[1][0] + h[1] @ w[1][1] + w[1][2])          # l = 2
        expected.append(h[1])
    np.testing.assert_allclose(np.array(outputs), np.stack(expected, axis=1), atol=1e-5)
    np.testing.assert_allclose(np.array(h1_final), h[0], atol=1e-5)
    np.testing.assert_allclose(np.array(h2_final), h[1], atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_equals_keras_bidirectional(cell):
    layer = BidirectionalRNN(cell, UNITS)
    layer.build((None, STEPS, FEATURES))
    randomize(layer, seed=7)
    reference = keras.layers.Bidirectional(keras_layer(cell, return_sequences=True))
    reference.build((None, STEPS, FEATURES))
    copy_scratch_to_fused(cell, [layer.forward_layer, layer.backward_layer],
                          [reference.forward_layer, reference.backward_layer])
    x = random_inputs((BATCH, STEPS, FEATURES), seed=5)
    assert_same_values_and_gradients(layer, reference, [x])
    fused = BidirectionalRNN(cell, UNITS, implementation="fused")
    fused.build((None, STEPS, FEATURES))
    copy_scratch_to_fused(cell, [layer.forward_layer, layer.backward_layer],
                          [fused.forward_layer, fused.backward_layer])
    assert_same_values_and_gradients(layer, fused, [x])


def test_bidirectional_matches_the_notes_formula():
    layer = BidirectionalRNN("rnn", UNITS, return_state=True)
    layer.build((None, STEPS, FEATURES))
    randomize(layer, seed=11)
    x = random_inputs((BATCH, STEPS, FEATURES), seed=6)
    outputs, h_forward, h_backward = layer(x)
    wf = [np.array(v) for v in layer.forward_layer.cell.weights]
    wb = [np.array(v) for v in layer.backward_layer.cell.weights]
    hf = np.zeros((BATCH, UNITS), "float32")
    hb = np.zeros((BATCH, UNITS), "float32")
    forward, backward = [], [None] * STEPS
    for i in range(STEPS):
        hf = np.tanh(x[:, i] @ wf[0] + hf @ wf[1] + wf[2])                # H_i^(f) from H_{i-1}
        forward.append(hf)
    for i in reversed(range(STEPS)):
        hb = np.tanh(x[:, i] @ wb[0] + hb @ wb[1] + wb[2])                # H_i^(b) from H_{i+1}
        backward[i] = hb
    expected = np.concatenate([np.stack(forward, 1), np.stack(backward, 1)], axis=-1)
    np.testing.assert_allclose(np.array(outputs), expected, atol=1e-5)
    np.testing.assert_allclose(np.array(h_forward), forward[-1], atol=1e-5)
    np.testing.assert_allclose(np.array(h_backward), backward[0], atol=1e-5)


@pytest.mark.parametrize("implementation", ["scratch", "fused"])
def test_layer_checks(implementation, tmp_path):
    run_layer_checks(DeepRNN("lstm", UNITS, num_layers=2, implementation=implementation),
                     (BATCH, STEPS, FEATURES), tmp_path,
                     expected_output_shape=(BATCH, STEPS, UNITS))
    run_layer_checks(BidirectionalRNN("gru", UNITS, implementation=implementation),
                     (BATCH, STEPS, FEATURES), tmp_path,
                     expected_output_shape=(BATCH, STEPS, 2 * UNITS))


def test_return_state_layout():
    layer = DeepRNN("lstm", UNITS, num_layers=3, return_state=True)
    results = layer(random_inputs((BATCH, STEPS, FEATURES)))
    assert len(results) == 1 + 6 and layer.num_states == 6
    # Feeding the final states back continues the sequence: two halves equal the whole.
    x = random_inputs((BATCH, 2 * STEPS, FEATURES), seed=9)
    whole = layer(x)
    first = layer(x[:, :STEPS])
    second = layer(x[:, STEPS:], initial_state=first[1:])
    np.testing.assert_allclose(np.array(second[0]), np.array(whole[0])[:, STEPS:], atol=1e-5)
    with pytest.raises(ValueError, match="initial_state must hold 6"):
        layer(x, initial_state=first[1:3])
    bidirectional = BidirectionalRNN("lstm", UNITS, return_state=True)
    assert len(bidirectional(x)) == 5
    with pytest.raises(ValueError, match="initial_state must hold 4"):
        bidirectional(x, initial_state=[tf.zeros((BATCH, UNITS))])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: DeepRNN("transformer", 4), "cell"),
        (lambda: DeepRNN("rnn", 4, num_layers=0), "num_layers"),
        (lambda: DeepRNN("rnn", 0), "units"),
        (lambda: DeepRNN("rnn", 4, implementation="cudnn"), "implementation"),
        (lambda: BidirectionalRNN("elman", 4), "cell"),
        (lambda: BidirectionalRNN("rnn", -1), "units"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
