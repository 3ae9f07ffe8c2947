"""The detection data sources of apps.ssd's `data`: synthetic shapes, d2l bananas, VOC.

    synthetic   the package's synthetic shapes (`synthetic_detection`), generated once into
                CACHE_DIR/synthetic_detection-<num_train>-<num_val>-<image_size>/ (train/,
                val/) and reused; not real data
    banana:DIR  the d2l banana-detection layout: DIR/bananas_train and DIR/bananas_val
    voc:DIR     Pascal VOC (Annotations/, JPEGImages/, ImageSets/Main/): train and val

`read_detection_source` reads the annotations of both splits into `DetectionRecord`s and
checks that every class id has a name.
"""

import dataclasses
import os

from kerasnotes.data.detection.banana_detection import read_banana_labels, read_class_names
from kerasnotes.data.detection.detection_records import detection_dataset_from_records

SOURCES = "synthetic, banana:DIR or voc:DIR"


@dataclasses.dataclass
class DetectionSource:
    """The annotations of a detection data source.

    Attributes:
        name: a description for reports (says "not real data" for the synthetic shapes).
        class_names: one name per object class.
        train, val: the `DetectionRecord`s of the training and validation splits.
        root: the folder read.
    """

    name: str
    class_names: tuple
    train: list
    val: list
    root: str

    @property
    def max_objects(self):
        """The largest number of objects of an image of either split (at least 1)."""
        return max(1, max(record.num_objects for record in self.train + self.val))

    def describe(self):
        """One line: the name, split sizes, classes and objects per image."""
        names = self.class_names
        return (f"{self.name}: {len(self.train)} training and {len(self.val)} validation "
                f"images, {len(names)} classes ({', '.join(names[:10])}"
                f"{', ...' if len(names) > 10 else ''}), up to {self.max_objects} objects "
                "per image")

    def datasets(self):
        """The training and validation `tf.data.Dataset`s of `(image, labels)`, every
        image decoded once first (`detection_dataset_from_records` names a bad file)."""
        return tuple(detection_dataset_from_records(records, None, self.max_objects)
                     for records in (self.train, self.val))


def read_detection_source(spec, cache_dir="data_cache", num_train=1000, num_val=200,
                          image_size=128, max_objects=3):
    """Reads the data source `spec` (see the module docstring) into a `DetectionSource`.

    `cache_dir`, `num_train`, `num_val`, `image_size` and `max_objects` only concern the
    synthetic shapes (their folder and generation).

    Raises:
        ValueError: an unknown `spec`, a bad layout or annotation (see the readers), or a
            class id without a name.

    Example:

    >>> source = read_detection_source("banana:~/banana-detection")  # doctest: +SKIP
    >>> source.class_names, len(source.train), source.max_objects
    (('class_0',), 1000, 1)
    """
    kind, _, location = spec.partition(":")
    if kind == "synthetic" and not location:
        from kerasnotes.data.detection.synthetic_detection import (
            TRAIN_FOLDER,
            VAL_FOLDER,
            ensure_synthetic_detection_dataset,
        )

        root = os.path.join(os.path.expanduser(cache_dir),
                            f"synthetic_detection-{num_train}-{num_val}-{image_size}")
        ensure_synthetic_detection_dataset(root, num_train=num_train, num_val=num_val,
                                           image_size=image_size, seed=0,
                                           max_objects=max_objects)
        name = f"synthetic shapes (kerasnotes-generated, not real data) in {root}"
        train_dir, val_dir = os.path.join(root, TRAIN_FOLDER), os.path.join(root, VAL_FOLDER)
        train, val = read_banana_labels(train_dir), read_banana_labels(val_dir)
        class_names = read_class_names(train_dir)
    elif kind == "banana" and location:
        root = os.path.expanduser(location)
        train_dir = os.path.join(root, "bananas_train")
        train = read_banana_labels(train_dir)
        val = read_banana_labels(os.path.join(root, "bananas_val"))
        num_classes = 1 + int(max(r.labels[:, 0].max(initial=0) for r in train))
        class_names = read_class_names(train_dir, num_classes=num_classes)
        name = f"banana-detection layout in {root}"
    elif kind == "voc" and location:
        from kerasnotes.data.detection.voc_detection import VOC_CLASS_NAMES, read_voc_annotations

        root = os.path.expanduser(location)
        train, val = read_voc_annotations(root, "train"), read_voc_annotations(root, "val")
        class_names = VOC_CLASS_NAMES
        name = f"Pascal VOC in {root} (train / val)"
    else:
        raise ValueError(f"unknown `data` {spec!r}: expected {SOURCES}")
    for record in train + val:
        if record.num_objects and record.labels[:, 0].max() >= len(class_names):
            raise ValueError(f"{record.image_path}: class {int(record.labels[:, 0].max())} "
                             f"but only {len(class_names)} class names")
    return DetectionSource(name, tuple(class_names), train, val, root)
