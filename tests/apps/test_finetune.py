"""apps.finetune end to end on a tiny config: a first run and a truncated JPEG as a user runs
them (subprocesses), the other runs through the same `cli` or `main` in this process."""

import functools
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from apps import finetune
from kerasnotes.models.finetune import load_source_model
from tests.apps import app_runner

TINY = ["--source-train-per-class", "6", "--target-train-per-class", "4", "--source-epochs",
        "1", "--epochs", "1", "--width-divisor", "16", "--batch-size", "32", "--verbose", "2"]


run_app = functools.partial(app_runner.run_app, "finetune")
run_in_process = functools.partial(app_runner.run_app_in_process, "finetune")


def test_source_finetune_scratch_and_export(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    result = run_app([*TINY, "--logdir", str(run_dir), "--export-dir", str(export_dir)],
                     tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Step 1: training ResNet-18" in result.stdout and "not real data" in result.stdout
    line = next(text for text in result.stdout.splitlines()
                if text.startswith("Target test accuracy: fine-tuned "))
    # Issue 13: the verdict carries its uncertainty (Wilson intervals, McNemar's exact test).
    assert re.search(r"fine-tuned \d\.\d{4} \(95% CI \[\d\.\d\d, \d\.\d\d\]\) vs from scratch "
                     r"\d\.\d{4} \(95% CI \[.*\]\) on \d+ test examples; McNemar's exact test: "
                     r"(fine-tuning wins|from scratch wins|no significant difference) \(p[=<]",
                     line), line
    assert "mcnemar_p_value" in result.stdout
    assert "finetuned_test_accuracy" in result.stdout and "scratch_test_accuracy" in result.stdout
    assert (export_dir / "1" / "saved_model.pb").exists()
    source = run_dir / "source_model.keras"
    assert source.exists()
    for phase in ("source", "finetune", "scratch"):
        assert (run_dir / phase / "train").is_dir()


@pytest.mark.slow
def test_image_folder_with_a_saved_source_model(tmp_path):
    # Steps 2-4 only: a target image folder and a source model saved by a first run.
    first = run_app([*TINY, "--logdir", str(tmp_path / "run")], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    source = tmp_path / "run" / "source_model.keras"
    export_dir = tmp_path / "export"
    from kerasnotes.data.images.image_folder import write_image_folder
    from kerasnotes.data.images.synthetic_finetune_data import load_synthetic_target

    write_image_folder(str(tmp_path / "folder"), load_synthetic_target(3, 2))
    result = run_in_process([*TINY, "--data", str(tmp_path / "folder"), "--source-model",
                             str(source), "--logdir", str(tmp_path / "run2"), "--export-dir",
                             str(export_dir)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"image folder {tmp_path / 'folder'}" in result.stdout
    assert "Step 1: source model" in result.stdout
    assert (export_dir / "1" / "saved_model.pb").exists()


def test_one_class_folder_gives_one_clear_line(tmp_path):
    for split in ("train", "test"):
        (tmp_path / "data" / split / "cats").mkdir(parents=True)
    result = run_in_process([*TINY, "--data", str(tmp_path / "data"), "--logdir",
                             str(tmp_path / "run")], tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "data" / "train") in result.stderr and "two" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--head-lr-multiplier", "2000"], "--head-lr-multiplier: must be between 1 and 1000"),
    (["--head-lr-multiplier", "0.5"], "--head-lr-multiplier: must be between 1 and 1000"),
    (["--bn-momentum", "1"], "--bn-momentum"),
])
def test_bad_flags(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        finetune.parse_args(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--source-model", "a.keras", "--weights", "imagenet"],
     "--source-model and --weights are alternatives"),
    # The synthetic source images are 28x28: refused before anything is read.
    (["--data", "photos", "--weights", "none", "--image-size", "96"], "--image-size 28"),
])
def test_bad_flag_combinations(args, message):
    with pytest.raises(ValueError, match=message):
        finetune.parse_args(args)


def test_defaults_are_visible():
    config = finetune.parse_args([])
    assert (config.head_lr_multiplier, config.data, config.source_model) == (10.0, "synthetic",
                                                                             None)
    assert (config.lr, config.image_size, config.epochs, config.batch_size) == (0.01, 28, 20, 64)
    assert finetune.parse_args(["--head-lr-multiplier", "1000"]).head_lr_multiplier == 1000.0
    assert finetune.parse_args(["--lr", "0.05"]).lr == 0.05


def test_help_shows_the_common_flags_that_apply(capsys):
    with pytest.raises(SystemExit):
        finetune.parse_args(["--help"])
    text = capsys.readouterr().out
    for flag in ("--epochs", "--batch-size", "--lr", "--data", "--precision", "--export-dir",
                 "--source-epochs", "--head-lr-multiplier"):
        assert flag in text


def test_missing_source_model_names_the_file(tmp_path):
    config = finetune.parse_args(["--source-model", str(tmp_path / "none.keras")])
    with pytest.raises(FileNotFoundError, match="none.keras"):
        load_source_model((28, 28, 3), config.source_model, config.weights)


@pytest.mark.slow
def test_finetuning_wins_on_the_default(tmp_path):
    result = run_app(["--logdir", str(tmp_path / "run"), "--export-dir",
                      str(tmp_path / "export"), "--verbose", "0"], tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(text for text in result.stdout.splitlines()
                if text.startswith("Target test accuracy"))
    assert "McNemar's exact test: fine-tuning wins (p" in line, line
    metrics = dict(text.strip().split(": ") for text in result.stdout.splitlines()
                   if text.strip().startswith(("finetuned_test_", "scratch_test_", "mcnemar_")))
    finetuned = float(metrics["finetuned_test_accuracy"])
    scratch = float(metrics["scratch_test_accuracy"])
    # The default run measured 0.87 vs 0.61 (seed 0; McNemar p < 0.0001 on the 200 test
    # images) and 0.94 vs 0.78 (seed 1).
    assert finetuned >= 0.8 and finetuned - scratch >= 0.1, line
    assert float(metrics["mcnemar_p_value"]) < 0.05, line


def test_run_folder_of_dot_and_dot_dot_is_a_named_subfolder(tmp_path, monkeypatch):
    # Issue 13 item 8: `--data .` made runs/finetune/ itself the run folder, `--data ..` runs/.
    from apps.flags import safe_name

    (tmp_path / "hotdog" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "hotdog" / "sub")
    for data, name in ((".", "sub"), ("..", "hotdog"), ("../", "hotdog"), ("~", None),
                       ("synthetic", "synthetic"), (str(tmp_path / "hotdog"), "hotdog")):
        config = finetune.parse_args(["--data", data])
        path = os.path.join("runs", "finetune", safe_name(finetune.run_name(config)))
        parent, folder = os.path.split(path)
        assert parent == os.path.join("runs", "finetune") and folder not in ("", ".", ".."), path
        if name is not None:
            assert folder == name


def write_tiny_jpeg_folder(directory):
    rng = np.random.default_rng(0)
    paths = []
    for split in ("train", "test"):
        for name in ("hotdog", "not-hotdog"):
            (directory / split / name).mkdir(parents=True)
            for i in range(2):
                path = directory / split / name / f"{i}.jpg"
                image = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
                path.write_bytes(tf.io.encode_jpeg(image).numpy())
                paths.append(path)
    return paths


def test_truncated_jpeg_gives_one_error_line_naming_it(tmp_path):
    folder = tmp_path / "hotdog"
    bad = write_tiny_jpeg_folder(folder)[5]  # test/hotdog/1.jpg
    bad.write_bytes(bad.read_bytes()[:300])
    result = run_app([*TINY, "--data", ".", "--source-model", "none.keras"], folder,
                     timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("python -m apps.finetune: error:")]
    assert len(errors) == 1 and errors[0].startswith(
        f"python -m apps.finetune: error: {os.path.join('.', 'test', 'hotdog', '1.jpg')} is not "
        "a readable image ("), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    # The bad input is named before the run folder is touched: nothing was created.
    assert not (folder / "runs").exists()


def test_data_dot_names_the_run_folder_after_the_folder(tmp_path, monkeypatch):
    folder = tmp_path / "hotdog"
    folder.mkdir()
    monkeypatch.chdir(folder)
    config = finetune.parse_args(["--data", ".", "--weights", "none"])
    assert finetune.run_name(config) == "hotdog"  # runs/finetune/hotdog, not runs/finetune


@pytest.fixture
def float32_afterwards():
    """In-process runs set the global Keras dtype policy: put float32 back afterwards."""
    yield
    import keras

    keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.usefixtures("float32_afterwards")
# mixed_float16 is the GPU policy; on CPU it runs ~2x slower than bf16 here, still seconds.
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_runs_and_exports_float32_signatures(tmp_path, precision):
    metrics, export_path = finetune.main(finetune.parse_args([
        *TINY, "--precision", precision, "--verbose", "0", "--logdir",
        str(tmp_path / "run"), "--export-dir", str(tmp_path / "export")]))
    assert np.isfinite(metrics["finetuned_test_loss"]) and 0 <= metrics["mcnemar_p_value"] <= 1
    served = tf.saved_model.load(export_path).signatures["serving_default"]
    (spec,) = served.structured_input_signature[1].values()
    assert spec.dtype == tf.uint8
    out = served(images=tf.zeros((2, 28, 28, 3), tf.uint8))
    assert out["probabilities"].dtype == tf.float32 and out["probabilities"].shape == (2, 4)
    assert (tmp_path / "run" / "source_model.keras").exists()
