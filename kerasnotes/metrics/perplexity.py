"""Perplexity of a language model: exp of the mean cross-entropy."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasnotes")
class Perplexity(keras.metrics.Metric):
    """The notes' perplexity (困惑度): `exp(mean cross-entropy)` over all predicted tokens.

        PP = exp( sum_i w_i * (-log p_i(y_i)) / sum_i w_i )

    where `p_i` is the predicted distribution of token `i` and `y_i` the true token (all
    `w_i = 1` without `sample_weight`). The mean runs over every token of every batch seen
    since the last reset (not a mean of per-batch perplexities). A perfect model scores 1;
    predicting the uniform distribution over a vocabulary of `V` tokens scores `V`.

    Args:
        from_logits: whether `y_pred` holds logits (default) or probabilities.
        name: metric name (default `"perplexity"`).
        dtype: dtype of the accumulators.

    `update_state(y_true, y_pred, sample_weight=None)`: integer tokens `y_true`
    `(batch, ...)`, predictions `y_pred` `(batch, ..., vocab_size)`, optional weights
    broadcastable to `y_true`.

    Example:

    >>> metric = Perplexity()
    >>> metric.update_state(np.array([[0, 1]]), np.zeros((1, 2, 4), "float32"))
    >>> float(metric.result())   # uniform over 4 tokens
    4.0
    """

    def __init__(self, from_logits=True, name="perplexity", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        if len(y_true.shape) != len(y_pred.shape) - 1:
            raise ValueError(
                "Perplexity: y_true must have the shape of y_pred without its last (vocabulary) "
                f"axis; received y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
            )
        losses = ops.cast(
            ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=self.from_logits),
            self.dtype,
        )
        if sample_weight is None:
            weights = ops.ones_like(losses)
        else:
            weights = ops.cast(ops.convert_to_tensor(sample_weight), self.dtype)
            while len(weights.shape) < len(losses.shape):
                weights = ops.expand_dims(weights, -1)
            weights = ops.broadcast_to(weights, ops.shape(losses))
        self.total.assign_add(ops.sum(losses * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total, self.count))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits}
