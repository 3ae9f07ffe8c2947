"""The Fast R-CNN head and model; a tiny training run where proposal accuracy rises."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.roi_pooling import ROIPooling
from kerasnotes.models.fast_rcnn import FastRCNN, FastRCNNHead
from kerasnotes.ops.region_proposals import anchor_proposals, proposal_targets
from tests.test_case import assert_config_round_trip, random_inputs


def test_head_is_roi_pooling_then_dense_layers():
    head = FastRCNNHead(num_classes=3, pooled_size=2, spatial_scale=0.5, hidden_units=(8, 6))
    features = random_inputs((2, 6, 6, 4))
    rois = np.array([[0, 0, 0, 6, 6], [1, 2, 2, 10, 8], [1, 0, 4, 4, 11]], "float32")
    logits, offsets = head([features, rois])
    assert logits.shape == (3, 4) and offsets.shape == (3, 4)
    x = ROIPooling(2, spatial_scale=0.5)([features, rois]).numpy().reshape(3, -1)
    for layer in head.hidden:
        x = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    np.testing.assert_allclose(logits, x @ head.class_predictor.kernel.numpy()
                               + head.class_predictor.bias.numpy(), atol=1e-5)
    np.testing.assert_allclose(offsets, x @ head.box_predictor.kernel.numpy()
                               + head.box_predictor.bias.numpy(), atol=1e-5)
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.hidden_units == (8, 6)


def tiny_model(**kwargs):
    return FastRCNN(num_classes=2, input_shape=(32, 32, 3), backbone_filters=(8, 16),
                    pooled_size=2, hidden_units=(32,), **kwargs)


@pytest.mark.parametrize("roi_pooling", ["max", "align"])
def test_model_config_gradients_and_keras_save(roi_pooling, tmp_path):
    model = tiny_model(roi_pooling=roi_pooling)
    images = random_inputs((2, 32, 32, 3))
    proposals = anchor_proposals((32, 32), (4, 4), [0.5, 0.3], [1.0], batch_size=2).numpy()
    out = model([images, proposals])
    assert out["class_logits"].shape == (64, 3) and out["box_offsets"].shape == (64, 4)
    rebuilt = assert_config_round_trip(model)
    assert rebuilt.get_config() == model.get_config()
    with tf.GradientTape() as tape:
        out = model([images, proposals], training=True)
        loss = tf.reduce_sum(out["class_logits"]) + tf.reduce_sum(out["box_offsets"])
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)
    path = tmp_path / "fast_rcnn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    again = reloaded([images, proposals])
    for key in ("class_logits", "box_offsets"):
        np.testing.assert_array_equal(again[key], model([images, proposals])[key])


def tiny_boxes(num_images, seed):
    """Images with one bright square each, class 0 red or class 1 green, and its label."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.2, (num_images, 32, 32, 3)).astype("float32")
    labels = np.zeros((num_images, 1, 5), "float32")
    for n in range(num_images):
        cls = int(rng.integers(0, 2))
        size = int(rng.integers(10, 16))
        y, x = rng.integers(0, 32 - size, 2)
        images[n, y:y + size, x:x + size, cls] = 1.0
        labels[n, 0] = [cls, x / 32, y / 32, (x + size) / 32, (y + size) / 32]
    return images, labels


def test_training_raises_proposal_class_accuracy():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    optimizer = keras.optimizers.Adam(0.003)
    images, labels = tiny_boxes(16, seed=0)
    images = tf.constant(images)
    proposals = anchor_proposals((32, 32), (4, 4), [0.4, 0.3], [1.0], batch_size=16)
    classes, offsets, mask = proposal_targets(proposals, labels, (32, 32), iou_threshold=0.4)
    assert 0 < int(tf.reduce_sum(tf.cast(classes > 0, "int32"))) < len(classes)

    def accuracy():
        logits = model([images, proposals])["class_logits"]
        return float(tf.reduce_mean(tf.cast(tf.argmax(logits, -1, "int32") == classes,
                                            "float32")))

    def foreground_accuracy():
        logits = model([images, proposals])["class_logits"]
        right = tf.argmax(logits, -1, "int32") == classes
        return float(tf.reduce_mean(tf.cast(tf.boolean_mask(right, classes > 0), "float32")))

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    # Fast R-CNN samples a quarter of foreground proposals per batch; here the few object
    # proposals are weighted up instead so that both kinds weigh the same.
    foreground = tf.cast(classes > 0, "float32")
    weights = foreground * tf.reduce_sum(1.0 - foreground) / tf.reduce_sum(foreground) + (
        1.0 - foreground)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = model([images, proposals], training=True)
            loss = loss_fn(classes, out["class_logits"], weights) + tf.reduce_sum(
                tf.abs(out["box_offsets"] - offsets) * mask) / tf.reduce_sum(mask)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    before, before_fg = accuracy(), foreground_accuracy()
    losses = [float(step()) for _ in range(60)]
    after, after_fg = accuracy(), foreground_accuracy()
    assert losses[-1] < losses[0]
    assert after > before and after >= 0.8, (before, after)
    assert after_fg > before_fg and after_fg >= 0.8, (before_fg, after_fg)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 2, "hidden_units": (8, 0)}, "hidden_units"),
        ({"num_classes": 2, "roi_pooling": "avg"}, "roi_pooling"),
        ({"num_classes": 2, "pooled_size": 0}, "pooled_size"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FastRCNNHead(**kwargs)
