import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.box_offsets import offset_boxes, offset_inverse


def random_boxes(rng, shape):
    xy = rng.uniform(0.0, 1.0, shape + (2,))
    wh = rng.uniform(0.02, 0.5, shape + (2,))
    return np.concatenate([xy, xy + wh], axis=-1).astype("float32")


def test_hand_values():
    anchors = [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.2, 0.2, 0.4, 0.6]]
    boxes = [
        [0.1, 0.0, 1.1, 1.0],  # shifted right by 0.1 w_a: dx = 0.1 / 1 / 0.1 = 1
        [0.0, 0.0, 2.0, 2.0],  # center moves by (0.5, 0.5), size doubles
        [0.2, 0.2, 0.4, 0.6],  # identical: all zero
    ]
    expected = [
        [1.0, 0.0, 0.0, 0.0],
        [5.0, 5.0, math.log(2) / 0.2, math.log(2) / 0.2],
        [0.0, 0.0, 0.0, 0.0],
    ]
    np.testing.assert_allclose(offset_boxes(anchors, boxes).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(offset_inverse(anchors, expected).numpy(), boxes, atol=1e-6)


def test_round_trip_both_ways_and_broadcast():
    rng = np.random.default_rng(0)
    anchors = random_boxes(rng, (6,))
    boxes = random_boxes(rng, (3, 6))
    offsets = offset_boxes(anchors, boxes)
    assert offsets.shape == (3, 6, 4)
    np.testing.assert_allclose(offset_inverse(anchors, offsets).numpy(), boxes, atol=1e-5)
    predicted = rng.normal(size=(3, 6, 4)).astype("float32")
    np.testing.assert_allclose(offset_boxes(anchors, offset_inverse(anchors, predicted)).numpy(),
                               predicted, atol=1e-4)


def test_agrees_with_keras_encode_and_decode():
    rng = np.random.default_rng(1)
    anchors, boxes = random_boxes(rng, (8,)), random_boxes(rng, (2, 8))
    variance = [0.1, 0.1, 0.2, 0.2]
    keras_offsets = keras.utils.bounding_boxes.encode_box_to_deltas(
        anchors, boxes, anchor_format="xyxy", box_format="xyxy",
        encoding_format="center_xywh", variance=variance,
    )
    np.testing.assert_allclose(offset_boxes(anchors, boxes).numpy(), keras_offsets, atol=1e-4)
    deltas = rng.normal(size=(2, 8, 4)).astype("float32")
    keras_boxes = keras.utils.bounding_boxes.decode_deltas_to_boxes(
        anchors, deltas, anchor_format="xyxy", box_format="xyxy",
        encoded_format="center_xywh", variance=variance,
    )
    np.testing.assert_allclose(offset_inverse(anchors, deltas).numpy(), keras_boxes, atol=1e-6)


def test_gradients_agree_with_keras_encode():
    rng = np.random.default_rng(2)
    anchors = tf.constant(random_boxes(rng, (5,)))
    boxes = tf.Variable(random_boxes(rng, (5,)))
    weights = tf.constant(rng.normal(size=(5, 4)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        ours = tf.reduce_sum(offset_boxes(anchors, boxes) * weights)
        theirs = tf.reduce_sum(weights * keras.utils.bounding_boxes.encode_box_to_deltas(
            anchors, boxes, "xyxy", "xyxy", "center_xywh", variance=[0.1, 0.1, 0.2, 0.2]))
    np.testing.assert_allclose(tape.gradient(ours, boxes).numpy(),
                               tape.gradient(theirs, boxes).numpy(), rtol=1e-4, atol=1e-4)


def test_zero_size_box_gives_finite_offsets():
    offsets = offset_boxes([[0.0, 0.0, 0.5, 0.5]], [[0.2, 0.2, 0.2, 0.2]]).numpy()
    assert np.all(np.isfinite(offsets))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: offset_boxes(np.zeros((2, 3)), np.zeros((2, 4))), r"anchors must .*\(2, 3\)"),
        (lambda: offset_boxes(np.zeros((2, 4)), np.zeros((2, 5))), r"assigned_bb must .*\(2, 5\)"),
        (lambda: offset_inverse(np.zeros((2, 4)), np.zeros((8,))), r"offsets must .*\(8,\)"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
