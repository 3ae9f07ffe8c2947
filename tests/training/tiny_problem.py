"""The tiny training problem shared by the multi-worker test and its single-process twin."""

import keras
import numpy as np
import tensorflow as tf

from kerasnotes.training.trainer import Trainer

GLOBAL_BATCH = 16
EPOCHS = 3
SEED = 5


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]).astype("float32")
    return x, y


def dataset_for_epoch(epoch):
    x, y = data()
    order = np.random.default_rng(SEED + epoch).permutation(len(x))
    return tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(GLOBAL_BATCH)


STEPS_PER_EPOCH = 6  # 96 examples / GLOBAL_BATCH


def whole_run_from(first_epoch, epochs=EPOCHS):
    """The batches of epochs `first_epoch..epochs - 1`, each as `dataset_for_epoch`'s (the
    one-iterator form of `Trainer.fit(..., steps_per_epoch=STEPS_PER_EPOCH)`)."""
    dataset = dataset_for_epoch(first_epoch)
    for epoch in range(first_epoch + 1, epochs):
        dataset = dataset.concatenate(dataset_for_epoch(epoch))
    return dataset


def build_trainer(strategy, run_dir=None, callbacks=()):
    keras.utils.set_random_seed(SEED)
    with strategy.scope():
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1),
        ])
        optimizer = keras.optimizers.Adam(0.01)
    return Trainer(model, keras.losses.MeanSquaredError(), optimizer, strategy=strategy,
                   run_dir=run_dir, callbacks=callbacks, verbose=0)
