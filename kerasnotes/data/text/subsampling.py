"""Subsampling of frequent words, as the notes write it."""

import numpy as np
import tensorflow as tf


def discard_probabilities(counts, t=1e-4):
    """The notes' probability of dropping each word: `P(w) = max(1 - sqrt(t / f(w)), 0)`.

    `f(w) = count(w) / total` is the frequency of `w` in the corpus (`total` = sum of
    `counts`). Words with a count of 0 get probability 0 (they never occur anyway).

    Args:
        counts: `(vocabulary_size,)` occurrences of each word.
        t: the hyperparameter `t` > 0 (default 1e-4).

    Returns:
        float64 `(vocabulary_size,)` probabilities in `[0, 1)`.

    Example:

    >>> discard_probabilities([9000, 1000], t=0.01).round(4).tolist()  # f = 0.9, 0.1
    [0.8946, 0.6838]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if not float(t) > 0:
        raise ValueError(f"discard_probabilities: t must be > 0; received t={t}")
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError("discard_probabilities: counts must be a non-empty 1-D array of "
                         "non-negative counts with a positive sum")
    frequency = counts / counts.sum()
    with np.errstate(divide="ignore"):
        keep = np.sqrt(t / frequency)
    return np.maximum(1.0 - keep, 0.0)


def subsample(token_ids, discard_probability, seed):
    """Randomly drops each token `w` with probability `discard_probability[w]` (TF op).

    Builds the notes' subsampled corpus `S'`: one independent uniform draw per token,
    token kept when `u >= P(w)`. Stateless: the same `seed` gives the same tokens, so an
    epoch seeded with `(seed, epoch)` can be replayed exactly when a run resumes.

    Args:
        token_ids: int `(num_tokens,)` ids.
        discard_probability: `(vocabulary_size,)` from `discard_probabilities`.
        seed: shape `(2,)` int seed of `tf.random.stateless_uniform`.

    Returns:
        bool `(num_tokens,)`: True for the tokens kept.

    Example:

    >>> p = discard_probabilities(counts, t=1e-4)
    >>> keep = subsample(token_ids, p, seed=(0, epoch))
    """
    token_ids = tf.convert_to_tensor(token_ids)
    probability = tf.gather(tf.cast(discard_probability, tf.float32), token_ids)
    uniform = tf.random.stateless_uniform(tf.shape(token_ids), seed=seed, dtype=tf.float32)
    return uniform >= probability
