"""Two worker processes on 127.0.0.1 train through the Trainer under
MultiWorkerMirroredStrategy and must equal one process training on the same global batches."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.training.tiny_problem import EPOCHS, build_trainer, dataset_for_epoch

HERE = pathlib.Path(__file__).resolve().parent


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_match_one_process(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    run_dir = tmp_path / "run"
    processes = []
    for index in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        )
        env["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1]), env.get("PYTHONPATH", "")])
        processes.append(subprocess.Popen(
            [sys.executable, str(HERE / "multi_worker_job.py"), str(tmp_path / f"w{index}.npz"),
             str(run_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=180)[0])
    finally:
        for process in processes:
            process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]

    chief = np.load(tmp_path / "w0.npz")
    other = np.load(tmp_path / "w1.npz")
    names = [f"arr_{i}" for i in range(len(chief.files) - 1)]
    for name in names + ["losses"]:
        np.testing.assert_array_equal(chief[name], other[name])

    single = build_trainer(tf.distribute.get_strategy())
    history = single.fit(dataset_for_epoch, epochs=EPOCHS)
    for name, expected in zip(names, single.model.get_weights()):
        np.testing.assert_allclose(chief[name], expected, atol=1e-5)
    np.testing.assert_allclose(chief["losses"], history["loss"], rtol=1e-5)

    # Only the chief keeps checkpoints; the other worker's temporary copy is gone.
    checkpoints = run_dir / "checkpoints"
    assert tf.train.latest_checkpoint(str(checkpoints)) is not None
    assert not (checkpoints / "workers" / "worker_1").exists()
