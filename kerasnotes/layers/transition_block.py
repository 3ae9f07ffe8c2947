"""The transition layer of DenseNet."""

import keras

from kerasnotes._checks import check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class TransitionBlock(keras.layers.Layer):
    """Transition layer: BN -> ReLU -> 1x1 conv -> 2x2 average pooling with stride 2.

    The notes' transition layer between dense blocks: the 1x1 convolution reduces the
    channels (DenseNet uses half of its input channels) and the average pooling halves
    height and width:

        y = avgpool2x2_stride2(conv1x1(relu(BN(x)), filters channels))

    Args:
        filters: output channels of the 1x1 convolution.

    Call arguments:
        inputs: `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        `(batch, height // 2, width // 2, filters)`.

    Example:

    >>> block = TransitionBlock(10)
    >>> block(np.zeros((4, 8, 8, 23), "float32")).shape
    TensorShape([4, 4, 4, 10])
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("TransitionBlock", "filters", filters)
        self.bn = keras.layers.BatchNormalization(name="bn", dtype=self.dtype_policy)
        self.conv = keras.layers.Conv2D(self.filters, 1, name="conv", dtype=self.dtype_policy)
        self.pool = keras.layers.AveragePooling2D(pool_size=2, strides=2, name="pool",
                                                  dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.bn.build(shape)
        self.conv.build(shape)
        self.pool.build(self.conv.compute_output_shape(shape))

    def call(self, inputs, training=None):
        x = keras.ops.relu(self.bn(inputs, training=training))
        return self.pool(self.conv(x))

    def compute_output_shape(self, input_shape):
        shape = self.conv.compute_output_shape(tuple(input_shape))
        return self.pool.compute_output_shape(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters})
        return config
