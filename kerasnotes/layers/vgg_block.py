"""The VGG block: repeated 3x3 convolutions, then a 2x2 max pooling."""

import keras

from kerasnotes._checks import check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class VGGBlock(keras.layers.Layer):
    """VGG block: `num_convs` 3x3 convolutions with ReLU, then 2x2 max pooling, stride 2.

    The notes' VGG block: several convolutions with a (3, 3) kernel and padding 1 (so height
    and width are kept), all with the same number of output channels, then one max pooling
    with a (2, 2) window and stride 2 (height and width halved, rounded down):

        x <- relu(conv3x3(x))      repeated num_convs times, `filters` channels each
        y = maxpool2x2_stride2(x)

    Args:
        num_convs: number of convolutions in the block (>= 1).
        filters: output channels of every convolution (>= 1).

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, height // 2, width // 2, filters)`.

    Example:

    >>> block = VGGBlock(num_convs=2, filters=8)
    >>> block(np.zeros((2, 16, 16, 3), "float32")).shape
    TensorShape([2, 8, 8, 8])
    """

    def __init__(self, num_convs, filters, **kwargs):
        super().__init__(**kwargs)
        self.num_convs = check_int("VGGBlock", "num_convs", num_convs)
        self.filters = check_int("VGGBlock", "filters", filters)
        self.convs = [
            keras.layers.Conv2D(self.filters, 3, padding="same", activation="relu",
                                name=f"conv{i + 1}", dtype=self.dtype_policy)
            for i in range(self.num_convs)
        ]
        self.pool = keras.layers.MaxPooling2D(pool_size=2, strides=2, name="pool",
                                              dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        self.pool.build(shape)

    def call(self, inputs):
        x = inputs
        for conv in self.convs:
            x = conv(x)
        return self.pool(x)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return self.pool.compute_output_shape(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"num_convs": self.num_convs, "filters": self.filters})
        return config
