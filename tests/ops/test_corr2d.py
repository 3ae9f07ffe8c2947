import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.corr2d import (
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    output_size,
    padding_amounts,
    sliding_windows,
)
from tests.test_case import assert_same_values_and_gradients, random_inputs


def numpy_corr2d(x, k):
    """The notes' definition, one output element at a time."""
    h, w = x.shape
    kh, kw = k.shape
    y = np.zeros((h - kh + 1, w - kw + 1), dtype="float64")
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return y


def tf_corr2d_multi_in_out(x, k):
    """The same through tf.nn.conv2d: (c_i, h, w) -> (1, h, w, c_i); (c_o, c_i, kh, kw)
    -> (kh, kw, c_i, c_o); back to (c_o, h', w')."""
    y = tf.nn.conv2d(tf.transpose(x, (1, 2, 0))[None], tf.transpose(k, (2, 3, 1, 0)),
                     strides=1, padding="VALID")
    return tf.transpose(y[0], (2, 0, 1))


def test_corr2d_hand_example():
    # The notes' (d2l's) example: X = 0..8 as 3x3, K = [[0, 1], [2, 3]].
    # Y[0, 0] = 0*0 + 1*1 + 3*2 + 4*3 = 19, and so on.
    x = np.arange(9, dtype="float32").reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]], dtype="float32")
    np.testing.assert_array_equal(np.array(corr2d(x, k)), numpy_corr2d(x, k))
    np.testing.assert_array_equal(np.array(corr2d(x, k)), [[19.0, 25.0], [37.0, 43.0]])


def test_corr2d_integer_inputs_give_floats():
    y = corr2d(np.arange(9).reshape(3, 3), [[0, 1], [2, 3]])
    assert y.dtype == tf.float32
    np.testing.assert_array_equal(np.array(y), [[19.0, 25.0], [37.0, 43.0]])


@pytest.mark.parametrize("x_shape,k_shape", [((6, 8), (1, 2)), ((5, 7), (3, 3)),
                                             ((4, 4), (4, 1)), ((3, 5), (3, 5))])
def test_corr2d_matches_numpy_loop(x_shape, k_shape):
    x = random_inputs(x_shape, seed=1)
    k = random_inputs(k_shape, seed=2)
    np.testing.assert_allclose(np.array(corr2d(x, k)), numpy_corr2d(x, k), atol=1e-5)


def test_corr2d_multi_in_hand_example():
    # d2l's two-channel example: channel sums 19+37 = 56, 25+47 = 72, 37+67 = 104, 43+77 = 120.
    x = np.stack([np.arange(9.0).reshape(3, 3), np.arange(1.0, 10.0).reshape(3, 3)])
    k = np.stack([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    expected = numpy_corr2d(x[0], k[0]) + numpy_corr2d(x[1], k[1])
    np.testing.assert_allclose(np.array(corr2d_multi_in(x, k)), expected)
    np.testing.assert_allclose(np.array(corr2d_multi_in(x, k)), [[56, 72], [104, 120]])


def test_corr2d_multi_in_out_stacks_output_channels():
    x = np.stack([np.arange(9.0).reshape(3, 3), np.arange(1.0, 10.0).reshape(3, 3)])
    k = np.stack([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    kernels = np.stack([k, k + 1, k + 2])  # (c_o=3, c_i=2, 2, 2)
    y = np.array(corr2d_multi_in_out(x, kernels))
    assert y.shape == (3, 2, 2)
    for o in range(3):
        np.testing.assert_allclose(y[o], np.array(corr2d_multi_in(x, kernels[o])))
        expected = sum(numpy_corr2d(x[c], kernels[o, c]) for c in range(2))
        np.testing.assert_allclose(y[o], expected)


def test_multi_in_out_equals_tf_conv2d_values_and_gradients():
    x = random_inputs((3, 7, 6), seed=3)
    k = random_inputs((4, 3, 3, 2), seed=4)
    assert_same_values_and_gradients(corr2d_multi_in_out, tf_corr2d_multi_in_out, [x, k])


def test_multi_in_equals_tf_conv2d_values_and_gradients():
    x = random_inputs((2, 5, 6), seed=5)
    k = random_inputs((2, 2, 3), seed=6)
    assert_same_values_and_gradients(
        corr2d_multi_in, lambda x, k: tf_corr2d_multi_in_out(x, k[None])[0], [x, k]
    )


def test_corr2d_gradients_equal_tf_conv2d():
    x = random_inputs((5, 4), seed=7)
    k = random_inputs((2, 3), seed=8)
    assert_same_values_and_gradients(
        corr2d, lambda x, k: tf_corr2d_multi_in_out(x[None], k[None, None])[0], [x, k]
    )


def test_sliding_windows_elements_and_strides():
    x = random_inputs((2, 7, 8, 3), seed=9)
    windows = np.array(sliding_windows(x, (3, 2), (2, 3)))
    assert windows.shape == (2, 3, 3, 3, 2, 3)  # floor((7-3)/2)+1, floor((8-2)/3)+1
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(
                windows[:, i, j], x[:, 2 * i:2 * i + 3, 3 * j:3 * j + 2, :]
            )


def test_sliding_windows_unknown_spatial_size():
    fn = tf.function(lambda x: sliding_windows(x, (3, 3), (2, 2)),
                     input_signature=[tf.TensorSpec((None, None, None, 2))])
    x = random_inputs((1, 9, 6, 2))
    np.testing.assert_array_equal(np.array(fn(x)), np.array(sliding_windows(x, (3, 3), (2, 2))))


@pytest.mark.parametrize("size,k,s,padding", [(7, 3, 1, "valid"), (7, 3, 2, "same"),
                                               (8, 3, 3, "same"), (5, 5, 1, 2), (9, 4, 2, 1)])
def test_output_size_and_padding_rules_match_tf(size, k, s, padding):
    x = random_inputs((1, size, size, 1))
    kernel = np.ones((k, k, 1, 1), "float32")
    if isinstance(padding, int):
        tf_out = tf.nn.conv2d(x, kernel, s, [[0, 0]] + [[padding, padding]] * 2 + [[0, 0]])
    else:
        tf_out = tf.nn.conv2d(x, kernel, s, padding.upper())
    assert output_size(size, k, s, padding) == tf_out.shape[1]
    before, after = padding_amounts(size, k, s, padding)
    assert output_size(size + before + after, k, s, "valid") == tf_out.shape[1]


def test_odd_kernel_half_padding_keeps_size():
    for k in (1, 3, 5, 7):
        assert output_size(10, k, 1, k // 2) == 10


@pytest.mark.parametrize("fn,x_shape,k_shape,match", [
    (corr2d, (3, 3, 1), (2, 2), "x must be"),
    (corr2d, (3, 3), (4, 2), "does not fit"),
    (corr2d_multi_in, (2, 3, 3), (3, 2, 2), "same c_i"),
    (corr2d_multi_in_out, (2, 3, 3), (2, 2, 2), "c_o, c_i, kh, kw"),
])
def test_bad_shapes_raise(fn, x_shape, k_shape, match):
    with pytest.raises(ValueError, match=match):
        fn(np.zeros(x_shape, "float32"), np.zeros(k_shape, "float32"))


def test_sliding_windows_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        sliding_windows(np.zeros((1, 4, 4, 1)), (0, 2))
    with pytest.raises(ValueError, match="batch, height, width, channels"):
        sliding_windows(np.zeros((4, 4, 1)), (2, 2))
    with pytest.raises(ValueError, match="larger than"):
        sliding_windows(np.zeros((1, 4, 4, 1)), (5, 2))


@pytest.mark.parametrize("window,strides", [((3, 2), (2, 3)), ((2, 2), (1, 1)),
                                            ((1, 3), (3, 1))])
@pytest.mark.parametrize("dynamic", [False, True])
def test_sliding_windows_gradient_scatters_back(window, strides, dynamic):
    # d sum(windows * cotangent) / d x: each input element collects the cotangent of every
    # window element it was copied to (computed here one window at a time).
    x = random_inputs((2, 8, 7, 3), seed=10)
    kh, kw = window
    sh, sw = strides
    out_h, out_w = (8 - kh) // sh + 1, (7 - kw) // sw + 1
    cotangent = random_inputs((2, out_h, out_w, kh, kw, 3), seed=11)
    expected = np.zeros_like(x)
    for i in range(out_h):
        for j in range(out_w):
            expected[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] += cotangent[:, i, j]

    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(sliding_windows(x, window, strides) * cotangent)
        return tape.gradient(total, x)

    if dynamic:
        gradient = tf.function(gradient, input_signature=[tf.TensorSpec((None, None, None, 3))])
    np.testing.assert_allclose(np.array(gradient(tf.constant(x))), expected, atol=1e-5)
