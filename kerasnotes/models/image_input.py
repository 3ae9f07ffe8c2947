"""The base of the image models, and the input-shape checks they share.

Every image model is a functional `keras.Model` subclass of `ImageModel`: its constructor
checks its arguments, lists its layers and hands them to `ImageModel.__init__`, which builds
the graph on a `keras.Input(input_shape)` and records the arguments for `get_config()`.
`stack_layers` applies the layers and turns Keras' shape errors (a feature map shrinking
below 1x1) into one `ValueError` that names the model, the layer, the input shape received
and the shape that layer got.
"""

import keras

from kerasnotes._checks import check_ints, invalid


def validate_image_shape(model_name, input_shape):
    """Checks `input_shape` is `(height, width, channels)` with positive sizes.

    Returns it as a tuple of ints.
    """
    try:
        shape = check_ints(model_name, "input_shape", input_shape)
    except ValueError:
        shape = ()
    if len(shape) != 3:
        raise invalid(model_name, "input_shape", input_shape,
                      "(height, width, channels) of positive integers (channels-last)")
    return shape


def stack_layers(model_name, input_shape, x, layers):
    """Applies `layers` in order to the symbolic tensor `x`.

    Raises `ValueError` naming the model and layer when a spatial size would drop below 1.
    """
    for layer in layers:
        received = tuple(x.shape[1:])
        try:
            y = layer(x)
        except ValueError as error:
            raise ValueError(
                f"{model_name}: input_shape={tuple(input_shape)} is too small or of the wrong "
                f"form: layer '{layer.name}' received a feature map of shape {received} "
                f"and cannot process it ({str(error).splitlines()[0]}). Use a larger input "
                "(`resize`, `image_size`)."
            ) from None
        spatial = y.shape[1:-1]
        if len(spatial) >= 2 and any(d is not None and d < 1 for d in spatial):
            raise ValueError(
                f"{model_name}: input_shape={tuple(input_shape)} is too small: layer "
                f"'{layer.name}' turns a feature map of shape {received} into "
                f"{tuple(y.shape[1:])}. Use a larger input (`resize`, "
                "`image_size`)."
            )
        x = y
    return x


def width_function(width_divisor):
    """`channels -> max(1, channels // width_divisor)`: the models' scaled-down widths."""
    return lambda channels: max(1, channels // width_divisor)


class ImageModel(keras.Model):
    """A functional model on images `(batch, height, width, channels)` named `"images"`.

    A subclass checks its own arguments, lists its layers and calls

        super().__init__(model_name, input_shape, layers, arguments, name=name, **kwargs)

    The model is `stack_layers(model_name, input_shape, keras.Input(input_shape), layers)`.
    Each entry of the dict `arguments` (the other constructor arguments, checked) becomes
    an attribute, and `input_shape` the attribute `image_shape` (`Model.input_shape` is
    Keras'); `get_config()` returns them all with the name, so `from_config` rebuilds the
    model. Not registered: the subclasses are.

    Example (the body of `SoftmaxRegression.__init__`):

        layers = [keras.layers.Flatten(), keras.layers.Dense(num_classes, name="logits")]
        super().__init__("SoftmaxRegression", input_shape, layers,
                         {"num_classes": num_classes}, name=name, **kwargs)
    """

    def __init__(self, model_name, input_shape, layers, arguments, **kwargs):
        shape = validate_image_shape(model_name, input_shape)
        inputs = keras.Input(shape=shape, name="images")
        outputs = stack_layers(model_name, shape, inputs, layers)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.image_shape = shape
        self._argument_names = tuple(arguments)
        for key, value in arguments.items():
            setattr(self, key, value)

    def get_config(self):
        config = {"name": self.name, "input_shape": self.image_shape}
        config.update({key: getattr(self, key) for key in self._argument_names})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
