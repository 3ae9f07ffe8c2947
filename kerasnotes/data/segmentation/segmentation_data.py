"""The data of a segmentation run: Pascal VOC 2012, or the synthetic shapes in its layout.

`load_segmentation_data` reads both splits into memory (every image and label decoded: a
bad file is named in a `ValueError`), leaves out the images smaller than the crop (the
notes never resize) and returns `SegmentationData`: the training batches of each epoch and
the validation batches of `(standardized crops, label crops)`.
"""

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from kerasnotes.data.segmentation.segmentation_pipeline import (
    filter_by_size,
    make_segmentation_dataset,
)
from kerasnotes.data.segmentation.synthetic_segmentation import (
    DESCRIPTION,
    SYNTHETIC_CLASS_NAMES,
    synthetic_segmentation_dir,
)
from kerasnotes.data.segmentation.voc_colormap import VOC_CLASSES
from kerasnotes.data.segmentation.voc_segmentation import read_voc_segmentation

# The synthetic dataset's settings (`synthetic_segmentation_dir`; written once).
SYNTHETIC = {"num_train": 800, "num_val": 160, "min_size": (88, 88), "max_size": (160, 160),
             "seed": 0}


@dataclasses.dataclass(frozen=True)
class SegmentationData:
    """The data of a segmentation run.

    Attributes:
        name: a description for reports (says "not real data" for the synthetic shapes).
        class_names: one name per class (index 0 is the background).
        train: `epoch -> tf.data.Dataset` of `(float32 (B, H, W, 3), int32 (B, H, W))`
            batches of random crops, shuffled per epoch.
        validation: the validation batches (fixed crops, in order).
        steps_per_epoch: training batches per epoch.
        num_images: `{"train": (kept, read), "val": (kept, read)}`: images at least as large
            as the crop, of those read.
    """

    name: str
    class_names: tuple
    train: Callable
    validation: tf.data.Dataset
    steps_per_epoch: int
    num_images: dict


def load_segmentation_data(voc_dir, crop_size, batch_size, seed=0, num_train=None,
                           num_val=None, cache_dir="data_cache"):
    """The `SegmentationData` of Pascal VOC 2012 in `voc_dir`, or of the synthetic shapes
    (`SYNTHETIC`, written once under `cache_dir`) when `voc_dir` is None.

    Args:
        voc_dir: a folder of `JPEGImages/`, `SegmentationClass/` and
            `ImageSets/Segmentation/{train,val}.txt`, or None.
        crop_size: `(height, width)` of the random crops.
        batch_size: crops per batch.
        seed: seed of the order and the crops (validation uses `seed + 1`).
        num_train, num_val: read only the first N images of a split (quick runs; the
            synthetic set then writes only those, the same as the full set's first N).
        cache_dir: where the synthetic dataset is written.

    Example:

    >>> data = load_segmentation_data(None, (64, 64), 6, num_train=12, num_val=6)
    >>> images, labels = next(iter(data.train(epoch=0)))
    >>> images.shape, labels.shape, data.num_images["train"]
    (TensorShape([6, 64, 64, 3]), TensorShape([6, 64, 64]), (12, 12))
    """
    if voc_dir:
        root, class_names = voc_dir, VOC_CLASSES
        name = f"Pascal VOC 2012 segmentation at {root}"
    else:
        settings = dict(SYNTHETIC, num_train=min(num_train or SYNTHETIC["num_train"],
                                                 SYNTHETIC["num_train"]),
                        num_val=min(num_val or SYNTHETIC["num_val"], SYNTHETIC["num_val"]))
        root = synthetic_segmentation_dir(cache_dir, **settings)
        class_names, name = SYNTHETIC_CLASS_NAMES, f"{DESCRIPTION} ({root})"
    crop_size = tuple(crop_size)
    splits, num_images = {}, {}
    for split, limit in (("train", num_train), ("val", num_val)):
        examples = read_voc_segmentation(root, split, max_images=limit)  # decodes every file
        splits[split] = filter_by_size(examples, crop_size)
        num_images[split] = (len(splits[split][0]), len(examples))

    def train(epoch):
        return make_segmentation_dataset(*splits["train"], crop_size, batch_size, seed=seed,
                                         epoch=epoch)

    validation = make_segmentation_dataset(*splits["val"], crop_size, batch_size,
                                           seed=seed + 1, shuffle=False)
    return SegmentationData(name, tuple(class_names), train, validation,
                            int(train(0).cardinality()), num_images)
