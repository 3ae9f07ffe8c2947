"""Surviving preemption (SIGTERM) and lost workers: what the Trainer does, and exit codes.

A cluster manager preempts a process by sending it SIGTERM, then SIGKILL after a grace
period. During `Trainer.fit`, SIGTERM to any process makes the run stop at a step boundary
with a checkpoint of that exact step, so that rerunning the same command loses no step:

- single process (default or mirrored strategy): the checkpoint is written at the step
  that is running when the signal arrives;
- multi-worker (`MultiWorkerMirroredStrategy`): TensorFlow's own
  `tf.distribute.experimental.PreemptionCheckpointHandler` tells every worker, through the
  coordination service, after which step to save; all save that same step (the worker
  that got the signal and its peers alike) and stop.

Either way `fit` raises `Preempted` (the apps exit with `EXIT_PREEMPTED`, 75 = EX_TEMPFAIL:
"rerun to resume"). If the step boundary does not come within `STUCK_GRACE_SECONDS` (a
worker waiting in a collective op for a peer that is alive but stuck), a watchdog thread
ends the process with the same code, without a new checkpoint (Ctrl-C likewise, with 130).
A worker that loses a peer (killed, crashed, unreachable: the coordination service's
heartbeats stop) raises `WorkerLostError` naming that peer (the apps exit with
`EXIT_WORKER_LOST`, 4).

Example:

    try:
        trainer.fit(train_data, epochs=10)
    except Preempted as stop:
        print(f"preempted: {stop}")   # e.g. "checkpoint of epoch 2, step 3 ... saved"
        sys.exit(EXIT_PREEMPTED)
"""

import os
import re
import signal
import sys
import threading

import tensorflow as tf
from tensorflow.python.util import deprecation

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: a checkpoint was saved; rerun the same command to resume
EXIT_WORKER_LOST = 4  # a peer worker was lost; restart every worker to resume
EXIT_INTERRUPTED = 130  # Ctrl-C
# After SIGTERM or Ctrl-C, how long a fit may take to reach its save (or end) before the
# watchdog ends the process.
STUCK_GRACE_SECONDS = 30

_TASK = re.compile(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)")
_LOST_PEER_SIGNS = ("heartbeat", "Collective ops is aborted", "coordination service")
_LOST_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError,
                     tf.errors.DeadlineExceededError, tf.errors.CancelledError)


class Preempted(Exception):
    """Training stopped on SIGTERM after saving a checkpoint: rerun to resume."""


class WorkerLostError(RuntimeError):
    """A worker of a multi-worker run stopped answering."""


def worker_name(cluster_spec, task_type, task_id):
    """`'worker 1 (10.0.0.2:2222)'`: how messages name a task."""
    try:
        address = cluster_spec.task_address(task_type, int(task_id))
    except (KeyError, ValueError, IndexError):
        address = None
    return f"{task_type} {task_id}" + (f" ({address})" if address else "")


def lost_worker_error(error, strategy=None, latest_checkpoint=None):
    """The `WorkerLostError` that an op error of a multi-worker run means, or None.

    A collective op fails with `UnavailableError` (or Aborted, DeadlineExceeded, Cancelled)
    when a peer dies or stops sending heartbeats to the coordination service; TensorFlow's
    message names the task (`/job:worker/replica:0/task:1`). The result is one line naming
    it, e.g. "lost worker 1 (10.0.0.2:2222): it stopped sending heartbeats. ...".
    """
    if isinstance(error, WorkerLostError):
        return error
    if not isinstance(error, _LOST_PEER_ERRORS):
        return None
    resolver = getattr(strategy or tf.distribute.get_strategy(), "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()  # TF_CONFIG
    spec = resolver.cluster_spec()
    jobs = spec.as_dict()
    if resolver.task_type is None or sum(len(jobs.get(job, ())) for job in ("chief", "worker")) < 2:
        return None
    own = (resolver.task_type, int(resolver.task_id))
    message = str(getattr(error, "message", error))
    named = message.partition("unhealthy")[2] or message  # not the task that reported it
    peers = []
    for job, task in _TASK.findall(named):
        if (job, int(task)) != own and (job, int(task)) not in peers:
            peers.append((job, int(task)))
    if not peers and not any(sign in message for sign in _LOST_PEER_SIGNS):
        return None  # e.g. a file system's UnavailableError: not about the cluster
    who = (", ".join(worker_name(spec, job, task) for job, task in peers)
           if peers else "a peer worker")
    if "heartbeat" in message:
        why = "it stopped sending heartbeats"
    elif isinstance(error, tf.errors.DeadlineExceededError):
        why = "it did not answer in time"
    else:
        why = next((hint for hint in ("Connection reset by peer", "Socket closed",
                                      "Connection refused") if hint in message),
                   type(error).__name__)
    resume = (f"resume from {latest_checkpoint}" if latest_checkpoint
              else "start over (no checkpoint yet)")
    return WorkerLostError(f"lost {who}: {why}. Restart every worker with the same "
                           f"command to {resume}.")


def in_multi_worker_mode(strategy):
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


class PreemptionWatch:
    """SIGTERM handling for one `Trainer.fit`: `with watch: ... watch.check() ...`.

    Call `check()` at every step boundary, after the step's `epoch`/`step_in_epoch`/
    `global_step` variables are assigned, and after the epoch-end checkpoint; every worker
    must call it the same number of times. When a stop was requested it saves (through
    `save()`, which returns the checkpoint path) and raises `Preempted`.

    Single process: a SIGTERM handler sets a flag; `check()` saves the current step.
    Multi-worker: TensorFlow's `PreemptionCheckpointHandler` (one per process, created on
    the first fit) agrees on the step; `check()` is its `save_checkpoint_if_preempted()`,
    and the save is `save()`.

    Args:
        strategy: the training strategy.
        checkpoint: the `RunCheckpoint` (`None`: no run folder, SIGTERM is left alone).
        global_step: the Trainer's global step variable.
        save: `save() -> path` writes the checkpoint of the current step.
        where: `where() -> str` describes the current position, for the message.
    """

    def __init__(self, strategy, checkpoint, global_step, save, where):
        self.save, self.where = save, where
        self._directory = checkpoint.directory if checkpoint is not None else None
        self.requested = False
        self._saved = self._previous = self._handler = self._watchdog = None
        self.enabled = (checkpoint is not None and checkpoint.manager is not None
                        and threading.current_thread() is threading.main_thread())
        if self.enabled and in_multi_worker_mode(strategy):
            self._handler = _multi_worker_handler(strategy, checkpoint, global_step)

    def __enter__(self):
        global _active
        if not self.enabled:
            return self
        _active = self
        self._previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._watchdog = _Watchdog(self._stuck)
        return self

    def __exit__(self, *exc):
        global _active
        if self.enabled:
            _active = None
            self._watchdog.stop()
            signal.signal(signal.SIGTERM,
                          signal.SIG_DFL if self._previous is None else self._previous)
        return False

    def _stuck(self, signum):
        """`(exit code, line)` of the watchdog when no step boundary came in time."""
        kind, code, cause = (("interrupted", EXIT_INTERRUPTED, "Ctrl-C")
                             if signum == signal.SIGINT else
                             ("preempted", EXIT_PREEMPTED, "SIGTERM"))
        return code, (f"{kind}: {cause}, but fit was still waiting (for another worker?) "
                      f"{STUCK_GRACE_SECONDS} s later: stopped without saving; rerun the same "
                      f"command{' on every worker' if self._handler else ''} to resume from "
                      "the last checkpoint.")

    def _on_sigterm(self, signum, frame):
        self.requested = True
        if self._handler is not None:
            _tf_sigterm_handler(signum, frame)  # tells the cluster

    def check(self):
        """Saves and raises `Preempted` if a stop was requested (anywhere in the cluster)."""
        if not self.enabled:
            return
        if self._handler is not None:
            with deprecation.silence():  # its save reads its own deprecated run counter
                self._handler.save_checkpoint_if_preempted()  # saves, then _exit, if asked
        elif self.requested:
            self._watchdog.stop()  # saving now
            self._saved = self.save()
            self._exit()

    def _save_for_handler(self):
        self._watchdog.stop()  # saving now
        self._saved = self.save()

    def _exit(self):
        cause = "SIGTERM" if self.requested else "SIGTERM to another worker"
        saved = self._saved
        if saved and self._directory:  # the chief's copy (the other workers' is deleted)
            saved = os.path.join(self._directory, os.path.basename(saved))
        raise Preempted(f"{cause}: checkpoint of {self.where()} saved"
                        f"{f' ({saved})' if saved else ''}; rerun the same command"
                        f"{' on every worker' if self._handler else ''} to resume.")


class _Watchdog:
    """Ends the process if, after SIGTERM or SIGINT, the main thread stays stuck.

    Python runs signal handlers in the main thread only, between bytecodes: a main thread
    waiting in a collective op for a peer that is alive but stuck would never see them.
    The C-level handler still writes the signal number to `signal.set_wakeup_fd`; this
    thread reads it and, unless `stop()` is called within `STUCK_GRACE_SECONDS` (the fit
    reached its save, or ended), prints the line of `stuck(signum) -> (code, line)` and
    exits with that code.
    """

    def __init__(self, stuck):
        self._stuck = stuck
        self._stopped = threading.Event()
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        threading.Thread(target=self._run, daemon=True, name="kerasnotes-watchdog").start()

    def stop(self):
        if not self._stopped.is_set():
            self._stopped.set()
            signal.set_wakeup_fd(self._previous)
            os.close(self._write)  # ends the thread's read

    def _run(self):
        try:
            while True:
                data = os.read(self._read, 64)
                if not data or self._stopped.is_set():
                    return
                signum = next((n for n in data if n in (signal.SIGTERM, signal.SIGINT)), None)
                if signum is not None:
                    break
            if self._stopped.wait(STUCK_GRACE_SECONDS):
                return
            code, line = self._stuck(signum)
            sys.stdout.flush()
            print(f"{_program()}: {line}", file=sys.stderr, flush=True)
            os._exit(code)
        finally:
            os.close(self._read)


def _program():
    """`python -m apps.classify` (how the process was started), for messages."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return f"python -m {spec.name}" if spec is not None and spec.name else os.path.basename(
        sys.argv[0] or "python")


_active = None  # the PreemptionWatch of the running fit
_handler = None  # this process's PreemptionCheckpointHandler (one per cluster session)
_tf_sigterm_handler = None  # the SIGTERM handler it installed


def _multi_worker_handler(strategy, checkpoint, global_step):
    """This process's `PreemptionCheckpointHandler`, created on first use.

    One per process: the handler's agreement goes through one-shot keys of the
    coordination service. Its save and exit go to the running fit's watch, so the
    checkpoint manager it is given is used only for what it does at creation: restore the
    newest checkpoint of that manager's folder. That restore must be the same on every
    worker (restoring SUM-aggregated metric states runs collective ops), and `Trainer`
    has already restored the run, so the handler gets a manager of its own: a checkpoint
    holding only its run counter `checkpointed_runs` (the global step, an alias: no new
    variable), in a folder that never holds a checkpoint. Every worker starts the
    handler's counter at 0.
    """
    global _handler, _tf_sigterm_handler
    if _handler is None:
        counter = tf.train.Checkpoint(checkpointed_runs=global_step)
        never_written = os.path.join(checkpoint.directory, "preemption_handler_unused")
        manager = tf.train.CheckpointManager(counter, never_written, max_to_keep=1)
        config = tf.distribute.experimental.TerminationConfig(
            exit_fn=lambda: _active._exit(), save_fn=lambda: _active._save_for_handler())
        previous = signal.getsignal(signal.SIGTERM)
        _handler = tf.distribute.experimental.PreemptionCheckpointHandler(
            strategy.cluster_resolver, manager, termination_config=config)
        _tf_sigterm_handler = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        threading.excepthook = _quiet_watcher(threading.excepthook)
    return _handler


def _quiet_watcher(excepthook):
    """`excepthook` without the traceback of the handler's watcher thread when the
    coordination service goes away with a lost worker (the training loop reports that)."""

    def hook(args):
        if not (isinstance(args.exc_value, tf.errors.OpError) and args.thread is not None
                and args.thread.name.startswith("PeerTerminationWatcher")):
            excepthook(args)

    return hook
