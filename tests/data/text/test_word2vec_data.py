"""word2vec data: vocabulary, corpus, subsampling, context windows, noise words, batches."""

import collections

import numpy as np
import pytest

from kerasnotes.data.text.negative_sampling import alias_table, noise_distribution, sample_negatives
from kerasnotes.data.text.ptb_corpus import encode_corpus, load_ptb_corpus, read_ptb_sentences
from kerasnotes.data.text.skipgram_pairs import centers_with_context, context_windows
from kerasnotes.data.text.stdlib_corpus import stdlib_docstring_sentences
from kerasnotes.data.text.subsampling import discard_probabilities, subsample
from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary

SENTENCES = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat"], ["a"],
             ["the", "cat", "ran", "on", "a", "mat", "the", "end"]]


def test_vocabulary_min_count_unknown_and_order():
    vocab = Word2VecVocabulary.from_sentences(SENTENCES, min_count=2)
    counts = collections.Counter(t for s in SENTENCES for t in s)
    kept = [t for t in counts if counts[t] >= 2]
    assert vocab.tokens[0] == "<unk>" and set(vocab.tokens[1:]) == set(kept)
    assert vocab.tokens[1] == "the"  # most frequent first
    assert vocab.counts[1:].tolist() == [counts[t] for t in vocab.tokens[1:]]
    assert vocab.counts.sum() == sum(counts.values())  # the rare words are counted as <unk>
    assert vocab.encode(["cat", "dog", "zebra"]).tolist() == [vocab.index("cat"), 0, 0]
    with pytest.raises(KeyError, match="'zebra'"):
        vocab.index("zebra")


@pytest.mark.parametrize("sentences, message", [
    ([], "empty"), ([[], []], "empty"), ([["a", "b"], ["c"]], "min_count=5"),
])
def test_vocabulary_bad_corpus(sentences, message):
    with pytest.raises(ValueError, match=message):
        Word2VecVocabulary.from_sentences(sentences, min_count=5)


def test_read_and_encode_ptb_format(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in SENTENCES) + "\n\n")
    sentences = read_ptb_sentences(path)
    assert sentences == SENTENCES
    vocab = Word2VecVocabulary.from_sentences(sentences, min_count=2)
    corpus = encode_corpus(sentences, vocab)
    expected = [vocab.index(t) for s in SENTENCES for t in s if t in vocab]
    assert corpus.token_ids.tolist() == expected
    sentence_of = [i for i, s in enumerate(SENTENCES) for t in s if t in vocab]
    assert corpus.sentence_ids.tolist() == sentence_of
    assert corpus.counts[0] == 0 and corpus.counts.sum() == corpus.num_tokens
    np.testing.assert_array_equal(corpus.counts[1:], vocab.counts[1:])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(ValueError, match="empty"):
        read_ptb_sentences(empty)
    with pytest.raises(OSError):
        read_ptb_sentences(tmp_path / "missing.txt")


def test_stdlib_corpus_is_deterministic_english():
    first = stdlib_docstring_sentences(("json", "textwrap"))
    assert first == stdlib_docstring_sentences(("json", "textwrap"))
    words = collections.Counter(t for s in first for t in s)
    assert len(first) > 20 and words["the"] > 10
    assert all(t == "N" or t.islower() for s in first for t in s)


def test_discard_probabilities_formula():
    counts = np.array([0, 9000, 900, 90, 10])
    t = 1e-3
    f = counts / counts.sum()
    expected = [0.0] + [max(1 - np.sqrt(t / fi), 0.0) for fi in f[1:]]
    np.testing.assert_allclose(discard_probabilities(counts, t), expected, atol=1e-12)
    with pytest.raises(ValueError, match="t must be > 0"):
        discard_probabilities(counts, 0)


def test_subsampling_empirical_drop_rate_per_word():
    counts = np.array([0, 50000, 20000, 5000, 1000, 100])
    token_ids = np.repeat(np.arange(6), counts).astype(np.int32)
    p = discard_probabilities(counts, t=2e-3)  # f = 0.66, 0.26, 0.066, 0.013, 0.0013
    keep = subsample(token_ids, p, seed=(3, 4)).numpy()
    for word in range(1, 6):
        n = counts[word]
        dropped = 1.0 - keep[token_ids == word].mean()
        # 5 binomial standard deviations
        assert abs(dropped - p[word]) <= 5 * np.sqrt(p[word] * (1 - p[word]) / n) + 1e-9, word
    assert p[5] == 0 and keep[token_ids == 5].all()  # rare words are always kept
    np.testing.assert_array_equal(keep, subsample(token_ids, p, seed=(3, 4)).numpy())


def brute_force_windows(token_ids, sentence_ids, center, size):
    return [token_ids[j] for j in range(center - size, center + size + 1)
            if j != center and 0 <= j < len(token_ids) and sentence_ids[j] == sentence_ids[center]]


def test_context_windows_fixed_same_sentence_only():
    token_ids = np.arange(10, 22, dtype=np.int32)
    sentence_ids = np.array([0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 3, 3], np.int32)
    centers = np.arange(12)
    contexts, mask = context_windows(token_ids, sentence_ids, centers, 2, (0, 0),
                                     fixed_window=True)
    for c in centers:
        expected = brute_force_windows(token_ids, sentence_ids, c, 2)
        row = contexts.numpy()[c]
        assert mask.numpy()[c].sum() == len(expected)
        assert row[:len(expected)].tolist() == expected
        assert (row[len(expected):] == 0).all()


def test_context_windows_random_size_is_uniform_in_1_to_n():
    window = 3
    token_ids = np.arange(1, 2001, dtype=np.int32)
    sentence_ids = np.zeros(2000, np.int32)
    centers = np.arange(10, 1990)
    contexts, mask = context_windows(token_ids, sentence_ids, centers, window, (1, 2))
    sizes = mask.numpy().sum(1) // 2  # far from the ends: 2 * size contexts
    assert set(sizes) == {1, 2, 3}
    np.testing.assert_allclose(np.bincount(sizes)[1:] / len(sizes), 1 / 3, atol=0.05)
    for row, c, size in zip(contexts.numpy(), centers, sizes, strict=True):
        assert row[:2 * size].tolist() == brute_force_windows(token_ids, sentence_ids, c, size)
    with pytest.raises(ValueError, match="window"):
        context_windows(token_ids, sentence_ids, centers, 0, (0, 0))


def test_centers_with_context_skip_single_word_sentences():
    assert centers_with_context([0, 1, 1, 2, 3, 3, 3]).numpy().tolist() == [1, 2, 4, 5, 6]


def test_noise_distribution_and_alias_sampling_match_unigram_075():
    counts = np.array([0, 1000, 300, 50, 7, 1])
    p = noise_distribution(counts)
    np.testing.assert_allclose(p, counts ** 0.75 / (counts ** 0.75).sum(), atol=1e-15)
    accept, alias = alias_table(p)
    # The alias table reproduces p exactly:
    # P(i) = (accept_i + sum_{j: alias_j = i} (1 - accept_j)) / V
    recovered = accept.copy()
    np.add.at(recovered, alias, 1 - accept)
    np.testing.assert_allclose(recovered / len(p), p, atol=1e-12)
    positives = np.zeros((2000, 1), np.int32)  # word 0 has probability 0 anyway
    negatives, mask = sample_negatives(positives, np.ones_like(positives, bool), 50, p, (0, 1))
    frequencies = np.bincount(negatives.numpy().ravel(), minlength=len(p)) / negatives.numpy().size
    assert frequencies[0] == 0 and mask.numpy().all()
    np.testing.assert_allclose(frequencies, p, atol=5 * np.sqrt(p.max() / 1e5))


def test_negatives_never_equal_a_context_word_of_their_center():
    counts = np.array([0, 100, 80, 60, 40, 20, 10])
    p = noise_distribution(counts)
    rng = np.random.default_rng(0)
    positives = rng.integers(1, 7, size=(300, 4)).astype(np.int32)
    positive_mask = rng.random((300, 4)) < 0.7
    negatives, mask = sample_negatives(positives, positive_mask, 5, p, (2, 3))
    negatives, mask = negatives.numpy(), mask.numpy()
    assert negatives.shape == (300, 20)
    for row in range(300):
        valid_positives = set(positives[row][positive_mask[row]])
        owners = np.repeat(positive_mask[row], 5)
        np.testing.assert_array_equal(mask[row], owners)  # all redrawn successfully
        assert not valid_positives & set(negatives[row][mask[row]])
    with pytest.raises(ValueError, match="num_negatives"):
        sample_negatives(positives, positive_mask, 0, p, (0, 0))


def test_negatives_are_masked_when_the_positives_hold_all_the_noise_mass():
    p = noise_distribution([0, 5, 5])
    negatives, mask = sample_negatives([[1, 2]], [[True, True]], 3, p, (0, 0), max_rounds=3)
    assert not mask.numpy().any()


def tiny_corpus():
    sentences = [s * 3 for s in SENTENCES] * 20
    vocab = Word2VecVocabulary.from_sentences(sentences, min_count=1)
    return encode_corpus(sentences, vocab)


def test_skipgram_batches_layout_as_in_the_notes():
    corpus = tiny_corpus()
    window, k = 2, 3
    dataset = make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids,
                                    corpus.vocabulary.counts, batch_size=64, window=window,
                                    num_negatives=k, subsample_t=None, seed=1)
    seen = 0
    for step, (centers, contexts_negatives, masks, labels) in enumerate(dataset):
        assert centers.shape[1:] == (1,) and contexts_negatives.shape[1:] == (2 * window * (1 + k),)
        seen += len(centers)
        if step >= 4:
            continue  # rows of the first batches are checked one by one
        for row, m, label in zip(contexts_negatives.numpy(), masks.numpy(), labels.numpy(),
                                 strict=True):
            n_context = int(label.sum())
            assert 1 <= n_context <= 2 * window
            # contexts, then K noise words per context, then padding
            np.testing.assert_array_equal(label[:n_context], 1)
            np.testing.assert_array_equal(m, np.arange(len(m)) < n_context * (1 + k))
            np.testing.assert_array_equal(row[m == 0], 0)
            assert not set(row[:n_context]) & set(row[n_context:n_context * (1 + k)])
    # No subsampling: every token with a neighbour in its sentence is a center once per epoch.
    assert seen == len(centers_with_context(corpus.sentence_ids))


def test_dataset_epoch_is_reproducible_and_epochs_differ():
    corpus = tiny_corpus()

    def first_batch(epoch):
        dataset = make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids,
                                        corpus.vocabulary.counts, 8, window=2, num_negatives=2,
                                        subsample_t=0.05, seed=5, epoch=epoch)
        return [x.numpy() for x in next(iter(dataset))]

    a, b, c = first_batch(0), first_batch(0), first_batch(1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_cbow_and_training_formats():
    corpus = tiny_corpus()
    common = dict(token_ids=corpus.token_ids, sentence_ids=corpus.sentence_ids,
                  counts=corpus.vocabulary.counts, batch_size=4, window=2, subsample_t=None)
    contexts, context_masks, targets, masks, labels = next(iter(
        make_word2vec_dataset(**common, num_negatives=3, model="cbow")))
    assert contexts.shape == (4, 4) and targets.shape == (4, 4)
    np.testing.assert_array_equal(labels.numpy(), [[1, 0, 0, 0]] * 4)
    for row, center in zip(targets.numpy(), targets.numpy()[:, 0], strict=True):
        assert center not in row[1:]
    x, y = next(iter(make_word2vec_dataset(**common, num_negatives=3, for_training=True)))
    assert len(x) == 2 and y.shape == (4, 1, 16, 2)
    x, y = next(iter(make_word2vec_dataset(**common, num_negatives=None, for_training=True)))
    assert x[1].shape == (4, 4) and y.shape == (4, 1, 4, 2)
    x, y = next(iter(make_word2vec_dataset(**common, num_negatives=None, model="cbow",
                                           for_training=True)))
    assert [t.shape for t in x] == [(4, 4), (4, 4), (4, 1)] and y.shape == (4, 1, 1, 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(window=0), "window"), (dict(num_negatives=0), "num_negatives"),
    (dict(model="glove"), "model"), (dict(batch_size=0), "batch_size"),
])
def test_dataset_bad_arguments(kwargs, message):
    corpus = tiny_corpus()
    arguments = dict(batch_size=4)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, corpus.vocabulary.counts,
                              **arguments)


def test_ptb_corpus(shared_data):
    corpus = load_ptb_corpus(shared_data / "ptb" / "ptb.train.txt", min_count=5)
    vocab = corpus.vocabulary
    assert vocab.tokens[0] == "<unk>" and "chip" in vocab and "intel" in vocab
    assert (vocab.counts[1:] >= 5).all() and (corpus.token_ids > 0).all()
