"""The word2vec tf.data pipeline: subsampling, context windows, noise words, padded batches."""

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_choice, check_int
from kerasnotes.data.text.negative_sampling import noise_distribution, sample_negatives
from kerasnotes.data.text.skipgram_pairs import centers_with_context, context_windows
from kerasnotes.data.text.subsampling import discard_probabilities, subsample

MODELS = ("skipgram", "cbow")


def _skipgram_batch(contexts, context_mask, negatives, negative_mask, window, num_negatives):
    """Packs `[contexts..., noise words..., padding]` per row with the notes' mask and labels."""
    width = 2 * window * (1 + num_negatives)
    counts = tf.reduce_sum(tf.cast(context_mask, tf.int32), axis=1, keepdims=True)  # (b, 1)
    columns = tf.range(width)[None, :]
    # Column j < c holds context j; column j >= c holds noise word j - c (the noise words of
    # the c valid contexts are the first c*K columns of `negatives`).
    source = tf.where(columns < counts, columns, 2 * window + columns - counts)
    source = tf.minimum(source, width - 1)
    both = tf.concat([contexts, negatives], axis=1)
    both_mask = tf.concat([context_mask, negative_mask], axis=1)
    valid = columns < counts * (1 + num_negatives)
    values = tf.gather(both, source, batch_dims=1)
    masks = valid & tf.gather(both_mask, source, batch_dims=1)
    values = tf.where(masks, values, tf.zeros_like(values))
    labels = tf.cast(columns < counts, tf.float32) * tf.cast(masks, tf.float32)
    return values, tf.cast(masks, tf.float32), labels


def subsampled_centers(token_ids, sentence_ids, counts, subsample_t=1e-4, seed=0, epoch=0,
                       shuffle=True):
    """Steps 1-2 of `make_word2vec_dataset`: the subsampled corpus of an epoch and its centers.

    Returns:
        `(tokens, sentences, centers)`: int32 tensors, the kept token ids, their sentence
        ids, and the positions (in the kept tokens) of the centers in the epoch's order.
        `len(centers)` is the number of words the epoch trains on.

    Example:

    >>> tokens, sentences, centers = subsampled_centers(ids, sentence_ids, counts, 1e-4)
    """
    epoch_seed = tf.constant([int(seed), int(epoch)], tf.int64)
    tokens = tf.constant(np.asarray(token_ids, np.int32))
    sentences = tf.constant(np.asarray(sentence_ids, np.int32))
    if subsample_t is not None:
        keep = subsample(tokens, discard_probabilities(counts, subsample_t),
                         tf.random.experimental.stateless_fold_in(epoch_seed, 0))
        tokens, sentences = tokens[keep], sentences[keep]
    centers = centers_with_context(sentences)
    if int(tf.size(centers)) == 0:
        raise ValueError("no center word has a context word (every sentence has one word "
                         "after subsampling); use a larger corpus or a larger subsample t")
    if shuffle:
        centers = tf.random.experimental.stateless_shuffle(
            centers, tf.random.experimental.stateless_fold_in(epoch_seed, 1))
    return tokens, sentences, centers


def make_word2vec_dataset(token_ids, sentence_ids, counts, batch_size, window=5,
                          num_negatives=5, subsample_t=1e-4, fixed_window=False,
                          model="skipgram", seed=0, epoch=0, shuffle=True, for_training=False):
    """One epoch of word2vec batches as a `tf.data.Dataset`, all steps vectorized in TF.

    Per epoch (seeded by `(seed, epoch)`, so a resumed run replays the same batches):

    1. subsampling: each token `w` dropped with probability `max(1 - sqrt(t / f(w)), 0)`;
    2. the remaining tokens with at least one neighbour in their sentence become centers,
       in shuffled order, `batch_size` per batch;
    3. per batch: each center's context words within a random window `1..n` (or `n`) of the
       same sentence, and `K` noise words per context word from `count**0.75`, never equal
       to a context word of that center;
    4. padding to a fixed width with a mask and labels, as the notes lay the batch out.

    Skip-gram batches (`model="skipgram"`) are the notes' `(centers, contexts_negatives,
    masks, labels)`:

    - `centers` int32 `(b, 1)`;
    - `contexts_negatives` int32 `(b, 2n(1+K))`: the `c` context words, then their `cK`
      noise words, then zeros;
    - `masks` float32 `(b, 2n(1+K))`: 1 on the first `c(1+K)` columns;
    - `labels` float32 `(b, 2n(1+K))`: 1 on the first `c` columns (the context words).

    CBOW batches (`model="cbow"`) are `(contexts, context_masks, centers_negatives, masks,
    labels)`: the context words `(b, 2n)` and their mask predict the center, followed by
    `K` noise words never equal to the center, `(b, 1+K)`, with masks and labels (1 on the
    center).

    With `num_negatives=None` no noise words are drawn (for hierarchical softmax): the
    skip-gram batch then holds the `2n` context slots, the CBOW one the center `(b, 1)`.

    With `for_training=True` the batches are `(x, y)` for `Trainer`/`Model.fit`: `x` the
    model inputs (`(centers, contexts_negatives)` or `(contexts, context_masks,
    centers_negatives)`), `y = stack([labels, masks], -1)[:, None]` of shape
    `(b, 1, width, 2)`, which `MaskedBinaryCrossEntropy` reads as labels and mask.

    Args:
        token_ids: int `(num_tokens,)` corpus ids (`EncodedCorpus.token_ids`).
        sentence_ids: int `(num_tokens,)` sentence of each token.
        counts: `(vocabulary_size,)` word counts (subsampling frequencies and the noise
            distribution), normally `EncodedCorpus.counts` (0 for the dropped `<unk>`).
        batch_size: centers per batch.
        window: `n` >= 1, the maximum context words on each side.
        num_negatives: `K` >= 1 noise words per positive word, or None.
        subsample_t: `t` of subsampling; None disables subsampling.
        fixed_window: use `n` for every center instead of a random size in `1..n`.
        model: "skipgram" or "cbow".
        seed, epoch: the randomness of this epoch.
        shuffle: shuffle the centers (else corpus order).
        for_training: yield `(x, y)` pairs (see above).

    Example:

    >>> corpus = load_ptb_corpus("../shared/data/ptb/ptb.train.txt")
    >>> dataset = make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, corpus.counts,
    ...                                 batch_size=512)
    >>> centers, contexts_negatives, masks, labels = next(iter(dataset))
    >>> contexts_negatives.shape
    TensorShape([512, 60])
    """
    function = "make_word2vec_dataset"
    window = check_int(function, "window", window)
    num_negatives = check_int(function, "num_negatives", num_negatives, allow_none=True)
    batch_size = check_int(function, "batch_size", batch_size)
    check_choice(function, "model", model, MODELS)
    token_ids = np.asarray(token_ids, np.int32)
    sentence_ids = np.asarray(sentence_ids, np.int32)
    if token_ids.ndim != 1 or token_ids.shape != sentence_ids.shape or token_ids.size == 0:
        raise ValueError("token_ids and sentence_ids must be non-empty 1-D arrays of equal length")
    counts = np.asarray(counts, np.float64)
    if token_ids.max() >= counts.size or token_ids.min() < 0:
        raise ValueError(f"token ids must be in [0, {counts.size}) (one count per word)")
    epoch_seed = tf.constant([int(seed), int(epoch)], tf.int64)

    tokens, sentences, centers = subsampled_centers(token_ids, sentence_ids, counts,
                                                    subsample_t, seed, epoch, shuffle)
    noise = None if num_negatives is None else noise_distribution(counts)
    K = 0 if num_negatives is None else num_negatives

    def make_batch(index, batch_centers):
        batch_seed = tf.random.experimental.stateless_fold_in(epoch_seed, index + 2)
        contexts, context_mask = context_windows(
            tokens, sentences, batch_centers, window,
            tf.random.experimental.stateless_fold_in(batch_seed, 0), fixed_window)
        center_ids = tf.gather(tokens, batch_centers)[:, None]
        if model == "skipgram":
            if K == 0:
                mask = tf.cast(context_mask, tf.float32)
                batch = (center_ids, contexts, mask, mask)
            else:
                negatives, negative_mask = sample_negatives(
                    contexts, context_mask, K, noise,
                    tf.random.experimental.stateless_fold_in(batch_seed, 1))
                batch = (center_ids,) + _skipgram_batch(contexts, context_mask, negatives,
                                                        negative_mask, window, K)
            if for_training:
                return batch[:2], tf.stack([batch[3], batch[2]], axis=-1)[:, None]
            return batch
        context_masks = tf.cast(context_mask, tf.float32)
        if K == 0:
            targets, masks = center_ids, tf.ones_like(center_ids, tf.float32)
        else:
            negatives, negative_mask = sample_negatives(
                center_ids, tf.ones_like(center_ids, tf.bool), K, noise,
                tf.random.experimental.stateless_fold_in(batch_seed, 1))
            targets = tf.concat([center_ids, negatives], axis=1)
            masks = tf.concat([tf.ones_like(center_ids, tf.float32),
                               tf.cast(negative_mask, tf.float32)], axis=1)
        labels = tf.concat([tf.ones_like(center_ids, tf.float32),
                            tf.zeros_like(targets[:, 1:], tf.float32)], axis=1)
        if for_training:
            return (contexts, context_masks, targets), tf.stack([labels, masks], axis=-1)[:, None]
        return contexts, context_masks, targets, masks, labels

    dataset = tf.data.Dataset.from_tensor_slices(centers).batch(batch_size).enumerate()
    dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
