"""A `tf.profiler` trace of chosen training steps, for TensorBoard's Profile tab."""


import keras
import tensorflow as tf


class Profiler(keras.callbacks.Callback):
    """Traces global steps `first..last` into `log_dir` (TensorBoard's Profile tab).

    The trainer ends its executions (`steps_per_execution`) on `first - 1` and `last`, so
    the trace holds exactly those steps. A trace cut short by the end of an epoch stops
    there.

    Args:
        log_dir: where the trace goes, e.g. `run_dir/train`.
        steps: `(first, last)` global steps, `1 <= first <= last`.
        verbose: print where the trace was written.

    Example:

    >>> Profiler("runs/lenet/train", (10, 12))
    """

    def __init__(self, log_dir, steps, verbose=1):
        super().__init__()
        self.log_dir = log_dir
        self.first, self.last = steps
        self.verbose = verbose
        self._running = False

    def on_train_batch_begin(self, batch, logs=None):
        if not self._running and batch == self.first - 1:
            tf.profiler.experimental.start(self.log_dir)
            self._running = True

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.last:
            self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()

    def on_train_end(self, logs=None):
        self._stop()

    def _stop(self):
        if self._running:
            tf.profiler.experimental.stop()
            self._running = False
            if self.verbose:
                print(f"Profile of steps {self.first}-{self.last} written to {self.log_dir} "
                      "(TensorBoard's Profile tab)")
