"""The notes' two samplers, checked window by window on the numbered corpus 1..32."""

import numpy as np
import pytest

from kerasnotes.data.text.sequence_sampling import (
    holdout_split,
    random_sampling_dataset,
    random_windows,
    sequential_sampling_dataset,
)

CORPUS = np.arange(1, 33)  # the notes' example: tokens 1..32


def batches(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def test_random_sampling_windows_of_the_notes():
    x, y = random_windows(CORPUS, num_steps=4)  # corpus order without a seed
    expected = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16],
                [17, 18, 19, 20], [21, 22, 23, 24], [25, 26, 27, 28]]
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y, np.array(expected) + 1)


def test_random_sampling_order_batches_and_epochs():
    served = batches(random_sampling_dataset(CORPUS, batch_size=2, num_steps=4, seed=3))
    assert len(served) == 3  # 7 windows, batches of 2, the last incomplete batch dropped
    windows = [tuple(w) for x, _ in served for w in x]
    assert len(set(windows)) == 6 and all(w[0] % 4 == 1 for w in windows)
    for x, y in served:
        assert x.shape == (2, 4) and x.dtype == np.int32
        np.testing.assert_array_equal(y, x + 1)
    again = batches(random_sampling_dataset(CORPUS, 2, 4, seed=3))
    other_epoch = batches(random_sampling_dataset(CORPUS, 2, 4, seed=3, epoch=1))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(served, again))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(served, other_epoch))
    in_order = batches(random_sampling_dataset(CORPUS, 2, 4))
    np.testing.assert_array_equal(in_order[0][0], [[1, 2, 3, 4], [5, 6, 7, 8]])


def test_sequential_sampling_windows_of_the_notes():
    served = batches(sequential_sampling_dataset(CORPUS, batch_size=2, num_steps=4))
    # Rows [1..16] and [17..32]; (16 - 1) // 4 = 3 windows, each row continuing the last.
    expected_x = [[[1, 2, 3, 4], [17, 18, 19, 20]],
                  [[5, 6, 7, 8], [21, 22, 23, 24]],
                  [[9, 10, 11, 12], [25, 26, 27, 28]]]
    assert len(served) == 3
    for (x, y), ex in zip(served, expected_x):
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, np.array(ex) + 1)
    # Row r of batch i+1 starts right after row r of batch i.
    for (x0, _), (x1, _) in zip(served, served[1:]):
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)


def test_sequential_sampling_of_text_tokens_drops_only_the_tail():
    corpus = np.arange(103) % 7
    served = batches(sequential_sampling_dataset(corpus, batch_size=3, num_steps=5))
    rows = corpus[:102].reshape(3, 34)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in served], axis=1), rows[:, :30])
    np.testing.assert_array_equal(np.concatenate([y for _, y in served], axis=1), rows[:, 1:31])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: sequential_sampling_dataset(CORPUS, 2, 0), "num_steps"),
        (lambda: random_sampling_dataset(CORPUS, 0, 4), "batch_size"),
        (lambda: random_sampling_dataset(CORPUS, 8, 4), "fewer than one batch"),
        (lambda: sequential_sampling_dataset(CORPUS, 8, 4), "too short"),
        (lambda: sequential_sampling_dataset(CORPUS.reshape(4, 8), 2, 2), "1-D"),
        (lambda: random_sampling_dataset(CORPUS * 0.5, 2, 2), "integers"),
        (lambda: random_sampling_dataset([], 1, 1), "fewer than one batch"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_holdout_split_keeps_the_tail_and_needs_one_window():
    train, validation = holdout_split(CORPUS, 0.25, num_steps=4)
    np.testing.assert_array_equal(train, np.arange(1, 25))
    np.testing.assert_array_equal(validation, np.arange(25, 33))  # (8 - 1) // 4 = 1 window
    assert train.dtype == np.int32
    with pytest.raises(ValueError, match=r"^lyrics: the held-out 8 tokens are too few for one "
                                         r"window of `num_steps` 8"):
        holdout_split(CORPUS, 0.25, num_steps=8, name="lyrics")
