"""The content and style images of style transfer: files, embedded drawings, sizes, errors."""

import keras
import numpy as np
import pytest

from kerasnotes.data.images.style_transfer_images import (
    MIN_SIZE,
    load_style_transfer_images,
    read_image,
    write_image,
)


def test_embedded_images_at_the_asked_size():
    content, style, description = load_style_transfer_images(height=24, width=32)
    assert content.shape == style.shape == (24, 32, 3)
    assert content.dtype == style.dtype == np.float32
    assert description.count("not a real image") == 2 and "scene of shapes" in description


def test_files_are_resized_and_the_style_keeps_its_aspect_ratio(tmp_path):
    rng = np.random.default_rng(0)
    keras.utils.save_img(str(tmp_path / "c.png"), rng.uniform(0, 255, (50, 60, 3)))
    keras.utils.save_img(str(tmp_path / "s.png"), rng.uniform(0, 255, (40, 30, 3)))
    content, style, description = load_style_transfer_images(
        str(tmp_path / "c.png"), str(tmp_path / "s.png"), height=24, width=32)
    assert content.shape == (24, 32, 3)
    # 40x30 scaled to the content's 768 pixels: sqrt(768 / 1200) = 0.8 -> 32x24.
    assert style.shape == (32, 24, 3)
    assert 0.0 <= content.min() and content.max() <= 1.0
    assert description == f"content: {tmp_path / 'c.png'}; style: {tmp_path / 's.png'}"


def test_written_image_reads_back_in_a_new_folder(tmp_path):
    pixels = np.random.default_rng(0).uniform(0, 1, (20, 24, 3)).astype("float32")
    path = tmp_path / "new" / "stylized.png"
    write_image(str(path), pixels)
    read = read_image(str(path))
    assert read.shape == (20, 24, 3) and read.dtype == np.uint8
    np.testing.assert_array_equal(read, (pixels * 255.0).astype("uint8"))  # truncated, lossless


def test_errors_name_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    keras.utils.save_img(str(tmp_path / "tiny.png"), np.zeros((8, 8, 3)))
    with pytest.raises(FileNotFoundError, match="style image not found: .*missing.jpg"):
        read_image(str(tmp_path / "missing.jpg"), "style")
    with pytest.raises(ValueError, match="content image .*notes.txt is not an image"):
        read_image(str(tmp_path / "notes.txt"), "content")
    with pytest.raises(ValueError, match="too small"):
        load_style_transfer_images(str(tmp_path / "tiny.png"))
    with pytest.raises(ValueError, match=f"at least {MIN_SIZE}"):
        load_style_transfer_images(height=8, width=32)


def test_minimum_size_is_vgg19s():
    from kerasnotes.models.vgg19_features import VGG19_MIN_SIZE

    assert MIN_SIZE == VGG19_MIN_SIZE
