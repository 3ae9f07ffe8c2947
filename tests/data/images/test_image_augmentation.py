"""The notes' image augmentation: flips, random resized crop, color changes, seeded tf.data."""

import keras_cv
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.images.classification_datasets import make_classification_dataset
from kerasnotes.data.images.image_augmentation import (
    ImageAugmentation,
    augment_dataset,
    default_augmentation,
)

NO_CHANGE = dict(horizontal_flip=0.0, vertical_flip=0.0, crop_area=(1.0, 1.0),
                 aspect_ratio=(1.0, 1.0))


def images(shape=(6, 12, 12, 3), seed=0, low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


def test_crop_area_and_aspect_ratio_stay_in_the_notes_ranges():
    augmentation = ImageAugmentation(target_size=(8, 8))
    boxes = augmentation.crop_boxes(20000, (3, 4)).numpy()
    height, width = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    area, ratio = height * width, width / height
    assert boxes.min() >= 0.0 and boxes.max() <= 1.0 + 1e-6
    assert area.min() >= 0.1 - 1e-6 and area.max() <= 1.0 + 1e-6
    assert ratio.min() >= 0.5 - 1e-5 and ratio.max() <= 2.0 + 1e-5
    # The draws cover the ranges, not just a corner of them.
    assert area.min() < 0.11 and area.max() > 0.95
    assert ratio.min() < 0.52 and ratio.max() > 1.95
    # Unclipped draws are uniform in area: the mean of U(0.1, 1) is 0.55; clipping the
    # side to 1 only lowers a few large areas.
    assert 0.45 < area.mean() < 0.56


def test_crop_is_keras_cv_random_crop_and_resize_applied_to_the_same_box():
    augmentation = ImageAugmentation(target_size=(7, 9))
    layer = keras_cv.layers.RandomCropAndResize(
        target_size=(7, 9), crop_area_factor=(0.1, 1.0), aspect_ratio_factor=(0.5, 2.0))
    x = images((4, 16, 16, 3))
    boxes = augmentation.crop_boxes(4, (5, 6))
    ours = augmentation.crop_and_resize(x, boxes).numpy()
    for i in range(4):
        theirs = layer.augment_image(tf.constant(x[i]), transformation=boxes[i:i + 1])
        np.testing.assert_allclose(ours[i], theirs.numpy(), atol=1e-6)


def test_identity_when_every_factor_is_zero():
    x = images()
    np.testing.assert_allclose(ImageAugmentation((12, 12), **NO_CHANGE)(x, (1, 2)), x,
                               atol=1e-6)
    np.testing.assert_array_equal(
        ImageAugmentation((12, 12), horizontal_flip=0.0, crop=False)(x, (1, 2)), x)


def test_flips_have_their_own_probabilities():
    # A column ramp shows a left-right flip, a row ramp an up-down flip.
    ramp = np.arange(4, dtype="float32") / 3
    x = np.broadcast_to(ramp[None, None, :, None] + 0 * ramp[None, :, None, None],
                        (4000, 4, 4, 1)).copy()
    out = ImageAugmentation((4, 4), horizontal_flip=0.3, vertical_flip=0.0,
                            crop=False)(x, (0, 1)).numpy()
    flipped = out[:, 0, 0, 0] == 1.0
    np.testing.assert_array_equal(out[flipped], x[flipped][:, :, ::-1])
    np.testing.assert_array_equal(out[~flipped], x[~flipped])
    assert abs(flipped.mean() - 0.3) < 0.03  # binomial std 0.007
    y = np.swapaxes(x, 1, 2)
    out = ImageAugmentation((4, 4), horizontal_flip=0.0, vertical_flip=0.8,
                            crop=False)(y, (0, 2)).numpy()
    flipped = out[:, 0, 0, 0] == 1.0
    np.testing.assert_array_equal(out[flipped], y[flipped][:, ::-1])
    assert abs(flipped.mean() - 0.8) < 0.03


def test_brightness_adds_one_delta_per_image():
    x = images(low=0.4, high=0.6)
    out = ImageAugmentation((12, 12), brightness=0.2, crop=False, horizontal_flip=0)(
        x, (7, 7)).numpy()
    delta = out - x
    per_image = delta.reshape(len(x), -1)
    np.testing.assert_allclose(per_image, per_image[:, :1] * np.ones_like(per_image),
                               atol=1e-6)
    assert np.all(np.abs(per_image[:, 0]) <= 0.2) and np.ptp(per_image[:, 0]) > 0


def test_contrast_scales_around_the_channel_mean():
    x = images(low=0.45, high=0.55)
    out = ImageAugmentation((12, 12), contrast=0.5, crop=False, horizontal_flip=0)(
        x, (8, 8)).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    factor = (out - mean) / (x - mean)
    k = np.median(factor.reshape(len(x), -1), axis=1)
    # out = (x - mean) k + mean, the notes' contrast change, computed here in NumPy.
    np.testing.assert_allclose(out, (x - mean) * k[:, None, None, None] + mean, atol=1e-5)
    assert np.all((k >= 0.5) & (k <= 1.5)) and np.ptp(k) > 0


def test_hue_and_saturation_change_only_their_hsv_channel():
    x = images(low=0.2, high=0.8)
    hsv = tf.image.rgb_to_hsv(x).numpy()
    out = ImageAugmentation((12, 12), hue=0.1, crop=False, horizontal_flip=0)(x, (9, 9))
    out_hsv = tf.image.rgb_to_hsv(out).numpy()
    np.testing.assert_allclose(out_hsv[..., 1:], hsv[..., 1:], atol=1e-4)
    shift = (out_hsv[..., 0] - hsv[..., 0] + 0.5) % 1.0 - 0.5
    per_image = shift.reshape(len(x), -1)
    np.testing.assert_allclose(per_image, np.median(per_image, 1, keepdims=True)
                               * np.ones_like(per_image), atol=1e-4)
    assert np.all(np.abs(per_image) <= 0.1 + 1e-4)
    out = ImageAugmentation((12, 12), saturation=0.3, crop=False, horizontal_flip=0)(
        x, (9, 9))
    out_hsv = tf.image.rgb_to_hsv(out).numpy()
    np.testing.assert_allclose(out_hsv[..., 2], hsv[..., 2], atol=1e-5)
    ratio = (out_hsv[..., 1] / hsv[..., 1]).reshape(len(x), -1)
    k = np.median(ratio, axis=1)
    np.testing.assert_allclose(out_hsv[..., 1], np.minimum(hsv[..., 1] * k[:, None, None], 1),
                               atol=1e-4)
    assert np.all((k >= 0.7 - 1e-5) & (k <= 1.3 + 1e-5))


def test_deterministic_under_a_seed_and_different_for_other_seeds():
    augmentation = default_augmentation((12, 12, 3))
    x = images()
    a, b = augmentation(x, (1, 2)), augmentation(x, (1, 2))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - augmentation(x, (1, 3))).max() > 0.1
    assert a.numpy().min() >= 0.0 and a.numpy().max() <= 1.0


def test_dataset_map_is_parallel_deterministic_and_resumable():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 10, 10, 3), dtype=np.uint8)
    y = rng.integers(0, 4, 40)

    def run(epoch, seed=5):
        base = make_classification_dataset(x, y, 8, shuffle_seed=0, epoch=epoch)
        return augment_dataset(base, seed=seed, epoch=epoch)

    first = list(run(0).as_numpy_iterator())
    again = list(run(0).as_numpy_iterator())
    assert len(first) == 5
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    # Labels are untouched; the images differ from the plain pipeline and between epochs.
    plain = list(make_classification_dataset(x, y, 8, shuffle_seed=0).as_numpy_iterator())
    for (xa, ya), (xp, yp) in zip(first, plain):
        np.testing.assert_array_equal(ya, yp)
        assert xa.shape == xp.shape and np.abs(xa - xp).max() > 0.05
    assert np.abs(first[0][0] - list(run(1).as_numpy_iterator())[0][0]).max() > 0.05
    # Resuming with .skip(n) replays exactly the rest of the epoch.
    resumed = list(run(0).skip(2).as_numpy_iterator())
    for (xa, _), (xb, _) in zip(first[2:], resumed):
        np.testing.assert_array_equal(xa, xb)


def test_grayscale_default_has_no_color_ops_and_works():
    augmentation = default_augmentation((28, 28, 1))
    assert augmentation.hue == 0 and augmentation.saturation == 0
    out = augmentation(images((3, 28, 28, 1)), (0, 0))
    assert out.shape == (3, 28, 28, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(target_size=(0, 4)), "target_size"),
    (dict(target_size=(4, 4), horizontal_flip=1.5), "horizontal_flip"),
    (dict(target_size=(4, 4), crop_area=(0.0, 1.0)), "crop_area"),
    (dict(target_size=(4, 4), crop_area=(0.5, 1.2)), "crop_area"),
    (dict(target_size=(4, 4), aspect_ratio=(2.0, 0.5)), "aspect_ratio"),
    (dict(target_size=(4, 4), hue=0.7), "hue"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageAugmentation(**kwargs)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="RGB"):
        ImageAugmentation((4, 4), hue=0.1)(images((2, 4, 4, 1)), (0, 0))
    with pytest.raises(ValueError, match="batch"):
        ImageAugmentation((4, 4))(images((4, 4, 3)), (0, 0))
    with pytest.raises(ValueError, match="seed"):
        augment_dataset(tf.data.Dataset.from_tensors(images((2, 4, 4, 3))), seed=-1)
