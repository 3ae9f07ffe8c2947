"""VOC colormap, the VOC reader (real samples and the synthetic set), crops and filters."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.segmentation.segmentation_pipeline import (
    RGB_MEAN,
    RGB_STD,
    filter_by_size,
    make_segmentation_dataset,
    random_crop_pair,
    standardize_rgb,
)
from kerasnotes.data.segmentation.synthetic_segmentation import (
    synthetic_segmentation_dir,
    write_synthetic_segmentation,
)
from kerasnotes.data.segmentation.voc_colormap import (
    BOUNDARY_COLOR,
    VOC_CLASSES,
    VOC_COLORMAP,
    colormap_to_label,
    label_to_colormap,
)
from kerasnotes.data.segmentation.voc_segmentation import SegmentationSplit, read_voc_segmentation


def test_colormap_both_ways():
    assert len(VOC_COLORMAP) == len(VOC_CLASSES) == 21
    labels = np.array([[*range(21), 255]], "uint8")
    colors = label_to_colormap(labels).numpy()
    np.testing.assert_array_equal(colors[0, :21], VOC_COLORMAP)
    np.testing.assert_array_equal(colors[0, 21], BOUNDARY_COLOR)
    np.testing.assert_array_equal(colormap_to_label(colors).numpy(), labels)
    # d2l's lookup table: (r * 256 + g) * 256 + b -> index.
    table = np.zeros(256 ** 3, "int64")
    for i, (r, g, b) in enumerate(VOC_COLORMAP):
        table[(r * 256 + g) * 256 + b] = i
    rng = np.random.default_rng(0)
    image = np.array(VOC_COLORMAP, "uint8")[rng.integers(0, 21, (5, 7))]
    keys = (image[..., 0].astype(int) * 256 + image[..., 1]) * 256 + image[..., 2]
    np.testing.assert_array_equal(colormap_to_label(image).numpy(), table[keys])


def test_unknown_colors_become_254():
    assert colormap_to_label(np.array([[1, 2, 3]], "uint8")).numpy().tolist() == [254]


def test_reads_the_real_voc_samples(shared_data):
    root = shared_data / "voc2012_samples"
    split = read_voc_segmentation(str(root), "val")
    assert split.names == ["sample_000001", "sample_000023", "sample_000114"]
    expected_classes = [1, 17, 3]  # aeroplane, sheep, bird
    for image, labels, cls in zip(split.images, split.labels, expected_classes, strict=True):
        assert image.dtype == np.uint8 and image.shape == (513, 513, 3)
        assert labels.shape == (513, 513)
        assert set(np.unique(labels)) == {0, cls, 255}
    # The palette indices stored in the PNG are the labels (PIL reads them raw).
    from PIL import Image

    for name, labels in zip(split.names, split.labels, strict=True):
        raw = np.array(Image.open(root / "SegmentationClass" / f"{name}.png"))
        np.testing.assert_array_equal(labels, raw)
    # And mapping the labels back to colors gives the PNG's RGB rendering.
    rgb = tf.io.decode_png(tf.io.read_file(str(root / "SegmentationClass" /
                                                 "sample_000023.png")), channels=3).numpy()
    np.testing.assert_array_equal(label_to_colormap(split.labels[1]).numpy(), rgb)


def write_tiny_voc(root, label_rgb, names=("a",), size=(8, 8)):
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for name in names:
        tf.io.write_file(os.path.join(root, "JPEGImages", f"{name}.jpg"),
                         tf.io.encode_jpeg(np.zeros((*size, 3), "uint8")))
        tf.io.write_file(os.path.join(root, "SegmentationClass", f"{name}.png"),
                         tf.io.encode_png(label_rgb))
    with open(os.path.join(root, "ImageSets", "Segmentation", "train.txt"), "w") as f:
        f.write("\n".join(names))


def test_unknown_label_color_names_the_file(tmp_path):
    label = np.zeros((8, 8, 3), "uint8")
    label[2:4, 2:4] = (10, 20, 30)
    write_tiny_voc(str(tmp_path), label)
    with pytest.raises(ValueError, match=r"a\.png.*4 pixels of colors outside.*\(10, 20, 30\)"):
        read_voc_segmentation(str(tmp_path), "train")


def test_missing_files_and_size_mismatch(tmp_path):
    with pytest.raises(OSError, match="VOC folder not found"):
        read_voc_segmentation(str(tmp_path / "nowhere"))
    write_tiny_voc(str(tmp_path), np.zeros((6, 8, 3), "uint8"))
    with pytest.raises(OSError, match="val.txt"):
        read_voc_segmentation(str(tmp_path), "val")
    with pytest.raises(ValueError, match="is \\(8, 8\\) but its label"):
        read_voc_segmentation(str(tmp_path), "train")
    os.remove(tmp_path / "JPEGImages" / "a.jpg")
    with pytest.raises(OSError, match="a.jpg"):
        read_voc_segmentation(str(tmp_path), "train")


def test_truncated_image_or_label_names_the_file(tmp_path):
    write_tiny_voc(str(tmp_path), np.zeros((8, 8, 3), "uint8"))
    assert len(read_voc_segmentation(str(tmp_path), "train")) == 1
    # A JPEG cut inside its header fails in libjpeg's header parser ("Invalid JPEG data,
    # size N"), one cut in its pixel data in the decoder ("jpeg::Uncompress failed. ...").
    for path, decoder in ((tmp_path / "JPEGImages" / "a.jpg", "Invalid JPEG data"),
                          (tmp_path / "SegmentationClass" / "a.png", "Invalid PNG")):
        good = path.read_bytes()
        path.write_bytes(good[: len(good) // 2])
        with pytest.raises(ValueError, match=rf"^{path}: cannot decode this image "
                                             rf"\({decoder}.*\); the file is truncated"):
            read_voc_segmentation(str(tmp_path), "train")
        path.write_bytes(good)


def test_synthetic_dataset_is_deterministic_and_in_voc_layout(tmp_path):
    kwargs = {"num_train": 3, "num_val": 2, "min_size": (20, 24), "max_size": (30, 36)}
    a = write_synthetic_segmentation(str(tmp_path / "a"), seed=1, **kwargs)
    b = write_synthetic_segmentation(str(tmp_path / "b"), seed=1, **kwargs)
    for split, count in (("train", 3), ("val", 2)):
        sa, sb = read_voc_segmentation(a, split), read_voc_segmentation(b, split)
        assert len(sa) == count
        for xa, xb, ya, yb in zip(sa.images, sb.images, sa.labels, sb.labels, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
            assert 20 <= xa.shape[0] <= 30 and 24 <= xa.shape[1] <= 36
            assert set(np.unique(ya)) <= {0, 1, 2, 3, 4, 5, 255}
            assert (ya > 0).any()
    root = synthetic_segmentation_dir(str(tmp_path / "cache"), num_train=2, num_val=1)
    assert synthetic_segmentation_dir(str(tmp_path / "cache"), num_train=2, num_val=1) == root
    assert sorted(os.listdir(root)) == ["ImageSets", "JPEGImages", "SegmentationClass"]


def test_random_crop_keeps_image_and_label_aligned():
    # Every pixel's label is a function of its color: any aligned crop keeps it.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 21, (20, 30)).astype("uint8")
    image = label_to_colormap(labels).numpy()
    for i in range(5):
        crop, crop_labels = random_crop_pair(tf.constant(image), tf.constant(labels), (7, 11),
                                             seed=tf.constant([3, i], "int64"))
        assert crop.shape == (7, 11, 3) and crop_labels.shape == (7, 11)
        np.testing.assert_array_equal(colormap_to_label(crop).numpy(), crop_labels.numpy())


def test_filter_and_dataset(tmp_path):
    images = [np.zeros((h, w, 3), "uint8") for h, w in [(8, 8), (10, 12), (6, 20)]]
    labels = [np.ones((h, w), "uint8") for h, w in [(8, 8), (10, 12), (6, 20)]]
    split = SegmentationSplit(images, labels, ["a", "b", "c"])
    kept_images, kept_labels = filter_by_size(split, (8, 8))
    assert [x.shape[:2] for x in kept_images] == [(8, 8), (10, 12)]
    with pytest.raises(ValueError, match="crop size 11x13 is larger than every image"):
        filter_by_size(split, (11, 13))
    dataset = make_segmentation_dataset(kept_images, kept_labels, (8, 8), batch_size=2)
    x, y = next(iter(dataset))
    assert x.shape == (2, 8, 8, 3) and y.shape == (2, 8, 8) and y.dtype == tf.int32
    np.testing.assert_allclose(x[0, 0, 0], -np.array(RGB_MEAN) / np.array(RGB_STD), atol=1e-6)
    again = next(iter(make_segmentation_dataset(kept_images, kept_labels, (8, 8), 2)))
    np.testing.assert_array_equal(again[0], x)


def test_standardization_matches_the_formula():
    pixels = np.random.default_rng(1).integers(0, 256, (2, 3, 3)).astype("uint8")
    expected = (pixels / 255.0 - np.array(RGB_MEAN)) / np.array(RGB_STD)
    np.testing.assert_allclose(standardize_rgb(pixels), expected, atol=1e-5)
