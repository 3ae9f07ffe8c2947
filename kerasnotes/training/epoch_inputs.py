"""The training data of every epoch, the next epoch's made while the current one trains."""

import concurrent.futures

import tensorflow as tf


class EpochInputs:
    """`(dataset, distributed iterator)` of each epoch of `train_data`.

    `prefetch(epoch + 1)` makes the next epoch's dataset and iterator in a background thread
    while epoch `epoch` trains, so an epoch boundary costs no pipeline start-up
    (benchmarks/epoch_boundary.py). A multi-worker run makes them in the loop instead, in
    the same order on every worker.

    Args:
        train_data: a `tf.data.Dataset`, or a pure function `epoch -> Dataset`.
        strategy: the `tf.distribute.Strategy` that distributes it.

    Example:

    >>> inputs = EpochInputs(lambda epoch: make_dataset(epoch), strategy)
    >>> dataset, iterator = inputs.take(0, skip_steps=3)   # a run resumed at step 3
    >>> inputs.prefetch(1)
    >>> inputs.close()
    """

    def __init__(self, train_data, strategy):
        self.train_data, self.strategy = train_data, strategy
        self._executor = None
        self._upcoming = {}

    def make(self, epoch, skip_steps=0):
        """`(dataset, iterator)` of `epoch`, its first `skip_steps` steps skipped."""
        dataset = self.train_data(epoch) if callable(self.train_data) else self.train_data
        if skip_steps:
            dataset = dataset.skip(skip_steps)
        return dataset, distributed_iterator(dataset, self.strategy)

    def prefetch(self, epoch):
        """Starts making the input of `epoch` (single process only)."""
        if self.strategy.extended._in_multi_worker_mode():
            return
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="kerasnotes-next-epoch")
        self._upcoming[epoch] = self._executor.submit(self.make, epoch)

    def take(self, epoch, skip_steps=0):
        """The input of `epoch`: prefetched, else made now."""
        upcoming = self._upcoming.pop(epoch, None)
        return upcoming.result() if upcoming is not None else self.make(epoch, skip_steps)

    def close(self):
        """Ends the background thread (after the input it is making, if any)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._upcoming.clear()


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
