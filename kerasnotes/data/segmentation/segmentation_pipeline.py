"""tf.data pipeline for semantic segmentation: size filter, joint random crop, standardization."""

import numpy as np
import tensorflow as tf

# d2l's RGB standardization (ImageNet channel statistics, images scaled to [0, 1]).
RGB_MEAN = (0.485, 0.456, 0.406)
RGB_STD = (0.229, 0.224, 0.225)


def standardize_rgb(images):
    """`(x / 255 - mean) / std` per RGB channel (d2l's `normalize_image`).

    Args:
        images: uint8 or float `(..., 3)` with values in `[0, 255]`.

    Returns:
        float32 of the same shape.

    Example:

    >>> standardize_rgb(np.full((1, 1, 3), 255, "uint8")).numpy().round(3)
    array([[[2.249, 2.429, 2.64 ]]], dtype=float32)
    """
    images = tf.cast(images, "float32") / 255.0
    return (images - tf.constant(RGB_MEAN)) / tf.constant(RGB_STD)


def filter_by_size(split, crop_size):
    """Keeps the examples of `split` at least as large as `crop_size` in both sides.

    d2l's `filter`: images are cropped, never resized, so smaller ones cannot be used.

    Returns:
        `(images, labels)` lists of the kept examples.

    Raises:
        ValueError: when no image is large enough (with the largest size seen).
    """
    crop_h, crop_w = crop_size
    kept = [(x, y) for x, y in zip(split.images, split.labels, strict=True)
            if x.shape[0] >= crop_h and x.shape[1] >= crop_w]
    if not kept:
        largest = max((x.shape[:2] for x in split.images), default=None,
                      key=lambda s: s[0] * s[1])
        raise ValueError(f"crop size {crop_h}x{crop_w} is larger than every image (the "
                         f"largest is {largest[0]}x{largest[1]} of {len(split.images)}); "
                         "choose a smaller `crop_size`")
    return [x for x, _ in kept], [y for _, y in kept]


def random_crop_pair(image, label, crop_size, seed):
    """Crops the same random window out of an image and its label map (no resizing).

    d2l's `voc_rand_crop`: the window's corner is uniform over the valid positions and is
    identical for the image and the label, so every pixel keeps its label.

    Args:
        image: `(H, W, 3)`; label: `(H, W)` with `H >= crop_h`, `W >= crop_w`.
        crop_size: `(crop_h, crop_w)`.
        seed: shape-`(2,)` int seed of `tf.image.stateless_random_crop`.

    Returns:
        `(image (crop_h, crop_w, 3), label (crop_h, crop_w))`.
    """
    crop_h, crop_w = crop_size
    stacked = tf.concat([image, tf.cast(label, image.dtype)[..., None]], axis=-1)
    window = tf.image.stateless_random_crop(stacked, (crop_h, crop_w, 4), seed=seed)
    return window[..., :3], tf.cast(window[..., 3], label.dtype)


def make_segmentation_dataset(images, labels, crop_size, batch_size, seed=0, epoch=0,
                              shuffle=True):
    """Batches of `(standardized image crop, label crop)` from in-memory examples.

    Every epoch visits each example once (shuffled by `seed + epoch` when `shuffle`) and
    takes a random crop seeded by `(seed, epoch, index)`, so a resumed run sees exactly the
    crops an uninterrupted run sees; a fixed `epoch` (e.g. for validation) gives fixed crops.

    Args:
        images: list of uint8 `(H_i, W_i, 3)` at least `crop_size` large.
        labels: list of uint8 `(H_i, W_i)`.
        crop_size: `(crop_h, crop_w)`.
        batch_size: global batch size.

    Returns:
        a `tf.data.Dataset` of `(float32 (B, crop_h, crop_w, 3), int32 (B, crop_h, crop_w))`.
    """
    order = np.arange(len(images))
    if shuffle:
        np.random.default_rng(seed + epoch).shuffle(order)

    def generate():
        for i in order:
            yield images[i], labels[i], np.array([seed, epoch * 1_000_003 + int(i)], "int64")

    dataset = tf.data.Dataset.from_generator(generate, output_signature=(
        tf.TensorSpec((None, None, 3), tf.uint8),
        tf.TensorSpec((None, None), tf.uint8),
        tf.TensorSpec((2,), tf.int64),
    ))

    def prepare(image, label, crop_seed):
        image, label = random_crop_pair(image, label, crop_size, crop_seed)
        return standardize_rgb(image), tf.cast(label, "int32")

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(images)))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
