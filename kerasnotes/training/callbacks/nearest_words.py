"""The probe words' nearest words after every epoch: what word vectors learn."""

import keras
import tensorflow as tf

from kerasnotes.ops.embedding_queries import most_similar


def nearest_words_lines(vectors, vocabulary, words, k):
    """`"word: w1 (0.83), w2 (0.80), ..."`: the `k` nearest words by cosine similarity.

    Example:

    >>> nearest_words_lines(model.word_vectors.numpy(), vocabulary, ["chip"], 3)
    ['chip: intel (0.61), microprocessor (0.58), chips (0.55)']
    """
    lines = []
    for word in words:
        found = most_similar(vectors, vocabulary, word, k=k, exclude=(vocabulary.unknown_token,))
        lines.append(f"{word}: " + ", ".join(f"{w} ({s:.2f})" for w, s in found))
    return lines


class NearestWords(keras.callbacks.Callback):
    """After every epoch: the probe words' nearest words, printed (`verbose`) and written as
    the TensorBoard text `nearest_words` (to the default writer: the validation run).

    The model is anything with `word_vectors` (`SkipGram`, `CBOW`, `FusedWord2Vec`).

    Example:

    >>> trainer = Trainer(model, loss, optimizer, callbacks=[NearestWords(vocabulary,
    ...                                                                   ["chip"], 5)])
    """

    def __init__(self, vocabulary, words, k=5, verbose=True):
        super().__init__()
        self.vocabulary, self.words, self.k, self.verbose = vocabulary, words, k, verbose

    def on_epoch_end(self, epoch, logs=None):
        lines = nearest_words_lines(self.model.word_vectors.numpy(), self.vocabulary,
                                    self.words, self.k)
        if self.verbose:
            print(f"Nearest words after epoch {epoch + 1}:")
            print("\n".join(f"  {line}" for line in lines), flush=True)
        tf.summary.text("nearest_words", "\n\n".join(lines), step=epoch)
