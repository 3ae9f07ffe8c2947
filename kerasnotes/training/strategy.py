"""Choosing the `tf.distribute` strategy, and which process is the chief."""

import json
import os

import tensorflow as tf

STRATEGY_NAMES = ("auto", "default", "mirrored", "multi_worker")


def _tf_config():
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {raw[:200]!r}") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object; received {raw[:200]!r}")
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
      "worker", "index": i}}`); every worker runs the same command.
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
            f"--strategy must be one of {', '.join(STRATEGY_NAMES)}; received {name!r}"
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
            "--strategy multi_worker needs the TF_CONFIG environment variable with a "
            '"cluster" and a "task", e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


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
