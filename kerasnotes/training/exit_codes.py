"""How a training process ends: its exit code and one line for each expected failure (the
apps' `run_cli` and the multi-worker test jobs use them).

    0    done
    2    bad input: a `ValueError` or `OSError` (one line naming the flag, file or shape), or
         out of memory
    3    training diverged (`NonFiniteLossError`: nothing non-finite was saved; rerun with a
         lower learning rate to resume from the last good checkpoint)
    4    lost a worker (`WorkerLostError`: restart every worker to resume)
    75   preempted (`Preempted`: on SIGTERM every worker saved the current step; rerun)
    130  interrupted (Ctrl-C; rerun to resume)

Example:

    try:
        trainer.fit(data, epochs=10)
    except Exception as error:
        code, line = failure_exit(error)
        if code is None:
            raise  # a bug: the whole traceback
        print(line, file=sys.stderr)
        sys.exit(code)
"""

from kerasnotes.training.checkpoints import NonFiniteLossError
from kerasnotes.training.preemption import (
    EXIT_PREEMPTED,
    EXIT_WORKER_LOST,
    Preempted,
    lost_worker_error,
)
from kerasnotes.utils.memory_budget import is_out_of_memory

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


def one_line(error):
    """The error's message on one line (an `OSError` as `file: reason`)."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split())


def failure_exit(error, describe=one_line, memory_advice="use smaller batches or inputs"):
    """`(exit code, line)` of an expected failure `error` (the table above), or `(None, None)`
    for any other error. `describe(error)` words a bad input's line; `memory_advice` ends
    the out-of-memory line."""
    lost = lost_worker_error(error)
    if isinstance(error, Preempted):
        return EXIT_PREEMPTED, f"preempted: {error}"
    if lost is not None:
        return EXIT_WORKER_LOST, f"error: {lost}"
    if isinstance(error, NonFiniteLossError):
        return EXIT_DIVERGED, f"error: {error}"
    if isinstance(error, (ValueError, OSError)):
        return EXIT_BAD_INPUT, f"error: {describe(error)}"
    if is_out_of_memory(error):
        return EXIT_BAD_INPUT, f"error: out of memory ({one_line(error)[:300]}); {memory_advice}"
    return None, None
