"""A language model's continuations of a few prefixes in TensorBoard, after every epoch."""

import warnings

import keras
import tensorflow as tf


class GeneratedTextSummary(keras.callbacks.Callback):
    """After every epoch, the model's continuations of `prefixes` as TensorBoard text.

    Called by the `Trainer` with the validation summary writer as default writer, so the
    samples appear as `generated_text` of the validation run, one step per epoch. The model
    is an `RNNLanguageModel` (its `generate` and `bidirectional`); a bidirectional model
    cannot generate: a note says so instead. `enabled=False` writes nothing (e.g. on the
    workers of a multi-worker run other than the chief).

    Example:

    >>> callback = GeneratedTextSummary(["The "], length=40)
    >>> callback.samples(model)   # {"The ": "The ..."}, as each epoch writes them
    """

    def __init__(self, prefixes, length, temperature=0.0, seed=None, enabled=True):
        super().__init__()
        self.prefixes, self.length = list(prefixes), length
        self.temperature, self.seed, self.enabled = temperature, seed, enabled

    def samples(self, model):
        """`{prefix: model.generate(prefix, length, ...)}`, unknown tokens mapped quietly."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {prefix: model.generate(prefix, self.length, temperature=self.temperature,
                                           seed=self.seed) for prefix in self.prefixes}

    def on_epoch_end(self, epoch, logs=None):
        if not self.enabled:
            return
        if self.model.bidirectional:
            shown = "(bidirectional model: it cannot generate text left to right)"
        else:  # Markdown: each sample in its own code block keeps the text as it is.
            shown = "\n\n".join(f"    {text!r}" for text in self.samples(self.model).values())
        tf.summary.text("generated_text", shown, step=epoch)
