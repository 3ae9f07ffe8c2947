"""ImageClassifierServer's robustness: empty batches and images of no pixels, once exported;
the bytes signature (budget, EXIF orientation, grayscale models)."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasnotes.models.lenet import LeNet
from kerasnotes.serving.classifier import ImageClassifierServer
from kerasnotes.serving.export import export_saved_model

CLASS_NAMES = [f"class{i}" for i in range(10)]


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    keras.utils.set_random_seed(0)
    server = ImageClassifierServer(LeNet(), CLASS_NAMES)
    path = export_saved_model(server, str(tmp_path_factory.mktemp("export") / "classify"),
                              {"serving_default": server.serve})
    return tf.saved_model.load(path).signatures["serving_default"]


@pytest.mark.parametrize("shape", [(0, 28, 28, 1), (0, 40, 17, 1), (0, 0, 0, 1)])
def test_an_empty_batch_gives_empty_outputs(serve, shape):
    out = serve(images=tf.zeros(shape, tf.uint8))  # a shape error in the batch norm before
    assert out["probabilities"].shape == (0, 10)
    assert out["class_ids"].shape == (0,) and out["class_names"].shape == (0,)


def test_a_batch_still_gives_one_row_per_image(serve):
    images = np.random.default_rng(0).integers(0, 256, (3, 30, 20, 1), np.uint8)
    out = serve(images=tf.constant(images))
    assert out["probabilities"].shape == (3, 10)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)


def test_an_image_of_no_pixels_is_refused_by_name(serve):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default: images must have height and width >= 1; "
                             r"received shape \[1 28 0 1\]"):
        serve(images=tf.zeros((1, 28, 0, 1), tf.uint8))


@pytest.fixture(scope="module")
def exported_rgb(tmp_path_factory):
    """A 3-channel classifier exported with both signatures (as apps.finetune does)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(inputs))
    server = ImageClassifierServer(keras.Model(inputs, outputs), ["a", "b", "c"],
                                   max_pixels=10_000)
    path = export_saved_model(server, str(tmp_path_factory.mktemp("export") / "rgb"),
                              server.signatures())
    return tf.saved_model.load(path).signatures


def encoded(image, kind="png"):
    return (tf.io.encode_png(image) if kind == "png" else tf.io.encode_jpeg(image)).numpy()


def test_the_bytes_signature_gives_what_the_uint8_one_gives(exported_rgb):
    images = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3), np.uint8)
    from_pixels = exported_rgb["serving_default"](images=tf.constant(images))
    from_bytes = exported_rgb["classify_image_bytes"](
        image_bytes=tf.constant([encoded(image) for image in images]))
    for key in ("probabilities", "class_ids", "class_names"):
        np.testing.assert_array_equal(from_bytes[key].numpy(), from_pixels[key].numpy())


def test_the_bytes_signature_decodes_grayscale_models_and_empty_batches(tmp_path):
    keras.utils.set_random_seed(0)
    server = ImageClassifierServer(LeNet(), CLASS_NAMES)
    path = export_saved_model(server, str(tmp_path / "classify"), server.signatures())
    signatures = tf.saved_model.load(path).signatures
    rgb = np.random.default_rng(2).integers(0, 256, (28, 28, 3), np.uint8)
    gray = tf.cast(tf.image.rgb_to_grayscale(rgb), tf.uint8)  # what the bytes path computes
    from_bytes = signatures["classify_image_bytes"](image_bytes=tf.constant([encoded(rgb)]))
    from_pixels = signatures["serving_default"](images=gray[None])
    np.testing.assert_allclose(from_bytes["probabilities"], from_pixels["probabilities"],
                               atol=2e-3)  # grayscale rounding: the uint8 path gets rounded gray
    empty = signatures["classify_image_bytes"](image_bytes=tf.zeros([0], tf.string))
    assert empty["probabilities"].shape == (0, 10)


def test_the_bytes_signature_refuses_an_image_over_the_budget_before_decoding(exported_rgb):
    big = encoded(np.zeros((200, 200, 3), np.uint8))  # 40,000 pixels > the 10,000 budget
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"classify_image_bytes: image_bytes\[0\]: the image declares "
                             r"200x200 pixels .*more than the budget of 10000 pixels"):
        exported_rgb["classify_image_bytes"](image_bytes=tf.constant([big]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"classify_image_bytes: image_bytes\[0\]: not a JPEG, PNG, GIF "
                             r"or BMP image"):
        exported_rgb["classify_image_bytes"](image_bytes=tf.constant([b"<html>"]))
    images = np.random.default_rng(3).integers(0, 256, (1, 16, 16, 3), np.uint8)
    again = exported_rgb["classify_image_bytes"](image_bytes=tf.constant([encoded(images[0])]))
    assert again["probabilities"].shape == (1, 3)  # the server keeps answering


def test_the_bytes_signature_turns_a_sideways_jpeg_upright(exported_rgb):
    rng = np.random.default_rng(4)
    upright = np.repeat(np.repeat(rng.integers(0, 256, (4, 8, 3), np.uint8), 4, 0), 2, 1)
    sideways = np.rot90(upright, k=1).copy()  # stored rotated; orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(sideways).save(buffer, "JPEG", quality=100, exif=exif.tobytes())
    expected = tf.io.decode_jpeg(buffer.getvalue()).numpy()
    expected = np.rot90(expected, k=-1)  # what PIL's exif_transpose does for orientation 6
    from_bytes = exported_rgb["classify_image_bytes"](
        image_bytes=tf.constant([buffer.getvalue()]))
    from_pixels = exported_rgb["serving_default"](images=tf.constant(expected[None].copy()))
    np.testing.assert_allclose(from_bytes["probabilities"], from_pixels["probabilities"],
                               atol=1e-6)
