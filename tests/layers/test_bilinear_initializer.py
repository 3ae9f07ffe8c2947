"""The bilinear transposed-convolution initializer of FCN."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.bilinear_initializer import BilinearInitializer, bilinear_kernel
from tests.test_case import assert_config_round_trip, random_inputs


def test_kernel_matches_the_formula():
    k = 4
    factor, center = 2, 1.5
    line = np.array([1 - abs(i - center) / factor for i in range(k)])
    weight = bilinear_kernel(k, 3, 3)
    for m in range(3):
        np.testing.assert_allclose(weight[:, :, m, m], np.outer(line, line), atol=1e-7)
    off_diagonal = weight.copy()
    for m in range(3):
        off_diagonal[:, :, m, m] = 0
    assert not off_diagonal.any()
    odd = bilinear_kernel(3, 1, 1)[:, :, 0, 0]
    np.testing.assert_allclose(odd, np.outer([0.5, 1, 0.5], [0.5, 1, 0.5]))


@pytest.mark.parametrize("stride", [2, 4, 8, 32])
def test_transposed_conv_upsamples_like_bilinear_resize_inside(stride):
    channels, size = 2, 6
    image = random_inputs((1, size, size, channels), seed=stride)
    up = keras.layers.Conv2DTranspose(channels, 2 * stride, strides=stride, padding="same",
                                      use_bias=False, kernel_initializer=BilinearInitializer())
    out = np.array(up(image))
    expected = tf.image.resize(image, (size * stride, size * stride), method="bilinear").numpy()
    assert out.shape == expected.shape
    # Away from the border (half a stride plus one pixel), both interpolate the same 2x2
    # inputs with the same weights; at the border resize clamps and the conv has no data.
    margin = stride // 2 + 1
    inner = (slice(None), slice(margin, -margin), slice(margin, -margin))
    np.testing.assert_allclose(out[inner], expected[inner], atol=1e-5)


def test_d2l_setting_is_keras_same_padding():
    """d2l's kernel 64 / stride 32 / padding 16 gives size * 32, as Keras' "same" does."""
    up = keras.layers.Conv2DTranspose(1, 64, strides=32, padding="same",
                                      kernel_initializer=BilinearInitializer())
    assert up(np.zeros((1, 3, 5, 1), "float32")).shape == (1, 96, 160, 1)
    assert (3 - 1) * 32 + 64 - 2 * 16 == 96


def test_config_and_bad_shape():
    assert_config_round_trip(BilinearInitializer())
    with pytest.raises(ValueError, match="square transposed-conv kernel"):
        BilinearInitializer()((3, 4, 1, 1))
    with pytest.raises(ValueError, match="kernel_size"):
        bilinear_kernel(0, 1, 1)
