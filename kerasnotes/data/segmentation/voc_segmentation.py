"""Reading a Pascal VOC 2012 segmentation folder (or anything written in its layout)."""

import dataclasses
import os

import numpy as np

from kerasnotes.data.segmentation.voc_colormap import UNKNOWN_LABEL, colormap_to_label
from kerasnotes.ops import image_decoding
from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS, check_max_pixels


@dataclasses.dataclass
class SegmentationSplit:
    """Images and label maps of one split, each at its own size.

    `images[i]`: uint8 `(H_i, W_i, 3)`; `labels[i]`: uint8 `(H_i, W_i)` class indices
    (255 = boundary, ignored); `names[i]`: the VOC image id.
    """

    images: list
    labels: list
    names: list

    def __len__(self):
        return len(self.images)


def read_split_names(voc_dir, split):
    """The image ids listed in `voc_dir/ImageSets/Segmentation/<split>.txt`."""
    path = os.path.join(voc_dir, "ImageSets", "Segmentation", f"{split}.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no VOC segmentation split file {path} (expected the VOC2012 layout: "
            "JPEGImages/, SegmentationClass/, ImageSets/Segmentation/{train,val}.txt)")
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ValueError(f"the VOC split file {path} lists no image")
    return names


def read_image_file(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Decodes a PNG/JPEG/BMP/GIF file to uint8 `(H, W, 3)`, upright by its EXIF orientation
    (`kerasnotes.ops.image_decoding.read_image_file`).

    Raises:
        ValueError: `PATH: cannot decode this image (DECODER MESSAGE); ...` for a truncated
            or corrupt file (instead of TF's bare `jpeg::Uncompress failed`), or `PATH: the
            image declares WxH pixels (...), more than the budget of N pixels; refused before
            decoding` for an image over `max_pixels`.
    """
    return image_decoding.read_image_file(path, max_pixels)


def read_label_png(path, max_pixels=DEFAULT_MAX_PIXELS):
    """A VOC label PNG (palette or RGB) -> uint8 `(H, W)` class indices.

    The colors are mapped with `colormap_to_label`; a color outside the colormap raises a
    `ValueError` naming the file, the color and how many pixels have it, and so does a
    truncated or corrupt file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"missing VOC label image {path}")
    rgb = read_image_file(path, max_pixels)
    labels = colormap_to_label(rgb).numpy()
    unknown = labels == UNKNOWN_LABEL
    if unknown.any():
        colors, counts = np.unique(rgb.numpy()[unknown], axis=0, return_counts=True)
        raise ValueError(
            f"label image {path} has {int(unknown.sum())} pixels of colors outside the VOC "
            f"colormap, e.g. RGB {tuple(int(c) for c in colors[np.argmax(counts)])} "
            f"({int(counts.max())} pixels)")
    return labels


def read_voc_segmentation(voc_dir, split="train", max_images=None,
                          max_pixels=DEFAULT_MAX_PIXELS):
    """Reads one split of a VOC2012-style segmentation folder into memory.

    d2l's `read_voc_images`: `voc_dir/ImageSets/Segmentation/<split>.txt` lists ids; the
    image is `JPEGImages/<id>.jpg` and its label `SegmentationClass/<id>.png`, a palette
    image whose colors (`VOC_COLORMAP`, boundary `(224, 224, 192)`) become class indices
    0..20 and 255.

    Args:
        voc_dir: the folder holding `JPEGImages/`, `SegmentationClass/`, `ImageSets/`
            (e.g. `.../VOCdevkit/VOC2012`).
        split: `"train"`, `"val"` or any other list in `ImageSets/Segmentation/`.
        max_images: read only the first ones (quick runs).
        max_pixels: the largest image read (height x width, from its header); a larger one
            is refused before it is decoded.

    Returns:
        a `SegmentationSplit`.

    Every image and label is decoded here, when the split is opened: a truncated, corrupt
    or oversized file is a `ValueError` naming it, before any training step. Images are
    turned upright by their EXIF orientation (labels must match the upright image).

    Raises:
        FileNotFoundError (an `OSError`): a missing folder, list, image or label file.
        ValueError: a truncated or corrupt image or label file, a label color outside the
            colormap (with the file name), or an image and its label of different sizes.

    Example:

    >>> split = read_voc_segmentation("../shared/data/voc2012_samples", "val")
    >>> split.images[0].shape, split.labels[0].shape
    ((513, 513, 3), (513, 513))
    """
    max_pixels = check_max_pixels("read_voc_segmentation", max_pixels)
    if not os.path.isdir(voc_dir):
        raise FileNotFoundError(f"VOC folder not found: {voc_dir}")
    names = read_split_names(voc_dir, split)
    if max_images is not None:
        names = names[: int(max_images)]
    images, labels = [], []
    for name in names:
        image_path = os.path.join(voc_dir, "JPEGImages", f"{name}.jpg")
        if not os.path.isfile(image_path):
            raise FileNotFoundError(f"missing VOC image {image_path}")
        image = read_image_file(image_path, max_pixels).numpy()
        label_path = os.path.join(voc_dir, "SegmentationClass", f"{name}.png")
        label = read_label_png(label_path, max_pixels)
        if image.shape[:2] != label.shape:
            turned = image.shape[1::-1] == label.shape
            raise ValueError(f"image {image_path} is {image.shape[:2]} but its label "
                             f"{label_path} is {label.shape}"
                             + (" (images are turned upright by their EXIF orientation: "
                                "the label must match the upright image)" if turned else ""))
        images.append(image)
        labels.append(label)
    return SegmentationSplit(images=images, labels=labels, names=names)
