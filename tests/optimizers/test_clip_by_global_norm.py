"""clip_by_global_norm (notes section 5, 裁剪梯度) against NumPy and tf.clip_by_global_norm."""

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.optimizers.clip_by_global_norm import clip_by_global_norm


def numpy_clip(gradients, theta):
    """The notes: concatenate every gradient into g, then g' = min(theta / ||g||, 1) g."""
    g = np.concatenate([x.astype("float64").ravel() for x in gradients])
    norm = np.sqrt(np.sum(g * g))
    factor = min(theta / norm, 1.0)
    return [factor * x.astype("float64") for x in gradients], norm


def random_gradients(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.normal(size=s)).astype("float32") for s in [(3, 4), (4,), (2, 2, 3)]]


@pytest.mark.parametrize("theta", [0.5, 3.0, 100.0])  # clipped, clipped, unchanged
def test_matches_numpy_and_tf(theta):
    gradients = random_gradients()
    clipped, norm = clip_by_global_norm([tf.constant(g) for g in gradients], theta)
    expected, expected_norm = numpy_clip(gradients, theta)
    np.testing.assert_allclose(float(norm), expected_norm, rtol=1e-6)
    tf_clipped, tf_norm = tf.clip_by_global_norm([tf.constant(g) for g in gradients], theta)
    np.testing.assert_allclose(float(norm), float(tf_norm), rtol=1e-6)
    for ours, numpy_g, tf_g in zip(clipped, expected, tf_clipped, strict=True):
        assert ours.dtype == tf.float32
        np.testing.assert_allclose(ours.numpy(), numpy_g, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(ours.numpy(), tf_g.numpy(), rtol=1e-6, atol=1e-6)
    result_norm = np.sqrt(sum(np.sum(c.numpy().astype("float64") ** 2) for c in clipped))
    np.testing.assert_allclose(result_norm, min(theta, expected_norm), rtol=1e-6)


def test_below_threshold_is_unchanged():
    gradients = random_gradients(scale=1e-3)
    clipped, _ = clip_by_global_norm([tf.constant(g) for g in gradients], 1.0)
    for ours, g in zip(clipped, gradients, strict=True):
        np.testing.assert_array_equal(ours.numpy(), g)


def test_none_gradients_pass_through():
    gradients = random_gradients()
    inputs = [None, tf.constant(gradients[0]), None, tf.constant(gradients[1])]
    clipped, norm = clip_by_global_norm(inputs, 1.0)
    assert clipped[0] is None and clipped[2] is None
    expected, expected_norm = numpy_clip(gradients[:2], 1.0)
    np.testing.assert_allclose(float(norm), expected_norm, rtol=1e-6)
    np.testing.assert_allclose(clipped[1].numpy(), expected[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(clipped[3].numpy(), expected[1], rtol=1e-6, atol=1e-6)


def test_zero_norm_is_safe():
    clipped, norm = clip_by_global_norm([tf.zeros((2, 3)), None], 1.0)
    assert float(norm) == 0.0
    np.testing.assert_array_equal(clipped[0].numpy(), np.zeros((2, 3)))
    clipped, norm = clip_by_global_norm([None], 1.0)
    assert clipped == [None] and float(norm) == 0.0


def test_non_finite_norm_gives_nan_like_tf():
    gradients = [tf.constant([1.0, np.inf]), tf.constant([2.0])]
    clipped, norm = clip_by_global_norm(gradients, 1.0)
    tf_clipped, _ = tf.clip_by_global_norm(gradients, 1.0)
    assert np.isinf(float(norm))
    for ours, theirs in zip(clipped, tf_clipped, strict=True):
        assert np.all(np.isnan(ours.numpy())) and np.all(np.isnan(theirs.numpy()))


def test_indexed_slices_count_as_their_dense_gradient():
    # An Embedding gradient: row 1 looked up twice, so its dense gradient is the sum.
    embedding = tf.Variable(np.zeros((5, 3), "float32"))
    ids = tf.constant([1, 3, 1])
    rng = np.random.default_rng(1)
    cotangent = rng.normal(size=(3, 3)).astype("float32")
    dense = tf.constant(rng.normal(size=(4,)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(embedding, ids) * cotangent)
    sparse = tape.gradient(loss, embedding)
    assert isinstance(sparse, tf.IndexedSlices)

    clipped, norm = clip_by_global_norm([sparse, dense], 2.0)
    assert isinstance(clipped[0], tf.IndexedSlices)
    dense_sparse = tf.convert_to_tensor(sparse).numpy()
    expected, expected_norm = numpy_clip([dense_sparse, dense.numpy()], 2.0)
    np.testing.assert_allclose(float(norm), expected_norm, rtol=1e-6)
    np.testing.assert_allclose(tf.convert_to_tensor(clipped[0]).numpy(), expected[0],
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(clipped[1].numpy(), expected[1], rtol=1e-6, atol=1e-6)
    # tf.clip_by_global_norm agrees once repeated rows are summed (it squares the raw values).
    tf_clipped, tf_norm = tf.clip_by_global_norm([tf.convert_to_tensor(sparse), dense], 2.0)
    np.testing.assert_allclose(float(norm), float(tf_norm), rtol=1e-6)
    np.testing.assert_allclose(tf.convert_to_tensor(clipped[0]).numpy(), tf_clipped[0].numpy(),
                               rtol=1e-6, atol=1e-6)


def test_works_in_tf_function_with_tensor_theta():
    gradients = random_gradients()
    fn = tf.function(lambda gs, theta: clip_by_global_norm(gs, theta))
    clipped, norm = fn([tf.constant(g) for g in gradients], tf.constant(0.5))
    expected, expected_norm = numpy_clip(gradients, 0.5)
    np.testing.assert_allclose(float(norm), expected_norm, rtol=1e-6)
    for ours, e in zip(clipped, expected, strict=True):
        np.testing.assert_allclose(ours.numpy(), e, rtol=1e-6, atol=1e-6)


def test_float64_gradients_keep_their_dtype():
    gradients = [g.astype("float64") for g in random_gradients()]
    clipped, norm = clip_by_global_norm([tf.constant(g) for g in gradients], 0.5)
    expected, expected_norm = numpy_clip(gradients, 0.5)
    assert norm.dtype == tf.float64 and all(c.dtype == tf.float64 for c in clipped)
    np.testing.assert_allclose(float(norm), expected_norm, rtol=1e-12)


@pytest.mark.parametrize("theta", [0.0, -1.0, True])
def test_bad_theta(theta):
    with pytest.raises(ValueError, match="theta"):
        clip_by_global_norm([tf.ones((2,))], theta)
