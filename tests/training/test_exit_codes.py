"""kerasnotes.training.exit_codes: the exit code and line of each expected failure."""

import errno

import tensorflow as tf

from kerasnotes.training.checkpoints import NonFiniteLossError
from kerasnotes.training.exit_codes import failure_exit, one_line
from kerasnotes.training.preemption import Preempted


def test_each_expected_failure_has_its_code_and_one_line():
    cases = [
        (Preempted("SIGTERM: saved"), 75, "preempted: SIGTERM: saved"),
        (NonFiniteLossError("loss is nan"), 3, "error: loss is nan"),
        (ValueError("bad\n  shape"), 2, "error: bad shape"),
        (FileNotFoundError(errno.ENOENT, "No such file", "x.csv"), 2,
         "error: x.csv: No such file"),
        (MemoryError("Unable to allocate"), 2,
         "error: out of memory (Unable to allocate); use smaller batches or inputs"),
        (tf.errors.ResourceExhaustedError(None, None, "OOM when allocating"), 2,
         "error: out of memory (OOM when allocating); use smaller batches or inputs"),
    ]
    for error, code, line in cases:
        assert failure_exit(error) == (code, line)


def test_a_bug_is_no_expected_failure_and_a_full_disk_is_not_out_of_memory():
    assert failure_exit(RuntimeError("a bug")) == (None, None)
    full = tf.errors.ResourceExhaustedError(None, None, "No space left on device")
    assert failure_exit(full) == (None, None)


def test_the_caller_words_bad_inputs_and_memory_advice():
    code, line = failure_exit(ValueError("`num_steps` too big"), lambda e: "in its words",
                              "lower --batch-size")
    assert (code, line) == (2, "error: in its words")
    assert one_line(OSError("a\nb")) == "a b"
    assert failure_exit(MemoryError("m"), memory_advice="lower --batch-size")[1].endswith(
        "; lower --batch-size")
