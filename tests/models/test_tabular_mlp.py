"""The house-prices MLP."""

import keras
import numpy as np
import pytest

from kerasnotes.metrics.log_rmse import log_rmse
from kerasnotes.models.tabular_mlp import (
    evaluate_log_rmse,
    log_targets,
    predict_targets,
    tabular_mlp,
)


def table():
    rng = np.random.default_rng(0)
    features = {"Area": rng.uniform(40, 200, 32).astype("float32"),
                "Zone": rng.choice(["A", "B", "C"], 32)}
    return features, 1000.0 * features["Area"]


def test_starts_at_the_mean_log_target_with_one_l2_term_per_kernel():
    features, targets = table()
    model = tabular_mlp(features, ["Area"], ["Zone"], targets, hidden_units=(8, 4),
                        weight_decay=0.01, dropout=0.0)
    # Zero kernels: the output is its initial bias, mean(log(y)).
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            layer.kernel.assign(np.zeros(layer.kernel.shape, "float32"))
    out = model({k: v[:3] for k, v in features.items()}, training=False)
    np.testing.assert_allclose(np.asarray(out), np.full((3, 1), np.mean(np.log(targets))),
                               rtol=1e-6)
    model({k: v[:3] for k, v in features.items()}, training=True)
    assert len(model.losses) == 3  # two hidden kernels and the output kernel


def test_output_stays_float32_under_bfloat16():
    features, targets = table()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = tabular_mlp(features, ["Area"], ["Zone"], targets, hidden_units=(8,))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert model.get_layer("hidden1").compute_dtype == "bfloat16"
    assert model.get_layer("log_prediction").compute_dtype == "float32"
    assert model({k: v[:2] for k, v in features.items()}).dtype == "float32"


def test_predictions_are_exp_of_the_output_in_row_order():
    features, targets = table()
    model = tabular_mlp(features, ["Area"], ["Zone"], targets, hidden_units=(8,))
    np.testing.assert_allclose(log_targets(targets), np.log(targets)[:, None], rtol=1e-6)
    assert log_targets(targets).dtype == "float32"
    outputs = np.asarray(model(features, training=False)).reshape(-1)
    predictions = predict_targets(model, features, batch_size=5)  # 7 batches, the last of 2
    assert predictions.shape == (32,) and predictions.dtype == np.float64
    np.testing.assert_allclose(predictions, np.exp(outputs), rtol=1e-5)


def test_evaluate_log_rmse_is_the_log_rmse_of_the_predictions():
    features, targets = table()
    model = tabular_mlp(features, ["Area"], ["Zone"], targets, hidden_units=(8,))
    expected = float(log_rmse(targets, predict_targets(model, features)))
    assert evaluate_log_rmse(model, features, targets, batch_size=5) == pytest.approx(
        expected, rel=1e-5)
    assert expected > 0.1  # an untrained model: a real error, not a zero by accident
