"""Style transfer speed: Adam steps/s at 300x450 with VGG-19 (the notes' setting).

    python benchmarks/style_transfer_speed.py [--height 300] [--width 450] [--steps 3]

Reference measured in the same process: one forward and backward pass of the VGG-19
feature extractor alone on the same image (the irreducible work of a step). Prints
steps/s of `StyleTransfer.step()` (random VGG-19 weights: the speed does not depend on
them) and the ratio step time / reference time (close to 1: the losses, Gram matrices
and Adam update cost little). Medians of --steps timed steps after one warm-up.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from kerasnotes.data.images.synthetic_style_images import draw_content_scene, draw_stroke_texture  # noqa: E402,E501
from kerasnotes.models.style_transfer import StyleTransfer  # noqa: E402
from kerasnotes.models.vgg19_features import preprocess_image, vgg19_feature_extractor  # noqa: E402,E501


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--height", type=int, default=300)
    parser.add_argument("--width", type=int, default=450)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    extractor = vgg19_feature_extractor()
    content = preprocess_image(draw_content_scene(args.height, args.width)[None])
    style = preprocess_image(draw_stroke_texture(args.height, args.width)[None])
    transfer = StyleTransfer(extractor, content, style)
    image = tf.Variable(content)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            features = extractor(image)
            total = tf.add_n([tf.reduce_sum(f) for f in features["style"] + features["content"]])
        return tape.gradient(total, image)

    reference = timed(lambda: forward_backward().numpy(), args.steps)
    step = timed(transfer.step, args.steps)
    print(f"VGG-19 forward+backward ({args.height}x{args.width}): {reference:.2f} s")
    print(f"style transfer step: {step:.2f} s = {1 / step:.3f} steps/s")
    print(f"ratio step / forward+backward: {step / reference:.2f}")


if __name__ == "__main__":
    main()
