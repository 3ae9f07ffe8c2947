import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.training.trainer import NonFiniteLossError, Trainer


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[2.0], [-3.4], [1.0]], "float32") + 4.2).astype("float32")
    return x, y


def make_dataset(x, y, batch_size=8, seed=0):
    def for_epoch(epoch):
        # The order depends on (seed, epoch) only, not on TensorFlow's global seed.
        order = np.random.default_rng(seed + epoch).permutation(len(x))
        return tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(batch_size)

    return for_epoch


def build(strategy=None, lr=0.05, seed=1, **trainer_kwargs):
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                  keras.layers.Dense(1)])
        optimizer = keras.optimizers.SGD(lr, momentum=0.9)
    return Trainer(model, keras.losses.MeanSquaredError(), optimizer,
                   [keras.metrics.MeanAbsoluteError()], strategy=strategy, verbose=0,
                   **trainer_kwargs)


class Crash(Exception):
    """The fault the resume tests inject."""


def crashing_at_step(trainer, step):
    """`trainer`, its train function raising `Crash` when the optimizer has made `step`
    steps: a crash at a chosen point of a run, not a timed kill."""
    original = trainer._train_function

    def train_function(iterator, num_steps):
        if int(trainer.optimizer.iterations.numpy()) == step:
            raise Crash()
        return original(iterator, num_steps)

    trainer._train_function = train_function
    return trainer


def test_loss_falls_and_history_has_metrics():
    x, y = regression_data()
    trainer = build()
    history = trainer.fit(make_dataset(x, y), epochs=5,
                          validation_data=tf.data.Dataset.from_tensor_slices((x, y)).batch(16))
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert set(history) == {"loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"}
    # The evaluated loss is the mean squared error of the final model on the same data.
    expected = float(np.mean((trainer.model.predict(x, verbose=0) - y) ** 2))
    assert history["val_loss"][-1] == pytest.approx(expected, rel=1e-5)


def test_loss_is_averaged_over_the_global_batch_even_for_a_partial_batch():
    # One SGD step (no momentum) on a batch of 5 must equal the gradient of the mean loss.
    x, y = regression_data(5)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    reference = keras.models.clone_model(model)
    reference.set_weights(model.get_weights())
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.1),
                      verbose=0)
    trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(reference(x) - y))
    grads = tape.gradient(loss, reference.trainable_variables)
    expected = [w - 0.1 * g for w, g in zip(reference.get_weights(), grads)]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    x, y = regression_data()
    data = make_dataset(x, y)
    uninterrupted = build(run_dir=str(tmp_path / "a"))
    uninterrupted.fit(data, epochs=3)

    first = build(run_dir=str(tmp_path / "b"))
    first.fit(data, epochs=1)  # the "crash": the process stops after epoch 1
    resumed = build(run_dir=str(tmp_path / "b"), seed=99)  # fresh weights, restored below
    history = resumed.fit(data, epochs=3)
    assert len(history["loss"]) == 2  # only epochs 2 and 3 ran
    for a, b in zip(uninterrupted.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert int(resumed.optimizer.iterations.numpy()) == 3 * 8


def test_resume_mid_epoch_skips_the_batches_already_trained(tmp_path):
    x, y = regression_data()
    data = make_dataset(x, y)
    uninterrupted = build(run_dir=str(tmp_path / "a"))
    uninterrupted.fit(data, epochs=2)

    crashing = crashing_at_step(build(run_dir=str(tmp_path / "b"), checkpoint_every_n_steps=3),
                                12)
    with pytest.raises(Crash):
        crashing.fit(data, epochs=2)
    resumed = build(run_dir=str(tmp_path / "b"), seed=7)
    epoch, step = resumed.restore()
    assert (epoch, step) == (1, 4)  # checkpoint at global step 12 = epoch 2, step 4
    resumed.fit(data, epochs=2)
    for a, b in zip(uninterrupted.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_nan_guard_names_the_step():
    x, y = regression_data()
    y[20] = np.nan  # batch 3 of the unshuffled data holds example 20
    trainer = build()
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 3 \(global step 3\)"):
        trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1)


def test_tensorboard_scalars_are_written(tmp_path):
    x, y = regression_data()
    trainer = build(run_dir=str(tmp_path), log_every_n_steps=2)
    trainer.fit(make_dataset(x, y), epochs=2,
                validation_data=tf.data.Dataset.from_tensor_slices((x, y)).batch(16))
    tags = {"train": set(), "validation": set()}
    for split in tags:
        for name in os.listdir(tmp_path / split):
            for event in tf.compat.v1.train.summary_iterator(str(tmp_path / split / name)):
                for value in event.summary.value:
                    tags[split].add(value.tag)
    assert {"batch_loss", "learning_rate", "examples_per_second", "epoch_loss",
            "epoch_mean_absolute_error", "epoch_learning_rate"} <= tags["train"]
    assert {"epoch_loss", "epoch_mean_absolute_error"} <= tags["validation"]


def test_mirrored_strategy_matches_default_strategy(mirrored_strategy):
    x, y = regression_data()
    single = build()
    single.fit(make_dataset(x, y), epochs=2)
    mirrored = build(mirrored_strategy)
    mirrored.fit(make_dataset(x, y), epochs=2)
    for a, b in zip(single.model.get_weights(), mirrored.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_clipping_uses_the_norm_of_the_summed_gradient(mirrored_strategy):
    x, y = regression_data(16)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    single = build(clip_global_norm=0.5, lr=0.1)
    reference = keras.models.clone_model(single.model)
    reference.set_weights(single.model.get_weights())
    single.fit(data, epochs=1)
    # One momentum-SGD step from zero velocity is w - lr * g' with the notes' clipping
    # g' = min(theta / ||g||, 1) g.
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(reference(x) - y))
    grads = [np.array(g) for g in tape.gradient(loss, reference.trainable_variables)]
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    assert norm > 0.5  # the clipping is active
    for got, w, g in zip(single.model.get_weights(), reference.get_weights(), grads):
        np.testing.assert_allclose(got, w - 0.1 * min(0.5 / norm, 1.0) * g, atol=1e-6)
    mirrored = build(mirrored_strategy, clip_global_norm=0.5, lr=0.1)
    mirrored.fit(data, epochs=1)
    for a, b in zip(single.model.get_weights(), mirrored.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_model_outside_strategy_scope_is_rejected(mirrored_strategy):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="strategy's scope"):
        Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.1),
                strategy=mirrored_strategy)


def test_clipping_with_unknown_gradient_shapes_and_an_epoch_callback(mirrored_strategy):
    # A Dense on 3-D inputs of unknown batch size gives gradients without a static shape.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5, 3)).astype("float32")
    y = rng.normal(size=(8, 5, 2)).astype("float32")
    with mirrored_strategy.scope():
        model = keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(2)])
        optimizer = keras.optimizers.SGD(0.1)
    seen = []
    trainer = Trainer(model, keras.losses.MeanSquaredError(), optimizer,
                      strategy=mirrored_strategy, clip_global_norm=0.1, verbose=0,
                      callbacks=[keras.callbacks.LambdaCallback(
                          on_epoch_begin=lambda epoch, logs: seen.append(epoch))])
    history = trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=2)
    assert np.isfinite(history["loss"]).all()
    assert seen == [0, 1]


class _Summer(keras.Model):
    """Trains itself (its own `train_step`, no optimizer): adds each batch to `total`."""

    def __init__(self):
        super().__init__()
        self.total = keras.Variable(0.0, name="total")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True

    def train_step(self, data):
        self.total.assign_add(tf.reduce_sum(data))
        loss = tf.reduce_mean(data)
        self.loss_tracker.update_state(loss)
        return {"loss": loss, "examples": tf.cast(tf.size(data), tf.float32)}


def _one_to_eight():  # 4 steps: [1, 2], [3, 4], [5, 6], [7, 8]
    return tf.data.Dataset.range(1, 9).map(lambda i: tf.cast(i, tf.float32)).batch(2)


def test_a_model_with_its_own_train_step_trains_checkpoints_and_resumes(tmp_path):
    model = _Summer()
    seen = []
    probe = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda step, logs: seen.append((step, logs["loss"])))
    trainer = Trainer(model, None, None, run_dir=str(tmp_path), callbacks=[probe], verbose=0,
                      steps_per_execution=2, checkpoint_every_n_steps=2)
    history = trainer.fit(_one_to_eight(), epochs=2)
    assert float(model.total.numpy()) == 2 * 36
    assert history["loss"] == [4.5, 4.5]  # the model's metric: the mean of the step means
    assert seen == [(2, 2.5), (4, 6.5), (6, 2.5), (8, 6.5)]  # mean loss of each execution
    assert trainer.examples_seen == 16
    resumed = _Summer()
    history = Trainer(resumed, None, None, run_dir=str(tmp_path), verbose=0).fit(
        _one_to_eight(), epochs=3)
    assert history["loss"] == [4.5] and float(resumed.total.numpy()) == 3 * 36


def test_a_checkpoint_of_another_model_is_refused_in_one_line(tmp_path):
    Trainer(_Summer(), None, None, run_dir=str(tmp_path), verbose=0).fit(_one_to_eight(), 1)
    trainer = build(run_dir=str(tmp_path))
    with pytest.raises(ValueError, match="is not one of this model's") as caught:
        trainer.fit(make_dataset(*regression_data()), epochs=1)
    assert "\n" not in str(caught.value) and "nothing was changed" in str(caught.value)
