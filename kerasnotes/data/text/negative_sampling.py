"""Noise words for negative sampling, from the unigram distribution to the power 0.75."""

import numpy as np
import tensorflow as tf


def noise_distribution(counts, power=0.75):
    """word2vec's noise distribution `P(w) = count(w)**0.75 / sum_v count(v)**0.75`.

    Args:
        counts: `(vocabulary_size,)` occurrences of each word; a word with count 0 (e.g.
            `<unk>` when unknown words are dropped) is never drawn.
        power: the exponent (0.75 in word2vec and d2l).

    Returns:
        float64 `(vocabulary_size,)` probabilities summing to 1.

    Example:

    >>> noise_distribution([16, 1, 0]).round(4).tolist()   # 8 : 1 : 0
    [0.8889, 0.1111, 0.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError("noise_distribution: counts must be a non-empty 1-D array of "
                         "non-negative counts with a positive sum")
    weights = counts ** float(power)
    return weights / weights.sum()


def alias_table(probabilities):
    """Walker's alias table of a discrete distribution (Vose's construction, NumPy).

    Drawing `i` uniformly from `{0..V-1}` and `u` uniformly from `[0, 1)`, then returning
    `i` if `u < accept[i]` else `alias[i]`, samples the distribution exactly in O(1) per
    draw (two gathers), the fast path of `sample_negatives`.

    Returns:
        `(accept, alias)`: float64 `(V,)` and int32 `(V,)`.

    Example:

    >>> accept, alias = alias_table([0.5, 0.25, 0.25])
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    size = probabilities.size
    scaled = probabilities * size / probabilities.sum()
    accept = np.ones(size)
    alias = np.arange(size, dtype=np.int32)
    small = [i for i in range(size) if scaled[i] < 1.0]
    large = [i for i in range(size) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # Entries left over by rounding keep accept = 1; a zero-probability word never may.
    never = (probabilities == 0) & (accept == 1.0)
    accept[never], alias[never] = 0.0, int(np.argmax(probabilities))
    return accept, alias


def _draw(accept, alias, shape, seed):
    size = tf.shape(accept)[0]
    scaled = tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32) * tf.cast(
        size, tf.float32)
    column = tf.minimum(tf.cast(scaled, tf.int32), size - 1)
    fraction = scaled - tf.cast(column, tf.float32)
    return tf.where(fraction < tf.gather(accept, column), column, tf.gather(alias, column))


def sample_negatives(positives, positive_mask, num_negatives, noise_probabilities, seed,
                     max_rounds=64):
    """Draws `K` noise words per positive word, never equal to a positive word of the row (TF op).

    The notes: draw `K` noise words `w_k ~ P(w)` for each context word, and a noise word
    must not be a context word. Each row's noise words that hit one of its valid positive
    words are drawn again (alias-method sampling, vectorized), until none is left or after
    `max_rounds` rounds; a noise word still equal to a positive word then (only possible
    when the positive words hold nearly all the noise mass) is marked invalid in the
    returned mask. Noise words of padded positive positions are marked invalid too.

    Args:
        positives: int `(b, p)` positive word ids (skip-gram: the context words;
            CBOW: the center word).
        positive_mask: bool `(b, p)`, which positives are real (not padding).
        num_negatives: `K` >= 1.
        noise_probabilities: `(vocabulary_size,)` from `noise_distribution`.
        seed: shape `(2,)` seed of the stateless draws.
        max_rounds: maximum number of redraws.

    Returns:
        `(negatives, mask)`: int32 `(b, p * K)`; the `K` noise words of positive `j` are in
        columns `j*K ... j*K + K - 1`; bool `(b, p * K)` which of them count.

    Example:

    >>> probabilities = noise_distribution(vocabulary.counts)
    >>> negatives, mask = sample_negatives(contexts, context_mask, 5, probabilities, (0, 1))
    """
    if isinstance(num_negatives, bool) or int(num_negatives) != num_negatives or num_negatives < 1:
        raise ValueError(f"num_negatives (K) must be an integer >= 1; received {num_negatives!r}")
    num_negatives = int(num_negatives)
    positives = tf.cast(tf.convert_to_tensor(positives), tf.int32)
    positive_mask = tf.cast(tf.convert_to_tensor(positive_mask), tf.bool)
    accept, alias = alias_table(noise_probabilities)
    accept, alias = tf.constant(accept, tf.float32), tf.constant(alias)
    seed = tf.convert_to_tensor(seed)
    shape = tf.stack([tf.shape(positives)[0], tf.shape(positives)[1] * num_negatives])

    def collides(negatives):
        equal = negatives[:, :, None] == positives[:, None, :]
        return tf.reduce_any(equal & positive_mask[:, None, :], axis=-1)

    def redraw(round_, negatives, bad):
        # Only the colliding noise words are drawn again, against their own row.
        where = tf.where(bad)
        fresh = _draw(accept, alias, tf.shape(where)[:1],
                      tf.random.experimental.stateless_fold_in(seed, round_))
        rows = where[:, 0]
        equal = fresh[:, None] == tf.gather(positives, rows)
        still = tf.reduce_any(equal & tf.gather(positive_mask, rows), axis=-1)
        negatives = tf.tensor_scatter_nd_update(negatives, where, fresh)
        return round_ + 1, negatives, tf.tensor_scatter_nd_update(bad, where, still)

    negatives = _draw(accept, alias, shape, seed)
    _, negatives, bad = tf.while_loop(
        lambda round_, negatives, bad: (round_ <= max_rounds) & tf.reduce_any(bad),
        redraw,
        (tf.constant(1, tf.int64), negatives, collides(negatives)),
    )
    owner_valid = tf.repeat(positive_mask, num_negatives, axis=1)
    return negatives, owner_valid & ~bad
