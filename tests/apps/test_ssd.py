"""apps.ssd end to end on a tiny config: the training run and a bad image as a user runs them
(subprocesses), the other runs through the same `cli` in this process (no start-up cost)."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from apps import ssd
from apps.runner import predict_cli
from tests.apps import app_runner

TINY = ["--num-train", "32", "--num-val", "16", "--image-size", "64", "--batch-size", "16",
        "--verbose", "2", "--log-every-n-steps", "1", "--max-detections", "10"]

# Runs in a fresh interpreter that never imports kerasnotes: both signatures, bad bytes.
LOAD_AND_SERVE = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
png = tf.io.encode_png(image)
by_bytes = loaded.signatures["serving_default"](image_bytes=tf.stack([png, png]))
by_pixels = loaded.signatures["detect_images"](images=tf.constant(image[None]))
same = np.array_equal(by_bytes["detection_boxes"][0], by_pixels["detection_boxes"][0])
report = {"keys": sorted(by_bytes), "same": bool(same),
          "shapes": {k: v.shape.as_list() for k, v in by_bytes.items()}}
try:
    loaded.signatures["serving_default"](image_bytes=tf.constant([png.numpy(), b"<html>"]))
    report["error"] = None
except tf.errors.InvalidArgumentError as error:
    report["error"] = error.message
# Random (non-image, non-UTF-8) bytes: the message must still decode (ASCII).
noise = bytes([0x82, 0xff, 0xfe]) + np.random.default_rng(1).bytes(500)
try:
    loaded.signatures["serving_default"](image_bytes=tf.constant([noise]))
except tf.errors.InvalidArgumentError as error:
    report["noise_error"] = error.message
again = loaded.signatures["serving_default"](image_bytes=tf.stack([png]))
report["after_error"] = again["num_detections"].shape.as_list()
empty = {name: loaded.signatures[name](**{key: value})["detection_boxes"].shape.as_list()
         for name, key, value in (
             ("serving_default", "image_bytes", tf.constant([], tf.string)),
             ("detect_images", "images", tf.zeros((0, 40, 56, 3), tf.uint8)))}
report["empty"] = empty
report["kerasnotes_imported"] = "kerasnotes" in sys.modules
print(json.dumps(report))
"""


run_app = functools.partial(app_runner.run_app, "ssd")
run_in_process = functools.partial(app_runner.run_app_in_process, "ssd")


event_tags = app_runner.event_tags


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run shared by the tests below: (tmp folder, completed process)."""
    tmp_path = tmp_path_factory.mktemp("ssd_app")
    args = [*TINY, "--epochs", "1", "--cache-dir", str(tmp_path / "cache"),
            "--logdir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "export")]
    return tmp_path, run_app(args, tmp_path)


def test_train_evaluate_export_picture_and_tensorboard(trained):
    tmp_path, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    assert "synthetic shapes" in result.stdout and "not real data" in result.stdout
    assert str(tmp_path / "cache" / "synthetic_detection-32-16-64") in result.stdout
    for name in ("val_loss", "val_class_error", "val_bbox_mae", "val_mAP@0.5"):
        assert f"  {name}: " in result.stdout
    assert f"Exported SavedModel: {tmp_path / 'export' / '1'}" in result.stdout
    assert (tmp_path / "run" / "detections.png").stat().st_size > 0
    with open(tmp_path / "run" / "config.json") as f:
        assert json.load(f)["image_size"] == 64
    assert {"epoch_loss", "epoch_class_error", "epoch_bbox_mae", "batch_loss"} <= event_tags(
        tmp_path / "run" / "train")
    assert {"epoch_loss", "epoch_class_error", "epoch_bbox_mae", "epoch_mAP@0.5",
            "validation_detections"} <= event_tags(tmp_path / "run" / "validation")


def test_export_serves_without_kerasnotes(trained):
    tmp_path, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    served = subprocess.run([sys.executable, "-c", LOAD_AND_SERVE, str(tmp_path / "export" / "1")],
                            capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                            env=env)
    assert served.returncode == 0, served.stderr[-3000:]
    report = json.loads(served.stdout.strip().splitlines()[-1])
    assert report["keys"] == ["detection_boxes", "detection_class_names", "detection_classes",
                              "detection_scores", "num_detections"]
    assert report["shapes"]["detection_boxes"] == [2, 10, 4]
    assert report["shapes"]["num_detections"] == [2]
    assert report["same"]
    assert "is not a JPEG, PNG, GIF or BMP image" in report["error"]
    assert "image_bytes[" in report["error"]
    assert report["after_error"] == [1]
    assert "image_bytes[0] is not a JPEG, PNG, GIF or BMP image (starts with 0x82fffe" in (
        report["noise_error"])
    assert report["empty"] == {"serving_default": [0, 10, 4], "detect_images": [0, 10, 4]}
    assert not report["kerasnotes_imported"]


def test_predict_subcommand(trained):
    tmp_path, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    image = next((tmp_path / "cache" / "synthetic_detection-32-16-64" / "val" / "images")
                 .iterdir())
    out = tmp_path / "predicted.png"
    predicted = run_in_process(["predict", "--image", str(image), "--out", str(out),
                                "--model-dir", str(tmp_path / "export"), "--score-threshold",
                                "0.0"], tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert f"{tmp_path / 'export' / '1'}: " in predicted.stdout
    assert f"drawn on {out}" in predicted.stdout
    assert out.stat().st_size > 0

    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"this is not a picture")
    bad = run_in_process(["predict", "--image", str(corrupt), "--out", str(out), "--model-dir",
                          str(tmp_path / "export")], tmp_path)
    assert bad.returncode == 2
    assert "corrupt.jpg: the model could not read this image" in bad.stderr
    assert "is not a JPEG, PNG, GIF or BMP image" in bad.stderr
    assert "Traceback" not in bad.stderr


def write_banana(folder, rows, splits=("bananas_train",)):
    for split in splits:
        (folder / split / "images").mkdir(parents=True)
        image = tf.io.encode_png(tf.zeros((64, 64, 3), tf.uint8)).numpy()
        (folder / split / "images" / "0.png").write_bytes(image)
        (folder / split / "label.csv").write_text(
            "img_name,label,xmin,ymin,xmax,ymax\n" + "".join(f"{r}\n" for r in rows))


def test_a_truncated_jpeg_gives_one_line_naming_it(tmp_path):
    root = tmp_path / "data"
    write_banana(root, ["0.png,0,10,10,40,40"], splits=("bananas_train", "bananas_val"))
    bad = root / "bananas_val" / "images" / "0.png"
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)
    jpeg = tf.io.encode_jpeg(noise).numpy()
    bad.write_bytes(jpeg[: len(jpeg) // 2])  # the header (size) still reads, the body not
    result = run_app([*TINY, "--data", f"banana:{root}", "--logdir", str(tmp_path / "run")],
                     tmp_path, timeout=180)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = app_runner.error_lines(result, "ssd")
    assert errors == [f"python -m apps.ssd: error: {bad}: cannot decode this image "
                      "(jpeg::Uncompress failed. Invalid JPEG data or crop window.); the file "
                      "is truncated or not a PNG/JPEG/BMP/GIF image"], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "case, args, message",
    [
        ("none", ["--data", "banana:/nonexistent/bananas"], "/nonexistent/bananas"),
        ("none", ["--data", "coco"], "unknown --data 'coco'"),
        ("none", ["--image-size", "32"], "--image-size"),
        ("none", ["--lr", "0"], "--lr"),
        ("no_labels", ["--data", "banana:{root}"], "the image folder has no labels"),
        ("bad_box", ["--data", "banana:{root}"], "label.csv:2"),
        ("none", ["predict", "--image", "x.png", "--out", "y.png", "--model-dir", "{root}"],
         "no SavedModel there"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, case, args, message):
    root = tmp_path / "data"
    if case == "no_labels":
        write_banana(root, [])
    elif case == "bad_box":
        write_banana(root, ["0.png,0,40,10,20,30"])  # xmin > xmax
    args = [a.format(root=root) for a in args]
    if args[0] != "predict":
        args = [*TINY, "--logdir", str(tmp_path / "run"), "--cache-dir", str(tmp_path), *args]
    result = run_in_process(args, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_documents_every_flag_and_the_predict_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ssd.parse_args(["--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    for flag in ("--image-size", "--num-train", "--cache-dir", "--augment", "predict"):
        assert flag in shown
    with pytest.raises(SystemExit):
        predict_cli("ssd", ssd.add_predict_flags, ssd.predict, ["--help"])
    shown = capsys.readouterr().out
    for flag in ("--model-dir", "--image", "--out", "--score-threshold"):
        assert flag in shown


def test_objects_beyond_max_objects_are_cut_with_one_notice(capsys):
    from kerasnotes.data.detection.detection_records import DetectionRecord
    from kerasnotes.data.detection.detection_sources import DetectionSource

    def record(name, count):
        labels = np.tile(np.array([[0, 0.1, 0.1, 0.5, 0.5]], "float32"), (count, 1))
        return DetectionRecord(name, 10, 10, labels, annotation=f"label.csv:{name}")

    source = DetectionSource("x", ("a",), [record("a", 3), record("b", 250), record("c", 120)],
                             [record("d", 100)], "root")
    limited = ssd.limit_objects(source, 100)
    assert [r.num_objects for r in limited.train + limited.val] == [3, 100, 100, 100]
    assert capsys.readouterr().out.splitlines() == [
        "notice: 2 images have more than --max-objects 100 objects (up to 250; the first: "
        "label.csv:b, 250); only the first 100 of each are used"]
    again = ssd.limit_objects(limited, 100)
    assert [r.num_objects for r in again.train] == [3, 100, 100]
    assert capsys.readouterr().out == ""
    assert [r.num_objects for r in source.train] == [3, 250, 120]  # the source read: unchanged


def test_the_run_folder_is_named_after_the_data():
    assert ssd.run_name(ssd.parse_args([])) == "tiny_ssd"
    assert ssd.run_name(ssd.parse_args(["--data", "voc:/data/VOC2012"])) == "tiny_ssd-voc-VOC2012"


def test_defaults_are_visible_in_the_config():
    config = ssd.parse_args([])
    assert (config.data, config.image_size, config.epochs, config.cache_dir) == (
        "synthetic", 128, ssd.SSDConfig.epochs, "data_cache")


# mixed_float16 is the GPU policy; on CPU it runs ~2x slower than bf16 here, still seconds.
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_exports_float32(tmp_path, precision):
    result = run_in_process([*TINY, "--epochs", "1", "--precision", precision, "--cache-dir",
                             str(tmp_path / "cache"), "--logdir", str(tmp_path / "run"),
                             "--export-dir", str(tmp_path / "export")], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Precision: {precision}" in result.stdout
    line = [x for x in result.stdout.splitlines() if x.startswith("  val_mAP@0.5: ")][-1]
    assert 0.0 <= float(line.split(":")[1]) <= 1.0
    loaded = tf.saved_model.load(str(tmp_path / "export" / "1"))
    for name, key, value in (("serving_default", "image_bytes",
                              tf.stack([tf.io.encode_png(tf.zeros((30, 50, 3), tf.uint8))])),
                             ("detect_images", "images", tf.zeros((1, 30, 50, 3), tf.uint8))):
        signature = loaded.signatures[name]
        assert signature.structured_input_signature[1][key].dtype == value.dtype
        outputs = signature(**{key: value})
        assert outputs["detection_boxes"].dtype == tf.float32
        assert outputs["detection_scores"].dtype == tf.float32
        assert outputs["detection_boxes"].shape == (1, 10, 4)


@pytest.mark.slow
def test_default_run_reaches_map_of_0_8(tmp_path):
    """The README's first command: `python -m apps.ssd` with no flags (minutes)."""
    result = run_app([], tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    # The last such line is the final report (each epoch also prints one).
    line = [x for x in result.stdout.splitlines() if x.startswith("  val_mAP@0.5: ")][-1]
    assert float(line.split(":")[1]) >= 0.8, line
