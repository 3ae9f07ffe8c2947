"""The notes' deep recurrent network: L recurrent layers stacked, any cell."""

import keras

from kerasnotes._checks import check_choice, check_int
from kerasnotes.layers.gru_cell import GRUCell
from kerasnotes.layers.lstm_cell import LSTMCell
from kerasnotes.layers.rnn_cell import RNNCell

CELLS = ("rnn", "gru", "lstm")
IMPLEMENTATIONS = ("scratch", "fused")


def check_cell_and_implementation(class_name, cell, implementation):
    """`ValueError` naming `class_name` unless `cell` is in `CELLS` and `implementation` in
    `IMPLEMENTATIONS`."""
    check_choice(class_name, "cell", cell, CELLS)
    check_choice(class_name, "implementation", implementation, IMPLEMENTATIONS)


def states_per_layer(cell):
    """How many state tensors one layer of `cell` carries: 2 for the LSTM `(H, C)`, else 1."""
    return 2 if cell == "lstm" else 1


def recurrent_layer(cell, units, implementation="scratch", go_backwards=False, name=None):
    """One recurrent layer over a sequence, returning `[sequence, *final_states]`.

    `implementation="scratch"` wraps the notes' cell (`RNNCell`, `GRUCell`, `LSTMCell`) in
    `keras.layers.RNN`; `"fused"` is the equivalent Keras layer (`SimpleRNN`,
    `GRU(reset_after=False)`, `LSTM`), same formulas, faster kernels.
    """
    check_cell_and_implementation("recurrent_layer", cell, implementation)
    options = dict(return_sequences=True, return_state=True, go_backwards=go_backwards,
                   name=name)
    if implementation == "scratch":
        cell_class = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}[cell]
        return keras.layers.RNN(cell_class(units), **options)
    if cell == "rnn":
        return keras.layers.SimpleRNN(units, **options)
    if cell == "gru":
        return keras.layers.GRU(units, reset_after=False, **options)
    return keras.layers.LSTM(units, **options)


@keras.saving.register_keras_serializable(package="kerasnotes")
class DeepRNN(keras.layers.Layer):
    """A deep recurrent network: `num_layers` recurrent layers, each feeding the next.

    The notes' per-layer formulas, for time step `t` (shown for the plain RNN cell; the GRU
    and LSTM cells replace `phi(...)` by their gated update):

        H_t^(1) = phi(X_t W_xh^(1) + H_{t-1}^(1) W_hh^(1) + b_h^(1))
        H_t^(l) = phi(H_t^(l-1) W_xh^(l) + H_{t-1}^(l) W_hh^(l) + b_h^(l)),  l = 2..L

    The output is the sequence of the last layer `H_t^(L)` (the model's output layer
    `O_t = H_t^(L) W_hq + b_q` follows). Each layer has its own state, zero by default.

    Args:
        cell: `"rnn"`, `"gru"` or `"lstm"`.
        units: hidden size of every layer.
        num_layers: `L`, at least 1.
        implementation: `"scratch"` (the notes' cells in `keras.layers.RNN`) or `"fused"`
            (Keras `SimpleRNN` / `GRU(reset_after=False)` / `LSTM`): same values.
        return_state: also return the final states.

    Call arguments:
        inputs: `(batch, steps, features)`.
        initial_state: optional flat list of the initial states, layer by layer
            (`[H^(1), ..., H^(L)]`, or `[H^(1), C^(1), ..., H^(L), C^(L)]` for the LSTM),
            each `(batch, units)`; zeros when omitted.
        training: passed to the layers.

    Returns:
        `(batch, steps, units)`, or with `return_state` the list
        `[outputs, *final_states]` in the layout of `initial_state`.

    Example:

    >>> layer = DeepRNN("gru", units=8, num_layers=2)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
    """

    def __init__(self, cell="rnn", units=32, num_layers=1, implementation="scratch",
                 return_state=False, **kwargs):
        super().__init__(**kwargs)
        check_cell_and_implementation("DeepRNN", cell, implementation)
        self.units = check_int("DeepRNN", "units", units)
        num_layers = check_int("DeepRNN", "num_layers", num_layers)
        self.cell = cell
        self.num_layers = num_layers
        self.implementation = implementation
        self.return_state = bool(return_state)
        self.num_states = num_layers * states_per_layer(cell)
        # One attribute per layer (not a list): TF checkpoints track attributes only.
        for i in range(num_layers):
            setattr(self, f"layer{i + 1}",
                    recurrent_layer(cell, units, implementation, name=f"layer{i + 1}"))

    @property
    def recurrent_layers(self):
        """The `num_layers` recurrent layers, first to last."""
        return [getattr(self, f"layer{i + 1}") for i in range(self.num_layers)]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = shape[:-1] + (self.units,)

    def call(self, inputs, initial_state=None, training=None):
        per_layer = states_per_layer(self.cell)
        if initial_state is not None and len(initial_state) != self.num_states:
            raise ValueError(
                f"DeepRNN: initial_state must hold {self.num_states} tensors "
                f"({self.num_layers} layers x {per_layer}); received {len(initial_state)}"
            )
        outputs = inputs
        final_states = []
        for i, layer in enumerate(self.recurrent_layers):
            state = None
            if initial_state is not None:
                state = list(initial_state[i * per_layer:(i + 1) * per_layer])
            results = layer(outputs, initial_state=state, training=training)
            outputs = results[0]
            final_states.extend(results[1:])
        if self.return_state:
            return [outputs, *final_states]
        return outputs

    def compute_output_shape(self, input_shape):
        output_shape = tuple(input_shape[:-1]) + (self.units,)
        if self.return_state:
            state_shape = (input_shape[0], self.units)
            return [output_shape] + [state_shape] * self.num_states
        return output_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "implementation": self.implementation,
            "return_state": self.return_state,
        })
        return config

