"""image_inputs: the size check runs before any op that reads the pixels, in every server.

Without that, the resize sometimes ran first and an image of no pixels failed with "input
image must be of non-zero size" (seen on the CI machine).
"""

import keras
import pytest
import tensorflow as tf

from kerasnotes.models.fcn import FCN
from kerasnotes.models.lenet import LeNet
from kerasnotes.models.tiny_ssd import TinySSD
from kerasnotes.serving.classifier import ImageClassifierServer
from kerasnotes.serving.detection import DetectionServer
from kerasnotes.serving.image_inputs import check_image_sizes
from kerasnotes.serving.segmentation import SegmentationServer
from tests.test_case import assert_ops_wait_for_assertions


def reads_pixels(op):
    """An op that fails on an image of no pixels (or computes garbage from it)."""
    return (op.type in ("ResizeBilinear", "Conv2D", "Pad", "PadV2", "Cast")
            and op.inputs[0].dtype != tf.int32)


def test_the_returned_images_wait_for_the_assertion():
    function = tf.function(
        lambda images: tf.image.resize(tf.cast(check_image_sizes(images, "sig"), tf.float32),
                                       (4, 4)),
        input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8)])
    assert_ops_wait_for_assertions(function.get_concrete_function().graph,
                                   lambda op: op.type == "ResizeBilinear")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"sig: images must have height and width >= 1; "
                             r"received shape \[2 0 5 1\]"):
        function(tf.zeros((2, 0, 5, 1), tf.uint8))


def servers():
    keras.utils.set_random_seed(0)
    lenet = LeNet()
    ssd = TinySSD(num_classes=2, input_size=64, base_filters=(4, 4, 8), stage_filters=8)
    fcn = FCN(num_classes=3, input_channels=3, width_divisor=32, backbone_groups=2)
    return {
        "classifier": ImageClassifierServer(lenet, [f"c{i}" for i in range(10)]).serve,
        "detection": DetectionServer(ssd, ["disk", "square"]).serve_images,
        "segmentation": SegmentationServer(fcn, ["bg", "disk", "square"],
                                           stride=fcn.stride).serve,
    }


@pytest.mark.parametrize("name", ["classifier", "detection", "segmentation"])
def test_every_pixel_op_of_a_server_waits_for_its_size_check(name):
    assert_ops_wait_for_assertions(servers()[name].get_concrete_function().graph,
                                   reads_pixels)
