"""One replica's step of the Trainer: the supervised step, or the model's own `train_step`."""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.training.gradient_clipping import clip_summed_gradients
from kerasnotes.training.loss_reduction import per_example_loss, to_float32, unreduced


class SupervisedStep:
    """Loss, gradients, optimizer and metrics of one replica's step on `(x, y[, weight])`.

    Per step, on each replica, with `B` the global batch (all replicas):

        loss = sum_{i in replica batch} l_i / |B|  (+ regularization / num_replicas)

    so the gradients the strategy sums over replicas are those of the mean loss over the
    global batch, the notes' `J(theta) = 1/|B| sum_{i in B} l_i`, even for a last partial
    batch; with `clip_global_norm` the summed gradient is clipped to that global norm
    (`kerasnotes.training.gradient_clipping`). Under `mixed_float16` the optimizer is
    wrapped in a `keras.optimizers.LossScaleOptimizer` (pass one yourself to tune it); the
    loss and metrics are computed on float32 predictions. The metrics are cloned into the
    strategy's scope.

    Example (what `Trainer` does with it):

    >>> step = SupervisedStep(model, keras.losses.MeanSquaredError(), optimizer, [], strategy)
    >>> loss, count = strategy.run(step.train, args=(batch,))
    """

    def __init__(self, model, loss, optimizer, metrics, strategy, clip_global_norm=None):
        self.model, self.loss_fn = model, unreduced(loss)
        self.clip_global_norm = None if clip_global_norm is None else float(clip_global_norm)
        with strategy.scope():
            if (model.dtype_policy.name == "mixed_float16"
                    and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.metrics = [m.__class__.from_config(m.get_config()) for m in metrics]
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
        self.optimizer = optimizer
        self.tracked = [self.loss_tracker, *self.metrics]  # what an epoch's logs report

    def train(self, batch):
        """One training step; returns this replica's share of the mean loss and its count."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        context = tf.distribute.get_replica_context()
        local_count = tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)
        global_count = context.all_reduce(tf.distribute.ReduceOp.SUM, local_count)
        with tf.GradientTape() as tape:
            y_pred = to_float32(self.model(x, training=True))
            per_example = per_example_loss(self.loss_fn, y, y_pred, sample_weight)
            loss = tf.reduce_sum(per_example) / tf.maximum(global_count, 1.0)
            if self.model.losses:
                regularization = tf.add_n([tf.cast(r, tf.float32) for r in self.model.losses])
                loss += regularization / context.num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.model.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        if self.clip_global_norm is not None:
            gradients = clip_summed_gradients(context, gradients, variables, self.optimizer,
                                              self.clip_global_norm)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.loss_tracker.update_state(per_example)
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight)
        return loss, local_count

    def test(self, batch):
        """One evaluation step (loss and metrics updated); returns the replica's count."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        y_pred = to_float32(self.model(x, training=False))
        self.loss_tracker.update_state(per_example_loss(self.loss_fn, y, y_pred, sample_weight))
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight)
        return tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)


class ModelOwnStep:
    """The step of a model that trains itself (overrides `keras.Model.train_step`).

    `model.train_step(batch)` updates its weights and its `metrics` and returns the step's
    `{"loss": ..., "examples": ...}` (examples for the examples/s written to TensorBoard;
    0 when missing); the epoch's logs are `model.metrics`' results. One replica.

    Example:

    >>> step = ModelOwnStep(fused_word2vec)
    >>> loss, examples = step.train(next(iterator))
    """

    def __init__(self, model):
        self.model, self.optimizer, self.tracked = model, None, list(model.metrics)

    def train(self, batch):
        logs = self.model.train_step(batch)
        return (tf.cast(logs["loss"], tf.float32),
                tf.cast(logs.get("examples", 0.0), tf.float32))

    def test(self, batch):
        raise ValueError(f"Trainer: {self.model.name} trains itself (its own train_step); "
                         "evaluate it with its own methods, not with validation_data")


def step_for(model, loss, optimizer, metrics, strategy, clip_global_norm=None):
    """`ModelOwnStep(model)` if the model defines its own `train_step`, else a
    `SupervisedStep`.

    Example:

    >>> step = step_for(model, loss, optimizer, metrics, strategy)
    """
    if type(model).train_step is not keras.Model.train_step:
        return ModelOwnStep(model)
    return SupervisedStep(model, loss, optimizer, metrics, strategy, clip_global_norm)


@contextlib.contextmanager
def learning_rate_kept(optimizer):
    """Keeps `optimizer`'s learning rate (a plain value, not a schedule) across a checkpoint
    restore inside the block: the rate given to a resumed run wins (it may lower it).

    Example:

    >>> with learning_rate_kept(optimizer):
    ...     checkpoint.restore()
    """
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    rate = getattr(inner, "_learning_rate", None)
    rate = float(np.asarray(rate.numpy())) if isinstance(rate, keras.Variable) else None
    yield
    if rate is not None:
        inner._learning_rate.assign(rate)
