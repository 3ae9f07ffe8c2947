"""The content and style images of style transfer: image files or the embedded drawings.

Files (PNG, JPEG, BMP, GIF, ...) are read with PIL as uint8 RGB, upright by their EXIF
orientation (`PIL.ImageOps.exif_transpose`, as photo viewers and the other loaders show
them), with errors that name the file; a file whose header declares more than `max_pixels`
pixels is refused before its pixels are decoded. Without a file, the drawings of
`synthetic_style_images` are used. The content image is resized to `(height, width)`; the
style image keeps its aspect ratio, with as many pixels as the content image (the Gram
matrices do not depend on its size). Both come out float32 in `[0, 1]`, resized from uint8
(the only float32 copy is at the output size). `write_image` writes the synthesized image.
"""

import os
import warnings

import numpy as np

from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS, check_max_pixels

# The smallest side VGG-19 takes up to block5_conv1 (kerasnotes.models.vgg19_features).
MIN_SIZE = 16


def read_image(path, what="input", max_pixels=DEFAULT_MAX_PIXELS):
    """Reads an image file as uint8 RGB `(h, w, 3)`, upright by its EXIF orientation.

    PIL reads the header first (`Image.open` is lazy): an image declaring more than
    `max_pixels` pixels is refused before its pixels are decoded.

    Raises `FileNotFoundError` or `ValueError` naming `what` (e.g. "content") and the file
    when it is missing, not an image, over the budget, or smaller than `MIN_SIZE` on a side.

    Example:

    >>> read_image("van_gogh.jpg", "style").shape
    (600, 800, 3)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    max_pixels = check_max_pixels("read_image", max_pixels)
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} image not found: {path}")
    refusal = (f"{what} image {path}: the image declares {{}} pixels, more than the budget "
               f"of {max_pixels} pixels; refused before decoding")
    try:
        with warnings.catch_warnings():
            # Our budget decides; PIL's own MAX_IMAGE_PIXELS warning would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size  # from the header: nothing is decoded yet
                if width * height > max_pixels:
                    raise ValueError(refusal.format(f"{width}x{height}"))
                image = ImageOps.exif_transpose(image)  # decodes, then turns upright
                pixels = np.asarray(image.convert("RGB"), dtype="uint8")
    except Image.DecompressionBombError:  # over twice PIL's MAX_IMAGE_PIXELS, at open
        raise ValueError(refusal.format(f"more than {2 * Image.MAX_IMAGE_PIXELS}")) from None
    except (UnidentifiedImageError, OSError):
        raise ValueError(f"{what} image {path} is not an image file PIL can read "
                         "(PNG, JPEG, BMP, GIF, ...)") from None
    if min(pixels.shape[:2]) < MIN_SIZE:
        raise ValueError(f"{what} image {path} is {pixels.shape[0]}x{pixels.shape[1]} "
                         f"pixels: too small, VGG-19 needs at least {MIN_SIZE}x{MIN_SIZE}")
    return pixels


def write_image(path, pixels):
    """Writes float RGB `pixels` `(h, w, 3)` in [0, 1] (a NumPy array or tensor) as an image
    file, its format by the extension (e.g. `.png`), creating its folder.

    Example:

    >>> write_image("out/stylized.png", postprocess_image(model.image)[0])
    """
    import keras

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    keras.utils.save_img(path, keras.ops.convert_to_numpy(pixels) * 255.0, scale=False)


def load_style_transfer_images(content=None, style=None, height=150, width=225,
                               max_pixels=DEFAULT_MAX_PIXELS):
    """The content and style images, resized, and a description of where they come from.

    Args:
        content, style: image file paths, or `None` for the embedded scene of shapes and
            brush-stroke texture (drawn by kerasnotes, not real images).
        height, width: the size of the content (and synthesized) image, >= `MIN_SIZE`.
        max_pixels: the largest image file read (height x width, from its header).

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
    files = {what: read_image(path, what, max_pixels) for what, path in
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
        if image.dtype == np.uint8:  # a file: resized from uint8, float32 at `size` only
            image = _resize_uint8(image, size) / 255.0
        elif tuple(image.shape[:2]) != size:
            image = tf.image.resize(image, size, antialias=True).numpy()
        images.append(image.clip(0, 1).astype("float32"))
    return images[0], images[1], "; ".join(names)


def _resize_uint8(image, size):
    """uint8 `(h, w, 3)` -> float32 `size + (3,)` in `[0, 255]` (antialiased bilinear).

    TF's antialiased resize filters the rows first into a float32 buffer of `output height x
    input width`; the image is turned so that its shorter side is the one kept in that
    buffer (a 16 x 2,500,000 panorama would otherwise need GBs).
    """
    import tensorflow as tf

    if tuple(image.shape[:2]) == tuple(size):
        return image.astype("float32")
    if image.shape[1] > image.shape[0]:
        turned = tf.image.resize(np.swapaxes(image, 0, 1), size[::-1], antialias=True)
        return np.swapaxes(turned.numpy(), 0, 1)
    return tf.image.resize(image, size, antialias=True).numpy()
