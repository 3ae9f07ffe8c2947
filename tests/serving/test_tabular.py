"""TabularRegressorServer: raw columns in, exp of the model's log prediction out; SavedModel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.tabular.house_prices import synthetic_house_prices
from kerasnotes.data.tabular.tabular_preprocessing import TabularPreprocessing
from kerasnotes.serving.export import export_saved_model
from kerasnotes.serving.tabular import TabularRegressorServer


@pytest.fixture(scope="module")
def table_and_model():
    keras.utils.set_random_seed(0)
    train, test = synthetic_house_prices(num_train=40, num_test=6, seed=1)
    inputs = {name: keras.Input(shape=(), name=name,
                                dtype="float32" if name in train.numeric_columns else "string")
              for name in train.features}
    features = TabularPreprocessing.from_data(train.features, train.numeric_columns,
                                              train.categorical_columns)(inputs)
    outputs = keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(12.0))(features)
    return train, test, keras.Model(inputs, outputs)


def test_serve_is_exp_of_the_model_output(table_and_model):
    train, test, model = table_and_model
    server = TabularRegressorServer(model, train.numeric_columns, train.categorical_columns)
    out = server.serve({name: tf.constant(values) for name, values in test.features.items()})
    log_predictions = np.asarray(model(test.features, training=False))[:, 0]
    assert sorted(out) == ["log_predictions", "predictions"]
    assert out["predictions"].shape == (6,) and out["predictions"].dtype == tf.float32
    np.testing.assert_allclose(out["log_predictions"].numpy(), log_predictions, rtol=1e-6)
    np.testing.assert_allclose(out["predictions"].numpy(), np.exp(log_predictions), rtol=1e-5)


def test_saved_model_takes_one_tensor_per_raw_column(table_and_model, tmp_path):
    train, test, model = table_and_model
    server = TabularRegressorServer(model, train.numeric_columns, train.categorical_columns)
    path = export_saved_model(server, str(tmp_path / "tabular"), {"serving_default": server.serve})
    served = tf.saved_model.load(path).signatures["serving_default"]
    dtypes = [spec.dtype for spec in served.structured_input_signature[1].values()]
    assert sorted(dtypes, key=str) == sorted(
        [tf.float32] * len(train.numeric_columns) + [tf.string] * len(train.categorical_columns),
        key=str)
    # A client passes the columns by their CSV names ("1stFlrSF" included).
    columns = {name: tf.constant(values) for name, values in test.features.items()}
    expected = server.serve(columns)["predictions"].numpy()
    np.testing.assert_allclose(served(**columns)["predictions"].numpy(), expected, rtol=1e-6)
    # A missing number (NaN) and a category never seen in training are served too.
    row = {name: values[:1] for name, values in test.features.items()}
    row["LotFrontage"] = np.array([np.nan], np.float32)
    row["Neighborhood"] = np.array(["Atlantis"])
    out = served(**{name: tf.constant(values) for name, values in row.items()})
    assert np.all(np.isfinite(out["predictions"].numpy()))


def test_columns_named_twice_or_none_are_refused(table_and_model):
    _, _, model = table_and_model
    with pytest.raises(ValueError, match="name each feature column once"):
        TabularRegressorServer(model, ["LotArea"], ["LotArea"])
    with pytest.raises(ValueError, match="name each feature column once"):
        TabularRegressorServer(model, [], [])
