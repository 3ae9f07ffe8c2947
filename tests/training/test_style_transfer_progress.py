"""StyleTransferProgress: the step lines, the TensorBoard losses and images, and resuming."""

import os

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.losses.style_transfer_losses import StyleTransferLoss, StyleTransferLossParts
from kerasnotes.models.style_transfer import StyleTransfer, style_transfer_targets
from kerasnotes.models.vgg19_features import preprocess_image
from kerasnotes.training.callbacks.style_transfer_progress import StyleTransferProgress
from kerasnotes.training.trainer import Trainer
from tests.apps.app_runner import event_tags
from tests.models.test_style_transfer import tiny_vgg_extractor


def fit(run_dir, epochs, content, style):
    keras.utils.set_random_seed(0)
    extractor = tiny_vgg_extractor()
    standardized = preprocess_image(content[None])
    targets = style_transfer_targets(extractor, standardized, preprocess_image(style[None]))
    progress = StyleTransferProgress(str(run_dir), epochs, {"content_image": content,
                                                            "style_image": style},
                                     log_every_n_steps=2, image_every_n_steps=3)
    trainer = Trainer(StyleTransfer(extractor, standardized), StyleTransferLoss(),
                      keras.optimizers.Adam(0.1), [StyleTransferLossParts()],
                      run_dir=str(run_dir), callbacks=[progress], verbose=0)
    trainer.fit(tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets)), epochs=epochs)


def test_lines_scalars_images_and_resume(tmp_path, capsys):
    rng = np.random.default_rng(0)
    content, style = rng.uniform(0, 1, (8, 12, 3)), rng.uniform(0, 1, (8, 8, 3))
    fit(tmp_path, 3, content.astype("float32"), style.astype("float32"))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    # Every log_every_n_steps steps, and the last one.
    assert [line.split(":")[0] for line in lines] == ["step 2/3", "step 3/3"]
    assert all(f"{part} " in lines[0] for part in ("content", "style", "tv", "total"))
    assert {"content_loss", "style_loss", "tv_loss", "total_loss", "synthesized_image",
            "content_image", "style_image"} <= event_tags(tmp_path / "train")

    fit(tmp_path, 4, content.astype("float32"), style.astype("float32"))
    out = capsys.readouterr().out
    latest = tf.train.latest_checkpoint(os.path.join(tmp_path, "checkpoints"))
    assert "Resuming from" in out and ": step 3" in out and latest.endswith("-4")
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("step")] == [
        "step 4/4"]
