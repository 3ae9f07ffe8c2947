"""The content and style images of style transfer: image files or the embedded drawings.

Files (PNG, JPEG, BMP, GIF, ...) are read with PIL as float32 RGB in `[0, 1]`, with errors
that name the file; without a file, the drawings of `synthetic_style_images` are used. The
content image is resized to `(height, width)`; the style image keeps its aspect ratio, with
as many pixels as the content image (the Gram matrices do not depend on its size).
"""

import os

import numpy as np

# The smallest side VGG-19 takes up to block5_conv1 (kerasnotes.models.vgg19_features).
MIN_SIZE = 16


def read_image(path, what="input"):
    """Reads an image file as float32 RGB `(h, w, 3)` in `[0, 1]`.

    Raises `FileNotFoundError` or `ValueError` naming `what` (e.g. "content") and the file
    when it is missing, not an image, or smaller than `MIN_SIZE` on a side.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} image not found: {path}")
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError):
        raise ValueError(f"{what} image {path} is not an image file PIL can read "
                         "(PNG, JPEG, BMP, GIF, ...)") from None
    if min(pixels.shape[:2]) < MIN_SIZE:
        raise ValueError(f"{what} image {path} is {pixels.shape[0]}x{pixels.shape[1]} "
                         f"pixels: too small, VGG-19 needs at least {MIN_SIZE}x{MIN_SIZE}")
    return pixels


def load_style_transfer_images(content=None, style=None, height=150, width=225):
    """The content and style images, resized, and a description of where they come from.

    Args:
        content, style: image file paths, or `None` for the embedded scene of shapes and
            brush-stroke texture (drawn by kerasnotes, not real images).
        height, width: the size of the content (and synthesized) image, >= `MIN_SIZE`.

    Returns:
        `(content (height, width, 3), style (h, w, 3), description)`, float32 in `[0, 1]`.

    Example:

    >>> content, style, description = load_style_transfer_images(style="van_gogh.jpg")
    >>> content.shape, description
    ((150, 225, 3), 'content: embedded scene of shapes (...); style: van_gogh.jpg')
    """
    if min(height, width) < MIN_SIZE:
        raise ValueError(f"height and width must be at least {MIN_SIZE}; received "
                         f"{height}x{width}")
    files = {what: read_image(path, what) for what, path in
             (("content", content), ("style", style)) if path is not None}
    import tensorflow as tf

    from kerasnotes.data.images.synthetic_style_images import (
        draw_content_scene,
        draw_stroke_texture,
    )

    images, names = [], []
    for what, path, draw, kind in (
            ("content", content, draw_content_scene, "scene of shapes"),
            ("style", style, draw_stroke_texture, "brush-stroke texture")):
        if path is None:
            image = draw(height, width)
            names.append(f"{what}: embedded {kind} (drawn by kerasnotes, not a real image)")
        else:
            image = files[what]
            names.append(f"{what}: {path}")
        if what == "content":
            size = (height, width)
        else:
            scale = (height * width / (image.shape[0] * image.shape[1])) ** 0.5
            size = (max(MIN_SIZE, round(image.shape[0] * scale)),
                    max(MIN_SIZE, round(image.shape[1] * scale)))
        if tuple(image.shape[:2]) != size:
            image = tf.image.resize(image, size, antialias=True).numpy().clip(0, 1)
        images.append(image)
    return images[0], images[1], "; ".join(names)
