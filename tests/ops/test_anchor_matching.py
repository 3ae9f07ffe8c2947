import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.anchor_matching import assign_anchor_to_bbox, multibox_target

# d2l's hand example: five anchors, a dog (class 0) and a cat (class 1).
ANCHORS = np.array([[0.0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98],
                    [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]], "float32")
GROUND_TRUTH = np.array([[0.1, 0.08, 0.52, 0.92], [0.55, 0.2, 0.9, 0.88]], "float32")
LABELS = np.array([[[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]]], "float32")


def numpy_iou_matrix(anchors, boxes):
    inter_wh = np.clip(np.minimum(anchors[:, None, 2:], boxes[None, :, 2:])
                       - np.maximum(anchors[:, None, :2], boxes[None, :, :2]), 0, None)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area(anchors)[:, None] + area(boxes)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def numpy_assign(boxes, anchors, iou_threshold=0.5):
    """The notes' algorithm with explicit Python loops (the test's reference)."""
    iou = numpy_iou_matrix(anchors.astype("float64"), boxes.astype("float64"))
    num_anchors, num_boxes = iou.shape
    assignment = np.full(num_anchors, -1)
    x = iou.copy()
    for _ in range(num_boxes):  # step 1: greedy, one ground truth per round
        i, j = np.unravel_index(np.argmax(x), x.shape)
        assignment[i] = j
        x[i, :] = -1
        x[:, j] = -1
    for i in range(num_anchors):  # step 2: the rest, by threshold
        if assignment[i] < 0 and num_boxes and iou[i].max() > iou_threshold:
            assignment[i] = int(np.argmax(iou[i]))
    return assignment


def random_boxes(rng, n, min_size=0.05, max_size=0.6):
    xy = rng.uniform(0.0, 0.8, (n, 2))
    wh = rng.uniform(min_size, max_size, (n, 2))
    return np.concatenate([xy, xy + wh], axis=-1).astype("float32")


def test_d2l_hand_example_assignment():
    np.testing.assert_array_equal(assign_anchor_to_bbox(GROUND_TRUTH, ANCHORS).numpy(),
                                  [-1, 0, 1, -1, 1])
    np.testing.assert_array_equal(numpy_assign(GROUND_TRUTH, ANCHORS), [-1, 0, 1, -1, 1])


def test_d2l_hand_example_targets():
    offsets, mask, classes = multibox_target(ANCHORS, LABELS)
    np.testing.assert_array_equal(classes.numpy(), [[0, 1, 2, 0, 2]])
    np.testing.assert_array_equal(mask.numpy(), [[0] * 4 + [1] * 8 + [0] * 4 + [1] * 4])
    # d2l's printed offsets (its tiny eps in the log gives 4.17e-06 instead of 0).
    expected = [0, 0, 0, 0, 1.40, 10.0, 2.59, 7.18, -1.20, 0.269, 1.68, -1.57,
                0, 0, 0, 0, -0.571, -1.00, 0.0, 0.626]
    np.testing.assert_allclose(offsets.numpy()[0], expected, atol=6e-3)
    assert offsets.dtype == tf.float32 and classes.dtype == tf.int32


@pytest.mark.parametrize("seed", range(6))
def test_assignment_matches_numpy_reference_on_random_boxes(seed):
    rng = np.random.default_rng(seed)
    anchors = random_boxes(rng, 40)
    boxes = random_boxes(rng, int(rng.integers(1, 7)))
    threshold = float(rng.choice([0.3, 0.5]))
    expected = numpy_assign(boxes, anchors, threshold)
    np.testing.assert_array_equal(assign_anchor_to_bbox(boxes, anchors, threshold).numpy(),
                                  expected)
    # Every ground truth got at least one anchor.
    assert set(expected) >= set(range(len(boxes)))


def test_batched_with_padding_matches_per_image_reference():
    rng = np.random.default_rng(7)
    anchors = random_boxes(rng, 30)
    counts = [3, 0, 1, 4]
    labels = np.full((len(counts), 4, 5), -1.0, "float32")
    for b, count in enumerate(counts):
        labels[b, :count, 0] = rng.integers(0, 3, count)
        labels[b, :count, 1:] = random_boxes(rng, count)
    offsets, mask, classes = multibox_target(anchors, labels)
    assert offsets.shape == (4, 120) and mask.shape == (4, 120) and classes.shape == (4, 30)
    for b, count in enumerate(counts):
        expected = numpy_assign(labels[b, :count, 1:], anchors)
        expected_classes = np.where(expected >= 0, labels[b, expected, 0] + 1, 0)
        np.testing.assert_array_equal(classes.numpy()[b], expected_classes)
        np.testing.assert_array_equal(mask.numpy()[b], np.repeat(expected >= 0, 4))
    np.testing.assert_array_equal(classes.numpy()[1], np.zeros(30))
    np.testing.assert_array_equal(offsets.numpy()[1], np.zeros(120))


def test_padding_rows_in_the_middle_are_ignored():
    labels = np.array([[[-1, 0.0, 0.0, 0.3, 0.3], [0, 0.1, 0.08, 0.52, 0.92],
                        [-1, 0.6, 0.6, 0.9, 0.9], [1, 0.55, 0.2, 0.9, 0.88]]], "float32")
    _, _, classes = multibox_target(ANCHORS, labels)
    np.testing.assert_array_equal(classes.numpy(), [[0, 1, 2, 0, 2]])


def test_greedy_step_gives_an_anchor_to_a_poorly_covered_object():
    anchors = np.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]], "float32")
    boxes = np.array([[0.4, 0.4, 0.45, 0.45]], "float32")  # IoU 0.01 with anchor 0
    np.testing.assert_array_equal(assign_anchor_to_bbox(boxes, anchors).numpy(), [0, -1])


def test_threshold_is_strict():
    anchors = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 1.0]], "float32")
    boxes = np.array([[0.0, 0.0, 1.0, 1.0]], "float32")  # IoU exactly 0.5 with anchor 1
    np.testing.assert_array_equal(assign_anchor_to_bbox(boxes, anchors, 0.5).numpy(), [0, -1])
    np.testing.assert_array_equal(assign_anchor_to_bbox(boxes, anchors, 0.49).numpy(), [0, 0])


def test_zero_objects_static_and_dynamic_shapes_in_tf_function():
    target = tf.function(multibox_target, input_signature=[
        tf.TensorSpec((None, 4)), tf.TensorSpec((None, None, 5))])
    offsets, mask, classes = target(tf.constant(ANCHORS), tf.zeros((2, 0, 5)))
    assert offsets.shape == (2, 20)
    np.testing.assert_array_equal(classes.numpy(), np.zeros((2, 5)))
    np.testing.assert_array_equal(mask.numpy(), np.zeros((2, 20)))
    _, _, classes = target(tf.constant(ANCHORS), tf.constant(LABELS))
    np.testing.assert_array_equal(classes.numpy(), [[0, 1, 2, 0, 2]])
    np.testing.assert_array_equal(
        assign_anchor_to_bbox(np.zeros((0, 4), "float32"), ANCHORS).numpy(), [-1] * 5)


def test_inside_tf_data_map_per_example():
    dataset = tf.data.Dataset.from_tensor_slices(np.concatenate([LABELS, LABELS[:, ::-1]]))
    dataset = dataset.map(lambda labels: multibox_target(ANCHORS, labels))
    results = list(dataset.as_numpy_iterator())
    np.testing.assert_array_equal(results[0][2], [0, 1, 2, 0, 2])
    np.testing.assert_array_equal(results[1][2], [0, 1, 2, 0, 2])
    np.testing.assert_allclose(results[0][0], results[1][0], atol=0)


def test_anchors_with_d2l_leading_axis():
    _, _, classes = multibox_target(ANCHORS[None], LABELS)
    np.testing.assert_array_equal(classes.numpy(), [[0, 1, 2, 0, 2]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: multibox_target(ANCHORS, LABELS[..., :4]),
         r"labels must have shape .*\(1, 2, 4\)"),
        (lambda: multibox_target(ANCHORS[:, :3], LABELS), r"anchors must have shape .*\(5, 3\)"),
        (lambda: multibox_target(np.stack([ANCHORS] * 2), LABELS), r"anchors .*\(2, 5, 4\)"),
        (lambda: multibox_target(ANCHORS, LABELS, iou_threshold=1.5), r"iou_threshold .*1.5"),
        (lambda: assign_anchor_to_bbox(GROUND_TRUTH[:, :2], ANCHORS), r"ground_truth .*\(2, 2\)"),
        (lambda: assign_anchor_to_bbox(GROUND_TRUTH, ANCHORS, ground_truth_mask=[1, 0]),
         "ground_truth_mask must be boolean"),
        (lambda: assign_anchor_to_bbox(GROUND_TRUTH, ANCHORS,
                                       ground_truth_mask=np.ones((1, 2), bool)),
         r"ground_truth_mask must have .*\(1, 2\)"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
