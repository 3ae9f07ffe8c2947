"""FCN training and inference throughput (images/s) at 320x480, d2l's VOC crop.

    python benchmarks/fcn_speed.py [--batch-size 4] [--width-divisor 1] [--repeats 3]

Reference in the same process: the classification ResNet-18 (same trunk, global pooling
and dense head) on the same images, so the ratios show the cost of the 1x1 score layer and
the 64x64 stride-32 transposed convolution.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.losses.pixel_cross_entropy import pixel_softmax_cross_entropy  # noqa: E402
from kerasnotes.models.fcn import FCN  # noqa: E402
from kerasnotes.models.resnet import ResNet18  # noqa: E402


def images_per_second(fn, batch_size, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--width-divisor", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    b, h, w = args.batch_size, 320, 480
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(b, h, w, 3)).astype("float32"))
    y = tf.constant(rng.integers(0, 21, (b, h, w)).astype("int32"))
    fcn = FCN(21, width_divisor=args.width_divisor)
    resnet = ResNet18(21, input_shape=(h, w, 3), width_divisor=args.width_divisor)
    results = {}
    for name, model, loss in (
        ("FCN", fcn, lambda out: tf.reduce_mean(pixel_softmax_cross_entropy(y, out))),
        ("ResNet-18 classifier", resnet, lambda out: tf.reduce_mean(
            keras.losses.sparse_categorical_crossentropy(y[:, 0, 0], out, from_logits=True))),
    ):
        optimizer = keras.optimizers.SGD(0.01)

        @tf.function
        def train_step(model=model, loss=loss, optimizer=optimizer):
            with tf.GradientTape() as tape:
                value = loss(model(x, training=True))
            grads = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return value

        infer = tf.function(lambda model=model: model(x, training=False))
        results[name] = (images_per_second(train_step, b, args.repeats),
                         images_per_second(infer, b, args.repeats))
    print(f"320x480, batch {b}, width_divisor {args.width_divisor}")
    for name, (train, infer) in results.items():
        print(f"{name:22s} train {train:7.2f} img/s   inference {infer:7.2f} img/s")
    (ft, fi), (rt, ri) = results["FCN"], results["ResNet-18 classifier"]
    print(f"FCN / ResNet-18: train {ft / rt:.2f}, inference {fi / ri:.2f}")


if __name__ == "__main__":
    main()
