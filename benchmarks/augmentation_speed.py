"""Is augmentation ever the bottleneck? Augmented images/s vs a ResNet-18 step's consumption.

    python -m benchmarks.augmentation_speed [--size 96] [--batch 64] [--repeats 3]
    python -m benchmarks.augmentation_speed --size 32 --batch 8 --batches 2 --repeats 1  # smoke

Times (median of --repeats interleaved rounds, same process): the notes' augmentation
pipeline (`augment_dataset` with flips, random resized crop, brightness, contrast,
saturation, hue; `Dataset.map(num_parallel_calls=AUTOTUNE)`) producing batches of SIZExSIZE
RGB images (one pass over --batches batches, a new epoch each), and three SGD training steps
of ResNet-18 (the notes' model, full width) on such a batch. Prints both in images/s and
their ratio: above 1, the pipeline feeds the model faster than it trains.
"""

import argparse
import itertools
import statistics

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.data.images.classification_datasets import make_classification_dataset
from kerasnotes.data.images.image_augmentation import augment_dataset, default_augmentation
from kerasnotes.models.resnet import ResNet18


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_int_flags(parser, size=(96, "image side"), batch=(64, "batch size"),
                          batches=(20, "batches per pipeline pass"),
                          repeats=(3, "interleaved timed rounds"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    count = args.batch * args.batches
    x = rng.integers(0, 256, (count, args.size, args.size, 3), dtype=np.uint8)
    y = rng.integers(0, 10, count)
    augmentation = default_augmentation((args.size, args.size, 3))
    epochs = itertools.count()

    def one_pass():
        dataset = augment_dataset(make_classification_dataset(x, y, args.batch), seed=0,
                                  epoch=next(epochs), augmentation=augmentation)
        for _ in dataset:
            pass

    model = ResNet18(num_classes=10, input_shape=(args.size, args.size, 3))
    step = harness.train_step(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                              keras.optimizers.SGD(0.05))
    images = tf.constant(x[:args.batch], tf.float32) / 255.0
    labels = tf.constant(y[:args.batch])
    with harness.session(f"Augmentation vs ResNet-18 training, {args.size}x{args.size}x3, "
                         f"batch {args.batch}"):
        times = harness.interleaved(
            {"pipeline": one_pass, "training": lambda: [step(images, labels) for _ in range(3)]},
            args.repeats)
        pipeline_rate = count / statistics.median(times["pipeline"])
        train_rate = 3 * args.batch / statistics.median(times["training"])
        print(f"augmentation pipeline: {pipeline_rate:8.1f} images/s "
              f"({args.size}x{args.size}x3, batch {args.batch}, AUTOTUNE map)")
        print(f"ResNet-18 training:    {train_rate:8.1f} images/s (one SGD step per batch)")
        print(f"ratio pipeline / training: {pipeline_rate / train_rate:.1f}x")
    harness.print_target("augmented images/s / training images/s", pipeline_rate / train_rate,
                         "> 1: never the bottleneck")


if __name__ == "__main__":
    main()
