"""Detection augmentation that keeps boxes right: horizontal flip and color jitter.

The functions work on the detection elements of `kerasnotes.data.detection.detection_records`:
`image (H, W, 3)` (or a batch `(B, H, W, 3)`) and `labels (max_objects, 5)` (or
`(B, max_objects, 5)`) with rows `(class, xmin, ymin, xmax, ymax)`, normalized corners, and
padding rows of class -1, which are never changed.

A horizontal flip maps `x -> 1 - x`, so a box becomes

    xmin' = 1 - xmax,   xmax' = 1 - xmin,   ymin' = ymin,   ymax' = ymax

which is what `keras.layers.RandomFlip("horizontal", bounding_box_format="rel_xyxy")` does
to boxes (tested equal). We do not call that layer in the pipeline: it also moves padding
rows (`(0, 0, 0, 0)` becomes `(1, 0, 1, 0)`), and it draws its coins from a stateful
`SeedGenerator`, so under a parallel `tf.data` map the coin an image gets depends on
scheduling. Here every random choice is a stateless function of an explicit `seed` (a
shape-`(2,)` integer tensor, as `tf.random.stateless_uniform` takes), so an element's
augmentation depends only on its seed: `make_detection_dataset` gives element `i` of epoch
`e` the seed `(shuffle_seed + e, i)`. Color jitter (brightness, contrast, saturation,
optional hue; `random_color_jitter`) plays the part of `keras.layers.RandomColorJitter` with
stateless factors; colors do not move boxes.
"""

import tensorflow as tf

from kerasnotes._checks import check_number, check_stateless_seed

# ITU-R 601 luma weights, as tf.image.rgb_to_grayscale.
_GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


def _check_labels(function, labels):
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_floating:
        labels = tf.cast(labels, tf.float32)
    if labels.shape.rank is not None and (labels.shape.rank not in (2, 3)
                                          or labels.shape[-1] not in (None, 5)):
        raise ValueError(
            f"{function}: labels must have shape (max_objects, 5) or (batch, max_objects, 5) "
            f"with rows (class, xmin, ymin, xmax, ymax); received shape {tuple(labels.shape)}"
        )
    return labels


def _check_image(function, image):
    image = tf.convert_to_tensor(image)
    if image.shape.rank is not None and (image.shape.rank not in (3, 4)
                                         or image.shape[-1] not in (None, 3)):
        raise ValueError(
            f"{function}: image must have shape (height, width, 3) or (batch, height, width, "
            f"3); received shape {tuple(image.shape)}"
        )
    return image


def flip_boxes_horizontally(labels):
    """Box labels of the left-right mirrored image: `xmin' = 1 - xmax`, `xmax' = 1 - xmin`.

    Args:
        labels: `(..., 5)` rows `(class, xmin, ymin, xmax, ymax)`, normalized; rows with a
            negative class (padding) are returned unchanged.

    Returns:
        the flipped labels, same shape and dtype.

    Example:

    >>> flip_boxes_horizontally([[1.0, 0.1, 0.2, 0.4, 0.6], [-1, 0, 0, 0, 0]]).numpy()
    array([[ 1. ,  0.6,  0.2,  0.9,  0.6],
           [-1. ,  0. ,  0. ,  0. ,  0. ]], dtype=float32)
    """
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_floating:
        labels = tf.cast(labels, tf.float32)
    if labels.shape.rank is not None and labels.shape[-1] not in (None, 5):
        raise ValueError(
            "flip_boxes_horizontally: labels must have shape (..., 5) with rows (class, xmin, "
            f"ymin, xmax, ymax); received shape {tuple(labels.shape)}"
        )
    classes, xmin, ymin, xmax, ymax = tf.unstack(labels, 5, axis=-1)
    flipped = tf.stack([classes, 1.0 - xmax, ymin, 1.0 - xmin, ymax], axis=-1)
    return tf.where(labels[..., :1] >= 0, flipped, labels)


def horizontal_flip(image, labels):
    """Mirrors the image left-right and its boxes with it (`flip_boxes_horizontally`).

    Args:
        image: `(H, W, C)` or `(B, H, W, C)`, any dtype.
        labels: `(max_objects, 5)` or `(B, max_objects, 5)`.

    Returns:
        `(flipped_image, flipped_labels)`, same shapes and dtypes.
    """
    image = _check_image("horizontal_flip", image)
    labels = _check_labels("horizontal_flip", labels)
    return tf.reverse(image, axis=[-2]), flip_boxes_horizontally(labels)


def random_horizontal_flip(image, labels, seed, probability=0.5):
    """`horizontal_flip` with probability `probability`, decided by a stateless coin.

    For a batch, every image gets its own coin (all drawn from `seed`).

    Args:
        image: `(H, W, C)` or `(B, H, W, C)`.
        labels: `(max_objects, 5)` or `(B, max_objects, 5)`.
        seed: int32/int64 tensor of shape `(2,)`; the same seed gives the same result.
        probability: chance of a flip, in `[0, 1]`.

    Returns:
        `(image, labels)`, flipped or not, same shapes and dtypes.

    Example:

    >>> image = tf.zeros((8, 8, 3), tf.uint8)
    >>> labels = tf.constant([[0.0, 0.1, 0.2, 0.4, 0.6]])
    >>> _, flipped = random_horizontal_flip(image, labels, seed=[1, 2], probability=1.0)
    >>> flipped.numpy()
    array([[0. , 0.6, 0.2, 0.9, 0.6]], dtype=float32)
    """
    function = "random_horizontal_flip"
    image = _check_image(function, image)
    labels = _check_labels(function, labels)
    seed = check_stateless_seed(function, "seed", seed)
    probability = check_number(function, "probability", probability, minimum=0, maximum=1)
    coins = tf.random.stateless_uniform(tf.shape(labels)[:-2], seed) < probability
    if image.shape.rank == 3 and labels.shape.rank == 2:
        # One image: flip only when the coin says so (cheaper than computing both).
        return tf.cond(coins, lambda: horizontal_flip(image, labels),
                       lambda: (image, tf.identity(labels)))
    flipped_image, flipped_labels = horizontal_flip(image, labels)
    image = tf.where(coins[..., None, None, None], flipped_image, image)
    labels = tf.where(coins[..., None, None], flipped_labels, labels)
    return image, labels


def random_color_jitter(image, seed, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.0):
    """Random brightness, contrast, saturation and hue changes of one image, in that order.

    With factors drawn uniformly from the stateless seed, on pixel values `x` in `[0, 1]`:

        brightness  x <- x + d,                     d in [-brightness, brightness]
        contrast    x <- (x - mean_c) * c + mean_c,  c in [1 - contrast, 1 + contrast],
                    mean_c = the mean of channel c over the image
        saturation  x <- g + s * (x - g),           s in [1 - saturation, 1 + saturation],
                    g = 0.2989 R + 0.5870 G + 0.1140 B (the gray level)
        hue         rotate the hue by h,             h in [-hue, hue] (fraction of a turn)

    then clip to `[0, 1]` (only at the end). Brightness and contrast are
    `tf.image.adjust_brightness` and `tf.image.adjust_contrast`; saturation is a blend with
    the gray image (as torchvision's `adjust_saturation`) rather than
    `tf.image.adjust_saturation`'s HSV round trip, which costs more than the rest together;
    the three are computed as one affine map per pixel. Hue uses `tf.image.adjust_hue` and is
    off by default for the same reason. A factor of 0 disables that change.

    Args:
        image: `(H, W, 3)`, float in `[0, 1]` or uint8 (converted to float; the result is
            converted back to the input dtype). A batch `(B, H, W, 3)` gets one set of
            factors for all its images: jitter elements before batching.
        seed: int32/int64 tensor of shape `(2,)`.
        brightness: `>= 0`.
        contrast: in `[0, 1]`.
        saturation: in `[0, 1]`.
        hue: in `[0, 0.5]`.

    Returns:
        the jittered image, same shape and dtype.

    Example:

    >>> image = tf.fill((4, 4, 3), 0.5)
    >>> jittered = random_color_jitter(image, seed=[0, 1], brightness=0.1, contrast=0.0,
    ...                                saturation=0.0)
    >>> bool(tf.reduce_all(tf.abs(jittered - 0.5) <= 0.1))
    True
    """
    function = "random_color_jitter"
    image = _check_image(function, image)
    seed = check_stateless_seed(function, "seed", seed)
    brightness = check_number(function, "brightness", brightness, minimum=0)
    contrast = check_number(function, "contrast", contrast, minimum=0, maximum=1)
    saturation = check_number(function, "saturation", saturation, minimum=0, maximum=1)
    hue = check_number(function, "hue", hue, minimum=0, maximum=0.5)
    dtype = image.dtype
    image = tf.image.convert_image_dtype(image, tf.float32)
    factors = color_jitter_factors(seed, brightness, contrast, saturation, hue)
    delta, contrast_factor, saturation_factor, hue_delta = tf.unstack(factors)
    if brightness > 0 or contrast > 0 or saturation > 0:
        image = _brightness_contrast_saturation(image, delta, contrast_factor,
                                                saturation_factor)
    if hue > 0:
        image = tf.image.adjust_hue(tf.clip_by_value(image, 0.0, 1.0), hue_delta)
    image = tf.clip_by_value(image, 0.0, 1.0)
    return tf.image.convert_image_dtype(image, dtype, saturate=True)


def _brightness_contrast_saturation_map(x, d, c, s):
    """The three changes of `random_color_jitter` composed into one affine map per pixel.

    With `m` the channel means of `x`, `g(v) = w . v` the gray level (`w` the gray weights)
    and no clipping in between, brightness, then contrast, then saturation give

        x2 = c (x - m) + m + d                      (brightness d, then contrast c)
        x3 = s x2 + (1 - s) g(x2)                   (saturation s)
           = s c x + (1 - s) c g(x) + K,
        K  = s ((1 - c) m + d) + (1 - s) ((1 - c) g(m) + d sum(w)),

    which takes a third of the tensor passes of the step-by-step version; XLA fuses them
    into one loop (measured 3-8x faster than without `jit_compile` in a `tf.data` map, where
    the input pipeline's speed depends on it).
    """
    weights = tf.constant(_GRAY_WEIGHTS, x.dtype)
    mean = tf.reduce_mean(x, axis=(-3, -2), keepdims=True)
    gray = tf.reduce_sum(x * weights, axis=-1, keepdims=True)
    gray_mean = tf.reduce_sum(mean * weights, axis=-1, keepdims=True)
    offset = s * ((1.0 - c) * mean + d) + (1.0 - s) * (
        (1.0 - c) * gray_mean + d * tf.reduce_sum(weights))
    return (s * c) * x + ((1.0 - s) * c) * gray + offset


_brightness_contrast_saturation = tf.function(_brightness_contrast_saturation_map,
                                              jit_compile=True)


def color_jitter_factors(seed, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.0):
    """The factors `random_color_jitter` draws from `seed`: float32 `(4,)` holding the
    brightness delta, the contrast factor, the saturation factor and the hue delta (each
    uniform in its range; a disabled change gets 0 for deltas, 1 for factors)."""
    u = tf.random.stateless_uniform((4,), seed, minval=-1.0, maxval=1.0)
    scale = tf.constant([brightness, contrast, saturation, hue], tf.float32)
    return u * scale + tf.constant([0.0, 1.0, 1.0, 0.0])


def augment_detection_example(image, labels, seed, flip_probability=0.5, brightness=0.2,
                              contrast=0.2, saturation=0.2, hue=0.0):
    """The training augmentation of one detection example: `random_horizontal_flip` then
    `random_color_jitter`, with independent seeds split from `seed`.

    Args:
        image: `(H, W, 3)` float in `[0, 1]` or uint8.
        labels: `(max_objects, 5)` normalized rows, padding rows of class -1.
        seed: int32/int64 tensor of shape `(2,)`.
        flip_probability, brightness, contrast, saturation, hue: see
            `random_horizontal_flip` and `random_color_jitter` (0 disables each).

    Returns:
        `(image, labels)` with the shapes and dtypes of the inputs.

    Example:

    >>> image = tf.random.stateless_uniform((16, 16, 3), [0, 0])
    >>> labels = tf.constant([[2.0, 0.1, 0.2, 0.4, 0.6], [-1.0, 0.0, 0.0, 0.0, 0.0]])
    >>> image, labels = augment_detection_example(image, labels, seed=[3, 7])
    """
    seed = check_stateless_seed("augment_detection_example", "seed", seed)
    flip_seed, color_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image, labels = random_horizontal_flip(image, labels, flip_seed, flip_probability)
    image = random_color_jitter(image, color_seed, brightness, contrast, saturation, hue)
    return image, labels


def detection_augmentation_draws(seed, flip_probability=0.5, brightness=0.2, contrast=0.2,
                                 saturation=0.2):
    """What `augment_detection_example` draws from `seed` (hue off): `(flip, factors)`, a
    bool scalar and the float32 `(3,)` brightness delta, contrast and saturation factors.

    With them, `augment_detection_batch` augments a whole batch at once exactly as
    `augment_detection_example` augments each of its elements (`make_detection_dataset`
    draws per element, then augments per batch).

    Example:

    >>> flip, factors = detection_augmentation_draws(tf.constant([3, 7], tf.int64))
    >>> factors.shape
    TensorShape([3])
    """
    seed = check_stateless_seed("detection_augmentation_draws", "seed", seed)
    flip_seed, color_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    flip = tf.random.stateless_uniform((), flip_seed) < flip_probability
    factors = color_jitter_factors(color_seed, brightness, contrast, saturation, 0.0)
    return flip, factors[:3]


def augment_detection_batch(images, labels, flips, factors, pixel_max=1.0):
    """`augment_detection_example` (hue off) of a batch, with each element's draws given.

    Per element `b`: scale `images[b] / pixel_max` to `[0, 1]`, flip it and its boxes when
    `flips[b]`, then brightness, contrast and saturation with `factors[b]` (the affine map of
    `random_color_jitter`), then clip to `[0, 1]`. The image work is one XLA kernel for the
    whole batch, a few times cheaper than per element in a `tf.data` map.

    Args:
        images: `(B, H, W, 3)` pixels in `[0, pixel_max]`, uint8 or float.
        labels: `(B, max_objects, 5)` normalized rows, padding rows of class -1.
        flips: bool `(B,)`; factors: float32 `(B, 3)` (`detection_augmentation_draws`).
        pixel_max: 255 for raw pixels, 1 for images already in `[0, 1]`.

    Returns:
        `(float32 images in [0, 1], float32 labels)`, the shapes of the inputs.

    Example:

    >>> flip, factors = detection_augmentation_draws(tf.constant([3, 7], tf.int64))
    >>> images, labels = augment_detection_batch(pixels[None], labels[None], flip[None],
    ...                                          factors[None], pixel_max=255.0)
    """
    labels = tf.cast(labels, tf.float32)
    labels = tf.where(flips[:, None, None], flip_boxes_horizontally(labels), labels)
    return _flip_and_jitter(images, flips, tf.cast(factors, tf.float32), float(pixel_max)), labels


@tf.function(jit_compile=True, reduce_retracing=True)
def _flip_and_jitter(images, flips, factors, pixel_max):
    images = tf.cast(images, tf.float32) / pixel_max
    images = tf.where(flips[:, None, None, None], tf.reverse(images, axis=[2]), images)
    factors = factors[:, :, None, None, None]  # (B, 3, 1, 1, 1)
    images = _brightness_contrast_saturation_map(images, factors[:, 0], factors[:, 1],
                                                 factors[:, 2])
    return tf.clip_by_value(images, 0.0, 1.0)
