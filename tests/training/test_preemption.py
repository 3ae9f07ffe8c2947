"""Preemption in one process (SIGTERM during fit saves the current step; the rerun equals an
uninterrupted run), the lost-worker message, and the apps' exit codes for both. The
multi-worker runs are in test_multi_worker.py, the workers' meeting in test_rendezvous.py."""

import dataclasses
import os
import pathlib
import signal
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps import flags
from apps.runner import Run, run_cli
from kerasnotes.training.preemption import (
    EXIT_PREEMPTED,
    EXIT_WORKER_LOST,
    Preempted,
    WorkerLostError,
    lost_worker_error,
)
from tests.training.test_multi_worker import single_process_run
from tests.training.tiny_problem import EPOCHS, build_trainer, dataset_for_epoch


class SigtermAt(keras.callbacks.Callback):
    """Sends this process SIGTERM after global step `step`, once."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.handler_during_fit = None

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.step:
            self.handler_during_fit = signal.getsignal(signal.SIGTERM)
            # To this thread, handled before the next callback (os.kill may deliver the
            # signal to another thread, and the save then lands a step later).
            signal.raise_signal(signal.SIGTERM)


def test_sigterm_saves_the_current_step_and_the_rerun_equals_an_uninterrupted_run(tmp_path):
    run_dir = str(tmp_path / "run")
    before = signal.getsignal(signal.SIGTERM)
    sigterm = SigtermAt(8)  # epoch 2 of 3 (6 steps each), step 2
    trainer = build_trainer(tf.distribute.get_strategy(), run_dir, callbacks=[sigterm])
    with pytest.raises(Preempted, match=r"checkpoint of epoch 2, step 2 \(global step 8\) "
                                        r"saved .*ckpt-8\); rerun the same command to resume"):
        trainer.fit(dataset_for_epoch, epochs=EPOCHS)
    assert sigterm.handler_during_fit not in (before, signal.SIG_DFL)
    assert signal.getsignal(signal.SIGTERM) == before  # put back after fit
    assert tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")).endswith("ckpt-8")

    resumed = build_trainer(tf.distribute.get_strategy(), run_dir)
    history = resumed.fit(dataset_for_epoch, epochs=EPOCHS)
    assert len(history["loss"]) == 2  # epochs 2 and 3
    weights, losses = single_process_run()
    for actual, expected in zip(resumed.model.get_weights(), weights):
        np.testing.assert_allclose(actual, expected, atol=1e-5)
    np.testing.assert_allclose(history["loss"][-1], losses[-1], rtol=1e-5)


def test_without_a_run_folder_sigterm_is_left_alone():
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    class Look(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(signal.getsignal(signal.SIGTERM))

    build_trainer(tf.distribute.get_strategy(), callbacks=[Look()]).fit(
        dataset_for_epoch, epochs=1)
    assert set(seen) == {before}


# A fit whose main thread never gets back to a step boundary after the signal (as when
# waiting in a collective op for a stuck peer): the watchdog must end it.
STUCK_JOB = """
import os, signal, sys, time
import tensorflow as tf, keras
from kerasnotes.training import preemption
from tests.training.tiny_problem import build_trainer, dataset_for_epoch
preemption.STUCK_GRACE_SECONDS = 1
# Ctrl-C as at a terminal, even when the tests run in the background (SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)

class Stuck(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 3:
            try:
                os.kill(os.getpid(), getattr(signal, sys.argv[2]))
            except KeyboardInterrupt:
                pass
            while True:
                try:
                    time.sleep(1)
                except KeyboardInterrupt:
                    pass

trainer = build_trainer(tf.distribute.get_strategy(), sys.argv[1], callbacks=[Stuck()])
trainer.fit(dataset_for_epoch, epochs=3)
"""


def test_a_fit_stuck_after_sigterm_or_ctrl_c_is_ended_by_the_watchdog(tmp_path):
    root = pathlib.Path(__file__).resolve().parents[2]
    # Output to files (a full pipe would block the watchdog's print); on a hang, SIGABRT
    # makes faulthandler print every thread's stack into that file, shown by the failure.
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONFAULTHANDLER="1")
    processes, logs = {}, {}
    for name in ("SIGTERM", "SIGINT"):
        logs[name] = tmp_path / f"{name}.log"
        with open(logs[name], "w") as log:
            processes[name] = subprocess.Popen(
                [sys.executable, "-c", STUCK_JOB, str(tmp_path / name), name], env=env,
                cwd=root, stdout=log, stderr=subprocess.STDOUT)
    start = time.monotonic()
    codes = {}
    try:
        for name, process in processes.items():
            try:
                codes[name] = process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGABRT)
                process.wait(timeout=30)
                raise AssertionError(f"{name} job still running after 120 s:\n"
                                     + logs[name].read_text()[-6000:]) from None
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    print(f"both ended {time.monotonic() - start:.1f} s after start")
    err = logs["SIGTERM"].read_text()
    assert codes["SIGTERM"] == EXIT_PREEMPTED, err
    assert "-c: preempted: SIGTERM, but fit was still waiting (for another worker?) 1 s " \
           "later: stopped without saving" in err, err
    err = logs["SIGINT"].read_text()
    assert codes["SIGINT"] == 130, err
    assert "-c: interrupted: Ctrl-C, but fit was still waiting" in err, err


def fake_strategy(addresses, index):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec({"worker": addresses}), task_type="worker", task_id=index)
    return types.SimpleNamespace(cluster_resolver=resolver)


def test_lost_worker_error_names_the_peer_in_one_line():
    strategy = fake_strategy(["10.0.0.1:2222", "10.0.0.2:2222"], 0)
    heartbeat = tf.errors.UnavailableError(
        None, None, "Collective ops is aborted by: Error reported from /job:worker/task:1: "
        "The following tasks are unhealthy (stopped sending heartbeats):\n"
        "/job:worker/replica:0/task:1\nThe tasks have crashed.")
    error = lost_worker_error(heartbeat, strategy, "runs/x/checkpoints/ckpt-6")
    assert isinstance(error, WorkerLostError)
    assert str(error) == (
        "lost worker 1 (10.0.0.2:2222): it stopped sending heartbeats. Restart every worker "
        "with the same command to resume from runs/x/checkpoints/ckpt-6.")
    reset = tf.errors.UnavailableError(
        None, None, "Collective ops is aborted by: Socket closed\nAdditional GRPC error "
        "information from remote target /job:worker/replica:0/task:0 while calling RecvBuf")
    assert str(lost_worker_error(reset, fake_strategy(["a:1", "b:2"], 1))).startswith(
        "lost worker 0 (a:1): Socket closed. Restart every worker with the same command to "
        "start over (no checkpoint yet).")
    assert lost_worker_error(ValueError("x"), strategy) is None
    assert lost_worker_error(heartbeat, tf.distribute.get_strategy()) is None  # one process


@dataclasses.dataclass
class FakeConfig(flags.RunConfig):
    task: str = "fake"


def parse_fake_args(argv):
    return flags.parse(FakeConfig, "A fake app.", argv)


def fake_main(error):
    def main(config):
        with Run(config, "run"):
            raise error

    return main


@pytest.mark.parametrize("error, code, line", [
    (Preempted("SIGTERM: checkpoint of epoch 1, step 2 (global step 2) saved"), EXIT_PREEMPTED,
     "python -m apps.fake: preempted: SIGTERM: checkpoint of epoch 1, step 2"),
    (WorkerLostError("lost worker 1 (b:2): Socket closed."), EXIT_WORKER_LOST,
     "python -m apps.fake: error: lost worker 1 (b:2): Socket closed."),
    (tf.errors.UnavailableError(None, None, "remote target /job:worker/replica:0/task:1: x"),
     EXIT_WORKER_LOST, "python -m apps.fake: error: lost worker 1 (b:2): UnavailableError."),
    (tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape"),
     2, "python -m apps.fake: error: out of memory (OOM when allocating tensor"),
    (MemoryError("Unable to allocate 112. GiB"), 2,
     "python -m apps.fake: error: out of memory (Unable to allocate 112. GiB); lower"),
])
def test_the_apps_exit_codes(tmp_path, monkeypatch, capsys, error, code, line):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1", "b:2"]}, '
                                    '"task": {"type": "worker", "index": 0}}')
    monkeypatch.delenv("KERASNOTES_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        run_cli("fake", fake_main(error), parse_fake_args,
                ["--logdir", str(tmp_path / "run"), "--strategy", "default", "--verbose", "0"])
    assert exit_.value.code == code
    (printed,) = capsys.readouterr().err.strip().splitlines()
    assert printed.startswith(line), printed
