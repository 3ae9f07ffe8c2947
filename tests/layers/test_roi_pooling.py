"""ROIPooling (Fast R-CNN) and ROIAlign: the notes' example, a naive reference, gradients."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.roi_align import ROIAlign
from kerasnotes.layers.roi_pooling import ROIPooling
from tests.test_case import (
    assert_config_round_trip,
    assert_keras_save_load,
    assert_ops_wait_for_assertions,
    assert_same_values_and_gradients,
    random_inputs,
)


def c_round(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def naive_roi_pool_windows(height, width, roi, pooled, scale):
    """Caffe's ROI pooling loops: the (row slice, column slice) of every output cell."""
    xs, ys, xe, ye = (c_round(v * scale) for v in roi[1:])
    roi_h, roi_w = max(ye - ys + 1, 1), max(xe - xs + 1, 1)
    bin_h, bin_w = roi_h / pooled[0], roi_w / pooled[1]
    windows = {}
    for i in range(pooled[0]):
        for j in range(pooled[1]):
            h0 = min(max(math.floor(i * bin_h) + ys, 0), height)
            h1 = min(max(math.ceil((i + 1) * bin_h) + ys, 0), height)
            w0 = min(max(math.floor(j * bin_w) + xs, 0), width)
            w1 = min(max(math.ceil((j + 1) * bin_w) + xs, 0), width)
            windows[i, j] = (slice(h0, h1), slice(w0, w1))
    return windows


def naive_roi_pool_numpy(features, rois, pooled, scale):
    _, height, width, channels = features.shape
    out = np.zeros((len(rois), *pooled, channels), "float32")
    for r, roi in enumerate(rois):
        for (i, j), (rows, cols) in naive_roi_pool_windows(height, width, roi, pooled,
                                                           scale).items():
            window = features[int(roi[0]), rows, cols]
            if window.size:
                out[r, i, j] = window.max(axis=(0, 1))
    return out


def naive_roi_pool_tf(features, rois, pooled, scale):
    """The same loops in TF ops, to compare gradients."""
    _, height, width, channels = features.shape
    cells = []
    for roi in rois.numpy():
        windows = naive_roi_pool_windows(height, width, roi, pooled, scale)
        rows = []
        for i in range(pooled[0]):
            row = []
            for j in range(pooled[1]):
                r, c = windows[i, j]
                if r.stop > r.start and c.stop > c.start:
                    row.append(tf.reduce_max(features[int(roi[0]), r, c], axis=(0, 1)))
                else:
                    row.append(tf.zeros((channels,)))
            rows.append(tf.stack(row))
        cells.append(tf.stack(rows))
    return tf.stack(cells)


def random_rois(rng, num, num_images, height, width, scale):
    x1 = rng.uniform(-2, width / scale, num)
    y1 = rng.uniform(-2, height / scale, num)
    x2 = x1 + rng.uniform(0, width / scale, num)
    y2 = y1 + rng.uniform(0, height / scale, num)
    index = rng.integers(0, num_images, num)
    return np.stack([index, x1, y1, x2, y2], axis=1).astype("float32")


def test_the_notes_example():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    rois = np.array([[0, 0, 0, 20, 20], [0, 0, 10, 30, 30]], "float32")
    out = ROIPooling((2, 2), spatial_scale=0.1)([x, rois])
    np.testing.assert_array_equal(out[..., 0], [[[5, 6], [9, 10]], [[9, 11], [13, 15]]])
    np.testing.assert_array_equal(out[..., 0], naive_roi_pool_numpy(x, rois, (2, 2), 0.1)[..., 0])


@pytest.mark.parametrize("pooled, scale", [((2, 2), 1.0), ((3, 2), 0.5), ((4, 4), 0.25)])
def test_matches_the_naive_loops_with_gradients(pooled, scale):
    rng = np.random.default_rng(0)
    features = random_inputs((2, 7, 9, 3), seed=1)
    rois = random_rois(rng, 12, 2, 7, 9, scale)
    layer = ROIPooling(pooled, spatial_scale=scale)
    np.testing.assert_allclose(layer([features, rois]),
                               naive_roi_pool_numpy(features, rois, pooled, scale), atol=0)
    rois_t = tf.constant(rois)
    assert_same_values_and_gradients(
        lambda f: layer([f, rois_t]),
        lambda f: naive_roi_pool_tf(f, rois_t, pooled, scale),
        [features],
    )


def test_gradients_reach_only_the_maxima():
    x = tf.constant(np.arange(16, dtype="float32").reshape(1, 4, 4, 1))
    rois = np.array([[0, 0, 0, 20, 20]], "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(ROIPooling(2, spatial_scale=0.1)([x, rois]))
    grad = tape.gradient(total, x).numpy()[0, ..., 0]
    expected = np.zeros((4, 4))
    expected[1, 1] = expected[1, 2] = expected[2, 1] = expected[2, 2] = 1
    np.testing.assert_array_equal(grad, expected)


def test_in_tf_function_with_unknown_sizes():
    layer = ROIPooling(2, spatial_scale=0.1)
    fn = tf.function(lambda f, r: layer([f, r]), input_signature=[
        tf.TensorSpec((None, None, None, 1)), tf.TensorSpec((None, 5))])
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    rois = np.array([[0, 0, 10, 30, 30]], "float32")
    np.testing.assert_array_equal(fn(x, rois)[0, ..., 0], [[9, 11], [13, 15]])


@pytest.mark.parametrize("layer_class", [ROIPooling, ROIAlign])
def test_config_symbolic_call_and_keras_save(layer_class, tmp_path):
    layer = layer_class((2, 3), spatial_scale=0.5)
    assert_config_round_trip(layer)
    features = keras.Input((6, 8, 4))
    rois = keras.Input((5,))
    out = layer([features, rois])
    assert tuple(out.shape) == (None, 2, 3, 4)
    model = keras.Model([features, rois], keras.layers.Dense(2)(out))
    inputs = [random_inputs((2, 6, 8, 4)),
              random_rois(np.random.default_rng(3), 5, 2, 6, 8, 0.5)]
    assert_keras_save_load(model, inputs, tmp_path)


def bilinear_zero_outside(image, y, x):
    height, width = image.shape[:2]
    if not (0 <= y <= height - 1 and 0 <= x <= width - 1):
        return np.zeros(image.shape[-1])
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
    dy, dx = y - y0, x - x0
    return ((1 - dy) * (1 - dx) * image[y0, x0] + (1 - dy) * dx * image[y0, x1]
            + dy * (1 - dx) * image[y1, x0] + dy * dx * image[y1, x1])


def naive_roi_align(features, rois, pooled, scale, k):
    out = np.zeros((len(rois), *pooled, features.shape[-1]))
    for r, (b, x1, y1, x2, y2) in enumerate(rois):
        u1, v1 = x1 * scale - 0.5, y1 * scale - 0.5
        bw, bh = (x2 - x1) * scale / pooled[1], (y2 - y1) * scale / pooled[0]
        for i in range(pooled[0]):
            for j in range(pooled[1]):
                samples = [bilinear_zero_outside(features[int(b)], v1 + (i + (a + 0.5) / k) * bh,
                                                 u1 + (j + (c + 0.5) / k) * bw)
                           for a in range(k) for c in range(k)]
                out[r, i, j] = np.mean(samples, axis=0)
    return out


@pytest.mark.parametrize("pooled, scale, k", [((2, 2), 0.1, 1), ((3, 2), 0.5, 2)])
def test_roi_align_matches_bilinear_sampling(pooled, scale, k):
    if scale == 0.1:
        features = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        rois = np.array([[0, 0, 0, 20, 20], [0, 0, 10, 30, 30]], "float32")
    else:
        features = random_inputs((2, 7, 9, 3), seed=1)
        rois = random_rois(np.random.default_rng(0), 10, 2, 7, 9, scale)
    out = ROIAlign(pooled, spatial_scale=scale, sampling_ratio=k)([features, rois])
    np.testing.assert_allclose(out, naive_roi_align(features, rois, pooled, scale, k), atol=1e-5)


def test_roi_align_gradients_flow_to_features():
    features = tf.constant(random_inputs((1, 5, 5, 2)))
    rois = np.array([[0, 1, 1, 4, 4]], "float32")
    with tf.GradientTape() as tape:
        tape.watch(features)
        total = tf.reduce_sum(ROIAlign(2)([features, rois]))
    grad = tape.gradient(total, features).numpy()
    # Every sample's bilinear weights sum to one: the gradient sums to 2 * 2 * channels.
    np.testing.assert_allclose(grad.sum(), 2 * 2 * 2, atol=1e-5)


@pytest.mark.parametrize("layer_class", [ROIPooling, ROIAlign])
@pytest.mark.parametrize(
    "rois, message",
    [
        ([[0, 5, 0, 2, 4]], "x2 < x1"),
        ([[0, 0, 5, 4, 2]], "y2 < y1"),
        ([[2, 0, 0, 4, 4]], "batch index"),
        ([[-1, 0, 0, 4, 4]], "batch index"),
    ],
)
def test_bad_regions(layer_class, rois, message):
    with pytest.raises(ValueError, match=message):
        layer_class(2)([np.zeros((2, 6, 6, 1), "float32"), np.array(rois, "float32")])


def test_bad_regions_inside_tf_function_fail_too():
    layer = ROIPooling(2)
    fn = tf.function(lambda f, r: layer([f, r]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="x2 < x1"):
        fn(tf.zeros((1, 6, 6, 1)), tf.constant([[0, 5, 0, 2, 4]], "float32"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pooled_size": 0}, "pooled_size"),
        ({"pooled_size": (2, 2, 2)}, "pooled_size"),
        ({"pooled_size": 2, "spatial_scale": 0}, "spatial_scale"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ROIPooling(**kwargs)
    with pytest.raises(ValueError, match=message):
        ROIAlign(**kwargs)
    with pytest.raises(ValueError, match="sampling_ratio"):
        ROIAlign(2, sampling_ratio=0)


def test_bad_shapes():
    with pytest.raises(ValueError, match="rois must have shape"):
        ROIPooling(2)([np.zeros((1, 4, 4, 1), "float32"), np.zeros((3, 4), "float32")])
    with pytest.raises(ValueError, match="features must have shape"):
        ROIPooling(2)([np.zeros((4, 4, 1), "float32"), np.zeros((3, 5), "float32")])


def test_bounds_are_exact_inside_tf_function():
    # width 9 into 7 columns: the last column ends at ceil(7 * 9 / 7) = 9, not 10 (in
    # float32 graphs `7 * (9 / 7)` can come out just above 9).
    x = np.arange(2 * 5 * 12, dtype="float32").reshape(2, 5, 12, 1)
    rois = np.array([[0, 0, 0, 8, 4], [1, 2, 0, 10, 4]], "float32")
    layer = ROIPooling((1, 7))
    expected = naive_roi_pool_numpy(x, rois, (1, 7), 1.0)
    np.testing.assert_array_equal(tf.function(lambda f, r: layer([f, r]))(x, rois), expected)
    np.testing.assert_array_equal(layer([x, rois]), expected)


def test_ties_share_the_gradient_like_the_naive_loops():
    # Integer-valued features: many tied maxima, in overlapping floor/ceil sub-windows.
    features = np.random.default_rng(4).integers(0, 3, (2, 7, 9, 2)).astype("float32")
    rois = random_rois(np.random.default_rng(5), 10, 2, 7, 9, 1.0)
    rois_t = tf.constant(rois)
    layer = ROIPooling((3, 4))
    weights = tf.constant(random_inputs((10, 3, 4, 2), seed=6))
    assert_same_values_and_gradients(
        lambda f: layer([f, rois_t]) * weights,
        lambda f: naive_roi_pool_tf(f, rois_t, (3, 4), 1.0) * weights,
        [features],
    )


def test_regions_outside_the_map_give_zeros_and_no_gradient():
    features = tf.constant(random_inputs((1, 4, 5, 2)) - 3.0)  # all values negative
    rois = np.array([[0, 20, 1, 30, 3], [0, 1, 10, 3, 12], [0, 3, 2, 8, 9]], "float32")
    with tf.GradientTape() as tape:
        tape.watch(features)
        out = ROIPooling(2)([features, rois])
        outside_total = tf.reduce_sum(out[:2])
    np.testing.assert_array_equal(out[:2], np.zeros((2, 2, 2, 2)))
    np.testing.assert_array_equal(out, naive_roi_pool_numpy(features.numpy(), rois, (2, 2), 1.0))
    grad = tape.gradient(outside_total, features)
    np.testing.assert_array_equal(grad, np.zeros((1, 4, 5, 2)))


@pytest.mark.parametrize("layer_class", [ROIPooling, ROIAlign])
@pytest.mark.parametrize(
    "rois, message",
    [
        ([[0, 5, 0, 2, 4]], "x2 < x1"),
        ([[2, 0, 0, 4, 4]], "batch index is >= the batch size"),
        ([[-1, 0, 0, 4, 4]], "batch index is negative"),
    ],
)
def test_the_pooling_inside_tf_function_waits_for_the_region_checks(layer_class, rois, message):
    layer = layer_class(2)
    fn = tf.function(lambda f, r: layer([f, r]),
                     input_signature=[tf.TensorSpec([None, 6, 6, 1]), tf.TensorSpec([None, 5])])
    # Every op reading the regions or the features runs after the checks, so a bad batch
    # index fails with our message, never in the gather first.
    assert_ops_wait_for_assertions(
        fn.get_concrete_function().graph,
        lambda op: op.type in ("GatherV2", "ResizeBilinear", "CropAndResize", "MaxPool"))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        fn(tf.zeros((2, 6, 6, 1)), tf.constant(rois, "float32"))
