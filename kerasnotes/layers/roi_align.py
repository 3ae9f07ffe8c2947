"""ROI Align: region-of-interest pooling with bilinear sampling instead of rounding."""

import keras
import tensorflow as tf

from kerasnotes._checks import check_int, check_int_pair, check_number
from kerasnotes.layers.roi_pooling import check_roi_inputs


@keras.saving.register_keras_serializable(package="kerasnotes")
class ROIAlign(keras.layers.Layer):
    """ROI Align (Mask R-CNN): the ROI pooling variant without coordinate rounding.

    For comparison with `ROIPooling`: the region is not rounded to the feature grid; each
    of its `h2 x w2` equal sub-windows is sampled at `k x k` regularly spaced points
    (`k = sampling_ratio`) by bilinear interpolation and the samples are averaged. With
    `s = spatial_scale` and pixel centers at integer feature coordinates (the "aligned"
    convention, `u = x * s - 0.5`):

        u1 = x1 * s - 0.5, v1 = y1 * s - 0.5, bw = (x2 - x1) * s / w2, bh = (y2 - y1) * s / h2
        sample (a, b) of cell (i, j): v = v1 + (i + (a + 0.5) / k) * bh,
                                      u = u1 + (j + (b + 0.5) / k) * bw
        y[r, i, j, c] = mean over a, b of bilinear(X[batch_index], v, u, c)

    computed with one `tf.image.crop_and_resize` to `(h2 k, w2 k)` (whose samples are
    exactly those points) and a `k x k` average pooling. Samples outside `[0, H - 1] x
    [0, W - 1]` count as 0 (`crop_and_resize`'s extrapolation value).

    Args:
        pooled_size: `h2` or `(h2, w2)`.
        spatial_scale: factor from region coordinates to feature-map coordinates.
        sampling_ratio: `k`, samples per sub-window along each axis.

    Call arguments:
        inputs: `[features (N, H, W, C), rois (R, 5)]` with rows `(batch_index, x1, y1, x2,
            y2)` as for `ROIPooling`.

    Returns:
        `(R, h2, w2, C)`.

    Example:

    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> rois = np.array([[0, 0, 0, 20, 20]], "float32")
    >>> ROIAlign(2, spatial_scale=0.1, sampling_ratio=1)([x, rois])[0, ..., 0].numpy()
    array([[0., 1.],
           [4., 5.]], dtype=float32)
    """

    def __init__(self, pooled_size, spatial_scale=1.0, sampling_ratio=2, **kwargs):
        super().__init__(**kwargs)
        self.pooled_size = check_int_pair("ROIAlign", "pooled_size", pooled_size)
        self.spatial_scale = check_number("ROIAlign", "spatial_scale", spatial_scale,
                                          exclusive_minimum=0)
        self.sampling_ratio = check_int("ROIAlign", "sampling_ratio", sampling_ratio)

    def call(self, inputs):
        features, rois = check_roi_inputs("ROIAlign", inputs)
        pooled_h, pooled_w = self.pooled_size
        k = self.sampling_ratio
        crop_h, crop_w = pooled_h * k, pooled_w * k
        shape = tf.shape(features)
        height = tf.cast(shape[1], "float32")
        width = tf.cast(shape[2], "float32")
        x1, y1, x2, y2 = tf.unstack(rois[:, 1:] * self.spatial_scale - 0.5, axis=1)
        step_x = (x2 - x1) / crop_w
        step_y = (y2 - y1) / crop_h
        # crop_and_resize samples y1' + t * (y2' - y1') * (H - 1) / (n - 1), t = 0..n-1
        # (the box centre when n == 1): put the first and last samples at sub-bin centres.
        first_x, last_x = x1 + 0.5 * step_x, x2 - 0.5 * step_x
        first_y, last_y = y1 + 0.5 * step_y, y2 - 0.5 * step_y
        boxes = tf.stack([
            first_y / tf.maximum(height - 1.0, 1.0), first_x / tf.maximum(width - 1.0, 1.0),
            last_y / tf.maximum(height - 1.0, 1.0), last_x / tf.maximum(width - 1.0, 1.0),
        ], axis=1)
        crops = tf.image.crop_and_resize(
            tf.cast(features, "float32"), boxes, tf.cast(rois[:, 0], "int32"),
            (crop_h, crop_w), method="bilinear", extrapolation_value=0.0)
        pooled = tf.nn.avg_pool2d(crops, ksize=k, strides=k, padding="VALID")
        return tf.cast(pooled, features.dtype)

    def compute_output_shape(self, input_shape):
        features_shape, rois_shape = input_shape
        return (rois_shape[0], *self.pooled_size, features_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({
            "pooled_size": self.pooled_size,
            "spatial_scale": self.spatial_scale,
            "sampling_ratio": self.sampling_ratio,
        })
        return config
