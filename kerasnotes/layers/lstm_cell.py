"""The long short-term memory (LSTM) cell from scratch."""

import keras
from keras import ops

from kerasnotes._checks import check_int
from kerasnotes.layers.rnn_cell import add_gate_weights


@keras.saving.register_keras_serializable(package="kerasnotes")
class LSTMCell(keras.layers.Layer):
    """One time step of a long short-term memory network, as a Keras RNN cell.

    The input gate `I_t`, forget gate `F_t`, output gate `O_t`, candidate memory `C~_t`,
    memory cell `C_t` and hidden state `H_t`:

        I_t  = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)
        F_t  = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)
        O_t  = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)
        C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)
        C_t  = F_t * C_{t-1} + I_t * C~_t
        H_t  = O_t * tanh(C_t)

    (`*` element-wise; the notes name the LSTM next to the GRU, these are its formulas from
    the same book). The state is the pair `[H_t, C_t]`, both zero at `t = 0`. With the same
    weights it equals `keras.layers.LSTM` (kernels concatenated in the order i, f, c, o:
    `kernel = [W_xi | W_xf | W_xc | W_xo]`, likewise `recurrent_kernel` and `bias`).

    Args:
        units: size of the hidden state and of the memory cell.
        unit_forget_bias: initialize `b_f` to ones (as Keras does) so that the memory is
            kept at the start of training.
        kernel_initializer: initializer of the input weights `W_x*`.
        recurrent_initializer: initializer of the state weights `W_h*`.
        bias_initializer: initializer of the biases (but `b_f` with `unit_forget_bias`).

    Call arguments:
        inputs: `X_t`, `(batch, input_dim)`.
        states: `[H_{t-1}, C_{t-1}]`, each `(batch, units)`.

    Returns:
        `(H_t, [H_t, C_t])`, each `(batch, units)`.

    Example:

    >>> lstm = keras.layers.RNN(LSTMCell(8), return_sequences=True)
    >>> lstm(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, units, unit_forget_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_int("LSTMCell", "units", units)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        for gate in ("i", "f", "o", "c"):
            forget_bias = gate == "f" and self.unit_forget_bias
            add_gate_weights(self, gate, input_shape[-1], "ones" if forget_bias else None)

    def call(self, inputs, states, training=None):
        h_prev, c_prev = states[0], states[1]

        def affine(gate):
            return (ops.matmul(inputs, getattr(self, f"w_x{gate}"))
                    + ops.matmul(h_prev, getattr(self, f"w_h{gate}")) + getattr(self, f"b_{gate}"))

        i = ops.sigmoid(affine("i"))
        f = ops.sigmoid(affine("f"))
        o = ops.sigmoid(affine("o"))
        c_tilde = ops.tanh(affine("c"))
        c = f * c_prev + i * c_tilde
        h = o * ops.tanh(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in range(2)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
