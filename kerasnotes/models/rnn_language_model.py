"""The notes' recurrent language model: tokens -> recurrent layers -> next-token logits."""

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasnotes._checks import check_int
from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.layers.bidirectional_rnn import BidirectionalRNN
from kerasnotes.layers.deep_rnn import DeepRNN, check_cell_and_implementation, states_per_layer


def _as_vocabulary(vocabulary):
    if isinstance(vocabulary, TextVocabulary):
        return vocabulary
    if isinstance(vocabulary, dict):
        return TextVocabulary.from_config(vocabulary)
    raise ValueError(
        "RNNLanguageModel: vocabulary must be a TextVocabulary or its get_config() dict; "
        f"received {type(vocabulary).__name__}"
    )


@keras.saving.register_keras_serializable(package="kerasnotes")
class RNNLanguageModel(keras.Model):
    """A character- (or word-) level recurrent language model, as in the notes.

    Tokens `(batch, steps)` are turned into vectors `X_t` (the notes' one-hot vectors of
    size `V = len(vocabulary)`, or learned embeddings), run through `num_layers` recurrent
    layers (`DeepRNN`, or stacked `BidirectionalRNN`s) and mapped to next-token logits by
    the output layer:

        H_t = f(X_t, H_{t-1})    (per layer: RNN, GRU or LSTM cell)
        O_t = H_t W_hq + b_q      (logits over the vocabulary; softmax is in the loss)

    Train it on `(X, Y)` windows (`Y` = `X` shifted by one token) with the cross-entropy
    `L = 1/T sum_t l(O_t, Y_t)`; `exp(L)` is the perplexity.

    Hidden state between batches: with random sampling every batch starts from zeros
    (`stateful=False`). With sequential sampling use `stateful=True`: every training call
    (`training=True`, no `initial_state`) starts from the final state of the previous
    training call, which is stored in non-trainable, per-replica variables (detached: no
    gradient flows from one batch into the previous one). A stored state whose batch size
    differs from the batch's is ignored (zeros); `reset_states()` clears it and must be
    called at the start of every epoch. Evaluation calls (`training=False`) never use or
    change the stored state.

    Args:
        vocabulary: the `TextVocabulary` (or its `get_config()` dict); saved with the model.
        cell: `"rnn"`, `"gru"` or `"lstm"`.
        units: hidden size of each recurrent layer (each direction).
        num_layers: number of recurrent layers.
        bidirectional: forward and backward layers concatenated (cannot generate text).
        implementation: `"scratch"` (the notes' cells) or `"fused"` (Keras SimpleRNN /
            GRU(reset_after=False) / LSTM: the same formulas, faster).
        embedding_dim: `None` for the notes' one-hot inputs, or the size of a learned
            `Embedding`.
        stateful: carry the hidden state across training calls (sequential sampling).

    Call arguments:
        inputs: int token indices `(batch, steps)`.
        initial_state: optional list of `num_states` tensors `(batch, units)` (layout of
            `DeepRNN`; forward then backward states per layer when bidirectional).
        return_state: also return the final states.
        training: whether this is a training call.

    Returns:
        logits `(batch, steps, V)`, or `(logits, final_states)` with `return_state`.

    Example:

    >>> vocab = TextVocabulary.from_text("hello world")
    >>> model = RNNLanguageModel(vocab, cell="gru", units=16)
    >>> model(np.array([vocab.encode("hello")])).shape
    TensorShape([1, 5, 9])
    >>> len(model.generate("he", 5))
    7
    """

    def __init__(self, vocabulary, cell="gru", units=256, num_layers=1, bidirectional=False,
                 implementation="fused", embedding_dim=None, stateful=False, **kwargs):
        name = kwargs.pop("name", "rnn_language_model")
        super().__init__(name=name, **kwargs)
        check_cell_and_implementation("RNNLanguageModel", cell, implementation)
        self.vocabulary = _as_vocabulary(vocabulary)
        self.vocab_size = len(self.vocabulary)
        self.cell = cell
        self.units = check_int("RNNLanguageModel", "units", units)
        self.num_layers = check_int("RNNLanguageModel", "num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.implementation = implementation
        self.embedding_dim = check_int("RNNLanguageModel", "embedding_dim", embedding_dim,
                                       allow_none=True)
        self.stateful = bool(stateful)
        if self.stateful and self.bidirectional:
            raise ValueError(
                "RNNLanguageModel: stateful=True (sequential sampling) carries the state left "
                "to right and cannot serve a bidirectional model; use random sampling"
            )
        self.embedding = None
        if self.embedding_dim is not None:
            self.embedding = keras.layers.Embedding(self.vocab_size, self.embedding_dim,
                                                    name="embedding")
        # Sublayers are attributes, not lists: TF checkpoints (the Trainer's) track
        # attributes only.
        if self.bidirectional:
            for i in range(self.num_layers):
                setattr(self, f"bidirectional{i + 1}", BidirectionalRNN(
                    cell, units, implementation, return_state=True,
                    name=f"bidirectional{i + 1}"))
            self.num_states = self.num_layers * 2 * states_per_layer(cell)
        else:
            self.rnn = DeepRNN(cell, units, self.num_layers, implementation, return_state=True,
                               name="rnn")
            self.num_states = self.num_layers * states_per_layer(cell)
        self.output_layer = keras.layers.Dense(self.vocab_size, name="output")
        self._carried_state = []
        if self.stateful:
            # Plain TF variables: their batch size is unknown until the first batch, and
            # ON_READ synchronization gives every replica its own copy of its own rows.
            # Held in a list, they are not in checkpoints nor in `.keras` files: a run
            # resumed in the middle of an epoch restarts the state from zeros.
            self._carried_state = [
                tf.Variable(tf.zeros((0, self.units)), shape=tf.TensorShape([None, self.units]),
                            trainable=False, name=f"carried_state{i}",
                            synchronization=tf.VariableSynchronization.ON_READ,
                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                for i in range(self.num_states)
            ]

    @property
    def recurrent_layers(self):
        """The `DeepRNN`, or the stacked `BidirectionalRNN`s."""
        if self.bidirectional:
            return [getattr(self, f"bidirectional{i + 1}") for i in range(self.num_layers)]
        return [self.rnn]

    def build(self, input_shape):
        if self.built:  # built by from_config already; the shapes never depend on it
            return
        shape = tuple(input_shape)
        features = self.vocab_size
        if self.embedding is not None:
            self.embedding.build(shape)
            features = self.embedding_dim
        shape = shape + (features,)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = shape[:-1] + ((2 if self.bidirectional else 1) * self.units,)
        self.output_layer.build(shape)

    def _inputs_to_vectors(self, inputs):
        tokens = ops.cast(inputs, "int32")
        if not isinstance(tokens, keras.KerasTensor):
            # (batch, steps): a distributed dataset may hand the step tensors of unknown
            # rank, which would leave the output layer's gradient without a static shape.
            tokens = tf.ensure_shape(tokens, [None, None])
        if self.embedding is not None:
            return self.embedding(tokens)
        return ops.one_hot(tokens, self.vocab_size, dtype=self.compute_dtype)

    def _stored_state(self, batch_size):
        # The variables are float32; under a mixed policy the layers compute in 16 bits.
        states = []
        for variable in self._carried_state:
            value = tf.cast(variable.read_value(), self.compute_dtype)
            states.append(tf.cond(
                tf.equal(tf.shape(value)[0], batch_size),
                lambda value=value: value,
                lambda: tf.zeros((batch_size, self.units), value.dtype),  # noqa: B023
            ))
        return states

    def call(self, inputs, initial_state=None, return_state=False, training=None):
        if initial_state is not None and len(initial_state) != self.num_states:
            raise ValueError(
                f"RNNLanguageModel: initial_state must hold {self.num_states} tensors; "
                f"received {len(initial_state)}"
            )
        carry = bool(self.stateful and training and initial_state is None)
        if carry:
            initial_state = self._stored_state(tf.shape(inputs)[0])
        outputs = self._inputs_to_vectors(inputs)
        final_states = []
        per_layer = self.num_states // len(self.recurrent_layers)
        for i, layer in enumerate(self.recurrent_layers):
            state = None
            if initial_state is not None:
                state = list(initial_state[i * per_layer:(i + 1) * per_layer])
            results = layer(outputs, initial_state=state, training=training)
            outputs = results[0]
            final_states.extend(results[1:])
        # O = H W_hq + b_q on all (batch * steps) states at once, as one 2-D matmul: the
        # gradient of W_hq then has a static shape even when the batch size is unknown
        # (the Trainer's clipping under a multi-replica strategy needs static shapes).
        features = outputs.shape[-1]
        flat = self.output_layer(ops.reshape(outputs, (-1, features)))
        batch_size, steps = ops.shape(outputs)[0], ops.shape(outputs)[1]
        logits = ops.reshape(flat, (batch_size, steps, self.vocab_size))
        if carry:
            for variable, state in zip(self._carried_state, final_states):
                # Detached from this batch's graph.
                variable.assign(tf.cast(tf.stop_gradient(state), variable.dtype))
        if return_state:
            return logits, final_states
        return logits

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.vocab_size,)

    def reset_states(self):
        """Clears the carried hidden state (start of an epoch of sequential sampling)."""
        for variable in self._carried_state:
            variable.assign(tf.zeros((0, self.units)))

    def generate(self, prefix, length, temperature=0.0, seed=None):
        """Continues the text `prefix` by `length` tokens, one step at a time.

        The prefix is run through the network to set the hidden state; then each next token
        is the most likely one (`temperature=0`, greedy) or is drawn from
        `softmax(logits / temperature)` (higher temperature: more surprising text). Tokens
        of the prefix that are not in the vocabulary become `<unk>` with a warning.

        Returns:
            the prefix followed by the generated tokens (a `str`).
        """
        if self.bidirectional:
            raise ValueError(
                "RNNLanguageModel: a bidirectional model cannot generate text: its backward "
                "layer reads the tokens to the right, which do not exist yet when generating "
                "left to right. Train it to measure perplexity; generate with a "
                "unidirectional model."
            )
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"generate: prefix must be a non-empty string; received {prefix!r}")
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError(f"generate: length must be an integer >= 0; received {length!r}")
        if not temperature >= 0:
            raise ValueError(f"generate: temperature must be >= 0; received {temperature!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            ids = self.vocabulary.encode(prefix, warn_unknown=True)
        if not ids:
            raise ValueError(f"generate: prefix {prefix!r} holds no token")
        rng = np.random.default_rng(seed)
        logits, states = self(np.array([ids], "int32"), return_state=True, training=False)
        generated = []
        for _ in range(length):
            last = np.asarray(logits[0, -1], dtype="float64")
            if temperature == 0:
                token = int(np.argmax(last))
            else:
                scaled = last / temperature
                probabilities = np.exp(scaled - scaled.max())
                token = int(rng.choice(len(last), p=probabilities / probabilities.sum()))
            generated.append(token)
            logits, states = self(np.array([[token]], "int32"), initial_state=states,
                                  return_state=True, training=False)
        continuation = self.vocabulary.decode(generated)
        if self.vocabulary.token_level == "word" and generated:
            return prefix.rstrip() + " " + continuation
        return prefix + continuation

    def get_config(self):
        return {
            "name": self.name,
            "vocabulary": self.vocabulary.get_config(),
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "implementation": self.implementation,
            "embedding_dim": self.embedding_dim,
            "stateful": self.stateful,
        }

    @classmethod
    def from_config(cls, config):
        """A built model of `config` (its weights depend only on the config), so that
        `set_weights` can follow, e.g. in `float32_copy` or `serving_copy`."""
        model = cls(**config)
        model.build((None, None))
        return model


def window_log_likelihoods(model, x, y, batch_size=256):
    """The mean log-likelihood per token of each window under `model`, from a zero state.

    For windows `x_j` with targets `y_j` (`(m, steps)` int arrays, e.g. `random_windows` of
    the validation tokens) returns `(m,)` float64 values `1/T sum_t log softmax(O_t)[y_t]`:
    minus the window's cross-entropy, so `exp(-mean)` is the perplexity over the windows.
    Two models scored on the same windows give paired values to compare
    (`kerasnotes.metrics.significance.paired_difference_test`).
    """
    values = []
    for start in range(0, len(x), batch_size):
        logits = tf.cast(model(x[start:start + batch_size], training=False), tf.float32)
        picked = tf.gather(tf.nn.log_softmax(logits), y[start:start + batch_size], batch_dims=2)
        values.append(tf.reduce_mean(picked, axis=1).numpy().astype(np.float64))
    return np.concatenate(values) if values else np.zeros(0)
