"""The notes' sequential sampling: a fresh hidden state at the start of every epoch."""

import keras


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Clears a stateful model's carried hidden state at the start of every epoch.

    The notes' sequential sampling initializes the hidden state once per epoch and carries
    it from batch to batch within the epoch (`RNNLanguageModel(stateful=True)`). Give this
    callback to the `Trainer` (it calls `on_epoch_begin` before the epoch's first batch);
    the model needs a `reset_states()` method.

    Example:

    >>> trainer = Trainer(model, loss, optimizer, callbacks=[ResetStatesEachEpoch()])
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_states()
