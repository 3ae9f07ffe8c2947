"""TinySSD: shapes, anchors, parameter count, config and .keras round trips, training step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.down_sample_block import DownSampleBlock
from kerasnotes.models.tiny_ssd import TINY_SSD_RATIOS, TINY_SSD_SIZES, TinySSD, tiny_ssd_anchors
from kerasnotes.ops.anchors import multibox_prior
from kerasnotes.ops.nms import multibox_detection
from tests.test_case import assert_config_round_trip, random_inputs

SMALL = dict(num_classes=2, input_size=64, base_filters=(4, 4, 8), stage_filters=8)


def conv_params(cin, cout):
    return 9 * cin * cout + cout


def expected_param_count(num_classes, base=(16, 32, 64), stage=128, anchors=4):
    total, cin = 0, 3
    for cout in (*base, stage, stage, stage):
        total += conv_params(cin, cout) + conv_params(cout, cout) + 2 * 4 * cout  # 2 BN
        cin = cout
    for channels in (base[-1], stage, stage, stage, stage):
        total += conv_params(channels, anchors * (num_classes + 1))
        total += conv_params(channels, anchors * 4)
    return total


def test_default_model_matches_d2l():
    model = TinySSD(num_classes=1)
    assert model.count_params() == expected_param_count(1)
    assert model.anchors.shape == (5444, 4)
    expected = np.concatenate([
        multibox_prior(size, size, sizes, ratios).numpy()
        for size, sizes, ratios in zip((32, 16, 8, 4, 1), TINY_SSD_SIZES, TINY_SSD_RATIOS,
                                       strict=True)
    ])
    np.testing.assert_array_equal(model.anchors, expected)
    out = model(np.zeros((1, 256, 256, 3), "float32"))
    assert out["class_logits"].shape == (1, 5444, 2)
    assert out["bbox_offsets"].shape == (1, 5444 * 4)
    assert [layer.name for layer in model.layers[1:6]] == [
        "stage1_base", "stage2_down_sample", "stage3_down_sample", "stage4_down_sample",
        "stage5_global_max"]


def test_small_model_round_trips_and_trains(tmp_path):
    model = TinySSD(**SMALL)
    assert model.count_params() == expected_param_count(2, (4, 4, 8), 8)
    x = random_inputs((2, 64, 64, 3), low=0.0)
    outputs = model(x, training=False)
    # (8^2 + 4^2 + 2^2 + 1 + 1) pixels * 4 anchors
    assert outputs["class_logits"].shape == (2, 344, 3)
    rebuilt = assert_config_round_trip(model)
    np.testing.assert_array_equal(rebuilt.anchors, model.anchors)

    path = tmp_path / "ssd.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    again = reloaded(x, training=False)
    for key in outputs:
        np.testing.assert_array_equal(again[key], outputs[key])
    np.testing.assert_array_equal(reloaded.anchors, model.anchors)

    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = tf.reduce_mean(out["class_logits"] ** 2) + tf.reduce_mean(out["bbox_offsets"] ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)
    before = [np.array(v) for v in model.trainable_variables]
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_variables, strict=True))
    # Every weight moves but the biases of the convolutions before a batch norm: in training
    # the batch mean cancels them, and their gradient is exactly zero (DownSampleBlock).
    cancelled = {conv.bias.path for layer in model._flatten_layers()
                 if isinstance(layer, DownSampleBlock) for conv in layer.convs}
    assert len(cancelled) == 12
    for b, v, g in zip(before, model.trainable_variables, grads, strict=True):
        if v.path in cancelled:
            assert np.all(np.array(g) == 0) and np.array_equal(b, np.array(v))
        else:
            assert not np.array_equal(b, np.array(v))


def test_training_gradient_of_every_batch_norm_and_relu_is_one_fused_op():
    """The speed path (benchmarks/RESULTS.md): under mixed_bfloat16 each of the 12 batch
    norms and its ReLU take one fused op forward and one backward, the 6 before a pooling
    with the pooling: no FusedBatchNormV3, ReluGrad, FusedBatchNormGradV3 or max pooling
    is left."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = TinySSD(**SMALL)
    finally:
        keras.mixed_precision.set_global_policy(previous)

    def gradients(x):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = tf.reduce_sum(tf.cast(out["class_logits"], tf.float32))
        return tape.gradient(loss, model.trainable_variables)

    graph = tf.function(gradients).get_concrete_function(
        tf.TensorSpec((2, 64, 64, 3), tf.float32)).graph
    kinds = [op.type for op in graph.get_operations()]
    assert kinds.count("BatchNormRelu") == 6 and kinds.count("BatchNormReluGrad") == 6
    assert kinds.count("BatchNormReluMaxPool") == 6
    assert kinds.count("BatchNormReluMaxPoolGrad") == 6
    assert not {"FusedBatchNormV3", "ReluGrad", "FusedBatchNormGradV3", "MaxPool",
                "MaxPoolGrad"} & set(kinds)


def test_anchor_order_matches_prediction_order():
    model = TinySSD(**SMALL)
    # The first scale is 8x8 with 4 anchors: anchor 4*(8*i+j)+k is centred on pixel (i, j).
    centres = (model.anchors[:, :2] + model.anchors[:, 2:]) / 2
    i, j, k = 3, 5, 2
    np.testing.assert_allclose(centres[4 * (8 * i + j) + k], [(j + 0.5) / 8, (i + 0.5) / 8],
                               atol=1e-6)
    # Custom sizes and ratios change the anchors per pixel of one scale.
    sizes = [[0.2]] + [list(s) for s in TINY_SSD_SIZES[1:]]
    other = TinySSD(**dict(SMALL, sizes=sizes))
    assert other.num_anchors == 64 * 3 + (16 + 4 + 1 + 1) * 4
    assert other(random_inputs((1, 64, 64, 3)))["class_logits"].shape == (1, other.num_anchors, 3)


@pytest.mark.parametrize("input_size", [64, 100, 128, 200])
def test_anchors_without_a_model_are_the_models(input_size):
    model = TinySSD(**dict(SMALL, input_size=input_size))
    np.testing.assert_array_equal(tiny_ssd_anchors(input_size), model.anchors)
    assert model(np.zeros((1, input_size, input_size, 3)))["bbox_offsets"].shape[-1] == (
        4 * model.num_anchors)


def test_detect_is_multibox_detection_of_the_outputs():
    keras.utils.set_random_seed(1)
    model = TinySSD(**SMALL)
    x = random_inputs((3, 64, 64, 3), low=0.0)
    raw = model(x, training=False)
    expected = multibox_detection(tf.nn.softmax(raw["class_logits"]), raw["bbox_offsets"],
                                  model.anchors, pos_threshold=0.01, max_detections=20,
                                  per_class=True).numpy()
    for implementation in ("fused", "scratch"):
        detections = model.detect(x, max_detections=20, implementation=implementation)
        np.testing.assert_allclose(detections.numpy(), expected, atol=1e-6)


def test_detect_is_float32_under_mixed_bfloat16():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = TinySSD(**SMALL)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    x = random_inputs((2, 64, 64, 3), low=0.0)
    assert model(x)["class_logits"].dtype == "bfloat16"
    detections = model.detect(x, max_detections=5)
    assert detections.dtype == tf.float32 and detections.shape == (2, 5, 6)
    assert np.all(np.isfinite(detections.numpy()))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=0), "num_classes=0"),
        (dict(num_classes=1, input_size=32), "input_size=32"),
        (dict(num_classes=1, sizes=[[0.2]] * 4), "sizes"),
        (dict(num_classes=1, ratios=[[1, -2]] * 5), "ratios"),
        (dict(num_classes=1, stage_filters=0), "stage_filters=0"),
        (dict(num_classes=1, base_filters=(16, 0, 64)), "filters"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TinySSD(**kwargs)
