"""What every image server does to a client's batch before the model: size checks, empty
batches, and ASCII error messages.

A serving signature must answer every well-formed request: a batch of 0 images gets outputs
of 0 rows (convolution and batch-normalization kernels reject an empty batch, so the model
runs on one blank image whose outputs are then dropped), an image of height or width 0 fails
with a message naming the signature and the shape, and every message is ASCII (a client
decodes error messages as UTF-8; raw image bytes in one make it raise `UnicodeDecodeError`
instead of showing the error).

Example (inside a server's `tf.function`):

    images = check_image_sizes(images, "serving_default")
    images, count = at_least_one_image(images)
    outputs = first_rows(model(images), count)
"""

import tensorflow as tf

# Byte value -> its two hex digits, for ASCII messages about binary data.
_HEX_DIGITS = tf.constant([f"{value:02x}" for value in range(256)])


def check_image_sizes(images, signature):
    """`images`, after asserting that a non-empty batch `(N, H, W, C)` has `H, W >= 1`.

    Use the returned tensor: it depends on the assertion, so no later op (a resize, say) can
    run first and fail with a message that names neither the signature nor the shape.
    """
    shape = tf.shape(images)
    sized = (shape[0] == 0) | ((shape[1] > 0) & (shape[2] > 0))
    message = tf.strings.format(
        f"{signature}: images must have height and width >= 1; received shape {{}}", shape)
    assertion = tf.debugging.Assert(sized, [message])
    with tf.control_dependencies([assertion]):
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
