"""What the bounded decoder and the detection pipeline cost in CPU per image.

Every image that enters kerasnotes goes through `decode_image_bounded` (header read, pixel
budget, decode, EXIF orientation; kerasnotes/ops/image_decoding.py). On 2 cores the input
pipeline's CPU is taken from the training step, so its cost per image is what matters:

1. decoding: CPU ms per image of `decode_image_bounded` against the reference
   `tf.io.decode_image` (same files, a parallel `tf.data` map, interleaved rounds), on
   128x128 JPEGs (apps.ssd's default size), 512x384 JPEGs and 128x128 PNGs; with
   `--before-module FILE` also an earlier copy of image_decoding.py
   (`git show REV:kerasnotes/ops/image_decoding.py > FILE`);
2. one epoch of apps.ssd's training pipeline (synthetic shapes, 128x128, flip + color jitter,
   `ssd_targets`): CPU ms per image with the decoded images kept in memory (the default of
   `detection_dataset_from_records` for images of one size) and read from their files
   (`in_memory_bytes=0`).

    python -m benchmarks.image_decoding_cost [--images 256] [--rounds 5] \
        [--before-module /tmp/image_decoding_old.py]
    python -m benchmarks.image_decoding_cost --images 16 --rounds 1        # smoke run
"""

import argparse
import importlib.util
import os
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from benchmarks import harness
from benchmarks.ssd_speed import app_pipeline, synthetic_split
from kerasnotes.data.detection.banana_detection import read_banana_labels
from kerasnotes.data.detection.detection_records import detection_dataset_from_records
from kerasnotes.models.tiny_ssd import tiny_ssd_anchors
from kerasnotes.ops import image_decoding
from kerasnotes.ops.ssd_targets import ssd_targets


def write_images(folder, count, height, width, fmt):
    """`count` smooth random images (a photo-like amount of detail) as files; their paths."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
        image = tf.cast(tf.image.resize(coarse[None], (height, width))[0], tf.uint8)
        data = tf.io.encode_jpeg(image, quality=90) if fmt == "jpeg" else tf.io.encode_png(image)
        path = os.path.join(folder, f"{height}x{width}-{i}.{'jpg' if fmt == 'jpeg' else 'png'}")
        tf.io.write_file(path, data)
        paths.append(path)
    return paths


def cpu_per_pass(datasets, rounds):
    """`{name: [CPU seconds of one pass over the dataset, per round]}`, interleaved."""
    def one_pass(dataset):
        for _ in dataset:
            pass

    passes = {name: (lambda dataset=dataset: one_pass(dataset))
              for name, dataset in datasets.items()}
    return harness.interleaved(passes, rounds, clock=time.process_time)


def report(times, count, baseline):
    for name, values in times.items():
        ms = 1e3 * statistics.median(values) / count
        print(f"  {name:34s} {ms:6.2f} CPU ms per image   "
              f"{harness.ratio(values, times[baseline]):5.2f}x the CPU of {baseline}")


def decoding(args, folder):
    decoders = {"tf.io.decode_image": lambda data: tf.io.decode_image(
        data, channels=3, expand_animations=False),
                "decode_image_bounded": lambda data: image_decoding.decode_image_bounded(
                    data, image_decoding.DEFAULT_MAX_PIXELS, "x")}
    if args.before_module:
        spec = importlib.util.spec_from_file_location("image_decoding_before",
                                                      args.before_module)
        before = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(before)
        decoders["decode_image_bounded, before"] = lambda data: before.decode_image_bounded(
            data, before.DEFAULT_MAX_PIXELS, "x")
    for height, width, fmt in ((128, 128, "jpeg"), (384, 512, "jpeg"), (128, 128, "png")):
        paths = write_images(folder, args.images, height, width, fmt)
        print(f"\n1. decoding {args.images} {width}x{height} {fmt.upper()} files "
              f"(median of {args.rounds} rounds):")
        files = tf.data.Dataset.from_tensor_slices(paths).map(tf.io.read_file)
        datasets = {name: files.map(fn, num_parallel_calls=tf.data.AUTOTUNE)
                    for name, fn in decoders.items()}
        report(cpu_per_pass(datasets, args.rounds), args.images, "tf.io.decode_image")


def pipeline(args, folder):
    split_dir, _ = synthetic_split(folder, 128, args.images)
    records = read_banana_labels(split_dir)
    anchors = tiny_ssd_anchors(128)
    targets = lambda labels: ssd_targets(tf.constant(anchors), labels, jit_compile=True)
    datasets = {}
    for name, in_memory_bytes in (("in memory (default)", 256 * 2**20),
                                  ("read from files", 0)):
        images = detection_dataset_from_records(records, None, 3,
                                                in_memory_bytes=in_memory_bytes)
        datasets[name] = app_pipeline(images, 32, 128, anchors, 0, targets)
    print(f"\n2. apps.ssd's training pipeline, one epoch of {args.images} synthetic 128x128 "
          f"images (batch 32, flip + color jitter, ssd_targets), median of {args.rounds} "
          "rounds:")
    report(cpu_per_pass(datasets, args.rounds), args.images, "read from files")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    harness.add_int_flags(parser, images=(256, "images per set (default 256)"),
                          rounds=(5, "interleaved rounds (default 5)"))
    parser.add_argument("--before-module", help="an earlier copy of image_decoding.py")
    args = parser.parse_args()
    with harness.session("Image decoding and the detection pipeline: CPU per image",
                         threads=2), tempfile.TemporaryDirectory() as folder:
        decoding(args, folder)
        pipeline(args, folder)


if __name__ == "__main__":
    main()
