"""Bounded image decoding: declared sizes from headers, refusal before decoding, EXIF."""

import io
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from kerasnotes.ops.image_decoding import (
    check_max_pixels,
    declared_image_size,
    decode_image_bounded,
    exif_orientation,
    read_image_file,
    read_image_size,
)

# PIL's transposes for EXIF orientations 2-8, as ImageOps.exif_transpose applies them.
PIL_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                 4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                 8: Image.Transpose.ROTATE_90}


def pixels(height=30, width=50, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def encode(image, fmt, orientation=None, **options):
    """`image` encoded by PIL as `fmt`, with an EXIF orientation tag when given."""
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(size):
    """A complete grayscale PNG of `size` x `size` zero pixels: ~1 KB per 1000 rows."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + size)
    data = b"".join(compressor.compress(row) for _ in range(size)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0,
                                                                 0, 0, 0))
            + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b""))


def png_header_only(width, height):
    """A PNG that declares `width` x `height` and holds (almost) no pixel data."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                                 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + png_chunk(b"IEND", b""))


def gif(frames, screen=(10, 10)):
    """A GIF with a 2-color table and one frame per `(width, height)`, every pixel color 1
    (LZW codes of 3 bits, a clear code every 2 pixels)."""
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    for width, height in frames:
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        codes = []
        for i in range(0, width * height, 2):
            codes += [4, 1] + ([1] if i + 1 < width * height else [])
        bits = sum(code << (3 * k) for k, code in enumerate(codes + [5]))
        data = bits.to_bytes((3 * (len(codes) + 1) + 7) // 8, "little")
        out += b"\x02" + b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255]
                                  for i in range(0, len(data), 255)) + b"\x00"
    return out + b"\x3b"


def bmp_header(width, height):
    """A BITMAPINFOHEADER BMP header (24 bits), no pixel data."""
    return (b"BM" + struct.pack("<IHHI", 54, 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP"])
def test_declared_size_of_each_format_is_the_decoded_size(fmt):
    data = encode(pixels(30, 50), fmt)
    assert list(declared_image_size(data).numpy()) == [30, 50]
    image = decode_image_bounded(data, 30 * 50, "x")
    assert image.shape == (30, 50, 3) and image.dtype == tf.uint8
    np.testing.assert_array_equal(image, tf.io.decode_image(data, channels=3,
                                                            expand_animations=False))


def test_headers_read_without_pixel_data():
    assert list(declared_image_size(png_header_only(23170, 1000)).numpy()) == [1000, 23170]
    # BMP: little-endian signed int32; a negative height is a top-down image.
    assert list(declared_image_size(bmp_header(7000, -9000)).numpy()) == [9000, 7000]
    # GIF: TF decodes every frame and returns the first at the largest frame width and
    # height, whatever the logical screen (bytes 6-10) says.
    data = gif([(30, 5), (5, 40)], screen=(10, 10))
    assert list(declared_image_size(data).numpy()) == [40, 30]
    assert decode_image_bounded(data, 40 * 30, "x").shape == (40, 30, 3)


def test_truncated_and_unknown_headers():
    good = encode(pixels(), "PNG")
    assert list(declared_image_size(good[:20]).numpy()) == [-1, -1]
    assert list(declared_image_size(bmp_header(4, 4)[:20]).numpy()) == [-1, -1]
    assert list(declared_image_size(b"GIF89a\x01").numpy()) == [-1, -1]
    assert list(declared_image_size(b"<html>").numpy()) == [-1, -1]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"x: the PNG header is cut short"):
        decode_image_bounded(good[:20], 100, "x")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"x: not a JPEG, PNG, GIF or BMP image \(starts with 0x3c68746d"):
        decode_image_bounded(b"<html>", 100, "x")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"0 bytes"):
        decode_image_bounded(b"", 100, "x")


def test_a_header_that_lies_is_caught():
    # An IHDR of 4x4 in front of the pixel data of a 30x50 image: the decoder follows the
    # header (so the budget holds), and reads 4x4 pixels or fails; never more.
    real = encode(pixels(30, 50), "PNG")
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    lying = real[:8] + png_chunk(b"IHDR", ihdr) + real[33:]
    assert list(declared_image_size(lying).numpy()) == [4, 4]
    try:
        assert decode_image_bounded(lying, 16, "x").shape == (4, 4, 3)
    except tf.errors.InvalidArgumentError as error:
        assert "budget" not in error.message
    # A JPEG frame header that says 8x8 is what libjpeg decodes.
    jpeg = encode(pixels(8, 8), "JPEG")
    assert list(declared_image_size(jpeg).numpy()) == [8, 8]


def test_refusal_names_the_image_the_size_and_the_budget_before_decoding():
    bomb = png_bomb(23170)
    assert len(bomb) < 600_000
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        decode_image_bounded(bomb, 40_000_000, "upload.png")
    message = info.value.message
    assert ("upload.png: the image declares 23170x23170 pixels (536848900 to decode), more "
            "than the budget of 40000000 pixels; refused before decoding") in message
    assert message.isascii()
    # GIF: the budget counts every frame (TF's decoder reads them all).
    frames = gif([(20, 20)] * 5)
    assert decode_image_bounded(frames, 2000, "a.gif").shape == (20, 20, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"a.gif: .*\(2000 to decode\)"):
        decode_image_bounded(frames, 1999, "a.gif")


def test_read_image_file_errors_are_one_line_naming_the_file(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20000, 20000))
    with pytest.raises(ValueError, match=rf"^{bomb}: the image declares 20000x20000 pixels"):
        read_image_file(bomb)
    assert read_image_size(bomb) == (20000, 20000)
    truncated = tmp_path / "cut.jpg"
    data = encode(pixels(), "JPEG")
    truncated.write_bytes(data[:-200])
    with pytest.raises(ValueError) as info:
        read_image_file(truncated)
    assert str(info.value).startswith(f"{truncated}: cannot decode this image (")
    assert "\n" not in str(info.value) and "{{" not in str(info.value)
    with pytest.raises(FileNotFoundError):
        read_image_file(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="max_pixels must be an integer >= 1"):
        check_max_pixels("f", 0)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_matches_pil(fmt, orientation):
    stored = pixels(30, 50, seed=orientation)
    data = encode(stored, fmt, orientation, **({"quality": 95} if fmt == "JPEG" else {}))
    assert int(exif_orientation(data)) == orientation
    ours = decode_image_bounded(data, 10_000, "x").numpy()
    # The same decoder's stored pixels, turned by PIL's transpose: equal to the last bit.
    as_stored = Image.fromarray(tf.io.decode_image(data, channels=3).numpy())
    expected = np.asarray(as_stored.transpose(PIL_TRANSPOSE[orientation])
                          if orientation > 1 else as_stored)
    np.testing.assert_array_equal(ours, expected)
    # And what PIL shows (its JPEG decoder rounds a little differently).
    shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert ours.shape == shown.shape
    assert np.mean(np.abs(ours.astype(int) - shown)) < 3
    if orientation >= 5:
        assert ours.shape[:2] == (50, 30)


def test_exif_in_a_jpeg_with_other_segments_first_and_big_endian():
    # A JFIF APP0 segment before the Exif APP1, and a big-endian ("MM") TIFF header.
    image = pixels(20, 40)
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 2)
            + struct.pack(">HHIHH", 0x010F, 2, 2, 0x4100, 0)  # Make: "A"
            + struct.pack(">HHIHH", 0x0112, 3, 1, 8, 0) + b"\x00\x00\x00\x00")
    data = encode(image, "JPEG", quality=95)
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
    rest = data[2:]
    if rest[:2] == b"\xff\xe0":  # drop PIL's own APP0
        rest = rest[2 + struct.unpack(">H", rest[2:4])[0]:]
    data = b"\xff\xd8" + app0 + app1 + rest
    assert int(exif_orientation(data)) == 8
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert decode_image_bounded(data, 10_000, "x").shape == (40, 20, 3) == (
        shown.size[1], shown.size[0], 3)


def test_garbage_exif_is_ignored():
    image = pixels(20, 40)
    data = encode(image, "JPEG")
    for tiff in (b"XX\x00\x2a", b"II\x2a\x00\xff\xff\xff\x7f", b"II\x2a\x00\x08\x00\x00\x00"
                 + b"\xff\xff"):
        app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
        broken = data[:2] + app1 + data[2:]
        assert int(exif_orientation(broken)) == 1
        assert decode_image_bounded(broken, 10_000, "x").shape == (20, 40, 3)


def test_works_inside_a_graph_with_a_tensor_name():
    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def decode(data):
        return decode_image_bounded(data, 1000, tf.strings.join(["request[", "0", "]"]))

    assert decode(encode(pixels(20, 40), "PNG")).shape == (20, 40, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"request\[0\]: the image "
                                                             r"declares 50x30 pixels"):
        decode(encode(pixels(30, 50), "PNG"))


def test_a_jpeg_bomb_is_refused_by_its_frame_header():
    # A small JPEG whose frame header (SOF0) is patched to declare 30000x30000 pixels:
    # libjpeg's header parser reads that size, and the budget refuses it before decoding.
    data = bytearray(encode(pixels(8, 8), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 30000, 30000)
    assert list(declared_image_size(bytes(data)).numpy()) == [30000, 30000]
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"x: the image declares 30000x30000 pixels .* refused before"):
        decode_image_bounded(bytes(data), 40_000_000, "x")


def test_exif_bytes_outside_an_app1_segment_are_not_an_orientation():
    # "Exif\0\0" and a TIFF header saying "rotate" inside a comment (COM) segment: the marker
    # walk runs (the bytes are there) but finds no APP1 Exif segment, as PIL.
    image = pixels(20, 40)
    tiff = (b"II\x2a\x00\x08\x00\x00\x00" + struct.pack("<H", 1)
            + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + b"\x00\x00\x00\x00")
    data = encode(image, "JPEG")
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
    data = data[:2] + comment + data[2:]
    assert int(exif_orientation(data)) == 1
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size == (40, 20)
    assert decode_image_bounded(data, 10_000, "x").shape == (20, 40, 3)
