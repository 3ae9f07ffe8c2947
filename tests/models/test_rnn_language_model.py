"""RNNLanguageModel: scratch == fused, carried state, generation, Trainer under both strategies."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.text.sequence_sampling import sequential_sampling_dataset
from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.metrics.perplexity import Perplexity
from kerasnotes.models.rnn_language_model import RNNLanguageModel, window_log_likelihoods
from kerasnotes.training.callbacks.reset_states import ResetStatesEachEpoch
from kerasnotes.training.precision import float32_copy
from kerasnotes.training.trainer import Trainer
from tests.layers.test_recurrent_cells import scratch_as_keras
from tests.test_case import assert_config_round_trip, assert_keras_save_load, assert_trains_one_step

TEXT = "the quick brown fox jumps over the lazy dog. " * 4
VOCAB = TextVocabulary.from_text(TEXT)
V = len(VOCAB)


def tokens(batch=2, steps=6, seed=0):
    return np.random.default_rng(seed).integers(0, V, (batch, steps)).astype("int32")


def copy_scratch_to_fused(scratch, fused):
    for ours, theirs in zip(scratch.recurrent_layers, fused.recurrent_layers, strict=True):
        for a, b in zip(ours.recurrent_layers, theirs.recurrent_layers, strict=True):
            for variable, value in zip(b.weights, scratch_as_keras(scratch.cell, a.cell)):
                variable.assign(value)
    fused.output_layer.set_weights(scratch.output_layer.get_weights())
    if scratch.embedding is not None:
        fused.embedding.set_weights(scratch.embedding.get_weights())


@pytest.mark.parametrize("cell, embedding_dim", [("rnn", None), ("gru", 3), ("lstm", None)])
def test_scratch_equals_fused_values_and_gradients(cell, embedding_dim):
    keras.utils.set_random_seed(0)
    scratch = RNNLanguageModel(VOCAB, cell, units=5, num_layers=2, implementation="scratch",
                               embedding_dim=embedding_dim)
    fused = RNNLanguageModel(VOCAB, cell, units=5, num_layers=2, implementation="fused",
                             embedding_dim=embedding_dim)
    for model in (scratch, fused):
        model.build((None, None))
    for i, variable in enumerate(scratch.weights):
        variable.assign(np.random.default_rng(i).uniform(-0.5, 0.5, variable.shape))
    copy_scratch_to_fused(scratch, fused)
    x, y = tokens(seed=1), tokens(seed=2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def run(model):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        return np.array(logits), [tf.convert_to_tensor(g) for g in grads]  # dense Embedding

    logits_s, grads_s = run(scratch)
    logits_f, grads_f = run(fused)
    np.testing.assert_allclose(logits_s, logits_f, atol=1e-5, rtol=0)
    by_variable = {id(v): g for v, g in zip(scratch.trainable_variables, grads_s)}
    fused_grads = {v.path: g for v, g in zip(fused.trainable_variables, grads_f)}
    # Output layer and embedding: same layout; recurrent weights: concatenated like Keras.
    for layer_s, layer_f in [(scratch.output_layer, fused.output_layer)] + (
            [(scratch.embedding, fused.embedding)] if embedding_dim else []):
        for vs, vf in zip(layer_s.trainable_variables, layer_f.trainable_variables):
            np.testing.assert_allclose(np.array(by_variable[id(vs)]),
                                       np.array(fused_grads[vf.path]), atol=1e-5)
    for a, b in zip(scratch.rnn.recurrent_layers, fused.rnn.recurrent_layers):
        holder = type("Grads", (), {v.name: by_variable[id(v)] for v in a.cell.weights})
        for g_ours, vf in zip(scratch_as_keras(cell, holder), b.weights):
            np.testing.assert_allclose(np.array(g_ours), np.array(fused_grads[vf.path]),
                                       atol=1e-5, rtol=0)


@pytest.mark.parametrize("options", [
    dict(cell="gru", implementation="scratch"),
    dict(cell="lstm", embedding_dim=4, stateful=True),
    dict(cell="rnn", bidirectional=True, num_layers=2),
])
def test_model_checks(options, tmp_path):
    model = RNNLanguageModel(VOCAB, units=6, **options)
    x = tokens()
    assert tuple(model(x).shape) == (2, 6, V)
    rebuilt = assert_config_round_trip(model)
    assert rebuilt.vocabulary == VOCAB
    assert_trains_one_step(model, x)
    reloaded = assert_keras_save_load(model, x, tmp_path)
    assert reloaded.vocabulary == VOCAB and reloaded.get_config() == model.get_config()


def test_notes_output_layer_on_one_hot_inputs():
    model = RNNLanguageModel(VOCAB, "rnn", units=4, implementation="scratch")
    x = tokens(batch=1, steps=3)
    logits = np.array(model(x))
    cell = model.rnn.layer1.cell
    w_xh, w_hh, b_h = (np.array(v) for v in (cell.w_xh, cell.w_hh, cell.b_h))
    w_hq, b_q = model.output_layer.get_weights()
    h = np.zeros((1, 4), "float32")
    for t in range(3):
        one_hot = np.eye(V, dtype="float32")[x[:, t]]
        h = np.tanh(one_hot @ w_xh + h @ w_hh + b_h)          # H_t
        np.testing.assert_allclose(logits[:, t], h @ w_hq + b_q, atol=1e-5)  # O_t


def test_stateful_training_calls_continue_the_sequence():
    model = RNNLanguageModel(VOCAB, "lstm", units=5, num_layers=2, stateful=True)
    rows = tokens(batch=2, steps=12, seed=3)
    whole = np.array(model(rows, training=False))
    first = np.array(model(rows[:, :6], training=True))
    assert [np.array(v).shape for v in model._carried_state] == [(2, 5)] * 4
    # Evaluation calls neither use nor change the carried state.
    np.testing.assert_allclose(np.array(model(rows[:, 6:], training=False)),
                               np.array(model(rows[:, 6:], initial_state=None)), atol=0)
    second = np.array(model(rows[:, 6:], training=True))
    np.testing.assert_allclose(first, whole[:, :6], atol=1e-5)
    np.testing.assert_allclose(second, whole[:, 6:], atol=1e-5)
    # The carried state is detached: no gradient reaches the previous batch's graph.
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(rows[:, :6], training=True))
    assert all(g is not None for g in tape.gradient(loss, model.trainable_variables))
    model.reset_states()
    np.testing.assert_allclose(np.array(model(rows[:, :6], training=True)), whole[:, :6],
                               atol=1e-5)
    # Another batch size starts from zeros instead of failing.
    np.testing.assert_allclose(np.array(model(rows[:1, :6], training=True)), whole[:1, :6],
                               atol=1e-5)


def test_trainer_with_sequential_sampling_under_mirrored_strategy(mirrored_strategy):
    corpus = np.array(VOCAB.encode(TEXT), "int32")
    batch, steps = 4, 5
    with mirrored_strategy.scope():
        model = RNNLanguageModel(VOCAB, "gru", units=8, stateful=True)
        model.build((None, None))
        optimizer = keras.optimizers.SGD(0.0)  # weights fixed: the states can be recomputed
    trainer = Trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer, [Perplexity()], strategy=mirrored_strategy, verbose=0,
                      clip_global_norm=1.0, callbacks=[ResetStatesEachEpoch()])

    def train_data(epoch):
        return sequential_sampling_dataset(corpus, batch, steps)

    history = trainer.fit(train_data, epochs=1)
    x_all = np.concatenate([x for x, _ in sequential_sampling_dataset(corpus, batch, steps)
                            .as_numpy_iterator()], axis=1)
    y_all = np.concatenate([y for _, y in sequential_sampling_dataset(corpus, batch, steps)
                            .as_numpy_iterator()], axis=1)
    logits, states = model(x_all, return_state=True)
    # Each replica carried the state of its own rows through the whole epoch ...
    carried = mirrored_strategy.experimental_local_results(model._carried_state[0])
    np.testing.assert_allclose(np.concatenate([np.array(c) for c in carried]),
                               np.array(states[0]), atol=1e-5)
    # ... so the epoch's perplexity is that of one pass over the full rows.
    expected = Perplexity()
    expected.update_state(y_all, logits)
    np.testing.assert_allclose(history["perplexity"][0], float(expected.result()), rtol=1e-4)
    np.testing.assert_allclose(np.log(history["perplexity"][0]), history["loss"][0], rtol=1e-4)


def test_learns_a_repetitive_text():
    keras.utils.set_random_seed(0)
    text = "abcd" * 100
    vocab = TextVocabulary.from_text(text)
    corpus = np.array(vocab.encode(text), "int32")
    model = RNNLanguageModel(vocab, "gru", units=16, stateful=True)
    model.build((None, None))
    # The notes: the carried state is initialized once per epoch (a callback: the Trainer
    # makes the next epoch's data while an epoch trains, so train_data must be pure).
    trainer = Trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      keras.optimizers.Adam(0.05), [Perplexity()], verbose=0,
                      clip_global_norm=1.0, callbacks=[ResetStatesEachEpoch()])

    def train_data(epoch):
        return sequential_sampling_dataset(corpus, 4, 10)

    history = trainer.fit(train_data, epochs=6)
    assert history["perplexity"][-1] < 1.2 < history["perplexity"][0]
    assert model.generate("ab", 6) == "abcdabcd"


def test_generation_greedy_sampled_and_unknown_tokens():
    keras.utils.set_random_seed(1)
    model = RNNLanguageModel(VOCAB, "lstm", units=8, num_layers=2)
    text = model.generate("the", 5)
    assert text.startswith("the") and len(text) == 8
    # Greedy: every generated token is the argmax after the text before it.
    ids = VOCAB.encode(text)
    logits = np.array(model(np.array([ids])))
    assert [int(i) for i in logits[0, 2:-1].argmax(-1)] == ids[3:]
    sampled = model.generate("the", 20, temperature=1.0, seed=7)
    assert sampled == model.generate("the", 20, temperature=1.0, seed=7)
    assert model.generate("the", 0) == "the"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = model.generate("thé€", 2)
    assert any("not in the vocabulary" in str(w.message) and "'€'" in str(w.message)
               for w in caught)
    assert out.startswith("thé€") and len(out) == 6


def test_word_level_generation():
    vocab = TextVocabulary.from_text("to be or not to be", token_level="word")
    model = RNNLanguageModel(vocab, "gru", units=4)
    out = model.generate("to  be", 3)
    assert out.startswith("to  be ") and len(out.split()) == 5


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RNNLanguageModel(VOCAB, cell="elman"), "cell"),
        (lambda: RNNLanguageModel(VOCAB, implementation="cudnn"), "implementation"),
        (lambda: RNNLanguageModel(VOCAB, units=0), "units"),
        (lambda: RNNLanguageModel(VOCAB, num_layers=0), "num_layers"),
        (lambda: RNNLanguageModel(VOCAB, embedding_dim=0), "embedding_dim"),
        (lambda: RNNLanguageModel(["a", "b"]), "vocabulary"),
        (lambda: RNNLanguageModel(VOCAB, bidirectional=True, stateful=True), "bidirectional"),
        (lambda: RNNLanguageModel(VOCAB, units=4, bidirectional=True).generate("the", 3),
         "bidirectional model cannot generate"),
        (lambda: RNNLanguageModel(VOCAB, units=4).generate("", 3), "prefix"),
        (lambda: RNNLanguageModel(VOCAB, units=4).generate("a", -1), "length"),
        (lambda: RNNLanguageModel(VOCAB, units=4)(tokens(), initial_state=[]), "initial_state"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_window_log_likelihoods_are_minus_the_cross_entropy():
    keras.utils.set_random_seed(3)
    model = RNNLanguageModel(VOCAB, "gru", units=6)
    model.build((None, None))
    x, y = tokens(batch=5, steps=7, seed=4), tokens(batch=5, steps=7, seed=5)
    values = window_log_likelihoods(model, x, y, batch_size=2)  # batches of 2, 2 and 1
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    expected = -np.array(loss(y, model(x))).mean(axis=1)
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    metric = Perplexity()
    metric.update_state(y, model(x))
    np.testing.assert_allclose(np.exp(-values.mean()), float(metric.result()), rtol=1e-5)


def test_mixed_precision_carried_state_and_float32_copy():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = RNNLanguageModel(VOCAB, "gru", units=6, stateful=True)
        model.build((None, None))
        first = model(tokens(), training=True)
        second = model(tokens(), training=True)  # starts from the carried (float32) state
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert first.dtype == tf.bfloat16 and second.dtype == tf.bfloat16
    assert model._carried_state[0].dtype == tf.float32
    copy = float32_copy(model)  # from_config builds the model, so its weights can be set
    assert copy.built and copy.compute_dtype == "float32" and copy.stateful
    x = tokens(seed=9)
    np.testing.assert_allclose(np.array(copy(x)), np.array(tf.cast(model(x), tf.float32)),
                               atol=0.1)
