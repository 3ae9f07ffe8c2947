"""Region-of-interest (ROI) pooling of Fast R-CNN."""

import keras
import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int_pair, check_number


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
        checks = [
            tf.debugging.assert_greater_equal(
                rois[:, 3:5], rois[:, 1:3],
                message=f"{layer_name}: a region has x2 < x1 or y2 < y1"),
            tf.debugging.assert_non_negative(rois[:, 0],
                                             message=f"{layer_name}: a batch index is negative"),
            tf.debugging.assert_less(tf.cast(rois[:, 0], "int32"), num_images,
                                     message=f"{layer_name}: a batch index is >= the batch size"),
        ]
        # The pooling reads the returned tensors, so it runs only after the checks passed
        # (a gather with a bad index would otherwise fail first, with TF's own message).
        with tf.control_dependencies(checks):
            features, rois = tf.identity(features), tf.identity(rois)
    return features, rois


def _round_half_away(x):
    # C's round(), as Caffe/MXNet's ROIPooling uses (tf.round rounds half to even).
    return tf.sign(x) * tf.floor(tf.abs(x) + 0.5)


def roi_bin_bounds(start, end, pooled, limit):
    """Start/end (exclusive) int indices `(R, pooled)` of the sub-windows along one axis.

    `start` and `end` are the int32 `(R,)` rounded region bounds. With
    `size = max(end - start + 1, 1)`, sub-window `p` spans
    `[start + floor(p * size / pooled), start + ceil((p + 1) * size / pooled))`, clipped to
    `[0, limit]`. Computed with integer division, so it is exact (in float32, and after
    graph rewrites of `size / pooled`, `(p + 1) * bin` can land just above an integer).
    """
    size = tf.maximum(end - start + 1, 1)[:, None]
    p = tf.range(pooled)[None, :]
    lo = (p * size) // pooled + start[:, None]
    hi = -((-(p + 1) * size) // pooled) + start[:, None]
    return tf.clip_by_value(lo, 0, limit), tf.clip_by_value(hi, 0, limit)


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
    maximal elements (ties share it equally).

    Method (no Python loop over regions): the pixels of every sub-window are listed as
    indices into the flattened map, from a padded `(R, h2, w2, kh, kw)` grid of candidate
    (row, column) pairs (`kh`, `kw`: the largest sub-window of the batch) from which only
    the ones inside their sub-window are kept, so a pixel shared by two overlapping
    floor/ceil sub-windows appears once in each and padding is never gathered. One
    `tf.gather` of those pixels' channel vectors and one sorted `tf.math.segment_max`
    (segment = output cell) give the result; an empty sub-window is given a single entry
    pointing at an extra row of zeros. `segment_max`'s gradient shares ties equally, and
    `gather`'s scatters it back to the feature map.

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
        self.pooled_size = check_int_pair("ROIPooling", "pooled_size", pooled_size)
        self.spatial_scale = check_number("ROIPooling", "spatial_scale", spatial_scale,
                                          exclusive_minimum=0)

    def call(self, inputs):
        features, rois = check_roi_inputs("ROIPooling", inputs)
        pooled_h, pooled_w = self.pooled_size
        shape = tf.shape(features)
        num_images, height, width = shape[0], shape[1], shape[2]
        channels = features.shape[-1] if features.shape[-1] is not None else shape[3]
        num_rois = tf.shape(rois)[0]
        batch_index = tf.cast(rois[:, 0], "int32")
        corners = tf.cast(_round_half_away(rois[:, 1:] * self.spatial_scale), "int32")
        row_lo, row_hi = roi_bin_bounds(corners[:, 1], corners[:, 3], pooled_h, height)
        col_lo, col_hi = roi_bin_bounds(corners[:, 0], corners[:, 2], pooled_w, width)

        # Candidate pixels of every cell on a grid (R, h2, w2, kh, kw) padded to the
        # largest sub-window; `inside` marks the ones that belong to their cell.
        max_rows = tf.maximum(tf.reduce_max(row_hi - row_lo), 1)
        max_cols = tf.maximum(tf.reduce_max(col_hi - col_lo), 1)
        rows = row_lo[:, :, None] + tf.range(max_rows)  # (R, h2, kh)
        cols = col_lo[:, :, None] + tf.range(max_cols)  # (R, w2, kw)
        row_inside = rows < row_hi[:, :, None]
        col_inside = cols < col_hi[:, :, None]
        inside = row_inside[:, :, None, :, None] & col_inside[:, None, :, None, :]
        pixel = ((batch_index[:, None, None, None, None] * height
                  + rows[:, :, None, :, None]) * width + cols[:, None, :, None, :])
        cell = tf.reshape(tf.range(num_rois * pooled_h * pooled_w),
                          [num_rois, pooled_h, pooled_w, 1, 1])
        # An empty cell keeps its first candidate, pointed at a row of zeros appended to
        # the flattened map, so that every cell has an entry and its max is 0.
        zero_row = num_images * height * width
        empty = ~tf.reduce_any(inside, axis=[3, 4], keepdims=True)
        first = (tf.range(max_rows)[:, None] == 0) & (tf.range(max_cols)[None, :] == 0)
        keep = inside | (empty & first)
        pixel = tf.boolean_mask(tf.where(inside, pixel, zero_row), keep)
        cell = tf.boolean_mask(tf.broadcast_to(cell, tf.shape(keep)), keep)  # sorted

        flat = tf.concat([tf.reshape(features, [-1, channels]),
                          tf.zeros([1, channels], features.dtype)], axis=0)
        pooled = tf.math.segment_max(tf.gather(flat, pixel), cell)  # (R * h2 * w2, C)
        return tf.reshape(pooled, [num_rois, pooled_h, pooled_w, channels])

    def compute_output_shape(self, input_shape):
        features_shape, rois_shape = input_shape
        return (rois_shape[0], *self.pooled_size, features_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"pooled_size": self.pooled_size, "spatial_scale": self.spatial_scale})
        return config
