import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.losses.masked_binary_cross_entropy import (
    MaskedBinaryCrossEntropy,
    masked_binary_cross_entropy,
)
from kerasnotes.losses.softmax_cross_entropy import (
    SoftmaxCrossEntropy,
    log_softmax,
    softmax_cross_entropy,
)
from kerasnotes.losses.squared_loss import SquaredLoss, squared_loss
from tests.test_case import (
    assert_config_round_trip,
    assert_same_values_and_gradients,
    random_inputs,
)

RNG = np.random.default_rng(0)


def per_sample(loss_class, **kwargs):
    return loss_class(reduction="none", **kwargs)


# ----- squared loss ------------------------------------------------------------------------

def test_squared_loss_is_half_mse_values_and_gradients():
    y = random_inputs((6, 3), seed=1)
    y_hat = random_inputs((6, 3), seed=2)
    mse = per_sample(keras.losses.MeanSquaredError)
    assert_same_values_and_gradients(
        lambda a, b: squared_loss(a, b), lambda a, b: mse(a, b) / 2, [y, y_hat], atol=1e-6)
    assert_same_values_and_gradients(
        lambda a, b: SquaredLoss()(a, b),
        lambda a, b: keras.losses.MeanSquaredError()(a, b) / 2, [y, y_hat], atol=1e-6)


def test_squared_loss_matches_d2l_formula():
    y = random_inputs((5, 1), seed=3)
    y_hat = random_inputs((5, 1), seed=4)
    np.testing.assert_allclose(np.array(squared_loss(y, y_hat)), ((y_hat - y) ** 2 / 2)[:, 0],
                               atol=1e-7)


# ----- softmax cross-entropy ---------------------------------------------------------------

def test_log_softmax_matches_numpy_and_tf():
    logits = random_inputs((4, 5), seed=5, low=-3, high=3)
    expected = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(np.array(log_softmax(logits)), expected, atol=1e-6)
    assert_same_values_and_gradients(log_softmax, tf.nn.log_softmax, [logits], atol=1e-6)


@pytest.mark.parametrize("label_shape", [(6,), (6, 1)])
def test_softmax_cross_entropy_equals_keras(label_shape):
    logits = random_inputs((6, 4), seed=6, low=-5, high=5)
    labels = RNG.integers(0, 4, size=label_shape)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    assert_same_values_and_gradients(
        lambda o: softmax_cross_entropy(labels, o), lambda o: keras_loss(labels, o), [logits],
        atol=1e-6)
    keras_mean = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert_same_values_and_gradients(
        lambda o: SoftmaxCrossEntropy()(labels.astype("float32"), o),
        lambda o: keras_mean(labels, o), [logits], atol=1e-6)


def test_softmax_cross_entropy_matches_notes_formula():
    logits = random_inputs((3, 4), seed=7)
    labels = np.array([0, 3, 1])
    y_hat = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = -np.log(y_hat[np.arange(3), labels])
    np.testing.assert_allclose(np.array(softmax_cross_entropy(labels, logits)), expected,
                               atol=1e-6)


def test_softmax_cross_entropy_extreme_logits_are_finite():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], "float32")
    labels = np.array([1, 2, 0])
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    out, grads = None, None
    with tf.GradientTape() as tape:
        x = tf.constant(logits)
        tape.watch(x)
        out = softmax_cross_entropy(labels, x)
    grads = tape.gradient(out, x)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grads))
    # log softmax of the labelled logit: -2e4, 0 and log(1/2).
    np.testing.assert_allclose(np.array(out), [2e4, 0.0, np.log(2.0)], rtol=1e-6)
    assert_same_values_and_gradients(
        lambda o: softmax_cross_entropy(labels, o), lambda o: keras_loss(labels, o), [logits],
        atol=1e-6)


def test_softmax_cross_entropy_bad_label_shape():
    with pytest.raises(ValueError, match="y_true"):
        softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 4), "float32"))


# ----- masked binary cross-entropy ---------------------------------------------------------

def keras_masked_bce(labels, logits, mask):
    """Keras' BCE with the mask as sample weights, one example at a time.

    With `reduction="sum"` and sample weights `m`, Keras returns `sum_i m_i * bce_i`; dividing
    by `sum(m)` gives the notes' per-example mean over the masked positions.
    """
    bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction="sum")
    rows = []
    for i in range(labels.shape[0]):
        total = bce(labels[i][:, None], logits[i][:, None], sample_weight=mask[i])
        rows.append(total / np.sum(mask[i]))
    return tf.stack(rows)


def make_masked_batch(logit_scale=4.0):
    labels = RNG.integers(0, 2, size=(5, 7)).astype("float32")
    mask = RNG.integers(0, 2, size=(5, 7)).astype("float32")
    mask[:, 0] = 1.0  # every example has at least one valid position
    logits = random_inputs((5, 7), seed=8, low=-logit_scale, high=logit_scale)
    return labels, logits, mask


def test_masked_bce_equals_keras_with_mask_as_sample_weight():
    labels, logits, mask = make_masked_batch()
    assert_same_values_and_gradients(
        lambda p: masked_binary_cross_entropy(labels, p, mask),
        lambda p: keras_masked_bce(labels, p, mask), [logits], atol=1e-6)


def test_masked_bce_matches_notes_formula():
    labels, logits, mask = make_masked_batch()
    flipped = np.where(labels == 1, logits, -logits)
    per_position = -np.log(1 / (1 + np.exp(-flipped.astype("float64"))))
    expected = (per_position * mask).sum(-1) / mask.sum(-1)
    np.testing.assert_allclose(np.array(masked_binary_cross_entropy(labels, logits, mask)),
                               expected, atol=1e-6)


def test_masked_bce_loss_class_stacks_labels_and_mask():
    labels, logits, mask = make_masked_batch()
    y_true = np.stack([labels, mask], axis=-1)
    assert_same_values_and_gradients(
        lambda p: MaskedBinaryCrossEntropy()(y_true, p),
        lambda p: tf.reduce_mean(keras_masked_bce(labels, p, mask)), [logits], atol=1e-6)
    # Without a mask it is Keras' plain binary cross-entropy.
    assert_same_values_and_gradients(
        lambda p: MaskedBinaryCrossEntropy()(labels, p),
        lambda p: keras.losses.BinaryCrossentropy(from_logits=True)(labels, p), [logits],
        atol=1e-6)


def test_masked_bce_extreme_logits_are_finite():
    labels = np.array([[1, 0, 1, 0]], "float32")
    logits = np.array([[1e4, -1e4, -1e4, 1e4]], "float32")
    mask = np.array([[1, 1, 1, 1]], "float32")
    with tf.GradientTape() as tape:
        x = tf.constant(logits)
        tape.watch(x)
        out = masked_binary_cross_entropy(labels, x, mask)
    grads = tape.gradient(out, x)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grads))
    # Two right with certainty (loss 0), two wrong by 1e4 each: mean 2e4 / 4.
    np.testing.assert_allclose(np.array(out), [5e3], rtol=1e-6)
    assert_same_values_and_gradients(
        lambda p: masked_binary_cross_entropy(labels, p, mask),
        lambda p: keras_masked_bce(labels, p, mask), [logits], atol=1e-6)


def test_masked_bce_empty_mask_row_is_zero():
    out = masked_binary_cross_entropy(np.ones((2, 3)), np.zeros((2, 3), "float32"),
                                      np.array([[0, 0, 0], [1, 0, 0]], "float32"))
    np.testing.assert_allclose(np.array(out), [0.0, np.log(2.0)], atol=1e-7)


def test_masked_bce_loss_class_bad_shape():
    with pytest.raises(ValueError, match="y_true"):
        MaskedBinaryCrossEntropy()(np.zeros((2, 3, 3)), np.zeros((2, 3), "float32"))


# ----- common ------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [SquaredLoss, SoftmaxCrossEntropy, MaskedBinaryCrossEntropy])
def test_loss_config_round_trip_and_registration(loss):
    rebuilt = assert_config_round_trip(loss(reduction="sum"))
    assert rebuilt.reduction == "sum"
    assert keras.losses.get(keras.saving.serialize_keras_object(loss())).__class__ is loss


def test_losses_train_a_keras_model():
    x = random_inputs((8, 3), seed=9)
    labels = RNG.integers(0, 4, size=(8,))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=SoftmaxCrossEntropy())
    before = model.evaluate(x, labels, verbose=0)
    model.fit(x, labels, epochs=20, verbose=0)
    assert model.evaluate(x, labels, verbose=0) < before
