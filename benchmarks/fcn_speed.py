"""FCN training and inference throughput (images/s) at 320x480, d2l's VOC crop.

    python -m benchmarks.fcn_speed [--batch-size 4] [--width-divisor 1] [--repeats 3]
    python -m benchmarks.fcn_speed --batch-size 1 --width-divisor 8 --repeats 1   # smoke run

Reference in the same process: the classification ResNet-18 (same trunk, global pooling
and dense head) on the same images, so the ratios show the cost of the 1x1 score layer and
the 64x64 stride-32 transposed convolution. The four steps run in interleaved rounds.
"""

import argparse
import statistics

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.losses.pixel_cross_entropy import pixel_softmax_cross_entropy
from kerasnotes.models.fcn import FCN
from kerasnotes.models.resnet import ResNet18


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    fcn_loss = lambda y, out: tf.reduce_mean(pixel_softmax_cross_entropy(y, out))
    resnet_loss = lambda y, out: tf.reduce_mean(
        keras.losses.sparse_categorical_crossentropy(y[:, 0, 0], out, from_logits=True))
    steps = {}
    for name, model, loss in (("FCN", fcn, fcn_loss), ("ResNet-18 classifier", resnet,
                                                       resnet_loss)):
        train = harness.train_step(model, loss, keras.optimizers.SGD(0.01))
        infer = tf.function(lambda model=model: model(x, training=False))
        steps[name, "train"] = lambda train=train: train(x, y)
        steps[name, "inference"] = infer
    with harness.session(f"320x480, batch {b}, width_divisor {args.width_divisor}"):
        times = harness.interleaved(steps, args.repeats)
        rate = {key: b / statistics.median(values) for key, values in times.items()}
        for name in ("FCN", "ResNet-18 classifier"):
            print(f"{name:22s} train {rate[name, 'train']:7.2f} img/s   inference "
                  f"{rate[name, 'inference']:7.2f} img/s")
        train, infer = (harness.ratio(times["ResNet-18 classifier", kind], times["FCN", kind])
                        for kind in ("train", "inference"))
        print(f"FCN / ResNet-18 images/s (median of per-round ratios): train {train:.2f}, "
              f"inference {infer:.2f}")


if __name__ == "__main__":
    main()
