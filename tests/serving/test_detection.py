"""DetectionServer: both signatures, output conventions, bad bytes, SavedModel round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.models.tiny_ssd import TinySSD
from kerasnotes.ops.nms import multibox_detection
from kerasnotes.serving.detection import DetectionServer, detection_lines
from kerasnotes.serving.export import export_saved_model

CLASS_NAMES = ["disk", "square"]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return TinySSD(num_classes=2, input_size=64, base_filters=(4, 4, 8), stage_filters=8)


def images(count=3, size=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def test_uint8_signature_equals_multibox_detection(model):
    server = DetectionServer(model, CLASS_NAMES, max_detections=20, score_threshold=0.01)
    pixels = images()
    out = {k: v.numpy() for k, v in server.serve_images(tf.constant(pixels)).items()}
    raw = model(pixels.astype("float32") / 255.0, training=False)
    expected = multibox_detection(tf.nn.softmax(raw["class_logits"]), raw["bbox_offsets"],
                                  model.anchors, pos_threshold=0.01, max_detections=20,
                                  per_class=True).numpy()
    assert out["detection_boxes"].shape == (3, 20, 4)
    for i in range(3):
        n = int(out["num_detections"][i])
        assert n == int(np.sum(expected[i, :, 0] >= 0))
        np.testing.assert_array_equal(out["detection_classes"][i, :n], expected[i, :n, 0])
        np.testing.assert_allclose(out["detection_scores"][i, :n], expected[i, :n, 1],
                                   atol=1e-6)
        # (xmin, ymin, xmax, ymax) rows -> normalized (ymin, xmin, ymax, xmax), clipped.
        yxyx = np.clip(expected[i, :n][:, [3, 2, 5, 4]], 0, 1)
        np.testing.assert_allclose(out["detection_boxes"][i, :n], yxyx, atol=1e-6)
        assert [n.decode() for n in out["detection_class_names"][i, :n]] == [
            CLASS_NAMES[int(c)] for c in expected[i, :n, 0]]
        # Padding rows.
        assert np.all(out["detection_classes"][i, n:] == -1)
        assert np.all(out["detection_scores"][i, n:] == 0)
        assert np.all(out["detection_boxes"][i, n:] == 0)
        assert np.all(out["detection_class_names"][i, n:] == b"")


def test_bytes_signature_decodes_and_resizes(model):
    server = DetectionServer(model, CLASS_NAMES, max_detections=10)
    pixels = images()
    encoded = tf.stack([tf.io.encode_png(p) for p in pixels])
    from_bytes = server.serve_bytes(encoded)
    from_pixels = server.serve_images(tf.constant(pixels))
    for key in from_pixels:
        np.testing.assert_array_equal(from_bytes[key].numpy(), from_pixels[key].numpy())
    # Images of other sizes (and JPEG) in one batch are each resized to the model's size.
    mixed = tf.stack([tf.io.encode_jpeg(images(1, 80, seed=1)[0]),
                      tf.io.encode_png(images(1, 50, seed=2)[0])])
    assert server.serve_bytes(mixed)["detection_scores"].shape == (2, 10)


def test_corrupt_bytes_give_a_clear_error_and_the_server_keeps_working(model):
    server = DetectionServer(model, CLASS_NAMES, max_detections=10)
    good = tf.io.encode_png(images(1)[0])
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"image_bytes\[.*1.*\] is not a JPEG, PNG, GIF or BMP image"):
        server.serve_bytes(tf.stack([good, tf.constant(b"definitely not an image")]))
    with pytest.raises(tf.errors.InvalidArgumentError):  # right header, broken body
        server.serve_bytes(tf.stack([tf.strings.substr(good, 0, 40)]))
    assert server.serve_bytes(tf.stack([good]))["num_detections"].shape == (1,)


def test_saved_model_round_trip(model, tmp_path):
    server = DetectionServer(model, CLASS_NAMES, max_detections=10)
    path = export_saved_model(server, str(tmp_path / "ssd"), server.signatures())
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default", "detect_images"}
    pixels = images(2)
    served = loaded.signatures["detect_images"](images=tf.constant(pixels))
    expected = server.serve_images(tf.constant(pixels))
    for key in expected:
        np.testing.assert_array_equal(served[key].numpy(), expected[key].numpy())
    encoded = tf.stack([tf.io.encode_png(p) for p in pixels])
    served = loaded.signatures["serving_default"](image_bytes=encoded)
    np.testing.assert_array_equal(served["detection_boxes"].numpy(),
                                  expected["detection_boxes"].numpy())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(class_names=["one"]), "1 class names for a model with 2 classes"),
        (dict(class_names=CLASS_NAMES, max_detections=0), "max_detections=0"),
        (dict(class_names=CLASS_NAMES, score_threshold=2.0), "score_threshold=2.0"),
        (dict(class_names=CLASS_NAMES, nms_threshold=-0.1), "nms_threshold=-0.1"),
    ],
)
def test_bad_arguments(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        DetectionServer(model, **kwargs)


def test_detections_are_the_models_detect(model):
    server = DetectionServer(model, CLASS_NAMES, max_detections=12, score_threshold=0.02)
    pixels = images(2)
    detections = model.detect(pixels.astype("float32") / 255.0, max_detections=12,
                              score_threshold=0.02).numpy()
    out = server.serve_images(tf.constant(pixels))
    np.testing.assert_array_equal(out["num_detections"].numpy(),
                                  (detections[..., 0] >= 0).sum(axis=1))
    np.testing.assert_allclose(out["detection_scores"].numpy(),
                               np.where(detections[..., 0] >= 0, detections[..., 1], 0))


@pytest.fixture(scope="module")
def loaded(model, tmp_path_factory):
    server = DetectionServer(model, CLASS_NAMES, max_detections=7)
    return tf.saved_model.load(export_saved_model(
        server, str(tmp_path_factory.mktemp("export") / "ssd"), server.signatures()))


def test_random_bytes_give_an_ascii_message_with_their_hex(loaded):
    noise = bytes([0x82, 0xff, 0x00, 0xfe]) + np.random.default_rng(0).bytes(300)
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        loaded.signatures["serving_default"](image_bytes=tf.constant([noise]))
    message = error.value.message  # raised UnicodeDecodeError when it held the raw bytes
    assert message.isascii()
    assert (f"image_bytes[0] is not a JPEG, PNG, GIF or BMP image (starts with "
            f"0x{noise[:8].hex()})") in message
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"image_bytes\[1\] is not a JPEG, PNG, GIF or BMP image \(0 bytes\)"):
        loaded.signatures["serving_default"](
            image_bytes=tf.constant([tf.io.encode_png(images(1)[0]).numpy(), b""]))


def test_an_empty_batch_gives_empty_outputs(loaded):
    for name, inputs in (("serving_default", {"image_bytes": tf.constant([], tf.string)}),
                         ("detect_images", {"images": tf.zeros((0, 48, 80, 3), tf.uint8)}),
                         ("detect_images", {"images": tf.zeros((0, 0, 0, 3), tf.uint8)})):
        out = loaded.signatures[name](**inputs)
        assert out["detection_boxes"].shape == (0, 7, 4), name
        assert out["detection_class_names"].shape == (0, 7)
        assert out["num_detections"].shape == (0,)


def test_an_image_of_no_pixels_is_refused_by_name(loaded):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"detect_images: images must have height and width >= 1; "
                             r"received shape \[2 0 5 3\]"):
        loaded.signatures["detect_images"](images=tf.zeros((2, 0, 5, 3), tf.uint8))


def test_detection_lines_list_the_detections_above_the_threshold():
    outputs = {"detection_boxes": np.array([[0.25, 0.1, 0.5, 0.4], [0.0, 0.0, 1.0, 1.0],
                                            [0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 0.0, 0.0]]),
               "detection_scores": np.array([0.98, 0.3, 0.5, 0.0]),
               "detection_class_names": np.array([b"disk", b"square", b"disk", b""]),
               "num_detections": np.int32(3)}
    assert detection_lines(outputs, 0.5) == [
        "disk 0.980 (xmin 0.100, ymin 0.250, xmax 0.400, ymax 0.500)",
        "disk 0.500 (xmin 0.200, ymin 0.100, xmax 0.400, ymax 0.300)"]
    assert len(detection_lines(outputs, 0.0)) == 3  # padding rows are never listed
    assert detection_lines(outputs, 0.99) == []
