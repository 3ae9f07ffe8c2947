"""Trainer.fit with steps_per_epoch: one input iterator for the whole run (Keras' semantics)."""

import numpy as np
import pytest
import tensorflow as tf

from tests.training.test_trainer import (
    Crash,
    build,
    crashing_at_step,
    make_dataset,
    regression_data,
)

EPOCHS = 3


def whole_run(x, y, calls):
    """`first_epoch -> the batches of epochs first_epoch..EPOCHS-1`, each epoch's batches as
    make_dataset's; records the epochs it is called with."""
    per_epoch = make_dataset(x, y)

    def from_epoch(first):
        calls.append(first)
        dataset = per_epoch(first)
        for epoch in range(first + 1, EPOCHS):
            dataset = dataset.concatenate(per_epoch(epoch))
        return dataset

    return from_epoch


def assert_same_weights(a, b):
    for got, want in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_one_iterator_trains_as_one_dataset_per_epoch(tmp_path):
    x, y = regression_data()
    per_epoch = build()
    per_epoch_history = per_epoch.fit(make_dataset(x, y), epochs=EPOCHS)
    calls, batches = [], []
    one_iterator = build()
    one_iterator.callbacks.callbacks.append(tf.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda step, logs: batches.append(step)))
    history = one_iterator.fit(whole_run(x, y, calls), epochs=EPOCHS, steps_per_epoch=8)
    assert calls == [0]  # made once, for the whole run
    assert batches == list(range(1, 8 * EPOCHS + 1))
    assert_same_weights(per_epoch, one_iterator)
    np.testing.assert_allclose(history["loss"], per_epoch_history["loss"], rtol=1e-5)
    # A Dataset holds the whole run from epoch 0: the same batches, never reset.
    as_dataset = build()
    as_dataset.fit(whole_run(x, y, [])(0), epochs=EPOCHS, steps_per_epoch=8)
    assert_same_weights(per_epoch, as_dataset)


def test_resume_mid_run_continues_from_the_epoch_and_step_it_stopped_at(tmp_path):
    x, y = regression_data()
    uninterrupted = build(run_dir=str(tmp_path / "a"))
    uninterrupted.fit(make_dataset(x, y), epochs=EPOCHS)

    crashing = crashing_at_step(build(run_dir=str(tmp_path / "b"), checkpoint_every_n_steps=3),
                                12)
    with pytest.raises(Crash):
        crashing.fit(whole_run(x, y, []), epochs=EPOCHS, steps_per_epoch=8)
    calls = []
    resumed = build(run_dir=str(tmp_path / "b"), seed=7)
    resumed.fit(whole_run(x, y, calls), epochs=EPOCHS, steps_per_epoch=8)
    assert calls == [1]  # epoch 2, its first 4 steps skipped
    assert int(resumed.optimizer.iterations.numpy()) == 8 * EPOCHS
    assert_same_weights(uninterrupted, resumed)
    # A Dataset of the whole run resumes by skipping the epochs and steps done.
    crashing = crashing_at_step(build(run_dir=str(tmp_path / "c"), checkpoint_every_n_steps=3),
                                12)
    with pytest.raises(Crash):
        crashing.fit(whole_run(x, y, [])(0), epochs=EPOCHS, steps_per_epoch=8)
    resumed = build(run_dir=str(tmp_path / "c"), seed=7)
    resumed.fit(whole_run(x, y, [])(0), epochs=EPOCHS, steps_per_epoch=8)
    assert_same_weights(uninterrupted, resumed)


def test_data_that_runs_out_is_named_with_steps_per_epoch():
    x, y = regression_data()
    trainer = build()
    with pytest.raises(ValueError, match=r"the training dataset of epoch 2 yielded no batch "
                                         r"\(it ran out: steps_per_epoch=8 needs 8 batches"):
        trainer.fit(make_dataset(x, y)(0), epochs=2, steps_per_epoch=8)
    assert int(trainer.optimizer.iterations.numpy()) == 8
    with pytest.raises(ValueError, match="steps_per_epoch must be a positive integer or None; "
                                         "received steps_per_epoch=0"):
        build().fit(make_dataset(x, y), epochs=1, steps_per_epoch=0)
