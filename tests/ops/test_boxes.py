import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.boxes import (
    box_area,
    box_iou,
    center_to_corner,
    corner_to_center,
    normalized_to_pixel,
    pixel_to_normalized,
)


def random_boxes(rng, shape, min_size=0.02, max_size=0.5):
    """Corner boxes `shape + (4,)` with positive sizes inside roughly [0, 1.5]."""
    xy = rng.uniform(0.0, 1.0, shape + (2,))
    wh = rng.uniform(min_size, max_size, shape + (2,))
    return np.concatenate([xy, xy + wh], axis=-1).astype("float32")


def numpy_iou(a, b):
    """IoU of two single corner boxes, the notes' formula written out."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_corner_center_hand_values():
    corners = np.array([[0.1, 0.2, 0.5, 0.8], [10.0, 20.0, 30.0, 60.0]], "float32")
    expected = np.array([[0.3, 0.5, 0.4, 0.6], [20.0, 40.0, 20.0, 40.0]], "float32")
    np.testing.assert_allclose(corner_to_center(corners).numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(center_to_corner(expected).numpy(), corners, atol=1e-6)


def test_corner_center_round_trip_batched():
    boxes = random_boxes(np.random.default_rng(0), (2, 3, 5))
    centers = corner_to_center(boxes)
    assert centers.shape == (2, 3, 5, 4)
    np.testing.assert_allclose(center_to_corner(centers).numpy(), boxes, atol=1e-6)


def test_pixel_normalized_hand_values_and_round_trip():
    normalized = np.array([[0.1, 0.2, 0.5, 1.0]], "float32")
    pixels = normalized_to_pixel(normalized, height=100, width=200).numpy()
    np.testing.assert_allclose(pixels, [[20.0, 20.0, 100.0, 100.0]], atol=1e-5)
    np.testing.assert_allclose(pixel_to_normalized(pixels, 100, 200).numpy(), normalized,
                               atol=1e-6)
    # Center boxes scale the same way: cx, w by the width and cy, h by the height.
    center = corner_to_center(normalized)
    np.testing.assert_allclose(normalized_to_pixel(center, 100, 200).numpy(),
                               corner_to_center(pixels).numpy(), atol=1e-5)


def test_pixel_conversion_with_tensor_size_in_tf_function():
    @tf.function(input_signature=[tf.TensorSpec((None, 4)), tf.TensorSpec((), "int32"),
                                  tf.TensorSpec((), "int32")])
    def to_pixels(boxes, height, width):
        return normalized_to_pixel(boxes, height, width)

    out = to_pixels(tf.constant([[0.5, 0.25, 1.0, 1.0]]), tf.constant(8), tf.constant(4))
    np.testing.assert_allclose(out.numpy(), [[2.0, 2.0, 4.0, 8.0]])


def test_box_iou_hand_values():
    boxes1 = [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]]
    boxes2 = [
        [0.0, 0.0, 0.5, 1.0],  # half of box 0: 0.5; 0.5 / 4 of box 1
        [2.0, 2.0, 3.0, 3.0],  # disjoint from box 0, touches box 1 at a corner
        [0.0, 0.0, 1.0, 1.0],  # identical to box 0
        [0.5, 0.5, 1.5, 1.5],  # overlap 0.25 with box 0: 0.25 / 1.75; 1 / 4 with box 1
    ]
    expected = [[0.5, 0.0, 1.0, 0.25 / 1.75], [0.125, 0.0, 0.25, 0.25]]
    np.testing.assert_allclose(box_iou(boxes1, boxes2).numpy(), expected, atol=1e-6)


def test_box_iou_zero_area_boxes_give_zero_not_nan():
    boxes1 = [[0.3, 0.3, 0.3, 0.3], [0.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.2, 0.2]]
    boxes2 = [[0.3, 0.3, 0.3, 0.3], [0.0, 0.5, 1.0, 0.5]]
    iou = box_iou(boxes1, boxes2).numpy()
    assert np.all(np.isfinite(iou))
    np.testing.assert_array_equal(iou, np.zeros((3, 2)))
    np.testing.assert_array_equal(box_area(boxes1).numpy(), [0.0, 1.0, 0.0])


def test_box_iou_matches_numpy_reference():
    rng = np.random.default_rng(1)
    boxes1, boxes2 = random_boxes(rng, (7,)), random_boxes(rng, (5,))
    expected = np.array([[numpy_iou(a, b) for b in boxes2] for a in boxes1])
    np.testing.assert_allclose(box_iou(boxes1, boxes2).numpy(), expected, atol=1e-6)


def test_box_iou_batched_and_broadcast():
    rng = np.random.default_rng(2)
    boxes1, boxes2 = random_boxes(rng, (3, 6)), random_boxes(rng, (3, 4))
    batched = box_iou(boxes1, boxes2).numpy()
    assert batched.shape == (3, 6, 4)
    for i in range(3):
        np.testing.assert_allclose(batched[i], box_iou(boxes1[i], boxes2[i]).numpy(), atol=0)
    broadcast = box_iou(boxes1[0], boxes2).numpy()
    assert broadcast.shape == (3, 6, 4)
    np.testing.assert_allclose(broadcast[2], box_iou(boxes1[0], boxes2[2]).numpy(), atol=0)


def test_box_iou_agrees_with_keras_compute_iou_values_and_gradients():
    rng = np.random.default_rng(3)
    boxes1, boxes2 = random_boxes(rng, (2, 9)), random_boxes(rng, (2, 6))
    b1, b2 = tf.Variable(boxes1), tf.Variable(boxes2)
    with tf.GradientTape(persistent=True) as tape:
        ours = box_iou(b1, b2)
        theirs = keras.utils.bounding_boxes.compute_iou(b1, b2, bounding_box_format="xyxy")
        weights = tf.constant(rng.normal(size=(2, 9, 6)).astype("float32"))
        ours_sum, theirs_sum = tf.reduce_sum(ours * weights), tf.reduce_sum(theirs * weights)
    assert (ours.numpy() > 0).sum() > 5  # the comparison covers overlapping pairs
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)
    for ours_grad, theirs_grad in zip(tape.gradient(ours_sum, [b1, b2]),
                                      tape.gradient(theirs_sum, [b1, b2]), strict=True):
        np.testing.assert_allclose(ours_grad.numpy(), theirs_grad.numpy(), atol=1e-4)


def test_conversions_agree_with_keras_convert_format():
    boxes = random_boxes(np.random.default_rng(4), (4,))
    convert = keras.utils.bounding_boxes.convert_format
    np.testing.assert_allclose(corner_to_center(boxes).numpy(),
                               convert(boxes, "xyxy", "center_xywh"), atol=1e-6)
    np.testing.assert_allclose(normalized_to_pixel(boxes, 30, 40).numpy(),
                               convert(boxes, "rel_xyxy", "xyxy", height=30, width=40),
                               atol=1e-5)


def test_box_ops_inside_tf_data():
    rng = np.random.default_rng(5)
    boxes = random_boxes(rng, (3, 2))
    dataset = tf.data.Dataset.from_tensor_slices(boxes).map(
        lambda b: box_iou(center_to_corner(corner_to_center(b)), b)
    )
    results = list(dataset.as_numpy_iterator())
    np.testing.assert_allclose(results[1], box_iou(boxes[1], boxes[1]).numpy(), atol=1e-6)
    np.testing.assert_allclose(np.diag(results[1]), [1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: box_iou(np.zeros((3, 5)), np.zeros((2, 4))), r"boxes1 must have shape .*\(3, 5\)"),
        (lambda: box_iou(np.zeros((3, 4)), np.zeros((4,))), r"boxes2 must have shape .*\(4,\)"),
        (lambda: box_iou(np.zeros((1, 2, 3, 4)), np.zeros((2, 4))), r"boxes1 .*\(1, 2, 3, 4\)"),
        (lambda: corner_to_center(np.zeros((2, 3))), r"corner_to_center: boxes .*\(2, 3\)"),
        (lambda: center_to_corner(np.zeros((2, 2))), r"center_to_corner: boxes .*\(2, 2\)"),
        (lambda: normalized_to_pixel(np.zeros((1, 4)), 0, 10), r"height must be > 0"),
        (lambda: pixel_to_normalized(np.zeros((1, 4)), 10, -1), r"width must be > 0"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
