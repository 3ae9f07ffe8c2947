"""The serving module of a tabular regressor that predicts log(target) from raw columns."""

import tensorflow as tf


class TabularRegressorServer(tf.Module):
    """Serving wrapper of a Keras model mapping raw table columns to `log(target)`.

    The model (e.g. `TabularPreprocessing` + an MLP, as `apps.tabular` trains it) was fitted
    on `log(y)` with the squared loss, so its prediction of the target is `exp` of its
    output: `y_hat = exp(f(x))`. `serve` takes what a client sends, one 1-D tensor per raw
    feature column named as in the CSV header: float32 for the numeric columns (NaN for a
    missing value) and strings for the categorical ones (a category never seen in training
    is fine). It returns named `(N,)` float32 outputs:

    - `predictions`: the target, `exp(log_predictions)`;
    - `log_predictions`: the model's output `f(x)`.

    The SavedModel loads with plain `tf.saved_model.load` in a process without kerasnotes.

    Example:

    >>> server = TabularRegressorServer(model, ["LotArea"], ["MSZoning"])
    >>> export_saved_model(server, "saved_models/tabular", {"serving_default": server.serve})
    >>> served = tf.saved_model.load("saved_models/tabular/1").signatures["serving_default"]
    >>> served(LotArea=tf.constant([8450.0]), MSZoning=tf.constant(["RL"]))["predictions"]
    """

    def __init__(self, model, numeric_columns, categorical_columns):
        super().__init__(name="tabular_regressor")
        both = sorted(set(numeric_columns) & set(categorical_columns))
        if both or not (list(numeric_columns) or list(categorical_columns)):
            raise ValueError("TabularRegressorServer: name each feature column once, as "
                             f"numeric or categorical; received {list(numeric_columns)} and "
                             f"{list(categorical_columns)}")
        self.model = model
        spec = {name: tf.TensorSpec([None], tf.float32, name=name) for name in numeric_columns}
        spec.update({name: tf.TensorSpec([None], tf.string, name=name)
                     for name in categorical_columns})
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, columns):
        log_predictions = tf.cast(self.model(columns, training=False)[:, 0], tf.float32)
        return {"predictions": tf.exp(log_predictions), "log_predictions": log_predictions}
