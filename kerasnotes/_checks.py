"""Argument checks shared by the library: layers, models, ops, losses, metrics, optimizers,
data pipelines and the trainer.

Every check returns the value in a normal form (a Python `int`, `float`, `tuple`, ...) or
raises a `ValueError` in one style, naming the owner (the class or function checking its
arguments), the argument, what it must be and the value received:

    LeNet: num_classes must be a positive integer; received num_classes=0
    Dropout: rate must be in [0, 1); received rate=1.0

The wording follows the command-line checks of `apps/flags.py`: integers are "a positive
integer", "a non-negative integer", "an integer >= 2"; numbers are given by their bounds,
"> 0", ">= 0", "in [0, 1)", so a library error and a flag error read alike.

Example:

    >>> check_int("LeNet", "num_classes", 10)
    10
    >>> check_number("Dropout", "rate", 0.5, minimum=0, exclusive_maximum=1)
    0.5
    >>> check_int_pair("Conv2D", "kernel_size", 3)
    (3, 3)
    >>> check_int("LeNet", "num_classes", 0)
    Traceback (most recent call last):
    ValueError: LeNet: num_classes must be a positive integer; received num_classes=0
"""

import math
import numbers

import numpy as np
import tensorflow as tf


def invalid(owner, name, value, requirement):
    """The `ValueError` of the shared style, for checks the functions below do not cover.

    >>> raise invalid("Pool2D", "padding", 1, "'valid' or 'same'")
    Traceback (most recent call last):
    ValueError: Pool2D: padding must be 'valid' or 'same'; received padding=1
    """
    return ValueError(f"{owner}: {name} must be {requirement}; received {name}={value!r}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_words(minimum, maximum, plural=False):
    """'a positive integer', 'an integer in [1, 4]', ...; 'positive integers' if `plural`."""
    noun = "integers" if plural else "integer"
    if maximum is not None:
        text = (f"{noun} in [{minimum}, {maximum}]" if minimum is not None
                else f"{noun} <= {maximum}")
    elif minimum is None:
        text = noun
    else:
        text = {1: f"positive {noun}", 0: f"non-negative {noun}"}.get(minimum,
                                                                    f"{noun} >= {minimum}")
    return text if plural else ("an " if text[0] in "aeiou" else "a ") + text


def _sequence_of(min_length, items):
    if min_length <= 1:
        return f"a {'non-empty ' if min_length else ''}sequence of {items}"
    return f"a sequence of at least {min_length} {items}"


def _int_ok(value, minimum, maximum):
    return (_is_int(value) and (minimum is None or value >= minimum)
            and (maximum is None or value <= maximum))


def check_int(owner, name, value, minimum=1, maximum=None, allow_none=False):
    """`value` as an `int` in `[minimum, maximum]` (a bound of `None` is no bound).

    Bools and floats (even `2.0`) are refused; NumPy integers are accepted. With
    `allow_none`, `None` passes through (an optional count, a seed).

    >>> check_int("DeepRNN", "num_layers", 2)
    2
    >>> check_int("Dropout", "seed", None, minimum=None, allow_none=True) is None
    True
    >>> check_int("FCN", "backbone_groups", 5, maximum=4)
    Traceback (most recent call last):
    ValueError: FCN: backbone_groups must be an integer in [1, 4]; received backbone_groups=5
    """
    if value is None and allow_none:
        return None
    if not _int_ok(value, minimum, maximum):
        requirement = _int_words(minimum, maximum)
        raise invalid(owner, name, value, requirement + (" or None" if allow_none else ""))
    return int(value)


def check_ints(owner, name, values, minimum=1, min_length=1):
    """`values` as a tuple of at least `min_length` ints, each `>= minimum`.

    >>> check_ints("SSDBaseNetwork", "filters", [16, 32])
    (16, 32)
    >>> check_ints("SSDBaseNetwork", "filters", ())
    Traceback (most recent call last):
    ValueError: SSDBaseNetwork: filters must be a non-empty sequence of positive integers; \
received filters=()
    """
    try:
        items = tuple(values) if not isinstance(values, (str, bytes)) else None
    except TypeError:
        items = None
    if items is None or len(items) < min_length or not all(
            _int_ok(v, minimum, None) for v in items):
        raise invalid(owner, name, values,
                      _sequence_of(min_length, _int_words(minimum, None, plural=True)))
    return tuple(int(v) for v in items)


def check_int_pair(owner, name, value, minimum=1, allow_single=True):
    """`value` as a pair `(a, b)` of ints `>= minimum`; one int `n` means `(n, n)`.

    For a window size, a stride, a pooled size, an image size `(height, width)`. With
    `allow_single=False` only a pair is accepted.

    >>> check_int_pair("Pool2D", "strides", (2, 1))
    (2, 1)
    >>> check_int_pair("Pool2D", "pool_size", 0)
    Traceback (most recent call last):
    ValueError: Pool2D: pool_size must be a positive integer or a pair of positive integers; \
received pool_size=0
    """
    if allow_single and _is_int(value):
        pair = (value, value)
    else:
        try:
            pair = tuple(value) if not isinstance(value, (str, bytes)) else ()
        except TypeError:
            pair = ()
    if len(pair) != 2 or not all(_int_ok(v, minimum, None) for v in pair):
        requirement = f"a pair of {_int_words(minimum, None, plural=True)}"
        if allow_single:
            requirement = f"{_int_words(minimum, None)} or {requirement}"
        raise invalid(owner, name, value, requirement)
    return int(pair[0]), int(pair[1])


def _bounds_text(minimum, exclusive_minimum, maximum, exclusive_maximum):
    """'in [0, 1)', '>= 0', '> 0', '<= 1', or '' without bounds."""
    low, low_bracket = (minimum, "[") if minimum is not None else (exclusive_minimum, "(")
    high, high_bracket = (maximum, "]") if maximum is not None else (exclusive_maximum, ")")
    if low is not None and high is not None:
        return f"in {low_bracket}{low}, {high}{high_bracket}"
    if low is not None:
        return f"{'>=' if low_bracket == '[' else '>'} {low}"
    if high is not None:
        return f"{'<=' if high_bracket == ']' else '<'} {high}"
    return ""


def _number_ok(value, minimum, exclusive_minimum, maximum, exclusive_maximum):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value)
            and (minimum is None or value >= minimum)
            and (exclusive_minimum is None or value > exclusive_minimum)
            and (maximum is None or value <= maximum)
            and (exclusive_maximum is None or value < exclusive_maximum))


def _number_words(value, bounds, plural=False):
    """'>= 0', 'in [0, 1)', 'a finite number > 0' (for an infinite or NaN `value`); 'positive
    numbers', 'numbers in [0, 1)', ... if `plural`."""
    text = _bounds_text(*bounds)
    if plural:
        if text == "> 0":
            return "positive numbers"
        return f"numbers {text}" if text else "finite numbers"
    non_finite = isinstance(value, numbers.Real) and not math.isfinite(value)
    return f"a finite number {text}".rstrip() if non_finite or not text else text


def check_number(owner, name, value, minimum=None, maximum=None, exclusive_minimum=None,
                 exclusive_maximum=None, allow_tensor=False):
    """`value` as a finite `float` within the given bounds (JSON Schema's names).

    `minimum`/`maximum` are inclusive, `exclusive_minimum`/`exclusive_maximum` strict;
    NaN and infinities are always refused, and so are bools. With `allow_tensor`, a tensor
    or variable (anything with a `dtype` that is not a Python or NumPy number) is returned
    unchecked: its value is only known when the graph runs.

    >>> check_number("Adam", "beta_1", 0.9, minimum=0, exclusive_maximum=1)
    0.9
    >>> check_number("SGD", "learning_rate", -0.1, minimum=0)
    Traceback (most recent call last):
    ValueError: SGD: learning_rate must be >= 0; received learning_rate=-0.1
    >>> check_number("ROIAlign", "spatial_scale", 0, exclusive_minimum=0)
    Traceback (most recent call last):
    ValueError: ROIAlign: spatial_scale must be > 0; received spatial_scale=0
    """
    if allow_tensor and hasattr(value, "dtype") and not isinstance(value, numbers.Real):
        return value
    bounds = (minimum, exclusive_minimum, maximum, exclusive_maximum)
    if not _number_ok(value, *bounds):
        raise invalid(owner, name, value, _number_words(value, bounds))
    return float(value)


def check_numbers(owner, name, values, minimum=None, maximum=None, exclusive_minimum=None,
                  exclusive_maximum=None, min_length=1):
    """`values` as a tuple of at least `min_length` floats, each as in `check_number`.

    >>> check_numbers("multibox_prior", "ratios", [1, 2, 0.5], exclusive_minimum=0)
    (1.0, 2.0, 0.5)
    """
    bounds = (minimum, exclusive_minimum, maximum, exclusive_maximum)
    try:
        items = tuple(values) if not isinstance(values, (str, bytes)) else None
    except TypeError:
        items = None
    if items is None or len(items) < min_length or not all(
            _number_ok(v, *bounds) for v in items):
        raise invalid(owner, name, values,
                      _sequence_of(min_length, _number_words(None, bounds, plural=True)))
    return tuple(float(v) for v in items)


def check_range(owner, name, value, minimum=None, maximum=None, exclusive_minimum=None,
                exclusive_maximum=None):
    """`value` as a pair `(low, high)` of floats with `low <= high`, both within the bounds.

    For the interval a random value is drawn from (a crop's area fraction, an aspect
    ratio); the bounds are those of `check_number`.

    >>> check_range("ImageAugmentation", "crop_area", [0.1, 1], exclusive_minimum=0, maximum=1)
    (0.1, 1.0)
    >>> check_range("ImageAugmentation", "aspect_ratio", (2, 0.5), exclusive_minimum=0)
    Traceback (most recent call last):
    ValueError: ImageAugmentation: aspect_ratio must be a pair (low, high) of positive numbers \
with low <= high; received aspect_ratio=(2, 0.5)
    """
    bounds = (minimum, exclusive_minimum, maximum, exclusive_maximum)
    try:
        pair = tuple(value) if not isinstance(value, (str, bytes)) else ()
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_number_ok(v, *bounds) for v in pair) or pair[0] > pair[1]:
        raise invalid(owner, name, value, "a pair (low, high) of "
                      f"{_number_words(None, bounds, plural=True)} with low <= high")
    return float(pair[0]), float(pair[1])


def check_bool(owner, name, value):
    """`value` as a Python `bool` if it is `True` or `False` (a NumPy bool too; not `0`,
    `1` or `"yes"`)."""
    if not isinstance(value, (bool, np.bool_)):
        raise invalid(owner, name, value, "True or False")
    return bool(value)


def check_choice(owner, name, value, choices):
    """`value` if it is one of `choices`.

    >>> check_choice("Pool2D", "mode", "min", ("max", "avg"))
    Traceback (most recent call last):
    ValueError: Pool2D: mode must be one of ('max', 'avg'); received mode='min'
    """
    try:
        known = value in choices
    except TypeError:  # an unhashable value looked up in a dict or set
        known = False
    if not known:
        raise invalid(owner, name, value, f"one of {choices}")
    return value


def check_stateless_seed(owner, name, value):
    """`value` as the seed of TF's stateless random ops: an int32/int64 tensor of shape `(2,)`.

    A list or tuple of two ints is converted (to int32). A graph tensor of unknown shape
    passes; its shape is checked by the random op that uses it.

    >>> check_stateless_seed("random_horizontal_flip", "seed", [1, 2]).dtype
    tf.int32
    >>> check_stateless_seed("random_horizontal_flip", "seed", [1, 2, 3])
    Traceback (most recent call last):
    ValueError: random_horizontal_flip: seed must be an int32/int64 tensor of shape (2,); \
received seed=[1, 2, 3]
    """
    try:
        seed = tf.convert_to_tensor(value)
    except (TypeError, ValueError):
        seed = None
    if (seed is None or seed.dtype not in (tf.int32, tf.int64)
            or seed.shape.rank not in (None, 1)
            or (seed.shape.rank == 1 and seed.shape[0] not in (None, 2))):
        raise invalid(owner, name, value, "an int32/int64 tensor of shape (2,)")
    return seed
