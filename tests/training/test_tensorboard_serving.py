"""What a user sees: TensorBoard, started on the run folder, serves the Trainer's curves."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.training.trainer import Trainer


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_tensorboard_serves_train_and_validation_scalars(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.05),
                      [keras.metrics.MeanAbsoluteError()], run_dir=str(tmp_path / "run"),
                      log_every_n_steps=2, verbose=0)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    trainer.fit(data, epochs=2, validation_data=data)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path), "--host",
         "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    try:
        tags = None
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                tags = get_json(f"http://127.0.0.1:{port}/data/plugin/scalars/tags")
                if "run/train" in tags and "run/validation" in tags:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"TensorBoard did not serve both runs within 60 s; last answer {tags}")
        runs = get_json(f"http://127.0.0.1:{port}/data/runs")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert {"run/train", "run/validation"} <= set(runs)
    assert {"epoch_loss", "epoch_mean_absolute_error", "batch_loss", "learning_rate",
            "examples_per_second"} <= set(tags["run/train"])
    assert {"epoch_loss", "epoch_mean_absolute_error"} <= set(tags["run/validation"])
