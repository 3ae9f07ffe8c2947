"""Synthetic glyphs: an embedded 28x28 grayscale 10-class image dataset drawn with NumPy.

The default data of the image-classification app, so that it runs without network or
downloaded files. It is *not* real data: every image is a procedurally drawn shape (disk,
ring, square outline, ...) under a random similarity transform (shift, scale, small
rotation), with a random stroke width, random background and foreground gray levels and
Gaussian pixel noise. A classifier has to learn shape features (a nearest-class-mean
classifier on raw pixels is far from perfect), yet LeNet reaches high accuracy in a few
epochs.

Drawing is vectorized: each shape is a signed distance function `d(u, v)` (negative
inside, in pixels) evaluated on the whole `(batch, 28, 28)` grid of transformed pixel
coordinates, turned into anti-aliased coverage `clip(0.5 - d, 0, 1)`. Outlines and strokes
use `|d| - width / 2`.
"""

import numpy as np

SYNTHETIC_GLYPHS_CLASS_NAMES = (
    "disk",
    "ring",
    "square outline",
    "filled square",
    "plus",
    "x",
    "horizontal stripes",
    "vertical stripes",
    "triangle",
    "diamond outline",
)

IMAGE_SIZE = 28
_NUM_CLASSES = len(SYNTHETIC_GLYPHS_CLASS_NAMES)

# Jitter ranges (pixels, radians, gray levels in [0, 1]).
_MAX_SHIFT = 3.0
_SIZE_RANGE = (6.0, 10.0)  # half-size of the shape
_MAX_ROTATION = np.deg2rad(15.0)
_WIDTH_RANGE = (1.5, 3.0)  # stroke width
_BACKGROUND_RANGE = (0.0, 0.3)
_FOREGROUND_RANGE = (0.6, 1.0)
_NOISE_STD = 0.08


def _box(u, v, half_u, half_v):
    """Signed distance to an axis-aligned rectangle centered at the origin."""
    qu = np.abs(u) - half_u
    qv = np.abs(v) - half_v
    outside = np.hypot(np.maximum(qu, 0.0), np.maximum(qv, 0.0))
    inside = np.minimum(np.maximum(qu, qv), 0.0)
    return outside + inside


def _triangle(u, v, size):
    """Signed distance to an equilateral triangle of circumradius-like `size`, apex up."""
    k = np.sqrt(3.0).astype(np.float32)
    pu = np.abs(u) - size
    pv = -v + size / k  # image rows grow downwards: flip so the apex points up
    fold = pu + k * pv > 0.0
    pu, pv = (
        np.where(fold, (pu - k * pv) / 2.0, pu),
        np.where(fold, (-k * pu - pv) / 2.0, pv),
    )
    pu = pu - np.clip(pu, -2.0 * size, 0.0)
    return -np.hypot(pu, pv) * np.sign(pv)


def _stripes(coordinate, u, v, size, width):
    """Three parallel strokes across a square of half-size `size`."""
    period = size * (2.0 / 3.0)
    t = coordinate / period
    to_line = np.abs(t - np.round(t)) * period - width / 2.0
    return np.maximum(to_line, _box(u, v, size, size))


def _glyph_distance(label, u, v, size, width):
    """Signed distance (pixels) to the glyph of class `label`; arrays broadcast."""
    if label == 0:  # disk
        return np.hypot(u, v) - size
    if label == 1:  # ring
        return np.abs(np.hypot(u, v) - size) - width / 2.0
    if label == 2:  # square outline
        return np.abs(_box(u, v, size, size)) - width / 2.0
    if label == 3:  # filled square
        return _box(u, v, size * 0.85, size * 0.85)
    if label in (4, 5):  # plus; x is a plus turned by 45 degrees
        if label == 5:
            u, v = (u + v) * np.float32(np.sqrt(0.5)), (v - u) * np.float32(np.sqrt(0.5))
        half = width / 2.0 + 0.5
        return np.minimum(_box(u, v, size, half), _box(u, v, half, size))
    if label == 6:  # horizontal stripes
        return _stripes(v, u, v, size, width)
    if label == 7:  # vertical stripes
        return _stripes(u, u, v, size, width)
    if label == 8:  # filled triangle
        return _triangle(u, v, size)
    if label == 9:  # diamond outline
        return np.abs((np.abs(u) + np.abs(v) - size * 1.2) * np.float32(np.sqrt(0.5))) - (
            width / 2.0
        )
    raise ValueError(f"label must be in [0, {_NUM_CLASSES}); received {label}")


def _draw(labels, rng):
    """Draws one uint8 image `(28, 28, 1)` per label with per-sample jitter."""
    n = len(labels)

    def uniform(low, high):
        return rng.uniform(low, high, size=(n, 1, 1)).astype(np.float32)

    # Every random draw covers the whole batch in a fixed order, so the images depend only
    # on the generator state and the labels.
    shift_x = uniform(-_MAX_SHIFT, _MAX_SHIFT)
    shift_y = uniform(-_MAX_SHIFT, _MAX_SHIFT)
    size = uniform(*_SIZE_RANGE)
    angle = uniform(-_MAX_ROTATION, _MAX_ROTATION)
    width = uniform(*_WIDTH_RANGE)
    background = uniform(*_BACKGROUND_RANGE)
    foreground = uniform(*_FOREGROUND_RANGE)
    noise = rng.standard_normal(size=(n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)

    # Pixel centers relative to the image center, then into each glyph's own frame.
    grid = np.arange(IMAGE_SIZE, dtype=np.float32) - (IMAGE_SIZE - 1) / 2.0
    x = grid[None, None, :] - shift_x  # (n, 1, 28)
    y = grid[None, :, None] - shift_y  # (n, 28, 1)
    cos, sin = np.cos(angle), np.sin(angle)

    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for label in range(_NUM_CLASSES):
        index = np.flatnonzero(labels == label)
        if index.size:
            xi, yi, ci, si = x[index], y[index], cos[index], sin[index]
            u = ci * xi + si * yi
            v = ci * yi - si * xi
            distance = _glyph_distance(label, u, v, size[index], width[index])
            images[index] = np.clip(0.5 - distance, 0.0, 1.0)  # coverage in [0, 1]

    # gray = background + (foreground - background) * coverage + noise, in 0..255.
    images *= (foreground - background) * 255.0
    images += background * 255.0
    noise *= _NOISE_STD * 255.0
    images += noise
    np.rint(images, out=images)
    np.clip(images, 0.0, 255.0, out=images)
    images = images.astype(np.uint8)
    return images[..., None]


def _make_split(num_examples, rng):
    labels = np.arange(num_examples, dtype=np.int64) % _NUM_CLASSES
    labels = rng.permutation(labels)
    return _draw(labels, rng), labels


def load_synthetic_glyphs(num_train=20000, num_test=4000, seed=0):
    """Generates the synthetic glyphs dataset (embedded, not real data).

    Ten classes of procedurally drawn 28x28 grayscale shapes, named by
    `SYNTHETIC_GLYPHS_CLASS_NAMES`: disk, ring, square outline, filled square, plus, x,
    horizontal stripes, vertical stripes, triangle, diamond outline. Each image draws its
    own shift (+-3 px), size (half-size 6-10 px), rotation (+-15 degrees), stroke width
    (1.5-3 px), background (0-0.3) and foreground (0.6-1) gray levels, plus Gaussian noise
    (std 0.08), then is quantized to uint8. Labels are balanced (counts differ by at most
    one) and shuffled.

    The result is a deterministic function of the arguments: the train and test splits use
    two independent NumPy generators spawned from `numpy.random.SeedSequence(seed)`.

    Args:
        num_train: number of training examples (>= 0).
        num_test: number of test examples (>= 0).
        seed: non-negative integer seed.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images `(N, 28, 28, 1)` and int64
        labels `(N,)` in `[0, 10)`.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_synthetic_glyphs(100, 20, seed=1)
    >>> x_train.shape, x_train.dtype, y_test.shape
    ((100, 28, 28, 1), dtype('uint8'), (20,))
    """
    for argument, value in (("num_train", num_train), ("num_test", num_test), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(
                f"load_synthetic_glyphs: {argument} must be a non-negative integer; "
                f"received {argument}={value!r}"
            )
    train_seed, test_seed = np.random.SeedSequence(int(seed)).spawn(2)
    train = _make_split(int(num_train), np.random.default_rng(train_seed))
    test = _make_split(int(num_test), np.random.default_rng(test_seed))
    return train, test
