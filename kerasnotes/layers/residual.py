"""The residual block of ResNet."""

import keras

from kerasnotes._checks import check_bool, check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class Residual(keras.layers.Layer):
    """Residual block: two 3x3 convolutions with batch norm, added to a shortcut, then ReLU.

    The notes' residual block learns `f(x) - x` and adds `x` back:

        y1 = relu(BN(conv3x3(x, filters, stride=strides, padding 1)))
        y2 = BN(conv3x3(y1, filters, stride 1, padding 1))
        shortcut = conv1x1(x, filters, stride=strides) if use_1x1conv else x
        y = relu(y2 + shortcut)

    Without the 1x1 convolution the input must already have `filters` channels and the
    stride must be 1, so that `y2` and `x` have the same shape. The padding is the notes'
    one zero on every side; for `strides > 1` it is an explicit symmetric `ZeroPadding2D`
    (Keras' `"same"` would pad only the bottom/right for an even input and shift the
    sampling grid by one pixel against the 1x1 shortcut).

    Args:
        filters: output channels of the three convolutions.
        use_1x1conv: whether the shortcut is a 1x1 convolution (needed when the channels or
            the size change).
        strides: stride of the first 3x3 convolution and of the 1x1 shortcut.

    Call arguments:
        inputs: `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics (and updates its
            moving averages) or the moving averages.

    Returns:
        `(batch, ceil(height / strides), ceil(width / strides), filters)`.

    Example:

    >>> block = Residual(8, use_1x1conv=True, strides=2)
    >>> block(np.zeros((2, 6, 6, 3), "float32")).shape
    TensorShape([2, 3, 3, 8])
    """

    def __init__(self, filters, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("Residual", "filters", filters)
        self.strides = check_int("Residual", "strides", strides)
        self.use_1x1conv = check_bool("Residual", "use_1x1conv", use_1x1conv)
        if strides != 1 and not use_1x1conv:
            raise ValueError(f"Residual: strides={strides} changes the size, so the shortcut "
                             "needs use_1x1conv=True; received use_1x1conv=False")
        policy = self.dtype_policy
        if self.strides == 1:
            self.pad1 = None
            first_padding = "same"
        else:
            self.pad1 = keras.layers.ZeroPadding2D(1, name="pad1", dtype=policy)
            first_padding = "valid"
        self.conv1 = keras.layers.Conv2D(self.filters, 3, strides=self.strides,
                                         padding=first_padding, name="conv1", dtype=policy)
        self.bn1 = keras.layers.BatchNormalization(name="bn1", dtype=policy)
        self.conv2 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv2",
                                         dtype=policy)
        self.bn2 = keras.layers.BatchNormalization(name="bn2", dtype=policy)
        if self.use_1x1conv:
            self.shortcut = keras.layers.Conv2D(self.filters, 1, strides=self.strides,
                                                name="shortcut", dtype=policy)
        else:
            self.shortcut = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.use_1x1conv and input_shape[-1] != self.filters:
            raise ValueError(
                f"Residual: without use_1x1conv the input must have filters={self.filters} "
                f"channels to be added to the output; received input shape {input_shape}")
        shape = input_shape
        if self.pad1 is not None:
            self.pad1.build(shape)
            shape = self.pad1.compute_output_shape(shape)
        self.conv1.build(shape)
        shape = self.conv1.compute_output_shape(shape)
        self.bn1.build(shape)
        self.conv2.build(shape)
        self.bn2.build(shape)
        if self.shortcut is not None:
            self.shortcut.build(input_shape)

    def call(self, inputs, training=None):
        x = inputs if self.pad1 is None else self.pad1(inputs)
        y = keras.ops.relu(self.bn1(self.conv1(x), training=training))
        y = self.bn2(self.conv2(y), training=training)
        shortcut = inputs if self.shortcut is None else self.shortcut(inputs)
        return keras.ops.relu(y + shortcut)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        shape = input_shape
        if self.pad1 is not None:
            shape = self.pad1.compute_output_shape(shape)
        return self.conv1.compute_output_shape(shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "use_1x1conv": self.use_1x1conv,
            "strides": self.strides,
        })
        return config
