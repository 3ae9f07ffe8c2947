"""The dense block of DenseNet."""

import keras

from kerasnotes._checks import check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class DenseBlock(keras.layers.Layer):
    """Dense block: `num_convs` times (BN -> ReLU -> 3x3 conv), each output concatenated.

    The notes' dense block replaces ResNet's `+ x` by a concatenation on the channel axis,
    so every convolution sees all earlier outputs:

        repeat num_convs times:
            y = conv3x3(relu(BN(x)), growth_rate channels, padding 1)
            x = concat([x, y], channel axis)

    Each convolution adds `growth_rate` channels (the notes' growth rate = output channels -
    input channels = channels of the convolution).

    Args:
        num_convs: number of BN-ReLU-conv units.
        growth_rate: output channels of each convolution.

    Call arguments:
        inputs: `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        `(batch, height, width, channels + num_convs * growth_rate)`.

    Example:

    >>> block = DenseBlock(num_convs=2, growth_rate=10)
    >>> block(np.zeros((4, 8, 8, 3), "float32")).shape
    TensorShape([4, 8, 8, 23])
    """

    def __init__(self, num_convs, growth_rate, **kwargs):
        super().__init__(**kwargs)
        self.num_convs = check_int("DenseBlock", "num_convs", num_convs)
        self.growth_rate = check_int("DenseBlock", "growth_rate", growth_rate)
        self.norms = [
            keras.layers.BatchNormalization(name=f"bn{i + 1}", dtype=self.dtype_policy)
            for i in range(self.num_convs)
        ]
        self.convs = [
            keras.layers.Conv2D(self.growth_rate, 3, padding="same", name=f"conv{i + 1}",
                                dtype=self.dtype_policy)
            for i in range(self.num_convs)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for norm, conv in zip(self.norms, self.convs, strict=True):
            norm.build(shape)
            conv.build(shape)
            shape = (*shape[:-1], shape[-1] + self.growth_rate)

    def call(self, inputs, training=None):
        x = inputs
        for norm, conv in zip(self.norms, self.convs, strict=True):
            y = conv(keras.ops.relu(norm(x, training=training)))
            x = keras.ops.concatenate([x, y], axis=-1)
        return x

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        channels = input_shape[-1]
        if channels is not None:
            channels += self.num_convs * self.growth_rate
        return (*input_shape[:-1], channels)

    def get_config(self):
        config = super().get_config()
        config.update({"num_convs": self.num_convs, "growth_rate": self.growth_rate})
        return config
