"""apps.segmentation end to end on a tiny config: a first training run and a bad image as a
user runs them (subprocesses), the other runs through the same `cli` in this process."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from apps import segmentation
from apps.runner import predict_cli
from tests.apps import app_runner

TINY = ["--num-train", "12", "--num-val", "6", "--batch-size", "6", "--crop-size", "64", "64",
        "--width-divisor", "32", "--verbose", "2", "--log-every-n-steps", "1"]


run_app = functools.partial(app_runner.run_app, "segmentation")
run_in_process = functools.partial(app_runner.run_app_in_process, "segmentation")


event_tags = app_runner.event_tags


def test_train_export_predict_and_resume(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    args = [*TINY, "--logdir", str(run_dir), "--export-dir", str(export_dir),
            "--cache-dir", str(tmp_path / "cache")]
    first = run_app([*args, "--epochs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "synthetic shapes" in first.stdout and "not real data" in first.stdout
    assert "val_mean_iou" in first.stdout and "val_pixel_accuracy" in first.stdout
    assert f"Exported SavedModel: {export_dir / '1'}" in first.stdout
    assert {"epoch_loss", "epoch_pixel_accuracy", "epoch_mean_iou", "batch_loss"} <= event_tags(
        run_dir / "train")
    assert {"epoch_mean_iou", "input_truth_prediction"} <= event_tags(run_dir / "validation")
    assert json.loads((run_dir / "config.json").read_text())["crop_size"] == [64, 64]

    second = run_in_process([*args, "--epochs", "2"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "Epoch 2/2" in second.stdout
    assert "Epoch 1/2" not in second.stdout

    # The export takes uint8 images of any size, in a process without kerasnotes.
    code = (
        "import sys, numpy as np, tensorflow as tf\n"
        "f = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = f(images=tf.zeros((2, 50, 77, 3), tf.uint8))\n"
        "assert out['labels'].shape == (2, 50, 77) and out['labels'].dtype == tf.uint8\n"
        "assert out['colored'].shape == (2, 50, 77, 3)\n"
        "assert 'kerasnotes' not in sys.modules\n"
        "print('served ok')\n"
    )
    served = subprocess.run([sys.executable, "-c", code, str(export_dir / "2")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "served ok" in served.stdout, served.stderr[-2000:]

    # predict: one image file in, the colored label map out, consistent with the export.
    image = np.random.default_rng(0).integers(0, 256, (45, 70, 3)).astype("uint8")
    tf.io.write_file(str(tmp_path / "in.png"), tf.io.encode_png(image))
    predicted = run_in_process(["predict", "--image", str(tmp_path / "in.png"), "--out",
                                str(tmp_path / "out.png"), "--model", str(export_dir)], tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert str(export_dir / "2") in predicted.stdout
    colored = tf.io.decode_png(tf.io.read_file(str(tmp_path / "out.png"))).numpy()
    expected = tf.saved_model.load(str(export_dir / "2")).signatures["serving_default"](
        images=image[None])["colored"][0].numpy()
    np.testing.assert_array_equal(colored, expected)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--voc-dir", "/nonexistent/voc"], "/nonexistent/voc"),
        (["--crop-size", "100", "96"], "multiples of the FCN stride"),
        (["--crop-size", "4000", "4000", "--backbone-groups", "4"], "larger than every image"),
        (["--data", "imagenet"], "--data"),
        (["--lr", "-1"], "--lr"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    result = run_in_process([*TINY, "--logdir", str(tmp_path / "run"), "--cache-dir",
                             str(tmp_path / "cache"), *args], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_label_colors_are_reported_with_the_file(tmp_path):
    voc = tmp_path / "voc"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        os.makedirs(voc / sub)
    for split in ("train", "val"):
        label = np.zeros((64, 64, 3), "uint8")
        label[:4, :4] = (1, 2, 3)
        tf.io.write_file(str(voc / "JPEGImages" / f"{split}1.jpg"),
                         tf.io.encode_jpeg(np.zeros((64, 64, 3), "uint8")))
        tf.io.write_file(str(voc / "SegmentationClass" / f"{split}1.png"),
                         tf.io.encode_png(label))
        (voc / "ImageSets" / "Segmentation" / f"{split}.txt").write_text(f"{split}1\n")
    result = run_in_process([*TINY, "--logdir", str(tmp_path / "run"), "--voc-dir", str(voc)],
                            tmp_path)
    assert result.returncode == 2
    assert "train1.png" in result.stderr and "outside the VOC colormap" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_truncated_jpeg_gives_one_line_naming_it(tmp_path):
    voc = tmp_path / "voc"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        os.makedirs(voc / sub)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)
    for split in ("train", "val"):
        tf.io.write_file(str(voc / "JPEGImages" / f"{split}1.jpg"), tf.io.encode_jpeg(noise))
        tf.io.write_file(str(voc / "SegmentationClass" / f"{split}1.png"),
                         tf.io.encode_png(np.zeros((64, 64, 3), "uint8")))
        (voc / "ImageSets" / "Segmentation" / f"{split}.txt").write_text(f"{split}1\n")
    bad = voc / "JPEGImages" / "val1.jpg"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    result = run_app([*TINY, "--logdir", str(tmp_path / "run"), "--voc-dir", str(voc)],
                     tmp_path, timeout=180)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = app_runner.error_lines(result, "segmentation")
    assert errors == [f"python -m apps.segmentation: error: {bad}: cannot decode this image "
                      "(jpeg::Uncompress failed. Invalid JPEG data or crop window.); the file "
                      "is truncated or not a PNG/JPEG/BMP/GIF image"], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


# mixed_float16 is the GPU policy; on CPU it runs ~2x slower than bf16 here, still seconds.
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_exports_float32(tmp_path, precision):
    result = run_in_process([*TINY, "--epochs", "1", "--precision", precision, "--cache-dir",
                             str(tmp_path / "cache"), "--logdir", str(tmp_path / "run"),
                             "--export-dir", str(tmp_path / "export")], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Precision: {precision}" in result.stdout and "val_mean_iou" in result.stdout
    signature = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures["serving_default"]
    assert signature.structured_input_signature[1]["images"].dtype == tf.uint8
    out = signature(images=tf.zeros((2, 30, 41, 3), tf.uint8))
    assert out["labels"].dtype == tf.uint8 and out["labels"].shape == (2, 30, 41)
    assert out["colored"].dtype == tf.uint8 and out["colored"].shape == (2, 30, 41, 3)


def test_predict_bad_input(tmp_path):
    result = run_in_process(["predict", "--image", str(tmp_path / "none.jpg"), "--out",
                             str(tmp_path / "o.png"), "--model", str(tmp_path / "nothing")],
                            tmp_path)
    assert result.returncode == 2 and "no SavedModel" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_and_defaults():
    with pytest.raises(SystemExit) as exit_info:
        segmentation.parse_args(["--help"])
    assert exit_info.value.code == 0
    config = segmentation.parse_args([])
    assert (config.data, config.crop_size, config.voc_dir) == ("synthetic", [96, 96], None)
    assert segmentation.parse_args(["--voc-dir", "x"]).data == "voc"
    with pytest.raises(ValueError, match=r"^--data voc needs --voc-dir DIR$"):
        segmentation.parse_args(["--data", "voc"])
    with pytest.raises(SystemExit) as exit_info:
        predict_cli("segmentation", segmentation.add_predict_flags, segmentation.predict,
                    ["--help"])
    assert exit_info.value.code == 0
    assert segmentation.run_name(config) == "fcn"
    config = segmentation.parse_args(["--data", "voc", "--voc-dir", "/data/VOC2012"])
    assert segmentation.run_name(config) == "fcn-VOC2012"


@pytest.mark.slow
def test_default_run_reaches_mean_iou_0_7(tmp_path, project_root):
    """The default configuration (a few minutes on 2 cores) reaches mIoU >= 0.7."""
    result = run_app(["--logdir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "e"),
                      "--cache-dir", str(project_root / "data_cache"), "--verbose", "2"],
                     tmp_path, timeout=3600)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("val_mean_iou:"))
    assert float(line.split(":")[1]) >= 0.7, result.stdout[-2000:]
