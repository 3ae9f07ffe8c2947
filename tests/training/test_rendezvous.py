"""The workers' meeting before TensorFlow's multi-worker setup (`rendezvous.py`).

Real tasks are threads of this process; a peer whose behaviour a test chooses (a hello that
gives up, a leader that restarts) is a plain socket driven step by step, so every order of
events is set by the test, not by timing.
"""

import json
import os
import signal
import socket
import threading

import pytest
import tensorflow as tf

from kerasnotes.training import rendezvous, strategy
from kerasnotes.training.preemption import Preempted, WorkerLostError
from kerasnotes.training.rendezvous import _Leader, leader_task, wait_for_workers
from tests.training.test_multi_worker import free_ports

JOIN_SECONDS = 30


def cluster(**jobs):
    """A ClusterSpec on free 127.0.0.1 ports: `cluster(worker=2)`, `cluster(chief=1, worker=2)`."""
    ports = iter(free_ports(sum(jobs.values())))
    return tf.train.ClusterSpec({job: [f"127.0.0.1:{next(ports)}" for _ in range(count)]
                                 for job, count in jobs.items()})


def port(spec, job, index):
    return int(spec.task_address(job, index).rsplit(":", 1)[1])


def meet_in_threads(spec, tasks):
    """Runs `wait_for_workers` for each task in a thread; returns what each raised (or None)."""
    outcomes = {}

    def meet(task):
        try:
            wait_for_workers(spec, *task, timeout=JOIN_SECONDS)
            outcomes[task] = None
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcomes[task] = error

    threads = [threading.Thread(target=meet, args=(task,), daemon=True) for task in tasks]
    for thread in threads:
        thread.start()
    return threads, outcomes


def say_hello(spec, task):
    connection = socket.create_connection(("127.0.0.1", port(spec, *leader_task(spec))), timeout=5)
    connection.sendall(f"kerasnotes-hello {task[0]}:{task[1]}\n".encode())
    return connection


def read_line(connection):
    connection.settimeout(10)
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


def test_two_workers_meet_and_the_sigterm_handler_is_put_back():
    spec = cluster(worker=2)
    before = signal.getsignal(signal.SIGTERM)
    threads, outcomes = meet_in_threads(spec, [("worker", 1)])
    wait_for_workers(spec, "worker", 0, timeout=JOIN_SECONDS)
    threads[0].join(timeout=JOIN_SECONDS)
    assert outcomes == {("worker", 1): None}
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_chief_and_three_workers_meet_around_the_chief():
    spec = cluster(chief=1, worker=3)
    assert leader_task(spec) == ("chief", 0)
    tasks = [("chief", 0)] + [("worker", i) for i in range(3)]
    threads, outcomes = meet_in_threads(spec, tasks)
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert outcomes == dict.fromkeys(tasks)


def test_a_missing_worker_is_named_after_the_timeout():
    spec = cluster(worker=3)
    with pytest.raises(WorkerLostError, match=rf"worker 1 \({spec.task_address('worker', 1)}\), "
                                              rf"worker 2 \(.*\) did not answer within 1 s"):
        wait_for_workers(spec, "worker", 0, timeout=1)
    with pytest.raises(WorkerLostError, match=rf"worker 0 \({spec.task_address('worker', 0)}\) "
                                              r"did not answer within 1 s"):
        wait_for_workers(spec, "worker", 2, timeout=1)


def test_a_hello_whose_connection_closed_does_not_count():
    """What CI once saw with a meeting of hellos both ways: worker 0 counted a hello that
    worker 1 had given up on, left, and worker 1 waited for an answer that never came. A
    task leaves only with a live connection from every other one."""
    spec = cluster(worker=3)
    leader = _Leader({("worker", i): spec.task_address("worker", i) for i in range(3)},
                     ("worker", 0))
    try:
        assert not leader.step()  # listening now
        say_hello(spec, ("worker", 1)).close()  # a hello, then worker 1 gives up
        assert not leader.step() and not leader.step()
        assert leader.missing() == [("worker", 1), ("worker", 2)]

        first = say_hello(spec, ("worker", 1))
        assert not leader.step()
        assert leader.missing() == [("worker", 2)]
        second = say_hello(spec, ("worker", 1))  # worker 1 restarted: this one counts
        first.shutdown(socket.SHUT_WR)
        assert not leader.step()
        assert leader.missing() == [("worker", 2)]

        last = say_hello(spec, ("worker", 2))
        heard = {}

        def read_go(name, connection):
            heard[name] = read_line(connection)
            connection.close()

        readers = [threading.Thread(target=read_go, args=item)
                   for item in (("second", second), ("last", last))]
        for reader in readers:
            reader.start()
        assert leader.step()  # the go, on the connections that are open
        for reader in readers:
            reader.join(timeout=JOIN_SECONDS)
        assert heard == {"second": "kerasnotes-go", "last": "kerasnotes-go"}
        assert read_line(first) == ""  # the replaced connection got nothing
        first.close()
    finally:
        leader.close()


def test_a_worker_whose_leader_restarts_says_hello_again():
    spec = cluster(worker=2)
    threads, outcomes = meet_in_threads(spec, [("worker", 1)])
    with socket.create_server(("127.0.0.1", port(spec, "worker", 0))) as listener:
        listener.settimeout(JOIN_SECONDS)
        connection, _ = listener.accept()
        assert read_line(connection) == "kerasnotes-hello worker:1"
        connection.close()  # the leader ends before its go
        assert outcomes == {}  # worker 1 is still waiting
        connection, _ = listener.accept()  # the restarted leader
        assert read_line(connection) == "kerasnotes-hello worker:1"
        connection.sendall(b"kerasnotes-go\n")
        threads[0].join(timeout=JOIN_SECONDS)
        connection.close()
    assert outcomes == {("worker", 1): None}


def test_sigterm_ends_the_wait_for_workers():
    spec = cluster(worker=2)
    before = signal.getsignal(signal.SIGTERM)

    def sigterm_once_waiting():  # only once the wait's own handler is in place
        while signal.getsignal(signal.SIGTERM) == before:
            threading.Event().wait(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=sigterm_once_waiting, daemon=True).start()
    with pytest.raises(Preempted, match=rf"SIGTERM while waiting for worker 1 "
                                        rf"\({spec.task_address('worker', 1)}\): training "
                                        "had not started"):
        wait_for_workers(spec, "worker", 0, timeout=JOIN_SECONDS)
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_failed_tensorflow_setup_is_one_line_naming_the_leader(monkeypatch):
    spec = cluster(worker=2)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": spec.as_dict(),
                                                "task": {"type": "worker", "index": 1}}))
    monkeypatch.setattr(strategy, "wait_for_workers", lambda *args: None)
    monkeypatch.setattr(strategy, "_configure_coordination_service", lambda spec: None)

    def deadline(cluster_resolver):
        raise tf.errors.DeadlineExceededError(
            None, None, "Deadline Exceeded\nAdditional GRPC error information from remote "
            "target /job:worker/replica:0/task:0 while calling RegisterTask")

    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", deadline)
    with pytest.raises(WorkerLostError) as raised:
        strategy.choose_strategy("multi_worker")
    assert str(raised.value) == (
        f"TensorFlow's multi-worker setup with worker 0 ({spec.task_address('worker', 0)}) "
        "failed (Deadline Exceeded); restart every worker with the same command.")
    assert rendezvous.leader_task(spec) == ("worker", 0)
