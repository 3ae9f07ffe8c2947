"""What every image server does to a client's batch before the model: size checks (at least
1x1, at most a pixel budget), empty batches, and ASCII error messages.

A serving signature must answer every well-formed request: a batch of 0 images gets outputs
of 0 rows (convolution and batch-normalization kernels reject an empty batch, so the model
runs on one blank image whose outputs are then dropped), an image of height or width 0 fails
with a message naming the signature and the shape, and every message is ASCII (a client
decodes error messages as UTF-8; raw image bytes in one make it raise `UnicodeDecodeError`
instead of showing the error).

A uint8 batch is already in memory when the signature runs, but an image over the budget
(`max_pixels`, set when the server is built) is refused before any work on it: no resize, no
float copy, no model call (a 20000x20000 image cast to float32 alone is 4.8 GB).

Example (inside a server's `tf.function`):

    images = check_image_sizes(images, "serving_default", max_pixels=40_000_000)
    images, count = at_least_one_image(images)
    outputs = first_rows(model(images), count)
"""

import tensorflow as tf

# Byte value -> its two hex digits, for ASCII messages about binary data.
_HEX_DIGITS = tf.constant([f"{value:02x}" for value in range(256)])


def check_image_sizes(images, signature, max_pixels=None):
    """`images`, after asserting that a non-empty batch `(N, H, W, C)` has `H, W >= 1` and,
    when `max_pixels` is given, `H * W <= max_pixels`.

    Use the returned tensor: it depends on the assertions, so no later op (a resize, a cast)
    can run first and fail with a message that names neither the signature nor the shape.
    """
    shape = tf.shape(images)
    sized = (shape[0] == 0) | ((shape[1] > 0) & (shape[2] > 0))
    message = tf.strings.format(
        f"{signature}: images must have height and width >= 1; received shape {{}}", shape)
    assertions = [tf.debugging.Assert(sized, [message])]
    if max_pixels is not None:
        pixels = tf.cast(shape[1], tf.int64) * tf.cast(shape[2], tf.int64)
        assertions.append(tf.debugging.Assert(pixels <= int(max_pixels), [tf.strings.join([
            f"{signature}: images of ", tf.strings.as_string(shape[2]), "x",
            tf.strings.as_string(shape[1]), " pixels (", tf.strings.as_string(pixels),
            f") are more than the budget of {int(max_pixels)} pixels per image; refused"])]))
    with tf.control_dependencies(assertions):
        return tf.identity(images)


def at_least_one_image(images):
    """`(images, count)`: an empty batch becomes one blank image (at least 1x1 pixels)."""
    shape = tf.shape(images)
    count = shape[0]
    blank = tf.zeros(tf.concat([[1], tf.maximum(shape[1:], 1)], axis=0), images.dtype)
    batch = tf.cond(count > 0, lambda: images, lambda: blank)
    batch.set_shape(images.shape[:1].concatenate(images.shape[1:]))  # static sizes stay
    return batch, count


def first_rows(outputs, count):
    """Every tensor of the (nested) `outputs` cut to its first `count` rows."""
    return tf.nest.map_structure(lambda tensor: tensor[:count], outputs)


def hex_prefix(data, length=8):
    """The first `length` bytes of a string tensor as hex digits, e.g. `b"<ht"` -> `3c6874`."""
    head = tf.io.decode_raw(tf.strings.substr(data, 0, length), tf.uint8)
    return tf.strings.reduce_join(tf.gather(_HEX_DIGITS, tf.cast(head, tf.int32)))


def export_max_pixels(export_path, default=None):
    """The pixel budget an image export enforces (`loaded.max_pixels()`), or `default`
    (`DEFAULT_MAX_PIXELS` when None) for an export written before exports carried one.

    The apps' `predict` decodes its image within this budget, so that `predict` refuses
    exactly what the server refuses.

    Example:

    >>> export_max_pixels("saved_models/ssd/1")
    40000000
    """
    from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS

    loaded = tf.saved_model.load(export_path)
    if hasattr(loaded, "max_pixels"):
        return int(loaded.max_pixels())
    return DEFAULT_MAX_PIXELS if default is None else int(default)
