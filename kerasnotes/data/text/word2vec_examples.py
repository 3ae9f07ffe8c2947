"""word2vec training examples in bulk: unpadded (inputs, targets, labels), vectorized NumPy.

The fused training path (`kerasnotes.models.word2vec_fused`) trains on *examples*: one SGD
step of the notes' loss each, with no padding. An example has input words (skip-gram: the
center `w_c`; CBOW: the context words `w_o` of the center's window) and target rows with
labels:

- negative sampling: the positive word (skip-gram: one context word; CBOW: the center),
  label 1, then `K` noise words from `count**0.75` (never the positive word), label 0;
- hierarchical softmax: the inner nodes `n_1..n_L` of the positive word's Huffman path,
  label `1 - d_j` (`d_j` the code: `-log P = sum_j softplus(-(1 - 2 d_j) u_{n_j}^T h)`).

Examples of a batch are stored flat, as ragged rows: `input_ids` with `input_splits`
(example `e` owns `input_ids[input_splits[e]:input_splits[e + 1]]`), `target_ids` and
`target_labels` with `target_splits`. The C++ kernel makes the same examples itself, inside
its loop; this module makes them for the TF path, whole sentence ranges at a time.
"""

import dataclasses

import numpy as np

from kerasnotes.data.text.negative_sampling import alias_table, noise_distribution
from kerasnotes.data.text.subsampling import discard_probabilities
from kerasnotes.ops.huffman_tree import huffman_tree

MODELS = ("skipgram", "cbow")
LOSSES = ("negative", "hierarchical")


@dataclasses.dataclass
class SamplingTables:
    """Per-word tables of an epoch's randomness and of the hierarchical softmax tree.

    Attributes:
        keep: float32 `(V,)` probability of keeping each word, `1 - max(1 - sqrt(t/f), 0)`
            (the notes' subsampling; 1 without subsampling).
        accept, alias: Walker alias table of the noise distribution `count**0.75`.
        paths, codes, lengths: the Huffman tree (`huffman_tree(counts)`), or None for
            negative sampling.
    """

    keep: np.ndarray
    accept: np.ndarray
    alias: np.ndarray
    paths: np.ndarray = None
    codes: np.ndarray = None
    lengths: np.ndarray = None

    @property
    def output_rows(self):
        """Rows of the output table: `V` context vectors, or the `V - 1` inner nodes."""
        return self.keep.size if self.paths is None else self.keep.size - 1


def sampling_tables(counts, subsample_t=1e-4, loss="negative"):
    """The `SamplingTables` of word counts.

    Example:

    >>> tables = sampling_tables([0, 900, 100], subsample_t=0.01)
    >>> tables.keep.round(4).tolist()   # sqrt(0.01 / 0.9), sqrt(0.01 / 0.1)
    [1.0, 0.1054, 0.3162]
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; received {loss!r}")
    counts = np.asarray(counts, np.float64)
    if subsample_t is None:
        keep = np.ones(counts.size, np.float32)
    else:
        keep = (1.0 - discard_probabilities(counts, subsample_t)).astype(np.float32)
    accept, alias = alias_table(noise_distribution(counts))
    tables = SamplingTables(keep, accept.astype(np.float32), alias.astype(np.int32))
    if loss == "hierarchical":
        tables.paths, tables.codes, tables.lengths = huffman_tree(counts)
    return tables


def sentence_splits(sentence_ids):
    """int64 `(S + 1,)` offsets of the sentences (contiguous runs of equal ids).

    Example:

    >>> sentence_splits([4, 4, 7, 9, 9, 9]).tolist()
    [0, 2, 3, 6]
    """
    sentence_ids = np.asarray(sentence_ids)
    starts = np.flatnonzero(np.r_[True, sentence_ids[1:] != sentence_ids[:-1]])
    return np.r_[starts, sentence_ids.size].astype(np.int64)


@dataclasses.dataclass
class Examples:
    """A batch of flat examples (see the module docstring)."""

    input_ids: np.ndarray
    input_splits: np.ndarray
    target_ids: np.ndarray
    target_labels: np.ndarray
    target_splits: np.ndarray
    kept_words: int = 0
    raw_words: int = 0

    @property
    def size(self):
        return self.input_splits.size - 1


def _splits(lengths):
    return np.r_[0, np.cumsum(lengths)].astype(np.int64)


def _draw_noise(tables, shape, rng):
    size = tables.keep.size
    column = rng.integers(0, size, shape)
    take = rng.random(shape, dtype=np.float32) < tables.accept[column]
    return np.where(take, column, tables.alias[column]).astype(np.int32)


def _noise_targets(positives, tables, num_negatives, rng, max_rounds=16):
    """`(E, 1 + K)` positive then `K` noise words per example and a validity mask."""
    noise = _draw_noise(tables, (positives.size, num_negatives), rng)
    for _ in range(max_rounds):  # redraw noise words equal to their positive word
        bad = noise == positives[:, None]
        if not bad.any():
            break
        noise[bad] = _draw_noise(tables, int(bad.sum()), rng)
    targets = np.concatenate([positives[:, None], noise], axis=1)
    valid = np.concatenate([np.ones((positives.size, 1), bool),
                            noise != positives[:, None]], axis=1)
    labels = np.zeros(targets.shape, np.float32)
    labels[:, 0] = 1.0
    return targets, labels, valid


def sentence_examples(tokens, splits, first, last, tables, window=5, model="skipgram",
                      loss="negative", num_negatives=5, rng=None):
    """Every example of sentences `first..last-1`, vectorized over the whole range.

    Steps, as the notes and word2vec do them: subsampling (each token kept with
    probability `tables.keep[w]`), a window size `b` uniform in `1..window` per center,
    the context words within `b` positions in the same sentence, then targets (see the
    module docstring). Skip-gram examples come center by center, contexts left to right;
    CBOW makes one example per center that has a context word.

    Args:
        tokens: int32 `(N,)` token ids of the corpus.
        splits: int64 `(S + 1,)` sentence offsets (`sentence_splits`).
        first, last: the sentence range.
        tables: `SamplingTables`.
        window: `n` >= 1, the maximum window size.
        model: "skipgram" or "cbow".
        loss: "negative" or "hierarchical".
        num_negatives: `K` noise words per example (negative sampling).
        rng: a `numpy.random.Generator`.

    Returns:
        `Examples` (with the kept and raw word counts of the range).

    Example:

    >>> tables = sampling_tables(counts, subsample_t=1e-4)
    >>> batch = sentence_examples(ids, sentence_splits(sentence_ids), 0, 100, tables,
    ...                           rng=np.random.default_rng(0))
    >>> batch.target_ids[batch.target_splits[0]:batch.target_splits[1]]   # 1 + 5 ids
    """
    if model not in MODELS or loss not in LOSSES:
        raise ValueError(f"model must be in {MODELS}, loss in {LOSSES}; received "
                         f"{model!r}, {loss!r}")
    rng = np.random.default_rng() if rng is None else rng
    begin, end = int(splits[first]), int(splits[last])
    raw = np.asarray(tokens[begin:end], np.int32)
    sentence = np.repeat(np.arange(last - first), np.diff(splits[first:last + 1]))
    kept = rng.random(raw.size, dtype=np.float32) < tables.keep[raw]
    words, sentence = raw[kept], sentence[kept]
    count = words.size
    offsets = np.r_[np.arange(-window, 0), np.arange(1, window + 1)]
    sizes = window - rng.integers(0, window, count)  # uniform in 1..window
    positions = np.arange(count)[:, None] + offsets[None, :]
    clipped = np.clip(positions, 0, max(count - 1, 0))
    valid = ((positions >= 0) & (positions < count) & (np.abs(offsets)[None, :] <= sizes[:, None])
             & (sentence[clipped] == sentence[:, None]))
    if model == "skipgram":
        center, column = np.nonzero(valid)
        input_ids = words[center]
        input_splits = np.arange(center.size + 1, dtype=np.int64)
        positives = words[clipped[center, column]]
    else:
        has_context = valid.any(axis=1)
        input_ids = words[clipped[valid]]
        input_splits = _splits(valid.sum(axis=1)[has_context])
        positives = words[has_context]
    if loss == "negative":
        targets, labels, mask = _noise_targets(positives, tables, int(num_negatives), rng)
    else:
        targets = tables.paths[positives]
        labels = (1.0 - tables.codes[positives]).astype(np.float32)
        mask = np.arange(targets.shape[1])[None, :] < tables.lengths[positives][:, None]
    return Examples(input_ids.astype(np.int32), input_splits, targets[mask].astype(np.int32),
                    labels[mask], _splits(mask.sum(axis=1)), int(count), int(raw.size))
