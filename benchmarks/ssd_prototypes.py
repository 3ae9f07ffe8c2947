"""Prototypes of a faster TinySSD training step and pipeline, checked equal, timed interleaved.

    PYTHONPATH=. python benchmarks/ssd_prototypes.py [--image-size 128] [--batch 32] \
        [--rounds 5] [--steps 2] [--cache-dir data_cache]

The baseline is the app's training step as it was before the fused batch norm and the
XLA-compiled targets (both prototypes here, now in the library and the app: `fused_bn` and
`targets_xla` are apps.ssd today): `TinySSD(4)` with Keras' BatchNormalization, the
`SSDLoss(negative_ratio=3)` per-image losses averaged over the batch, Adam, the
`AnchorClassError` and `BoxOffsetMAE` metrics, outputs cast to float32 (what
`Trainer._replica_train_step` does, written out here so that variants can change it), on a
batch of the app's pipeline (`make_detection_dataset` with augmentation, then `ssd_targets`).
Nothing in kerasnotes is edited: each prototype swaps one piece.

    fused_bn      the 12 batch norm layers of the DownSampleBlocks are
                  `kerasnotes.layers.FusedBatchNormalization` (one FusedBatchNormV3 kernel
                  and its fused gradient) instead of Keras 3's `tf.nn.moments` +
                  elementwise graph; moving statistics updated exactly as Keras does
    hnm_sort      hard negative mining by one `tf.sort` per image and a threshold (the k-th
                  largest negative loss) instead of `argsort(argsort(.))`
    hnm_top_k     the same threshold from `tf.math.top_k` with k = the batch's largest
                  number of hard negatives (k << anchors)
    jit_step      the whole step under `tf.function(jit_compile=True)` (XLA)
    bf16          the model under `mixed_bfloat16` (not equal by design: the loss difference
                  is printed, not checked)
    fused_bn+bf16 both (bfloat16 activations go into the kernel as they are)
    targets_xla   `ssd_targets(..., jit_compile=True)` in the pipeline
    decoded_cache the images decoded once into memory (`from_tensor_slices` keeps the random
                  access the epoch shuffle needs), pipeline otherwise unchanged

Checks, one step from the same weights and batch (see `compare`): the forward values (loss,
BN moving statistics) as max |a - b| / max |b|, the gradients as ||a - b|| / ||b|| per
tensor, against the current code in float32 (PASS at <= 1e-5) and against the current code
run in float64 (the current code's own float32 error is printed: gradients of this deep BN
+ ReLU + max-pool stack are only defined to ~1e-3 in float32); a single BN layer alone,
where there is no such amplification; the hard-negative masks compared exactly. Pipeline
prototypes: every batch (images and targets) of one epoch compared.
Timing: rounds of A B C ... (each variant a few steps), the speedup is the median over
rounds of baseline time / variant time in the same round; the load average is printed.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

tf.get_logger().setLevel("ERROR")  # the many tf.functions here trigger retracing notes

from kerasnotes.data.detection import synthetic_detection  # noqa: E402
from kerasnotes.data.detection.banana_detection import read_banana_labels  # noqa: E402
from kerasnotes.data.detection.detection_pipeline import make_detection_dataset  # noqa: E402
from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization  # noqa: E402
from kerasnotes.losses.softmax_cross_entropy import softmax_cross_entropy  # noqa: E402
from kerasnotes.losses.ssd_loss import SSDLoss, ssd_loss  # noqa: E402
from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE  # noqa: E402
from kerasnotes.models.tiny_ssd import TinySSD  # noqa: E402
from kerasnotes.ops.ssd_targets import ssd_targets  # noqa: E402

try:  # the record helpers are moving out of banana_detection
    from kerasnotes.data.detection.detection_records import detection_dataset_from_records
except ImportError:  # pragma: no cover
    from kerasnotes.data.detection.banana_detection import detection_dataset_from_records

NEGATIVE_RATIO = 3.0
MAX_OBJECTS = 3
TOLERANCE = 1e-5


def synthetic_train_records(cache_dir, image_size, num_images):
    """The records of the app's synthetic shapes (seed 0, up to 3 objects per image),
    `num_images` training images of `image_size`, generated once into `cache_dir`."""
    root = synthetic_detection.ensure_synthetic_detection_dataset(
        os.path.join(cache_dir, f"ssd_vs_pytorch-{image_size}-{num_images}"),
        num_train=num_images, num_val=0, image_size=image_size, seed=0,
        max_objects=MAX_OBJECTS)
    train_folder = getattr(synthetic_detection, "TRAIN_FOLDER", "bananas_train")
    return read_banana_labels(os.path.join(root, train_folder))


# ---------------------------------------------------------------- prototypes: the step

def use_fused_batch_norm(model, fused=True):
    """Makes every batch norm layer of `model` (not yet traced in a step) Keras' own
    `BatchNormalization` (`fused=False`: the app before `FusedBatchNormalization` landed)
    or `kerasnotes.layers.FusedBatchNormalization` (`True`: the app now),
    in place; returns how many."""
    count = 0
    target = FusedBatchNormalization if fused else keras.layers.BatchNormalization
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.__class__ = target
            count += 1
    return count


def _select_by_rank(negative_loss, num_negative):
    """The current code: anchors of rank < k by decreasing loss (two argsorts)."""
    order = ops.argsort(-negative_loss, axis=1)
    rank = ops.cast(ops.argsort(order, axis=1), negative_loss.dtype)
    return ops.cast(rank < num_negative, negative_loss.dtype)


def _threshold_mask(negative_loss, num_negative, descending):
    """Anchors whose loss is >= the k-th largest (k = ceil(num_negative) clipped to the
    row length), from `descending` = the row's losses sorted in decreasing order (at least
    the first max k of them)."""
    k = tf.cast(tf.math.ceil(num_negative[:, 0]), tf.int32)
    k = tf.clip_by_value(k, 1, tf.shape(descending)[1])
    threshold = tf.gather(descending, k - 1, axis=1, batch_dims=1)
    return tf.cast(negative_loss >= threshold[:, None], negative_loss.dtype)


def _select_by_sort(negative_loss, num_negative):
    descending = tf.sort(negative_loss, axis=1, direction="DESCENDING")
    return _threshold_mask(negative_loss, num_negative, descending)


def _select_by_top_k(negative_loss, num_negative):
    largest_k = tf.cast(tf.math.ceil(tf.reduce_max(num_negative)), tf.int32)
    k = tf.minimum(largest_k, tf.shape(negative_loss)[1])
    descending = tf.math.top_k(negative_loss, k=k, sorted=True).values
    return _threshold_mask(negative_loss, num_negative, descending)


SELECTIONS = {"rank": _select_by_rank, "sort": _select_by_sort, "top_k": _select_by_top_k}


def ssd_loss_with(selection, negative_ratio=NEGATIVE_RATIO):
    """`ssd_loss(y_true, y_pred, negative_ratio)` (per image) with another hard-negative
    selection; `selection="rank"` is the current code line for line."""
    select = SELECTIONS[selection]

    def loss(y_true, y_pred):
        logits = ops.convert_to_tensor(y_pred["class_logits"])
        offsets = ops.cast(y_pred["bbox_offsets"], logits.dtype)
        labels = ops.cast(y_true["class_labels"], "int32")
        target = ops.cast(y_true["bbox_offsets"], logits.dtype)
        mask = ops.cast(y_true["bbox_mask"], logits.dtype)
        cross_entropy = softmax_cross_entropy(labels, logits)
        box_error = ops.abs(mask * (offsets - target))
        positive = ops.cast(labels > 0, logits.dtype)
        num_positive = ops.sum(positive, axis=1, keepdims=True)
        num_negative = ops.maximum(negative_ratio * num_positive, negative_ratio)
        negative_loss = ops.where(labels > 0, -1.0, ops.stop_gradient(cross_entropy))
        hard_negative = select(negative_loss, num_negative) * (1.0 - positive)
        selected = ops.sum(cross_entropy * (positive + hard_negative), axis=1)
        return (selected + ops.sum(box_error, axis=1)) / ops.maximum(num_positive[:, 0], 1.0)

    return loss


def app_loss():
    """The app's loss as the Trainer calls it: SSDLoss(negative_ratio=3), no reduction."""
    unreduced = SSDLoss(negative_ratio=NEGATIVE_RATIO, reduction=None)
    return lambda y_true, y_pred: unreduced(y_true, y_pred)


def _to_float32(outputs):
    return tf.nest.map_structure(
        lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating and t.dtype != tf.float32 else t,
        outputs)


def make_train_step(model, loss_fn, optimizer, metrics, jit_compile=False):
    """One training step as `Trainer._replica_train_step` does it (one replica)."""

    def step(x, y):
        with tf.GradientTape() as tape:
            y_pred = _to_float32(model(x, training=True))
            per_example = loss_fn(y, y_pred)
            loss = tf.reduce_sum(per_example) / tf.cast(tf.shape(x)[0], tf.float32)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        for metric in metrics:
            metric.update_state(y, y_pred)
        return loss

    return tf.function(step, jit_compile=jit_compile)


def build(image_size, weights=None, policy="float32", fused_bn=False, num_classes=4):
    """A TinySSD (optionally with the given weights and policy; `fused_bn`: its batch norm
    layers fused as in the app now, or Keras' as before), Adam and metrics."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = TinySSD(num_classes=num_classes, input_size=image_size)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    if weights is not None:
        model.set_weights(weights)
    use_fused_batch_norm(model, fused=bool(fused_bn))
    optimizer = keras.optimizers.Adam(0.002)
    optimizer.build(model.trainable_variables)
    return model, optimizer, [AnchorClassError(), BoxOffsetMAE()]


# ---------------------------------------------------------------- prototypes: the pipeline

def app_pipeline(dataset, batch, image_size, anchors, epoch=0, targets_fn=None):
    """apps.ssd's training pipeline: make_detection_dataset (seed 0, augmentation) then
    `ssd_targets` in a map; `targets_fn(labels)` replaces the latter."""
    anchors = tf.constant(anchors)
    targets_fn = targets_fn or (lambda labels: ssd_targets(anchors, labels))
    pipeline = make_detection_dataset(dataset, batch, shuffle_seed=0, epoch=epoch,
                                      augment=True, image_size=image_size)
    return pipeline.map(lambda x, y: (x, targets_fn(y)),
                        num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def xla_targets(anchors):
    """`ssd_targets(..., jit_compile=True)`: compiled with XLA (the app now)."""
    anchors = tf.constant(anchors)
    return lambda labels: ssd_targets(anchors, labels, jit_compile=True)


def decoded_in_memory(records, max_objects=MAX_OBJECTS):
    """The dataset of `detection_dataset_from_records(records)` decoded once into memory:
    `from_tensor_slices((uint8 images, labels))`, same elements, random access kept."""
    elements = list(detection_dataset_from_records(records, None, max_objects))
    images = np.stack([image.numpy() for image, _ in elements])
    labels = np.stack([labels.numpy() for _, labels in elements])
    return tf.data.Dataset.from_tensor_slices((images, labels))


# ---------------------------------------------------------------- checks and timing

def loss_gradients_stats(model, loss_fn, images, targets, jit_compile=False,
                         dtype=tf.float32):
    """[loss, gradients..., BN moving statistics...] after one training-mode call, the
    outputs cast to `dtype` (float32 as the Trainer does; float64 for the reference)."""

    def cast(t):
        return tf.cast(t, dtype) if t.dtype.is_floating else t

    def f(x, y):
        with tf.GradientTape() as tape:
            y_pred = tf.nest.map_structure(cast, model(x, training=True))
            loss = tf.reduce_mean(loss_fn(y, y_pred))
        return loss, tape.gradient(loss, model.trainable_variables)

    images, targets = cast(images), tf.nest.map_structure(cast, targets)
    loss, gradients = tf.function(f, jit_compile=jit_compile)(images, targets)
    stats = [v.numpy() for v in model.non_trainable_variables]
    return [np.asarray(loss, np.float64)] + [np.asarray(g, np.float64) for g in gradients] + [
        np.asarray(v, np.float64) for v in stats]


def max_relative(a, b):
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-30)


def norm_relative(a, b):
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(b)), 1e-30)


def compare(values, reference, truth, num_gradients):
    """`(forward error, gradient error vs reference, gradient error vs truth)`.

    Forward: loss and BN moving statistics, worst max |a - b| / max |b|. Gradients: worst
    ||a - b|| / ||b|| over the gradient tensors, skipping those that are 0 in exact
    arithmetic (the conv biases right before a batch norm: |truth| < 1e-9 of the largest
    gradient entry), where float32 holds only rounding noise. Max-norm errors of gradients
    are not meaningful here: a ReLU input or a max-pool tie within rounding of each other
    flips which element gets the gradient, in the current code as well.
    """
    grads = slice(1, 1 + num_gradients)
    forward = [0] + list(range(1 + num_gradients, len(values)))
    forward_error = max(max_relative(values[i], reference[i]) for i in forward)
    scale = max(float(np.max(np.abs(t))) for t in truth[grads])
    kept = [i for i in range(1, 1 + num_gradients) if np.max(np.abs(truth[i])) > 1e-9 * scale]
    return (forward_error, max(norm_relative(values[i], reference[i]) for i in kept),
            max(norm_relative(values[i], truth[i]) for i in kept))


def batch_norm_layer_check(shape=(32, 32, 32, 32), seed=0):
    """One BatchNormalization layer alone on a smooth loss sum(y * r): Keras' layer vs
    `FusedBatchNormalization`, both float32, against Keras' layer in float64. Returns
    worst max-relative errors `(fused vs keras, keras vs float64, fused vs float64)` over
    the output, the gradients of x, gamma, beta and the moving statistics."""
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, shape)
    r = rng.normal(size=shape)
    gamma, beta = rng.normal(1.0, 0.3, shape[-1]), rng.normal(0.0, 0.3, shape[-1])

    def run(layer_class, dtype):
        layer = layer_class(momentum=0.9, dtype=dtype)
        layer.build(shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        xt, rt = tf.constant(x, dtype), tf.constant(r, dtype)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt, training=True)
            loss = tf.reduce_sum(y * rt)
        grads = tape.gradient(loss, [xt, layer.gamma, layer.beta])
        return [np.asarray(t, np.float64) for t in
                [y, *grads, layer.moving_mean, layer.moving_variance]]

    keras32 = run(keras.layers.BatchNormalization, "float32")
    fused = run(FusedBatchNormalization, "float32")
    keras64 = run(keras.layers.BatchNormalization, "float64")

    def worst_(a, b):
        return max(max_relative(p, q) for p, q in zip(a, b, strict=True))

    return worst_(fused, keras32), worst_(keras32, keras64), worst_(fused, keras64)


def block(value):
    for t in tf.nest.flatten(value):
        np.asarray(t)


def interleaved(variants, rounds, repeat):
    """{name: [seconds per call, one per round]}: each round runs every variant in turn,
    starting one further down the list each round (no variant is always first)."""
    times = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            fn = variants[name]
            start = time.perf_counter()
            for _ in range(repeat):
                block(fn())
            times[name].append((time.perf_counter() - start) / repeat)
    return times


def speedups(times, baseline):
    return {name: statistics.median(b / v for b, v in zip(times[baseline], values,
                                                           strict=True))
            for name, values in times.items()}


def load():
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="steps per variant per round")
    parser.add_argument("--num-images", type=int, default=256,
                        help="images of the synthetic set used for pipeline timing")
    parser.add_argument("--cache-dir", default="data_cache")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sections", default="checks,steps,pipeline",
                        help="comma-separated: checks, steps, pipeline, train")
    parser.add_argument("--train-epochs", type=int, default=5,
                        help="epochs of the train section")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    size, batch = args.image_size, args.batch
    keras.utils.set_random_seed(0)

    records = synthetic_train_records(args.cache_dir, size, args.num_images)
    dataset = detection_dataset_from_records(records, None, MAX_OBJECTS)
    baseline_model, _, _ = build(size)
    weights = baseline_model.get_weights()
    anchors = baseline_model.anchors
    images, targets = next(iter(app_pipeline(dataset, batch, size, anchors)))
    print(f"TinySSD {size}x{size}, {len(anchors)} anchors, batch {batch}; "
          f"{float(tf.reduce_mean(tf.reduce_sum(tf.cast(targets['class_labels'] > 0, 'float32'), 1))):.1f} "  # noqa: E501
          f"positive anchors per image; {load()}")

    sections = args.sections.split(",")
    if "checks" in sections:
        equality_checks(size, weights, baseline_model, images, targets)
    if "steps" in sections:
        step_timing(size, batch, weights, images, targets, args)
    if "pipeline" in sections:
        pipeline_prototypes(records, dataset, batch, size, anchors, args)
    if "train" in sections:
        train_check(dataset, batch, size, anchors, weights, args.train_epochs)


def equality_checks(size, weights, baseline_model, images, targets):
    # ---- equality checks of the step prototypes (float32, and a float64 truth)
    def values(selection="app", fused_bn=False, jit_compile=False, policy="float32"):
        model, _, _ = build(size, weights, policy=policy, fused_bn=fused_bn)
        if selection == "app":
            loss_fn = (app_loss() if policy != "float64"
                       else lambda y, p: ssd_loss(y, p, NEGATIVE_RATIO))
        else:
            loss_fn = ssd_loss_with(selection)
        dtype = tf.float64 if policy == "float64" else tf.float32
        return loss_gradients_stats(model, loss_fn, images, targets, jit_compile, dtype)

    num_gradients = len(baseline_model.trainable_variables)
    current, truth = values(), values(policy="float64")
    _, _, current_vs_truth = compare(current, truth, truth, num_gradients)
    print("\nEquality after one step from the same weights and batch. forward = loss and BN "
          "moving statistics vs the current code, max|a-b|/max|b|; gradients = worst "
          "||a-b||/||b|| over tensors vs the current code and vs float64 (the current "
          f"code's own float32 gradient error: {current_vs_truth:.1e}); PASS: <= {TOLERANCE:g} "
          "vs the current code")
    checks = {
        "current code (run again)": values(),
        "rank (our copy of the loss)": values("rank"),
        "hnm_sort": values("sort"),
        "hnm_top_k": values("top_k"),
        "fused_bn": values(fused_bn=True),
        "jit_step": values(jit_compile=True),
        "fused_bn+hnm_top_k": values("top_k", fused_bn=True),
    }
    for name, vals in checks.items():
        forward, versus_current, versus_truth = compare(vals, current, truth, num_gradients)
        verdict = ("PASS" if max(forward, versus_current) <= TOLERANCE else
                   f"FAIL (distance to float64 {versus_truth / current_vs_truth:.1f}x the "
                   "current code's)")
        print(f"  {name:28s} forward {forward:.1e}; gradients vs current {versus_current:.1e}, "
              f"vs float64 {versus_truth:.1e}: {verdict}")
    bf16 = values(policy="mixed_bfloat16")
    forward, _, versus_truth = compare(bf16, current, truth, num_gradients)
    print(f"  bf16 (not expected equal): forward {forward:.1e} (loss {bf16[0]:.4f} vs "
          f"{current[0]:.4f}), gradients vs float64 {versus_truth:.1e}")
    for shape in ((32, 32, 32, 32), (32, size, size, 16)):
        fused_vs_keras, keras_vs_64, fused_vs_64 = batch_norm_layer_check(shape)
        print(f"  one BN layer alone {shape} (smooth loss; output, grads of x/gamma/beta, "
              f"moving stats): fused vs Keras {fused_vs_keras:.1e}, Keras vs float64 "
              f"{keras_vs_64:.1e}, fused vs float64 {fused_vs_64:.1e}: "
              f"{'PASS' if fused_vs_keras <= TOLERANCE else 'FAIL'}")
    logits = baseline_model(images, training=False)["class_logits"]
    labels = tf.cast(targets["class_labels"], "int32")
    ce = softmax_cross_entropy(labels, logits)
    negative_loss = tf.where(labels > 0, -1.0, ce)
    positives = tf.reduce_sum(tf.cast(labels > 0, tf.float32), axis=1, keepdims=True)
    num_negative = tf.maximum(NEGATIVE_RATIO * positives, NEGATIVE_RATIO)
    masks = {k: (f(negative_loss, num_negative) * tf.cast(labels == 0, tf.float32)).numpy()
             for k, f in SELECTIONS.items()}
    print("  hard negatives selected: " + ", ".join(
        f"{k} {'identical to' if np.array_equal(m, masks['rank']) else 'DIFFERENT from'} rank"
        for k, m in masks.items() if k != "rank") + f" ({int(masks['rank'].sum())} anchors)")



def step_timing(size, batch, weights, images, targets, args):
    def step_variant(selection="app", fused_bn=False, jit_compile=False, policy="float32"):
        model, optimizer, metrics = build(size, weights, policy=policy, fused_bn=fused_bn)
        loss_fn = app_loss() if selection == "app" else ssd_loss_with(selection)
        step = make_train_step(model, loss_fn, optimizer, metrics, jit_compile)
        block(step(images, targets))
        return lambda: step(images, targets)

    variants = {
        "baseline": step_variant(),
        "hnm_sort": step_variant("sort"),
        "hnm_top_k": step_variant("top_k"),
        "fused_bn": step_variant(fused_bn=True),
        "jit_step": step_variant(jit_compile=True),
        "bf16": step_variant(policy="mixed_bfloat16"),
        "fused_bn+bf16": step_variant(fused_bn=True, policy="mixed_bfloat16"),
        "fused_bn+hnm_top_k": step_variant("top_k", fused_bn=True),
        "fused_bn+hnm_top_k+bf16": step_variant("top_k", fused_bn=True,
                                                       policy="mixed_bfloat16"),
    }
    times = interleaved(variants, args.rounds, args.steps)
    ratio = speedups(times, "baseline")
    print(f"\nTraining step, batch {batch} ({args.rounds} rounds x {args.steps} steps, "
          f"interleaved; {load()}):")
    for name, values_ in times.items():
        median = statistics.median(values_)
        print(f"  {name:31s} {median * 1000:7.1f} ms/step  {batch / median:6.1f} img/s  "
              f"speedup {ratio[name]:.2f}x")



def pipeline_prototypes(records, dataset, batch, size, anchors, args):
    """Equality of every batch of one epoch, then the speed of one pass."""
    cached = decoded_in_memory(records)
    compiled_targets = xla_targets(anchors)  # one function for every epoch (compiled once)
    pipelines = {
        "app pipeline": lambda: app_pipeline(dataset, batch, size, anchors),
        "targets_xla": lambda: app_pipeline(dataset, batch, size, anchors,
                                            targets_fn=compiled_targets),
        "decoded_cache": lambda: app_pipeline(cached, batch, size, anchors),
        "decoded_cache+targets_xla": lambda: app_pipeline(cached, batch, size, anchors,
                                                          targets_fn=compiled_targets),
    }
    expected = [tf.nest.flatten(b) for b in pipelines["app pipeline"]()]
    print("\nPipeline prototypes, every batch of one epoch vs the app pipeline "
          "(max |a-b| / max|b|):")
    for name, make in list(pipelines.items())[1:]:
        error = max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b))))
                    / max(float(np.max(np.abs(np.asarray(b, np.float64)))), 1e-30)
                    for got, want in zip(make(), expected, strict=True)
                    for a, b in zip(tf.nest.flatten(got), want, strict=True))
        print(f"  {name:26s} {error:.1e} {'PASS' if error <= TOLERANCE else 'FAIL'}")

    def one_pass(make):
        return lambda: [None for _ in make()]

    times = interleaved({name: one_pass(make) for name, make in pipelines.items()},
                        args.rounds, 1)
    ratio = speedups(times, "app pipeline")
    print(f"\nPipeline alone, one pass over {args.num_images} images, a new dataset per pass "
          f"as the app builds one per epoch ({load()}):")
    for name, values_ in times.items():
        median = statistics.median(values_)
        print(f"  {name:26s} {args.num_images / median:7.0f} img/s  speedup {ratio[name]:.2f}x")


def train_check(dataset, batch, size, anchors, weights, epochs):
    """Trains the current code and the prototypes from the same weights on the app's
    pipeline (epoch e ordered and augmented as the app does) and prints the mean loss of
    every epoch and the last epoch's metrics."""
    print(f"\nTraining from the same weights, {epochs} epochs of the app pipeline (Adam 0.002, "
          f"SSDLoss(3)); mean loss per epoch, last epoch's class_error / bbox_mae ({load()}):")
    for name, options in (("current code", {}), ("fused_bn", {"fused_bn": True}),
                          ("current code, bf16", {"policy": "mixed_bfloat16"}),
                          ("fused_bn+bf16", {"fused_bn": True,
                                                    "policy": "mixed_bfloat16"})):
        model, optimizer, metrics = build(size, weights, **options)
        step = make_train_step(model, app_loss(), optimizer, metrics)
        losses = []
        start = time.perf_counter()
        for epoch in range(epochs):
            for metric in metrics:
                metric.reset_state()
            losses.append(np.mean([float(step(x, y)) for x, y in
                                   app_pipeline(dataset, batch, size, anchors, epoch)]))
        shown = " ".join(f"{v:.4f}" for v in losses)
        print(f"  {name:22s} {shown}  |  {float(metrics[0].result()):.4f} / "
              f"{float(metrics[1].result()):.4f}  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
