"""The progress display of `Trainer.fit`: a live bar on a terminal, plain lines in a log."""

import sys

import keras


class ProgressDisplay(keras.callbacks.Callback):
    """Shows the progress of training, like Keras `fit(verbose="auto")`.

    - `verbose=1` on a terminal (`sys.stdout.isatty()`): `Epoch i/N`, then a live
      `keras.utils.Progbar` updated after every execution; at the epoch's end the bar's
      line shows the training and the `val_` metrics, once.
    - `verbose=1` when stdout is not a terminal (a log file, a pipe), or `verbose=2`: one
      plain line per epoch, `Epoch i/N - loss: 0.1234 - val_loss: 0.2345`, with no
      carriage return or ANSI code.
    - `verbose=0`: nothing.

    The trainer sets `params["epochs"]` and, once the epoch's data is known,
    `params["steps"]` (steps in the epoch, `None` if unknown, e.g. a filtered dataset).

    Args:
        verbose: 0, 1 or 2 (see above).
        step_in_epoch: `() -> int`, the number of steps of the current epoch done so far.

    Example:

    >>> progress = ProgressDisplay(1, step_in_epoch=lambda: int(trainer.step_in_epoch.numpy()))
    """

    def __init__(self, verbose, step_in_epoch):
        super().__init__()
        self.verbose = verbose
        self.step_in_epoch = step_in_epoch
        self._bar = None
        self._live = False

    def on_train_begin(self, logs=None):
        self._live = self.verbose == 1 and _is_terminal(sys.stdout)

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = None
        if self._live:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        if self._live:
            self._progbar().update(self.step_in_epoch(), [("loss", logs["loss"])])

    def on_epoch_end(self, epoch, logs=None):
        if self._live:
            self._progbar().update(self.step_in_epoch(), list(logs.items()), finalize=True)
            self._bar = None
        elif self.verbose:
            shown = " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())
            print(f"Epoch {epoch + 1}/{self.params['epochs']} - {shown}", flush=True)

    def end_line(self):
        """Ends a bar's line cut short (e.g. by a preemption), so what follows starts a line."""
        if self._bar is not None:
            print(flush=True)
            self._bar = None

    def _progbar(self):
        if self._bar is None:
            self._bar = keras.utils.Progbar(self.params.get("steps"), stateful_metrics=["loss"])
        return self._bar


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())
