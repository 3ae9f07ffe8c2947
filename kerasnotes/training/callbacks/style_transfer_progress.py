"""Style transfer's progress: its loss lines and scalars, and the synthesized image."""

import os

import keras
import tensorflow as tf

from kerasnotes.models.vgg19_features import postprocess_image


class StyleTransferProgress(keras.callbacks.Callback):
    """Prints `step k/n: content ..., style ..., tv ..., total ...` and writes the scalars
    `content_loss`, `style_loss`, `tv_loss`, `total_loss` every `log_every_n_steps` steps,
    and the image `synthesized_image` (the model's `image`, a `StyleTransfer`) every
    `image_every_n_steps` steps, each at the last step too, into `run_dir/train` (an event
    file of its own, beside the Trainer's scalars). One epoch is one step.

    A fresh run (no checkpoint in `run_dir/checkpoints`) also writes `images` (name ->
    `(h, w, 3)` in [0, 1], e.g. the content and style images) at step 0; a resumed one
    prints `Resuming from <checkpoint>: step <k>` instead (the Trainer runs with verbose 0).
    Only the chief writes and prints (`chief=False` on the other workers).

    Example:

    >>> progress = StyleTransferProgress(run_dir, steps=100, images={"content_image": content})
    >>> Trainer(model, StyleTransferLoss(), keras.optimizers.Adam(0.3), run_dir=run_dir,
    ...         metrics=[StyleTransferLossParts()], callbacks=[progress], verbose=0
    ...         ).fit(steps_dataset, epochs=100)
    """

    def __init__(self, run_dir, steps, images=None, log_every_n_steps=10,
                 image_every_n_steps=50, verbose=1, chief=True):
        super().__init__()
        self.run_dir = run_dir
        self.steps = steps
        self.images = dict(images or {})
        self.log_every_n_steps = log_every_n_steps
        self.image_every_n_steps = image_every_n_steps
        self.verbose = verbose
        self.chief = chief

    def on_train_begin(self, logs=None):
        self.writer = (tf.summary.create_file_writer(os.path.join(self.run_dir, "train"))
                       if self.chief else tf.summary.create_noop_writer())
        latest = tf.train.latest_checkpoint(os.path.join(self.run_dir, "checkpoints"))
        if latest and self.chief:  # checkpoint numbers are global steps
            print(f"Resuming from {latest}: step {latest.rsplit('-', 1)[1]}")
        if not latest:
            with self.writer.as_default():
                for name, image in self.images.items():
                    tf.summary.image(name, image[None], step=0)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        losses = {"content": logs["content_loss"], "style": logs["style_loss"],
                  "tv": logs["tv_loss"], "total": logs["loss"]}
        with self.writer.as_default():
            if done % self.log_every_n_steps == 0 or done == self.steps:
                for name, value in losses.items():
                    tf.summary.scalar(f"{name}_loss", value, step=epoch)
                if self.chief and self.verbose:
                    shown = ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
                    print(f"step {done}/{self.steps}: {shown}", flush=True)
            if done % self.image_every_n_steps == 0 or done == self.steps:
                tf.summary.image("synthesized_image", postprocess_image(self.model.image),
                                 step=done)

    def on_train_end(self, logs=None):
        self.writer.flush()
