"""The tf.data pipeline of object detection: order, resize, augment, scale, batch.

`make_detection_dataset` turns a dataset of `(image uint8 (H, W, 3), labels float32
(max_objects, 5))` elements (from `load_banana_detection`, `load_voc_detection` or
`detection_dataset_from_records`) into batches for training or evaluation, with an order and
an augmentation that depend only on `(shuffle_seed, epoch)`.
"""

import numpy as np
import tensorflow as tf

from kerasnotes.data.detection.detection_augmentation import (
    augment_detection_batch,
    detection_augmentation_draws,
)
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


def _check_random_access(dataset):
    """The size of `dataset`, which shuffling needs known, with random access."""
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
    return cardinality


def _permutation(seed, size):
    """`numpy.random.default_rng(seed).permutation(size)` as int64 (an epoch's order)."""
    return np.random.default_rng(int(seed)).permutation(int(size)).astype(np.int64)


def make_detection_dataset(dataset, batch_size, shuffle_seed=None, epoch=0, augment=False,
                           image_size=256, drop_remainder=False, num_epochs=1):
    """Batches of `(float32 images in [0, 1], float32 labels)` for one pass over `dataset`,
    or `num_epochs` passes one after the other.

    Per element: fetch (in the epoch's order), resize to `image_size` (bilinear; skipped
    when the image already has that size; boxes are normalized so they do not change), and
    with `augment` draw its flip and color factors from the element seed `(shuffle_seed +
    epoch, position in the epoch)` (`detection_augmentation_draws`). Per batch: scale
    `x / 255` and with `augment` apply those draws (`augment_detection_batch`: one XLA
    kernel per batch). Each element comes out as `augment_detection_example` with its seed
    makes it (tested equal). Then `prefetch(AUTOTUNE)`.

    With `shuffle_seed`, epoch `k` visits the elements in the order
    `numpy.random.default_rng(shuffle_seed + k).permutation(N)`, fetched by random access
    (`tf.data.experimental.at`), so only file names are shuffled, not decoded images: the
    order and the augmentation depend only on `(shuffle_seed, k)`, are the same every time
    the dataset is iterated, and a new process can rebuild them to resume in the middle of
    an epoch (`.skip(steps_done)`). Without `shuffle_seed` the order is the input order
    (augmentation seeds then use `0 + epoch`).

    `num_epochs > 1` chains epochs `epoch, epoch + 1, ...` in one dataset (no batch spans two
    epochs), each exactly as this function makes it alone. One iterator then serves a whole
    run: a new iterator per epoch costs about 0.2 s of CPU to start the pipeline (tracing
    and instantiating its functions), which is 30% of an 8-batch epoch of apps.ssd at 128
    (`Trainer.fit(..., steps_per_epoch=...)` keeps one iterator).

    Args:
        dataset: a `tf.data.Dataset` of `(image (H, W, 3), labels (max_objects, 5))`, e.g.
            from `load_banana_detection`. Shuffling needs a known size and random access
            (true of the loaders' datasets).
        batch_size: examples per batch (>= 1).
        shuffle_seed: `None` (input order) or a non-negative integer.
        epoch: non-negative index of the (first) epoch, added to `shuffle_seed`.
        augment: apply the training augmentation.
        image_size: int `S` (resize to `S x S`), a `(height, width)` pair, or `None` (keep;
            all images must then have the same size to be batched).
        drop_remainder: drop the last partial batch of each epoch (fixed batch shapes).
        num_epochs: epochs chained (>= 1).

    Returns:
        a `tf.data.Dataset` of `(images float32 (B, S, S, 3), labels float32 (B,
        max_objects, 5))`: labels rows `(class, xmin, ymin, xmax, ymax)`, normalized,
        padding rows `(-1, 0, 0, 0, 0)`, ready for
        `kerasnotes.ops.anchor_matching.multibox_target(anchors, labels)`. Its cardinality
        is known when the input's is.

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
    num_epochs = check_positive_int(function, "num_epochs", num_epochs, allow_none=False)
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
    size = _check_random_access(dataset) if shuffle_seed is not None \
        else int(dataset.cardinality())
    seed_offset = 0 if shuffle_seed is None else int(shuffle_seed)
    image_shape = tuple(dataset.element_spec[0].shape[:2])
    resize = image_size is not None and image_shape != tuple(image_size)

    def prepare(seed_base, position, element):  # one element: resize, draws
        image, labels = element
        if resize:
            image = tf.cast(image, tf.float32)
            image = tf.cond(
                tf.reduce_all(tf.shape(image)[:2] == image_size),
                lambda: image,
                lambda: tf.image.resize(image, image_size, method="bilinear"),
            )
            image = tf.ensure_shape(image, image_size + (3,))
        labels = tf.cast(labels, tf.float32)
        if not augment:
            return image, labels
        flip, factors = detection_augmentation_draws(tf.stack([seed_base, position]))
        return image, labels, flip, factors

    def one_epoch(epoch_index):  # int64 scalar tensor
        seed_base = seed_offset + epoch_index
        if shuffle_seed is None:
            elements = dataset.enumerate().map(
                lambda position, element: prepare(seed_base, position, element),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        else:
            order = tf.numpy_function(_permutation, [seed_base, size], tf.int64,
                                      stateful=False)
            elements = tf.data.Dataset.from_tensor_slices(tf.ensure_shape(order, [size]))
            elements = elements.enumerate().map(
                lambda position, index: prepare(seed_base, position,
                                                tf.data.experimental.at(dataset, index)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return elements.batch(batch_size, drop_remainder=drop_remainder)

    def finish(images, labels, flips=None, factors=None):  # one batch: scale, augment
        if not augment:
            return tf.cast(images, tf.float32) / 255.0, labels
        return augment_detection_batch(images, labels, flips, factors, pixel_max=255.0)

    batches = tf.data.Dataset.range(epoch, epoch + num_epochs).flat_map(one_epoch)
    batches = batches.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if size >= 0:
        per_epoch = size // batch_size if drop_remainder else -(-size // batch_size)
        batches = batches.apply(tf.data.experimental.assert_cardinality(num_epochs * per_epoch))
    return batches.prefetch(tf.data.AUTOTUNE)
