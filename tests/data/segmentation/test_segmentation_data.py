"""A segmentation run's data: VOC (or the synthetic shapes), crops, small images left out."""

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.segmentation.segmentation_data import load_segmentation_data
from kerasnotes.data.segmentation.synthetic_segmentation import SYNTHETIC_CLASS_NAMES
from kerasnotes.data.segmentation.voc_colormap import VOC_CLASSES


def write_voc(root, sizes):
    """A VOC folder whose train and val splits hold one image of each (height, width)."""
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / sub).mkdir(parents=True)
    for split in ("train", "val"):
        names = []
        for i, (height, width) in enumerate(sizes):
            name = f"{split}{i}"
            label = np.zeros((height, width, 3), "uint8")
            label[: height // 2] = (128, 0, 0)  # class 1 (aeroplane) on the top half
            tf.io.write_file(str(root / "JPEGImages" / f"{name}.jpg"),
                             tf.io.encode_jpeg(np.full((height, width, 3), 99, "uint8")))
            tf.io.write_file(str(root / "SegmentationClass" / f"{name}.png"),
                             tf.io.encode_png(label))
            names.append(name)
        (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(names))


def test_voc_crops_and_images_smaller_than_the_crop_left_out(tmp_path):
    write_voc(tmp_path / "voc", [(64, 64), (32, 80), (48, 48)])
    data = load_segmentation_data(str(tmp_path / "voc"), (48, 48), batch_size=2, seed=3)
    assert data.class_names == VOC_CLASSES and "Pascal VOC 2012" in data.name
    assert data.num_images == {"train": (2, 3), "val": (2, 3)}
    assert data.steps_per_epoch == 1
    images, labels = next(iter(data.train(0)))
    assert images.shape == (2, 48, 48, 3) and labels.shape == (2, 48, 48)
    assert set(np.unique(labels)) <= {0, 1}
    # Training crops depend only on (seed, epoch); validation crops are fixed.
    np.testing.assert_array_equal(labels, next(iter(data.train(0)))[1])
    first, again = (next(iter(data.validation))[1] for _ in range(2))
    np.testing.assert_array_equal(first, again)
    with pytest.raises(ValueError, match="larger than every image"):
        load_segmentation_data(str(tmp_path / "voc"), (96, 96), batch_size=2)


def test_the_synthetic_shapes_by_default_with_only_the_images_asked_for(tmp_path):
    data = load_segmentation_data(None, (64, 64), batch_size=4, num_train=6, num_val=3,
                                  cache_dir=str(tmp_path))
    assert data.class_names == SYNTHETIC_CLASS_NAMES and "not real data" in data.name
    assert data.num_images == {"train": (6, 6), "val": (3, 3)}  # all >= 88 pixels a side
    assert data.steps_per_epoch == 2
    images, labels = next(iter(data.validation))
    assert images.shape == (3, 64, 64, 3) and labels.dtype == tf.int32
