"""SegmentationServer: any image size, empty batches and images of no pixels, once exported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.models.fcn import FCN
from kerasnotes.serving.export import export_saved_model
from kerasnotes.serving.segmentation import SegmentationServer

CLASS_NAMES = ["background", "disk", "square"]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return FCN(num_classes=3, input_channels=3, width_divisor=32, backbone_groups=2)


@pytest.fixture(scope="module")
def serve(model, tmp_path_factory):
    server = SegmentationServer(model, CLASS_NAMES, stride=model.stride)
    path = export_saved_model(server, str(tmp_path_factory.mktemp("export") / "segmentation"),
                              {"serving_default": server.serve})
    return tf.saved_model.load(path).signatures["serving_default"]


def test_labels_are_the_argmax_of_the_model_at_any_size(model, serve):
    images = np.random.default_rng(0).integers(0, 256, (2, 21, 35, 3), np.uint8)
    out = serve(images=tf.constant(images))
    assert out["labels"].shape == (2, 21, 35) and out["colored"].shape == (2, 21, 35, 3)
    stride = model.stride
    padded = np.zeros((2, -(-21 // stride) * stride, -(-35 // stride) * stride, 3), "float32")
    mean, std = np.float32([0.485, 0.456, 0.406]), np.float32([0.229, 0.224, 0.225])
    padded[:, :21, :35] = (images / 255.0 - mean) / std
    expected = np.argmax(model(padded, training=False).numpy()[:, :21, :35], axis=-1)
    np.testing.assert_array_equal(out["labels"].numpy(), expected)


@pytest.mark.parametrize("shape", [(0, 20, 20, 3), (0, 33, 7, 3), (0, 0, 0, 3)])
def test_an_empty_batch_gives_empty_outputs(serve, shape):
    out = serve(images=tf.zeros(shape, tf.uint8))  # a shape error in the batch norm before
    assert out["labels"].shape == (0, *shape[1:3])
    assert out["colored"].shape == (0, *shape[1:3], 3)


def test_an_image_of_no_pixels_is_refused_by_name(serve):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default: images must have height and width >= 1; "
                             r"received shape \[1 0 9 3\]"):
        serve(images=tf.zeros((1, 0, 9, 3), tf.uint8))
