"""Trainer options: steps_per_execution, mixed precision (bf16, fp16 with loss scaling),
clipping under loss scaling, the weight guard, callbacks adding logs, profiles."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.training.checkpoints import NonFiniteLossError
from kerasnotes.training.precision import float32_copy, resolve_precision
from kerasnotes.training.trainer import Trainer
from tests.training.test_trainer import make_dataset, regression_data


@pytest.fixture(autouse=True)
def float32_policy():
    yield
    keras.mixed_precision.set_dtype_policy("float32")


def build(policy="float32", lr=0.05, seed=1, initial_scale=None, **kwargs):
    keras.mixed_precision.set_dtype_policy(policy)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(lr, momentum=0.9)
    if initial_scale is not None:  # a scale small enough that no float16 step overflows
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=initial_scale)
    return Trainer(model, keras.losses.MeanSquaredError(), optimizer,
                   [keras.metrics.MeanAbsoluteError()], verbose=0, **kwargs)


def test_steps_per_execution_gives_the_same_weights_and_history():
    x, y = regression_data(n=60)  # 8 batches of 8 and a last one of 4: a partial execution
    one = build()
    history_one = one.fit(make_dataset(x, y), epochs=3)
    five = build(steps_per_execution=5)
    history_five = five.fit(make_dataset(x, y), epochs=3)
    for a, b in zip(one.model.get_weights(), five.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(history_one["loss"], history_five["loss"], rtol=1e-6)
    assert int(five.global_step.numpy()) == 3 * 8


def test_steps_per_execution_checkpoints_on_their_exact_steps_and_resumes(tmp_path):
    x, y = regression_data()
    data = make_dataset(x, y)
    reference = build()
    reference.fit(data, epochs=2)
    crashing = build(run_dir=str(tmp_path), steps_per_execution=4, checkpoint_every_n_steps=3,
                     max_checkpoints=10)
    original = crashing._train_function

    class Crash(Exception):
        pass

    def crash_after_step_10(iterator, num_steps):
        if int(crashing.global_step.numpy()) >= 10:
            raise Crash()
        return original(iterator, num_steps)

    crashing._train_function = crash_after_step_10
    with pytest.raises(Crash):
        crashing.fit(data, epochs=2)
    numbers = sorted(int(p.split("-")[1].split(".")[0]) for p in os.listdir(
        tmp_path / "checkpoints") if p.endswith(".index"))
    # Executions of 3, 3, 2 steps (epoch end at 8), then 1, 3: the crash comes before the
    # execution after global step 12.
    assert numbers == [3, 6, 8, 9, 12]
    resumed = build(run_dir=str(tmp_path), seed=9, steps_per_execution=4)
    assert resumed.restore() == (1, 4)
    resumed.fit(data, epochs=2)
    for a, b in zip(reference.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_mixed_bfloat16_trains_with_float32_loss_and_float32_export_copy():
    x, y = regression_data()
    trainer = build("mixed_bfloat16")
    assert trainer.model.layers[0].compute_dtype == "bfloat16"
    history = trainer.fit(make_dataset(x, y), epochs=5)
    assert history["loss"][-1] < history["loss"][0]
    copy = float32_copy(trainer.model)
    assert all(layer.compute_dtype == "float32" for layer in copy.layers)
    # The copy computes in float32 from the same float32 weights: close to the bf16 model.
    np.testing.assert_allclose(copy(x[:4]).numpy(),
                               np.asarray(trainer.model(x[:4]), "float32"), atol=0.1)
    for a, b in zip(copy.get_weights(), trainer.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mixed_float16_wraps_the_optimizer_in_loss_scaling():
    x, y = regression_data()
    trainer = build("mixed_float16")
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    # The default scale (2**15) overflows float16 at first: those steps are skipped and the
    # scale halves, with no NaN reaching the weights or the guard.
    history = trainer.fit(make_dataset(x, y), epochs=5)
    assert float(trainer.optimizer.dynamic_scale.numpy()) < 2**15
    assert history["loss"][-1] < history["loss"][0]


def test_mixed_float16_with_a_safe_scale_matches_float32():
    x, y = regression_data()
    reference = build()
    reference.fit(make_dataset(x, y), epochs=2)
    trainer = build("mixed_float16", initial_scale=1024.0)
    trainer.fit(make_dataset(x, y), epochs=2)
    for a, b in zip(reference.model.get_weights(), trainer.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-2)  # float16 activations


def test_clipping_under_loss_scaling_clips_the_unscaled_gradient():
    x, y = regression_data()
    reference = build(lr=0.01, clip_global_norm=0.5)
    reference.fit(make_dataset(x, y), epochs=1)
    scaled = build("mixed_float16", lr=0.01, clip_global_norm=0.5, initial_scale=1024.0)
    scaled.fit(make_dataset(x, y), epochs=1)
    # Had the scaled gradient (x 32768) been clipped, every step would be ~32768x too small.
    moved_reference = [np.abs(a - b).sum() for a, b in zip(
        reference.model.get_weights(), build(lr=0.01).model.get_weights())]
    moved_scaled = [np.abs(a - b).sum() for a, b in zip(
        scaled.model.get_weights(), build(lr=0.01).model.get_weights())]
    np.testing.assert_allclose(moved_scaled, moved_reference, rtol=0.05)


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    x, y = regression_data()
    good = build(run_dir=str(tmp_path))
    good.fit(make_dataset(x, y), epochs=1)
    # A resumed run with an absurd rate: the loss of each step is computed before the
    # update, so the last step's update makes inf weights that no loss check sees.
    absurd = build(run_dir=str(tmp_path), lr=1e38)
    with pytest.raises(NonFiniteLossError, match="ckpt-8"):
        absurd.fit(make_dataset(x, y), epochs=2)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-8")


def test_callbacks_see_the_epochs_and_can_add_logs(tmp_path):
    x, y = regression_data()
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(("begin", epoch))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("end", epoch, "val_loss" in logs))
            logs["val_score"] = 1.0 + epoch

    trainer = build(run_dir=str(tmp_path), callbacks=[Probe()])
    history = trainer.fit(make_dataset(x, y), epochs=2,
                          validation_data=make_dataset(x, y)(0))
    assert seen == [("begin", 0), ("end", 0, True), ("begin", 1), ("end", 1, True)]
    assert history["val_score"] == [1.0, 2.0]
    tags = set()
    folder = tmp_path / "validation"
    for name in os.listdir(folder):
        for event in tf.compat.v1.train.summary_iterator(str(folder / name)):
            tags.update(v.tag for v in event.summary.value)
    assert "epoch_score" in tags


def test_profile_steps_write_a_trace_for_the_profile_tab(tmp_path):
    x, y = regression_data()
    trainer = build(run_dir=str(tmp_path), profile_steps=(2, 3))
    trainer.fit(make_dataset(x, y), epochs=1)
    profile = tmp_path / "train" / "plugins" / "profile"
    runs = os.listdir(profile)
    assert len(runs) == 1
    assert any(name.endswith(".xplane.pb") for name in os.listdir(profile / runs[0]))


def test_auto_precision_names_its_reason():
    policy, reason = resolve_precision("auto")
    assert policy in ("float32", "mixed_bfloat16", "mixed_float16")
    assert reason.startswith("auto: ")
    with pytest.raises(ValueError, match="`precision` 'half'"):
        resolve_precision("half")


def test_a_mid_epoch_resume_continues_the_epochs_metric_states(tmp_path):
    x, y = regression_data()
    data = make_dataset(x, y)
    uninterrupted = build()
    expected = uninterrupted.fit(data, epochs=2)
    crashing = build(run_dir=str(tmp_path), checkpoint_every_n_steps=3)
    original = crashing._train_function

    class Crash(Exception):
        pass

    def crash_after_step_11(iterator, num_steps):
        if int(crashing.global_step.numpy()) >= 11:
            raise Crash()
        return original(iterator, num_steps)

    crashing._train_function = crash_after_step_11
    with pytest.raises(Crash):
        crashing.fit(data, epochs=2)
    resumed = build(run_dir=str(tmp_path), seed=3)
    history = resumed.fit(data, epochs=2)  # resumes at epoch 2, step 1 (global step 9)
    np.testing.assert_allclose(history["loss"], expected["loss"][1:], rtol=1e-6)
    np.testing.assert_allclose(history["mean_absolute_error"],
                               expected["mean_absolute_error"][1:], rtol=1e-6)
