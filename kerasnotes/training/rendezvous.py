"""The workers of a multi-worker run meet in Python before TensorFlow's setup.

TensorFlow's `MultiWorkerMirroredStrategy` setup blocks until every worker registers,
holding the GIL, with a SIGTERM handler of its own that only records the signal: a worker
whose peers never come could be stopped only by SIGKILL. `wait_for_workers` first makes
sure every worker is up, in plain Python where SIGTERM and Ctrl-C work, so that the setup
that follows takes a second.

Example (what `choose_strategy("multi_worker")` does first):

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    wait_for_workers(resolver.cluster_spec(), resolver.task_type, resolver.task_id)
"""

import signal
import socket
import sys
import threading
import time

from kerasnotes.training.preemption import Preempted, WorkerLostError, worker_name

WORKER_WAIT_SECONDS = 900  # for every worker to answer before training starts

_HELLO = "kerasnotes-hello "
_ANSWER = "kerasnotes-here "


def wait_for_workers(spec, task_type, task_id, timeout=WORKER_WAIT_SECONDS):
    """Returns once every chief/worker task of `spec` has answered this one, both ways.

    Each task listens on its own TF_CONFIG port (before TensorFlow's server takes it) and
    says hello to every other task; a task is done when every other one answered its hello
    and said hello to it, so no task still needs it once it is done. Interruptible: SIGTERM
    raises `Preempted`, Ctrl-C `KeyboardInterrupt`. Raises `WorkerLostError` after
    `timeout` seconds naming the workers that did not answer.
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    me = f"{task_type}:{task_id}"
    tasks = {f"{job}:{index}": spec.task_address(job, index)
             for job in ("chief", "worker") if job in spec.jobs
             for index in range(spec.num_tasks(job))}
    peers = {name: address for name, address in tasks.items() if name != me}
    if not peers:
        return
    start = time.monotonic()
    heard, answered = set(), set()
    listener = None
    previous = signal.getsignal(signal.SIGTERM) if in_main_thread else None

    def missing():
        names = sorted(set(peers) - (heard & answered))
        return ", ".join(worker_name(spec, *name.split(":")) for name in names)

    def on_sigterm(signum, frame):
        raise Preempted(f"SIGTERM while waiting for {missing()}: training had not started, "
                        "nothing to save; rerun every worker to start (or resume).")

    if in_main_thread:
        signal.signal(signal.SIGTERM, on_sigterm)
    told = False
    try:
        while not set(peers) <= heard & answered:
            waited = time.monotonic() - start
            if waited > timeout:
                raise WorkerLostError(f"{missing()} did not answer within {timeout} s; start "
                                      "every worker listed in TF_CONFIG with the same command.")
            if waited > 5 and not told:
                print(f"Waiting for {missing()} ...", file=sys.stderr, flush=True)
                told = True
            if listener is None:
                listener = _listen(tasks[me])
            if listener is not None:
                _answer_hellos(listener, me, heard)
            for name, address in peers.items():
                if name not in answered and _say_hello(address, me, name):
                    answered.add(name)
            if listener is None:
                time.sleep(0.2)
    finally:
        if listener is not None:
            listener.close()
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _listen(address):
    """A listening socket on `address`'s port, or None while the port is taken."""
    port = int(address.rsplit(":", 1)[1])
    dual = socket.has_dualstack_ipv6()  # IPv6 and IPv4 where the host has IPv6
    try:
        return socket.create_server(("", port), backlog=16, dualstack_ipv6=dual,
                                    family=socket.AF_INET6 if dual else socket.AF_INET)
    except OSError:
        return None


def _answer_hellos(listener, me, heard):
    listener.settimeout(0.2)
    while True:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, TimeoutError):
            return
        with connection:
            message = _exchange(connection, None)
            if message.startswith(_HELLO):
                heard.add(message[len(_HELLO):])
                _exchange(connection, _ANSWER + me)
        listener.settimeout(0)  # answer what is queued, then go say hello


def _say_hello(address, me, name):
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=0.5) as connection:
            return _exchange(connection, _HELLO + me, reply=True) == _ANSWER + name
    except OSError:
        return False


def _exchange(connection, line, reply=False):
    """Sends `line` (if any); returns the line received (if `reply` or nothing sent)."""
    connection.settimeout(2)
    try:
        if line is not None:
            connection.sendall((line + "\n").encode())
            if not reply:
                return ""
        data = b""
        while not data.endswith(b"\n") and len(data) < 256:
            chunk = connection.recv(256)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").strip()
    except OSError:
        return ""
