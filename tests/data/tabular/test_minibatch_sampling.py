"""Minibatch sampling with and without replacement: counts, determinism, pipeline shape."""

import math

import numpy as np
import pytest

from kerasnotes.data.tabular.minibatch_sampling import make_minibatch_dataset, minibatch_indices


def chi_square_upper_bound(dof, z=5.0):
    """Upper quantile of chi^2(dof) at the standard-normal z (Wilson-Hilferty): z=5 is
    a false-alarm probability of about 3e-7."""
    c = 2.0 / (9.0 * dof)
    return dof * (1.0 - c + z * math.sqrt(c)) ** 3


def drawn_indices(dataset):
    return np.concatenate([np.asarray(y) for _, y in dataset]).astype(np.int64)


def test_without_replacement_every_example_exactly_once_per_epoch():
    n = 37
    x, ids = np.arange(n, dtype="float32")[:, None] * 10, np.arange(n)
    for epoch in range(4):
        dataset = make_minibatch_dataset((x, ids), batch_size=8, seed=3, epoch=epoch)
        batches = list(dataset)
        assert [len(b[1]) for b in batches] == [8, 8, 8, 8, 5]
        seen = drawn_indices(batches)
        np.testing.assert_array_equal(np.bincount(seen, minlength=n), np.ones(n))
        # Features travel with their example.
        xs = np.concatenate([np.asarray(b[0]) for b in batches])
        np.testing.assert_array_equal(xs[:, 0], seen * 10)


def test_with_replacement_counts_are_multinomial():
    n, epochs = 50, 200
    counts = np.zeros(n)
    distinct_fractions = []
    repeats_inside_a_batch = 0
    for epoch in range(epochs):
        drawn = minibatch_indices(n, replacement=True, seed=11, epoch=epoch)
        assert drawn.shape == (n,) and drawn.min() >= 0 and drawn.max() < n
        counts += np.bincount(drawn, minlength=n)
        distinct_fractions.append(len(np.unique(drawn)) / n)
        repeats_inside_a_batch += len(np.unique(drawn[:16])) < 16
    total = n * epochs
    assert counts.sum() == total
    # Each count ~ Binomial(total, 1/n): within 5.5 standard deviations of its mean.
    mean, sd = total / n, math.sqrt(total * (1 / n) * (1 - 1 / n))
    assert np.all(np.abs(counts - mean) < 5.5 * sd), counts
    # Pearson's chi-square of the counts against the uniform distribution, n - 1 dof.
    chi_square = float(np.sum((counts - mean) ** 2 / mean))
    assert chi_square < chi_square_upper_bound(n - 1), chi_square
    # Goodness of fit the other way too: a sampler that balanced counts artificially
    # (e.g. a permutation) would give a chi-square far below its n - 1 expectation.
    assert chi_square > 0.25 * (n - 1)
    # Per epoch, the expected fraction of distinct examples is 1 - (1 - 1/n)^n (~0.636);
    # the mean over 200 epochs has a standard error below 0.005.
    expected = 1 - (1 - 1 / n) ** n
    assert abs(np.mean(distinct_fractions) - expected) < 0.03
    # A batch of 16 out of 50 repeats an example with probability 1 - prod(1 - k/50) ~ 0.93.
    assert repeats_inside_a_batch > 0.8 * epochs


def test_deterministic_per_seed_and_epoch():
    for replacement in (False, True):
        a = minibatch_indices(100, replacement=replacement, seed=5, epoch=2)
        b = minibatch_indices(100, replacement=replacement, seed=5, epoch=2)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, minibatch_indices(100, replacement=replacement, seed=5,
                                                       epoch=3))
        assert not np.array_equal(a, minibatch_indices(100, replacement=replacement, seed=6,
                                                       epoch=2))
        # (seed, epoch) = (5, 3) and (6, 2) are different draws, not a shifted seed.
        assert not np.array_equal(
            minibatch_indices(100, replacement=replacement, seed=5, epoch=3),
            minibatch_indices(100, replacement=replacement, seed=6, epoch=2))
    ids = np.arange(20)
    first = drawn_indices(make_minibatch_dataset((ids, ids), 6, replacement=True, seed=1,
                                                 epoch=4))
    again = drawn_indices(make_minibatch_dataset((ids, ids), 6, replacement=True, seed=1,
                                                 epoch=4))
    np.testing.assert_array_equal(first, again)


def test_no_seed_keeps_input_order_and_structures_pass_through():
    columns = {"area": np.array([1.0, 2.0, 3.0], "float32"), "street": np.array(["a", "b", "c"])}
    targets = np.array([[10.0], [20.0], [30.0]], "float32")
    batches = list(make_minibatch_dataset((columns, targets), batch_size=2, seed=None))
    assert len(batches) == 2
    features, y = batches[0]
    assert sorted(features) == ["area", "street"]
    np.testing.assert_array_equal(features["area"], [1.0, 2.0])
    assert [s.decode() for s in features["street"].numpy()] == ["a", "b"]
    np.testing.assert_array_equal(y, [[10.0], [20.0]])
    assert len(list(make_minibatch_dataset(targets, 2, seed=0, drop_remainder=True))) == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: minibatch_indices(0), "num_examples"),
        (lambda: minibatch_indices(5, replacement="yes"), "replacement"),
        (lambda: minibatch_indices(5, replacement=True, seed=None), "needs a seed"),
        (lambda: minibatch_indices(5, seed=-1), "seed"),
        (lambda: minibatch_indices(5, epoch=1.5), "epoch"),
        (lambda: make_minibatch_dataset(np.zeros(4), batch_size=0), "batch_size"),
        (lambda: make_minibatch_dataset((np.zeros(4), np.zeros(5)), 2), "same first dimension"),
        (lambda: make_minibatch_dataset(np.zeros((0, 2)), 2), "num_examples"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
