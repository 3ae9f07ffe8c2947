"""The word2vec C++ kernel: equal to the TF path, its sampling, its build cache."""

import os
import shutil
import threading

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.text.word2vec_examples import (
    sampling_tables,
    sentence_examples,
    sentence_splits,
)
from kerasnotes.models.word2vec_fused import FusedWord2Vec, linear_lr, tf_train_step
from kerasnotes.ops.word2vec_kernel import build
from kerasnotes.ops.word2vec_kernel.build import KernelUnavailable

COMBOS = [("skipgram", "negative"), ("skipgram", "hierarchical"), ("cbow", "negative"),
          ("cbow", "hierarchical")]


@pytest.fixture(scope="session")
def kernel():
    """The kernel, built once into the per-user cache (skipped without a C++ compiler)."""
    if build.compiler() is None:
        pytest.skip("no C++ compiler")
    return build.load_word2vec_kernel()


def tiny_corpus(seed=0, sentences=40, vocabulary=25):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, sentences)
    weights = 1.0 / np.arange(1, vocabulary + 1)  # Zipf-like counts
    tokens = rng.choice(vocabulary, lengths.sum(), p=weights / weights.sum()).astype(np.int32)
    sentence_ids = np.repeat(np.arange(sentences), lengths).astype(np.int32)
    counts = np.bincount(tokens, minlength=vocabulary)
    return tokens, sentence_ids, counts


def random_tables(rows_in, rows_out, dim=8, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.5, (rows_in, dim)).astype(np.float32),
            rng.normal(0, 0.5, (rows_out, dim)).astype(np.float32))


@pytest.mark.parametrize("dim", [8, 100])  # 100: the AVX-512 build's unrolled 7-chunk rows
@pytest.mark.parametrize("model, loss", COMBOS)
def test_examples_op_equals_the_tf_path_step_by_step(kernel, model, loss, dim):
    tokens, sentence_ids, counts = tiny_corpus()
    tables = sampling_tables(counts, None, loss)
    batch = sentence_examples(tokens, sentence_splits(sentence_ids), 0, 12, tables, window=3,
                              model=model, loss=loss, num_negatives=4,
                              rng=np.random.default_rng(0))
    assert batch.size > 20
    start_in, start_out = random_tables(counts.size, tables.output_rows, dim)
    steps = np.linspace(0.5, 0.1, batch.size).astype(np.float32) * 8 / dim
    kernel_in, kernel_out = tf.Variable(start_in), tf.Variable(start_out)
    kernel_losses = kernel.word2_vec_train_examples(
        kernel_in.handle, kernel_out.handle, batch.input_ids, batch.input_splits,
        batch.target_ids, batch.target_labels, batch.target_splits, steps).numpy()
    tf_in, tf_out = tf.Variable(start_in), tf.Variable(start_out)
    tf_losses = []
    for e in range(batch.size):  # the TF path, one example per step
        i0, i1 = batch.input_splits[e], batch.input_splits[e + 1]
        t0, t1 = batch.target_splits[e], batch.target_splits[e + 1]
        tf_losses.append(float(tf_train_step(
            tf_in, tf_out, batch.input_ids[i0:i1], np.array([0, i1 - i0]),
            batch.target_ids[t0:t1], batch.target_labels[t0:t1], np.array([0, t1 - t0]),
            tf.ones([1]), tf.constant(steps[e]))[0]))
    np.testing.assert_allclose(kernel_losses, tf_losses, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kernel_in.numpy(), tf_in.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kernel_out.numpy(), tf_out.numpy(), rtol=1e-5, atol=1e-5)
    assert not np.allclose(kernel_in.numpy(), start_in)  # the rows did move


def fused_model(counts, model, loss, subsample_t=None, seed=3, step_words=None,
                batching="window", dim=8):
    return FusedWord2Vec(counts, dim, model=model, loss=loss, window=3, negatives=4,
                         subsample_t=subsample_t, backend="kernel", threads=1, seed=seed,
                         step_words=step_words, batching=batching)


@pytest.mark.parametrize("model, loss", COMBOS)
def test_word_steps_train_exactly_the_examples_they_make(kernel, model, loss):
    tokens, sentence_ids, counts = tiny_corpus(1)
    splits = sentence_splits(sentence_ids)
    first = fused_model(counts, model, loss, subsample_t=0.02, batching="word")
    start_in, start_out = first.input_vectors.numpy(), first.output_vectors.numpy()
    outputs = first.kernel_call(tokens, splits, 0, splits.size - 1, epoch=0, lr=0.3,
                                min_lr=0.01, words_before=0, total_words=tokens.size,
                                return_examples=True)
    stats, examples = outputs[0].numpy(), [t.numpy() for t in outputs[1:7]]
    assert stats[1] == examples[1].size - 1 > 20 and stats[2] == examples[2].size
    assert 0 < stats[3] < stats[4] == tokens.size  # subsampling dropped some words
    np.testing.assert_array_equal(outputs[7].numpy(), np.arange(stats[1] + 1))  # 1 per step
    second = fused_model(counts, model, loss, subsample_t=0.02, batching="word")
    losses = kernel.word2_vec_train_examples(second.input_vectors.handle,
                                             second.output_vectors.handle, *examples).numpy()
    np.testing.assert_allclose(losses.sum(), stats[0], rtol=1e-5)
    np.testing.assert_array_equal(first.input_vectors.numpy(), second.input_vectors.numpy())
    np.testing.assert_array_equal(first.output_vectors.numpy(), second.output_vectors.numpy())
    assert not np.allclose(first.input_vectors.numpy(), start_in)
    assert not np.allclose(first.output_vectors.numpy(), start_out)


def replay_steps(start_in, start_out, outputs):
    """The recorded steps replayed on the TF path: each step's examples in one TF step
    (one gradient at the same parameters, duplicates summed), as the window steps are."""
    inputs, in_splits, targets, labels, t_splits, steps, step_splits = (
        t.numpy() for t in outputs[1:8])
    tf_in, tf_out = tf.Variable(start_in), tf.Variable(start_out)
    loss = 0.0
    for a, b in zip(step_splits[:-1], step_splits[1:]):
        assert np.all(steps[a:b] == steps[a])
        i0, i1, t0, t1 = in_splits[a], in_splits[b], t_splits[a], t_splits[b]
        loss += float(tf.reduce_sum(tf_train_step(
            tf_in, tf_out, inputs[i0:i1], in_splits[a:b + 1] - i0, targets[t0:t1],
            labels[t0:t1], t_splits[a:b + 1] - t0, tf.ones([b - a]), tf.constant(steps[a]))))
    return tf_in.numpy(), tf_out.numpy(), loss


def numpy_replay(start_in, start_out, outputs, full_input_steps):
    """The recorded steps replayed in NumPy (float64): a step's examples share their targets
    and see the same parameters; with `full_input_steps` each input row of an example moves
    by the whole gradient of the example's mean vector (word2vec.c's CBOW update)."""
    inputs, in_splits, targets, labels, t_splits, steps, step_splits = (
        t.numpy() for t in outputs[1:8])
    v, u = start_in.astype(np.float64), start_out.astype(np.float64)
    loss = 0.0
    for a, b in zip(step_splits[:-1], step_splits[1:]):
        shared = targets[t_splits[a]:t_splits[a + 1]]
        marks = labels[t_splits[a]:t_splits[a + 1]].astype(np.float64)
        for e in range(a, b):  # every example of a step has the same targets
            np.testing.assert_array_equal(targets[t_splits[e]:t_splits[e + 1]], shared)
        rows = [inputs[in_splits[e]:in_splits[e + 1]] for e in range(a, b)]
        h = np.stack([v[r].mean(axis=0) for r in rows])  # (examples, d)
        w = u[shared]
        scores = h @ w.T
        loss += np.logaddexp(0.0, np.where(marks > 0.5, -scores, scores)).sum()
        g = 1.0 / (1.0 + np.exp(-scores)) - marks[None, :]
        grad_h = g @ w
        np.add.at(u, shared, -steps[a] * (g.T @ h))
        for r, gh in zip(rows, grad_h):
            np.add.at(v, r, -steps[a] * gh * (1.0 if full_input_steps else 1.0 / r.size))
    return v, u, loss


@pytest.mark.parametrize("dim", [8, 100])
@pytest.mark.parametrize("model, loss", COMBOS)
def test_window_steps_equal_a_replay_of_their_steps(kernel, model, loss, dim):
    """Skip-gram: each window's examples replayed as one TF-path step; CBOW (whole-gradient
    input steps, which the TF path does not take): replayed in NumPy."""
    tokens, sentence_ids, counts = tiny_corpus(1)
    splits = sentence_splits(sentence_ids)
    trainer = fused_model(counts, model, loss, subsample_t=0.02, dim=dim)
    start_in, start_out = random_tables(counts.size, trainer.tables.output_rows, dim)
    trainer.input_vectors.assign(start_in)
    trainer.output_vectors.assign(start_out)
    outputs = trainer.kernel_call(tokens, splits, 0, splits.size - 1, epoch=0, lr=0.3,
                                  min_lr=0.01, words_before=0, total_words=tokens.size,
                                  return_examples=True)
    stats, step_splits = outputs[0].numpy(), outputs[7].numpy()
    assert stats[1] == step_splits[-1] > 20 and stats[2] == outputs[3].shape[0]
    if model == "skipgram":  # several context words per step, sharing the targets
        assert np.diff(step_splits).max() > 1 and step_splits.size - 1 < stats[1]
    if model == "skipgram":
        tf_in, tf_out, tf_loss = replay_steps(start_in, start_out, outputs)
    else:
        tf_in, tf_out, tf_loss = numpy_replay(start_in, start_out, outputs, True)
        assert np.any(np.diff(outputs[2].numpy()) > 1)  # windows of several words
    np.testing.assert_allclose(stats[0], tf_loss, rtol=1e-5)
    np.testing.assert_allclose(trainer.input_vectors.numpy(), tf_in, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(trainer.output_vectors.numpy(), tf_out, rtol=1e-4, atol=1e-5)
    assert not np.allclose(tf_in, start_in) and not np.allclose(tf_out, start_out)


def test_a_skipgram_window_is_one_step_of_shared_noise_words_by_numpy(kernel):
    tokens, sentence_ids, counts = unique_word_corpus([4, 6])
    counts = np.arange(1, tokens.size + 1)  # distinct noise probabilities
    trainer = fused_model(counts, "skipgram", "negative")
    v, u = trainer.input_vectors.numpy(), trainer.output_vectors.numpy()
    u += np.random.default_rng(0).normal(0, 0.3, u.shape).astype(np.float32)  # not zeros
    trainer.output_vectors.assign(u)
    outputs = [t.numpy() for t in trainer.kernel_call(
        tokens, sentence_splits(sentence_ids), 0, 2, 0, 0.25, 0.25, 0, 1,
        return_examples=True)]
    inputs, in_splits, targets, _, t_splits, _, step_splits = outputs[1:8]
    assert step_splits.size - 1 == tokens.size  # one step per center word
    for a, b in zip(step_splits[:-1], step_splits[1:]):
        center = targets[t_splits[a]]
        contexts = inputs[in_splits[a]:in_splits[b]]
        assert np.all(np.diff(in_splits[a:b + 1]) == 1)  # one context word per example
        assert center not in contexts and np.all(sentence_ids[contexts] == sentence_ids[center])
        assert np.all(np.abs(contexts - center) <= trainer.window)
    v, u, _ = numpy_replay(v, u, [None] + [tf.constant(t) for t in outputs[1:8]], False)
    np.testing.assert_allclose(trainer.input_vectors.numpy(), v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trainer.output_vectors.numpy(), u, rtol=1e-5, atol=1e-6)


def test_batching_must_be_window_or_word():
    with pytest.raises(ValueError, match="batching"):
        FusedWord2Vec([0, 5, 5], 4, batching="sentence")


def unique_word_corpus(lengths):
    """Token id = position: every example's words say where they come from."""
    tokens = np.arange(sum(lengths), dtype=np.int32)
    sentence_ids = np.repeat(np.arange(len(lengths)), lengths).astype(np.int32)
    return tokens, sentence_ids, np.ones(tokens.size, np.int64)


@pytest.mark.parametrize("model, batching", [("skipgram", "window"), ("skipgram", "word"),
                                             ("cbow", "window")])
def test_kernel_windows_stay_inside_the_sentence(kernel, model, batching):
    lengths = [7, 1, 12, 3, 9, 2, 15]
    tokens, sentence_ids, counts = unique_word_corpus(lengths)
    trainer = fused_model(counts, model, "negative", batching=batching)
    splits = sentence_splits(sentence_ids)
    window = trainer.window
    out = [t.numpy() for t in trainer.kernel_call(
        tokens, splits, 0, len(lengths), 0, 0.1, 0.1, 0, 1, return_examples=True)]
    inputs, input_splits, targets, labels, target_splits = out[1:6]
    sizes = set()
    contexts_of = {}
    for e in range(input_splits.size - 1):
        ins = inputs[input_splits[e]:input_splits[e + 1]]
        outs = targets[target_splits[e]:target_splits[e + 1]]
        marks = labels[target_splits[e]:target_splits[e + 1]]
        assert marks[0] == 1 and np.all(marks[1:] == 0) and outs.size == 1 + 4
        assert np.all(outs[1:] != outs[0])  # a noise word is never the positive word
        word_pairs = model == "skipgram" and batching == "word"  # center in, context out
        center = ins[0] if word_pairs else outs[0]
        contexts = [outs[0]] if word_pairs else list(ins)
        contexts_of.setdefault(center, []).extend(contexts)
    for center, contexts in contexts_of.items():
        contexts = np.array(sorted(contexts))
        assert np.all(sentence_ids[contexts] == sentence_ids[center])
        distance = np.abs(contexts - center)
        size = distance.max()
        sizes.add(size)
        assert 1 <= size <= window and center not in contexts
        sentence = np.flatnonzero(sentence_ids == sentence_ids[center])
        expected = [p for p in sentence if 0 < abs(p - center) <= size]
        assert np.all(contexts == expected) or size < window  # full window of its size
    words_with_context = sum(n for n in lengths if n > 1)
    assert len(contexts_of) == words_with_context
    assert len(sizes) > 1  # the window size is drawn per center


def test_kernel_learning_rate_decays_linearly_with_the_position(kernel):
    tokens, sentence_ids, counts = tiny_corpus(2)
    splits = sentence_splits(sentence_ids)
    trainer = fused_model(counts, "skipgram", "negative")
    out = trainer.kernel_call(tokens, splits, 5, 30, 0, lr=0.2, min_lr=0.02, words_before=100,
                              total_words=1000, return_examples=True)
    steps = out[6].numpy()
    allowed = np.array([linear_lr(0.2, 0.02, 100 + splits[s] - splits[5], 1000)
                        for s in range(5, 30)])
    # Each example's step is the rate at its sentence's position (float32 rounding).
    assert np.abs(steps[:, None] - allowed[None, :]).min(axis=1).max() < 1e-6
    assert len(set(steps.tolist())) > 10
    assert np.all(np.diff(steps) <= 0)


def test_an_epoch_in_many_calls_equals_one_call(kernel):
    tokens, sentence_ids, counts = tiny_corpus(6, sentences=200)
    splits = sentence_splits(sentence_ids)
    results = []
    for words_per_call in (10**9, 37):
        trainer = fused_model(counts, "skipgram", "negative", subsample_t=0.05,
                              step_words=words_per_call)
        rates = []
        stats = trainer.train_epoch(tokens, splits, 1, 0.2, 0.01, tokens.size, 3 * tokens.size,
                                    on_batch=lambda loss, lr, rates=rates: rates.append(lr))
        results.append((trainer.input_vectors.numpy(), trainer.output_vectors.numpy(), stats))
    assert len(rates) > 20 and np.all(np.diff(rates) < 0)  # the rate decays across calls
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-7)
    assert results[0][2]["kept_words"] == results[1][2]["kept_words"]
    np.testing.assert_allclose(results[0][2]["lr"], linear_lr(0.2, 0.01, 2, 3))


def test_kernel_subsampling_and_noise_follow_their_distributions(kernel):
    rng = np.random.default_rng(0)
    counts = np.array([0, 4000, 2000, 1000, 500, 250, 250])
    tokens = rng.choice(7, 20000, p=counts / counts.sum()).astype(np.int32)
    sentence_ids = (np.arange(tokens.size) // 20).astype(np.int32)
    trainer = fused_model(counts, "skipgram", "negative", subsample_t=0.02)
    out = trainer.kernel_call(tokens, sentence_splits(sentence_ids), 0, 1000, 0, 0.01, 0.01,
                              0, 1, return_examples=True)
    stats = out[0].numpy()
    expected_kept = trainer.tables.keep[tokens].sum()
    assert abs(stats[3] - expected_kept) < 4 * np.sqrt(expected_kept)
    targets, labels, splits = out[3].numpy(), out[4].numpy(), out[5].numpy()
    noise = np.bincount(targets[labels == 0], minlength=7) / (labels == 0).sum()
    power = counts ** 0.75 / (counts ** 0.75).sum()
    # Noise words are drawn from count**0.75 without the example's positive word p:
    # P(w | p) = P(w) / (1 - P(p)) for w != p, averaged over the examples.
    positives = targets[splits[:-1]]
    conditional = np.where(np.arange(7)[None, :] == positives[:, None], 0.0, power[None, :])
    expected = (conditional / conditional.sum(axis=1, keepdims=True)).mean(axis=0)
    np.testing.assert_allclose(noise, expected, atol=0.01)
    assert noise[0] == 0  # a word of count 0 is never drawn


def test_kernel_is_seeded_and_two_threads_train(kernel):
    tokens, sentence_ids, counts = tiny_corpus(3, sentences=400, vocabulary=60)
    splits = sentence_splits(sentence_ids)
    runs = []
    for epoch in (0, 0, 1):
        trainer = fused_model(counts, "skipgram", "negative", subsample_t=0.05)
        trainer.kernel_call(tokens, splits, 0, 400, epoch, 0.1, 0.1, 0, 1)
        runs.append(trainer.input_vectors.numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    trainer = FusedWord2Vec(counts, 16, window=3, negatives=4, subsample_t=None,
                            backend="kernel", threads=2)
    losses = [trainer.train_epoch(tokens, splits, e, 0.05, 0.05, 0, 1)["loss"]
              for e in range(4)]
    assert losses[-1] < losses[0] < np.log(2.0) + 1e-3


def sentences_op(trainer, tokens, splits, threads=1, lr=(0.3, 0.01), **attrs):
    """`Word2VecTrainSentences` on the whole corpus (epoch 0, rate lr[0] to lr[1]), `attrs`
    (e.g. `hot_rows`) that `FusedWord2Vec.kernel_call` leaves at their defaults."""
    paths, codes, lengths = trainer._empty_tree()
    return trainer.kernel.word2_vec_train_sentences(
        trainer.input_vectors.handle, trainer.output_vectors.handle, tokens, splits,
        np.array([0, splits.size - 1], np.int64), trainer.tables.keep, trainer.tables.accept,
        trainer.tables.alias, paths, codes, lengths, np.array(lr, np.float32),
        np.array([0, tokens.size], np.int64), np.array([trainer.seed, 0], np.int64),
        model=trainer.architecture, loss=trainer.objective, window=trainer.window,
        negatives=trainer.negatives, num_threads=threads, batching=trainer.batching, **attrs)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("hot_rows", [5, 1000])  # 1000: more than the tree's nodes, all
def test_hot_rows_on_one_thread_equal_training_in_place(kernel, model, hot_rows):
    """A thread's copy of the top nodes, merged every 3 steps, trains what the shared rows
    trained in place (one thread: no other changes to merge; float rounding only)."""
    tokens, sentence_ids, counts = tiny_corpus(7, sentences=100)
    splits = sentence_splits(sentence_ids)
    runs = []
    for attrs in ({"hot_rows": 0}, {"hot_rows": hot_rows, "hot_merge_steps": 3}):
        trainer = fused_model(counts, model, "hierarchical", dim=100)
        start_in, start_out = random_tables(counts.size, trainer.tables.output_rows, 100)
        trainer.input_vectors.assign(start_in)
        trainer.output_vectors.assign(start_out)
        stats = sentences_op(trainer, tokens, splits, **attrs)[0].numpy()
        runs.append((stats, trainer.input_vectors.numpy(), trainer.output_vectors.numpy()))
    (stats, v, u), (hot_stats, hot_v, hot_u) = runs
    assert stats[1] > 100  # many merges of the copy
    np.testing.assert_allclose(hot_stats, stats, rtol=1e-5)
    np.testing.assert_allclose(hot_v, v, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(hot_u, u, rtol=1e-4, atol=1e-6)
    top = slice(-min(hot_rows, u.shape[0]), None)
    assert not np.allclose(hot_u[top], start_out[top])  # the copied rows did train


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_two_threads_with_hot_rows_train_as_one_thread_does(kernel, model):
    """Two threads, each with its own copy of the top nodes (the default with hierarchical
    softmax), merged every 16 steps: the loss falls as on one thread (a phrase corpus:
    the context predicts the word)."""
    rng = np.random.default_rng(8)  # 600 sentences, each one phrase of 4 words repeated
    phrases = rng.permutation(80).reshape(20, 4)
    lengths = rng.integers(6, 13, 600)
    tokens = np.concatenate([np.resize(phrases[p], n) for p, n in
                             zip(rng.integers(0, 20, 600), lengths)]).astype(np.int32)
    splits = sentence_splits(np.repeat(np.arange(600), lengths).astype(np.int32))
    counts = np.bincount(tokens, minlength=80)
    losses = {}
    for threads in (1, 2):
        trainer = FusedWord2Vec(counts, 16, model=model, loss="hierarchical", window=3,
                                subsample_t=None, backend="kernel", threads=threads)
        losses[threads] = []
        for _ in range(5):
            stats = sentences_op(trainer, tokens, splits, threads, (0.05, 0.05),
                                 hot_merge_steps=16)[0].numpy()
            losses[threads].append(stats[0] / stats[2])
    assert losses[2][-1] < 0.6 * losses[2][0]
    np.testing.assert_allclose(losses[2], losses[1], rtol=0.03)


def test_kernel_copies_a_buffer_still_held_by_a_reader(kernel):
    tokens, sentence_ids, counts = tiny_corpus(4)
    trainer = fused_model(counts, "skipgram", "negative")
    before = trainer.input_vectors.value.value()  # a reader holding the variable's buffer
    kept = before.numpy().copy()
    trainer.kernel_call(tokens, sentence_splits(sentence_ids), 0, 40, 0, 0.5, 0.5, 0, 1)
    np.testing.assert_array_equal(before.numpy(), kept)
    assert not np.allclose(trainer.input_vectors.numpy(), kept)


def test_kernel_rejects_bad_ids(kernel):
    tokens, sentence_ids, counts = tiny_corpus(5)
    trainer = fused_model(counts, "skipgram", "negative")
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside"):
        trainer.kernel_call(np.r_[tokens[:-1], 999].astype(np.int32),
                            sentence_splits(sentence_ids), 0, 40, 0, 0.1, 0.1, 0, 1)


# ------------------------------------------------------------------------- build cache

def test_cache_key_changes_with_tf_version_source_and_flags():
    key = build.cache_key("2.21.0", "source", cpu="cpu")
    assert key.startswith("2.21.0-") and key == build.cache_key("2.21.0", "source", cpu="cpu")
    assert build.cache_key("2.22.0", "source", cpu="cpu").startswith("2.22.0-")
    assert build.cache_key("2.21.0", "source 2", cpu="cpu") != key
    assert build.cache_key("2.21.0", "source", flags=("-O2",), cpu="cpu") != key
    assert build.cache_key("2.21.0", "source", cpu="other cpu") != key


@pytest.fixture
def fake_compiler(tmp_path, kernel):
    """A `CXX` that copies the real built library to `-o` and logs each call."""
    log = tmp_path / "calls.log"
    script = tmp_path / "fake-cxx"
    real = build.library_path()
    script.write_text(f"#!/bin/sh\necho call >> {log}\nsleep 0.5\n"
                      f"while [ $# -gt 0 ]; do [ \"$1\" = -o ] && cp {real} \"$2\"; shift; done\n")
    script.chmod(0o755)
    return str(script), log


def test_a_new_tf_version_rebuilds_once_then_reuses(tmp_path, monkeypatch, fake_compiler):
    script, log = fake_compiler
    monkeypatch.setenv("KERASNOTES_OPS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", script)
    monkeypatch.setattr(build, "_LOADED", {})
    # Loading a copy would register the kernels twice in this process (TF then refuses to
    # pick one for later ops of other tests): record the path instead.
    monkeypatch.setattr(tf, "load_op_library", lambda path: path)
    for version in ("2.21.0", "2.21.0", "9.9.9", "9.9.9"):
        monkeypatch.setattr(tf, "__version__", version)
        assert build.load_word2vec_kernel() == build.library_path()
        assert os.path.exists(build.library_path())
        assert os.path.basename(os.path.dirname(build.library_path())).startswith(version)
        monkeypatch.setattr(build, "_LOADED", {})
    assert log.read_text().count("call") == 2  # one build per TF version
    folders = sorted(os.listdir(tmp_path / "cache"))
    assert [f.split("-")[0] for f in folders] == ["2.21.0", "9.9.9"]


def test_two_builders_at_once_compile_once(tmp_path, fake_compiler):
    script, log = fake_compiler
    path = str(tmp_path / "cache" / "key" / build.LIBRARY_NAME)
    threads = [threading.Thread(target=build.build_library, args=(path, script))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.read_text().count("call") == 1 and os.path.exists(path)
    assert [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".so")] == [
        build.LIBRARY_NAME]  # no temporary left behind


def test_no_compiler_or_a_failed_build_is_reported_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASNOTES_OPS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "_LOADED", {})
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    with pytest.raises(KernelUnavailable, match="no C\\+\\+ compiler"):
        build.load_word2vec_kernel()
    failing = tmp_path / "failing-cxx"
    failing.write_text("#!/bin/sh\necho 'x.cc:1: error: boom' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setenv("CXX", str(failing))
    with pytest.raises(KernelUnavailable, match="build failed: x.cc:1: error: boom"):
        build.load_word2vec_kernel()
    counts = np.array([0, 5, 3, 2])
    fallback = FusedWord2Vec(counts, 4, backend="auto")
    assert fallback.backend == "tf" and "no C++ compiler" not in fallback.describe()
    assert "kernel unavailable: the C++ build failed" in fallback.describe()
    shutil.rmtree(tmp_path / "cache")


def test_a_failed_native_build_falls_back_to_the_next_architecture_flags(tmp_path, kernel):
    # A compiler that refuses AVX512-FP16 code (as g++ 12 does on Eigen's FP16 packets when
    # -march=native enables it) unless -mno-avx512fp16 is given, then refuses -mno-avx512fp16
    # itself (an older compiler): the third set, a portable -march, builds.
    log = tmp_path / "calls.log"
    script = tmp_path / "picky-cxx"
    real = build.library_path()
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"$*\" >> {log}\n"
        "case \" $* \" in *' -march=native '*) echo 'k.cc:1: error: no native' >&2; exit 1;; esac\n"
        f"while [ $# -gt 0 ]; do [ \"$1\" = -o ] && cp {real} \"$2\"; shift; done\n")
    script.chmod(0o755)
    path = str(tmp_path / "cache" / "key" / build.LIBRARY_NAME)
    assert build.build_library(path, str(script)) == path and os.path.exists(path)
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    assert " -march=native -mno-avx512fp16 " in calls[0] and "-mno-avx512fp16" not in calls[1]
    assert " -march=x86-64-v2 " in calls[2] and "-march=native" not in calls[2]
