"""Generalized rectifiers: max(0, x) + a * min(0, x) (leaky ReLU, absolute value, PReLU)."""


import keras
from keras import ops

from kerasnotes._checks import check_bool, check_ints, check_number


@keras.saving.register_keras_serializable(package="kerasnotes")
class GeneralizedReLU(keras.layers.Layer):
    """The notes' rectifier family `g(x) = max(0, x) + a * min(0, x)`.

    - `a = 0`: ReLU; a small fixed `a`: leaky ReLU (`GeneralizedReLU.leaky()`);
    - `a = -1`: the absolute value rectifier `|x|` (`GeneralizedReLU.absolute_value()`);
    - a learnable `a`: parametric ReLU, PReLU (`GeneralizedReLU.parametric()`), with one `a` per
      channel (last axis) by default, or any sharing pattern through `shared_axes`.

    Args:
        alpha: the slope `a` for `x < 0` (the initial value when `learnable`).
        learnable: whether `a` is a trainable weight.
        shared_axes: only with `learnable`: the axes (1-based, batch excluded) along which one
            `a` is shared, as in `keras.layers.PReLU`. `None` (default) shares over every axis
            but the last: one `a` per channel. `()` learns one `a` per element.

    Call arguments:
        inputs: a tensor `(batch, ..., channels)`.

    Returns:
        a tensor of the same shape.

    Example:

    >>> GeneralizedReLU(alpha=-1.0)(np.array([[-2.0, 3.0]]))  # [[2, 3]]
    >>> prelu = GeneralizedReLU.parametric(alpha=0.25)
    >>> prelu(np.zeros((2, 5, 5, 3), "float32")).shape, prelu.alpha.shape
    (TensorShape([2, 5, 5, 3]), (1, 1, 3))
    """

    def __init__(self, alpha=0.0, learnable=False, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        alpha = check_number("GeneralizedReLU", "alpha", alpha)
        learnable = check_bool("GeneralizedReLU", "learnable", learnable)
        if shared_axes is not None:
            if isinstance(shared_axes, int):
                shared_axes = (shared_axes,)
            shared_axes = tuple(shared_axes)
            if not learnable:
                raise ValueError("GeneralizedReLU: shared_axes only applies when learnable=True; "
                                 f"received shared_axes={shared_axes}")
            # Positive: axis 0 is the batch.
            shared_axes = check_ints("GeneralizedReLU", "shared_axes", shared_axes, min_length=0)
        self.alpha_value = alpha
        self.learnable = learnable
        self.shared_axes = shared_axes
        self.supports_masking = True
        if not learnable:
            self.built = True

    @classmethod
    def leaky(cls, alpha=0.01, **kwargs):
        """Leaky ReLU: a small fixed slope `a` (like `keras.layers.LeakyReLU(alpha)`)."""
        return cls(alpha=alpha, learnable=False, **kwargs)

    @classmethod
    def absolute_value(cls, **kwargs):
        """The absolute value rectifier `g(x) = |x|` (`a = -1`)."""
        return cls(alpha=-1.0, learnable=False, **kwargs)

    @classmethod
    def parametric(cls, alpha=0.25, shared_axes=None, **kwargs):
        """PReLU: a learnable `a` starting at `alpha`, per channel unless `shared_axes` says."""
        return cls(alpha=alpha, learnable=True, shared_axes=shared_axes, **kwargs)

    def build(self, input_shape):
        if not self.learnable:
            return
        rank = len(input_shape)
        if rank < 2:
            raise ValueError(f"GeneralizedReLU: a learnable alpha needs inputs of rank >= 2 "
                             f"(batch, ...); received input_shape={input_shape}")
        shared = self.shared_axes if self.shared_axes is not None else tuple(range(1, rank - 1))
        if any(axis >= rank for axis in shared):
            raise ValueError(f"GeneralizedReLU: shared_axes={self.shared_axes} out of range for "
                             f"input_shape={input_shape}")
        param_shape = [1 if axis in shared else input_shape[axis] for axis in range(1, rank)]
        if None in param_shape:
            raise ValueError("GeneralizedReLU: unshared axes of the input must be known; "
                             f"received input_shape={input_shape}, shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(
            shape=tuple(param_shape), name="alpha",
            initializer=keras.initializers.Constant(self.alpha_value))

    def call(self, inputs):
        alpha = self.alpha if self.learnable else self.alpha_value
        return ops.maximum(inputs, 0.0) + alpha * ops.minimum(inputs, 0.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha": self.alpha_value,
            "learnable": self.learnable,
            "shared_axes": None if self.shared_axes is None else list(self.shared_axes),
        })
        return config
