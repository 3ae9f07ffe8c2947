"""log-RMSE: function and streaming metric against a NumPy hand computation."""

import keras
import numpy as np
import pytest

from kerasnotes.metrics.log_rmse import LogRMSE, log_rmse, squared_log_error
from tests.test_case import assert_config_round_trip


def numpy_log_rmse(y, y_hat, weights=None):
    errors = (np.log(np.maximum(y_hat, 1.0)) - np.log(y)) ** 2
    weights = np.ones_like(errors) if weights is None else weights
    return np.sqrt(np.sum(errors * weights) / np.sum(weights))


def prices(seed, n=64):
    rng = np.random.default_rng(seed)
    y = np.exp(rng.normal(12, 0.4, n)).astype("float32")
    y_hat = (y * np.exp(rng.normal(0, 0.2, n))).astype("float32")
    y_hat[:3] = [0.5, -10.0, 0.0]  # clipped to 1 before the log
    return y, y_hat


def test_function_matches_numpy():
    y, y_hat = prices(0)
    np.testing.assert_allclose(float(log_rmse(y, y_hat)), numpy_log_rmse(y, y_hat), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(squared_log_error(y, y_hat)),
                               (np.log(np.maximum(y_hat, 1.0)) - np.log(y)) ** 2, rtol=1e-5,
                               atol=1e-5)
    # Relative errors: scaling every price leaves it unchanged.
    np.testing.assert_allclose(float(log_rmse(y[3:] * 7, y_hat[3:] * 7)),
                               float(log_rmse(y[3:], y_hat[3:])), rtol=1e-5)
    assert np.isfinite(float(log_rmse(y, y_hat)))


def test_metric_streams_over_batches_like_one_pass():
    y, y_hat = prices(1, n=50)
    metric = LogRMSE()
    for start in range(0, 50, 16):  # uneven last batch: not a mean of per-batch values
        metric.update_state(y[start:start + 16], y_hat[start:start + 16])
    np.testing.assert_allclose(float(metric.result()), numpy_log_rmse(y, y_hat), rtol=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    weights = np.random.default_rng(2).uniform(0, 2, 50).astype("float32")
    metric.update_state(y[:, None], y_hat[:, None], sample_weight=weights)
    np.testing.assert_allclose(float(metric.result()), numpy_log_rmse(y, y_hat, weights),
                               rtol=1e-5)


def test_metric_equals_keras_rmse_of_logs_without_clipping():
    y, y_hat = prices(3)
    y, y_hat = y[3:], y_hat[3:]  # all predictions >= 1: no clipping
    reference = keras.metrics.RootMeanSquaredError()
    reference.update_state(np.log(y), np.log(y_hat))
    metric = LogRMSE()
    metric.update_state(y, y_hat)
    np.testing.assert_allclose(float(metric.result()), float(reference.result()), rtol=1e-5)


def test_config_round_trip_and_compile(tmp_path):
    metric = assert_config_round_trip(LogRMSE(name="price_log_rmse"))
    assert metric.name == "price_log_rmse"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=[LogRMSE()])
    x = np.ones((4, 2), "float32")
    logs = model.evaluate(x, np.full((4, 1), 3.0, "float32"), verbose=0, return_dict=True)
    expected = numpy_log_rmse(np.full(4, 3.0), np.asarray(model(x))[:, 0])
    np.testing.assert_allclose(logs["log_rmse"], expected, rtol=1e-5)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="same shape"):
        log_rmse(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"\(4,\) and \(4, 1\)"):
        LogRMSE().update_state(np.ones(4), np.ones((4, 1)))
