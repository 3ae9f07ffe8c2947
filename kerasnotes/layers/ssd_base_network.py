"""The SSD base network (基础网络块): three down-sample blocks."""

import keras

from kerasnotes._checks import check_ints
from kerasnotes.layers.down_sample_block import DownSampleBlock


@keras.saving.register_keras_serializable(package="kerasnotes")
class SSDBaseNetwork(keras.layers.Layer):
    """SSD's base network: `DownSampleBlock`s in series, 16, 32 and 64 channels by default.

    The notes' 基础网络块 chains three 高宽减半块 with 16, 32 and 64 channels, so a 256x256
    image becomes a 32x32 feature map with 64 channels (the first scale at which TinySSD
    predicts):

        y = DownSampleBlock(f_3)(DownSampleBlock(f_2)(DownSampleBlock(f_1)(x)))

    Args:
        filters: the channels of each block, default `(16, 32, 64)`.

    Call arguments:
        inputs: images `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        `(batch, height // 2**n, width // 2**n, filters[-1])` for `n = len(filters)`.

    Example:

    >>> base = SSDBaseNetwork()
    >>> base(np.zeros((1, 256, 256, 3), "float32")).shape
    TensorShape([1, 32, 32, 64])
    """

    def __init__(self, filters=(16, 32, 64), **kwargs):
        super().__init__(**kwargs)
        self.filters = check_ints("SSDBaseNetwork", "filters", filters)
        self.blocks = [
            DownSampleBlock(f, name=f"down_sample{i + 1}", dtype=self.dtype_policy)
            for i, f in enumerate(self.filters)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for block in self.blocks:
            x = block(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for block in self.blocks:
            shape = block.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update({"filters": list(self.filters)})
        return config
