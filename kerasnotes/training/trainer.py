"""The training loop every app uses, under any `tf.distribute` strategy."""

import concurrent.futures
import os
import re

import keras
import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int
from kerasnotes.optimizers.clip_by_global_norm import clip_by_global_norm
from kerasnotes.training.callbacks import (
    CheckpointRun,
    EpochHooks,
    Profiler,
    ProgressDisplay,
    SaveOnPreemption,
    StopOnNonFinite,
    TensorBoardScalars,
)
from kerasnotes.training.checkpoints import NonFiniteLossError, RunCheckpoint
from kerasnotes.training.disk_space import is_disk_full, no_space_error
from kerasnotes.training.preemption import Preempted, lost_worker_error
from kerasnotes.training.strategy import is_chief

__all__ = ["NonFiniteLossError", "Preempted", "Trainer"]


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

    The loop is this file; the rest is Keras callbacks (`kerasnotes/training/callbacks/`)
    that every fit runs, in this order around the callbacks given:

    - `StopOnNonFinite`: stops with `NonFiniteLossError` as soon as the loss or a
      validation result is NaN or infinite (the weights are checked before every
      checkpoint, so no checkpoint ever holds non-finite weights);
    - the `callbacks` given;
    - `TensorBoardScalars` (`run_dir/train`, `run_dir/validation`);
    - `CheckpointRun`: model, optimizer, metric states, epoch and step in
      `run_dir/checkpoints` (a `RunCheckpoint`), which `fit` resumes from when the same run
      starts again, mid-epoch included (from the newest intact one: a damaged checkpoint
      is kept aside);
    - `Profiler` (with `profile_steps`), `ProgressDisplay` (with `verbose`);
    - `SaveOnPreemption`: SIGTERM to the process (or, under multi-worker training, to any
      worker) saves a checkpoint at a step boundary (the same step on every worker) and
      raises `Preempted`; running `fit` again resumes there. A lost worker raises
      `WorkerLostError` naming it (see `kerasnotes.training.preemption`).

    Only the chief writes summaries and checkpoints.

    What varies per task comes in as Keras callbacks (`keras.callbacks.Callback`), called
    on every worker: `on_train_begin`, `on_epoch_begin(epoch)` (before the epoch's data is
    built, e.g. to reset a stateful model), `on_train_batch_begin(global_step)` before and
    `on_train_batch_end(global_step, logs)` after every execution, `on_test_begin` and
    `on_test_end` around validation, `on_epoch_end(epoch, logs)` after it, with the validation
    summary writer as default writer (write `tf.summary.image(..., step=epoch)` there), and
    `on_train_end`. A callback may add entries to `logs` in `on_epoch_end` (e.g.
    `logs["val_mAP@0.5"] = ...`): they go to the history, the epoch line and TensorBoard
    (`val_` names as `epoch_<name>` of the validation run, others of the train run).

    Mixed precision: build the model under a `keras.mixed_precision` policy; the loss and
    metrics are computed on float32 predictions; under `mixed_float16` the optimizer is
    wrapped in a `keras.optimizers.LossScaleOptimizer` (pass one yourself to tune it), and
    clipping acts on the unscaled gradient.

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
        callbacks: `keras.callbacks.Callback` objects.
        log_every_n_steps: how often to write the step loss, learning rate and examples/s.
        checkpoint_every_n_steps: also checkpoint inside an epoch every this many steps
            (`None`: at the end of every epoch only).
        max_checkpoints: how many checkpoints to keep.
        clip_global_norm: clip the gradient to this global norm (`None`: no clipping).
        steps_per_execution: training steps per `tf.function` call (as in `Model.compile`);
            larger values cut the per-step Python overhead of small models. Checkpoints and
            profiles still fall on their exact steps.
        profile_steps: `(first, last)` global steps to trace with `tf.profiler` into
            `run_dir/train` (TensorBoard's Profile tab), or `None`.
        verbose: 0 silent, 1 a progress bar on a terminal (one line per epoch when stdout
            is not a terminal), 2 one line per epoch.

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
                 callbacks=(), log_every_n_steps=50, checkpoint_every_n_steps=None,
                 max_checkpoints=3, clip_global_norm=None, steps_per_execution=1,
                 profile_steps=None, verbose=1, summary_hook=None, epoch_begin_hook=None):
        if not isinstance(model, keras.Model):
            raise ValueError(f"Trainer: model must be a keras.Model; received {type(model)}")
        if not model.built:
            raise ValueError("Trainer: the model must be built (call it once or give it an Input)")
        log_every_n_steps = check_int("Trainer", "log_every_n_steps", log_every_n_steps)
        steps_per_execution = check_int("Trainer", "steps_per_execution", steps_per_execution)
        checkpoint_every_n_steps = check_int("Trainer", "checkpoint_every_n_steps",
                                             checkpoint_every_n_steps, allow_none=True)
        if profile_steps is not None:
            first, last = (int(s) for s in profile_steps)
            if not 1 <= first <= last:
                raise ValueError("Trainer: profile_steps must be (first, last) with "
                                 f"1 <= first <= last; received {profile_steps}")
            profile_steps = (first, last)
        for metric in metrics:
            if not isinstance(metric, keras.metrics.Metric):
                raise ValueError(
                    f"Trainer: metrics must be keras.metrics.Metric objects; received {metric!r}"
                )
        self.model = model
        self.strategy = strategy or tf.distribute.get_strategy()
        self.run_dir = run_dir
        self.log_every_n_steps = log_every_n_steps
        self.checkpoint_every_n_steps = checkpoint_every_n_steps
        self.clip_global_norm = None if clip_global_norm is None else float(clip_global_norm)
        self.steps_per_execution = steps_per_execution
        self.profile_steps = profile_steps
        self.verbose = verbose if is_chief(self.strategy) else 0
        self._loss_fn = _unreduced(loss)
        self._check_in_scope()
        with self.strategy.scope():
            if (model.dtype_policy.name == "mixed_float16"
                    and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            self.metrics = [m.__class__.from_config(m.get_config()) for m in metrics]
            self.loss_tracker = keras.metrics.Mean(name="loss")
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
        self.optimizer = optimizer
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.examples_seen = 0.0  # examples trained on by this process's fits
        self.checkpoint = RunCheckpoint(
            run_dir, self.strategy, max_to_keep=max_checkpoints, model=model,
            optimizer=optimizer,
            metric_states=_metric_variables([self.loss_tracker, *self.metrics]),
            epoch=self.epoch, step_in_epoch=self.step_in_epoch, global_step=self.global_step,
        )
        self._tensorboard = TensorBoardScalars(run_dir, self.strategy, optimizer,
                                               lambda: self.examples_seen, log_every_n_steps)
        self._progress = ProgressDisplay(self.verbose, lambda: int(self.step_in_epoch.numpy()))
        self._preemption = SaveOnPreemption(self.strategy, self.checkpoint, self.global_step,
                                            self.save_checkpoint, self.position)
        profiler = ([Profiler(os.path.join(run_dir, "train"), profile_steps, self.verbose)]
                    if profile_steps and run_dir is not None and is_chief(self.strategy) else [])
        hooks = ([EpochHooks(summary_hook, epoch_begin_hook, self.strategy)]
                 if summary_hook is not None or epoch_begin_hook is not None else [])
        self.callbacks = keras.callbacks.CallbackList([
            StopOnNonFinite(self.position, lambda: self.checkpoint.latest),
            *callbacks, *hooks,
            self._tensorboard,
            CheckpointRun(self.save_checkpoint, (self.epoch, self.step_in_epoch),
                          checkpoint_every_n_steps),
            *profiler, self._progress, self._preemption,
        ], model=model)
        self._prefetcher = None
        self._train_function = tf.function(self._distributed_train_steps, reduce_retracing=True)
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
            y_pred = _to_float32(self.model(x, training=True))
            per_example = self._per_example_loss(y, y_pred, sample_weight)
            loss = tf.reduce_sum(per_example) / tf.maximum(global_count, 1.0)
            if self.model.losses:
                regularization = tf.add_n([tf.cast(r, tf.float32) for r in self.model.losses])
                loss += regularization / context.num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(loss)
        variables = self.model.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        if self.clip_global_norm is not None:
            gradients = self._clipped(context, gradients, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        self.loss_tracker.update_state(per_example)
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight)
        return loss, local_count

    def _clipped(self, context, gradients, variables):
        # The norm is that of the gradient summed over replicas, so sum first; the
        # optimizer sums again, hence the division by the number of replicas. Under loss
        # scaling the norm is that of the unscaled gradient, and the result is scaled back
        # (the LossScaleOptimizer unscales it and skips the step if it is not finite).
        gradients = _all_reduce_sum(context, gradients, variables)
        scale = (self.optimizer.dynamic_scale
                 if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer) else None)
        if scale is not None:
            gradients = [g / tf.cast(scale, g.dtype) for g in gradients]
        gradients, _ = clip_by_global_norm(gradients, self.clip_global_norm)
        if scale is not None:
            gradients = [g * tf.cast(scale, g.dtype) for g in gradients]
        return [g / context.num_replicas_in_sync for g in gradients]

    def _replica_test_step(self, batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        y_pred = _to_float32(self.model(x, training=False))
        self.loss_tracker.update_state(self._per_example_loss(y, y_pred, sample_weight))
        for metric in self.metrics:
            metric.update_state(y, y_pred, sample_weight)
        return tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)

    def _distributed_train_steps(self, iterator, num_steps):
        """Runs up to `num_steps` steps; returns (steps, mean loss, examples, first bad step).

        `get_next_as_optional` instead of `next`: calling past the end must not run any
        stateful op of the step (a bare `next` lets the optimizer's iteration counter
        advance before the end-of-data error surfaces). Under multi-worker training all
        workers agree on whether any data is left. The first bad step is the 1-based index
        of the first step whose loss was not finite, 0 if all were.
        """
        sum_ = tf.distribute.ReduceOp.SUM

        def one_step():
            optional = iterator.get_next_as_optional()

            def step():
                loss, count = self.strategy.run(self._replica_train_step,
                                                args=(optional.get_value(),))
                return (self.strategy.reduce(sum_, loss, axis=None),
                        self.strategy.reduce(sum_, count, axis=None), tf.constant(True))

            def end_of_data():
                return tf.constant(0.0), tf.constant(0.0), tf.constant(False)

            return tf.cond(optional.has_value(), step, end_of_data)

        def condition(steps, more, loss_sum, count_sum, first_bad):
            return tf.logical_and(more, steps < num_steps)

        def body(steps, more, loss_sum, count_sum, first_bad):
            loss, count, more = one_step()
            steps = steps + tf.cast(more, tf.int32)
            bad = tf.logical_and(more, tf.logical_not(tf.math.is_finite(loss)))
            first_bad = tf.where(tf.logical_and(bad, first_bad == 0), steps, first_bad)
            return steps, more, loss_sum + loss, count_sum + count, first_bad

        steps, _, loss_sum, count_sum, first_bad = tf.while_loop(
            condition, body,
            (tf.constant(0), tf.constant(True), tf.constant(0.0), tf.constant(0.0),
             tf.constant(0)),
        )
        mean_loss = loss_sum / tf.maximum(tf.cast(steps, tf.float32), 1.0)
        return steps, mean_loss, count_sum, first_bad

    def _distributed_test_step(self, iterator):
        optional = iterator.get_next_as_optional()

        def step():
            count = self.strategy.run(self._replica_test_step, args=(optional.get_value(),))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None)

        return tf.cond(optional.has_value(), step, lambda: tf.constant(0.0))

    # ---------------------------------------------------------------- state

    def restore(self):
        """Restores the newest checkpoint of `run_dir`, if any.

        The learning rate given to this Trainer's optimizer wins over the restored one (a
        resumed run may lower it). Returns the `(epoch, step_in_epoch)` to continue from.
        """
        learning_rate = _constant_learning_rate(self.optimizer)
        latest = self.checkpoint.restore()
        if latest:
            if learning_rate is not None:
                _inner(self.optimizer)._learning_rate.assign(learning_rate)
            if self.verbose:
                print(f"Resuming from {latest}: epoch {int(self.epoch.numpy()) + 1}, "
                      f"step {int(self.step_in_epoch.numpy())} of that epoch")
        self.checkpoint.check_workers_agree(self.global_step)
        return int(self.epoch.numpy()), int(self.step_in_epoch.numpy())

    def position(self):
        """Where training is, e.g. "epoch 2, step 3 (global step 11)"."""
        return (f"epoch {int(self.epoch.numpy()) + 1}, step {int(self.step_in_epoch.numpy())} "
                f"(global step {int(self.global_step.numpy())})")

    def save_checkpoint(self):
        """Writes a checkpoint (on every worker; only the chief's copy is kept).

        Raises `NonFiniteLossError` instead if any weight is NaN or infinite.
        """
        variables = self.model.weights + self.optimizer.variables
        return self.checkpoint.save(int(self.global_step.numpy()), variables, self.position())

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
        iterator = iter(self.strategy.experimental_distribute_dataset(_stall_free(dataset)))
        while float(self._test_function(iterator)) > 0:
            pass
        return self._results()

    def fit(self, train_data, epochs, validation_data=None):
        """Trains for `epochs` epochs in total, resuming from the newest checkpoint.

        Args:
            train_data: a `tf.data.Dataset` of global batches `(x, y)` or
                `(x, y, sample_weight)`, or a function `epoch -> Dataset`. Use the function
                form with a seeded, per-epoch order when a resumed run must see exactly the
                batches an uninterrupted run sees. The function must be pure: it is called
                for epoch e + 1 while epoch e trains (in a background thread), so work such
                as resetting a stateful model belongs in a callback's `on_epoch_begin`.
            epochs: total number of epochs (a resumed run trains only those left).
            validation_data: optional `tf.data.Dataset` of global batches, evaluated after
                every epoch.

        Returns:
            A dict `{name: [value per epoch trained in this call]}` with the training loss
            and metrics, `val_`-prefixed validation ones, and what callbacks added.

        Raises:
            Preempted: on SIGTERM, once the checkpoint of the current step is saved.
            WorkerLostError: a multi-worker run lost a worker.
            NonFiniteLossError: the training diverged.
            CheckpointDamagedError: checkpoints exist but none is intact (nothing changed).
            OSError: `ENOSPC`, the disk is full (one line naming the folder).
        """
        if int(epochs) < 1:
            raise ValueError(f"Trainer.fit: epochs must be >= 1; received {epochs}")
        try:
            start_epoch, skip_steps = self.restore()
            return self._epochs(train_data, start_epoch, skip_steps, int(epochs),
                                validation_data)
        except tf.errors.OpError as error:
            if is_disk_full(error):  # e.g. TensorBoard events (checkpoints say it themselves)
                raise self._no_space(error) from error
            lost = lost_worker_error(error, self.strategy, self.checkpoint.latest)
            if lost is None:
                raise
            raise lost from error
        finally:
            self._progress.end_line()
            self._preemption.close()

    def _no_space(self, error):
        """`OSError(ENOSPC)` naming the folder of the write that filled the disk."""
        written = re.search(r"(\S+); No space left on device", str(error))
        folder = os.path.dirname(written.group(1)) if written else self.run_dir or "."
        latest = self.checkpoint.latest
        what = ("TensorBoard events" if "tfevents" in str(error)
                else "a file written during training")
        return no_space_error(
            folder, what, 0,
            f"the checkpoints are intact (newest: {os.path.basename(latest) if latest else 'none'}"
            "). Free some space, then rerun the same command to resume", at_least=True)

    def _epochs(self, train_data, start_epoch, skip_steps, epochs, validation_data):
        history = {}
        if start_epoch >= epochs and self.verbose:
            print(f"Already trained for {start_epoch} epochs (asked for {epochs}); nothing to do.")
        self.callbacks.set_params({"epochs": epochs, "steps": None, "verbose": self.verbose})
        self.callbacks.on_train_begin()
        upcoming = None
        for epoch in range(start_epoch, epochs):
            self.callbacks.on_epoch_begin(epoch)
            if upcoming is None:
                upcoming = self._epoch_input(train_data, epoch, skip_steps)
            dataset, iterator = upcoming.result() if hasattr(upcoming, "result") else upcoming
            # The next epoch's dataset and iterator are made while this epoch trains, so an
            # epoch boundary costs no pipeline start-up (benchmarks/epoch_boundary.py).
            upcoming = (self._prefetch_epoch_input(train_data, epoch + 1)
                        if epoch + 1 < epochs else None)
            steps_in_data = int(dataset.cardinality())
            self.callbacks.set_params({"epochs": epochs, "verbose": self.verbose,
                                       "steps": steps_in_data + skip_steps
                                       if steps_in_data >= 0 else None})
            logs = self._train_epoch(iterator, epoch, skip_steps)
            del iterator
            skip_steps = 0
            if validation_data is not None:
                self.callbacks.on_test_begin()
                val_logs = self.evaluate(validation_data)
                self.callbacks.on_test_end(val_logs)
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            with self._tensorboard.writers["validation"].as_default():
                for callback in self.callbacks.callbacks:  # each sees (and may extend) logs
                    callback.on_epoch_end(epoch, logs)
            for name, value in logs.items():
                history.setdefault(name, []).append(value)
        self.callbacks.on_train_end()
        return history

    def _steps_in_next_call(self):
        """Steps of the next execution: at most steps_per_execution, ending on the next
        checkpoint or profile boundary so that those fall on their exact steps."""
        steps = self.steps_per_execution
        global_step = int(self.global_step.numpy())
        if self.checkpoint_every_n_steps is not None:
            steps = min(steps, self.checkpoint_every_n_steps
                        - global_step % self.checkpoint_every_n_steps)
        if self.profile_steps is not None:
            for boundary in (self.profile_steps[0] - 1, self.profile_steps[1]):
                if boundary > global_step:
                    steps = min(steps, boundary - global_step)
        return max(steps, 1)

    def _epoch_input(self, train_data, epoch, skip_steps=0):
        """`(dataset, distributed iterator)` of `epoch`, its first `skip_steps` skipped."""
        dataset = train_data(epoch) if callable(train_data) else train_data
        if skip_steps:
            dataset = dataset.skip(skip_steps)
        return dataset, iter(self.strategy.experimental_distribute_dataset(_stall_free(dataset)))

    def _prefetch_epoch_input(self, train_data, epoch):
        """The next epoch's input, made in a background thread (single process only: a
        multi-worker run makes it in the loop, in the same order on every worker)."""
        if self.strategy.extended._in_multi_worker_mode():
            return None
        if self._prefetcher is None:
            self._prefetcher = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="kerasnotes-next-epoch")
        return self._prefetcher.submit(self._epoch_input, train_data, epoch)

    def _train_epoch(self, iterator, epoch, skip_steps):
        """Trains the rest of an epoch; returns its logs (training loss and metrics).

        Callbacks get `on_train_batch_begin(global_step)` before every execution and
        `on_train_batch_end(global_step, {"loss": mean loss of the execution})` after it.
        A non-finite loss is reported at the first step it happened (`StopOnNonFinite`).
        """
        if not skip_steps:
            self._reset_metrics()  # a resumed epoch continues its restored metric states
        step = skip_steps
        while True:
            first_step = int(self.global_step.numpy())
            self.callbacks.on_train_batch_begin(first_step)
            steps, loss, count, first_bad = self._train_function(
                iterator, tf.constant(self._steps_in_next_call()))
            steps = int(steps)
            if steps == 0:
                break
            steps = int(first_bad) or steps  # a non-finite loss: its step, where fit stops
            step += steps
            self.global_step.assign(first_step + steps)
            self.step_in_epoch.assign(step)
            self.examples_seen += float(count)
            self.callbacks.on_train_batch_end(first_step + steps, {"loss": float(loss)})
        if step == 0:
            raise ValueError(
                f"Trainer.fit: the training dataset of epoch {epoch + 1} yielded no batch."
            )
        # step == skip_steps > 0: the run was checkpointed after the epoch's last step and
        # resumed; the epoch's training is complete and its metric states were restored.
        return self._results()


def _metric_variables(metrics):
    """The state variables of `metrics` (a Keras 3 metric is not a checkpointable object
    itself: its variables are), so that a resumed epoch continues its metric states."""
    return [variable for metric in metrics for variable in metric.variables]


def _stall_free(dataset):
    """`dataset` with tf.data autotuning off.

    Deleting a used-up iterator of an autotuned pipeline sometimes blocks 1-3 s here (the
    autotune thread is joined), which made every epoch boundary stall. Without autotune,
    `AUTOTUNE` parallelism falls back to the number of cores, which is what it converged to
    on these machines anyway (benchmarks/epoch_boundary.py).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _to_float32(outputs):
    """Floating-point outputs cast to float32 (losses and metrics run in float32)."""
    return tf.nest.map_structure(
        lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating and t.dtype != tf.float32 else t,
        outputs,
    )


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


def _inner(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)


def _constant_learning_rate(optimizer):
    """The optimizer's learning rate if it is a plain value (not a schedule), else None."""
    rate = getattr(_inner(optimizer), "_learning_rate", None)
    if isinstance(rate, keras.Variable):
        return float(np.asarray(rate.numpy()))
    return None
