"""A language model's data: a corpus's vocabulary and its training and held-out token ids."""

import dataclasses

import numpy as np

from kerasnotes.data.text.sequence_sampling import (
    holdout_split,
    random_sampling_dataset,
    sequential_sampling_dataset,
)
from kerasnotes.data.text.text_corpus import DEFAULT_MAX_CHARS, TextCorpus, load_text_corpus
from kerasnotes.data.text.text_vocabulary import TextVocabulary

SAMPLINGS = ("sequential", "random")


@dataclasses.dataclass
class LanguageModelData:
    """A corpus as token ids: the last part held out to measure perplexity.

    Attributes:
        corpus: the `TextCorpus` (its `name` and `fingerprint` describe the data).
        vocabulary: the `TextVocabulary` of the corpus.
        train_ids, validation_ids: int32 token ids, `(N,)` and `(M,)`.

    Example:

    >>> data = load_language_model_data(max_chars=5000, num_steps=8)
    >>> data.train_dataset(4, 8, "random", seed=0, epoch=1)   # (x, y) windows (4, 8)
    >>> data.validation_dataset(32, 8)
    >>> data.describe()   # the data's name, fingerprint and sizes, in one line
    """

    corpus: TextCorpus
    vocabulary: TextVocabulary
    train_ids: np.ndarray
    validation_ids: np.ndarray

    def train_dataset(self, batch_size, num_steps, sampling="sequential", seed=None, epoch=0):
        """One epoch of `(x, y)` windows of the training ids: the notes' sequential
        sampling (rows carry on from batch to batch; the same every epoch) or random
        sampling (windows in an order drawn from `seed` and `epoch`). A `ValueError` says
        so when the ids do not fill one batch."""
        if sampling not in SAMPLINGS:
            raise ValueError(f"LanguageModelData: sampling must be one of {SAMPLINGS}; "
                             f"received {sampling!r}")
        if sampling == "sequential":
            return sequential_sampling_dataset(self.train_ids, batch_size, num_steps)
        return random_sampling_dataset(self.train_ids, batch_size, num_steps, seed=seed,
                                       epoch=epoch)

    def describe(self):
        """E.g. `Python 3.11 standard-library docstrings (sha256 0f3a...): 180000 training
        and 20000 validation char tokens, vocabulary of 97`."""
        return (f"{self.corpus.name} (sha256 {self.corpus.fingerprint}): {len(self.train_ids)} "
                f"training and {len(self.validation_ids)} validation "
                f"{self.vocabulary.token_level} tokens, vocabulary of {len(self.vocabulary)}")

    def validation_dataset(self, batch_size, num_steps):
        """The held-out windows in corpus order, in batches of at most `batch_size`."""
        windows = (len(self.validation_ids) - 1) // num_steps
        return random_sampling_dataset(self.validation_ids, min(batch_size, windows), num_steps)


def load_language_model_data(path=None, max_chars=DEFAULT_MAX_CHARS, token_level="char",
                             min_freq=1, validation_fraction=0.1, num_steps=35):
    """The UTF-8 text file `path` (default: the embedded Python docstrings, `max_chars`
    long) as `LanguageModelData`: tokens (`"char"` or `"word"`) seen fewer than `min_freq`
    times become `<unk>`; the last `validation_fraction` is held out and must hold a window
    of `num_steps` tokens (else a `ValueError` naming the corpus)."""
    corpus = load_text_corpus(path, max_chars=max_chars)
    vocabulary = TextVocabulary.from_text(corpus.text, token_level, min_freq)
    train_ids, validation_ids = holdout_split(vocabulary.encode(corpus.text),
                                              validation_fraction, num_steps, corpus.name)
    return LanguageModelData(corpus, vocabulary, train_ids, validation_ids)
