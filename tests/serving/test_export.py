import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasnotes.models.lenet import LeNet
from kerasnotes.serving.classifier import ImageClassifierServer
from kerasnotes.serving.export import existing_versions, export_saved_model

CLASS_NAMES = [f"class{i}" for i in range(10)]

# Runs in a fresh interpreter that never imports kerasnotes.
LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import tensorflow as tf
images = np.load(sys.argv[2])
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = served(images=tf.constant(images))
np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
print(json.dumps(sorted(out)))
assert "kerasnotes" not in sys.modules
"""


def test_export_versions_and_plain_tf_load(tmp_path):
    keras.utils.set_random_seed(0)
    model = LeNet(activation="relu", pooling="max")
    server = ImageClassifierServer(model, CLASS_NAMES)
    base = str(tmp_path / "classify")
    first = export_saved_model(server, base, {"serving_default": server.serve})
    second = export_saved_model(server, base, {"serving_default": server.serve})
    assert first == os.path.join(base, "1") and second == os.path.join(base, "2")
    assert existing_versions(base) == [1, 2]
    assert sorted(os.listdir(base)) == ["1", "2"]  # no temporary folder left behind

    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28, 1), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, second, str(tmp_path / "images.npy"),
         str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path), env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "class_ids", "class_names", "probabilities"]
    served = np.load(tmp_path / "out.npz", allow_pickle=True)
    logits = model(images.astype("float32") / 255.0, training=False)
    expected = np.array(keras.ops.softmax(logits))
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-6)
    np.testing.assert_array_equal(served["class_ids"], expected.argmax(-1))
    assert [n.decode() for n in served["class_names"]] == [
        CLASS_NAMES[i] for i in expected.argmax(-1)]


def test_server_resizes_other_image_sizes(tmp_path):
    model = LeNet()
    server = ImageClassifierServer(model, CLASS_NAMES)
    images = np.zeros((2, 56, 40, 1), np.uint8)
    out = server.serve(images)
    assert out["probabilities"].shape == (2, 10)


def test_class_names_must_match_outputs():
    with pytest.raises(ValueError, match="3 class names"):
        ImageClassifierServer(LeNet(), ["a", "b", "c"])
