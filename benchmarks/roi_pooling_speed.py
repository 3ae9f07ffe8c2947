"""ROI pooling speed: ours (gather + segment_max) vs crop_and_resize + max-pool, ROIAlign
and a naive Python loop; forward alone, and forward + gradient to the features.

    python -m benchmarks.roi_pooling_speed [--regions 128] [--repeats 5]
    python -m benchmarks.roi_pooling_speed --regions 16 --repeats 1        # smoke run

Prints the median time of each and its speed relative to ours (= ours / its time), from
interleaved rounds in the same process; the naive loop, checked equal to ours first, is
timed on its own.
"""

import argparse
import statistics

import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.layers.roi_align import ROIAlign
from kerasnotes.layers.roi_pooling import ROIPooling


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--regions", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, h, w, c, pooled, scale = 2, 38, 50, 128, 7, 1 / 16
    features = tf.constant(rng.normal(size=(n, h, w, c)).astype("float32"))
    x1 = rng.uniform(0, w / scale * 0.7, args.regions)
    y1 = rng.uniform(0, h / scale * 0.7, args.regions)
    rois = np.stack([rng.integers(0, n, args.regions), x1, y1,
                     x1 + rng.uniform(16, 300, args.regions),
                     y1 + rng.uniform(16, 300, args.regions)], 1).astype("float32")
    rois = tf.constant(rois)

    pool = ROIPooling(pooled, spatial_scale=scale)
    ours = tf.function(lambda: pool([features, rois]))

    @tf.function
    def crop_then_max():
        boxes = tf.stack([rois[:, 2] * scale / (h - 1), rois[:, 1] * scale / (w - 1),
                          rois[:, 4] * scale / (h - 1), rois[:, 3] * scale / (w - 1)], 1)
        crops = tf.image.crop_and_resize(features, boxes, tf.cast(rois[:, 0], "int32"),
                                         (2 * pooled, 2 * pooled))
        return tf.nn.max_pool2d(crops, 2, 2, "VALID")

    align = ROIAlign(pooled, spatial_scale=scale)
    roi_align = tf.function(lambda: align([features, rois]))

    few = rois[:16]

    def naive_loop():  # one eager slice + max per output cell, 16 regions only
        out = []
        for b, xa, ya, xb, yb in few.numpy():
            xs, ys = int(round(xa * scale)), int(round(ya * scale))
            xe, ye = int(round(xb * scale)), int(round(yb * scale))
            rh, rw = max(ye - ys + 1, 1) / pooled, max(xe - xs + 1, 1) / pooled
            cells = []
            for i in range(pooled):
                for j in range(pooled):
                    r0 = min(max(int(np.floor(i * rh)) + ys, 0), h)
                    r1 = min(max(int(np.ceil((i + 1) * rh)) + ys, 0), h)
                    c0 = min(max(int(np.floor(j * rw)) + xs, 0), w)
                    c1 = min(max(int(np.ceil((j + 1) * rw)) + xs, 0), w)
                    window = features[int(b), r0:r1, c0:c1]
                    cells.append(tf.reduce_max(window, axis=(0, 1)) if r1 > r0 and c1 > c0
                                 else tf.zeros((c,)))
            out.append(tf.stack(cells))
        return tf.stack(out)

    expected = naive_loop().numpy()
    np.testing.assert_allclose(pool([features, few]).numpy().reshape(16, -1, c), expected,
                               atol=1e-6)
    np.testing.assert_allclose(ours()[:16].numpy().reshape(16, -1, c), expected, atol=1e-6)

    def with_gradient(fn):
        @tf.function
        def run():
            with tf.GradientTape() as tape:
                tape.watch(features)
                out = fn()
            return tape.gradient(out, features, output_gradients=tf.ones_like(out))
        return run

    with harness.session(f"ROI pooling, features {(n, h, w, c)}, {args.regions} regions, "
                         f"{pooled}x{pooled} output; speed vs ours = ours / its time"):
        for title, fn in (("forward", lambda f: f), ("forward + gradient to the features",
                                                     with_gradient)):
            print(title + ":")
            times = harness.interleaved({"ROIPooling (ours, segment_max)": fn(ours),
                                         "crop_and_resize + max-pool": fn(crop_then_max),
                                         "ROIAlign (crop_and_resize + avg)": fn(roi_align)},
                                        args.repeats)
            harness.print_ratios(times, "ROIPooling (ours, segment_max)", args.regions,
                                 "regions/s")
        naive = harness.interleaved({"naive": naive_loop}, max(1, args.repeats // 2))["naive"]
        print(f"naive eager loop (scaled from 16 regions): "
              f"{statistics.median(naive) * args.regions / 16 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
