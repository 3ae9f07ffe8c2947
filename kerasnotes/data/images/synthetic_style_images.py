"""Two embedded images for style transfer, drawn with NumPy (no files, no network).

`draw_content_scene` is a simple landscape of flat shapes (sky gradient, sun, hills, a
house with a roof, door and window); `draw_stroke_texture` is a painterly texture of
short, colored, diagonal brush strokes over wavy stripes. Both are *not* real photos or
paintings; they are the defaults of `python -m apps.style_transfer`.
"""

import numpy as np

from kerasnotes._checks import check_int


def _grid(height, width):
    v, u = np.meshgrid(np.linspace(0.0, 1.0, height), np.linspace(0.0, 1.0, width),
                       indexing="ij")
    return u.astype("float32"), v.astype("float32")


def draw_content_scene(height=300, width=450):
    """A landscape of flat shapes, float32 RGB `(height, width, 3)` in `[0, 1]`.

    Example:

    >>> draw_content_scene(30, 45).shape
    (30, 45, 3)
    """
    height = check_int("draw_content_scene", "height", height)
    width = check_int("draw_content_scene", "width", width)
    u, v = _grid(height, width)
    image = np.empty((height, width, 3), "float32")
    sky = np.stack([0.35 + 0.3 * v, 0.55 + 0.3 * v, np.full_like(v, 0.95)], -1)
    image[:] = sky
    aspect = width / height

    def paint(mask, color):
        image[mask] = color

    paint(np.hypot((u - 0.8) * aspect, v - 0.2) < 0.1, (1.0, 0.85, 0.2))  # sun
    paint(v > 0.62 + 0.08 * np.sin(6.0 * u), (0.25, 0.6, 0.25))  # far hill
    paint(v > 0.78 + 0.05 * np.cos(4.0 * u + 1.0), (0.15, 0.45, 0.15))  # near hill
    house = (u > 0.2) & (u < 0.45) & (v > 0.5) & (v < 0.82)
    paint(house, (0.85, 0.75, 0.6))
    roof = (v <= 0.5) & (v > 0.32) & (np.abs(u - 0.325) < (v - 0.32) * 0.8)
    paint(roof, (0.6, 0.15, 0.1))
    paint((u > 0.29) & (u < 0.35) & (v > 0.66) & (v < 0.82), (0.35, 0.2, 0.1))  # door
    paint((u > 0.37) & (u < 0.42) & (v > 0.56) & (v < 0.63), (0.3, 0.5, 0.9))  # window
    return image


def draw_stroke_texture(height=300, width=450, seed=0):
    """Colored diagonal brush strokes over wavy stripes, float32 RGB `(height, width, 3)`.

    Example:

    >>> draw_stroke_texture(30, 45).shape
    (30, 45, 3)
    """
    height = check_int("draw_stroke_texture", "height", height)
    width = check_int("draw_stroke_texture", "width", width)
    rng = np.random.default_rng(seed)
    u, v = _grid(height, width)
    u, v = u * width / 100.0, v * height / 100.0  # strokes have a fixed size in pixels
    phase = 2 * np.pi * (u + v + 0.15 * np.sin(7.0 * (u - v)))
    stripes = 0.5 + 0.5 * np.sin(4.0 * phase)
    image = np.stack([0.15 + 0.6 * stripes, 0.1 + 0.3 * stripes, 0.45 - 0.3 * stripes], -1)
    palette = np.array([[0.95, 0.8, 0.1], [0.1, 0.3, 0.8], [0.9, 0.3, 0.1],
                        [0.1, 0.6, 0.4], [0.95, 0.95, 0.9]], "float32")
    count = int(120 * (height * width) / (300 * 450)) + 4
    for _ in range(count):
        cu, cv = rng.uniform(0, u.max()), rng.uniform(0, v.max())
        angle = rng.uniform(0.6, 1.0)
        along = (u - cu) * np.cos(angle) + (v - cv) * np.sin(angle)
        across = -(u - cu) * np.sin(angle) + (v - cv) * np.cos(angle)
        mask = (np.abs(along) < rng.uniform(0.08, 0.2)) & (np.abs(across) < 0.012)
        image[mask] = palette[rng.integers(len(palette))]
    return np.clip(image, 0.0, 1.0).astype("float32")
