"""The workers of a multi-worker run meet in Python before TensorFlow's setup.

TensorFlow's `MultiWorkerMirroredStrategy` setup blocks until every worker registers,
holding the GIL, with a SIGTERM handler of its own that only records the signal: a worker
whose peers never come could be stopped only by SIGKILL. `wait_for_workers` first makes
sure every worker is up, in plain Python where SIGTERM and Ctrl-C work, so that the setup
that follows takes a second.

The meeting is a star around the leader (the chief, else worker 0: the task that runs
TensorFlow's coordination service, so the task every other one must reach anyway):

- the leader listens on its TF_CONFIG port (before TensorFlow's server takes it);
- every other task connects, says hello and keeps its connection open;
- once it holds a live connection from every task, the leader closes its port and sends
  "go" on each connection; a task leaves when it reads "go".

A hello counts only while its connection is open: a task that gave up or restarted is
waited for again, and no task leaves while another still needs it (a meeting in which each
task said hello to each could end for one task while the other had not heard its answer).

Example (what `choose_strategy("multi_worker")` does first):

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    wait_for_workers(resolver.cluster_spec(), resolver.task_type, resolver.task_id)
"""

import select
import signal
import socket
import sys
import threading
import time

from kerasnotes.training.preemption import Preempted, WorkerLostError, worker_name

WORKER_WAIT_SECONDS = 900  # for every worker to answer before training starts
TELL_AFTER_SECONDS = 5  # a wait longer than this is reported once ("Waiting for ...")
POLL_SECONDS = 0.2  # how often a waiting task looks again (signals are handled meanwhile)

_HELLO = "kerasnotes-hello "
_GO = "kerasnotes-go"


def leader_task(spec):
    """`("chief", 0)` when the cluster has a chief, else `("worker", 0)`."""
    return ("chief", 0) if "chief" in spec.jobs else ("worker", 0)


def wait_for_workers(spec, task_type, task_id, timeout=WORKER_WAIT_SECONDS):
    """Returns once every chief/worker task of `spec` has called this function.

    Interruptible: SIGTERM raises `Preempted`, Ctrl-C `KeyboardInterrupt`. Raises
    `WorkerLostError` after `timeout` seconds, naming the workers that did not come.
    """
    tasks = {(job, index): spec.task_address(job, index)
             for job in ("chief", "worker") if job in spec.jobs
             for index in range(spec.num_tasks(job))}
    me = (task_type, int(task_id))
    if len(tasks) < 2:
        return
    leader = leader_task(spec)
    if me == leader:
        meeting = _Leader(tasks, me)
    else:
        meeting = _Member(tasks[leader], leader, me)

    def missing():
        return ", ".join(worker_name(spec, *task) for task in meeting.missing())

    def on_sigterm(signum, frame):
        raise Preempted(f"SIGTERM while waiting for {missing()}: training had not started, "
                        "nothing to save; rerun every worker to start (or resume).")

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main_thread else None
    if in_main_thread:
        signal.signal(signal.SIGTERM, on_sigterm)
    start, told = time.monotonic(), False
    try:
        while not meeting.step():
            waited = time.monotonic() - start
            if waited > timeout:
                raise WorkerLostError(f"{missing()} did not answer within {timeout} s; start "
                                      "every worker listed in TF_CONFIG with the same command.")
            if waited > TELL_AFTER_SECONDS and not told:
                print(f"Waiting for {missing()} ...", file=sys.stderr, flush=True)
                told = True
    finally:
        meeting.close()
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


class _Leader:
    """Holds one open connection per task; when all are there, says go to each."""

    def __init__(self, tasks, me):
        self.address = tasks[me]
        self.peers = [task for task in tasks if task != me]
        self.listener = None
        self.held = {}  # task -> its open connection

    def missing(self):
        return [task for task in self.peers if task not in self.held]

    def step(self):
        """One look (about POLL_SECONDS); True once every task got its go."""
        if self.listener is None:
            self.listener = _listen(self.address)
            if self.listener is None:  # the port is taken (by a process that is ending?)
                time.sleep(POLL_SECONDS)
                return False
        self._accept_hellos()
        self._drop_closed()
        if self.missing():
            return False
        self.listener.close()  # before the go: no task can meet this port's old owner
        self.listener = None
        for connection in self.held.values():
            _send(connection, _GO)
        for connection in self.held.values():
            _wait_for_close(connection)  # the task closes first: this port has no TIME_WAIT
        return True

    def _accept_hellos(self):
        self.listener.settimeout(POLL_SECONDS)
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, TimeoutError):
                return
            except OSError:
                return
            task = _parse_hello(_read_line(connection, timeout=2))
            if task in self.peers:
                if task in self.held:
                    self.held[task].close()  # the task restarted: its new connection counts
                self.held[task] = connection
            else:
                connection.close()
            self.listener.settimeout(0)  # take what is queued, then look at the others

    def _drop_closed(self):
        if not self.held:
            return
        readable, _, _ = select.select(list(self.held.values()), [], [], 0)
        for task, connection in list(self.held.items()):
            if connection in readable:  # a task sends nothing after its hello: it closed
                connection.close()
                del self.held[task]

    def close(self):
        if self.listener is not None:
            self.listener.close()
        for connection in self.held.values():
            connection.close()
        self.held.clear()


class _Member:
    """Connects to the leader, says hello and waits on that connection for the go."""

    def __init__(self, leader_address, leader, me):
        self.leader_address, self.leader, self.me = leader_address, leader, me
        self.connection = None
        self.received = b""

    def missing(self):
        return [self.leader]

    def step(self):
        if self.connection is None:
            self.connection = _connect(self.leader_address)
            if self.connection is None:
                time.sleep(POLL_SECONDS)
                return False
            if not _send(self.connection, f"{_HELLO}{self.me[0]}:{self.me[1]}"):
                self._disconnect()
                return False
        try:
            self.connection.settimeout(POLL_SECONDS)
            data = self.connection.recv(64)
        except TimeoutError:
            return False
        except OSError:
            data = b""
        if not data:  # the leader ended or restarted: say hello again
            self._disconnect()
            time.sleep(POLL_SECONDS)
            return False
        self.received += data
        if b"\n" not in self.received:
            return False
        if self.received.split(b"\n", 1)[0].decode(errors="replace") == _GO:
            return True
        self._disconnect()  # not the leader's meeting (another program on that port)
        time.sleep(POLL_SECONDS)
        return False

    def _disconnect(self):
        self.connection.close()
        self.connection, self.received = None, b""

    def close(self):
        if self.connection is not None:
            self._disconnect()


def _listen(address):
    """A listening socket on `address`'s port, or None while the port is taken."""
    port = int(address.rsplit(":", 1)[1])
    dual = socket.has_dualstack_ipv6()  # IPv6 and IPv4 where the host has IPv6
    try:
        return socket.create_server(("", port), backlog=64, dualstack_ipv6=dual,
                                    family=socket.AF_INET6 if dual else socket.AF_INET)
    except OSError:
        return None


def _connect(address):
    host, port = address.rsplit(":", 1)
    try:
        return socket.create_connection((host.strip("[]"), int(port)), timeout=2)
    except OSError:
        return None


def _send(connection, line):
    try:
        connection.settimeout(2)
        connection.sendall((line + "\n").encode())
        return True
    except OSError:
        return False


def _read_line(connection, timeout):
    """The first line `connection` sends within `timeout` seconds ("" if none)."""
    connection.settimeout(timeout)
    data = b""
    try:
        while not data.endswith(b"\n") and len(data) < 256:
            chunk = connection.recv(256)
            if not chunk:
                break
            data += chunk
    except OSError:
        return ""
    return data.decode(errors="replace").strip()


def _parse_hello(line):
    """`("worker", 1)` from "kerasnotes-hello worker:1", else None."""
    if not line.startswith(_HELLO):
        return None
    job, _, index = line[len(_HELLO):].partition(":")
    return (job, int(index)) if index.isdigit() else None


def _wait_for_close(connection, timeout=2):
    """Waits (at most `timeout` s) for the task to close its end, then closes this one."""
    try:
        connection.settimeout(timeout)
        while connection.recv(64):
            pass
    except OSError:
        pass
    connection.close()
