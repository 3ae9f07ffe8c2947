"""The serving module of a recurrent language model: continue a text prefix, greedily."""

import keras
import tensorflow as tf


class TextGeneratorServer(tf.Module):
    """Serving wrapper of a unidirectional `RNNLanguageModel` (greedy decoding).

    `serve(prefix, length)` takes a scalar string and a scalar int32. The prefix is
    tokenized like the training text (UTF-8 characters, or whitespace-separated words);
    tokens outside the vocabulary become `<unk>` (index 0) and are counted. The network
    reads the prefix, then appends the most likely next token `length` times, feeding each
    one back with the carried state (the notes' prediction loop):

        H_t = f(X_t, H_{t-1}),   w_{t+1} = argmax_w softmax(H_t W_hq + b_q)_w

    Returns `text` (prefix + continuation; words joined by one space), `generated` (the
    continuation) and `unknown_tokens` (int32). An empty prefix fails with an
    `InvalidArgumentError`. The vocabulary is a lookup table inside the SavedModel, which
    loads with plain `tf.saved_model.load` in a process without kerasnotes.

    Args:
        model: a unidirectional, non-stateful `RNNLanguageModel` (see `serving_copy`).

    Example:

    >>> server = TextGeneratorServer(serving_copy(model))
    >>> export_saved_model(server, "saved_models/language_model", server.signatures())
    >>> server.serve(tf.constant("The "), tf.constant(20))["text"]
    """

    def __init__(self, model):
        super().__init__(name="text_generator")
        if model.bidirectional:
            raise ValueError("a bidirectional model cannot generate text, so it is not exported")
        vocabulary = model.vocabulary
        self.model = model
        self.word_level = vocabulary.token_level == "word"
        self.separator = vocabulary.separator
        self.tokens = tf.constant(vocabulary.tokens)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                self.tokens, tf.range(len(vocabulary.tokens), dtype=tf.int64)),
            default_value=0,
        )
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec([], tf.string, name="prefix"),
            tf.TensorSpec([], tf.int32, name="length"),
        ])

    def signatures(self):
        """`{"serving_default": serve}` for export."""
        return {"serving_default": self.serve}

    def _serve(self, prefix, length):
        if self.word_level:
            pieces = tf.strings.split(prefix)
        else:
            pieces = tf.strings.unicode_split(prefix, "UTF-8")
        ids = tf.cast(self.table.lookup(pieces), tf.int32)
        unknown = tf.reduce_sum(tf.cast(tf.equal(ids, 0), tf.int32))
        not_empty = tf.debugging.assert_positive(tf.size(ids),
                                                 message="prefix must not be empty")
        with tf.control_dependencies([not_empty]):  # the model runs only after the check
            ids = tf.identity(ids)
        logits, states = self.model(ids[None, :], return_state=True, training=False)
        generated = tf.TensorArray(tf.int32, size=0, dynamic_size=True)

        def step(i, last_logits, states, generated):
            token = tf.argmax(last_logits, axis=-1, output_type=tf.int32)
            generated = generated.write(i, token[0])
            logits, states = self.model(token[:, None], initial_state=states,
                                        return_state=True, training=False)
            return i + 1, logits[:, -1], states, generated

        _, _, _, generated = tf.while_loop(
            lambda i, *_: i < length, step, (tf.constant(0), logits[:, -1], states, generated))
        words = tf.gather(self.tokens, generated.stack())
        continuation = tf.strings.reduce_join(words, separator=self.separator)
        if self.word_level:
            text = tf.strings.join([tf.strings.strip(prefix), continuation], separator=" ")
            text = tf.where(length > 0, text, prefix)
        else:
            text = prefix + continuation
        return {"text": text, "generated": continuation, "unknown_tokens": unknown}


def serving_copy(model):
    """A float32, non-stateful copy of an `RNNLanguageModel` with the same weights.

    Serving reads one prefix at a time from a zero state, so the copy does not carry state
    between calls; it is built under the float32 policy whatever the training precision,
    and outside any `tf.distribute` scope when called outside one.
    """
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("float32")
    try:
        copy = model.__class__.from_config(dict(model.get_config(), stateful=False))
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy
