"""The word2vec benchmark's quality verdict (equal only when the interval says so) and its
`--tree gensim` arrays."""

import numpy as np

from benchmarks.word2vec_throughput import EQUAL_MARGIN, quality_difference, tree_arrays
from kerasnotes.ops.huffman_tree import huffman_tree


def test_a_tight_difference_inside_the_margin_is_equal():
    rng = np.random.default_rng(0)
    theirs = 0.30 + 0.01 * rng.standard_normal(20)
    ours = theirs + 0.005 + 0.005 * rng.standard_normal(20)
    line = quality_difference(ours, theirs)
    assert line.endswith(f"equal within +-{EQUAL_MARGIN:.2f}") and "20 rounds" in line


def test_a_consistent_deficit_is_worse_and_an_advantage_better():
    rng = np.random.default_rng(1)
    theirs = 0.30 + 0.01 * rng.standard_normal(20)
    assert quality_difference(theirs - 0.05, theirs).endswith("kerasnotes worse")
    assert quality_difference(theirs + 0.05, theirs).endswith("kerasnotes better")


def test_three_noisy_rounds_resolve_nothing():
    line = quality_difference([0.25, 0.31, 0.22], [0.30, 0.23, 0.28])
    assert line.endswith(f"no significant difference, not resolved to +-{EQUAL_MARGIN:.2f}")
    assert "3 rounds" in line


def test_tree_arrays_rebuild_our_own_tree_from_its_word_paths():
    counts = np.array([0, 9, 5, 5, 5, 3, 2, 2, 1])  # <unk> first, with no count
    paths, codes, lengths = huffman_tree(counts)
    tokens = ["<unk>"] + [f"w{i}" for i in range(1, counts.size)]
    tree = {token: [paths[i, :lengths[i]].tolist(), codes[i, :lengths[i]].tolist()]
            for i, token in enumerate(tokens) if i > 0}
    rebuilt_paths, rebuilt_codes, rebuilt_lengths = tree_arrays(tree, tokens)
    np.testing.assert_array_equal(rebuilt_lengths[1:], lengths[1:])
    np.testing.assert_array_equal(rebuilt_paths[1:, :paths.shape[1]], paths[1:])
    np.testing.assert_array_equal(rebuilt_codes[1:, :codes.shape[1]], codes[1:])
    # <unk>, absent from the peer's tree, takes the shortest path: a valid one.
    shortest = int(np.argmin(lengths[1:])) + 1
    assert rebuilt_lengths[0] == lengths[shortest]
    np.testing.assert_array_equal(rebuilt_paths[0, :rebuilt_lengths[0]],
                                  paths[shortest, :lengths[shortest]])


def test_tree_arrays_pad_with_zeros_and_keep_int32():
    tree = {"a": [[2], [0]], "b": [[2, 1], [1, 0]], "c": [[2, 1, 0], [1, 1, 0]],
            "d": [[2, 1, 0], [1, 1, 1]]}
    paths, codes, lengths = tree_arrays(tree, ["d", "a", "c", "b"])
    assert paths.dtype == codes.dtype == lengths.dtype == np.int32
    assert lengths.tolist() == [3, 1, 3, 2]
    assert paths.tolist() == [[2, 1, 0], [2, 0, 0], [2, 1, 0], [2, 1, 0]]
    assert codes.tolist() == [[1, 1, 1], [0, 0, 0], [1, 1, 0], [1, 0, 0]]
