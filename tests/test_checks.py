"""The shared argument checks of `kerasnotes/_checks.py`: values, normal forms, messages."""

import doctest
import re

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes import _checks
from kerasnotes._checks import (
    check_bool,
    check_choice,
    check_int,
    check_int_pair,
    check_ints,
    check_number,
    check_numbers,
    check_range,
    check_stateless_seed,
    invalid,
)


def raises(message):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


def test_docstring_examples():
    assert doctest.testmod(_checks).failed == 0


def test_invalid_is_the_shared_message():
    error = invalid("Pool2D", "padding", "full", "'valid' or 'same'")
    assert isinstance(error, ValueError)
    assert str(error) == "Pool2D: padding must be 'valid' or 'same'; received padding='full'"


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(2)])
def test_check_int_accepts_integers_and_returns_python_ints(value):
    result = check_int("LeNet", "num_classes", value)
    assert result == value and type(result) is int


@pytest.mark.parametrize("value", [0, -1, 2.0, 1.5, True, "3", None, [2]])
def test_check_int_refuses_non_positive_and_non_integers(value):
    with raises(f"LeNet: num_classes must be a positive integer; received num_classes={value!r}"):
        check_int("LeNet", "num_classes", value)


@pytest.mark.parametrize(
    "kwargs, good, bad, requirement",
    [
        (dict(minimum=0), 0, -1, "a non-negative integer"),
        (dict(minimum=2), 2, 1, "an integer >= 2"),
        (dict(minimum=None), -5, 1.0, "an integer"),
        (dict(maximum=4), 4, 5, "an integer in [1, 4]"),
        (dict(minimum=None, maximum=4), -3, 5, "an integer <= 4"),
        (dict(allow_none=True), None, 0, "a positive integer or None"),
        (dict(minimum=None, allow_none=True), None, "x", "an integer or None"),
    ],
)
def test_check_int_bounds_and_wording(kwargs, good, bad, requirement):
    assert check_int("F", "n", good, **kwargs) == good
    with raises(f"F: n must be {requirement}; received n={bad!r}"):
        check_int("F", "n", bad, **kwargs)


def test_check_ints():
    assert check_ints("SSDBaseNetwork", "filters", [16, np.int64(32)]) == (16, 32)
    assert check_ints("MLP", "hidden_units", (), min_length=0) == ()
    assert check_ints("M", "layer_sizes", range(2, 5), min_length=2) == (2, 3, 4)
    for values in [(), (16, 0), (16, 2.0), (True,), 16, "16", None]:
        with raises("SSDBaseNetwork: filters must be a non-empty sequence of positive "
                    f"integers; received filters={values!r}"):
            check_ints("SSDBaseNetwork", "filters", values)
    with raises("M: layer_sizes must be a sequence of at least 2 positive integers; "
                "received layer_sizes=(4,)"):
        check_ints("M", "layer_sizes", (4,), min_length=2)
    with raises("G: shared_axes must be a sequence of positive integers; "
                "received shared_axes=(0,)"):
        check_ints("G", "shared_axes", (0,), min_length=0)


def test_check_int_pair():
    assert check_int_pair("Conv2D", "kernel_size", 3) == (3, 3)
    assert check_int_pair("Conv2D", "kernel_size", [3, np.int64(5)]) == (3, 5)
    assert check_int_pair("Conv2D", "padding", (0, 1), minimum=0) == (0, 1)
    for value in [0, (3, 0), (3, 3, 3), (3.0, 3), True, "33", None]:
        with raises("Conv2D: kernel_size must be a positive integer or a pair of positive "
                    f"integers; received kernel_size={value!r}"):
            check_int_pair("Conv2D", "kernel_size", value)
    with raises("f: image_size must be a pair of positive integers; received image_size=32"):
        check_int_pair("f", "image_size", 32, allow_single=False)
    with raises("f: padding must be a non-negative integer or a pair of non-negative "
                "integers; received padding=-1"):
        check_int_pair("f", "padding", -1, minimum=0)


@pytest.mark.parametrize(
    "bounds, good, bad, requirement",
    [
        (dict(minimum=0), 0.0, -0.1, ">= 0"),
        (dict(exclusive_minimum=0), 1e-8, 0.0, "> 0"),
        (dict(exclusive_minimum=1), 1.5, 1, "> 1"),
        (dict(minimum=0, maximum=1), 1.0, 1.5, "in [0, 1]"),
        (dict(minimum=0, exclusive_maximum=1), 0.0, 1.0, "in [0, 1)"),
        (dict(exclusive_minimum=0, maximum=1), 1, 0, "in (0, 1]"),
        (dict(maximum=1), -3.0, 2, "<= 1"),
        (dict(exclusive_maximum=1), 0.5, 1, "< 1"),
        ({}, -3.5, "x", "a finite number"),
    ],
)
def test_check_number_bounds_and_wording(bounds, good, bad, requirement):
    result = check_number("F", "x", good, **bounds)
    assert result == good and type(result) is float
    with raises(f"F: x must be {requirement}; received x={bad!r}"):
        check_number("F", "x", bad, **bounds)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_check_number_refuses_non_finite_values(value):
    with raises(f"F: x must be a finite number >= 0; received x={value!r}"):
        check_number("F", "x", value, minimum=0)
    with raises(f"F: x must be a finite number; received x={value!r}"):
        check_number("F", "x", value)


def test_check_number_types():
    assert check_number("F", "x", np.float32(0.5), minimum=0) == 0.5
    assert check_number("F", "x", 2, minimum=0) == 2.0
    for value in [True, "0.5", None, [0.5]]:
        with raises(f"F: x must be >= 0; received x={value!r}"):
            check_number("F", "x", value, minimum=0)


def test_check_number_lets_tensors_through_only_when_asked():
    tensor, variable = tf.constant(-1.0), tf.Variable(-1.0)
    assert check_number("F", "x", tensor, minimum=0, allow_tensor=True) is tensor
    assert check_number("F", "x", variable, minimum=0, allow_tensor=True) is variable
    assert check_number("F", "x", 0.5, minimum=0, allow_tensor=True) == 0.5
    with raises("F: x must be >= 0; received x=-1"):
        check_number("F", "x", -1, minimum=0, allow_tensor=True)
    with raises("F: x must be >= 0; received x=np.float64(-1.0)"):
        check_number("F", "x", np.float64(-1.0), minimum=0, allow_tensor=True)
    with pytest.raises(ValueError, match="F: x must be >= 0"):
        check_number("F", "x", tensor, minimum=0)


def test_check_numbers():
    assert check_numbers("multibox_prior", "sizes", [0.5, 1], exclusive_minimum=0) == (0.5, 1.0)
    for values in [[], [0.5, 0], "big", [0.5, float("nan")], None]:
        with raises("multibox_prior: sizes must be a non-empty sequence of positive numbers; "
                    f"received sizes={values!r}"):
            check_numbers("multibox_prior", "sizes", values, exclusive_minimum=0)
    with raises("F: p must be a sequence of numbers in [0, 1]; received p=[2]"):
        check_numbers("F", "p", [2], minimum=0, maximum=1, min_length=0)


def test_check_range():
    result = check_range("ImageAugmentation", "crop_area", [0.1, np.float32(1)],
                         exclusive_minimum=0, maximum=1)
    assert result == (0.1, 1.0) and all(type(v) is float for v in result)
    assert check_range("F", "r", (2, 2)) == (2.0, 2.0)
    for value in [(0.0, 1.0), (0.5, 1.2), (0.8, 0.5), (0.5,), (0.1, 0.5, 1.0), 0.5, "ab", None,
                  (0.5, float("nan"))]:
        with raises("ImageAugmentation: crop_area must be a pair (low, high) of numbers in "
                    f"(0, 1] with low <= high; received crop_area={value!r}"):
            check_range("ImageAugmentation", "crop_area", value, exclusive_minimum=0, maximum=1)
    with raises("ImageAugmentation: aspect_ratio must be a pair (low, high) of positive "
                "numbers with low <= high; received aspect_ratio=(2.0, 0.5)"):
        check_range("ImageAugmentation", "aspect_ratio", (2.0, 0.5), exclusive_minimum=0)
    with raises("F: r must be a pair (low, high) of finite numbers with low <= high; "
                "received r=(1, inf)"):
        check_range("F", "r", (1, float("inf")))


def test_check_bool():
    assert check_bool("Residual", "use_1x1conv", False) is False
    result = check_bool("make_minibatch_dataset", "replacement", np.bool_(True))
    assert result is True
    for value in [0, 1, "yes", None]:
        with raises(f"Residual: use_1x1conv must be True or False; received "
                    f"use_1x1conv={value!r}"):
            check_bool("Residual", "use_1x1conv", value)


def test_check_choice():
    assert check_choice("Pool2D", "mode", "avg", ("max", "avg")) == "avg"
    assert check_choice("ResNet", "depth", 18, (18, 34)) == 18
    for value in ["min", None, ["max"], "MAX"]:
        with raises(f"Pool2D: mode must be one of ('max', 'avg'); received mode={value!r}"):
            check_choice("Pool2D", "mode", value, ("max", "avg"))
    with raises("F: cell must be one of {'rnn': 1}; received cell=['rnn']"):
        check_choice("F", "cell", ["rnn"], {"rnn": 1})


def test_check_stateless_seed():
    for value, dtype in [([1, 2], tf.int32), ((1, 2), tf.int32),
                         (tf.constant([1, 2], tf.int64), tf.int64), (np.array([3, 4]), tf.int64)]:
        seed = check_stateless_seed("random_color_jitter", "seed", value)
        assert seed.dtype == dtype and seed.numpy().tolist() == list(np.asarray(value))
    for value in [[1, 2, 3], [0.5, 1.0], 7, [[1, 2]], "ab", [1, "a"], None]:
        with raises("random_color_jitter: seed must be an int32/int64 tensor of shape (2,); "
                    f"received seed={value!r}"):
            check_stateless_seed("random_color_jitter", "seed", value)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.int64)])
    def unknown_shape(seed):
        return check_stateless_seed("f", "seed", seed)

    assert unknown_shape(tf.constant([5, 6], tf.int64)).numpy().tolist() == [5, 6]
