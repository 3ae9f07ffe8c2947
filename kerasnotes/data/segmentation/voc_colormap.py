"""The Pascal VOC 21-class colormap and the mapping colors <-> label indices, both ways."""

import numpy as np
import tensorflow as tf

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "potted plant",
    "sheep", "sofa", "train", "tv/monitor",
)

VOC_COLORMAP = (
    (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128),
    (0, 128, 128), (128, 128, 128), (64, 0, 0), (192, 0, 0), (64, 128, 0), (192, 128, 0),
    (64, 0, 128), (192, 0, 128), (64, 128, 128), (192, 128, 128), (0, 64, 0), (128, 64, 0),
    (0, 192, 0), (128, 192, 0), (0, 64, 128),
)

# Object boundaries and "difficult" pixels: label 255 in the palette, this color in RGB.
IGNORE_LABEL = 255
BOUNDARY_COLOR = (224, 224, 192)

# Labels of colors that are not in the colormap (never a valid class or the ignore label).
UNKNOWN_LABEL = 254


def _color_keys(rgb):
    rgb = tf.cast(rgb, "int32")
    return (rgb[..., 0] * 256 + rgb[..., 1]) * 256 + rgb[..., 2]


def colormap_to_label(rgb_label_image):
    """Maps a colored label image to class indices, d2l's `voc_label_indices`.

    Each pixel's color `(r, g, b)` is looked up as the key `(r * 256 + g) * 256 + b`:
    `VOC_COLORMAP[i]` -> `i`, `BOUNDARY_COLOR` -> 255 (ignored in loss and metrics), any
    other color -> `UNKNOWN_LABEL` (254), which callers report as an error.

    Args:
        rgb_label_image: uint8 `(..., 3)` (a palette PNG decoded to RGB).

    Returns:
        uint8 `(...)` label indices.

    Example:

    >>> colormap_to_label(np.array([[[0, 0, 0], [128, 0, 0], [224, 224, 192]]], "uint8")).numpy()
    array([[  0,   1, 255]], dtype=uint8)
    """
    rgb_label_image = tf.convert_to_tensor(rgb_label_image)
    if rgb_label_image.shape.rank is not None and (
        rgb_label_image.shape.rank < 1 or rgb_label_image.shape[-1] != 3
    ):
        raise ValueError("colormap_to_label: expects RGB colors on the last axis, shape "
                         f"(..., 3); received shape {tuple(rgb_label_image.shape)}")
    colors = np.array([*VOC_COLORMAP, BOUNDARY_COLOR], "int32")
    keys = (colors[:, 0] * 256 + colors[:, 1]) * 256 + colors[:, 2]
    values = np.array([*range(len(VOC_COLORMAP)), IGNORE_LABEL], "int32")
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.constant(values)),
        default_value=UNKNOWN_LABEL)
    return tf.cast(table.lookup(_color_keys(rgb_label_image)), "uint8")


def label_to_colormap(labels):
    """Maps class indices to colors: `i` -> `VOC_COLORMAP[i]`, 255 -> `BOUNDARY_COLOR`.

    The notes' last FCN step ("每一元素替换为此位置的 RGB 向量"). Any other index is black.

    Args:
        labels: integer `(...)` label indices.

    Returns:
        uint8 `(..., 3)`.

    Example:

    >>> label_to_colormap(np.array([0, 1, 255])).numpy()
    array([[  0,   0,   0],
           [128,   0,   0],
           [224, 224, 192]], dtype=uint8)
    """
    palette = np.zeros((256, 3), "uint8")
    palette[: len(VOC_COLORMAP)] = VOC_COLORMAP
    palette[IGNORE_LABEL] = BOUNDARY_COLOR
    labels = tf.cast(tf.convert_to_tensor(labels), "int32")
    return tf.gather(tf.constant(palette), tf.clip_by_value(labels, 0, 255))
