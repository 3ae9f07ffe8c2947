"""A detection data source as the batches SSD trains and is evaluated on.

`limit_objects_per_image` caps the objects of every image of a `DetectionSource`
(`read_detection_source`): the targets' anchor matching costs the square of them.
`make_ssd_data` turns the source into `SSDData`: the training batches of each epoch and the
validation batches, with the SSD targets of the anchors computed in the tf.data pipeline,
and the validation batches with their labels for mAP and pictures.
"""

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
from kerasnotes.data.detection.detection_records import limit_objects
from kerasnotes.ops.ssd_targets import ssd_targets


@dataclasses.dataclass(frozen=True)
class SSDData:
    """The data of an SSD run.

    Attributes:
        name: the source's description (says "not real data" for the synthetic shapes).
        class_names: one name per object class.
        train: `(epoch, num_epochs=1) -> tf.data.Dataset` of `(images, targets)` batches,
            shuffled and augmented as `make_detection_dataset` does for that epoch (and the
            `num_epochs - 1` after it, chained: one iterator for a run).
        steps_per_epoch: training batches per epoch.
        validation: `(images, targets)` batches of the validation split, in order.
        val_labels: the same validation batches as `(images, labels)` (for mAP, pictures).
    """

    name: str
    class_names: tuple
    train: Callable
    steps_per_epoch: int
    validation: tf.data.Dataset
    val_labels: tf.data.Dataset


def limit_objects_per_image(source, max_objects):
    """`(source, cut)`: a copy of the `DetectionSource` whose images of both splits keep at
    most their first `max_objects` objects (in annotation order), and the original records
    that had more (training then validation), for a notice.

    Example:

    >>> source, cut = limit_objects_per_image(read_detection_source("voc:~/VOC2012"), 100)
    >>> len(cut)  # VOC 2012 has no image of more than 100 objects
    0
    """
    (train, cut), (val, cut_val) = (limit_objects(records, max_objects)
                                    for records in (source.train, source.val))
    return dataclasses.replace(source, train=train, val=val), cut + cut_val


def make_ssd_data(source, anchors, image_size, batch_size, seed=0, augment=True):
    """The `SSDData` of `source` for a model with these `anchors`.

    Every image of both splits is decoded once first (`DetectionSource.datasets`: a bad file
    is named in a `ValueError`). Images are resized to `image_size` square and scaled to
    [0, 1]; training batches are shuffled by `(seed, epoch)` and, with `augment`, flipped and
    color-jittered (`make_detection_dataset`); the targets are `ssd_targets(anchors, labels)`
    compiled with XLA, in the pipeline.

    Args:
        source: a `DetectionSource`.
        anchors: `(A, 4)` normalized corners of the model's anchors (`TinySSD.anchors`, or
            `tiny_ssd_anchors(image_size)`).
        image_size: side of the square model input.
        batch_size: images per batch.
        seed: the training order's and augmentation's seed.
        augment: augment the training batches.

    Example:

    >>> source = read_detection_source("synthetic", num_train=32, num_val=16, image_size=64)
    >>> data = make_ssd_data(source, tiny_ssd_anchors(64), 64, batch_size=16)
    >>> images, targets = next(iter(data.train(epoch=0)))
    >>> images.shape, targets["class_labels"].shape
    (TensorShape([16, 64, 64, 3]), TensorShape([16, 340]))
    """
    train_set, val_set = source.datasets()
    anchors = tf.constant(anchors, tf.float32)

    def with_targets(dataset):
        return dataset.map(lambda images, labels: (images, ssd_targets(anchors, labels,
                                                                     jit_compile=True)),
                           num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def train(epoch, num_epochs=1):
        return with_targets(make_detection_dataset(
            train_set, batch_size, shuffle_seed=seed, epoch=epoch, augment=augment,
            image_size=image_size, num_epochs=num_epochs))

    val_labels = make_detection_dataset(val_set, batch_size, image_size=image_size)
    steps_per_epoch = -(-int(train_set.cardinality()) // batch_size)
    return SSDData(source.name, tuple(source.class_names), train, steps_per_epoch,
                   with_targets(val_labels), val_labels)
