"""Flat word2vec examples made in bulk for the fused TF path."""

import numpy as np
import pytest

from kerasnotes.data.text.negative_sampling import noise_distribution
from kerasnotes.data.text.word2vec_examples import (
    sampling_tables,
    sentence_examples,
    sentence_splits,
)
from kerasnotes.ops.huffman_tree import huffman_tree


def test_sampling_tables_by_hand():
    tables = sampling_tables([0, 900, 100], subsample_t=0.01)
    np.testing.assert_allclose(tables.keep, [1.0, np.sqrt(0.01 / 0.9), np.sqrt(0.01 / 0.1)],
                               rtol=1e-6)
    # The alias table reproduces count**0.75: P(i) = (accept_i + sum_j [alias_j = i](1 -
    # accept_j)) / V.
    size = tables.keep.size
    recovered = tables.accept.astype(np.float64).copy()
    np.add.at(recovered, tables.alias, 1.0 - tables.accept)
    np.testing.assert_allclose(recovered / size, noise_distribution([0, 900, 100]), atol=1e-6)
    assert tables.paths is None and tables.output_rows == 3
    tree = sampling_tables([0, 900, 100], None, loss="hierarchical")
    assert np.all(tree.keep == 1.0) and tree.output_rows == 2
    np.testing.assert_array_equal(tree.paths, huffman_tree([0, 900, 100])[0])
    with pytest.raises(ValueError, match="loss"):
        sampling_tables([1, 2], loss="softmax")


def test_sentence_splits():
    assert sentence_splits([4, 4, 7, 9, 9, 9]).tolist() == [0, 2, 3, 6]


def unique_corpus(lengths):
    tokens = np.arange(sum(lengths), dtype=np.int32)
    sentence_ids = np.repeat(np.arange(len(lengths)), lengths).astype(np.int32)
    return tokens, sentence_splits(sentence_ids), sentence_ids


def rows(splits, values, e):
    return values[splits[e]:splits[e + 1]]


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_examples_stay_in_window_and_sentence(model):
    lengths = [6, 1, 10, 2, 8]
    tokens, splits, sentence_ids = unique_corpus(lengths)
    tables = sampling_tables(np.ones(tokens.size), None)
    batch = sentence_examples(tokens, splits, 0, len(lengths), tables, window=3, model=model,
                              num_negatives=2, rng=np.random.default_rng(0))
    assert batch.kept_words == batch.raw_words == tokens.size
    contexts_of = {}
    for e in range(batch.size):
        inputs = rows(batch.input_splits, batch.input_ids, e)
        targets = rows(batch.target_splits, batch.target_ids, e)
        labels = rows(batch.target_splits, batch.target_labels, e)
        assert labels.tolist() == [1.0, 0.0, 0.0] and np.all(targets[1:] != targets[0])
        center, contexts = (inputs[0], [targets[0]]) if model == "skipgram" else \
            (targets[0], list(inputs))
        contexts_of.setdefault(int(center), []).extend(int(c) for c in contexts)
    assert sorted(contexts_of) == [t for t in tokens if lengths[sentence_ids[t]] > 1]
    for center, contexts in contexts_of.items():
        size = max(abs(c - center) for c in contexts)
        assert 1 <= size <= 3
        expected = [p for p in tokens if sentence_ids[p] == sentence_ids[center]
                    and 0 < abs(p - center) <= size]
        assert sorted(contexts) == expected


def test_hierarchical_targets_are_the_huffman_path():
    tokens, splits, _ = unique_corpus([5, 4])
    counts = np.arange(1, 10)
    tables = sampling_tables(counts, None, loss="hierarchical")
    paths, codes, lengths = huffman_tree(counts)
    batch = sentence_examples(tokens, splits, 0, 2, tables, window=2, loss="hierarchical",
                              rng=np.random.default_rng(1))
    for e in range(batch.size):
        context = rows(batch.input_splits, batch.input_ids, e)  # skip-gram: the center ...
        targets = rows(batch.target_splits, batch.target_ids, e)
        labels = rows(batch.target_splits, batch.target_labels, e)
        matches = [w for w in range(9) if lengths[w] == targets.size
                   and np.all(paths[w, :lengths[w]] == targets)
                   and np.all(1 - codes[w, :lengths[w]] == labels)]
        assert matches and context.size == 1  # ... and a context word's path and codes


def test_subsampling_keeps_the_expected_share():
    rng = np.random.default_rng(2)
    tokens = rng.integers(1, 5, 40000).astype(np.int32)
    splits = sentence_splits(np.arange(40000) // 8)
    tables = sampling_tables(np.bincount(tokens), subsample_t=0.05)
    batch = sentence_examples(tokens, splits, 0, 5000, tables, rng=rng)
    expected = tables.keep[tokens].sum()
    assert abs(batch.kept_words - expected) < 4 * np.sqrt(expected)
