import os

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.detection.banana_detection import load_banana_detection
from kerasnotes.data.detection.detection_augmentation import (
    augment_detection_example,
    flip_boxes_horizontally,
)
from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
from kerasnotes.data.detection.synthetic_detection import write_synthetic_detection_dataset

NUM_IMAGES = 10


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = write_synthetic_detection_dataset(
        tmp_path_factory.mktemp("shapes") / "data", num_train=NUM_IMAGES, num_val=0,
        image_size=32, seed=0, max_objects=3)
    dataset = load_banana_detection(os.path.join(root, "train"), max_objects=3)
    images = np.stack([image.numpy() for image, _ in dataset])
    labels = np.stack([label.numpy() for _, label in dataset])
    return dataset, images, labels


def collect(dataset):
    batches = list(dataset)
    return (np.concatenate([b[0].numpy() for b in batches]),
            np.concatenate([b[1].numpy() for b in batches]), [b[0].shape[0] for b in batches])


def test_batches_scaled_in_input_order(source):
    dataset, images, labels = source
    result = make_detection_dataset(dataset, batch_size=4, image_size=32)
    assert result.element_spec[0].shape.as_list() == [None, 32, 32, 3]
    assert result.element_spec[1].shape.as_list() == [None, 3, 5]
    out_images, out_labels, sizes = collect(result)
    assert sizes == [4, 4, 2]
    assert out_images.dtype == np.float32 and out_labels.dtype == np.float32
    np.testing.assert_allclose(out_images, images / 255.0, atol=1e-7)
    np.testing.assert_array_equal(out_labels, labels)
    _, _, sizes = collect(make_detection_dataset(dataset, 4, drop_remainder=True,
                                                 image_size=32))
    assert sizes == [4, 4]


def test_resize(source):
    dataset, images, labels = source
    out_images, out_labels, _ = collect(make_detection_dataset(dataset, 5, image_size=(24, 16)))
    assert out_images.shape == (NUM_IMAGES, 24, 16, 3)
    expected = tf.image.resize(images.astype(np.float32), (24, 16)).numpy() / 255.0
    np.testing.assert_allclose(out_images, expected, atol=1e-6)
    np.testing.assert_array_equal(out_labels, labels)  # normalized boxes do not move


def test_per_epoch_order_is_a_seeded_permutation(source):
    dataset, images, labels = source
    for epoch in (0, 3):
        order = np.random.default_rng(5 + epoch).permutation(NUM_IMAGES)
        result = make_detection_dataset(dataset, 3, shuffle_seed=5, epoch=epoch, image_size=32)
        out_images, out_labels, _ = collect(result)
        np.testing.assert_allclose(out_images, images[order] / 255.0, atol=1e-7)
        np.testing.assert_array_equal(out_labels, labels[order])
        # The same every time it is iterated.
        np.testing.assert_array_equal(collect(result)[1], out_labels)
    first = collect(make_detection_dataset(dataset, 3, shuffle_seed=5, epoch=0))[1]
    second = collect(make_detection_dataset(dataset, 3, shuffle_seed=5, epoch=1))[1]
    assert not np.array_equal(first, second)


def test_augmentation_is_deterministic_resumable_and_keeps_boxes_right(source):
    dataset, _, labels = source

    def build():
        return make_detection_dataset(dataset, 4, shuffle_seed=1, epoch=2, augment=True)

    images_a, labels_a, _ = collect(build())
    images_b, labels_b, _ = collect(build())
    np.testing.assert_array_equal(images_a, images_b)
    np.testing.assert_array_equal(labels_a, labels_b)
    # Resuming after one batch replays the rest exactly.
    images_c, labels_c, _ = collect(build().skip(1))
    np.testing.assert_array_equal(images_c, images_a[4:])
    np.testing.assert_array_equal(labels_c, labels_a[4:])
    assert images_a.min() >= 0.0 and images_a.max() <= 1.0
    order = np.random.default_rng(3).permutation(NUM_IMAGES)
    flipped = 0
    for got, original in zip(labels_a, labels[order], strict=True):
        if np.array_equal(got, original):
            continue
        np.testing.assert_array_equal(got, flip_boxes_horizontally(original).numpy())
        flipped += 1
    assert flipped > 0
    # A different epoch gets different augmentations.
    other = collect(make_detection_dataset(dataset, 4, shuffle_seed=1, epoch=3, augment=True))
    assert not np.array_equal(other[0], images_a)


def test_each_element_augmented_as_augment_detection_example_with_its_seed(source):
    dataset, images, labels = source
    for shuffle_seed, epoch in ((1, 2), (None, 4)):
        out_images, out_labels, _ = collect(make_detection_dataset(
            dataset, 4, shuffle_seed=shuffle_seed, epoch=epoch, augment=True, image_size=32))
        order = (np.arange(NUM_IMAGES) if shuffle_seed is None
                 else np.random.default_rng(shuffle_seed + epoch).permutation(NUM_IMAGES))
        for position, index in enumerate(order):
            seed = tf.constant([(shuffle_seed or 0) + epoch, position], tf.int64)
            image, label = augment_detection_example(images[index] / np.float32(255.0),
                                                     labels[index], seed)
            np.testing.assert_allclose(out_images[position], image.numpy(), atol=1e-6)
            np.testing.assert_array_equal(out_labels[position], label.numpy())


def test_chained_epochs_are_the_epochs_one_after_the_other(source):
    dataset, _, _ = source
    for augment, drop_remainder in ((True, False), (False, True)):
        def build(epoch, num_epochs=1, augment=augment, drop_remainder=drop_remainder):
            return make_detection_dataset(dataset, 4, shuffle_seed=3, epoch=epoch,
                                          augment=augment, drop_remainder=drop_remainder,
                                          num_epochs=num_epochs)

        chained = build(2, num_epochs=3)
        per_epoch = 2 if drop_remainder else 3
        assert int(chained.cardinality()) == 3 * per_epoch
        images, labels, sizes = collect(chained)
        assert sizes == ([4, 4] if drop_remainder else [4, 4, 2]) * 3  # no batch spans two
        separate = [collect(build(epoch)) for epoch in (2, 3, 4)]
        np.testing.assert_array_equal(images, np.concatenate([s[0] for s in separate]))
        np.testing.assert_array_equal(labels, np.concatenate([s[1] for s in separate]))
        # Resuming in the second epoch replays the rest exactly.
        np.testing.assert_array_equal(collect(chained.skip(per_epoch + 1))[1],
                                      labels[4 * (per_epoch + 1) - (2 if not drop_remainder
                                                                     else 0):])
    with pytest.raises(ValueError, match="num_epochs must be a positive integer; received "
                                         "num_epochs=0"):
        make_detection_dataset(dataset, 4, num_epochs=0)


def test_bad_arguments(source):
    dataset, images, labels = source
    with pytest.raises(ValueError, match="dataset must be a tf.data.Dataset; received ndarray"):
        make_detection_dataset(images, 4)
    only_images = tf.data.Dataset.from_tensor_slices(images)
    with pytest.raises(ValueError, match=r"dataset elements must be \(image, labels\)"):
        make_detection_dataset(only_images, 4)
    gray = tf.data.Dataset.from_tensor_slices((images[..., :1], labels))
    with pytest.raises(ValueError, match=r"images must have shape \(height, width, 3\)"):
        make_detection_dataset(gray, 4)
    bad_labels = tf.data.Dataset.from_tensor_slices((images, labels[..., :4]))
    with pytest.raises(ValueError, match=r"labels must have a static shape \(max_objects, 5\)"):
        make_detection_dataset(bad_labels, 4)
    with pytest.raises(ValueError, match="batch_size must be a positive integer; received "
                                         "batch_size=0"):
        make_detection_dataset(dataset, 0)
    with pytest.raises(ValueError, match="shuffle_seed must be a non-negative integer or None"):
        make_detection_dataset(dataset, 4, shuffle_seed=-1)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer; received "
                                         "epoch=True"):
        make_detection_dataset(dataset, 4, epoch=True)
    with pytest.raises(ValueError, match="image_size must be None, a positive integer"):
        make_detection_dataset(dataset, 4, image_size=0)
    unknown_size = dataset.filter(lambda image, label: True)
    with pytest.raises(ValueError, match="shuffling needs a dataset of known size"):
        make_detection_dataset(unknown_size, 4, shuffle_seed=0)
    def generate():
        yield from zip(images, labels, strict=True)

    no_random_access = tf.data.Dataset.from_generator(
        generate, output_signature=dataset.element_spec
    ).apply(tf.data.experimental.assert_cardinality(NUM_IMAGES))
    with pytest.raises(ValueError, match="shuffling needs a dataset with random access"):
        make_detection_dataset(no_random_access, 4, shuffle_seed=0)
    # Without shuffling, any dataset of the right elements works.
    assert sum(int(x.shape[0]) for x, _ in make_detection_dataset(unknown_size, 4)) == 10
