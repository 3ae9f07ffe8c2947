"""Input-shape checks shared by the image models.

Every image model is a functional `keras.Model` subclass: it builds its graph on a
`keras.Input(input_shape)` in the constructor. `stack_layers` applies a list of layers and
turns Keras' shape errors (a feature map shrinking below 1x1) into one `ValueError` that
names the model, the layer, the input shape received and the shape that layer got.
"""

import numbers


def validate_image_shape(model_name, input_shape):
    """Checks `input_shape` is `(height, width, channels)` with positive sizes.

    Returns it as a tuple of ints.
    """
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{model_name}: input_shape must be (height, width, channels) of positive "
            f"integers; received input_shape={input_shape!r}"
        ) from None
    if len(shape) != 3 or any(d < 1 for d in shape):
        raise ValueError(
            f"{model_name}: input_shape must be (height, width, channels) of positive "
            f"integers (channels-last); received input_shape={input_shape!r}"
        )
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
                "(for example --resize)."
            ) from None
        spatial = y.shape[1:-1]
        if len(spatial) >= 2 and any(d is not None and d < 1 for d in spatial):
            raise ValueError(
                f"{model_name}: input_shape={tuple(input_shape)} is too small: layer "
                f"'{layer.name}' turns a feature map of shape {received} into "
                f"{tuple(y.shape[1:])}. Use a larger input (for example --resize)."
            )
        x = y
    return x


def positive_int(model_name, argument, value):
    """Returns `value` as an int, or raises `ValueError` naming the model and argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"{model_name}: {argument} must be an integer >= 1; received {argument}={value!r}"
        )
    return int(value)
