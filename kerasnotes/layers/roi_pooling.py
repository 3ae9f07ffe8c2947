"""Region-of-interest (ROI) pooling of Fast R-CNN."""

import numbers

import keras
import numpy as np
import tensorflow as tf


def pooled_size_pair(layer_name, value):
    """`pooled_size` as a pair `(h2, w2)` of positive ints; raises `ValueError` otherwise."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in pair
    ):
        raise ValueError(f"{layer_name}: pooled_size must be a positive int or a pair of them; "
                         f"received pooled_size={value!r}")
    return int(pair[0]), int(pair[1])


def check_positive_number(layer_name, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{layer_name}: {name} must be a positive number; received "
                         f"{name}={value!r}")
    return float(value)


def check_roi_inputs(layer_name, inputs):
    """Splits `inputs` into `(features, rois)` and checks their shapes (and, eagerly, values).

    Raises `ValueError` for a wrong structure or shape, and (when the values are known,
    i.e. eagerly) for a region with `x2 < x1` or `y2 < y1` or a batch index outside
    `[0, N)`. Inside a `tf.function` the value checks become `tf.debugging` assertions.
    """
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
        raise ValueError(f"{layer_name}: inputs must be a pair [features, rois]; received "
                         f"{type(inputs).__name__}")
    features, rois = inputs
    if len(features.shape) != 4:
        raise ValueError(f"{layer_name}: features must have shape (N, H, W, C); received shape "
                         f"{tuple(features.shape)}")
    if len(rois.shape) != 2 or rois.shape[-1] not in (None, 5):
        raise ValueError(f"{layer_name}: rois must have shape (R, 5) with rows (batch_index, "
                         f"x1, y1, x2, y2); received shape {tuple(rois.shape)}")
    features = tf.convert_to_tensor(features)
    rois = tf.cast(tf.convert_to_tensor(rois), "float32")
    num_images = tf.shape(features)[0]
    if tf.executing_eagerly():
        values = rois.numpy()
        bad = np.nonzero((values[:, 3] < values[:, 1]) | (values[:, 4] < values[:, 2]))[0]
        if len(bad):
            raise ValueError(f"{layer_name}: region {int(bad[0])} has x2 < x1 or y2 < y1: "
                             f"{values[bad[0]].tolist()}")
        index = values[:, 0]
        n = int(num_images)
        bad = np.nonzero((index < 0) | (index >= n) | (index != np.floor(index)))[0]
        if len(bad):
            raise ValueError(f"{layer_name}: region {int(bad[0])} has batch index "
                             f"{float(index[bad[0]])}, outside [0, {n}) for features of "
                             f"{n} images")
    else:
        tf.debugging.assert_greater_equal(
            rois[:, 3:5], rois[:, 1:3], message=f"{layer_name}: a region has x2 < x1 or y2 < y1")
        tf.debugging.assert_non_negative(rois[:, 0],
                                         message=f"{layer_name}: a batch index is negative")
        tf.debugging.assert_less(tf.cast(rois[:, 0], "int32"), num_images,
                                 message=f"{layer_name}: a batch index is >= the batch size")
    return features, rois


def _round_half_away(x):
    # C's round(), as Caffe/MXNet's ROIPooling uses (tf.round rounds half to even).
    return tf.sign(x) * tf.floor(tf.abs(x) + 0.5)


def roi_bin_bounds(start, end, pooled, limit):
    """Start/end (exclusive) indices `(R, pooled)` of the sub-windows along one axis.

    With `size = max(end - start + 1, 1)` and `bin = size / pooled`, sub-window `p` spans
    `[start + floor(p * bin), start + ceil((p + 1) * bin))`, clipped to `[0, limit]`.
    """
    size = tf.maximum(end - start + 1.0, 1.0)
    bin_size = size / float(pooled)
    p = tf.range(pooled, dtype="float32")[None, :]
    lo = tf.floor(p * bin_size[:, None]) + start[:, None]
    hi = tf.math.ceil((p + 1.0) * bin_size[:, None]) + start[:, None]
    limit = tf.cast(limit, "float32")
    lo = tf.clip_by_value(lo, 0.0, limit)
    hi = tf.clip_by_value(hi, 0.0, limit)
    return tf.cast(lo, "int32"), tf.cast(hi, "int32")


@keras.saving.register_keras_serializable(package="kerasnotes")
class ROIPooling(keras.layers.Layer):
    """Region-of-interest max pooling (Fast R-CNN), vectorized over regions and sub-windows.

    The notes' ROI pooling layer: each of the `n` proposal regions on the whole-image
    feature map `(N, H, W, C)` is cut into an `h2 x w2` grid of sub-windows of arbitrary
    (unequal) sizes, and each sub-window is max-pooled, giving `(n, h2, w2, C)` whatever the
    region's shape. As in Fast R-CNN (Caffe/MXNet `ROIPooling`), for a region
    `(b, x1, y1, x2, y2)` and `s = spatial_scale`:

        xs = round(x1 * s), ys = round(y1 * s), xe = round(x2 * s), ye = round(y2 * s)
        height = max(ye - ys + 1, 1), width = max(xe - xs + 1, 1)
        rows of cell (i, j):    [ys + floor(i * height / h2), ys + ceil((i + 1) * height / h2))
        columns of cell (i, j): [xs + floor(j * width / w2),  xs + ceil((j + 1) * width / w2))
        y[r, i, j, c] = max over those rows and columns of X[b, row, column, c]

    (indices clipped to the map; an empty sub-window gives 0). The gradient goes to the
    maximal elements (ties share it). The work is one `gather_nd` of every sub-window's
    elements, padded to the largest sub-window of the batch, and one masked max: no Python
    loop over regions.

    Args:
        pooled_size: `h2` or `(h2, w2)`, the output grid.
        spatial_scale: factor from region coordinates to feature-map coordinates (e.g.
            1/16 for image-pixel regions on a stride-16 map; 1.0 for feature coordinates).

    Call arguments:
        inputs: a pair `[features, rois]`: features `(N, H, W, C)`; rois float `(R, 5)` of
            `(batch_index, x1, y1, x2, y2)` with `x1 <= x2`, `y1 <= y2` and batch indices
            in `[0, N)` (checked; a `ValueError` otherwise when running eagerly).

    Returns:
        `(R, h2, w2, C)`.

    Example:

    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> rois = np.array([[0, 0, 0, 20, 20], [0, 0, 10, 30, 30]], "float32")
    >>> ROIPooling(2, spatial_scale=0.1)([x, rois])[..., 0].numpy()
    array([[[ 5.,  6.],
            [ 9., 10.]],
           [[ 9., 11.],
            [13., 15.]]], dtype=float32)
    """

    def __init__(self, pooled_size, spatial_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.pooled_size = pooled_size_pair("ROIPooling", pooled_size)
        self.spatial_scale = check_positive_number("ROIPooling", "spatial_scale", spatial_scale)

    def call(self, inputs):
        features, rois = check_roi_inputs("ROIPooling", inputs)
        pooled_h, pooled_w = self.pooled_size
        shape = tf.shape(features)
        height, width = shape[1], shape[2]
        batch_index = tf.cast(rois[:, 0], "int32")
        corners = _round_half_away(rois[:, 1:] * self.spatial_scale)
        row_lo, row_hi = roi_bin_bounds(corners[:, 1], corners[:, 3], pooled_h, height)
        col_lo, col_hi = roi_bin_bounds(corners[:, 0], corners[:, 2], pooled_w, width)
        # Every sub-window is padded to the largest one; offsets past its end are masked.
        max_rows = tf.maximum(tf.reduce_max(row_hi - row_lo), 1)
        max_cols = tf.maximum(tf.reduce_max(col_hi - col_lo), 1)
        rows = row_lo[:, :, None] + tf.range(max_rows)[None, None, :]  # (R, h2, kh)
        cols = col_lo[:, :, None] + tf.range(max_cols)[None, None, :]  # (R, w2, kw)
        row_valid = rows < row_hi[:, :, None]
        col_valid = cols < col_hi[:, :, None]
        rows = tf.minimum(rows, height - 1)
        cols = tf.minimum(cols, width - 1)
        num_rois = tf.shape(rois)[0]
        grid_shape = tf.stack([num_rois, pooled_h, max_rows, pooled_w, max_cols])
        index = tf.stack([
            tf.broadcast_to(batch_index[:, None, None, None, None], grid_shape),
            tf.broadcast_to(rows[:, :, :, None, None], grid_shape),
            tf.broadcast_to(cols[:, None, None, :, :], grid_shape),
        ], axis=-1)
        values = tf.gather_nd(features, index)  # (R, h2, kh, w2, kw, C)
        valid = row_valid[:, :, :, None, None] & col_valid[:, None, None, :, :]
        lowest = tf.constant(np.finfo(np.float32).min, features.dtype)
        values = tf.where(valid[..., None], values, lowest)
        pooled = tf.reduce_max(values, axis=[2, 4])
        nonempty = (row_hi > row_lo)[:, :, None] & (col_hi > col_lo)[:, None, :]
        return tf.where(nonempty[..., None], pooled, tf.zeros_like(pooled))

    def compute_output_shape(self, input_shape):
        features_shape, rois_shape = input_shape
        return (rois_shape[0], *self.pooled_size, features_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"pooled_size": self.pooled_size, "spatial_scale": self.spatial_scale})
        return config
