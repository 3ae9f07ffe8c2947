"""TabularPreprocessing: z-scores with training statistics, NaN -> 0, one-hot categories."""

import math
import statistics

import keras
import numpy as np
import pytest

from kerasnotes.data.tabular.tabular_preprocessing import TabularPreprocessing
from tests.test_case import assert_config_round_trip, assert_keras_save_load

NAN = float("nan")

TRAIN = {
    "LotArea": [8450.0, 9600.0, NAN, 11250.0, 9550.0],
    "1stFlrSF": [856.0, 1262.0, 920.0, 961.0, 1145.0],
    "Street": ["Pave", "Pave", "Grvl", "Pave", "NA"],
    "Zone": ["RL", "RM", "RL", "RL", "FV"],
}
OTHER = {  # rows never seen when fitting: new values, a missing number, an unseen category
    "LotArea": [NAN, 20000.0],
    "1stFlrSF": [1000.0, 500.0],
    "Street": ["Grvl", "Dirt"],
    "Zone": ["C (all)", "RM"],
}
NUMERIC, CATEGORICAL = ["LotArea", "1stFlrSF"], ["Street", "Zone"]


def as_arrays(columns):
    return {
        name: np.array(values, dtype="float32" if name in NUMERIC else str)
        for name, values in columns.items()
    }


def hand_computed(train, rows):
    """The expected output, in plain Python: z-scores (population variance of the present
    training values), NaN -> 0, then one slot for unseen values + one per sorted value."""
    expected = []
    for i in range(len(rows["LotArea"])):
        row = []
        for name in NUMERIC:
            present = [v for v in train[name] if not math.isnan(v)]
            mu, sigma = statistics.fmean(present), statistics.pstdev(present)
            value = rows[name][i]
            row.append(0.0 if math.isnan(value) else (value - mu) / sigma)
        for name in CATEGORICAL:
            vocabulary = sorted(set(train[name]))
            value = rows[name][i]
            row.append(0.0 if value in vocabulary else 1.0)
            row.extend(1.0 if value == v else 0.0 for v in vocabulary)
        expected.append(row)
    return np.array(expected)


def functional_model(layer):
    inputs = {
        name: keras.Input(shape=(), name=name, dtype="float32" if name in NUMERIC else "string")
        for name in NUMERIC + CATEGORICAL
    }
    return keras.Model(inputs, layer(inputs))


def test_matches_hand_computation_with_training_statistics_only():
    layer = TabularPreprocessing.from_data(as_arrays(TRAIN), NUMERIC, CATEGORICAL)
    # 2 numeric + (1 unseen + 3 streets) + (1 unseen + 3 zones)
    assert layer.output_size == 10
    on_train = np.asarray(layer(as_arrays(TRAIN)))
    np.testing.assert_allclose(on_train, hand_computed(TRAIN, TRAIN), atol=1e-5)
    # The statistics stay those of the training rows when other rows come in.
    on_other = np.asarray(layer(as_arrays(OTHER)))
    np.testing.assert_allclose(on_other, hand_computed(TRAIN, OTHER), atol=1e-5)
    assert on_other.dtype == np.float32
    # Standardized training columns: mean 0 and variance 1 over the present values.
    present = on_train[[0, 1, 3, 4], 0]
    np.testing.assert_allclose([present.mean(), present.var()], [0.0, 1.0], atol=1e-5)
    # The missing LotArea becomes 0, the training mean.
    assert on_train[2, 0] == 0.0 and on_other[0, 0] == 0.0


def test_statistics_equal_keras_normalization_adapt():
    layer = TabularPreprocessing.from_data(as_arrays(TRAIN), NUMERIC, CATEGORICAL)
    for i, name in enumerate(NUMERIC):
        values = np.array([v for v in TRAIN[name] if not math.isnan(v)], "float32")
        reference = keras.layers.Normalization(axis=None)
        reference.adapt(values)
        np.testing.assert_allclose(layer.mean[i], np.asarray(reference.mean).item(), rtol=1e-6)
        np.testing.assert_allclose(layer.variance[i], np.asarray(reference.variance).item(),
                                   rtol=1e-5)


def test_one_hot_equals_string_lookup_of_the_vocabulary():
    layer = TabularPreprocessing.from_data(as_arrays(TRAIN), [], CATEGORICAL)
    reference = keras.layers.StringLookup(vocabulary=["FV", "RL", "RM"], output_mode="one_hot")
    out = np.asarray(layer(as_arrays(OTHER)))
    np.testing.assert_array_equal(out[:, 4:], np.asarray(reference(np.array(OTHER["Zone"]))))


def test_constant_and_all_missing_columns_are_finite():
    columns = {"a": np.array([3.0, 3.0, 3.0], "float32"),
               "b": np.array([NAN, NAN, NAN], "float32")}
    layer = TabularPreprocessing.from_data(columns, ["a", "b"], [])
    assert layer.variance == [1.0, 1.0] and layer.mean == [3.0, 0.0]
    out = np.asarray(layer({"a": np.array([3.0, 5.0], "float32"),
                            "b": np.array([NAN, 1.0], "float32")}))
    np.testing.assert_array_equal(out, [[0.0, 0.0], [2.0, 1.0]])


def test_symbolic_shapes_config_and_keras_round_trip(tmp_path):
    layer = TabularPreprocessing.from_data(as_arrays(TRAIN), NUMERIC, CATEGORICAL)
    rebuilt = assert_config_round_trip(layer)
    inputs = as_arrays(OTHER)
    np.testing.assert_array_equal(np.asarray(rebuilt(inputs)), np.asarray(layer(inputs)))
    model = functional_model(layer)
    assert tuple(model.output_shape) == (None, 10)
    # The statistics and vocabularies are saved with the model.
    reloaded = assert_keras_save_load(model, inputs, tmp_path)
    np.testing.assert_allclose(np.asarray(reloaded(inputs)), hand_computed(TRAIN, OTHER),
                               atol=1e-5)
    # Integer numbers are accepted too.
    ints = dict(inputs, **{"1stFlrSF": np.array([1000, 500], "int32")})
    np.testing.assert_array_equal(np.asarray(layer(ints)), np.asarray(layer(inputs)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(numeric_columns=[], categorical_columns=[]), "no columns"),
        (dict(numeric_columns="LotArea"), "numeric_columns"),
        (dict(numeric_columns=["a"], mean=[0.0], variance=[0.0]), "variance"),
        (dict(numeric_columns=["a"], mean=[0.0, 1.0], variance=[1.0]), "one value per"),
        (dict(categorical_columns=["z"], vocabularies={}), "no vocabulary"),
        (dict(numeric_columns=["a"], categorical_columns=["a"], mean=[0.0], variance=[1.0],
              vocabularies={"a": ["x"]}), "named twice"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularPreprocessing(**kwargs)


def test_from_data_errors():
    with pytest.raises(ValueError, match="not in the data"):
        TabularPreprocessing.from_data(as_arrays(TRAIN), ["Price"], [])
    with pytest.raises(ValueError, match="'Street' holds non-numbers"):
        TabularPreprocessing.from_data(as_arrays(TRAIN), ["Street"], [])


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_computes_in_float32_under_a_mixed_policy(policy):
    # A lot area's variance (~1e6 here, 1.6e7 in the Kaggle data) overflows float16.
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        layer = TabularPreprocessing.from_data(as_arrays(TRAIN), NUMERIC, CATEGORICAL)
        model = functional_model(layer)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert layer.compute_dtype == "float32" and layer.normalization.compute_dtype == "float32"
    out = np.asarray(model(as_arrays(OTHER)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, hand_computed(TRAIN, OTHER), atol=1e-5)
    assert_config_round_trip(layer)
