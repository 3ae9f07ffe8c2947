"""Versioned, atomic SavedModel export in the TF Serving layout."""

import os
import shutil
import tempfile

import tensorflow as tf

from kerasnotes.training.strategy import is_chief


def existing_versions(export_base):
    """The integer versions already under `export_base`, sorted."""
    if not os.path.isdir(export_base):
        return []
    return sorted(int(name) for name in os.listdir(export_base) if name.isdigit())


def export_saved_model(module, export_base, signatures, strategy=None):
    """Writes `module` as `export_base/<next version>/` and returns that path.

    The SavedModel is written to a temporary folder beside the target and renamed into
    place, so a model server watching `export_base` never sees a half-written version.
    Under multi-worker training every worker must call this (saving may run collective
    ops); only the chief's copy is kept.

    Args:
        module: a `tf.Module` holding the model.
        export_base: e.g. `saved_models/classify`.
        signatures: `{"serving_default": module.serve, ...}`: `tf.function`s with an
            `input_signature`.
        strategy: the training strategy (default: the current one).

    Example:

    >>> path = export_saved_model(server, "saved_models/classify",
    ...                           {"serving_default": server.serve})
    >>> path
    'saved_models/classify/1'
    """
    os.makedirs(export_base, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=".export-", dir=export_base)
    try:
        tf.saved_model.save(module, temporary, signatures=signatures)
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
