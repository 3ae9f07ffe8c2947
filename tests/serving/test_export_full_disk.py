"""A SavedModel export on a full disk: one `OSError(ENOSPC)` naming the export folder and
the space needed; no version and no temporary folder left; the next export with space works.
"""

import errno
import os

import keras
import pytest
import tensorflow as tf

import kerasnotes.serving.export as export
from kerasnotes.models.lenet import LeNet
from kerasnotes.serving.classifier import ImageClassifierServer
from kerasnotes.serving.export import existing_versions, export_saved_model
from kerasnotes.training.disk_space import folder_size, human_size
from tests.small_disk import fill, small_disk


def server():
    keras.utils.set_random_seed(0)
    module = ImageClassifierServer(LeNet(), [f"class{i}" for i in range(10)])
    return module, {"serving_default": module.serve}


@pytest.fixture
def disk(tmp_path):
    """A 2 MB tmpfs: room for two exports (needs root; skips the test otherwise)."""
    with small_disk(tmp_path / "disk", "2m") as folder:
        yield folder


def test_a_full_disk_is_one_error_and_leaves_nothing(disk):
    base = os.path.join(disk, "classify")
    module, signatures = server()
    first = export_saved_model(module, base, signatures)
    filler = fill(disk)
    with pytest.raises(OSError) as caught:
        export_saved_model(module, base, signatures)
    error = caught.value
    assert error.errno == errno.ENOSPC and error.filename == base
    assert (f"no space left on device for the SavedModel export: it needs about "
            f"{human_size(folder_size(first))}, 0 bytes free") in error.strerror  # version 1
    assert "no version was written" in error.strerror
    assert sorted(os.listdir(base)) == ["1"]  # no version 2, no .export-* folder
    os.remove(filler)
    assert export_saved_model(module, base, signatures) == os.path.join(base, "2")


def test_a_first_export_on_a_full_disk_names_a_lower_bound(disk):
    base = os.path.join(disk, "classify")
    fill(disk)
    module, signatures = server()
    with pytest.raises(OSError) as caught:
        export_saved_model(module, base, signatures)
    needed = human_size(export._variable_bytes(module))  # LeNet's weights, float32
    assert f"it needs at least {needed}, 0 bytes free" in caught.value.strerror
    assert existing_versions(base) == [] and os.listdir(base) == []


def test_a_resource_exhausted_save_becomes_one_error(tmp_path, monkeypatch):
    # The same without root: TensorFlow's full-disk error injected into the save.
    def full_disk_save(module, path, signatures=None):
        with open(os.path.join(path, "saved_model.pb"), "wb") as file:
            file.write(b"\0" * 5000)
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{path}/variables/variables_temp; No space left on device")

    monkeypatch.setattr(export.tf.saved_model, "save", full_disk_save)
    base = str(tmp_path / "classify")
    module, signatures = server()
    with pytest.raises(OSError) as caught:
        export_saved_model(module, base, signatures)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == base
    assert "no space left on device for the SavedModel export" in caught.value.strerror
    assert os.listdir(base) == []


def test_other_save_errors_are_not_called_a_full_disk(tmp_path, monkeypatch):
    def failing_save(module, path, signatures=None):
        raise tf.errors.InvalidArgumentError(None, None, "a signature is wrong")

    monkeypatch.setattr(export.tf.saved_model, "save", failing_save)
    module, signatures = server()
    with pytest.raises(tf.errors.InvalidArgumentError):
        export_saved_model(module, str(tmp_path / "classify"), signatures)
