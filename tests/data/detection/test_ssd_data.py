"""SSD's data: a detection source capped in objects per image, as batches with targets."""

import numpy as np

from kerasnotes.data.detection.detection_records import DetectionRecord
from kerasnotes.data.detection.detection_sources import DetectionSource, read_detection_source
from kerasnotes.data.detection.ssd_data import limit_objects_per_image, make_ssd_data
from kerasnotes.models.tiny_ssd import tiny_ssd_anchors
from kerasnotes.ops.ssd_targets import ssd_targets


def record(name, count):
    labels = np.tile(np.array([[0, 0.1, 0.1, 0.5, 0.5]], "float32"), (count, 1))
    labels[:, 1] = np.arange(count) / 1000
    return DetectionRecord(name, 10, 10, labels, annotation=f"label.csv:{name}")


def test_limit_objects_per_image_keeps_the_first_ones_in_a_copy():
    source = DetectionSource("x", ("a",), [record("a", 3), record("b", 250)],
                             [record("c", 120)], "root")
    limited, cut = limit_objects_per_image(source, 100)
    assert [r.num_objects for r in limited.train + limited.val] == [3, 100, 100]
    np.testing.assert_array_equal(limited.train[1].labels[:, 1],
                                  (np.arange(100) / 1000).astype("float32"))
    assert [r.annotation for r in cut] == ["label.csv:b", "label.csv:c"]
    assert [r.num_objects for r in cut] == [250, 120]
    # The source read is unchanged; a second pass cuts nothing.
    assert [r.num_objects for r in source.train + source.val] == [3, 250, 120]
    assert limit_objects_per_image(limited, 100)[1] == []
    assert (limited.name, limited.class_names, limited.root) == ("x", ("a",), "root")


def test_batches_carry_the_targets_of_the_anchors(tmp_path):
    source = read_detection_source("synthetic", str(tmp_path), num_train=8, num_val=4,
                                   image_size=64)
    anchors = tiny_ssd_anchors(64)
    data = make_ssd_data(source, anchors, 64, batch_size=4, seed=1, augment=False)
    assert data.name == source.name and data.class_names == source.class_names
    images, targets = next(iter(data.train(0)))
    assert images.shape == (4, 64, 64, 3)
    assert targets["class_labels"].shape == (4, len(anchors))
    assert targets["bbox_offsets"].shape == targets["bbox_mask"].shape == (4, 4 * len(anchors))
    assert int(data.train(0).cardinality()) == 2 and int(data.validation.cardinality()) == 1
    assert data.steps_per_epoch == 2
    # Chained epochs (one iterator for a run) are the epochs one after the other.
    chained = [batch[0].numpy() for batch in data.train(1, num_epochs=2)]
    assert len(chained) == 4
    separate = [batch[0].numpy() for epoch in (1, 2) for batch in data.train(epoch)]
    np.testing.assert_array_equal(np.stack(chained), np.stack(separate))
    # The same epoch is the same order; validation targets are those of its labels.
    np.testing.assert_array_equal(images, next(iter(data.train(0)))[0])
    (val_images, val_targets), = data.validation
    (label_images, labels), = data.val_labels
    np.testing.assert_array_equal(val_images, label_images)
    expected = ssd_targets(anchors, labels)
    np.testing.assert_array_equal(val_targets["class_labels"], expected["class_labels"])
    np.testing.assert_array_equal(val_targets["bbox_mask"], expected["bbox_mask"])
    np.testing.assert_allclose(val_targets["bbox_offsets"], expected["bbox_offsets"],
                               atol=1e-4)
