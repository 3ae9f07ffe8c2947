"""Two worker processes on 127.0.0.1 train through the Trainer under
MultiWorkerMirroredStrategy (`multi_worker_job.py`):

- they equal one process training on the same global batches;
- SIGTERM to one worker in the middle of an epoch: both save the same step and exit 75; the
  rerun ends with the weights of an uninterrupted run;
- kill -9 of one worker: the other exits 4 within 60 s with one error line naming it;
- a worker whose peer never comes ends on SIGTERM (75) or Ctrl-C (130) within 10 s.

Every process is started by the `Cluster` of its test and killed in its `finally`.
"""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.training.tiny_problem import EPOCHS, build_trainer, dataset_for_epoch

HERE = pathlib.Path(__file__).resolve().parent
TIMEOUT = 180  # generous: the CI machine is shared


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    """Workers of one 2-worker cluster on free ports; `with Cluster(...)` kills leftovers."""

    def __init__(self, folder, run_dir):
        self.folder, self.run_dir = pathlib.Path(folder), run_dir
        self.folder.mkdir(parents=True, exist_ok=True)
        self.addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
        self.processes = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    def start(self, index, **env):
        environment = dict(os.environ, **env)
        if "TF_CPP_MIN_LOG_LEVEL" not in env:  # TensorFlow's logging as the apps set it
            environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
        environment["TF_CONFIG"] = json.dumps({"cluster": {"worker": self.addresses},
                                               "task": {"type": "worker", "index": index}})
        environment["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1]),
                                                     environment.get("PYTHONPATH", "")])
        with open(self.log(index), "w") as log:
            self.processes[index] = subprocess.Popen(
                [sys.executable, str(HERE / "multi_worker_job.py"),
                 str(self.folder / f"w{index}.npz"), str(self.run_dir)],
                env=environment, stdout=log, stderr=subprocess.STDOUT)

    def log(self, index):
        return self.folder / f"worker{index}.log"

    def output(self, index):
        return self.log(index).read_text(errors="replace")

    def wait(self, index, timeout=TIMEOUT):
        """(exit code, output, seconds waited)."""
        start = time.monotonic()
        code = self.processes[index].wait(timeout=timeout)
        return code, self.output(index), time.monotonic() - start

    def wait_for(self, condition, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not condition():
            ended = {i: p.returncode for i, p in self.processes.items() if p.poll() is not None}
            assert not ended, f"{what}: workers ended first {ended}\n" + "\n".join(
                self.output(i)[-2000:] for i in ended)
            assert time.monotonic() < deadline, f"no {what} within {timeout} s"
            time.sleep(0.05)


def our_lines(output, word):
    """The job's own lines containing `word` (not TensorFlow's log lines)."""
    return [line for line in output.splitlines()
            if re.match(r"\[\d+\.\d+ s\] ", line) and word in line]


def single_process_run():
    trainer = build_trainer(tf.distribute.get_strategy())
    history = trainer.fit(dataset_for_epoch, epochs=EPOCHS)
    return trainer.model.get_weights(), history["loss"]


@pytest.mark.parametrize("one_iterator", [False, True], ids=["iterator_per_epoch",
                                                            "one_iterator"])
def test_sigterm_to_one_worker_saves_the_same_step_on_both_and_the_rerun_resumes(
        tmp_path, one_iterator):
    run_dir = tmp_path / "run"
    mode = {"ONE_ITERATOR": "1"} if one_iterator else {}
    with Cluster(tmp_path / "first", run_dir) as cluster:
        cluster.start(0, **mode)
        cluster.start(1, SIGTERM_AT="8", **mode)  # epoch 2 of 3 (6 steps each), step 2
        results = [cluster.wait(i) for i in (0, 1)]
    for code, output, _ in results:
        assert code == 75, output[-3000:]
        assert "Traceback" not in output, output[-3000:]
    (chief,), (other,) = (our_lines(output, "preempted:") for _, output, _ in results)
    # The handler saves after the step that was running when the signal came, on both.
    for line in (chief, other):
        assert "checkpoint of epoch 2, step 3 (global step 9) saved" in line, line
    assert "SIGTERM to another worker" in chief and "preempted: SIGTERM:" in other
    checkpoints = run_dir / "checkpoints"
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-9")
    assert not (checkpoints / "workers" / "worker_1").exists()  # only the chief's copy

    with Cluster(tmp_path / "rerun", run_dir) as cluster:
        for index in (0, 1):
            cluster.start(index, **mode)
        results = [cluster.wait(i) for i in (0, 1)]
    for code, _output, _ in results:
        assert code == 0, "\n----\n".join(out[-3000:] for _, out, _ in results)

    chief, other = np.load(tmp_path / "rerun" / "w0.npz"), np.load(tmp_path / "rerun" / "w1.npz")
    names = [f"arr_{i}" for i in range(len(chief.files) - 1)]
    for name in names + ["losses"]:
        np.testing.assert_array_equal(chief[name], other[name])
    weights, losses = single_process_run()
    for name, expected in zip(names, weights):
        np.testing.assert_allclose(chief[name], expected, atol=1e-5)
    # The rerun trained epochs 2 and 3; the metric states are in the checkpoint, so the loss
    # logged for epoch 2 is that of the whole epoch, as in the uninterrupted run.
    np.testing.assert_allclose(chief["losses"], losses[1:], rtol=1e-5)
    np.testing.assert_allclose(chief["losses"][-1], losses[-1], rtol=1e-5)


def test_a_killed_worker_ends_the_other_with_one_error_line(tmp_path):
    marker = tmp_path / "worker1-at-step-8"
    with Cluster(tmp_path, tmp_path / "run") as cluster:
        cluster.start(0)
        cluster.start(1, HOLD_AT=f"8:{marker}")  # writes the marker, then waits there
        cluster.wait_for(marker.exists, "marker of step 8")
        cluster.processes[1].send_signal(signal.SIGKILL)
        code, output, seconds = cluster.wait(0, timeout=60)
    print(f"worker 0 ended {seconds:.1f} s after worker 1 was killed")
    assert code == 4, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    (line,) = our_lines(output, "error:")
    assert f"lost worker 1 ({cluster.addresses[1]})" in line, line
    assert "ckpt-6" in line, line  # the checkpoint a restart resumes from (end of epoch 1)
    # TensorFlow's own E0000/W0000 lines about the lost peer come nowhere before (or after)
    # our line: the user reads it first.
    assert not re.findall(r"^[EWF]\d{4} ", output, flags=re.MULTILINE), output[-3000:]


def test_a_worker_whose_peer_never_comes_ends_on_sigterm_or_ctrl_c(tmp_path):
    with Cluster(tmp_path / "a", tmp_path / "run_a") as first, \
            Cluster(tmp_path / "b", tmp_path / "run_b") as second:
        first.start(1)
        second.start(1)
        for cluster in (first, second):
            cluster.wait_for(lambda c=cluster: "Waiting for worker 0" in c.output(1),
                             "waiting message")
        first.processes[1].send_signal(signal.SIGTERM)
        second.processes[1].send_signal(signal.SIGINT)
        (term_code, term_output, term_seconds), (int_code, int_output, int_seconds) = (
            first.wait(1, timeout=10), second.wait(1, timeout=10))
    print(f"ended {term_seconds:.1f} s after SIGTERM, {int_seconds:.1f} s after SIGINT")
    assert term_code == 75, term_output[-3000:]
    (line,) = our_lines(term_output, "preempted:")
    assert f"SIGTERM while waiting for worker 0 ({first.addresses[0]})" in line, line
    assert int_code == 130, int_output[-3000:]
    assert our_lines(int_output, "interrupted")
