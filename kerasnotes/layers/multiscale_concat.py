"""Flattening and concatenating SSD's predictions over scales (连接多尺度预测)."""

import keras
from keras import ops

from kerasnotes._checks import check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class MultiscaleConcat(keras.layers.Layer):
    """Flattens each scale's prediction map and concatenates them along one axis.

    The notes' 连接多尺度预测: the prediction maps of the scales have different heights,
    widths and channel counts, so each `(batch, h_s, w_s, c_s)` map is flattened to
    `(batch, h_s * w_s * c_s)` (channels-last already puts the channels of a pixel together,
    so no transpose is needed, unlike the notes' channels-first code) and the flat
    vectors are concatenated:

        y = concat([flatten(x_1), ..., flatten(x_S)], axis=1)

    With `units_per_anchor=u` the result is reshaped to `(batch, num_anchors, u)` (e.g.
    `u = q + 1` for class scores), anchors in the order of `multibox_prior` scale by scale.

    Args:
        units_per_anchor: optional int >= 1; `None` keeps the flat `(batch, total)` output.

    Call arguments:
        inputs: a list of `(batch, h_s, w_s, c_s)` tensors.

    Returns:
        `(batch, sum_s h_s * w_s * c_s)`, or `(batch, sum_s h_s * w_s * c_s / u, u)`.

    Example:

    >>> maps = [np.zeros((2, 20, 20, 55), "float32"), np.zeros((2, 10, 10, 33), "float32")]
    >>> MultiscaleConcat()(maps).shape
    TensorShape([2, 25300])
    >>> MultiscaleConcat(units_per_anchor=11)(maps).shape
    TensorShape([2, 2300, 11])
    """

    def __init__(self, units_per_anchor=None, **kwargs):
        super().__init__(**kwargs)
        self.units_per_anchor = check_int("MultiscaleConcat", "units_per_anchor",
                                          units_per_anchor, allow_none=True)

    def _flat_sizes(self, input_shapes):
        if not isinstance(input_shapes, (list, tuple)) or not input_shapes or not all(
            isinstance(s, (list, tuple)) for s in input_shapes
        ):
            raise ValueError("MultiscaleConcat: inputs must be a non-empty list of "
                             f"(batch, h, w, c) tensors; received shapes {input_shapes!r}")
        sizes = []
        for shape in input_shapes:
            if len(shape) != 4 or any(d is None for d in shape[1:]):
                raise ValueError("MultiscaleConcat: every input must have a static shape "
                                 f"(batch, h, w, c); received shape {tuple(shape)}")
            size = int(shape[1]) * int(shape[2]) * int(shape[3])
            if self.units_per_anchor is not None and size % self.units_per_anchor:
                raise ValueError(
                    f"MultiscaleConcat: an input of shape {tuple(shape)} has {size} values, "
                    f"not a multiple of units_per_anchor={self.units_per_anchor}"
                )
            sizes.append(size)
        return sizes

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("MultiscaleConcat: inputs must be a non-empty list of "
                             f"(batch, h, w, c) tensors; received one tensor of shape "
                             f"{tuple(inputs.shape)}")
        self._flat_sizes([tuple(x.shape) for x in inputs])
        batch = ops.shape(inputs[0])[0]
        flat = ops.concatenate([ops.reshape(x, (batch, -1)) for x in inputs], axis=1)
        if self.units_per_anchor is None:
            return flat
        return ops.reshape(flat, (batch, -1, self.units_per_anchor))

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError("MultiscaleConcat: inputs must be a non-empty list of "
                             f"(batch, h, w, c) tensors; received shape {input_shape!r}")
        input_shape = [tuple(s) for s in input_shape]
        total = sum(self._flat_sizes(input_shape))
        batch = input_shape[0][0]
        if self.units_per_anchor is None:
            return (batch, total)
        return (batch, total // self.units_per_anchor, self.units_per_anchor)

    def get_config(self):
        config = super().get_config()
        config.update({"units_per_anchor": self.units_per_anchor})
        return config
