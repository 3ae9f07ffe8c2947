"""Style transfer speed: seconds per Adam step at 300x450 with VGG-19 (the notes' setting),
per precision, through the Trainer as `python -m apps.style_transfer` runs it.

    python -m benchmarks.style_transfer_speed [--height 300] [--width 450] [--steps 4]
        [--precisions float32,mixed_bfloat16]
    python -m benchmarks.style_transfer_speed --height 32 --width 48 --steps 1   # smoke run

Reference measured in the same process and precision: one forward and backward pass of the
VGG-19 feature extractor alone on the same image (the irreducible work of a step). Prints,
per precision, the step time (one epoch of the Trainer = one step, with its checkpoint,
summaries and metrics; random VGG-19 weights: the speed does not depend on them), the ratio
step time / reference time (close to 1: the losses, Gram matrices, Adam update and the
per-step checkpoint of the image cost little), and the final total loss (the same in every
precision up to noise). Medians of --steps timed steps after one warm-up step.
"""

import argparse
import statistics
import tempfile
import time

import keras
import tensorflow as tf

from benchmarks import harness
from kerasnotes.data.images import synthetic_style_images as embedded
from kerasnotes.losses.style_transfer_losses import StyleTransferLoss
from kerasnotes.models import style_transfer, vgg19_features
from kerasnotes.training.trainer import Trainer


def measure(precision, height, width, steps):
    keras.mixed_precision.set_dtype_policy(precision)
    keras.utils.set_random_seed(0)
    extractor = vgg19_features.vgg19_feature_extractor()
    content = vgg19_features.preprocess_image(embedded.draw_content_scene(height, width)[None])
    style = vgg19_features.preprocess_image(embedded.draw_stroke_texture(height, width)[None])
    image = tf.Variable(content)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            features = extractor(image)
            total = tf.add_n([tf.reduce_sum(tf.cast(f, tf.float32))
                              for f in features["style"] + features["content"]])
        return tape.gradient(total, image)

    reference = statistics.median(harness.interleaved({"vgg": forward_backward}, steps)["vgg"])

    model = style_transfer.StyleTransfer(extractor, content)
    targets = style_transfer.style_transfer_targets(extractor, content, style)
    # Each epoch's (= step's) start, then the end: a step with its metrics, summaries and
    # checkpoint lasts from one mark to the next.
    starts = []
    mark = lambda *_: starts.append(time.perf_counter())
    timer = keras.callbacks.LambdaCallback(on_epoch_begin=mark, on_train_end=mark)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(model, StyleTransferLoss(), keras.optimizers.Adam(0.3),
                          run_dir=run_dir, callbacks=[timer], verbose=0)
        one_step = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
        trainer.fit(one_step, epochs=steps + 1)
        final = trainer.evaluate(one_step)["loss"]
    times = [b - a for a, b in zip(starts, starts[1:])]
    step = statistics.median(times[1:])  # after the warm-up step
    keras.mixed_precision.set_dtype_policy("float32")
    return reference, step, final


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--height", type=int, default=300)
    parser.add_argument("--width", type=int, default=450)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    args = parser.parse_args()
    with harness.session(f"Style transfer steps at {args.height}x{args.width}"):
        for precision in args.precisions.split(","):
            reference, step, final = measure(precision, args.height, args.width, args.steps)
            print(f"{precision} ({args.height}x{args.width}): VGG-19 forward+backward "
                  f"{reference:.2f} s; style transfer step {step:.2f} s = {1 / step:.3f} "
                  f"steps/s; ratio {step / reference:.2f}; total loss after {args.steps + 1} "
                  f"steps {final:.1f}", flush=True)


if __name__ == "__main__":
    main()
