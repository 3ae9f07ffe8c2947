"""EpochTimes: the wall time of every epoch a fit trains, and their median."""

import itertools

import tensorflow as tf

from kerasnotes.training.callbacks.epoch_times import EpochTimes
from tests.training import tiny_problem


def test_times_every_trained_epoch_and_leaves_the_first_out_of_the_median(tmp_path):
    clock = itertools.accumulate([10.0, 5.0, 1.0, 3.0, 2.0])  # 10, 15, 16, 19, 21
    timer = EpochTimes(clock=lambda: next(clock))
    trainer = tiny_problem.build_trainer(tf.distribute.get_strategy(), str(tmp_path),
                                         callbacks=[timer])
    trainer.fit(tiny_problem.dataset_for_epoch, epochs=4)
    assert timer.seconds == [5.0, 1.0, 3.0, 2.0]
    assert timer.median_seconds() == 2.0  # of 1, 3 and 2: the first epoch traced the step

    # The same run resumed with nothing left to train: no epoch, no time.
    resumed = EpochTimes()
    trainer = tiny_problem.build_trainer(tf.distribute.get_strategy(), str(tmp_path),
                                         callbacks=[resumed])
    trainer.fit(tiny_problem.dataset_for_epoch, epochs=4)
    assert resumed.seconds == [] and resumed.median_seconds() is None


def test_one_epoch_is_its_own_median():
    timer = EpochTimes()
    timer.seconds = [4.0]
    assert timer.median_seconds() == 4.0
