"""The Inception block of GoogLeNet: four parallel paths concatenated on channels."""

import keras

from kerasnotes._checks import check_int, invalid


def _channel_pair(name, value):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise invalid("Inception", name, value,
                      "a pair of channel counts (first conv, second conv)") from None
    return (check_int("Inception", f"{name}[0]", first),
            check_int("Inception", f"{name}[1]", second))


@keras.saving.register_keras_serializable(package="kerasnotes")
class Inception(keras.layers.Layer):
    """Inception block `(n1, (n21, n22), (n31, n32), n4)`: four paths, outputs concatenated.

    The notes' four paths, each convolution followed by ReLU, all with stride 1 so height
    and width are kept:

        path 1: conv1x1(n1)
        path 2: conv1x1(n21) -> conv3x3(n22, padding 1)
        path 3: conv1x1(n31) -> conv5x5(n32, padding 2)
        path 4: maxpool3x3(stride 1, padding 1) -> conv1x1(n4)
        y = concat([path1, path2, path3, path4], channel axis)

    so `y` has `n1 + n22 + n32 + n4` channels. With stride 1 and an odd kernel `k`, Keras'
    `"same"` padding is exactly the notes' `(k - 1) / 2` zeros on each side (the max
    pooling ignores padded positions, as MXNet's does).

    Args:
        n1: channels of path 1.
        n2: `(n21, n22)` channels of path 2's 1x1 and 3x3 convolutions.
        n3: `(n31, n32)` channels of path 3's 1x1 and 5x5 convolutions.
        n4: channels of path 4's 1x1 convolution.

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, height, width, n1 + n22 + n32 + n4)`.

    Example:

    >>> block = Inception(4, (2, 6), (1, 3), 3)
    >>> block(np.zeros((2, 8, 8, 5), "float32")).shape
    TensorShape([2, 8, 8, 16])
    """

    def __init__(self, n1, n2, n3, n4, **kwargs):
        super().__init__(**kwargs)
        self.n1 = check_int("Inception", "n1", n1)
        self.n2 = _channel_pair("n2", n2)
        self.n3 = _channel_pair("n3", n3)
        self.n4 = check_int("Inception", "n4", n4)

        def conv(filters, kernel_size, name):
            return keras.layers.Conv2D(filters, kernel_size, padding="same", activation="relu",
                                       name=name, dtype=self.dtype_policy)

        self.p1_conv = conv(self.n1, 1, "p1_conv")
        self.p2_conv1 = conv(self.n2[0], 1, "p2_conv1")
        self.p2_conv2 = conv(self.n2[1], 3, "p2_conv2")
        self.p3_conv1 = conv(self.n3[0], 1, "p3_conv1")
        self.p3_conv2 = conv(self.n3[1], 5, "p3_conv2")
        self.p4_pool = keras.layers.MaxPooling2D(pool_size=3, strides=1, padding="same",
                                                 name="p4_pool", dtype=self.dtype_policy)
        self.p4_conv = conv(self.n4, 1, "p4_conv")

    def _paths(self):
        return [
            [self.p1_conv],
            [self.p2_conv1, self.p2_conv2],
            [self.p3_conv1, self.p3_conv2],
            [self.p4_pool, self.p4_conv],
        ]

    def build(self, input_shape):
        for path in self._paths():
            shape = tuple(input_shape)
            for layer in path:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        outputs = []
        for path in self._paths():
            x = inputs
            for layer in path:
                x = layer(x)
            outputs.append(x)
        return keras.ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        channels = self.n1 + self.n2[1] + self.n3[1] + self.n4
        return (*tuple(input_shape)[:-1], channels)

    def get_config(self):
        config = super().get_config()
        config.update({"n1": self.n1, "n2": self.n2, "n3": self.n3, "n4": self.n4})
        return config
