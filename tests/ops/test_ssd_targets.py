"""ssd_targets: multibox_target as the dict the SSD loss takes, inside tf.data too."""

import numpy as np
import tensorflow as tf

from kerasnotes.ops.anchor_matching import multibox_target
from kerasnotes.ops.ssd_targets import ssd_targets

ANCHORS = [[0.0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98],
           [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]]
LABELS = [[[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88], [-1, 0, 0, 0, 0]]]


def test_targets_are_multibox_target_as_a_dict():
    targets = ssd_targets(ANCHORS, LABELS)
    offsets, mask, classes = multibox_target(ANCHORS, LABELS)
    np.testing.assert_array_equal(targets["class_labels"], [[0, 1, 2, 0, 2]])
    np.testing.assert_array_equal(targets["bbox_offsets"], offsets)
    np.testing.assert_array_equal(targets["bbox_mask"], mask)
    assert targets["class_labels"].dtype == tf.int32
    assert targets["bbox_offsets"].dtype == tf.float32


def test_runs_in_a_tf_data_map():
    labels = tf.constant(LABELS * 4, tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices(labels).batch(2)
    batches = list(dataset.map(lambda y: ssd_targets(ANCHORS, y)))
    assert len(batches) == 2
    np.testing.assert_array_equal(batches[1]["class_labels"], [[0, 1, 2, 0, 2]] * 2)


def random_labels(rng, batch, max_objects):
    """Random boxes of random classes, some rows padding (class -1)."""
    corners = np.sort(rng.uniform(0, 1, (batch, max_objects, 2, 2)), axis=2)
    boxes = corners.transpose(0, 1, 3, 2).reshape(batch, max_objects, 4)[..., [0, 2, 1, 3]]
    classes = rng.integers(-1, 3, (batch, max_objects, 1)).astype("float64")
    return np.concatenate([classes, boxes], axis=-1).astype("float32")


def test_xla_compiled_targets_equal_the_graph_ones_on_tiny_ssd_anchors():
    from kerasnotes.models.tiny_ssd import tiny_ssd_anchors

    anchors = tf.constant(tiny_ssd_anchors(64))
    rng = np.random.default_rng(0)
    for max_objects in (1, 3, 7):
        labels = random_labels(rng, 4, max_objects)
        graph = ssd_targets(anchors, labels)
        compiled = ssd_targets(anchors, labels, jit_compile=True)
        assert int(np.sum(graph["class_labels"])) > 0  # some anchors matched
        np.testing.assert_array_equal(compiled["class_labels"], graph["class_labels"])
        np.testing.assert_array_equal(compiled["bbox_mask"], graph["bbox_mask"])
        np.testing.assert_allclose(compiled["bbox_offsets"], graph["bbox_offsets"],
                                   atol=1e-5, rtol=1e-6)


def test_xla_compiled_targets_run_in_a_parallel_tf_data_map():
    labels = tf.constant(LABELS * 4, tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices(labels).batch(2)
    batches = list(dataset.map(lambda y: ssd_targets(ANCHORS, y, jit_compile=True),
                               num_parallel_calls=2))
    np.testing.assert_array_equal(batches[1]["class_labels"], [[0, 1, 2, 0, 2]] * 2)
