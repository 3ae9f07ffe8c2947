"""The fused path's gradient: equal to the Keras models' autodiff and to a hand computation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.text.word2vec_examples import sentence_splits
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
from kerasnotes.losses.hierarchical_softmax_loss import HierarchicalSoftmaxLoss
from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
from kerasnotes.models.cbow import CBOW
from kerasnotes.models.skip_gram import SkipGram
from kerasnotes.models.word2vec_fused import (
    FusedWord2Vec,
    example_losses_and_gradients,
    linear_lr,
    tf_train_step,
)
from kerasnotes.ops.huffman_tree import huffman_tree

V, D, K, N = 20, 6, 3, 2  # vocabulary, vector size, noise words, window
COUNTS = np.arange(V, 0, -1) * 3


def dense(gradient, rows):
    if isinstance(gradient, tf.IndexedSlices):
        return tf.math.unsorted_segment_sum(gradient.values, gradient.indices, rows).numpy()
    return tf.convert_to_tensor(gradient).numpy()


def flat(examples):
    """[(inputs, targets, labels, weight), ...] -> the fused path's flat arrays."""
    ins = [np.asarray(e[0], np.int32) for e in examples]
    outs = [np.asarray(e[1], np.int32) for e in examples]
    splits = lambda parts: np.r_[0, np.cumsum([p.size for p in parts])].astype(np.int64)
    return (np.concatenate(ins), splits(ins), np.concatenate(outs),
            np.concatenate([np.asarray(e[2], np.float32) for e in examples]), splits(outs),
            np.array([e[3] for e in examples], np.float32))


def fused_loss_and_gradients(input_table, output_table, examples):
    arrays = flat(examples)
    losses, d_in, d_out = example_losses_and_gradients(input_table, output_table, *arrays)
    loss = float(tf.reduce_sum(losses * arrays[-1]))
    return loss, dense(d_in, input_table.shape[0]), dense(d_out, output_table.shape[0])


def keras_loss_and_gradients(model, loss_fn, inputs, y, tables):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(inputs))
    grads = tape.gradient(loss, tables)
    return float(loss), [dense(g, t.shape[0]) for g, t in zip(grads, tables)]


def random_rows(rng, rows):
    """Per row: a center, 1..2N distinct context words, K noise words per context word."""
    out = []
    for _ in range(rows):
        words = rng.choice(np.arange(1, V), 1 + 2 * N, replace=False)
        count = int(rng.integers(1, 2 * N + 1))
        noise = rng.choice(np.arange(1, V), (count, K))
        out.append((words[0], words[1:1 + count], noise))
    return out


def test_skipgram_negative_sampling_equals_the_keras_model():
    rng = np.random.default_rng(0)
    rows = random_rows(rng, 4)
    model = SkipGram(V, D)
    model.build()
    width = 2 * N * (1 + K)
    centers = np.array([[r[0]] for r in rows])
    both, masks, labels = (np.zeros((len(rows), width), t) for t in (np.int32, np.float32,
                                                                      np.float32))
    examples = []
    for i, (center, contexts, noise) in enumerate(rows):
        c = contexts.size
        both[i, :c], both[i, c:c + c * K] = contexts, noise.reshape(-1)
        masks[i, :c * (1 + K)], labels[i, :c] = 1.0, 1.0
        for j in range(c):  # the notes' mean over the row's c(1+K) slots, mean over rows
            examples.append(([center], [contexts[j], *noise[j]], [1.0] + [0.0] * K,
                             1.0 / (len(rows) * c * (1 + K))))
    tables = [model.center_embedding.embeddings, model.context_embedding.embeddings]
    y = np.stack([labels, masks], axis=-1)[:, None]
    loss, grads = keras_loss_and_gradients(model, MaskedBinaryCrossEntropy(), (centers, both),
                                           y, tables)
    fused = fused_loss_and_gradients(*tables, examples)
    np.testing.assert_allclose(fused[0], loss, rtol=1e-5)
    np.testing.assert_allclose(fused[1], grads[0], atol=1e-5)
    np.testing.assert_allclose(fused[2], grads[1], atol=1e-5)
    assert np.abs(grads[0]).max() > 1e-3


def test_skipgram_hierarchical_softmax_equals_the_keras_model():
    rng = np.random.default_rng(1)
    rows = random_rows(rng, 4)
    model = SkipGram(V, D, output="hierarchical_softmax", word_counts=COUNTS)
    model.build()
    paths, codes, lengths = huffman_tree(COUNTS)
    centers = np.array([[r[0]] for r in rows])
    contexts, masks = np.zeros((len(rows), 2 * N), np.int32), np.zeros((len(rows), 2 * N))
    examples = []
    for i, (center, words, _) in enumerate(rows):
        contexts[i, :words.size], masks[i, :words.size] = words, 1.0
        for word in words:
            n = lengths[word]
            examples.append(([center], paths[word, :n], 1.0 - codes[word, :n],
                             1.0 / (len(rows) * words.size)))
    tables = [model.center_embedding.embeddings, model.hierarchical_softmax.node_embeddings]
    loss, grads = keras_loss_and_gradients(model, HierarchicalSoftmaxLoss(),
                                           (centers, contexts), masks[:, None], tables)
    fused = fused_loss_and_gradients(*tables, examples)
    np.testing.assert_allclose(fused[0], loss, rtol=1e-5)
    np.testing.assert_allclose(fused[1], grads[0], atol=1e-5)
    np.testing.assert_allclose(fused[2], grads[1], atol=1e-5)


@pytest.mark.parametrize("output", ["negative_sampling", "hierarchical_softmax"])
def test_cbow_equals_the_keras_model(output):
    rng = np.random.default_rng(2)
    rows = random_rows(rng, 5)
    model = CBOW(V, D, output=output, word_counts=COUNTS)
    model.build()
    paths, codes, lengths = huffman_tree(COUNTS)
    contexts, context_masks = np.zeros((len(rows), 2 * N), np.int32), np.zeros((len(rows), 2 * N))
    examples = []
    for i, (center, words, noise) in enumerate(rows):
        contexts[i, :words.size], context_masks[i, :words.size] = words, 1.0
        if output == "negative_sampling":
            examples.append((words, [center, *noise[0]], [1.0] + [0.0] * K,
                             1.0 / (len(rows) * (1 + K))))
        else:
            n = lengths[center]
            examples.append((words, paths[center, :n], 1.0 - codes[center, :n], 1.0 / len(rows)))
    if output == "negative_sampling":
        targets = np.array([[r[0], *r[2][0]] for r in rows])
        labels = np.zeros(targets.shape)
        labels[:, 0] = 1.0
        y = np.stack([labels, np.ones(targets.shape)], axis=-1)[:, None]
        loss_fn, output_table = MaskedBinaryCrossEntropy(), model.center_embedding.embeddings
    else:
        targets = np.array([[r[0]] for r in rows])
        y = np.ones((len(rows), 1, 1))
        loss_fn = HierarchicalSoftmaxLoss()
        output_table = model.hierarchical_softmax.node_embeddings
    tables = [model.context_embedding.embeddings, output_table]
    loss, grads = keras_loss_and_gradients(model, loss_fn, (contexts, context_masks, targets), y,
                                           tables)
    fused = fused_loss_and_gradients(*tables, examples)
    np.testing.assert_allclose(fused[0], loss, rtol=1e-5)
    np.testing.assert_allclose(fused[1], grads[0], atol=1e-5)
    np.testing.assert_allclose(fused[2], grads[1], atol=1e-5)


def test_one_example_by_hand():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(5, 4)).astype(np.float32)
    u = rng.normal(size=(5, 4)).astype(np.float32)
    inputs, targets, labels = [1, 3], [2, 4, 2], np.array([1.0, 0.0, 0.0])
    h = (v[1] + v[3]) / 2  # CBOW's mean of the context vectors
    s = u[targets] @ h
    loss = np.sum(np.log1p(np.exp(np.where(labels == 1, -s, s))))  # sum_t softplus(z_t)
    g = 1 / (1 + np.exp(-s)) - labels
    d_u = np.zeros_like(u)
    for t, g_t in zip(targets, g):
        d_u[t] += g_t * h
    d_v = np.zeros_like(v)
    d_v[[1, 3]] = (g @ u[targets]) / 2
    arrays = (np.array(inputs, np.int32), np.array([0, 2]), np.array(targets, np.int32),
              labels.astype(np.float32), np.array([0, 3]), np.ones(1, np.float32))
    losses, d_in, d_out = example_losses_and_gradients(tf.constant(v), tf.constant(u), *arrays)
    np.testing.assert_allclose(losses.numpy(), [loss], rtol=1e-5)
    np.testing.assert_allclose(dense(d_in, 5), d_v, atol=1e-5)
    np.testing.assert_allclose(dense(d_out, 5), d_u, atol=1e-5)
    tv, tu = tf.Variable(v), tf.Variable(u)
    tf_train_step(tv, tu, *arrays, tf.constant(0.5))
    np.testing.assert_allclose(tv.numpy(), v - 0.5 * d_v, atol=1e-5)
    np.testing.assert_allclose(tu.numpy(), u - 0.5 * d_u, atol=1e-5)


def test_linear_learning_rate():
    assert linear_lr(0.1, 0.0001, 0, 100) == 0.1
    assert abs(linear_lr(0.1, 0.0001, 50, 100) - 0.05005) < 1e-12
    assert linear_lr(0.1, 0.0001, 100, 100) == linear_lr(0.1, 0.0001, 500, 100)
    assert linear_lr(0.1, 0.0001, 100, 100) == pytest.approx(0.0001, abs=1e-15)


def test_tf_backend_trains_and_is_seeded():
    rng = np.random.default_rng(4)
    tokens = rng.choice(30, 3000, p=np.r_[0, np.full(29, 1 / 29)]).astype(np.int32)
    sentence_ids = (np.arange(3000) // 10).astype(np.int32)
    counts = np.bincount(tokens, minlength=30)
    splits = sentence_splits(sentence_ids)
    results = []
    for _ in range(2):
        model = FusedWord2Vec(counts, 8, window=2, negatives=3, subsample_t=None, backend="tf",
                              seed=7)
        assert model.backend == "tf" and "TF ops" in model.describe()
        stats = [model.train_epoch(tokens, splits, e, 0.05, 0.05, 0, 1) for e in range(3)]
        results.append((model.input_vectors.numpy(), [s["loss"] for s in stats]))
        assert stats[0]["kept_words"] == stats[0]["raw_words"] == 3000
    # Same seed, same examples; only the order of TF's multithreaded sums may differ.
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    losses = results[0][1]
    assert losses[-1] < losses[0] <= np.log(2.0) + 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("batching", ["window", "word"])
def test_ptb_five_epochs_put_d2ls_neighbours_next_to_chip(shared_data, batching):
    from kerasnotes.data.text.ptb_corpus import load_ptb_corpus
    from kerasnotes.ops.embedding_queries import most_similar

    path = shared_data / "ptb" / "ptb.train.txt"
    if not path.exists():
        pytest.skip(f"{path} not found")
    corpus = load_ptb_corpus(str(path))
    model = FusedWord2Vec(corpus.counts, 100, seed=0, batching=batching)  # kernel, else TF
    splits = sentence_splits(corpus.sentence_ids)
    for epoch in range(5):
        model.train_epoch(corpus.token_ids, splits, epoch, 0.1, 1e-4,
                          epoch * corpus.num_tokens, 5 * corpus.num_tokens)
    found = [w for w, _ in most_similar(model.word_vectors.numpy(), corpus.vocabulary, "chip",
                                        k=5, exclude=("<unk>",))]
    assert {"intel", "microprocessor", "chips"} & set(found), found


def _small_corpus(seed=5, size=4000):
    rng = np.random.default_rng(seed)
    tokens = rng.choice(30, size, p=np.r_[0, np.full(29, 1 / 29)]).astype(np.int32)
    sentence_ids = (np.arange(size) // 20).astype(np.int32)
    return tokens, sentence_ids, np.bincount(tokens, minlength=30)


def _kernel_backends():
    from kerasnotes.models.word2vec_fused import load_kernel_or_reason

    kernel = [("kernel", "window"), ("kernel", "word")]
    return [("tf", "word")] + (kernel if load_kernel_or_reason()[0] is not None else [])


class _StopAt(keras.callbacks.Callback):
    """Ends a fit like Ctrl-C right after global step `step`."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.step:
            raise KeyboardInterrupt


def _fit(model, run_dir, epochs, callbacks=(), **options):
    """Trains `model` on its corpus through the Trainer; returns it and the run's metrics."""
    from kerasnotes.training.callbacks.words_per_second import WordsPerSecond
    from kerasnotes.training.trainer import Trainer

    speed = WordsPerSecond()
    trainer = Trainer(model, None, None, run_dir=str(run_dir), callbacks=[*callbacks, speed],
                      verbose=0, **options)
    trainer.fit(model.dataset, epochs)
    return trainer, speed.metrics


def _fused_model(tokens, sentence_ids, counts, epochs, **options):
    from kerasnotes.models.word2vec_fused import LinearDecay

    model = FusedWord2Vec(counts, 8, window=2, negatives=3, seed=3,
                          learning_rate=LinearDecay(0.05, 0.001, epochs * tokens.size),
                          **options)
    model.set_corpus(tokens, sentence_ids)
    return model


@pytest.mark.parametrize("backend, batching", _kernel_backends())
def test_the_trainer_resumes_the_fused_model_inside_an_epoch_as_if_uninterrupted(
        tmp_path, backend, batching):
    tokens, sentence_ids, counts = _small_corpus()

    def model():  # 4000 words in steps of ~500: 8 steps (kernel calls) per epoch
        return _fused_model(tokens, sentence_ids, counts, 2, backend=backend, threads=1,
                            step_words=500, batching=batching)

    whole, expected = _fit(model(), tmp_path / "whole", 2)
    interrupted = tmp_path / "interrupted"
    first = model()
    with pytest.raises(KeyboardInterrupt):
        _fit(first, interrupted, 2, callbacks=[_StopAt(11)], checkpoint_every_n_steps=2)
    # Step 10 is the 2nd of epoch 2: checkpointed inside it, at its 2nd step boundary.
    from kerasnotes.training.checkpoints import read_state

    assert read_state(str(interrupted / "checkpoints"))[0][-1] == 10
    resumed = model()
    trainer, metrics = _fit(resumed, interrupted, 2, checkpoint_every_n_steps=2)
    assert trainer.restore() == (2, 0)
    if backend == "kernel":  # one thread: the same SGD steps, bit for bit
        np.testing.assert_array_equal(resumed.input_vectors.numpy(),
                                      whole.model.input_vectors.numpy())
        assert metrics["train_loss"] == expected["train_loss"]
    else:  # TF's multithreaded sums may add in another order
        np.testing.assert_allclose(resumed.input_vectors.numpy(),
                                   whole.model.input_vectors.numpy(), rtol=1e-5, atol=1e-6)
        assert metrics["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-5)
    assert int(trainer.global_step.numpy()) == 16 and int(trainer.epoch.numpy()) == 2
    assert metrics["words_per_second"] > 0


def test_the_fused_model_writes_summaries_and_refuses_to_save_non_finite_tables(tmp_path,
                                                                                capsys):
    from kerasnotes.training.callbacks.nearest_words import NearestWords
    from kerasnotes.training.checkpoints import NonFiniteLossError
    from tests.apps.app_runner import event_tags

    tokens, sentence_ids, counts = _small_corpus()
    model = _fused_model(tokens, sentence_ids, counts, 2, backend="tf")
    vocabulary = Word2VecVocabulary([f"w{i}" if i else "<unk>" for i in range(30)], counts)
    _fit(model, tmp_path, 1, callbacks=[NearestWords(vocabulary, ["w1"], 3)],
         log_every_n_steps=1)
    assert {"epoch_loss", "epoch_words_per_second", "epoch_learning_rate", "batch_loss",
            "learning_rate", "examples_per_second"} <= event_tags(tmp_path / "train")
    assert "nearest_words" in event_tags(tmp_path / "validation")
    # The rate at the end of epoch 1 of 2: halfway from 0.05 to 0.001.
    assert model.learning_rate == pytest.approx(0.0255)

    class Poison(keras.callbacks.Callback):  # after the restore of the epoch-1 checkpoint
        def on_epoch_begin(self, epoch, logs=None):
            self.model.input_vectors.assign(tf.fill(self.model.input_vectors.shape, np.nan))

    with pytest.raises(NonFiniteLossError, match="epoch 2, step 1") as caught:
        _fit(model, tmp_path, 2, callbacks=[Poison()])
    assert str(tmp_path / "checkpoints" / "ckpt-1") in str(caught.value)  # the last good one
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.index")) == \
        ["ckpt-1.index"]
