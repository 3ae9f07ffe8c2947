"""Versioned, atomic SavedModel export in the TF Serving layout."""

import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.training.disk_space import folder_size, is_disk_full, no_space_error
from kerasnotes.training.strategy import is_chief

TEMPORARY_PREFIX = ".export-"


def existing_versions(export_base):
    """The integer versions already under `export_base`, sorted."""
    if not os.path.isdir(export_base):
        return []
    return sorted(int(name) for name in os.listdir(export_base) if name.isdigit())


def resolve_export(model_dir, hint="train first"):
    """`model_dir` itself if it holds saved_model.pb, else its highest integer version.

    The one "newest export" lookup of every app's `predict` subcommand.
    """
    model_dir = os.path.expanduser(model_dir)
    if os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        return model_dir
    versions = existing_versions(model_dir)
    if not versions:
        raise ValueError(f"`model_dir` {model_dir}: no SavedModel there (no saved_model.pb and "
                         f"no integer version folders); {hint}")
    return os.path.join(model_dir, str(versions[-1]))


def remove_stale_temporaries(export_base):
    """Removes `.export-<pid>-*` folders left by exports whose process is gone (a kill)."""
    for name in os.listdir(export_base):
        if not name.startswith(TEMPORARY_PREFIX):
            continue
        pid = name[len(TEMPORARY_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and _process_alive(int(pid)):
            continue
        shutil.rmtree(os.path.join(export_base, name), ignore_errors=True)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def export_saved_model(module, export_base, signatures, strategy=None, on_written=None):
    """Writes `module` as `export_base/<next version>/` and returns that path.

    The SavedModel is written to a temporary folder beside the target and renamed into
    place, so a model server watching `export_base` never sees a half-written version.
    A full disk raises `OSError(ENOSPC)` naming `export_base` and about how much space the
    export needs (nothing is left behind; the run's checkpoints are untouched). Under
    multi-worker training every worker must call this (saving may run collective
    ops); only the chief's copy is kept.

    Args:
        module: a `tf.Module` holding the model.
        export_base: e.g. `saved_models/classify`.
        signatures: `{"serving_default": module.serve, ...}`: `tf.function`s with an
            `input_signature`.
        strategy: the training strategy (default: the current one).
        on_written: optional `(folder) -> None`, called once the SavedModel is complete in
            its temporary folder, before it is renamed into place (tests end the process
            there: `FaultInjection.on_export`).

    Example:

    >>> path = export_saved_model(server, "saved_models/classify",
    ...                           {"serving_default": server.serve})
    >>> path
    'saved_models/classify/1'
    """
    os.makedirs(export_base, exist_ok=True)
    remove_stale_temporaries(export_base)
    temporary = tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-", dir=export_base)
    try:
        try:
            tf.saved_model.save(module, temporary, signatures=signatures)
        except (tf.errors.OpError, OSError) as error:
            if not is_disk_full(error):
                raise
            raise _no_space(module, export_base, temporary) from error
        if on_written is not None:
            on_written(temporary)
        if not is_chief(strategy):
            return None
        while True:
            versions = existing_versions(export_base)
            target = os.path.join(export_base, str((versions[-1] if versions else 0) + 1))
            try:
                os.rename(temporary, target)  # atomic; fails if another export took it
                return target
            except OSError:
                if not os.path.exists(target):
                    raise
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary, ignore_errors=True)


def _no_space(module, export_base, temporary):
    """The one-line error of an export that filled the disk (`temporary` is removed first).

    The space it needs: the size of the previous version when there is one (an export of
    the same model), else at least the larger of the module's variables and what was
    written before the disk filled."""
    written = folder_size(temporary)
    shutil.rmtree(temporary, ignore_errors=True)
    versions = existing_versions(export_base)
    previous = folder_size(os.path.join(export_base, str(versions[-1]))) if versions else 0
    return no_space_error(
        export_base, "the SavedModel export",
        previous or max(_variable_bytes(module), written),
        "no version was written and the training checkpoints are intact. Free some space, "
        "then rerun the same command: it resumes from the last checkpoint and exports",
        at_least=not previous)


def _variable_bytes(module):
    """Bytes of the (TF or Keras) variables reachable from `module`."""
    total = 0
    for item in tf.train.TrackableView(module).descendants():
        if isinstance(item, (tf.Variable, keras.Variable)):
            total += int(np.prod(item.shape)) * tf.as_dtype(item.dtype).size
    return total
