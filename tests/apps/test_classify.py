"""apps.classify end to end on a tiny config: a first run and a model too large for its input as
a user runs them (subprocesses), the other runs through the same `cli` or `main` in this
process."""

import functools
import os

import numpy as np
import pytest
import tensorflow as tf

from apps import classify
from tests.apps import app_runner

TINY = ["--num-train", "256", "--num-test", "64", "--batch-size", "64", "--verbose", "2",
        "--log-every-n-steps", "2"]


run_app = functools.partial(app_runner.run_app, "classify")
run_in_process = functools.partial(app_runner.run_app_in_process, "classify")


event_tags = app_runner.event_tags


def test_train_export_tensorboard_and_resume(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    args = [*TINY, "--logdir", str(run_dir), "--export-dir", str(export_dir)]
    first = run_app([*args, "--epochs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "synthetic glyphs" in first.stdout and "not real data" in first.stdout
    assert "test_accuracy" in first.stdout
    assert f"Exported SavedModel: {export_dir / '1'}" in first.stdout
    assert f"tensorboard --logdir {run_dir}" in first.stdout
    assert (export_dir / "1" / "saved_model.pb").exists()
    assert (run_dir / "config.json").exists()
    assert {"epoch_loss", "epoch_accuracy", "batch_loss", "learning_rate",
            "examples_per_second", "epoch_examples_per_second"} <= event_tags(run_dir / "train")
    assert {"epoch_loss", "epoch_accuracy", "test_images", "test_predictions"} <= event_tags(
        run_dir / "validation")

    # The same command with more epochs continues from the checkpoint of epoch 1.
    second = run_in_process([*args, "--epochs", "2"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "Epoch 2/2" in second.stdout
    assert "Epoch 1/2" not in second.stdout
    assert (export_dir / "2" / "saved_model.pb").exists()

    # A different model in the same run folder is refused with a clear message.
    other = run_in_process([*args, "--epochs", "2", "--model", "mlp"], tmp_path)
    assert other.returncode == 2
    assert "model: 'lenet' -> 'mlp'" in other.stderr and "Traceback" not in other.stderr

    served = tf.saved_model.load(str(export_dir / "2")).signatures["serving_default"]
    out = served(images=tf.zeros((3, 28, 28, 1), tf.uint8))
    assert out["probabilities"].shape == (3, 10)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "idx:/nonexistent/fashion"], "/nonexistent/fashion"),
        (["--data", "mnist-ish"], "mnist-ish"),
        (["--lr", "-1"], "--lr"),
        (["--model", "transformer"], "--model"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    result = run_in_process([*TINY, "--logdir", str(tmp_path / "run"), *args], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_documents_every_flag():
    with pytest.raises(SystemExit) as exit_info:
        classify.parse_args(["--help"])
    assert exit_info.value.code == 0


def test_defaults_are_visible_in_the_config():
    config = classify.parse_args([])
    assert (config.model, config.data, config.epochs) == ("lenet", "synthetic", 10)
    assert set(classify.MODELS) == {"softmax", "mlp", "lenet", "alexnet", "vgg11", "nin",
                                    "googlenet", "resnet18", "densenet"}
    assert classify.parse_args(["--model", "alexnet"]).resize == 224
    assert classify.parse_args(["--model", "resnet18"]).resize == 96
    assert classify.parse_args(["--model", "mlp"]).resize is None


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "nin", "googlenet", "resnet18", "densenet"])
def test_every_cnn_builds_at_its_default_size(name):
    config = classify.parse_args(["--model", name, "--width-divisor", "16"])
    model = classify.build_model(config, 10, (config.resize, config.resize, 1))
    assert model.input_shape == (None, config.resize, config.resize, 1)
    assert model.output_shape == (None, 10)


def test_cnn_trains_in_process_with_resize(tmp_path):
    metrics, _ = classify.main(classify.parse_args([
        "--model", "resnet18", "--width-divisor", "16", "--resize", "32", *TINY,
        "--epochs", "1", "--logdir", str(tmp_path / "run"),
        "--export-dir", str(tmp_path / "export"), "--verbose", "0",
    ]))
    assert np.isfinite(metrics["test_loss"])
    served = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures["serving_default"]
    assert served(images=tf.zeros((2, 28, 28, 1), tf.uint8))["class_ids"].shape == (2,)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_exports_float32(tmp_path, capsys, precision):
    metrics, export_path = classify.main(classify.parse_args([
        *TINY, "--epochs", "1", "--precision", precision, "--logdir", str(tmp_path / "run"),
        "--export-dir", str(tmp_path / "export")]))
    assert f"Precision: {precision}" in capsys.readouterr().out
    assert np.isfinite(metrics["test_loss"]) and 0.0 <= metrics["test_accuracy"] <= 1.0
    served = tf.saved_model.load(export_path).signatures["serving_default"]
    out = served(images=tf.zeros((2, 28, 28, 1), tf.uint8))
    assert out["probabilities"].dtype == tf.float32  # the export is a float32 copy
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)
    by_bytes = tf.saved_model.load(export_path).signatures["classify_image_bytes"]
    png = tf.io.encode_png(tf.zeros((28, 28, 3), tf.uint8))
    np.testing.assert_allclose(by_bytes(image_bytes=tf.stack([png]))["probabilities"],
                               out["probabilities"][:1], atol=1e-6)


def test_alexnet_without_resize_names_the_model_and_shapes(tmp_path):
    result = run_app([*TINY, "--model", "alexnet", "--resize", "28", "--width-divisor", "16",
                      "--logdir", str(tmp_path / "run")], tmp_path, timeout=120)
    assert result.returncode == 2
    assert "AlexNet" in result.stderr and "(28, 28, 1)" in result.stderr
    assert "Traceback" not in result.stderr


def test_fashion_mnist_through_tfds_mock(tmp_path, capsys):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=32):
        metrics, export_path = classify.main(classify.parse_args([
            "--data", "fashion_mnist", "--data-dir", str(tmp_path / "tfds"), "--epochs", "1",
            "--batch-size", "16", "--model", "softmax", "--logdir", str(tmp_path / "run"),
            "--export-dir", str(tmp_path / "export"), "--verbose", "0",
        ]))
    out = capsys.readouterr().out
    assert "Fashion-MNIST" in out or "fashion" in out.lower()
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and np.isfinite(metrics["test_loss"])
    assert export_path.endswith(os.path.join("export", "1"))
