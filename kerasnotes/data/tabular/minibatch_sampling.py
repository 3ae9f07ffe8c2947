"""Minibatch sampling with and without replacement (the notes' 重复采样 / 不重复采样).

Minibatch SGD (notes, section 6) draws a random set `B` of examples at every iteration.
The notes name two ways to draw it:

- without replacement (不重复采样): an epoch is a random permutation of the `N`
  examples cut into batches, so every example is used exactly once per epoch;
- with replacement (重复采样): every draw picks one of the `N` examples uniformly and
  independently, so the same example may appear several times in one batch (and some
  examples not at all in an epoch). An epoch is `N` draws; the number of times each
  example is drawn follows a multinomial distribution `Multinomial(N, (1/N, ..., 1/N))`,
  and about `1 - (1 - 1/N)^N ~ 63%` of the examples are seen in one epoch.

The draw of epoch `k` depends only on `(seed, k)`, through
`numpy.random.default_rng([seed, k])`, so a resumed run rebuilds exactly the batches an
uninterrupted run sees (`Trainer.fit` accepts a function `epoch -> Dataset`).
"""

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_bool, check_int

SAMPLING_MODES = ("without_replacement", "with_replacement")


def minibatch_indices(num_examples, replacement=False, seed=0, epoch=0):
    """The example indices of one epoch, in the order they are drawn.

    Args:
        num_examples: `N >= 1`, the size of the training set.
        replacement: `False`: a permutation of `0..N-1` (each index exactly once).
            `True`: `N` independent uniform draws from `0..N-1` (repeats allowed).
        seed: non-negative integer, or `None` for the input order (only without
            replacement; sampling with replacement needs a seed).
        epoch: non-negative epoch index; the draw depends only on `(seed, epoch)`.

    Returns:
        an int64 array `(N,)`.

    Example:

    >>> sorted(minibatch_indices(5, replacement=False, seed=0, epoch=3))
    [0, 1, 2, 3, 4]
    >>> minibatch_indices(5, replacement=True, seed=0, epoch=3).shape
    (5,)
    """
    num_examples = check_int("minibatch_indices", "num_examples", num_examples)
    replacement = check_bool("minibatch_indices", "replacement", replacement)
    seed = check_int("minibatch_indices", "seed", seed, minimum=0, allow_none=True)
    epoch = check_int("minibatch_indices", "epoch", epoch, minimum=0)
    if seed is None:
        if replacement:
            raise ValueError(
                "minibatch_indices: sampling with replacement needs a seed; received seed=None"
            )
        return np.arange(num_examples, dtype=np.int64)
    rng = np.random.default_rng([seed, epoch])
    if replacement:
        return rng.integers(0, num_examples, size=num_examples, dtype=np.int64)
    return rng.permutation(num_examples).astype(np.int64)


def make_minibatch_dataset(data, batch_size, replacement=False, seed=0, epoch=0,
                           drop_remainder=False):
    """One epoch of minibatches drawn with or without replacement, as a `tf.data.Dataset`.

    The examples of epoch `epoch` are `data[minibatch_indices(N, replacement, seed, epoch)]`,
    cut into batches of `batch_size` in that order (the last batch is smaller when
    `batch_size` does not divide `N`, unless `drop_remainder`).

    Args:
        data: an array, or a nested structure (tuple, dict) of arrays that share their
            first dimension `N`, e.g. `(features, targets)` or `({"LotArea": ...,
            "Street": ...}, targets)`; string arrays are fine.
        batch_size: examples per batch (>= 1).
        replacement: draw with replacement (`True`) or without (`False`).
        seed: non-negative integer; `None` keeps the input order (without replacement).
        epoch: non-negative epoch index.
        drop_remainder: drop the last partial batch.

    Returns:
        a `tf.data.Dataset` of batches with the structure of `data`.

    Example:

    >>> x, y = np.arange(10.0)[:, None], np.arange(10.0)
    >>> dataset = make_minibatch_dataset((x, y), batch_size=4, replacement=True, seed=1)
    >>> [tuple(xb.shape) for xb, _ in dataset]
    [(4, 1), (4, 1), (2, 1)]
    """
    batch_size = check_int("make_minibatch_dataset", "batch_size", batch_size)
    arrays = tf.nest.map_structure(np.asarray, data)
    flat = tf.nest.flatten(arrays)
    if not flat:
        raise ValueError("make_minibatch_dataset: data holds no array")
    sizes = {a.shape[0] if a.ndim else None for a in flat}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            "make_minibatch_dataset: every array in data must have the same first dimension "
            f"(the examples); received shapes {[a.shape for a in flat]}"
        )
    order = minibatch_indices(sizes.pop(), replacement=replacement, seed=seed, epoch=epoch)
    drawn = tf.nest.map_structure(lambda a: a[order], arrays)
    dataset = tf.data.Dataset.from_tensor_slices(drawn)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
