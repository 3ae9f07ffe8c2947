"""Bounded serving: pixel budgets set at export, refusal of a decompression bomb in plain TF
(and its memory cost), and EXIF orientation agreed on by serving, predict and the loaders."""

import os
import subprocess
import sys
import textwrap
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from kerasnotes.models.fcn import FCN
from kerasnotes.models.lenet import LeNet
from kerasnotes.models.tiny_ssd import TinySSD
from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS
from kerasnotes.serving.classifier import ImageClassifierServer
from kerasnotes.serving.detection import DetectionServer
from kerasnotes.serving.export import export_saved_model
from kerasnotes.serving.segmentation import SegmentationServer
from tests.serving.test_image_decoding import PIL_TRANSPOSE, encode, png_bomb

CLASS_NAMES = ["disk", "square"]


@pytest.fixture(scope="module")
def ssd():
    keras.utils.set_random_seed(0)
    return TinySSD(num_classes=2, input_size=64, base_filters=(4, 4, 8), stage_filters=8)


@pytest.fixture(scope="module")
def ssd_export(ssd, tmp_path_factory):
    server = DetectionServer(ssd, CLASS_NAMES, max_detections=10)
    return export_saved_model(server, str(tmp_path_factory.mktemp("export") / "ssd"),
                              server.signatures())


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A complete 522 KB PNG of 23170x23170 pixels (1.6 GB decoded, 6.4 GB as float32)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(png_bomb(23170))
    return path


def photo(height=48, width=80, seed=0):
    """A smooth test picture (gradients and a block), so that JPEG keeps it recognizable."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1)
    image[: height // 3, : width // 4] = (250, 20, 20)
    return image.astype(np.uint8)


def sideways_jpeg(orientation=6):
    """`(jpeg bytes stored sideways with EXIF orientation, upright uint8 pixels)`: the
    upright pixels are TF's decoding of the stored ones turned by PIL's transpose."""
    data = encode(photo(), "JPEG", orientation, quality=95)
    stored = Image.fromarray(tf.io.decode_jpeg(data).numpy())
    return data, np.asarray(stored.transpose(PIL_TRANSPOSE[orientation]))


def test_budgets_are_export_arguments(ssd):
    small = encode(photo(30, 50), "PNG")
    server = DetectionServer(ssd, CLASS_NAMES, max_detections=5, max_pixels=1499)
    assert int(server.max_pixels()) == 1499
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default: image_bytes\[1\]: the image declares 50x30 "
                             r"pixels \(1500 to decode\), more than the budget of 1499"):
        server.serve_bytes(tf.constant([encode(photo(20, 20), "PNG"), small]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"detect_images: images of 50x30 pixels \(1500\) are more than "
                             r"the budget of 1499 pixels per image"):
        server.serve_images(tf.constant(photo(30, 50)[None]))
    assert DetectionServer(ssd, CLASS_NAMES, max_pixels=1500).serve_bytes(
        tf.constant([small]))["num_detections"].shape == (1,)
    assert int(DetectionServer(ssd, CLASS_NAMES).max_pixels()) == DEFAULT_MAX_PIXELS == 40_000_000
    for bad in (0, -5, 2.5, True, "many"):
        with pytest.raises(ValueError, match="DetectionServer: max_pixels must be an integer"):
            DetectionServer(ssd, CLASS_NAMES, max_pixels=bad)


def test_uint8_servers_refuse_images_over_the_budget(tmp_path):
    keras.utils.set_random_seed(0)
    classifier = ImageClassifierServer(LeNet(), [str(i) for i in range(10)], max_pixels=784)
    assert classifier.serve(tf.zeros([2, 28, 28, 1], tf.uint8))["class_ids"].shape == (2,)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default: images of 29x28 pixels \(812\) are more than "
                             r"the budget of 784 pixels per image"):
        classifier.serve(tf.zeros([1, 28, 29, 1], tf.uint8))
    fcn = FCN(num_classes=3, input_channels=3, width_divisor=32, backbone_groups=2)
    segmentation = SegmentationServer(fcn, ["a", "b", "c"], stride=fcn.stride, max_pixels=600)
    path = export_saved_model(segmentation, str(tmp_path / "segmentation"),
                              {"serving_default": segmentation.serve})
    loaded = tf.saved_model.load(path)
    assert int(loaded.max_pixels()) == 600
    serve = loaded.signatures["serving_default"]
    assert serve(images=tf.zeros([1, 20, 30, 3], tf.uint8))["labels"].shape == (1, 20, 30)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images of 31x20 pixels"):
        serve(images=tf.zeros([1, 20, 31, 3], tf.uint8))


def test_the_export_refuses_the_bomb_in_plain_tf_then_answers(ssd_export, bomb):
    loaded = tf.saved_model.load(ssd_export)
    assert int(loaded.max_pixels()) == DEFAULT_MAX_PIXELS
    serve = loaded.signatures["serving_default"]
    valid = tf.constant([encode(photo(), "PNG")])
    first = serve(image_bytes=valid)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        serve(image_bytes=tf.constant([bomb.read_bytes()]))
    assert ("serving_default: image_bytes[0]: the image declares 23170x23170 pixels "
            "(536848900 to decode), more than the budget of 40000000 pixels; refused before "
            "decoding") in info.value.message
    again = serve(image_bytes=valid)
    for key in first:
        np.testing.assert_array_equal(first[key].numpy(), again[key].numpy())


# Runs in a fresh process with plain TensorFlow (no kerasnotes on the path).
MEMORY_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf

    def peak_mb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

    export, bomb, valid = sys.argv[1:4]
    serve = tf.saved_model.load(export).signatures["serving_default"]
    request = tf.constant([open(valid, "rb").read()])
    first = serve(image_bytes=request)["detection_scores"].numpy()
    before = peak_mb()
    try:
        serve(image_bytes=tf.constant([open(bomb, "rb").read()]))
        print("ANSWERED")
    except tf.errors.InvalidArgumentError as error:
        print("REFUSED", "budget" in error.message)
    after = peak_mb()
    again = serve(image_bytes=request)["detection_scores"].numpy()
    print("PEAK_RISE_MB", after - before)
    print("SAME_ANSWER", bool(np.array_equal(first, again)))
""")


def test_the_bomb_costs_bounded_memory_in_a_serving_process(ssd_export, bomb, tmp_path):
    valid = tmp_path / "valid.png"
    valid.write_bytes(encode(photo(), "PNG"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, ssd_export, str(bomb),
                             str(valid)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["REFUSED"] == "True", result.stdout
    assert float(lines["PEAK_RISE_MB"]) < 500, result.stdout  # was +8,000 MB before
    assert lines["SAME_ANSWER"] == "True"


def test_serving_predict_and_loaders_agree_on_a_sideways_photo(ssd, ssd_export, tmp_path):
    from apps import segmentation as segmentation_app
    from apps import ssd as ssd_app
    from kerasnotes.data.detection.detection_records import (
        DetectionRecord,
        detection_dataset_from_records,
        image_size_from_header,
    )
    from kerasnotes.data.images.image_folder import load_image_folder
    from kerasnotes.data.images.style_transfer_images import read_image
    from kerasnotes.data.segmentation.voc_segmentation import read_image_file

    data, upright = sideways_jpeg(6)
    assert upright.shape == (80, 48, 3)  # stored 48 high, 80 wide; shown 80 high, 48 wide
    path = tmp_path / "sideways.jpg"
    path.write_bytes(data)

    # Serving: the bytes signature turns the photo upright, as the uint8 one sees it upright.
    loaded = tf.saved_model.load(ssd_export)
    from_bytes = loaded.signatures["serving_default"](image_bytes=tf.constant([data]))
    from_pixels = loaded.signatures["detect_images"](images=tf.constant(upright[None]))
    for key in from_pixels:
        np.testing.assert_array_equal(from_bytes[key].numpy(), from_pixels[key].numpy())

    # predict of apps.ssd: the same outputs, drawn on the upright picture.
    out = tmp_path / "drawn.png"
    args = types.SimpleNamespace(image=str(path), out=str(out), score_threshold=0.0)
    outputs = ssd_app.predict(args, ssd_export)
    for key in from_pixels:
        np.testing.assert_array_equal(outputs[key], from_pixels[key].numpy()[0])
    width, height = Image.open(out).size  # drawn (maybe enlarged) upright: 48 x 80
    assert width * 80 == height * 48 and height > width

    # The loaders: detection records, VOC segmentation, image folders, style images.
    assert image_size_from_header(path) == (48, 80)
    record = DetectionRecord(str(path), 48, 80, np.zeros((0, 5), "float32"))
    image, _ = next(iter(detection_dataset_from_records([record])))
    np.testing.assert_array_equal(image.numpy(), upright)
    np.testing.assert_array_equal(read_image_file(str(path)).numpy(), upright)
    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / "folder" / split / name).mkdir(parents=True)
            (tmp_path / "folder" / split / name / "x.jpg").write_bytes(data)
    folder = load_image_folder(str(tmp_path / "folder"), (40, 24))
    expected = np.clip(np.round(tf.image.resize(upright, (40, 24)).numpy()), 0, 255)
    np.testing.assert_array_equal(folder.x_train[0], expected.astype(np.uint8))
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    style = read_image(str(path), "style")
    np.testing.assert_array_equal(style, shown)
    assert np.mean(np.abs(style.astype(int) - upright)) < 3  # PIL's and TF's JPEG decoders

    # predict of apps.segmentation: the label map has the upright shape.
    keras.utils.set_random_seed(0)
    fcn = FCN(num_classes=3, input_channels=3, width_divisor=32, backbone_groups=2)
    server = SegmentationServer(fcn, ["a", "b", "c"], stride=fcn.stride)
    export = export_saved_model(server, str(tmp_path / "segmentation"),
                                {"serving_default": server.serve})
    args = types.SimpleNamespace(image=str(path), out=str(tmp_path / "labels.png"))
    labels = segmentation_app.predict(args, export)["labels"]
    served = tf.saved_model.load(export).signatures["serving_default"](
        images=tf.constant(upright[None]))["labels"].numpy()[0]
    np.testing.assert_array_equal(labels, served)


def test_predict_refuses_the_bomb_with_one_line(ssd_export, bomb, tmp_path):
    from apps import ssd as ssd_app

    args = types.SimpleNamespace(image=str(bomb), out=str(tmp_path / "x.png"),
                                 score_threshold=0.5)
    with pytest.raises(ValueError) as info:
        ssd_app.predict(args, ssd_export)
    message = str(info.value)
    assert message.startswith(f"{bomb}: the model could not read this image (serving_default: "
                              "image_bytes[0]: the image declares 23170x23170 pixels")
    assert "\n" not in message
    assert not (tmp_path / "x.png").exists()
