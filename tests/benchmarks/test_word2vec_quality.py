"""The word2vec benchmark's quality verdict: equal only when the interval says so."""

import numpy as np

from benchmarks.word2vec_throughput import EQUAL_MARGIN, quality_difference


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
