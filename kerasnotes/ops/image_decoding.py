"""Bounded image decoding: read the declared size from the header, refuse an image over a pixel
budget before decoding it, decode, and turn it upright by its EXIF orientation.

Every place where an image enters kerasnotes (the serving signatures, the apps' `predict`,
the data loaders) decodes through `decode_image_bounded`, a pure TF function, so that an
exported SavedModel enforces the same budget in plain TF, without kerasnotes installed, and
loaders, `predict` and serving see the same upright pixels.

A 522 KB PNG can declare 23170x23170 pixels: TF's decoders accept up to 2^29 pixels and would
allocate 1.6 GB of uint8 for it (8.9 GB once cast to float32). The size a decoder will
allocate is in the first bytes of the file:

- JPEG: the frame header (SOFn), read by libjpeg's own header parser
  (`tf.io.extract_jpeg_shape`, which allocates no pixel);
- PNG: the IHDR chunk, bytes 16-24 (big-endian width, height);
- BMP: bytes 18-26 (little-endian signed int32 width, height; a negative height means
  top-down rows);
- GIF: TF's decoder reads *every* frame (giflib's `DGifSlurp`) and returns the first one at
  the largest frame width x largest frame height (not the logical screen size of bytes
  6-10), so the frames' image descriptors are walked: the declared size is that largest
  width and height, and the budget also bounds the sum of all frames' pixels.

EXIF orientation (tag 0x0112 of IFD0, values 1-8) is read from a JPEG's APP1 `Exif` segment
(found by walking the marker segments as libjpeg does) or a PNG's `eXIf` chunk (before the
image data), as `PIL.ImageOps.exif_transpose` does, and applied with transposes and flips of
the decoded uint8 pixels. The walks run only for a file that holds `Exif\0\0` or `eXIf` at
all, and the error messages are built only when a check fails: an image without EXIF costs
about what `tf.io.decode_image` costs.

Example:

    contents = tf.io.read_file("photo.jpg")
    image = decode_image_bounded(contents, max_pixels=40_000_000, name="photo.jpg")
    # uint8 (H, W, 3), upright; an image declaring more than 40 megapixels fails with
    # InvalidArgumentError "photo.jpg: the image declares 23170x23170 pixels (...)"
"""

import functools
import numbers
import re

import tensorflow as tf

# A generous photo size: 40 megapixels (a 7300x5500 camera image); 120 MB of uint8 RGB.
DEFAULT_MAX_PIXELS = 40_000_000

# Codes of the formats tf.io.decode_image reads (the first bytes it checks), in this order.
_UNKNOWN, _JPEG, _PNG, _GIF, _BMP = range(5)
_FORMAT_NAMES = ("unknown", "JPEG", "PNG", "GIF", "BMP")
_MAGIC = ((_JPEG, b"\xff\xd8\xff"), (_PNG, b"\x89PNG"), (_GIF, b"GIF8"), (_BMP, b"BM"))

# Byte value -> its two hex digits, for ASCII messages about binary data.
_HEX_DIGITS = [f"{value:02x}" for value in range(256)]

# Bounds of the header walks (a hostile file cannot make them loop long).
_MAX_JPEG_SEGMENTS = 64
_MAX_PNG_CHUNKS = 256
_MAX_IFD_ENTRIES = 512
_EXIF_TAG_ORIENTATION = 0x0112
_TIFF_SHORT = 3


def check_max_pixels(function, max_pixels):
    """`max_pixels` as an int; `ValueError` naming `function` unless it is an integer >= 1."""
    if (isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral)
            or max_pixels < 1):
        raise ValueError(f"{function}: max_pixels must be an integer >= 1; received "
                         f"max_pixels={max_pixels!r}")
    return int(max_pixels)


def _as_bytes(contents):
    """The contents as an int64 vector of byte values, followed by 16 zeros (reads past the
    end give 0 instead of failing)."""
    data = tf.cast(tf.io.decode_raw(contents, tf.uint8), tf.int64)
    return tf.concat([data, tf.zeros([16], tf.int64)], axis=0)


def _bytes_at(data, positions):
    """Byte values at int64 `positions` (any shape); 0 outside the data."""
    inside = (positions >= 0) & (positions < tf.size(data, out_type=tf.int64))
    index = tf.clip_by_value(positions, 0, tf.size(data, out_type=tf.int64) - 1)
    return tf.where(inside, tf.gather(data, index), 0)


def _uint(data, position, length, little_endian):
    """Unsigned `length`-byte integers at `position` (scalar or vector), int64."""
    position = tf.convert_to_tensor(position, tf.int64)
    shifts = tf.range(length, dtype=tf.int64)
    values = _bytes_at(data, position[..., None] + shifts)
    little = tf.reduce_sum(tf.bitwise.left_shift(values, 8 * shifts), axis=-1)
    big = tf.reduce_sum(tf.bitwise.left_shift(values, 8 * (length - 1 - shifts)), axis=-1)
    return tf.where(little_endian, little, big)


def _matches(data, position, text):
    """Whether the bytes at `position` are `text`."""
    expected = tf.constant(list(text), tf.int64)
    found = _bytes_at(data, position + tf.range(len(text), dtype=tf.int64))
    return tf.reduce_all(tf.equal(found, expected))


def _format_code(contents):
    """int32 code of the format (see `_MAGIC`), 0 when tf.io.decode_image would not take it."""
    code = tf.constant(_UNKNOWN)
    for value, magic in reversed(_MAGIC):
        code = tf.where(tf.strings.substr(contents, 0, len(magic)) == magic, value, code)
    return code


def _gif_frames(data):
    """`(max_height, max_width, total_pixels, frames)` of a GIF's image descriptors.

    Walks the block structure: header and logical screen (13 bytes), the global color table,
    then extension blocks (0x21) and images (0x2C: a 10-byte descriptor, a local color table,
    the LZW code size, data sub-blocks) up to the trailer (0x3B). Each step skips one block
    or sub-block (at most 256 bytes), so the walk ends within len(data) steps.
    """
    size = tf.size(data, out_type=tf.int64) - 16
    packed = _bytes_at(data, tf.constant(10, tf.int64))
    table = tf.where(packed >= 128, 3 * tf.bitwise.left_shift(
        tf.constant(2, tf.int64), packed % 8), 0)
    zero = tf.constant(0, tf.int64)

    def step(position, in_blocks, done, max_h, max_w, total, frames):
        def sub_block():  # a data sub-block: its size byte, then that many bytes; 0 ends
            length = _bytes_at(data, position)
            return position + 1 + length, length > 0, done, max_h, max_w, total, frames

        def block():
            kind = _bytes_at(data, position)
            width = _uint(data, position + 5, 2, True)
            height = _uint(data, position + 7, 2, True)
            local = _bytes_at(data, position + 9)
            local_table = tf.where(local >= 128, 3 * tf.bitwise.left_shift(
                tf.constant(2, tf.int64), local % 8), 0)
            image = tf.equal(kind, 0x2C)
            extension = tf.equal(kind, 0x21)
            after = tf.where(image, position + 10 + local_table + 1, position + 2)
            return (after, image | extension, ~(image | extension),
                    tf.where(image, tf.maximum(max_h, height), max_h),
                    tf.where(image, tf.maximum(max_w, width), max_w),
                    tf.where(image, total + width * height, total),
                    tf.where(image, frames + 1, frames))

        outputs = tf.cond(in_blocks, sub_block, block)
        return (outputs[0], outputs[1], outputs[2] | (outputs[0] >= size)) + tuple(outputs[3:])

    state = (13 + table, tf.constant(False), tf.constant(False), zero, zero, zero, zero)
    state = tf.while_loop(lambda position, in_blocks, done, *rest: ~done, step, state,
                          maximum_iterations=tf.cast(tf.minimum(size + 1, 2**31 - 1), tf.int32))
    return state[3], state[4], state[5], state[6]


def _contains(contents, text):
    """Whether the bytes `text` occur anywhere in `contents` (a byte-wise split: safe on
    binary data, where a regex would stop at the first byte that is not UTF-8)."""
    return tf.size(tf.strings.split(contents, sep=text)) > 1


def _exif_start(contents, data, code):
    """The position of the EXIF TIFF header (a JPEG's APP1 `Exif` segment, a PNG's `eXIf`
    chunk before the image data), or -1. The header walk runs only for a file that holds
    the segment's or chunk's name at all (most files do not)."""
    none = tf.constant(-1, tf.int64)
    return tf.switch_case(code, [
        lambda: none,
        lambda: tf.cond(_contains(contents, "Exif\x00\x00"),
                        lambda: _jpeg_exif_start(data), lambda: none),
        lambda: tf.cond(_contains(contents, "eXIf"), lambda: _png_exif_start(data),
                        lambda: none),
        lambda: none,
        lambda: none,
    ])


def _declared(contents, data, code):
    """`(height, width, frame_pixels)` int64 from the header; -1 sizes when it does not read
    (a JPEG whose header does not parse fails with libjpeg's `InvalidArgumentError`)."""
    invalid = tf.constant([-1, -1, -1], tf.int64)

    def jpeg():
        # libjpeg's own header parser (jpeg_read_header: no pixel is allocated), the size
        # its decoder then allocates.
        height_width = tf.cast(tf.io.extract_jpeg_shape(contents)[:2], tf.int64)
        return tf.concat([height_width, [height_width[0] * height_width[1]]], axis=0)

    def png():
        width = _uint(data, tf.constant(16, tf.int64), 4, False)
        height = _uint(data, tf.constant(20, tf.int64), 4, False)
        ok = (tf.strings.length(contents) >= 24) & _matches(data, 12, b"IHDR")
        return tf.where(ok, tf.stack([height, width, height * width]), invalid)

    def gif():
        max_h, max_w, total, frames = _gif_frames(data)
        return tf.where(frames > 0, tf.stack([max_h, max_w, total]), invalid)

    def bmp():
        width = _uint(data, tf.constant(18, tf.int64), 4, True)
        height = _uint(data, tf.constant(22, tf.int64), 4, True)
        width = tf.where(width >= 2**31, width - 2**32, width)
        height = tf.abs(tf.where(height >= 2**31, height - 2**32, height))
        ok = (tf.strings.length(contents) >= 26) & (width >= 0)
        return tf.where(ok, tf.stack([height, width, height * width]), invalid)

    return tf.switch_case(code, [lambda: invalid, jpeg, png, gif, bmp])


def declared_image_size(contents):
    """The `(height, width)` an image's header declares, as int64 `[2]`, without decoding.

    For a GIF this is the size TF decodes: the largest frame height and width. `[-1, -1]`
    for bytes that are not a JPEG, PNG, GIF or BMP image or whose header is cut short; a
    JPEG whose header does not parse fails with the decoder's `InvalidArgumentError`.

    Example:

    >>> declared_image_size(tf.io.encode_png(tf.zeros([3, 5, 3], tf.uint8))).numpy()
    array([3, 5])
    """
    contents = tf.convert_to_tensor(contents, tf.string)
    if tf.executing_eagerly():
        return _header_function(contents)[1][:2]
    return _declared(contents, _as_bytes(contents), _format_code(contents))[:2]


def _tiff_orientation(data, start):
    """The orientation (1-8) in the TIFF structure (EXIF) at `start`; 1 when absent."""
    order_ii = _matches(data, start, b"II")
    order_mm = _matches(data, start, b"MM")
    little = order_ii
    ifd = start + _uint(data, start + 4, 4, little)
    count = tf.minimum(_uint(data, ifd, 2, little), _MAX_IFD_ENTRIES)
    entries = ifd + 2 + 12 * tf.range(count, dtype=tf.int64)
    tags = _uint(data, entries, 2, little)
    types = _uint(data, entries + 2, 2, little)
    values = _uint(data, entries + 8, 2, little)
    found = tf.equal(tags, _EXIF_TAG_ORIENTATION) & tf.equal(types, _TIFF_SHORT)
    value = tf.reduce_max(tf.concat([tf.where(found, values, 0), tf.zeros([1], tf.int64)], axis=0))
    valid = ((order_ii | order_mm) & tf.equal(_uint(data, start + 2, 2, little), 42)
             & (value >= 1) & (value <= 8))
    return tf.cast(tf.where(valid, value, 1), tf.int32)


# The header walks' "stopped without finding it" (-1 is "still looking").
_NONE = -2


def _jpeg_exif_start(data):
    """Position of the TIFF header in a JPEG's APP1 `Exif` segment, or -1.

    Walks the marker segments from the start as libjpeg does (each segment's length skips
    it) and stops at the first frame header (SOFn marker: EXIF comes before it), the start
    of scan, or a byte that is not a marker.
    """
    size = tf.size(data, out_type=tf.int64) - 16

    def step(position, exif, frame, steps):
        marker = _bytes_at(data, position + 1)
        length = _uint(data, position + 2, 2, False)
        is_exif = tf.equal(marker, 0xE1) & _matches(data, position + 4, b"Exif\x00\x00")
        # SOF0-SOF15 except DHT (0xC4), JPG (0xC8) and DAC (0xCC).
        is_frame = ((marker >= 0xC0) & (marker <= 0xCF) & tf.not_equal(marker, 0xC4)
                    & tf.not_equal(marker, 0xC8) & tf.not_equal(marker, 0xCC))
        # 0xFF: a fill byte; 0xD0-0xD7, 0x01: markers without a length; SOS, EOI: stop.
        standalone = tf.equal(marker, 0x01) | ((marker >= 0xD0) & (marker <= 0xD7))
        stop = (tf.equal(marker, 0xDA) | tf.equal(marker, 0xD9)
                | tf.not_equal(_bytes_at(data, position), 0xFF) | (position + 4 > size))
        next_position = tf.where(tf.equal(marker, 0xFF), position + 1,
                                 tf.where(standalone, position + 2, position + 2 + length))
        exif = tf.where(is_exif & ~stop & (exif < 0), position + 10, exif)
        frame = tf.where(is_frame & ~stop, position, tf.where(~stop, frame, _NONE))
        return next_position, exif, frame, steps + 1

    _, exif, frame, _ = tf.while_loop(
        lambda position, exif, frame, steps: tf.equal(frame, -1) & (steps < _MAX_JPEG_SEGMENTS),
        step, (tf.constant(2, tf.int64), tf.constant(-1, tf.int64), tf.constant(-1, tf.int64),
               tf.constant(0)))
    return exif


def _png_exif_start(data):
    """Position of the data of a PNG's `eXIf` chunk before `IDAT`, or -1."""
    size = tf.size(data, out_type=tf.int64) - 16

    def step(position, found, steps):
        length = _uint(data, position, 4, False)
        exif = _matches(data, position + 4, b"eXIf")
        stop = (_matches(data, position + 4, b"IDAT") | _matches(data, position + 4, b"IEND")
                | (position + 8 > size))
        found = tf.where(exif & ~stop, position + 8, tf.where(~stop, found, _NONE))
        return position + 12 + length, found, steps + 1

    _, found, _ = tf.while_loop(
        lambda position, found, steps: tf.equal(found, -1) & (steps < _MAX_PNG_CHUNKS),
        step, (tf.constant(8, tf.int64), tf.constant(-1, tf.int64), tf.constant(0)))
    return tf.maximum(found, -1)


def _orientation(data, exif):
    """The orientation (1-8) of the EXIF TIFF header at `exif` (`_exif_start`); 1 when -1."""
    return tf.cond(exif >= 0, lambda: _tiff_orientation(data, exif),
                   lambda: tf.constant(1, tf.int32))


def exif_orientation(contents):
    """The EXIF orientation (int32, 1-8) of a JPEG (APP1 `Exif`) or PNG (`eXIf` chunk); 1
    (as stored) when there is none or it does not parse.

    Example:

    >>> exif_orientation(tf.io.read_file("sideways.jpg")).numpy()  # doctest: +SKIP
    6
    """
    contents = tf.convert_to_tensor(contents, tf.string)
    if tf.executing_eagerly():
        return _header_function(contents)[2]
    data = _as_bytes(contents)
    return _orientation(data, _exif_start(contents, data, _format_code(contents)))


@tf.function(input_signature=[tf.TensorSpec([], tf.string)], autograph=False)
def _header_function(contents):
    """`(format code, [height, width, frame_pixels], orientation)` in one traced graph (the
    header walks run as graph loops rather than op by op)."""
    code = _format_code(contents)
    data = _as_bytes(contents)
    return (code, _declared(contents, data, code),
            _orientation(data, _exif_start(contents, data, code)))


def apply_orientation(image, orientation):
    """`(H, W, C)` pixels stored with EXIF `orientation` (1-8) turned upright, as
    `PIL.ImageOps.exif_transpose` does (6: rotate 90 degrees clockwise, 8: counterclockwise,
    3: 180 degrees; 2, 4, 5, 7: the mirrored ones)."""
    def transposed():
        return tf.transpose(image, [1, 0, 2])

    return tf.switch_case(tf.cast(orientation, tf.int32) - 1, [
        lambda: image,                                  # 1: as stored
        lambda: tf.reverse(image, [1]),                 # 2: mirrored left-right
        lambda: tf.reverse(image, [0, 1]),              # 3: rotated 180
        lambda: tf.reverse(image, [0]),                 # 4: mirrored top-bottom
        transposed,                                     # 5: transpose
        lambda: tf.reverse(transposed(), [1]),          # 6: rotate 90 clockwise
        lambda: tf.reverse(transposed(), [0, 1]),       # 7: transverse
        lambda: tf.reverse(transposed(), [0]),          # 8: rotate 90 counterclockwise
    ])


def _hex_prefix(contents, length=8):
    head = tf.io.decode_raw(tf.strings.substr(contents, 0, length), tf.uint8)
    return tf.strings.reduce_join(tf.gather(_HEX_DIGITS, tf.cast(head, tf.int32)))


def budget_message(name, height, width, pixels, max_pixels):
    """The refusal `NAME: the image declares WxH pixels (...), more than the budget of N
    pixels; refused before decoding` as a string tensor (ASCII whatever the image)."""
    return tf.strings.join([
        name, ": the image declares ", tf.strings.as_string(width), "x",
        tf.strings.as_string(height), " pixels (", tf.strings.as_string(pixels),
        " to decode), more than the budget of ", str(int(max_pixels)),
        " pixels; refused before decoding"])


def decode_image_bounded(contents, max_pixels=DEFAULT_MAX_PIXELS, name="image"):
    """Decodes one JPEG/PNG/GIF/BMP image to uint8 `(H, W, 3)`, upright, within a budget.

    The header is read first (`declared_image_size`); an image declaring more than
    `max_pixels` pixels (for a GIF, also: all frames together) fails with an
    `InvalidArgumentError` before any pixel is decoded, as do bytes in an unknown format or
    with a header cut short. Then it is decoded (3 channels, a GIF's first frame), checked
    to have the declared size, and turned upright by its EXIF orientation (`exif_orientation`).
    Peak memory: about twice `max_pixels x 3` bytes (the decoded and the turned pixels).

    Args:
        contents: scalar string tensor, the encoded image.
        max_pixels: the budget, a Python int (a constant of the graph).
        name: what the messages call the image (a file path, `"serving_default:
            image_bytes[3]"`): a Python str or a scalar string tensor.

    Example:

    >>> decode_image_bounded(tf.io.read_file("photo.jpg"), 40_000_000, "photo.jpg").shape
    TensorShape([480, 640, 3])
    """
    max_pixels = check_max_pixels("decode_image_bounded", max_pixels)
    contents = tf.convert_to_tensor(contents, tf.string)
    if tf.executing_eagerly():
        return _eager_decoder(max_pixels)(contents, tf.convert_to_tensor(name, tf.string))
    return _decode_bounded(contents, max_pixels, name)


@functools.cache
def _eager_decoder(max_pixels):
    """`decode_image_bounded` traced once per budget, for eager callers (the loaders)."""
    return tf.function(
        lambda contents, name: _decode_bounded(contents, max_pixels, name),
        input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.string)],
        autograph=False)


def _require(condition, message):
    """A check that fails with `message()` (an `InvalidArgumentError` "assertion failed:
    [...]") unless `condition`; the message's string ops run only when it fails."""
    def fail():
        with tf.control_dependencies([tf.debugging.Assert(False, [message()])]):
            return tf.constant(False)

    return tf.cond(condition, lambda: tf.constant(True), fail)


def _decode_bounded(contents, max_pixels, name):
    code = _format_code(contents)

    def unknown():
        head = tf.where(tf.strings.length(contents) > 0,
                        "starts with 0x" + _hex_prefix(contents), "0 bytes")
        return tf.strings.join([name, ": not a JPEG, PNG, GIF or BMP image (", head, ")"])

    with tf.control_dependencies([_require(code > 0, unknown)]):
        data = _as_bytes(contents)
        height, width, frame_pixels = tf.unstack(_declared(contents, data, code))
    readable = _require(height >= 0, lambda: tf.strings.join([
        name, ": the ", tf.gather(_FORMAT_NAMES, code), " header is cut short or invalid (",
        tf.strings.as_string(tf.strings.length(contents)), " bytes)"]))
    pixels = tf.maximum(height * width, frame_pixels)
    within = _require(pixels <= max_pixels,
                      lambda: budget_message(name, height, width, pixels, max_pixels))
    with tf.control_dependencies([readable, within]):
        image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image = tf.ensure_shape(image, [None, None, 3])
    shape = tf.shape(image, out_type=tf.int64)
    same = _require((shape[0] == height) & (shape[1] == width), lambda: tf.strings.join([
        name, ": decoded to ", tf.strings.as_string(shape[1]), "x",
        tf.strings.as_string(shape[0]), " pixels but its header declares ",
        tf.strings.as_string(width), "x", tf.strings.as_string(height)]))
    with tf.control_dependencies([same]):
        return apply_orientation(image, _orientation(data, _exif_start(contents, data, code)))


def decoder_reason(error):
    """`(text, refused)`: the one informative line of an `InvalidArgumentError` raised while
    decoding, and whether it is one of `decode_image_bounded`'s own refusals (its text then
    names the image) rather than a decoder's words (e.g. `jpeg::Uncompress failed. ...`)."""
    message = getattr(error, "message", None) or str(error)
    if "assertion failed:" in message:
        text = message.split("assertion failed:", 1)[1].strip().splitlines()[0]
        return text.strip().strip("[]").strip(), True
    message = re.sub(r"\{\{[^}]*\}\}", " ", message.split("[Op:")[0])
    lines = [line.strip() for line in message.splitlines()]
    lines = [line for line in lines if line and not line.startswith("[[")]
    return (" ".join(lines[0].split()) if lines else type(error).__name__), False


def read_image_file(path, max_pixels=DEFAULT_MAX_PIXELS):
    """An image file decoded with `decode_image_bounded` (eager): uint8 `(H, W, 3)` tensor.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: `PATH: the image declares WxH pixels ...` (over the budget), or
            `PATH: cannot decode this image (REASON); the file is truncated or not a
            PNG/JPEG/BMP/GIF image`.

    Example:

    >>> read_image_file("photo.jpg").shape
    TensorShape([480, 640, 3])
    """
    path = str(path)
    try:
        contents = tf.io.read_file(path)
    except tf.errors.NotFoundError:
        raise FileNotFoundError(f"no image file at {path}") from None
    try:
        return decode_image_bounded(contents, max_pixels, path)
    except tf.errors.InvalidArgumentError as error:
        text, refused = decoder_reason(error)
        if refused and "budget" in text:
            raise ValueError(text) from None
        if refused:  # unknown format or cut-short header: the text starts with the path
            text = text[len(path) + 2:] if text.startswith(f"{path}: ") else text
        raise ValueError(f"{path}: cannot decode this image ({text}); the file is truncated "
                         "or not a PNG/JPEG/BMP/GIF image") from None


def read_image_size(path):
    """`(height, width)` of an image file upright (EXIF orientation applied), from its header
    alone, without decoding its pixels. `ValueError` naming the file when it does not read.

    Example:

    >>> read_image_size("photo.jpg")
    (480, 640)
    """
    path = str(path)
    try:
        contents = tf.io.read_file(path)
        code, declared, orientation = _header_function(contents)
        if int(code) == _UNKNOWN:
            raise ValueError(f"{path}: not a readable PNG/JPEG/BMP/GIF image (it "
                             f"{_hex_head(contents)})")
        height, width = int(declared[0]), int(declared[1])
    except tf.errors.NotFoundError:
        raise FileNotFoundError(f"no image file at {path}") from None
    except tf.errors.InvalidArgumentError as error:
        raise ValueError(f"{path}: not a readable PNG/JPEG/BMP/GIF image "
                         f"({decoder_reason(error)[0]})") from None
    if height < 0:
        raise ValueError(f"{path}: not a readable PNG/JPEG/BMP/GIF image (the header is cut "
                         "short or invalid)")
    return (width, height) if int(orientation) >= 5 else (height, width)


def _hex_head(contents):
    return "is 0 bytes" if int(tf.strings.length(contents)) == 0 else (
        "starts with 0x" + _hex_prefix(contents).numpy().decode())
