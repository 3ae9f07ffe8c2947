"""ImageClassifierServer's robustness: empty batches and images of no pixels, once exported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

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
