"""The training loop every app uses, under any `tf.distribute` strategy."""

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.optimizers.clip_by_global_norm import clip_by_global_norm
from kerasnotes.training.strategy import is_chief, worker_dir


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


class Trainer:
    """One custom training loop for the default, mirrored and multi-worker strategies.

    Keras 3 `Model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585),
    so every app trains through this loop: `strategy.run` of one step over a distributed
    dataset. Per step, on each replica, with `B` the global batch (all replicas):

        loss = sum_{i in replica batch} l_i / |B|  (+ regularization / num_replicas)

    so the gradients the strategy sums over replicas are those of the mean loss over the
    global batch, the notes' `J(theta) = 1/|B| sum_{i in B} l_i`, even for a last partial
    batch. With `clip_global_norm=theta` the summed gradient `g` is clipped as the notes
    write it, `g <- min(theta / ||g||, 1) g`, before the optimizer applies it.

    It also shows a progress bar, writes TensorBoard scalars (`run_dir/train`,
    `run_dir/validation`), checkpoints model, optimizer, epoch and step to
    `run_dir/checkpoints` with `tf.train.CheckpointManager`, and resumes from the newest
    checkpoint when the same run is started again. Only the chief writes summaries and
    checkpoints; other workers write checkpoints to private folders that are deleted.

    Build the model and the optimizer under `strategy.scope()`; the trainer clones the
    metrics into that scope itself.

    Args:
        model: a built `keras.Model`.
        loss: a `keras.losses.Loss` (its reduction is replaced by none) or a function
            `loss(y_true, y_pred)` returning per-example (or per-element) losses.
        optimizer: a `keras.optimizers.Optimizer`.
        metrics: `keras.metrics.Metric` objects, e.g. `[keras.metrics.SparseCategoricalAccuracy()]`.
        strategy: the `tf.distribute.Strategy` (default: the current one).
        run_dir: folder for TensorBoard events and checkpoints; `None` disables both.
        log_every_n_steps: how often to write the step loss, learning rate and examples/s.
        checkpoint_every_n_steps: also checkpoint inside an epoch every this many steps
            (`None`: at the end of every epoch only).
        max_checkpoints: how many checkpoints to keep.
        clip_global_norm: clip the gradient to this global norm (`None`: no clipping).
        summary_hook: optional `hook(model, epoch)` called on the chief after each epoch
            with the validation summary writer as default, for image or text summaries
            (`tf.summary.image(..., step=epoch)`).
        epoch_begin_hook: optional `hook(model, epoch)` called on every worker before each
            epoch's data is built, e.g. to reset a stateful model's carried hidden state.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.

    Example:

    >>> strategy = choose_strategy("auto")
    >>> with strategy.scope():
    ...     model = LeNet()
    ...     optimizer = keras.optimizers.SGD(0.9)
    >>> trainer = Trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    ...                   optimizer, [keras.metrics.SparseCategoricalAccuracy()],
    ...                   strategy=strategy, run_dir="runs/lenet")
    >>> history = trainer.fit(lambda epoch: make_dataset(epoch), epochs=10,
    ...                       validation_data=test_dataset)
    """

    def __init__(self, model, loss, optimizer, metrics=(), strategy=None, run_dir=None,
                 log_every_n_steps=50, checkpoint_every_n_steps=None, max_checkpoints=3,
                 clip_global_norm=None, summary_hook=None, epoch_begin_hook=None, verbose=1):
        if not isinstance(model, keras.Model):
            raise ValueError(f"Trainer: model must be a keras.Model; received {type(model)}")
        if not model.built:
            raise ValueError("Trainer: the model must be built (call it once or give it an Input)")
        if int(log_every_n_steps) < 1:
            raise ValueError(
                f"Trainer: log_every_n_steps must be >= 1; received {log_every_n_steps}"
            )
        if checkpoint_every_n_steps is not None and int(checkpoint_every_n_steps) < 1:
            raise ValueError(
                "Trainer: checkpoint_every_n_steps must be >= 1 or None; "
                f"received {checkpoint_every_n_steps}"
            )
        if clip_global_norm is not None and not float(clip_global_norm) > 0:
            raise ValueError(
                f"Trainer: clip_global_norm must be > 0 or None; received {clip_global_norm}"
            )
        for metric in metrics:
            if not isinstance(metric, keras.metrics.Metric):
                raise ValueError(
                    f"Trainer: metrics must be keras.metrics.Metric objects; received {metric!r}"
                )
        self.model = model
        self.optimizer = optimizer
        self.strategy = strategy or tf.distribute.get_strategy()
        self.run_dir = run_dir
        self.log_every_n_steps = int(log_every_n_steps)
        self.checkpoint_every_n_steps = checkpoint_every_n_steps
        self.clip_global_norm = None if clip_global_norm is None else float(clip_global_norm)
        self.summary_hook = summary_hook
        self.epoch_begin_hook = epoch_begin_hook
        self.verbose = verbose if is_chief(self.strategy) else 0
        self._loss_fn = _unreduced(loss)
        self._check_in_scope()
        with self.strategy.scope():
            self.metrics = [m.__class__.from_config(m.get_config()) for m in metrics]
            self.loss_tracker = keras.metrics.Mean(name="loss")
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self._checkpoint = tf.train.Checkpoint(
            model=model, optimizer=optimizer, epoch=self.epoch, step_in_epoch=self.step_in_epoch
        )
        self._manager = None
        if run_dir is not None:
            self._checkpoint_dir = os.path.join(run_dir, "checkpoints")
            self._manager = tf.train.CheckpointManager(
                self._checkpoint,
                worker_dir(self._checkpoint_dir, self.strategy),
                max_to_keep=max_checkpoints,
            )
        self._writers = None
        self._train_function = tf.function(self._distributed_train_step, reduce_retracing=True)
        self._test_function = tf.function(self._distributed_test_step, reduce_retracing=True)

    # ---------------------------------------------------------------- steps

    def _check_in_scope(self):
        variables = self.model.trainable_variables
        if variables and not self.strategy.extended.variable_created_in_scope(
            _tf_variable(variables[0])
        ):
            raise ValueError(
                "Trainer: the model's variables were not created under the strategy's scope. "
                "Build the model and optimizer inside `with strategy.scope():`."
            )

    def _per_example_loss(self, y, y_pred, sample_weight):
        losses = self._loss_fn(y, y_pred, sample_weight)
        losses = tf.cast(losses, tf.float32)
        if losses.shape.rank and losses.shape.rank > 1:
            losses = tf.reduce_mean(losses, axis=list(range(1, losses.shape.rank)))
        return losses

    def _replica_train_step(self, batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        context = tf.distribute.get_replica_context()
        local_count = tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)
        global_count = context.all_reduce(tf.distribute.ReduceOp.SUM, local_count)
        with tf.GradientTape() as tape:
            y_pred = self.model(x, training=True)
            per_example = self._per_example_loss(y, y_pred, sample_weight)
            loss = tf.reduce_sum(per_example) / tf.maximum(global_count, 1.0)
            if self.model.losses:
                loss += tf.add_n(self.model.losses) / context.num_replicas_in_sync
        variables = self.model.trainable_variables
        gradients = tape.gradient(loss, variables)
        if self.clip_global_norm is not None:
            # The norm is that of the gradient summed over replicas, so sum first; the
            # optimizer sums again, hence the division by the number of replicas.
            gradients = _all_reduce_sum(context, gradients, variables)
            gradients, _ = clip_by_global_norm(gradients, self.clip_global_norm)
            gradients = [g / context.num_replicas_in_sync for g in gradients]
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.loss_tracker.update_state(per_example)
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight)
        return loss, local_count

    def _replica_test_step(self, batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        y_pred = self.model(x, training=False)
        self.loss_tracker.update_state(self._per_example_loss(y, y_pred, sample_weight))
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight)
        return tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)

    def _distributed_train_step(self, iterator):
        # `get_next_as_optional` instead of `next`: calling past the end must not run any
        # stateful op of the step (a bare `next` lets the optimizer's iteration counter
        # advance before the end-of-data error surfaces). Under multi-worker training all
        # workers agree on whether any data is left.
        optional = iterator.get_next_as_optional()

        def step():
            loss, count = self.strategy.run(self._replica_train_step, args=(optional.get_value(),))
            sum_ = tf.distribute.ReduceOp.SUM
            return (self.strategy.reduce(sum_, loss, axis=None),
                    self.strategy.reduce(sum_, count, axis=None))

        def end_of_data():
            return tf.constant(0.0), tf.constant(0.0)

        return tf.cond(optional.has_value(), step, end_of_data)

    def _distributed_test_step(self, iterator):
        optional = iterator.get_next_as_optional()

        def step():
            count = self.strategy.run(self._replica_test_step, args=(optional.get_value(),))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None)

        return tf.cond(optional.has_value(), step, lambda: tf.constant(0.0))

    # ---------------------------------------------------------------- state

    def restore(self):
        """Restores the newest checkpoint of `run_dir`, if any.

        Returns the `(epoch, step_in_epoch)` to continue from.
        """
        if self._manager is not None:
            latest = tf.train.latest_checkpoint(self._checkpoint_dir)
            if latest:
                self._checkpoint.restore(latest).assert_existing_objects_matched()
                if self.verbose:
                    print(
                        f"Resuming from {latest}: epoch {int(self.epoch.numpy()) + 1}, "
                        f"step {int(self.step_in_epoch.numpy())} of that epoch"
                    )
        self._check_workers_agree()
        return int(self.epoch.numpy()), int(self.step_in_epoch.numpy())

    def _check_workers_agree(self):
        if not self.strategy.extended._in_multi_worker_mode():
            return
        # Every worker computes the same mean and mean square of the restored global step;
        # they differ only if some worker restored another checkpoint, and then all raise.
        position = tf.cast(self.optimizer.iterations, tf.float64)
        per_replica = self.strategy.run(lambda: tf.stack([position, position * position]))
        mean, mean_square = self.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, per_replica, axis=None
        ).numpy()
        if mean_square - mean * mean > 1e-9:
            raise RuntimeError(
                "Trainer: workers restored different checkpoints (mean global step "
                f"{mean:.1f}). Put run_dir on storage that every worker can read, or remove "
                "the stale checkpoints."
            )

    def save_checkpoint(self):
        """Writes a checkpoint (on every worker; only the chief's copy is kept)."""
        if self._manager is None:
            return None
        path = self._manager.save(checkpoint_number=self.optimizer.iterations)
        if not is_chief(self.strategy):
            tf.io.gfile.rmtree(self._manager.directory)
        return path

    def _summary_writers(self):
        if self._writers is None:
            if self.run_dir is not None and is_chief(self.strategy):
                self._writers = {
                    "train": tf.summary.create_file_writer(os.path.join(self.run_dir, "train")),
                    "validation": tf.summary.create_file_writer(
                        os.path.join(self.run_dir, "validation")
                    ),
                }
            else:
                noop = tf.summary.create_noop_writer()
                self._writers = {"train": noop, "validation": noop}
        return self._writers

    # ---------------------------------------------------------------- loops

    def _results(self):
        results = {"loss": float(self.loss_tracker.result())}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update({k: float(v) for k, v in value.items()})
            else:
                results[metric.name] = float(value)
        return results

    def _reset_metrics(self):
        self.loss_tracker.reset_state()
        for metric in self.metrics:
            metric.reset_state()

    def evaluate(self, dataset):
        """Mean loss and metrics over `dataset` (global batches). Returns a dict."""
        self._reset_metrics()
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        while float(self._test_function(iterator)) > 0:
            pass
        return self._results()

    def fit(self, train_data, epochs, validation_data=None):
        """Trains for `epochs` epochs in total, resuming from the newest checkpoint.

        Args:
            train_data: a `tf.data.Dataset` of global batches `(x, y)` or
                `(x, y, sample_weight)`, or a function `epoch -> Dataset`. Use the function
                form with a seeded, per-epoch shuffle (`shuffle(n, seed=seed + epoch)`)
                when a resumed run must see exactly the batches an uninterrupted run sees.
            epochs: total number of epochs (a resumed run trains only those left).
            validation_data: optional `tf.data.Dataset` of global batches, evaluated after
                every epoch.

        Returns:
            A dict `{name: [value per epoch trained in this call]}` with the training loss
            and metrics, and `val_`-prefixed validation ones.
        """
        if int(epochs) < 1:
            raise ValueError(f"Trainer.fit: epochs must be >= 1; received {epochs}")
        start_epoch, skip_steps = self.restore()
        history = {}
        writers = self._summary_writers()
        if start_epoch >= epochs and self.verbose:
            print(f"Already trained for {start_epoch} epochs (asked for {epochs}); nothing to do.")
        for epoch in range(start_epoch, int(epochs)):
            if self.epoch_begin_hook is not None:
                self.epoch_begin_hook(self.model, epoch)
            dataset = train_data(epoch) if callable(train_data) else train_data
            if skip_steps:
                dataset = dataset.skip(skip_steps)
            logs = self._train_epoch(dataset, epoch, int(epochs), skip_steps, writers)
            skip_steps = 0
            if validation_data is not None:
                val_logs = self.evaluate(validation_data)
                with writers["validation"].as_default():
                    for name, value in val_logs.items():
                        tf.summary.scalar(f"epoch_{name}", value, step=epoch)
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            if self.summary_hook is not None and is_chief(self.strategy):
                with writers["validation"].as_default():
                    self.summary_hook(self.model, epoch)
            for writer in writers.values():
                writer.flush()
            self.epoch.assign(epoch + 1)
            self.step_in_epoch.assign(0)
            self.save_checkpoint()
            for name, value in logs.items():
                history.setdefault(name, []).append(value)
            if self.verbose == 2:
                shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {shown}", flush=True)
            elif self.verbose == 1 and validation_data is not None:
                shown = " - ".join(
                    f"{k}: {v:.4f}" for k, v in logs.items() if k.startswith("val_")
                )
                print(f"  {shown}", flush=True)
        return history

    def _train_epoch(self, dataset, epoch, epochs, skip_steps, writers):
        self._reset_metrics()
        steps = int(dataset.cardinality())
        target = steps + skip_steps if steps >= 0 else None
        progbar = None
        if self.verbose == 1:
            print(f"Epoch {epoch + 1}/{epochs}")
            progbar = keras.utils.Progbar(target, stateful_metrics=["loss"])
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        step = skip_steps
        epoch_start = interval_start = time.perf_counter()
        epoch_examples = interval_examples = 0.0
        while True:
            loss, count = self._train_function(iterator)
            count = float(count)
            if count == 0:
                break
            step += 1
            loss = float(loss)
            global_step = int(self.optimizer.iterations.numpy())
            if not math.isfinite(loss):
                raise NonFiniteLossError(
                    f"Training loss became {loss} at epoch {epoch + 1}, step {step} (global "
                    f"step {global_step}). Lower the learning rate or clip gradients; the last "
                    f"checkpoint is in {self._manager.directory if self._manager else 'none'}."
                )
            epoch_examples += count
            interval_examples += count
            self.step_in_epoch.assign(step)
            if global_step % self.log_every_n_steps == 0:
                now = time.perf_counter()
                with writers["train"].as_default():
                    tf.summary.scalar("batch_loss", loss, step=global_step)
                    tf.summary.scalar(
                        "learning_rate", _learning_rate(self.optimizer), step=global_step
                    )
                    tf.summary.scalar(
                        "examples_per_second",
                        interval_examples / max(now - interval_start, 1e-9),
                        step=global_step,
                    )
                interval_start, interval_examples = now, 0.0
            if (
                self.checkpoint_every_n_steps is not None
                and global_step % int(self.checkpoint_every_n_steps) == 0
            ):
                self.save_checkpoint()
            if progbar is not None:
                progbar.update(step, [("loss", loss)])
        if step == skip_steps:
            raise ValueError(
                f"Trainer.fit: the training dataset of epoch {epoch + 1} yielded no batch."
            )
        seconds = time.perf_counter() - epoch_start
        logs = self._results()
        with writers["train"].as_default():
            for name, value in logs.items():
                tf.summary.scalar(f"epoch_{name}", value, step=epoch)
            tf.summary.scalar("epoch_learning_rate", _learning_rate(self.optimizer), step=epoch)
            tf.summary.scalar(
                "epoch_examples_per_second", epoch_examples / max(seconds, 1e-9), step=epoch
            )
        if progbar is not None:
            progbar.update(step, list(logs.items()), finalize=True)
        return logs


def _unreduced(loss):
    """A function `(y, y_pred, sample_weight) -> per-example (or per-element) losses`."""
    if isinstance(loss, keras.losses.Loss):
        config = dict(loss.get_config(), reduction=None)
        unreduced = loss.__class__.from_config(config)
        return lambda y, y_pred, sample_weight: unreduced(y, y_pred, sample_weight=sample_weight)
    if callable(loss):

        def weighted(y, y_pred, sample_weight):
            losses = loss(y, y_pred)
            if sample_weight is not None:
                losses = losses * tf.cast(sample_weight, losses.dtype)
            return losses

        return weighted
    raise ValueError(f"Trainer: loss must be a keras.losses.Loss or a function; received {loss!r}")


def _all_reduce_sum(context, gradients, variables):
    """Sums dense gradients over replicas with one collective (one flat vector).

    Shapes come from the variables: a gradient's static shape may be unknown.
    """
    shapes = [tuple(v.shape) for v in variables]
    flat = tf.concat([tf.reshape(tf.convert_to_tensor(g), [-1]) for g in gradients], axis=0)
    flat = context.all_reduce(tf.distribute.ReduceOp.SUM, flat)
    sizes = [int(np.prod(shape)) for shape in shapes]
    return [tf.reshape(part, shape) for part, shape in zip(tf.split(flat, sizes), shapes)]


def _tf_variable(variable):
    if isinstance(variable, keras.Variable):
        return getattr(variable, "value", variable)
    return variable


def _learning_rate(optimizer):
    return float(np.asarray(keras.ops.convert_to_numpy(optimizer.learning_rate)))
