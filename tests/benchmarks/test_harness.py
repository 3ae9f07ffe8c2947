"""The benchmarks' shared equality check."""

import numpy as np
import pytest
import tensorflow as tf

from benchmarks import harness


def test_check_close_gives_the_largest_relative_difference_over_nested_outputs():
    ours = [tf.constant([1.0, 2.0]), {"b": np.array([4.0]), "a": tf.constant([1.0], tf.bfloat16)}]
    theirs = [np.array([1.0, 2.1]), {"a": np.array([1.0]), "b": np.array([4.0])}]
    assert harness.check_close(ours, theirs, 0.1) == pytest.approx(0.1 / 2.1, rel=1e-5)


def test_check_close_ends_the_run_with_one_error_line_above_the_limit():
    with pytest.raises(SystemExit, match="^error: the kernel and XLA differ by 5.00e-01 "
                                         "\\(limit 1e-05\\)$"):
        harness.check_close([np.array([1.0])], [np.array([2.0])], 1e-5, "the kernel and XLA")
