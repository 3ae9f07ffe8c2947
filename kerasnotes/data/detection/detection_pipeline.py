"""The tf.data pipeline of object detection: order, resize, augment, scale, batch.

`make_detection_dataset` turns a dataset of `(image uint8 (H, W, 3), labels float32
(max_objects, 5))` elements (from `load_banana_detection`, `load_voc_detection` or
`detection_dataset_from_records`) into batches for training or evaluation, with an order and
an augmentation that depend only on `(shuffle_seed, epoch)`.
"""

import numpy as np
import tensorflow as tf

from kerasnotes.data.detection.detection_augmentation import augment_detection_example
from kerasnotes.data.detection.detection_records import check_image_size, check_positive_int


def _check_element_spec(spec):
    if not (isinstance(spec, tuple) and len(spec) == 2
            and all(isinstance(s, tf.TensorSpec) for s in spec)):
        raise ValueError(
            "make_detection_dataset: dataset elements must be (image, labels) tensors; "
            f"received element_spec {spec}"
        )
    image_spec, labels_spec = spec
    if image_spec.shape.rank != 3 or image_spec.shape[-1] != 3:
        raise ValueError(
            "make_detection_dataset: images must have shape (height, width, 3); received "
            f"{image_spec.shape}"
        )
    if labels_spec.shape.rank != 2 or labels_spec.shape[-1] != 5 or labels_spec.shape[0] is None:
        raise ValueError(
            "make_detection_dataset: labels must have a static shape (max_objects, 5); "
            f"received {labels_spec.shape}"
        )


def _shuffled(dataset, shuffle_seed, epoch):
    """The elements of `dataset` in the order `default_rng(shuffle_seed + epoch)
    .permutation(N)`, fetched by random access (`tf.data.experimental.at`)."""
    cardinality = int(dataset.cardinality())
    if cardinality < 0:
        raise ValueError(
            "make_detection_dataset: shuffling needs a dataset of known size with random "
            "access (e.g. from load_banana_detection, load_voc_detection or "
            "detection_dataset_from_records); this dataset's size is unknown"
        )
    try:
        tf.data.experimental.at(dataset, 0)
    except (tf.errors.UnimplementedError, tf.errors.FailedPreconditionError,
            tf.errors.InvalidArgumentError) as error:
        raise ValueError(
            "make_detection_dataset: shuffling needs a dataset with random access "
            "(tf.data.experimental.at), such as from_tensor_slices followed by map (what the "
            "loaders return); this dataset has none: "
            f"{error.message.splitlines()[0] if error.message else error}"
        ) from None
    order = np.random.default_rng(int(shuffle_seed) + int(epoch)).permutation(cardinality)
    indices = tf.data.Dataset.from_tensor_slices(order.astype(np.int64))
    return indices.map(lambda index: tf.data.experimental.at(dataset, index),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def make_detection_dataset(dataset, batch_size, shuffle_seed=None, epoch=0, augment=False,
                           image_size=256, drop_remainder=False):
    """Batches of `(float32 images in [0, 1], float32 labels)` for one pass over `dataset`.

    Per element: fetch (in the epoch's order), resize to `image_size` (bilinear; skipped
    when the image already has that size; boxes are normalized so they do not change),
    scale `x / 255`, and with `augment` apply `augment_detection_example` (random horizontal
    flip that moves the boxes, color jitter) with the element seed `(shuffle_seed + epoch,
    position in the epoch)`. Then batch and `prefetch(AUTOTUNE)`.

    With `shuffle_seed`, epoch `k` visits the elements in the order
    `numpy.random.default_rng(shuffle_seed + k).permutation(N)`, fetched by random access
    (`tf.data.experimental.at`), so only file names are shuffled, not decoded images: the
    order and the augmentation depend only on `(shuffle_seed, k)`, are the same every time
    the dataset is iterated, and a new process can rebuild them to resume in the middle of
    an epoch (`.skip(steps_done)`). Without `shuffle_seed` the order is the input order
    (augmentation seeds then use `0 + epoch`).

    Args:
        dataset: a `tf.data.Dataset` of `(image (H, W, 3), labels (max_objects, 5))`, e.g.
            from `load_banana_detection`. Shuffling needs a known size and random access
            (true of the loaders' datasets).
        batch_size: examples per batch (>= 1).
        shuffle_seed: `None` (input order) or a non-negative integer.
        epoch: non-negative epoch index, added to `shuffle_seed`.
        augment: apply the training augmentation.
        image_size: int `S` (resize to `S x S`), a `(height, width)` pair, or `None` (keep;
            all images must then have the same size to be batched).
        drop_remainder: drop the last partial batch (fixed batch shapes).

    Returns:
        a `tf.data.Dataset` of `(images float32 (B, S, S, 3), labels float32 (B,
        max_objects, 5))`: labels rows `(class, xmin, ymin, xmax, ymax)`, normalized,
        padding rows `(-1, 0, 0, 0, 0)`, ready for
        `kerasnotes.ops.anchor_matching.multibox_target(anchors, labels)`.

    Example:

    >>> dataset = load_banana_detection("data_cache/shapes/train")  # doctest: +SKIP
    >>> train = make_detection_dataset(dataset, 32, shuffle_seed=0, epoch=3,
    ...                                augment=True)  # doctest: +SKIP
    """
    function = "make_detection_dataset"
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(
            f"{function}: dataset must be a tf.data.Dataset; received {type(dataset).__name__}"
        )
    _check_element_spec(dataset.element_spec)
    batch_size = check_positive_int(function, "batch_size", batch_size, allow_none=False)
    for argument, value in (("shuffle_seed", shuffle_seed), ("epoch", epoch)):
        if value is None and argument == "shuffle_seed":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(
                f"{function}: {argument} must be a non-negative integer"
                f"{' or None' if argument == 'shuffle_seed' else ''}; "
                f"received {argument}={value!r}"
            )
    image_size = check_image_size(function, image_size)
    if shuffle_seed is not None:
        dataset = _shuffled(dataset, shuffle_seed, epoch)
    seed_base = (0 if shuffle_seed is None else int(shuffle_seed)) + int(epoch)

    def prepare(position, element):
        image, labels = element
        image = tf.cast(image, tf.float32)
        if image_size is not None:
            image = tf.cond(
                tf.reduce_all(tf.shape(image)[:2] == image_size),
                lambda: image,
                lambda: tf.image.resize(image, image_size, method="bilinear"),
            )
            image = tf.ensure_shape(image, image_size + (3,))
        image = image / 255.0
        labels = tf.cast(labels, tf.float32)
        if augment:
            seed = tf.stack([tf.constant(seed_base, tf.int64), position])
            image, labels = augment_detection_example(image, labels, seed)
        return image, labels

    dataset = dataset.enumerate().map(prepare, num_parallel_calls=tf.data.AUTOTUNE,
                                      deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
