"""apps.style_transfer end to end, as a user runs it: a subprocess on a tiny image."""

import functools

import keras
import numpy as np
import pytest

from apps import style_transfer
from tests.apps import app_runner

TINY = ["--height", "24", "--width", "32", "--log-every-n-steps", "1",
        "--image-every-n-steps", "2"]


run_app = functools.partial(app_runner.run_app, "style_transfer")


event_tags = app_runner.event_tags


def test_runs_writes_png_tensorboard_and_resumes(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "out" / "stylized.png"
    style = tmp_path / "style.jpg"
    keras.utils.save_img(str(style), np.random.default_rng(0).uniform(0, 255, (40, 30, 3)))
    args = [*TINY, "--style", str(style), "--logdir", str(run_dir), "--out", str(out)]
    first = run_app([*args, "--steps", "2"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "embedded scene of shapes" in first.stdout and "not a real image" in first.stdout
    assert f"style: {style}" in first.stdout and "random VGG-19 weights" in first.stdout
    assert "style_loss" in first.stdout and f"Stylized image: {out}" in first.stdout
    image = keras.utils.img_to_array(keras.utils.load_img(str(out)))
    assert image.shape == (24, 32, 3)
    assert {"content_loss", "style_loss", "tv_loss", "total_loss", "synthesized_image",
            "content_image", "style_image"} <= event_tags(run_dir / "train")

    second = run_app([*args, "--steps", "3"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "step 3/3" in second.stdout
    assert "step 1/3" not in second.stdout


@pytest.mark.parametrize("make, message", [
    (lambda d: ["--content", str(d / "missing.jpg")], "missing.jpg"),
    (lambda d: ["--style", str(d / "notes.txt")], "notes.txt"),
    (lambda d: ["--content", str(d / "tiny.png")], "too small"),
    (lambda d: ["--height", "8"], "--height"),
])
def test_bad_input_errors_name_the_file_or_flag(tmp_path, make, message):
    (tmp_path / "notes.txt").write_text("not an image")
    keras.utils.save_img(str(tmp_path / "tiny.png"), np.zeros((8, 8, 3)))
    config = style_transfer.parse_args([*TINY, *make(tmp_path)])
    with pytest.raises((ValueError, OSError), match=message):
        style_transfer.build_images(config)


def test_bad_flag_value_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        style_transfer.parse_args(["--tv-weight", "-1"])
    assert exit_info.value.code == 2 and "--tv-weight" in capsys.readouterr().err


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
    config = style_transfer.parse_args([])
    assert (config.content, config.style, config.weights) == (None, None, None)
    assert (config.style_weight, config.tv_weight) == (1e3, 10.0)


def test_minimum_size_is_vgg19s():
    from kerasnotes.models.vgg19_features import VGG19_MIN_SIZE

    assert style_transfer.MIN_SIZE == VGG19_MIN_SIZE
