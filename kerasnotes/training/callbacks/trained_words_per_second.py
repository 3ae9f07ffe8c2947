"""The Keras word2vec models' training speed, in words after subsampling per second."""

import time

import keras

from kerasnotes.data.text.word2vec_dataset import subsampled_centers


class TrainedWordsPerSecond(keras.callbacks.Callback):
    """The Keras models' (`SkipGram`, `CBOW`) training speed in words after subsampling
    (centers) per second.

    After `fit`, `metrics` holds `train_loss` (the last epoch's) and `words_per_second`:
    the centers of the epochs trained (`subsampled_centers` of each, as the pipeline draws
    them) over the time `fit` took. Both are missing when no epoch was left to train.

    Example:

    >>> speed = TrainedWordsPerSecond(corpus, subsample_t=1e-4, seed=0)
    >>> trainer = Trainer(model, loss, optimizer, callbacks=[speed])
    >>> trainer.fit(train_data, epochs=5); speed.metrics["words_per_second"]
    """

    def __init__(self, corpus, subsample_t=1e-4, seed=0):
        super().__init__()
        self.corpus, self.subsample_t, self.seed = corpus, subsample_t, seed
        self.metrics, self.epochs, self.start = {}, [], None

    def on_train_begin(self, logs=None):
        self.metrics, self.epochs, self.start = {}, [], time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.metrics["train_loss"] = float(logs["loss"])

    def on_train_end(self, logs=None):
        seconds, corpus = time.perf_counter() - self.start, self.corpus
        words = sum(int(subsampled_centers(corpus.token_ids, corpus.sentence_ids, corpus.counts,
                                           self.subsample_t, self.seed, epoch,
                                           shuffle=False)[2].shape[0]) for epoch in self.epochs)
        if words:
            self.metrics["words_per_second"] = words / max(seconds, 1e-9)
