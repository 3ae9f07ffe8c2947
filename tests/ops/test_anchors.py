import math

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.anchors import multibox_prior


def test_d2l_catdog_first_anchor():
    # d2l: a 561x728 image, sizes [0.75, 0.5, 0.25], ratios [1, 2, 0.5] -> 2042040 anchors,
    # and boxes[250, 250, 0] prints as [0.06, 0.07, 0.63, 0.82].
    height, width = 561, 728
    anchors = multibox_prior(height, width, sizes=[0.75, 0.5, 0.25], ratios=[1, 2, 0.5])
    assert anchors.shape == (height * width * 5, 4)
    first = anchors.numpy().reshape(height, width, 5, 4)[250, 250, 0]
    np.testing.assert_allclose(first, [0.06, 0.07, 0.63, 0.82], atol=0.005)
    # The same by hand: center (250.5 / 728, 250.5 / 561), w = 0.75 * 561 / 728, h = 0.75.
    cx, cy = 250.5 / 728, 250.5 / 561
    half_w, half_h = 0.75 * 561 / 728 / 2, 0.75 / 2
    np.testing.assert_allclose(first, [cx - half_w, cy - half_h, cx + half_w, cy + half_h],
                               atol=1e-6)


def test_small_hand_computation():
    # 2x3 feature map, sizes [0.5, 0.25], ratios [1, 4]: anchors (0.5, 1), (0.25, 1), (0.5, 4)
    # per pixel; width factor feature_height / feature_width = 2 / 3.
    anchors = multibox_prior(2, 3, sizes=[0.5, 0.25], ratios=[1, 4]).numpy()
    assert anchors.shape == (2 * 3 * 3, 4)
    grid = anchors.reshape(2, 3, 3, 4)
    # Pixel (0, 0): center (1/6, 1/4).
    #   (0.5, 1): w = 0.5 * 2/3 = 1/3, h = 0.5    -> [0, 0, 1/3, 1/2]
    #   (0.25, 1): w = 1/6, h = 1/4              -> [1/12, 1/8, 1/4, 3/8]
    #   (0.5, 4): w = 0.5 * 2 * 2/3 = 2/3, h = 1/4 -> [-1/6, 1/8, 1/2, 3/8]
    expected_00 = [[0, 0, 1 / 3, 1 / 2], [1 / 12, 1 / 8, 1 / 4, 3 / 8],
                   [-1 / 6, 1 / 8, 1 / 2, 3 / 8]]
    np.testing.assert_allclose(grid[0, 0], expected_00, atol=1e-6)
    # Pixel (1, 2): center (5/6, 3/4); first anchor [2/3, 1/2, 1, 1].
    np.testing.assert_allclose(grid[1, 2, 0], [2 / 3, 1 / 2, 1, 1], atol=1e-6)
    # Pixel-major order: row 0 col 1 comes right after row 0 col 0.
    np.testing.assert_allclose(anchors[3], grid[0, 1, 0], atol=0)


def test_centers_and_square_map_aspect_ratios():
    sizes, ratios = [0.4, 0.2, 0.1], [1.0, 2.0, 0.5]
    anchors = multibox_prior(4, 4, sizes, ratios).numpy().reshape(4, 4, 5, 4)
    centers_x = (anchors[..., 0] + anchors[..., 2]) / 2
    centers_y = (anchors[..., 1] + anchors[..., 3]) / 2
    np.testing.assert_allclose(centers_x, np.broadcast_to(((np.arange(4) + 0.5) / 4)[None, :, None],
                                                          (4, 4, 5)), atol=1e-6)
    np.testing.assert_allclose(centers_y, np.broadcast_to(((np.arange(4) + 0.5) / 4)[:, None, None],
                                                          (4, 4, 5)), atol=1e-6)
    widths = anchors[0, 0, :, 2] - anchors[0, 0, :, 0]
    heights = anchors[0, 0, :, 3] - anchors[0, 0, :, 1]
    pairs = [(0.4, 1.0), (0.2, 1.0), (0.1, 1.0), (0.4, 2.0), (0.4, 0.5)]
    np.testing.assert_allclose(widths, [s * math.sqrt(r) for s, r in pairs], atol=1e-6)
    np.testing.assert_allclose(heights, [s / math.sqrt(r) for s, r in pairs], atol=1e-6)


def test_usable_inside_tf_function():
    @tf.function
    def count():
        return tf.shape(multibox_prior(8, 8, [0.2, 0.272], [1, 2, 0.5]))[0]

    assert int(count()) == 8 * 8 * 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(feature_height=0, feature_width=2, sizes=[0.5], ratios=[1]), "feature_height"),
        (dict(feature_height=2, feature_width=2.5, sizes=[0.5], ratios=[1]), "feature_width"),
        (dict(feature_height=2, feature_width=2, sizes=[], ratios=[1]), "sizes"),
        (dict(feature_height=2, feature_width=2, sizes=[0.5], ratios=[1, -2]), "ratios"),
        (dict(feature_height=2, feature_width=2, sizes="big", ratios=[1]), "sizes"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        multibox_prior(**kwargs)
