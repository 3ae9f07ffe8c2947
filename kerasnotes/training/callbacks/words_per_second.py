"""The fused word2vec model's training speed, in words after subsampling per second."""

import time

import keras


class WordsPerSecond(keras.callbacks.Callback):
    """The fused model's (`FusedWord2Vec`) training speed: words kept after subsampling per
    second.

    Adds `words_per_second` to every epoch's logs (so to the epoch line and TensorBoard's
    `epoch_words_per_second`): the words the epoch's steps trained
    (`FusedWord2Vec.words_trained`) over the time from the start of its first step to the
    end of its last one. After `fit`, `metrics` holds `train_loss` (the last epoch's) and
    `words_per_second` over the epochs trained; both are missing when no epoch was left.

    Example:

    >>> speed = WordsPerSecond()
    >>> Trainer(model, None, None, callbacks=[speed]).fit(model.dataset, epochs=5)
    >>> speed.metrics["words_per_second"]
    """

    def __init__(self):
        super().__init__()
        self.metrics, self.words, self.seconds = {}, 0, 0.0
        self._start = self._end = None

    def on_train_begin(self, logs=None):
        self.metrics, self.words, self.seconds = {}, 0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._end = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._start is None:
            self._start = (time.perf_counter(), self.model.words_trained)

    def on_train_batch_end(self, batch, logs=None):
        self._end = (time.perf_counter(), self.model.words_trained)

    def on_epoch_end(self, epoch, logs=None):
        if self._end is not None:
            seconds = max(self._end[0] - self._start[0], 1e-9)
            words = self._end[1] - self._start[1]
            logs["words_per_second"] = words / seconds
            self.words, self.seconds = self.words + words, self.seconds + seconds
        self.metrics["train_loss"] = float(logs["loss"])

    def on_train_end(self, logs=None):
        if self.words:
            self.metrics["words_per_second"] = self.words / self.seconds
