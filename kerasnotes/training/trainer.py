"""The training loop every app uses, under any `tf.distribute` strategy."""

import tensorflow as tf

from kerasnotes._checks import check_int
from kerasnotes.training.callbacks import (
    ProgressDisplay,
    SaveOnPreemption,
    TensorBoardScalars,
    fit_callbacks,
)
from kerasnotes.training.checkpoints import NonFiniteLossError, RunCheckpoint
from kerasnotes.training.epoch_inputs import EpochInputs, distributed_iterator
from kerasnotes.training.fit_errors import fit_error, foreign_checkpoint_error
from kerasnotes.training.preemption import Preempted
from kerasnotes.training.strategy import is_chief
from kerasnotes.training.supervised_step import learning_rate_kept, step_for
from kerasnotes.training.trainer_arguments import check_model, check_options

__all__ = ["NonFiniteLossError", "Preempted", "Trainer"]


class Trainer:
    """One custom training loop for the default, mirrored and multi-worker strategies.

    Keras 3 `Model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585),
    so every app trains through this loop: `strategy.run` of one replica step over a
    distributed dataset, `steps_per_execution` steps per `tf.function` call. The step is
    `SupervisedStep` (`kerasnotes.training.supervised_step`: the mean loss over the global
    batch, clipping, mixed precision, metrics) or, for a model that overrides
    `train_step(data)` (Keras' "customizing what happens in fit"), the model's own.
    The rest is Keras callbacks (checkpoints and resumption, TensorBoard, progress, stop on
    a non-finite loss, profiler, preemption): `kerasnotes.training.callbacks` describes
    them and what the callbacks given here receive. Build the model and the optimizer under
    `strategy.scope()`.

    Args:
        model: a built `keras.Model`.
        loss: a `keras.losses.Loss` or a function `loss(y_true, y_pred)` of per-example
            losses (`None` for a model with its own `train_step`).
        optimizer: a `keras.optimizers.Optimizer` (`None` for a model with its own
            `train_step`, which then reports its `learning_rate` itself).
        metrics: `keras.metrics.Metric` objects.
        strategy: the `tf.distribute.Strategy` (default: the current one).
        run_dir: folder for TensorBoard events and checkpoints; `None` disables both.
        callbacks: `keras.callbacks.Callback` objects.
        log_every_n_steps: how often to write the step loss, learning rate and examples/s.
        checkpoint_every_n_steps: also checkpoint every this many steps (`None`: after
            every epoch only).
        max_checkpoints: how many checkpoints to keep.
        clip_global_norm: clip the gradient to this global norm (`None`: no clipping).
        steps_per_execution: training steps per `tf.function` call (as in `Model.compile`;
            eager calls for a model with `run_eagerly`). Checkpoints and profiles still fall
            on their exact steps.
        profile_steps: `(first, last)` global steps to trace into `run_dir/train`, or `None`.
        verbose: 0 silent, 1 a progress bar on a terminal (one line per epoch otherwise),
            2 one line per epoch.

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
                 profile_steps=None, verbose=1):
        self.strategy = strategy or tf.distribute.get_strategy()
        check_model(model, self.strategy)
        (log_every_n_steps, self.steps_per_execution, self.checkpoint_every_n_steps,
         self.profile_steps) = check_options(metrics, log_every_n_steps, steps_per_execution,
                                             checkpoint_every_n_steps, profile_steps)
        self.model, self.run_dir = model, run_dir
        self.verbose = verbose if is_chief(self.strategy) else 0
        self.replica_step = step_for(model, loss, optimizer, metrics, self.strategy,
                                     clip_global_norm)
        self.optimizer = self.replica_step.optimizer
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.examples_seen = 0.0  # examples trained on by this process's fits
        state = dict(model=model, optimizer=self.optimizer,
                     metric_states=[v for m in self.replica_step.tracked for v in m.variables],
                     epoch=self.epoch, step_in_epoch=self.step_in_epoch,
                     global_step=self.global_step)
        self.checkpoint = RunCheckpoint(run_dir, self.strategy, max_to_keep=max_checkpoints,
                                        **{k: v for k, v in state.items() if v is not None})
        self.callbacks = fit_callbacks(self, callbacks, log_every_n_steps)
        compiled = (lambda f: f) if model.run_eagerly else (  # as Keras' `run_eagerly`
            lambda f: tf.function(f, reduce_retracing=True))
        self._train_function = compiled(self._distributed_train_steps)
        self._test_function = compiled(self._distributed_test_step)

    # ---------------------------------------------------------------- steps

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
                loss, count = self.strategy.run(self.replica_step.train,
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
            count = self.strategy.run(self.replica_step.test, args=(optional.get_value(),))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None)

        return tf.cond(optional.has_value(), step, lambda: tf.constant(0.0))

    # ---------------------------------------------------------------- state

    def restore(self):
        """Restores the newest checkpoint of `run_dir`, if any.

        The learning rate given to this Trainer's optimizer wins over the restored one (a
        resumed run may lower it). Returns the `(epoch, step_in_epoch)` to continue from.
        """
        try:
            with learning_rate_kept(self.optimizer):
                latest = self.checkpoint.restore()
        except AssertionError as error:  # tf.train.Checkpoint's: not this run's objects
            raise foreign_checkpoint_error(self.checkpoint.directory, error) from None
        if latest and self.verbose:
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
        variables = [*self.model.weights, *getattr(self.optimizer, "variables", [])]
        return self.checkpoint.save(int(self.global_step.numpy()), variables, self.position())

    # ---------------------------------------------------------------- loops

    def _results(self):
        results = {}
        for metric in self.replica_step.tracked:
            value = metric.result()
            results.update({k: float(v) for k, v in value.items()} if isinstance(value, dict)
                           else {metric.name: float(value)})
        return results

    def _reset_metrics(self):
        for metric in self.replica_step.tracked:
            metric.reset_state()

    def evaluate(self, dataset):
        """Mean loss and metrics over `dataset` (global batches). Returns a dict."""
        self._reset_metrics()
        iterator = distributed_iterator(dataset, self.strategy)
        while float(self._test_function(iterator)) > 0:
            pass
        return self._results()

    def fit(self, train_data, epochs, validation_data=None, steps_per_epoch=None):
        """Trains for `epochs` epochs in total, resuming from the newest checkpoint.

        Args:
            train_data: a `tf.data.Dataset` of global batches `(x, y)` or
                `(x, y, sample_weight)`, or a function `epoch -> Dataset`. Use the function
                form with a seeded, per-epoch order when a resumed run must see exactly the
                batches an uninterrupted run sees. The function must be pure: it is called
                for epoch e + 1 while epoch e trains (in a background thread), so work such
                as resetting a stateful model belongs in a callback's `on_epoch_begin`.
                With `steps_per_epoch`, see there.
            epochs: total number of epochs (a resumed run trains only those left).
            validation_data: optional `tf.data.Dataset` of global batches, evaluated after
                every epoch.
            steps_per_epoch: None (an epoch ends with its dataset), or the steps of every
                epoch, taken from ONE iterator for the whole run, as Keras' `fit` does with
                `steps_per_epoch`: no input pipeline starts at an epoch boundary. The
                function form is then called once, `train_data(first_epoch)`, and returns
                the batches of every epoch from `first_epoch` to the last (e.g.
                `make_detection_dataset(..., epoch=first_epoch, num_epochs=epochs -
                first_epoch)`); a Dataset holds the whole run's batches from epoch 0. An
                epoch whose data runs out early ends there.

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
        steps_per_epoch = check_int("Trainer.fit", "steps_per_epoch", steps_per_epoch,
                                    allow_none=True)
        inputs = EpochInputs(train_data, self.strategy, steps_per_epoch)
        try:
            start_epoch, skip_steps = self.restore()
            return self._epochs(inputs, start_epoch, skip_steps, int(epochs), validation_data)
        except tf.errors.OpError as error:
            better = fit_error(error, self.strategy, self.run_dir, self.checkpoint.latest)
            if better is None:
                raise
            raise better from error
        finally:
            inputs.close()
            self._callback(ProgressDisplay).end_line()  # a bar cut short ends its line
            self._callback(SaveOnPreemption).close()  # the previous SIGTERM handler back

    def _callback(self, kind):
        return next(c for c in self.callbacks.callbacks if type(c) is kind)

    def _epochs(self, inputs, start_epoch, skip_steps, epochs, validation_data):
        history = {}
        if start_epoch >= epochs and self.verbose:
            print(f"Already trained for {start_epoch} epochs (asked for {epochs}); nothing to do.")
        self.callbacks.set_params({"epochs": epochs, "steps": None, "verbose": self.verbose})
        self.callbacks.on_train_begin()
        for epoch in range(start_epoch, epochs):
            self.callbacks.on_epoch_begin(epoch)
            dataset, iterator = inputs.take(epoch, skip_steps)
            if epoch + 1 < epochs:
                inputs.prefetch(epoch + 1)  # made while this epoch trains
            steps_in_data = int(dataset.cardinality())
            steps = inputs.steps_per_epoch or (steps_in_data + skip_steps
                                               if steps_in_data >= 0 else None)
            self.callbacks.set_params({"epochs": epochs, "verbose": self.verbose,
                                       "steps": steps})
            logs = self._train_epoch(iterator, epoch, skip_steps, inputs.steps_per_epoch)
            del iterator
            skip_steps = 0
            if validation_data is not None:
                self.callbacks.on_test_begin()
                val_logs = self.evaluate(validation_data)
                self.callbacks.on_test_end(val_logs)
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            with self._callback(TensorBoardScalars).writers["validation"].as_default():
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

    def _train_epoch(self, iterator, epoch, skip_steps, steps_per_epoch=None):
        """Trains the rest of an epoch (until its data ends, or `steps_per_epoch` steps);
        returns its logs (training loss and metrics).

        Callbacks get `on_train_batch_begin(global_step)` before every execution and
        `on_train_batch_end(global_step, {"loss": mean loss of the execution})` after it.
        A non-finite loss is reported at the first step it happened (`StopOnNonFinite`).
        """
        if not skip_steps:
            self._reset_metrics()  # a resumed epoch continues its restored metric states
        step = skip_steps
        while steps_per_epoch is None or step < steps_per_epoch:
            first_step = int(self.global_step.numpy())
            self.callbacks.on_train_batch_begin(first_step)
            steps = self._steps_in_next_call()
            if steps_per_epoch is not None:
                steps = min(steps, steps_per_epoch - step)
            steps, loss, count, first_bad = self._train_function(iterator, tf.constant(steps))
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
                f"Trainer.fit: the training dataset of epoch {epoch + 1} yielded no batch"
                + ("." if steps_per_epoch is None else
                   f" (it ran out: steps_per_epoch={steps_per_epoch} needs "
                   f"{steps_per_epoch} batches per epoch).")
            )
        # step == skip_steps > 0: the run was checkpointed after the epoch's last step and
        # resumed; the epoch's training is complete and its metric states were restored.
        return self._results()
