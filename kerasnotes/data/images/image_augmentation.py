"""Image augmentation, the notes' three random transformations, as a seeded tf.data step.

The notes (7 计算机视觉, 图像增广) list:

- flips: left-right and up-down, each with a fixed probability;
- random resized crop: a crop covering 10%-100% of the image area with aspect ratio
  (width / height) 0.5-2, stretched to a fixed size;
- color changes: brightness, hue, contrast and saturation.

`ImageAugmentation` applies them to a batch of float images, with every random draw made
by a *stateless* TF random op from an explicit seed `(2,)`. `augment_dataset` maps it over
a `tf.data.Dataset` of batches with `num_parallel_calls`, giving batch `i` of epoch `e`
the seed `fold_in(fold_in((seed, 0), e), i)`: the output depends only on
`(seed, epoch, position)`, never on thread scheduling, so a resumed run (`.skip(n)`)
replays exactly the augmented batches an uninterrupted run sees.

Why the seeds are drawn here and not inside the layers: the Keras augmentation layers and
keras-cv's `RandomCropAndResize` keep their random state in a variable that each call
reads and advances; inside `Dataset.map(num_parallel_calls=...)` the calls race for it,
and two runs with the same layer seed give different images (measured: max pixel
difference 0.98). So this module draws each transformation's parameters statelessly and
lets the library layers do the image work:

- resized crop: the box is drawn with the formula of keras-cv's
  `RandomCropAndResize(crop_area_factor, aspect_ratio_factor)` (area `a ~ U(a0, a1)`,
  ratio `r ~ U(r0, r1)`, relative `h = min(sqrt(a / r), 1)`, `w = min(sqrt(a * r), 1)`,
  offsets uniform so the box stays inside) and cut and resized with
  `tf.image.crop_and_resize` (bilinear), the op that layer applies
  (`RandomCropAndResize.augment_image(image, transformation=box)` gives the same pixels);
- color: `keras.layers.RandomBrightness`, `RandomContrast`, `RandomSaturation` and
  `RandomHue` transform the images (`transform_images`) with per-image factors drawn here:
  brightness delta `~ U(-b, b)` of the value range, contrast factor `~ U(1 - c, 1 + c)`,
  saturation factor `~ U(1 - s, 1 + s)`, hue shift `~ U(-h, h)` of the hue circle;
- flips: written here (Keras' `RandomFlip` flips with probability 1/2 only).

A factor of 0 skips its transformation, so with every factor 0 (and a full-area crop of
ratio 1 to the input size) the images come back unchanged.
"""

import keras
import tensorflow as tf

from kerasnotes._checks import check_int, check_int_pair, check_number, check_range


class ImageAugmentation:
    """The notes' image augmentation: flips, random resized crop, color changes.

    For a batch `x` of float images in `[0, 1]`, each image independently:

        flip left-right with probability p_lr, up-down with probability p_ud
        crop: area fraction a ~ U(crop_area), ratio r ~ U(aspect_ratio),
              box height sqrt(a / r), width sqrt(a * r) (relative, clipped to 1),
              uniform position inside the image; resize the box to target_size
        brightness: x + d,            d ~ U(-brightness, brightness)
        contrast:   (x - mean) k + mean, k ~ U(1 - contrast, 1 + contrast)
        saturation: S <- S k (HSV),  k ~ U(1 - saturation, 1 + saturation)
        hue:        H <- H + d (mod 1), d ~ U(-hue, hue)
        then clip to [0, 1]

    (See the module docstring for which library op does each step.) Every random number
    comes from stateless ops seeded by the `seed` argument of the call: the same images
    and seed give the same output, in eager code and inside `Dataset.map`.

    Args:
        target_size: `(height, width)` of the output images.
        horizontal_flip: probability of a left-right flip.
        vertical_flip: probability of an up-down flip.
        crop_area: `(min, max)` area fraction of the crop, in `(0, 1]`; the notes' `(0.1, 1)`.
        aspect_ratio: `(min, max)` width / height of the crop; the notes' `(0.5, 2)`.
        brightness: maximal brightness change, in `[0, 1]` (0: none).
        contrast: maximal relative contrast change, in `[0, 1]` (0: none).
        saturation: maximal relative saturation change, in `[0, 1]` (0: none; RGB only).
        hue: maximal hue shift, a fraction of the hue circle in `[0, 0.5]` (0: none;
            RGB only).
        crop: whether to apply the random resized crop (`False`: images keep their size).

    Call arguments:
        images: float images `(batch, height, width, channels)` in `[0, 1]`.
        seed: int32/int64 tensor or pair `(2,)`.

    Returns:
        float32 images `(batch, target_height, target_width, channels)` (or the input size
        when `crop=False`).

    Example:

    >>> augment = ImageAugmentation(target_size=(32, 32), brightness=0.2)
    >>> augment(np.zeros((4, 40, 40, 3), "float32"), seed=(1, 2)).shape
    TensorShape([4, 32, 32, 3])
    """

    def __init__(self, target_size, horizontal_flip=0.5, vertical_flip=0.0,
                 crop_area=(0.1, 1.0), aspect_ratio=(0.5, 2.0), brightness=0.0,
                 contrast=0.0, saturation=0.0, hue=0.0, crop=True):
        owner = "ImageAugmentation"
        self.target_size = check_int_pair(owner, "target_size", target_size,
                                          allow_single=False)
        self.horizontal_flip = check_number(owner, "horizontal_flip", horizontal_flip,
                                            minimum=0, maximum=1)
        self.vertical_flip = check_number(owner, "vertical_flip", vertical_flip,
                                          minimum=0, maximum=1)
        self.crop_area = check_range(owner, "crop_area", crop_area, exclusive_minimum=0,
                                     maximum=1)
        self.aspect_ratio = check_range(owner, "aspect_ratio", aspect_ratio,
                                        exclusive_minimum=0)
        self.brightness = check_number(owner, "brightness", brightness, minimum=0, maximum=1)
        self.contrast = check_number(owner, "contrast", contrast, minimum=0, maximum=1)
        self.saturation = check_number(owner, "saturation", saturation, minimum=0, maximum=1)
        self.hue = check_number(owner, "hue", hue, minimum=0, maximum=0.5)
        self.crop = bool(crop)
        # The Keras layers do the pixel work of the color changes; their own random
        # state is never used (the factors below are what `transform_images` receives).
        self._brightness_layer = keras.layers.RandomBrightness(
            factor=self.brightness, value_range=(0.0, 1.0))
        self._contrast_layer = keras.layers.RandomContrast(
            factor=self.contrast, value_range=(0.0, 1.0))
        self._saturation_layer = keras.layers.RandomSaturation(
            factor=(0.0, 1.0), value_range=(0.0, 1.0))
        self._hue_layer = keras.layers.RandomHue(factor=(0.0, 1.0), value_range=(0.0, 1.0))

    def get_config(self):
        return {
            "target_size": self.target_size,
            "horizontal_flip": self.horizontal_flip,
            "vertical_flip": self.vertical_flip,
            "crop_area": self.crop_area,
            "aspect_ratio": self.aspect_ratio,
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
            "hue": self.hue,
            "crop": self.crop,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def crop_boxes(self, batch_size, seed):
        """Relative crop boxes `(batch, 4)` as `(ymin, xmin, ymax, xmax)` for `seed`.

        keras-cv's `RandomCropAndResize` formula: `a ~ U(crop_area)`, `r ~ U(aspect_ratio)`,
        `h = min(sqrt(a / r), 1)`, `w = min(sqrt(a * r), 1)`, `ymin ~ U(0, 1 - h)`,
        `xmin ~ U(0, 1 - w)`. The box area `h * w` stays in `crop_area` and, on a square
        image, its aspect ratio `w / h` stays in `aspect_ratio` (clipping only moves them
        inwards).
        """
        seeds = tf.random.experimental.stateless_split(_seed(seed), num=4)
        area = tf.random.stateless_uniform([batch_size], seeds[0], *self.crop_area)
        ratio = tf.random.stateless_uniform([batch_size], seeds[1], *self.aspect_ratio)
        height = tf.minimum(tf.sqrt(area / ratio), 1.0)
        width = tf.minimum(tf.sqrt(area * ratio), 1.0)
        ymin = tf.random.stateless_uniform([batch_size], seeds[2]) * (1.0 - height)
        xmin = tf.random.stateless_uniform([batch_size], seeds[3]) * (1.0 - width)
        return tf.stack([ymin, xmin, ymin + height, xmin + width], axis=-1)

    def crop_and_resize(self, images, boxes):
        """Cuts box `i` `(ymin, xmin, ymax, xmax)` out of image `i`, resized (bilinear).

        The op keras-cv's `RandomCropAndResize.augment_image` applies to one image.
        """
        return tf.image.crop_and_resize(images, boxes, tf.range(tf.shape(images)[0]),
                                        self.target_size)

    def __call__(self, images, seed):
        images = tf.convert_to_tensor(images, tf.float32)
        if images.shape.rank != 4:
            raise ValueError("ImageAugmentation: images must be a batch (batch, height, "
                             f"width, channels); received shape {images.shape}")
        channels = images.shape[-1]
        if (self.saturation or self.hue) and channels != 3:
            raise ValueError("ImageAugmentation: saturation and hue need RGB images (3 "
                             f"channels); received {channels} channels")
        batch = tf.shape(images)[0]
        seeds = tf.random.experimental.stateless_split(_seed(seed), num=7)
        if self.horizontal_flip:
            flip = tf.random.stateless_uniform([batch], seeds[0]) < self.horizontal_flip
            images = tf.where(flip[:, None, None, None], tf.reverse(images, [2]), images)
        if self.vertical_flip:
            flip = tf.random.stateless_uniform([batch], seeds[1]) < self.vertical_flip
            images = tf.where(flip[:, None, None, None], tf.reverse(images, [1]), images)
        if self.crop:
            images = self.crop_and_resize(images, self.crop_boxes(batch, seeds[2]))
        if self.brightness:
            delta = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[3],
                                                -self.brightness, self.brightness)
            images = self._brightness_layer.transform_images(images, {"rgb_delta": delta})
        if self.contrast:
            factor = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[4],
                                                 1.0 - self.contrast, 1.0 + self.contrast)
            images = self._contrast_layer.transform_images(images,
                                                           {"contrast_factor": factor})
        if self.saturation:
            factor = tf.random.stateless_uniform([batch], seeds[5], 1.0 - self.saturation,
                                                 1.0 + self.saturation)
            images = self._saturation_layer.transform_images(images, {"factor": factor})
        if self.hue:
            shift = tf.random.stateless_uniform([batch], seeds[6], -self.hue, self.hue)
            images = self._hue_layer.transform_images(images, {"factor": shift})
        return tf.clip_by_value(images, 0.0, 1.0)


def _seed(seed):
    return tf.cast(tf.convert_to_tensor(seed), tf.int64)


def default_augmentation(image_shape):
    """The notes' augmentation for images of `image_shape` `(height, width, channels)`.

    Left-right flips (p = 0.5), the notes' random resized crop (area 0.1-1, ratio 0.5-2)
    back to the input size, brightness and contrast 0.3, and for RGB images saturation
    0.3 and hue 0.05. Up-down flips are off (`vertical_flip=0`): many classes are not
    symmetric that way; pass `vertical_flip` to `ImageAugmentation` to use them.
    """
    height, width, channels = (int(d) for d in image_shape)
    rgb = channels == 3
    return ImageAugmentation(target_size=(height, width), horizontal_flip=0.5,
                             vertical_flip=0.0, brightness=0.3, contrast=0.3,
                             saturation=0.3 if rgb else 0.0, hue=0.05 if rgb else 0.0)


def augment_dataset(dataset, seed, epoch=0, augmentation=None):
    """Maps `augmentation` over a dataset of batches `(images, labels[, weights])`.

    Batch `i` of `epoch` gets the seed `fold_in(fold_in((seed, 0), epoch), i)`, so the
    result depends only on `(seed, epoch, i)`. The map runs with
    `num_parallel_calls=AUTOTUNE` (deterministic order) and the result is prefetched.

    Args:
        dataset: a `tf.data.Dataset` of batches whose first element is float images
            `(B, h, w, c)` in `[0, 1]` (e.g. `make_classification_dataset(...)`).
        seed: non-negative integer.
        epoch: non-negative integer; different epochs get different augmentations.
        augmentation: an `ImageAugmentation` (default: `default_augmentation` for the
            dataset's image shape).

    Returns:
        the dataset with augmented images (labels untouched).

    Example:

    >>> train = augment_dataset(make_classification_dataset(x, y, 64, shuffle_seed=0,
    ...                                                     epoch=3), seed=0, epoch=3)
    """
    seed = check_int("augment_dataset", "seed", seed, minimum=0)
    epoch = check_int("augment_dataset", "epoch", epoch, minimum=0)
    spec = dataset.element_spec
    image_spec = spec[0] if isinstance(spec, tuple) else spec
    if image_spec.shape.rank != 4 or None in image_spec.shape[1:]:
        raise ValueError("augment_dataset: the dataset must yield batches of images "
                         f"(batch, height, width, channels); its images have shape "
                         f"{image_spec.shape}")
    if augmentation is None:
        augmentation = default_augmentation(image_spec.shape[1:])
    base = tf.random.experimental.stateless_fold_in(
        tf.constant([seed, 0], tf.int64), epoch)

    def augment(index, element):
        batch_seed = tf.random.experimental.stateless_fold_in(base, index)
        if isinstance(element, tuple):
            return (augmentation(element[0], batch_seed), *element[1:])
        return augmentation(element, batch_seed)

    dataset = dataset.enumerate().map(augment, num_parallel_calls=tf.data.AUTOTUNE,
                                      deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
