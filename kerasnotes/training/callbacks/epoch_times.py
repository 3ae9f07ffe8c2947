"""Wall time per epoch, for comparing how fast training runs (the notes' optimizer chapter)."""

import statistics
import time

import keras


class EpochTimes(keras.callbacks.Callback):
    """Records the wall time of every epoch a fit trains: from the end of one epoch to the
    end of the next (so an epoch's time includes the previous epoch's checkpoint), the first
    from the start of training.

    `median_seconds()` is the median epoch, without the first (which also traces the step
    function) when there are several; None when no epoch was trained (e.g. a resumed run
    with none left). `clock` gives the time in seconds.

    Example:

    >>> timer = EpochTimes()
    >>> Trainer(model, loss, optimizer, callbacks=[timer]).fit(data, epochs=3)
    >>> timer.median_seconds()   # the median of epochs 2 and 3
    """

    def __init__(self, clock=time.perf_counter):
        super().__init__()
        self.clock = clock
        self.seconds = []
        self._last = None

    def on_train_begin(self, logs=None):
        self._last = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        self.seconds.append(now - self._last)
        self._last = now

    def median_seconds(self):
        """The median seconds of an epoch, the first left out when there are several."""
        return statistics.median(self.seconds[1:] or self.seconds) if self.seconds else None
