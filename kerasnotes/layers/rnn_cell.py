"""The notes' recurrent cell, H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), from scratch."""

import keras
from keras import ops

from kerasnotes._checks import check_int


def add_gate_weights(cell, gate, input_dim, bias_initializer=None):
    """Adds the notes' weights of one gate `g` of a recurrent cell with `cell.units` units:

        cell.w_x{g}: W_xg (input_dim, units)    cell.w_h{g}: W_hg (units, units)
        cell.b_{g}:  b_g  (units,)

    with the cell's `kernel_initializer`, `recurrent_initializer` and `bias_initializer`
    (or `bias_initializer` given here). The RNN has the one gate `"h"`, the GRU `"r"`,
    `"z"`, `"h"`, the LSTM `"i"`, `"f"`, `"o"`, `"c"`.
    """
    setattr(cell, f"w_x{gate}", cell.add_weight(
        shape=(input_dim, cell.units), name=f"w_x{gate}", initializer=cell.kernel_initializer))
    setattr(cell, f"w_h{gate}", cell.add_weight(
        shape=(cell.units, cell.units), name=f"w_h{gate}",
        initializer=cell.recurrent_initializer))
    setattr(cell, f"b_{gate}", cell.add_weight(
        shape=(cell.units,), name=f"b_{gate}",
        initializer=bias_initializer or cell.bias_initializer))


@keras.saving.register_keras_serializable(package="kerasnotes")
class RNNCell(keras.layers.Layer):
    """One time step of the notes' recurrent neural network, as a Keras RNN cell.

    The hidden state of time step `t` from the input `X_t` and the previous state:

        H_t = phi(X_t W_xh + H_{t-1} W_hh + b_h),    phi = tanh by default

    with `H_0 = 0`. The output of the step is `H_t` itself (the output layer
    `O_t = H_t W_hq + b_q` belongs to the model). Wrap it in `keras.layers.RNN` to run it
    over a sequence; with the same weights (`kernel = W_xh`, `recurrent_kernel = W_hh`,
    `bias = b_h`) it equals `keras.layers.SimpleRNN`.

    Args:
        units: size of the hidden state `h`.
        activation: `phi` (default `"tanh"`, as in the notes).
        kernel_initializer: initializer of `W_xh`.
        recurrent_initializer: initializer of `W_hh`.
        bias_initializer: initializer of `b_h`.

    Call arguments:
        inputs: `X_t`, `(batch, input_dim)`.
        states: `[H_{t-1}]`, `(batch, units)`.

    Returns:
        `(H_t, [H_t])`, both `(batch, units)`.

    Example:

    >>> rnn = keras.layers.RNN(RNNCell(8), return_sequences=True)
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, units, activation="tanh", kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_int("RNNCell", "units", units)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        add_gate_weights(self, "h", input_shape[-1])

    def call(self, inputs, states, training=None):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        h = self.activation(ops.matmul(inputs, self.w_xh) + ops.matmul(h_prev, self.w_hh)
                            + self.b_h)
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
