import keras
import numpy as np
import pytest

from kerasnotes.data.images import synthetic_glyphs
from kerasnotes.data.images.synthetic_glyphs import (
    SYNTHETIC_GLYPHS_CLASS_NAMES,
    load_synthetic_glyphs,
)
from kerasnotes.models.lenet import LeNet


def test_shapes_dtypes_ranges_and_balance():
    (x_train, y_train), (x_test, y_test) = load_synthetic_glyphs(num_train=1003, num_test=250)
    assert x_train.shape == (1003, 28, 28, 1) and x_train.dtype == np.uint8
    assert x_test.shape == (250, 28, 28, 1) and x_test.dtype == np.uint8
    assert y_train.shape == (1003,) and y_train.dtype == np.int64
    assert y_test.shape == (250,) and y_test.dtype == np.int64
    for labels in (y_train, y_test):
        counts = np.bincount(labels, minlength=10)
        assert len(counts) == 10
        assert counts.max() - counts.min() <= 1
        # Shuffled, not sorted by class.
        assert np.any(np.diff(labels) < 0)
    # The pixels use the whole gray range: dark backgrounds, bright strokes.
    assert x_train.min() == 0 and x_train.max() == 255


def test_class_names():
    assert len(SYNTHETIC_GLYPHS_CLASS_NAMES) == 10
    assert len(set(SYNTHETIC_GLYPHS_CLASS_NAMES)) == 10


def test_determinism_and_independent_splits():
    first = load_synthetic_glyphs(num_train=200, num_test=100, seed=3)
    again = load_synthetic_glyphs(num_train=200, num_test=100, seed=3)
    other = load_synthetic_glyphs(num_train=200, num_test=100, seed=4)
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    for (x1, y1), (x3, y3) in zip(first, other, strict=True):
        assert not np.array_equal(x1, x3)
        assert not np.array_equal(y1, y3)
    # Train and test come from different generators: no image is shared.
    (x_train, _), (x_test, _) = first
    train_rows = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train_rows for row in x_test)
    # The train split does not depend on the size of the test split (and vice versa).
    (x_train_b, y_train_b), _ = load_synthetic_glyphs(num_train=200, num_test=7, seed=3)
    np.testing.assert_array_equal(x_train_b, x_train)
    np.testing.assert_array_equal(y_train_b, first[0][1])


def test_empty_splits():
    (x_train, y_train), (x_test, y_test) = load_synthetic_glyphs(num_train=0, num_test=5)
    assert x_train.shape == (0, 28, 28, 1) and y_train.shape == (0,)
    assert x_test.shape == (5, 28, 28, 1)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"num_train": -1}, "num_train"),
        ({"num_test": 2.5}, "num_test"),
        ({"seed": -3}, "seed"),
        ({"seed": "a"}, "seed"),
    ],
)
def test_invalid_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        load_synthetic_glyphs(**kwargs)


def _brute_force_distance(points, boundary, inside):
    """Signed distance from points to a densely sampled boundary, negative inside."""
    gaps = np.linalg.norm(points[:, None, :] - boundary[None, :, :], axis=-1).min(axis=1)
    return np.where(inside, -gaps, gaps)


def _sample_polygon(vertices, per_edge=1500):
    starts, ends = vertices, np.roll(vertices, -1, axis=0)
    t = np.linspace(0.0, 1.0, per_edge, endpoint=False)[None, :, None]
    return (starts[:, None, :] + t * (ends - starts)[:, None, :]).reshape(-1, 2)


def _grid_points():
    coords = np.linspace(-12.0, 12.0, 25)
    u, v = np.meshgrid(coords, coords)
    return np.stack([u.ravel(), v.ravel()], axis=-1)


def test_box_signed_distance_matches_brute_force():
    points = _grid_points()
    half_u, half_v = 6.0, 3.5
    corners = np.array([[-half_u, -half_v], [half_u, -half_v], [half_u, half_v],
                        [-half_u, half_v]])
    inside = (np.abs(points[:, 0]) < half_u) & (np.abs(points[:, 1]) < half_v)
    expected = _brute_force_distance(points, _sample_polygon(corners), inside)
    actual = synthetic_glyphs._box(points[:, 0], points[:, 1], half_u, half_v)
    np.testing.assert_allclose(actual, expected, atol=1e-2)


def test_triangle_signed_distance_matches_brute_force():
    points = _grid_points()
    size = 7.0
    # Apex up in image coordinates (rows grow downwards): the apex has the smallest v.
    height = size * np.sqrt(3.0)
    base_v = size / np.sqrt(3.0)
    vertices = np.array([[-size, base_v], [size, base_v], [0.0, base_v - height]])
    # Inside test: the point is on the inner side of all three edges (counter-clockwise in
    # the (u, v) frame as listed, so cross products are all negative inside).
    edges = np.roll(vertices, -1, axis=0) - vertices
    to_point = points[:, None, :] - vertices[None, :, :]
    cross = edges[None, :, 0] * to_point[..., 1] - edges[None, :, 1] * to_point[..., 0]
    inside = np.all(cross < 0, axis=1) | np.all(cross > 0, axis=1)
    expected = _brute_force_distance(points, _sample_polygon(vertices), inside)
    actual = synthetic_glyphs._triangle(points[:, 0], points[:, 1], size)
    np.testing.assert_allclose(actual, expected, atol=1e-2)


def test_disk_and_ring_distances():
    points = _grid_points()
    radius = np.hypot(points[:, 0], points[:, 1])
    disk = synthetic_glyphs._glyph_distance(0, points[:, 0], points[:, 1], 8.0, 2.0)
    ring = synthetic_glyphs._glyph_distance(1, points[:, 0], points[:, 1], 8.0, 2.0)
    np.testing.assert_allclose(disk, radius - 8.0, atol=1e-6)
    np.testing.assert_allclose(ring, np.abs(radius - 8.0) - 1.0, atol=1e-6)


def test_every_class_draws_a_visible_glyph():
    (x, y), _ = load_synthetic_glyphs(num_train=200, num_test=0, seed=5)
    images = x[..., 0].astype(np.float32)
    for label in range(10):
        of_class = images[y == label]
        # Bright strokes: the brightest pixels stand well above the border (background).
        border = np.concatenate([of_class[:, 0, :], of_class[:, -1, :]], axis=1)
        top = np.sort(of_class.reshape(len(of_class), -1), axis=1)[:, -20:].mean(axis=1)
        assert np.all(top - border.mean(axis=1) > 60), SYNTHETIC_GLYPHS_CLASS_NAMES[label]


def test_nearest_class_mean_is_informative_but_not_perfect():
    (x_train, y_train), (x_test, y_test) = load_synthetic_glyphs(2000, 1000, seed=0)
    train = x_train.reshape(len(x_train), -1).astype(np.float32) / 255.0
    test = x_test.reshape(len(x_test), -1).astype(np.float32) / 255.0
    means = np.stack([train[y_train == k].mean(axis=0) for k in range(10)])
    distances = ((test[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)
    accuracy = np.mean(distances.argmin(axis=1) == y_test)
    # Measured about 0.53: far above chance (0.1) but far from solved by pixel templates.
    assert 0.3 < accuracy < 0.85


def test_lenet_learns_the_glyphs():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_synthetic_glyphs(3000, 1000, seed=0)
    model = LeNet(num_classes=10, input_shape=(28, 28, 1), activation="relu", pooling="max")
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train.astype("float32") / 255.0, y_train, batch_size=64, epochs=3, verbose=0)
    _, accuracy = model.evaluate(x_test.astype("float32") / 255.0, y_test, verbose=0)
    assert accuracy > 0.8
