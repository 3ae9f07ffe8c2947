"""The notes' bidirectional recurrent network: forward and backward states concatenated."""

import keras
from keras import ops

from kerasnotes._checks import check_int
from kerasnotes.layers.deep_rnn import (
    check_cell_and_implementation,
    recurrent_layer,
    states_per_layer,
)


@keras.saving.register_keras_serializable(package="kerasnotes")
class BidirectionalRNN(keras.layers.Layer):
    """A bidirectional recurrent layer: one pass left to right, one right to left.

    The notes' formulas, for time step `i` (plain RNN cell; GRU and LSTM cells use their
    gated update in both directions):

        H_i^(f) = phi(X_i W_xh^(f) + H_{i-1}^(f) W_hh^(f) + b_h^(f))
        H_i^(b) = phi(X_i W_xh^(b) + H_{i+1}^(b) W_hh^(b) + b_h^(b))
        H_i     = concat(H_i^(f), H_i^(b))

    so each output sees the whole sequence, past and future. (That is why a bidirectional
    model cannot generate text left to right: at training time it sees the token it is
    asked to predict.) With copied weights it equals
    `keras.layers.Bidirectional(<the Keras layer>, merge_mode="concat")`.

    Args:
        cell: `"rnn"`, `"gru"` or `"lstm"`.
        units: hidden size of each direction (the output has `2 * units` features).
        implementation: `"scratch"` or `"fused"` (see `DeepRNN`).
        return_state: also return the final states of both directions.

    Call arguments:
        inputs: `(batch, steps, features)`.
        initial_state: optional list of the forward states then the backward states
            (`[H^(f), H^(b)]`, or `[H^(f), C^(f), H^(b), C^(b)]` for the LSTM).
        training: passed to the layers.

    Returns:
        `(batch, steps, 2 * units)`, or with `return_state`
        `[outputs, *forward_states, *backward_states]`.

    Example:

    >>> layer = BidirectionalRNN("rnn", units=4)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, cell="rnn", units=32, implementation="scratch", return_state=False,
                 **kwargs):
        super().__init__(**kwargs)
        check_cell_and_implementation("BidirectionalRNN", cell, implementation)
        self.units = check_int("BidirectionalRNN", "units", units)
        self.cell = cell
        self.implementation = implementation
        self.return_state = bool(return_state)
        self.num_states = 2 * states_per_layer(cell)
        self.forward_layer = recurrent_layer(cell, units, implementation, name="forward")
        self.backward_layer = recurrent_layer(cell, units, implementation, go_backwards=True,
                                              name="backward")

    def build(self, input_shape):
        self.forward_layer.build(tuple(input_shape))
        self.backward_layer.build(tuple(input_shape))

    def call(self, inputs, initial_state=None, training=None):
        half = self.num_states // 2
        forward_state = backward_state = None
        if initial_state is not None:
            if len(initial_state) != self.num_states:
                raise ValueError(
                    f"BidirectionalRNN: initial_state must hold {self.num_states} tensors; "
                    f"received {len(initial_state)}"
                )
            forward_state = list(initial_state[:half])
            backward_state = list(initial_state[half:])
        forward = self.forward_layer(inputs, initial_state=forward_state, training=training)
        backward = self.backward_layer(inputs, initial_state=backward_state, training=training)
        # go_backwards returns the sequence in reversed time order: put it back in order.
        outputs = ops.concatenate([forward[0], ops.flip(backward[0], axis=1)], axis=-1)
        if self.return_state:
            return [outputs, *forward[1:], *backward[1:]]
        return outputs

    def compute_output_shape(self, input_shape):
        output_shape = tuple(input_shape[:-1]) + (2 * self.units,)
        if self.return_state:
            return [output_shape] + [(input_shape[0], self.units)] * self.num_states
        return output_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "cell": self.cell,
            "units": self.units,
            "implementation": self.implementation,
            "return_state": self.return_state,
        })
        return config
