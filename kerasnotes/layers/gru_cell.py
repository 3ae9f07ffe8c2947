"""The notes' gated recurrent unit (GRU) cell from scratch."""

import keras
from keras import ops

from kerasnotes._checks import check_int
from kerasnotes.layers.rnn_cell import add_gate_weights


@keras.saving.register_keras_serializable(package="kerasnotes")
class GRUCell(keras.layers.Layer):
    """One time step of the notes' gated recurrent unit, as a Keras RNN cell.

    The reset gate `R_t`, update gate `Z_t`, candidate state `H~_t` and new state:

        R_t  = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)
        Z_t  = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)
        H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)
        H_t  = Z_t * H_{t-1} + (1 - Z_t) * H~_t

    (`*` element-wise). A reset gate near 0 drops the previous state from the candidate;
    an update gate near 1 carries the previous state through unchanged, which is how the
    GRU keeps gradients from vanishing over long spans. With the same weights it equals
    `keras.layers.GRU(reset_after=False)` (whose kernels concatenate the gates in the order
    z, r, h: `kernel = [W_xz | W_xr | W_xh]`, `recurrent_kernel = [W_hz | W_hr | W_hh]`,
    `bias = [b_z | b_r | b_h]`).

    Args:
        units: size of the hidden state.
        kernel_initializer: initializer of the input weights `W_x*`.
        recurrent_initializer: initializer of the state weights `W_h*`.
        bias_initializer: initializer of the biases `b_*`.

    Call arguments:
        inputs: `X_t`, `(batch, input_dim)`.
        states: `[H_{t-1}]`, `(batch, units)`.

    Returns:
        `(H_t, [H_t])`, both `(batch, units)`.

    Example:

    >>> gru = keras.layers.RNN(GRUCell(8), return_sequences=True)
    >>> gru(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_int("GRUCell", "units", units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        for gate in ("r", "z", "h"):
            add_gate_weights(self, gate, input_shape[-1])

    def call(self, inputs, states, training=None):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        r = ops.sigmoid(ops.matmul(inputs, self.w_xr) + ops.matmul(h_prev, self.w_hr) + self.b_r)
        z = ops.sigmoid(ops.matmul(inputs, self.w_xz) + ops.matmul(h_prev, self.w_hz) + self.b_z)
        h_tilde = ops.tanh(ops.matmul(inputs, self.w_xh) + ops.matmul(r * h_prev, self.w_hh)
                           + self.b_h)
        h = z * h_prev + (1.0 - z) * h_tilde
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
