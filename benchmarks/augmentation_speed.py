"""Is augmentation ever the bottleneck? Augmented images/s vs a ResNet-18 step's consumption.

    python benchmarks/augmentation_speed.py [--size 96] [--batch 64] [--repeats 3]

Times (median of --repeats runs, same process): the notes' augmentation pipeline
(`augment_dataset` with flips, random resized crop, brightness, contrast, saturation, hue;
`Dataset.map(num_parallel_calls=AUTOTUNE)`) producing batches of SIZExSIZE RGB images, and
one SGD training step of ResNet-18 (the notes' model, full width) on such a batch. Prints
both in images/s and their ratio: above 1, the pipeline feeds the model faster than it
trains.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.data.images.classification_datasets import make_classification_dataset  # noqa: E402
from kerasnotes.data.images.image_augmentation import augment_dataset, default_augmentation  # noqa: E402
from kerasnotes.models.resnet import ResNet18  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    count = args.batch * args.batches
    x = rng.integers(0, 256, (count, args.size, args.size, 3), dtype=np.uint8)
    y = rng.integers(0, 10, count)
    augmentation = default_augmentation((args.size, args.size, 3))

    def pipeline_seconds(epoch):
        dataset = augment_dataset(make_classification_dataset(x, y, args.batch), seed=0,
                                  epoch=epoch, augmentation=augmentation)
        start = time.perf_counter()
        for _ in dataset:
            pass
        return time.perf_counter() - start

    pipeline_seconds(0)  # warm-up (tracing)
    pipeline = statistics.median(pipeline_seconds(e + 1) for e in range(args.repeats))

    model = ResNet18(num_classes=10, input_shape=(args.size, args.size, 3))
    optimizer = keras.optimizers.SGD(0.05)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    images = tf.constant(x[:args.batch], tf.float32) / 255.0
    labels = tf.constant(y[:args.batch])
    step(images, labels)  # warm-up

    def step_seconds():
        start = time.perf_counter()
        for _ in range(3):
            float(step(images, labels))
        return (time.perf_counter() - start) / 3

    train = statistics.median(step_seconds() for _ in range(args.repeats))
    pipeline_rate = count / pipeline
    train_rate = args.batch / train
    print(f"augmentation pipeline: {pipeline_rate:8.1f} images/s "
          f"({args.size}x{args.size}x3, batch {args.batch}, AUTOTUNE map)")
    print(f"ResNet-18 training:    {train_rate:8.1f} images/s (one SGD step per batch)")
    print(f"ratio pipeline / training: {pipeline_rate / train_rate:.1f}x")


if __name__ == "__main__":
    main()
