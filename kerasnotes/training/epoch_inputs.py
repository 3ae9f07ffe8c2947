"""The training data of every epoch, the next epoch's made while the current one trains."""

import concurrent.futures

import tensorflow as tf


class EpochInputs:
    """`(dataset, distributed iterator)` of each epoch of `train_data`.

    Without `steps_per_epoch`, every epoch has its own dataset and iterator:
    `prefetch(epoch + 1)` makes the next epoch's in a background thread while epoch `epoch`
    trains, so an epoch boundary does not wait for them (benchmarks/epoch_boundary.py). A
    multi-worker run makes them in the loop instead, in the same order on every worker.

    With `steps_per_epoch`, one dataset and iterator serve the whole run, as in Keras' `fit`
    with `steps_per_epoch` (the iterator is not reset between epochs): no pipeline start-up
    at any epoch boundary. `train_data` is then a function `first_epoch -> Dataset` of the
    batches of every epoch from `first_epoch` on, or a Dataset of the whole run's batches
    from epoch 0 (a resumed run skips the epochs done).

    Args:
        train_data: a `tf.data.Dataset`, or a pure function `epoch -> Dataset`.
        strategy: the `tf.distribute.Strategy` that distributes it.
        steps_per_epoch: None, or the steps of every epoch (one iterator for the run).

    Example:

    >>> inputs = EpochInputs(lambda epoch: make_dataset(epoch), strategy)
    >>> dataset, iterator = inputs.take(0, skip_steps=3)   # a run resumed at step 3
    >>> inputs.prefetch(1)
    >>> inputs.close()
    """

    def __init__(self, train_data, strategy, steps_per_epoch=None):
        self.train_data, self.strategy = train_data, strategy
        self.steps_per_epoch = steps_per_epoch
        self._executor = None
        self._upcoming = {}
        self._whole_run = None

    def make(self, epoch, skip_steps=0):
        """`(dataset, iterator)` of `epoch`, its first `skip_steps` steps skipped (with
        `steps_per_epoch`: of the rest of the run from there)."""
        if callable(self.train_data):
            dataset = self.train_data(epoch)
        elif self.steps_per_epoch is not None:
            dataset = self.train_data.skip(epoch * self.steps_per_epoch)
        else:
            dataset = self.train_data
        if skip_steps:
            dataset = dataset.skip(skip_steps)
        return dataset, distributed_iterator(dataset, self.strategy)

    def prefetch(self, epoch):
        """Starts making the input of `epoch` (single process, one iterator per epoch)."""
        if self.strategy.extended._in_multi_worker_mode() or self.steps_per_epoch is not None:
            return
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="kerasnotes-next-epoch")
        self._upcoming[epoch] = self._executor.submit(self.make, epoch)

    def take(self, epoch, skip_steps=0):
        """The input of `epoch`: prefetched, else made now (with `steps_per_epoch`: the
        run's, made at its first epoch)."""
        if self.steps_per_epoch is not None:
            if self._whole_run is None:
                self._whole_run = self.make(epoch, skip_steps)
            return self._whole_run
        upcoming = self._upcoming.pop(epoch, None)
        return upcoming.result() if upcoming is not None else self.make(epoch, skip_steps)

    def close(self):
        """Ends the background thread (after the input it is making, if any)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._upcoming.clear()
        self._whole_run = None


def distributed_iterator(dataset, strategy):
    """An iterator of `dataset` (global batches) distributed by `strategy`, autotune off."""
    return iter(strategy.experimental_distribute_dataset(stall_free(dataset)))


def stall_free(dataset):
    """`dataset` with tf.data autotuning off.

    Deleting a used-up iterator of an autotuned pipeline sometimes blocks 1-3 s here (the
    autotune thread is joined), which made every epoch boundary stall. Without autotune,
    `AUTOTUNE` parallelism falls back to the number of cores, which is what it converged to
    on these machines anyway (benchmarks/epoch_boundary.py).

    Example:

    >>> stall_free(dataset).options().autotune.enabled
    False
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
