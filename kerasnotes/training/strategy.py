"""Choosing the `tf.distribute` strategy, and which process is the chief."""

import json
import os
import signal
import threading

import tensorflow as tf

from kerasnotes.training.preemption import WorkerLostError, worker_name
from kerasnotes.training.rendezvous import leader_task, wait_for_workers

STRATEGY_NAMES = ("auto", "default", "mirrored", "multi_worker")

# Multi-worker timeouts, in seconds, set explicitly instead of TensorFlow's defaults. A dead
# or unreachable worker is detected by the coordination service's heartbeats; there is no
# per-collective timeout (`CommunicationOptions(timeout_seconds=...)`): in TF 2.21 every
# collective op with a timeout starts a thread that sleeps for the whole timeout (about 12
# threads per training step here), so a long timeout piles up thousands of threads.
REGISTER_TIMEOUT_SECONDS = 60  # for TensorFlow's own registration, once all answered
HEARTBEAT_TIMEOUT_SECONDS = 10  # a worker silent this long is lost (coordination service)
SHUTDOWN_BARRIER_SECONDS = 10  # at exit, for the other workers to exit too


EXAMPLE_TF_CONFIG = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


def _tf_config_error(problem):
    return ValueError(f"TF_CONFIG: {problem} (expected e.g. TF_CONFIG='{EXAMPLE_TF_CONFIG}')")


def _check_address(job, index, address):
    """`address` must be `host:port` (or `[ipv6]:port`), the port a number in 1..65535."""
    where = f"cluster.{job}[{index}]"
    if not isinstance(address, str):
        raise _tf_config_error(f"{where} must be a \"host:port\" string; received "
                               f"{address!r}")
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _tf_config_error(f"{where} must be \"host:port\" with a port in 1..65535; "
                               f"received {address!r}")


def _check_cluster(config):
    cluster = config["cluster"]
    if not isinstance(cluster, dict):
        raise _tf_config_error(f"\"cluster\" must be an object of job names to address "
                               f"lists; received {cluster!r}")
    for job, tasks in cluster.items():
        if isinstance(tasks, str):
            raise _tf_config_error(f"cluster.{job} must be a list of \"host:port\" "
                                   f"addresses; received the string {tasks!r} (write "
                                   f"[{tasks!r}])".replace("'", '"'))
        if isinstance(tasks, dict):  # TensorFlow's sparse form {"0": "host:port", ...}
            items = tasks.items()
            if not all(str(key).isdigit() for key in tasks):
                raise _tf_config_error(f"cluster.{job} must list addresses by task index; "
                                       f"received {tasks!r}")
        elif isinstance(tasks, list):
            items = enumerate(tasks)
        else:
            raise _tf_config_error(f"cluster.{job} must be a list of \"host:port\" "
                                   f"addresses; received {tasks!r}")
        if not tasks:
            raise _tf_config_error(f"cluster.{job} lists no address")
        for index, address in items:
            _check_address(job, index, address)
    if not cluster:
        raise _tf_config_error("\"cluster\" is empty")


def _check_task(config):
    task, cluster = config["task"], config.get("cluster") or {}
    if not isinstance(task, dict) or not isinstance(task.get("type"), str):
        raise _tf_config_error(f"\"task\" must be an object with a \"type\" and an "
                               f"\"index\"; received {task!r}")
    job, index = task["type"], task.get("index", 0)
    if job not in cluster:
        raise _tf_config_error(f"task type {job!r} is not a job of the cluster "
                               f"({', '.join(map(repr, cluster)) or 'none'})")
    tasks = cluster[job]
    known = [int(key) for key in tasks] if isinstance(tasks, dict) else range(len(tasks))
    if isinstance(index, bool) or not isinstance(index, int) or index not in known:
        raise _tf_config_error(f"task index {index!r} is not a task of job {job!r} (it has "
                               f"{len(known)}: indexes {', '.join(map(str, known))})")


def _tf_config():
    """The parsed `TF_CONFIG` (`{}` when unset), checked: a JSON object whose `cluster`
    maps job names to lists of `host:port` addresses and whose `task` names one of them;
    anything else is a `ValueError` starting with `TF_CONFIG:` that names the problem."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise _tf_config_error(f"not valid JSON ({error}): {raw[:200]!r}") from None
    if not isinstance(config, dict):
        raise _tf_config_error(f"must be a JSON object; received {raw[:200]!r}")
    if "cluster" in config:
        _check_cluster(config)
    if "task" in config:
        _check_task(config)
    return config


def _num_workers(config):
    cluster = config.get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def choose_strategy(name="auto"):
    """Returns the `tf.distribute.Strategy` named by `name`.

    - `"default"`: the default (single-device) strategy.
    - `"mirrored"`: `MirroredStrategy` over the local GPUs (or the CPU when there is none).
    - `"multi_worker"`: `MultiWorkerMirroredStrategy`, configured by the `TF_CONFIG`
      environment variable (`{"cluster": {"worker": [host:port, ...]}, "task": {"type":
      "worker", "index": i}}`); every worker runs the same command. It first waits (up to
      `WORKER_WAIT_SECONDS`, SIGTERM and Ctrl-C working) until every worker has come (they
      meet on the leader's TF_CONFIG port: `kerasnotes.training.rendezvous`); a worker
      silent for `HEARTBEAT_TIMEOUT_SECONDS` is then lost.
    - `"auto"`: `multi_worker` when `TF_CONFIG` names more than one worker, else `mirrored`
      when there are several GPUs, else `default`.

    Create the strategy at the start of the program, before any other TensorFlow op:
    `MultiWorkerMirroredStrategy` must configure the runtime first.

    Example:

    >>> strategy = choose_strategy("default")
    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.layers.Dense(1)])
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(
            f"`strategy` must be one of {', '.join(STRATEGY_NAMES)}; received {name!r}"
        )
    config = _tf_config()
    if name == "auto":
        if _num_workers(config) > 1:
            name = "multi_worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if not config.get("cluster") or not config.get("task"):
        raise ValueError(
            "`strategy` multi_worker needs the TF_CONFIG environment variable with a "
            '"cluster" and a "task", e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
        )
    return _multi_worker_strategy()


def _multi_worker_strategy():
    """`MultiWorkerMirroredStrategy` with explicit timeouts, set up once every worker
    answered (`wait_for_workers`: until then SIGTERM and Ctrl-C end the process).

    TensorFlow's setup installs a SIGTERM handler that only records the signal; the handler
    in place before it is put back (the Trainer handles SIGTERM during `fit`).
    """
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    spec = resolver.cluster_spec()
    wait_for_workers(spec, resolver.task_type, resolver.task_id)
    _configure_coordination_service(spec)
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except tf.errors.OpError as error:  # e.g. the leader died between the meeting and here
        leader = worker_name(spec, *leader_task(spec))
        reason = (error.message or type(error).__name__).strip().splitlines()[0]
        raise WorkerLostError(
            f"TensorFlow's multi-worker setup with {leader} failed ({reason}); restart "
            "every worker with the same command.") from None
    if sigterm is not None and _in_main_thread():
        signal.signal(signal.SIGTERM, sigterm)
    return strategy


def _configure_coordination_service(spec):
    """What `MultiWorkerMirroredStrategy` configures itself, with our timeouts."""
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    if context.context().coordination_service is not None:
        return
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
            for job in ("chief", "worker") if job in spec.jobs]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(spec),
        cluster_register_timeout_in_ms=REGISTER_TIMEOUT_SECONDS * 1000,
        heartbeat_timeout_in_ms=HEARTBEAT_TIMEOUT_SECONDS * 1000,
        shutdown_barrier_timeout_in_ms=SHUTDOWN_BARRIER_SECONDS * 1000,
        coordinated_jobs=jobs,
    )


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


def is_chief(strategy=None):
    """True in the process that writes summaries, checkpoints and exports.

    That is worker 0 (or the task of type "chief") under multi-worker training, and the only
    process otherwise.
    """
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def worker_dir(path, strategy=None):
    """Where this process writes `path`: `path` itself on the chief, a private temporary
    folder under it on the other workers (as the tf.distribute docs prescribe: every
    worker must save, only the chief's copy is kept)."""
    if is_chief(strategy):
        return path
    resolver = strategy.cluster_resolver
    return os.path.join(path, "workers", f"{resolver.task_type}_{resolver.task_id}")
