import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.detection.detection_augmentation import (
    augment_detection_batch,
    augment_detection_example,
    color_jitter_factors,
    detection_augmentation_draws,
    flip_boxes_horizontally,
    horizontal_flip,
    random_color_jitter,
    random_horizontal_flip,
)

LABELS = np.float32([[2, 0.1, 0.2, 0.4, 0.6], [0, 0.5, 0.0, 1.0, 0.25], [-1, 0, 0, 0, 0]])


def test_flip_boxes_exact():
    flipped = flip_boxes_horizontally(LABELS).numpy()
    expected = LABELS.copy()
    # xmin' = 1 - xmax, xmax' = 1 - xmin, y unchanged; the padding row is untouched.
    expected[:2, 1] = 1 - LABELS[:2, 3]
    expected[:2, 3] = 1 - LABELS[:2, 1]
    np.testing.assert_array_equal(flipped, expected)
    np.testing.assert_array_equal(flipped[2], [-1, 0, 0, 0, 0])
    np.testing.assert_allclose(flip_boxes_horizontally(flipped).numpy(), LABELS, atol=1e-7)
    batch = flip_boxes_horizontally(np.stack([LABELS, LABELS[::-1]])).numpy()
    np.testing.assert_array_equal(batch[0], expected)
    np.testing.assert_array_equal(batch[1], expected[::-1])


def test_flip_moves_the_pixels_of_the_box():
    # A 40x20 image with a white rectangle exactly covering each box.
    height, width = 20, 40
    image = np.zeros((height, width, 3), np.uint8)
    labels = np.float32([[1, 0.1, 0.25, 0.35, 0.75], [-1, 0, 0, 0, 0]])
    xmin, ymin, xmax, ymax = np.round(labels[0, 1:] * [width, height, width, height]).astype(int)
    image[ymin:ymax, xmin:xmax] = 255
    flipped_image, flipped_labels = horizontal_flip(image, labels)
    rows, cols = np.nonzero(flipped_image.numpy()[:, :, 0])
    box = np.float32([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
    np.testing.assert_allclose(flipped_labels.numpy()[0, 1:] * [width, height, width, height],
                               box, atol=1e-5)
    np.testing.assert_array_equal(flipped_image.numpy(), image[:, ::-1])
    np.testing.assert_array_equal(flipped_labels.numpy()[1], [-1, 0, 0, 0, 0])


def test_flip_agrees_with_keras_random_flip():
    image = np.random.default_rng(0).uniform(size=(6, 8, 3)).astype("float32")
    layer = keras.layers.RandomFlip("horizontal", bounding_box_format="rel_xyxy")
    transformation = {"flips": tf.constant([[[True]]]), "input_shape": image.shape}
    keras_image = layer.transform_images(image, transformation, training=True)
    keras_boxes = layer.transform_bounding_boxes(
        {"boxes": LABELS[:, 1:], "labels": LABELS[:, 0]}, transformation, training=True
    )
    ours_image, ours_labels = horizontal_flip(image, LABELS)
    np.testing.assert_array_equal(ours_image.numpy(), np.asarray(keras_image))
    # Keras also moves the padding row; ours keeps it. The object rows agree.
    np.testing.assert_allclose(ours_labels.numpy()[:2, 1:],
                               np.asarray(keras_boxes["boxes"])[:2], atol=1e-6)


def test_random_flip_is_seeded_and_consistent():
    image = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    flips = []
    for k in range(200):
        out_image, out_labels = random_horizontal_flip(image, LABELS, seed=[7, k])
        again_image, again_labels = random_horizontal_flip(image, LABELS, seed=[7, k])
        np.testing.assert_array_equal(out_image.numpy(), again_image.numpy())
        np.testing.assert_array_equal(out_labels.numpy(), again_labels.numpy())
        flipped = not np.array_equal(out_image.numpy(), image)
        expected = horizontal_flip(image, LABELS) if flipped else (image, LABELS)
        np.testing.assert_array_equal(out_image.numpy(), np.asarray(expected[0]))
        np.testing.assert_array_equal(out_labels.numpy(), np.asarray(expected[1]))
        flips.append(flipped)
    assert 0.35 < np.mean(flips) < 0.65
    never = random_horizontal_flip(image, LABELS, seed=[0, 1], probability=0.0)
    always = random_horizontal_flip(image, LABELS, seed=[0, 1], probability=1.0)
    np.testing.assert_array_equal(never[1].numpy(), LABELS)
    np.testing.assert_array_equal(always[1].numpy(), flip_boxes_horizontally(LABELS).numpy())


def test_random_flip_batch_has_one_coin_per_image():
    images = np.random.default_rng(1).uniform(size=(16, 3, 5, 3)).astype("float32")
    labels = np.stack([LABELS] * 16)
    out_images, out_labels = random_horizontal_flip(images, labels, seed=[3, 4])
    image_flipped = [not np.array_equal(a, b)
                     for a, b in zip(out_images.numpy(), images, strict=True)]
    label_flipped = [not np.array_equal(a, b)
                     for a, b in zip(out_labels.numpy(), labels, strict=True)]
    assert image_flipped == label_flipped
    assert 0 < sum(image_flipped) < 16
    # Inside tf.function and tf.data as well.
    dataset = tf.data.Dataset.from_tensors((images, labels)).map(
        lambda x, y: random_horizontal_flip(x, y, tf.constant([3, 4], tf.int64)))
    in_data = next(iter(dataset))
    np.testing.assert_array_equal(in_data[1].numpy(), out_labels.numpy())


def test_color_jitter_formulas():
    image = tf.random.stateless_uniform((5, 6, 3), [0, 0])
    seed = tf.constant([4, 2])
    delta, contrast, saturation, hue = color_jitter_factors(seed, 0.3, 0.4, 0.5, 0.1).numpy()
    assert abs(delta) <= 0.3 and abs(contrast - 1) <= 0.4 and abs(saturation - 1) <= 0.5
    assert abs(hue) <= 0.1
    # Brightness and contrast are tf.image's ops with the drawn factors.
    np.testing.assert_allclose(
        random_color_jitter(image, seed, 0.3, 0.0, 0.0).numpy(),
        tf.clip_by_value(tf.image.adjust_brightness(image, delta), 0, 1).numpy(), atol=1e-6)
    contrast_only = color_jitter_factors(seed, 0.0, 0.4, 0.0, 0.0).numpy()[1]
    np.testing.assert_allclose(
        random_color_jitter(image, seed, 0.0, 0.4, 0.0).numpy(),
        tf.clip_by_value(tf.image.adjust_contrast(image, contrast_only), 0, 1).numpy(),
        atol=1e-6)
    # Saturation: blend with the gray image, by hand in NumPy.
    s = color_jitter_factors(seed, 0.0, 0.0, 0.5, 0.0).numpy()[2]
    x = image.numpy()
    gray = (x * [0.2989, 0.587, 0.114]).sum(-1, keepdims=True)
    np.testing.assert_allclose(random_color_jitter(image, seed, 0.0, 0.0, 0.5).numpy(),
                               np.clip(gray + s * (x - gray), 0, 1), atol=1e-5)
    # Hue: tf.image.adjust_hue with the drawn delta.
    h = color_jitter_factors(seed, 0.0, 0.0, 0.0, 0.1).numpy()[3]
    np.testing.assert_allclose(
        random_color_jitter(image, seed, 0.0, 0.0, 0.0, 0.1).numpy(),
        tf.image.adjust_hue(image, h).numpy(), atol=1e-5)
    # No change requested: identity.
    np.testing.assert_array_equal(random_color_jitter(image, seed, 0, 0, 0, 0).numpy(),
                                  image.numpy())


def test_color_jitter_dtypes_ranges_and_determinism():
    image = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = random_color_jitter(image, [1, 2], brightness=0.5, contrast=0.5, saturation=0.5,
                              hue=0.2)
    assert out.dtype == tf.uint8 and out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out.numpy(), random_color_jitter(
        image, [1, 2], brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2).numpy())
    assert not np.array_equal(out.numpy(), image)
    floats = random_color_jitter(image / 255.0, [1, 3], brightness=2.0).numpy()
    assert floats.min() >= 0.0 and floats.max() <= 1.0


def test_augment_example_keeps_boxes_right():
    image = tf.random.stateless_uniform((8, 10, 3), [1, 1])
    results = set()
    for k in range(20):
        out_image, out_labels = augment_detection_example(image, LABELS, seed=[5, k])
        again = augment_detection_example(image, LABELS, seed=[5, k])
        np.testing.assert_array_equal(out_image.numpy(), again[0].numpy())
        assert out_image.shape == image.shape and out_image.dtype == tf.float32
        flipped = flip_boxes_horizontally(LABELS).numpy()
        is_flipped = np.array_equal(out_labels.numpy(), flipped)
        assert is_flipped or np.array_equal(out_labels.numpy(), LABELS)
        results.add(is_flipped)
    assert results == {True, False}
    # Without color changes, the image is the (possibly flipped) input exactly.
    for k in range(4):
        out_image, out_labels = augment_detection_example(
            image, LABELS, [6, k], brightness=0, contrast=0, saturation=0)
        is_flipped = np.array_equal(out_labels.numpy(), flip_boxes_horizontally(LABELS))
        expected = image.numpy()[:, ::-1] if is_flipped else image.numpy()
        np.testing.assert_array_equal(out_image.numpy(), expected)


def test_batch_equals_each_example_with_its_draws():
    pixels = tf.cast(tf.random.stateless_uniform((6, 8, 10, 3), [2, 2], maxval=256,
                                                 dtype=tf.int32), tf.uint8)
    labels = np.stack([LABELS] * 6)
    seeds = [tf.constant([4, k], tf.int64) for k in range(6)]
    draws = [detection_augmentation_draws(seed) for seed in seeds]
    flips = tf.stack([flip for flip, _ in draws])
    factors = tf.stack([factor for _, factor in draws])
    assert 0 < int(tf.reduce_sum(tf.cast(flips, tf.int32))) < 6  # both cases covered
    images, out_labels = augment_detection_batch(pixels, labels, flips, factors,
                                                 pixel_max=255.0)
    assert images.dtype == tf.float32 and images.shape == pixels.shape
    for k, seed in enumerate(seeds):
        image, label = augment_detection_example(tf.cast(pixels[k], tf.float32) / 255.0,
                                                 LABELS, seed)
        np.testing.assert_allclose(images[k].numpy(), image.numpy(), atol=1e-6)
        np.testing.assert_array_equal(out_labels[k].numpy(), label.numpy())
    # The draws are those of augment_detection_example: its flip and color factors.
    flip_seed, color_seed = tf.unstack(tf.random.experimental.stateless_split(seeds[0], 2))
    np.testing.assert_array_equal(factors[0].numpy(),
                                  color_jitter_factors(color_seed).numpy()[:3])
    assert bool(flips[0]) == bool(tf.random.stateless_uniform((), flip_seed) < 0.5)


def test_bad_inputs():
    image = tf.zeros((4, 4, 3))
    with pytest.raises(ValueError, match=r"labels must have shape \(max_objects, 5\)"):
        horizontal_flip(image, tf.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"image must have shape \(height, width, 3\)"):
        horizontal_flip(tf.zeros((4, 4)), LABELS)
    with pytest.raises(ValueError, match=r"flip_boxes_horizontally: labels must have shape"):
        flip_boxes_horizontally(tf.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"seed must be an int32/int64 tensor of shape \(2,\)"):
        random_horizontal_flip(image, LABELS, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="seed must be an int32/int64"):
        random_color_jitter(image, seed=[0.5, 1.0])
    with pytest.raises(ValueError, match=r"random_horizontal_flip: probability must be in "
                                         r"\[0, 1\]; received probability=1\.5"):
        random_horizontal_flip(image, LABELS, [1, 2], probability=1.5)
    with pytest.raises(ValueError, match="random_color_jitter: brightness must be >= 0; "
                                         "received brightness=-0.1"):
        random_color_jitter(image, [1, 2], brightness=-0.1)
    with pytest.raises(ValueError, match=r"random_color_jitter: hue must be in \[0, 0\.5\]; "
                                         r"received hue=0\.7"):
        augment_detection_example(image, LABELS, [1, 2], hue=0.7)
