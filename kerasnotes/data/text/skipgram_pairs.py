"""Center words and their context words within a window of the same sentence."""

import tensorflow as tf

from kerasnotes._checks import check_int


def context_windows(token_ids, sentence_ids, centers, window, seed, fixed_window=False):
    """The context words of each center, within at most `window` words on each side (TF op).

    The notes' context window `[c - n, c + n]`: positions in the same sentence only (never
    across a sentence boundary), the center itself excluded. As word2vec does, each center
    draws its own window size uniformly from `{1, ..., n}` (nearer words are then used more
    often); `fixed_window=True` uses `n` for every center. Each row is padded to `2n`: the
    valid context words come first, in sentence order, then zeros, with a mask.

    Args:
        token_ids: int32 `(num_tokens,)` ids of the (subsampled) corpus.
        sentence_ids: int32 `(num_tokens,)` sentence of each token (contiguous runs).
        centers: int `(b,)` positions of the center words in `token_ids`.
        window: `n` >= 1, the maximum number of context words on each side.
        seed: shape `(2,)` seed of the stateless draw of the window sizes.
        fixed_window: use the window size `n` for every center.

    Returns:
        `(contexts, mask)`: int32 `(b, 2n)` context ids (0 where padded) and bool `(b, 2n)`.

    Example:

    >>> contexts, mask = context_windows([5, 6, 7, 8], [0, 0, 0, 1], [1], window=2,
    ...                                  seed=(0, 0), fixed_window=True)
    >>> contexts.numpy().tolist(), mask.numpy().tolist()   # 8 is in another sentence
    ([[5, 7, 0, 0]], [[True, True, False, False]])
    """
    window = check_int("context_windows", "window", window)
    token_ids = tf.convert_to_tensor(token_ids, tf.int32)
    sentence_ids = tf.convert_to_tensor(sentence_ids, tf.int32)
    centers = tf.cast(tf.convert_to_tensor(centers), tf.int32)
    num_tokens = tf.shape(token_ids)[0]
    offsets = tf.concat([tf.range(-window, 0), tf.range(1, window + 1)], axis=0)  # (2n,)
    positions = centers[:, None] + offsets[None, :]
    inside = (positions >= 0) & (positions < num_tokens)
    clipped = tf.clip_by_value(positions, 0, num_tokens - 1)
    same_sentence = tf.gather(sentence_ids, clipped) == tf.gather(sentence_ids, centers)[:, None]
    if fixed_window:
        sizes = tf.fill(tf.shape(centers), window)
    else:
        sizes = tf.random.stateless_uniform(tf.shape(centers), seed=seed, minval=1,
                                            maxval=window + 1, dtype=tf.int32)
    in_window = tf.abs(offsets)[None, :] <= sizes[:, None]
    valid = inside & same_sentence & in_window
    # Move the valid positions to the front of each row, keeping their order.
    order = tf.argsort(tf.cast(~valid, tf.int32), axis=1, stable=True)
    valid = tf.gather(valid, order, batch_dims=1)
    contexts = tf.gather(tf.gather(token_ids, clipped), order, batch_dims=1)
    return tf.where(valid, contexts, tf.zeros_like(contexts)), valid


def centers_with_context(sentence_ids):
    """Positions of the tokens that have at least one neighbour in their sentence (TF op).

    A one-word sentence has no context word; such tokens cannot be centers.

    Example:

    >>> centers_with_context([0, 0, 1, 2, 2]).numpy().tolist()
    [0, 1, 3, 4]
    """
    sentence_ids = tf.convert_to_tensor(sentence_ids, tf.int32)
    same_as_next = sentence_ids[1:] == sentence_ids[:-1]
    no = tf.zeros([1], tf.bool)
    has_neighbour = tf.concat([same_as_next, no], 0) | tf.concat([no, same_as_next], 0)
    return tf.cast(tf.where(has_neighbour)[:, 0], tf.int32)
