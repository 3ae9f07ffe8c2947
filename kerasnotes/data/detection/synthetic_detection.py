"""Synthetic shapes: an embedded object-detection dataset, written in the banana layout.

The default data of the detection app, so that it runs without network or downloaded files.
It is *not* real data: every image is a textured background (a random muted base color, a
smooth random color field, a sine grating of random orientation and period, pixel noise) on
which 0 to `max_objects` objects are drawn, each one of four classes that differ in shape
and color family:

    0 "disk"       filled ellipse, red-orange hues
    1 "triangle"   filled triangle (apex up, base down), green hues
    2 "square"     filled axis-aligned rectangle, blue hues
    3 "ring"       elliptical ring, yellow hues

Each object has a random size (the square root of its box area is 0.15 to 0.45 of the
image side, its aspect ratio w / h is 1/1.6 to 1.6, no side above 0.5 of the image),
position, hue, saturation, brightness and a vertical shading gradient. The box is the
integer pixel box `[xmin, xmax) x [ymin, ymax)` that the shape touches on all
four sides (the shape is inscribed in it), so the labels are exact. Objects do not overlap.
About 10% of the images have no object; the others have 1 to `max_objects` objects.

Drawing is vectorized NumPy on the pixel grid; images are encoded as JPEG (quality 95)
with `tf.io.encode_jpeg`: about 4x smaller and 3x faster to decode than PNG for these
noisy textures, which keeps the input pipeline fast. Each split folder follows the layout of
`kerasnotes.data.detection.banana_detection` (d2l's `label.csv` + `images/`), so the same
reader reads both datasets:

    <root>/train/label.csv, <root>/train/images/0.jpg, ...
    <root>/val/label.csv,   <root>/val/images/0.jpg, ...
    <root>/classes.txt      one class name per line
    <root>/manifest.json    the generation parameters, written last

Image `i` of a split depends only on `(seed, split, i, image_size, max_objects)`, not on the
size of the splits.
"""

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int
from kerasnotes.data.detection.banana_detection import (
    CLASS_NAMES_FILE,
    IMAGES_FOLDER,
    LABEL_COLUMNS,
    LABEL_FILE,
)

SYNTHETIC_DETECTION_CLASS_NAMES = ("disk", "triangle", "square", "ring")
TRAIN_FOLDER = "train"
VAL_FOLDER = "val"
MANIFEST_FILE = "manifest.json"
# Bump when the drawing or the layout changes, so that `ensure_synthetic_detection_dataset`
# regenerates (3: split folders train/ and val/ instead of bananas_train/ and bananas_val/).
GENERATOR_VERSION = 3

_SIDE_RANGE = (0.15, 0.45)  # sqrt(box area) / image side
_MAX_ASPECT = 1.6  # w / h in [1 / 1.6, 1.6]
_EMPTY_PROBABILITY = 0.1
_PLACEMENT_ATTEMPTS = 50
# Hue centers of the classes' color families (HSV hue in [0, 1)) and their jitter.
_CLASS_HUES = (0.02, 0.33, 0.61, 0.15)
_HUE_JITTER = 0.04
_RING_WIDTH_RANGE = (0.18, 0.32)  # ring width / half-size of the shape
_NOISE_STD = 0.025
_JPEG_QUALITY = 95


def _hsv_to_rgb(hue, saturation, value):
    """HSV (scalars in [0, 1]) to an RGB float array `(3,)`."""
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6.0) % 6.0
    return value - value * saturation * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _smooth_field(rng, size, cells, channels):
    """A smooth random field `(size, size, channels)` in [-1, 1]: bilinear upsampling of a
    `(cells + 1, cells + 1)` grid of uniform values."""
    grid = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1, channels)).astype(np.float32)
    # Interpolation weights (size, cells + 1): row r mixes grid points i and i + 1.
    t = (np.arange(size, dtype=np.float32) + 0.5) / size * cells
    i = np.minimum(t.astype(int), cells - 1)
    weights = np.zeros((size, cells + 1), np.float32)
    weights[np.arange(size), i] = 1.0 - (t - i)
    weights[np.arange(size), i + 1] = t - i
    rows = (weights @ grid.reshape(cells + 1, -1)).reshape(size, cells + 1, channels)
    return weights @ rows  # (size, size, channels): [y, x] = sum_b weights[x, b] rows[y, b]


def _background(rng, size):
    base = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.75))
    image = base.astype(np.float32) + 0.12 * _smooth_field(rng, size, int(rng.integers(2, 6)), 3)
    # A sine grating sin(kx x + ky y), separable: sin(kx x) cos(ky y) + cos(kx x) sin(ky y).
    angle = rng.uniform(0.0, np.pi)
    frequency = 2.0 * np.pi / (rng.uniform(0.03, 0.2) * size)
    centers = np.arange(size, dtype=np.float32) + 0.5
    kx, ky = frequency * np.cos(angle) * centers, frequency * np.sin(angle) * centers
    grating = (np.outer(np.cos(ky), np.sin(kx)) + np.outer(np.sin(ky), np.cos(kx)))
    image += (rng.uniform(0.02, 0.08) * grating)[:, :, None].astype(np.float32)
    return image


def _shape_mask(label, x, y, box, rng):
    """Boolean mask of class `label` inscribed in `box = (xmin, ymin, xmax, ymax)` (pixels),
    evaluated at pixel centers `x, y` (arrays of the box's window)."""
    xmin, ymin, xmax, ymax = box
    cx, cy = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    a, b = (xmax - xmin) / 2.0, (ymax - ymin) / 2.0
    u, v = (x - cx) / a, (y - cy) / b  # [-1, 1] across the box
    if label in (0, 3):  # disk / ring
        radius = np.hypot(u, v)
        # Pixel centers lie half a pixel inside the box: grow the ellipse by that much so
        # the shape touches the box's edge pixels.
        mask = radius <= 1.0 + 0.5 / min(a, b)
        if label == 3:
            width = rng.uniform(*_RING_WIDTH_RANGE)
            mask &= radius >= 1.0 - width
        return mask
    if label == 1:  # triangle: apex at the top middle, base on the bottom edge
        t = (v + 1.0) / 2.0  # 0 at the top, 1 at the bottom
        return np.abs(u) <= t + 1.0 / a
    return np.ones_like(u, dtype=bool)  # square / rectangle


def _draw_image(seed, split_index, index, image_size, max_objects):
    """One image: uint8 `(S, S, 3)` and its objects, a list of `(label, xmin, ymin, xmax,
    ymax)` in integer pixels."""
    rng = np.random.default_rng([seed, split_index, index])
    image = _background(rng, image_size)
    if max_objects == 0 or rng.uniform() < _EMPTY_PROBABILITY:
        count = 0
    else:
        count = int(rng.integers(1, max_objects + 1))
    objects = []
    for _ in range(count):
        for _ in range(_PLACEMENT_ATTEMPTS):
            side = rng.uniform(*_SIDE_RANGE) * image_size
            aspect = np.exp(rng.uniform(-np.log(_MAX_ASPECT), np.log(_MAX_ASPECT)))
            width = int(np.clip(round(side * np.sqrt(aspect)), 4, image_size * 0.5))
            height = int(np.clip(round(side / np.sqrt(aspect)), 4, image_size * 0.5))
            xmin = int(rng.integers(0, image_size - width + 1))
            ymin = int(rng.integers(0, image_size - height + 1))
            box = (xmin, ymin, xmin + width, ymin + height)
            if all(box[0] >= other[3] or other[1] >= box[2] or box[1] >= other[4]
                   or other[2] >= box[3] for other in objects):
                break
        else:
            continue  # no room left: fewer objects in this image
        label = int(rng.integers(len(SYNTHETIC_DETECTION_CLASS_NAMES)))
        y, x = np.mgrid[box[1]:box[3], box[0]:box[2]] + 0.5
        mask = _shape_mask(label, x, y, box, rng)
        hue = (_CLASS_HUES[label] + rng.uniform(-_HUE_JITTER, _HUE_JITTER)) % 1.0
        color = _hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.65, 1.0))
        shading = 1.0 + rng.uniform(-0.2, 0.2) * ((y - box[1]) / height - 0.5)
        window = image[box[1]:box[3], box[0]:box[2]]
        window[mask] = (color[None, None, :] * shading[:, :, None])[mask]
        objects.append((label,) + box)
    image += _NOISE_STD * rng.standard_normal(image.shape, dtype=np.float32)
    image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    return image, objects


def _parameters(function, num_train, num_val, image_size, seed, max_objects):
    """The manifest of a dataset with these arguments (checked for `function`)."""
    return {
        "generator": "kerasnotes.data.detection.synthetic_detection",
        "version": GENERATOR_VERSION,
        "num_train": check_int(function, "num_train", num_train, minimum=0),
        "num_val": check_int(function, "num_val", num_val, minimum=0),
        "image_size": check_int(function, "image_size", image_size, minimum=32),
        "seed": check_int(function, "seed", seed, minimum=0),
        "max_objects": check_int(function, "max_objects", max_objects, minimum=0),
    }


def _write_split(folder, split_index, count, parameters):
    images_dir = os.path.join(folder, IMAGES_FOLDER)
    os.makedirs(images_dir)
    rows = [",".join(LABEL_COLUMNS)]
    for index in range(count):
        image, objects = _draw_image(parameters["seed"], split_index, index,
                                     parameters["image_size"], parameters["max_objects"])
        name = f"{index}.jpg"
        with open(os.path.join(images_dir, name), "wb") as file:
            file.write(tf.io.encode_jpeg(image, quality=_JPEG_QUALITY).numpy())
        if not objects:
            rows.append(f"{name},-1,0,0,0,0")
        rows.extend(f"{name}," + ",".join(str(v) for v in obj) for obj in objects)
    with open(os.path.join(folder, LABEL_FILE), "w", encoding="utf-8") as file:
        file.write("\n".join(rows) + "\n")


def _read_manifest(root):
    try:
        with open(os.path.join(root, MANIFEST_FILE), encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _is_complete(root, parameters):
    if _read_manifest(root) != parameters:
        return False
    for folder, count in ((TRAIN_FOLDER, parameters["num_train"]),
                          (VAL_FOLDER, parameters["num_val"])):
        if not os.path.isfile(os.path.join(root, folder, LABEL_FILE)):
            return False
        images_dir = os.path.join(root, folder, IMAGES_FOLDER)
        if not all(os.path.isfile(os.path.join(images_dir, f"{i}.jpg")) for i in range(count)):
            return False
    return os.path.isfile(os.path.join(root, CLASS_NAMES_FILE))


def write_synthetic_detection_dataset(root, num_train=1000, num_val=200, image_size=256,
                                      seed=0, max_objects=3):
    """Generates the synthetic shapes detection dataset into `root` (see the module doc).

    The files are written into a temporary sibling folder that is renamed to `root` when
    complete (an existing generated copy in `root` is replaced), so an interrupted run never
    leaves a half-written dataset that looks complete. A `root` that holds other files and
    no `manifest.json` is refused rather than overwritten.

    Args:
        root: the dataset folder.
        num_train: images in `train/` (>= 0).
        num_val: images in `val/` (>= 0).
        image_size: side of the square images in pixels (>= 32).
        seed: non-negative integer; the same arguments give the same files.
        max_objects: the largest number of objects in an image (>= 0).

    Returns:
        `root` as a string.

    Raises:
        ValueError: bad arguments, or `root` is a non-empty folder not generated here.

    Example:

    >>> root = write_synthetic_detection_dataset("/tmp/shapes", num_train=8, num_val=4,
    ...                                          image_size=64)  # doctest: +SKIP
    >>> sorted(os.listdir(root))  # doctest: +SKIP
    ['classes.txt', 'manifest.json', 'train', 'val']
    """
    parameters = _parameters("write_synthetic_detection_dataset", num_train, num_val,
                             image_size, seed, max_objects)
    root = os.path.abspath(os.fspath(root))
    if os.path.exists(root) and not os.path.isdir(root):
        raise ValueError(f"write_synthetic_detection_dataset: {root} exists and is not a folder")
    if os.path.isdir(root) and os.listdir(root) and _read_manifest(root) is None:
        raise ValueError(
            f"write_synthetic_detection_dataset: {root} is not empty and has no "
            f"{MANIFEST_FILE} of a generated dataset; refusing to overwrite it (choose "
            "another folder)"
        )
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(root)}.partial-", dir=parent)
    try:
        _write_split(os.path.join(staging, TRAIN_FOLDER), 0, parameters["num_train"],
                     parameters)
        _write_split(os.path.join(staging, VAL_FOLDER), 1, parameters["num_val"], parameters)
        with open(os.path.join(staging, CLASS_NAMES_FILE), "w", encoding="utf-8") as file:
            file.write("\n".join(SYNTHETIC_DETECTION_CLASS_NAMES) + "\n")
        with open(os.path.join(staging, MANIFEST_FILE), "w", encoding="utf-8") as file:
            json.dump(parameters, file, indent=2, sort_keys=True)
        if os.path.isdir(root):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(root)}.old-", dir=parent)
            os.rename(root, os.path.join(old, "dataset"))
            os.rename(staging, root)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def ensure_synthetic_detection_dataset(root, num_train=1000, num_val=200, image_size=256,
                                       seed=0, max_objects=3):
    """Returns `root` holding the synthetic dataset with these parameters, generating it only
    when needed.

    A complete copy (its `manifest.json` equals the parameters, and `label.csv`, every image
    and `classes.txt` are present) is reused as is; otherwise the dataset is (re)generated
    with `write_synthetic_detection_dataset` (same arguments).

    Returns:
        `root` as a string.

    Example:

    >>> root = ensure_synthetic_detection_dataset("/tmp/shapes", num_train=8, num_val=4,
    ...                                           image_size=64)  # doctest: +SKIP
    >>> load_banana_detection(os.path.join(root, "val"))  # doctest: +SKIP
    """
    parameters = _parameters("ensure_synthetic_detection_dataset", num_train, num_val,
                             image_size, seed, max_objects)
    if _is_complete(os.path.abspath(os.fspath(root)), parameters):
        return os.path.abspath(os.fspath(root))
    return write_synthetic_detection_dataset(root, num_train, num_val, image_size, seed,
                                             max_objects)
