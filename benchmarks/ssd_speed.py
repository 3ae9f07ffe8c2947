"""TinySSD speed: the parts of a step and of serving, and the app's job vs d2l's PyTorch.

    python -m benchmarks.ssd_speed [--image-size 256] [--batch 32] [--repeats 5] \
        [--cache-dir data_cache]
    python -m benchmarks.ssd_speed --vs-pytorch --peer-python /work/peervenv/bin/python \
        [--sizes 128 256] [--batch 32] [--rounds 2] [--num-images 256] [--threads 2] \
        [--peer-variants d2l channels_last ...] [--before] [--peer-wait-policy passive]
    python -m benchmarks.ssd_speed --vs-pytorch --peer-python /work/peervenv/bin/python \
        --sizes 64 --batch 8 --num-images 16 --rounds 2 --steps 1          # smoke run
    python -m benchmarks.ssd_speed --image-size 64 --batch 4 --repeats 1       # smoke run

Parts (default; medians of --repeats, ratios against references in the same process):
1. training images/s: one Adam step of TinySSD (4 classes) on a batch, targets computed in
   the input pipeline (what apps.ssd does) vs inside the train step (ratio in-step / pipeline);
2. inference: latency of one image (p50, p95) and throughput at --batch, through
   `DetectionServer.serve_images` (uint8 in, boxes out: model + softmax + decode + NMS);
3. the input pipeline alone (synthetic shapes JPEG files -> decode -> augment -> batch ->
   `ssd_targets`), images/s, and its ratio to the training images/s (target >= 5);
4. target assignment (`ssd_targets`, the notes' matching + offsets) per batch, in a
   `tf.function`, and compiled with XLA (`jit_compile=True`, as apps.ssd's pipeline runs it);
5. NMS in post-processing: `multibox_detection` with the from-scratch NMS vs
   `implementation="fused"` (`tf.image.non_max_suppression`; the serving path), on the
   model's output (NMS on random boxes: benchmarks/detection_ops.py).

`--vs-pytorch`: training speed of what `python -m apps.ssd` trains at its defaults (the
synthetic shapes through `make_detection_dataset`, epoch shuffle by random access, flip +
color jitter, then `ssd_targets` (XLA) in a `tf.data` map, `TinySSD(4)`,
`SSDLoss(negative_ratio=3)`, Adam(0.002) and the app's metrics, trained by
`kerasnotes.training.Trainer` steps) against d2l's PyTorch TinySSD (benchmarks/peers/
tinyssd_torch.py: d2l's model, anchors every forward, `multibox_target` per image in the
step, CE + masked L1, SGD(0.2, wd 5e-4), no augmentation) run five ways
(benchmarks/peers/tinyssd_torch_tuned.py): `d2l` as written (NCHW, a PIL decode of every
image on every fetch), `channels_last` (model and inputs; images decoded once and kept in
memory, as d2l does), `channels_last+workers` (a persistent `DataLoader` worker batches and
computes the targets), and `compiled` / `compiled+workers` (the same under
`torch.compile`, inductor). The bf16 rows: ours `mixed_bfloat16`, the peer
`torch.autocast("cpu", dtype=torch.bfloat16)` on the forward. The peer runs in its own
process with the interpreter `--peer-python` (default this one), so PyTorch can live in a
venv of its own, outside the project's:

    python3 -m venv /work/peervenv
    /work/peervenv/bin/pip install torch==2.13.0 numpy pillow   # a CPU build, see STACK.md

Each side's process has --threads threads (OMP_NUM_THREADS, TF intra and inter op; OpenMP's
default wait policy unless `--peer-wait-policy passive`); ours builds its input with
tf.data's threads, the peer's `+workers` variants with one loader process. Every round times
every side in turn, in an order that rotates from round to round; the tables give medians
over rounds and, per side, the median of each round's ratio ours/it. Same model, batch,
image size and images on every side:

- step only: one training step on a fixed batch in memory (ours: `Trainer._train_function`,
  targets already in the batch; the peer: d2l's step, `multibox_target` included, except in
  the `+workers` variants, whose loader makes the targets), float32 and bfloat16;
- end to end: one epoch of --num-images images through each side's data path and steps
  (ours: the second epoch of a `Trainer.fit` call, whose input the Trainer built in the
  background during the first one, as in the app's later epochs);
- per row, ours against the best PyTorch variant (the lowest ratio);
- our step's GFLOP (tf.compat.v1.profiler float ops of the Conv2D, Conv2DBackpropInput and
  Conv2DBackpropFilter ops of forward + backward) per second, against the float32 and
  bfloat16 `tf.matmul` ceiling measured by our worker in every round, right after that
  round's steps (the host's speed drifts by several % over minutes, so a share is the
  median over rounds of step rate / ceiling of the same round);
- `--before`: ours with Keras' `BatchNormalization` instead of `FusedBatchNormalization`
  and the targets without XLA, as the app ran before commit 869ca3d.

The run ends with `target:` lines: ours end to end in bf16 vs the best PyTorch variant at
each size (goal 1.5x), and our bf16 and float32 steps as a share of their ceilings (goal
50%). The load, and the cores' time other processes used, are printed; when other work
shared the cores, the ratios are not the quiet machine's (the peer's OpenMP threads lose
more to contention than ours).
"""

import argparse
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from apps.ssd import SSDConfig
from benchmarks import harness
from kerasnotes.data.detection import synthetic_detection
from kerasnotes.data.detection.banana_detection import read_banana_labels
from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
from kerasnotes.data.detection.detection_records import detection_dataset_from_records
from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization
from kerasnotes.layers.fused_batch_norm_relu import FusedBatchNormReLU
from kerasnotes.losses.ssd_loss import SSDLoss, ssd_loss
from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE
from kerasnotes.models.tiny_ssd import TinySSD
from kerasnotes.ops.nms import multibox_detection
from kerasnotes.ops.ssd_targets import ssd_targets
from kerasnotes.serving.detection import DetectionServer
from kerasnotes.training.trainer import Trainer

MAX_OBJECTS = 3


def synthetic_split(cache_dir, image_size, num_images):
    """The app's synthetic shapes (seed 0, up to 3 objects), `num_images` training images of
    `image_size`, generated once into `cache_dir`: `(split folder, dataset)`."""
    root = synthetic_detection.ensure_synthetic_detection_dataset(
        os.path.join(cache_dir, f"ssd_vs_pytorch-{image_size}-{num_images}"),
        num_train=num_images, num_val=0, image_size=image_size, seed=0,
        max_objects=MAX_OBJECTS)
    split_dir = os.path.join(root, synthetic_detection.TRAIN_FOLDER)
    records = read_banana_labels(split_dir)
    return split_dir, detection_dataset_from_records(records, None, MAX_OBJECTS)


def app_pipeline(dataset, batch, image_size, anchors, epoch=0, targets_fn=None, num_epochs=1):
    """apps.ssd's training pipeline: make_detection_dataset (seed 0, augmentation, epochs
    `epoch` to `epoch + num_epochs - 1` chained), then `targets_fn(labels)` (default:
    `ssd_targets` in graph mode) in a map."""
    anchors = tf.constant(anchors)
    targets_fn = targets_fn or (lambda labels: ssd_targets(anchors, labels))
    pipeline = make_detection_dataset(dataset, batch, shuffle_seed=0, epoch=epoch,
                                      augment=True, image_size=image_size,
                                      num_epochs=num_epochs)
    return pipeline.map(lambda x, y: (x, targets_fn(y)),
                        num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------- parts, in this process

def parts(args):
    size, batch = args.image_size, args.batch
    keras.utils.set_random_seed(0)
    _, dataset = synthetic_split(args.cache_dir, size, 4 * batch)
    model = TinySSD(num_classes=4, input_size=size)
    anchors = tf.constant(model.anchors)
    optimizer = keras.optimizers.Adam(1e-3)
    images, labels = next(iter(make_detection_dataset(dataset, batch, image_size=size)))
    targets = ssd_targets(anchors, labels)
    step = harness.train_step(model, lambda y, p: tf.reduce_mean(ssd_loss(y, p, 3.0)),
                              optimizer)
    step_with_labels = tf.function(lambda x, y: step(x, ssd_targets(anchors, y)))
    print(f"TinySSD {size}x{size}, {model.num_anchors} anchors, batch {batch}, "
          f"{args.repeats} repeats (medians)")
    times = harness.interleaved({"pipeline": lambda: step(images, targets),
                                 "in step": lambda: step_with_labels(images, labels)},
                                args.repeats)
    pipeline_step, in_step = (statistics.median(times[k]) for k in ("pipeline", "in step"))
    train_rate = batch / pipeline_step
    print(f"1. training: {train_rate:.1f} img/s with targets from the pipeline "
          f"({pipeline_step * 1000:.0f} ms/step); {batch / in_step:.1f} img/s with targets in "
          f"the step; in-step / pipeline time = {in_step / pipeline_step:.3f}")

    server = DetectionServer(model, ["disk", "triangle", "square", "ring"])
    pixels = tf.cast(images * 255.0, tf.uint8)
    single = harness.interleaved({"1": lambda: server.serve_images(pixels[:1])},
                                 max(20, args.repeats), warmup=2)["1"]
    full = statistics.median(harness.interleaved(
        {"all": lambda: server.serve_images(pixels)}, args.repeats)["all"])
    print(f"2. inference (serve_images, uint8 -> boxes): batch 1 latency p50 "
          f"{np.percentile(single, 50) * 1000:.1f} ms, p95 {np.percentile(single, 95) * 1000:.1f} "
          f"ms; batch {batch} throughput {batch / full:.1f} img/s")

    one_pass = lambda: [None for _ in app_pipeline(dataset, batch, size, model.anchors)]
    passes = harness.interleaved({"pass": one_pass}, max(3, args.repeats // 2))["pass"]
    input_rate = 4 * batch / statistics.median(passes)
    print(f"3. input pipeline alone (decode JPEG, augment, batch, targets): {input_rate:.0f} "
          f"img/s = {input_rate / train_rate:.1f}x what training consumes (target >= 5x)")

    assign = {"graph": tf.function(lambda y: ssd_targets(anchors, y)),
              "xla": lambda y: ssd_targets(anchors, y, jit_compile=True)}
    times = harness.interleaved({k: lambda f=f: f(labels) for k, f in assign.items()},
                                args.repeats)
    assign_ms, xla_ms = (1e3 * statistics.median(times[k]) for k in ("graph", "xla"))
    print(f"4. target assignment (ssd_targets, batch {batch}, 3 objects max): "
          f"{assign_ms:.1f} ms/batch = {assign_ms / (pipeline_step * 1000):.3f} of a train step; "
          f"jit_compile=True (the app's) {xla_ms:.1f} ms = {assign_ms / xla_ms:.1f}x faster")

    outputs = model(images, training=False)
    probabilities = tf.nn.softmax(outputs["class_logits"])
    detect = {implementation: tf.function(lambda p, o, implementation=implementation:
                                          multibox_detection(p, o, anchors, max_detections=100,
                                                             per_class=True,
                                                             implementation=implementation))
              for implementation in ("scratch", "fused")}
    times = harness.interleaved({name: lambda f=f: f(probabilities, outputs["bbox_offsets"])
                                 for name, f in detect.items()}, args.repeats)
    scratch, builtin = (1e3 * statistics.median(times[k]) for k in ("scratch", "fused"))
    print(f"5. multibox_detection (batch {batch}, per-class NMS, max 100): scratch NMS "
          f"{scratch:.1f} ms, tf.image.non_max_suppression {builtin:.1f} ms "
          f"(scratch / tf = {scratch / builtin:.2f}; serving uses the tf kernel)")
    return input_rate / train_rate


# ---------------------------------------------------------------- vs PyTorch: our worker

class KerasBatchNormReLU(keras.layers.BatchNormalization):
    """`--before`: Keras' batch norm, then ReLU (in place of `FusedBatchNormReLU`)."""

    def call(self, inputs, training=None, mask=None):
        return keras.activations.relu(super().call(inputs, training=training, mask=mask))

    def call_then_pool(self, inputs, pool, training=None):
        """As `FusedBatchNormReLU.call_then_pool`, with no fused kernel: the pooling after."""
        return pool(self(inputs, training=training))


class Ours:
    """The app's training job at one size and precision (`before`: Keras' batch norm and
    graph-mode targets), timed on request."""

    def __init__(self, args, size, precision, before):
        self.split_dir, dataset = synthetic_split(args.cache_dir, size, args.num_images)
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(precision)
        try:
            model = TinySSD(num_classes=4, input_size=size)
        finally:
            keras.mixed_precision.set_global_policy(previous)
        if before:  # the layers are not yet traced: swapping their class is enough
            for layer in model._flatten_layers(include_self=False, recursive=True):
                if isinstance(layer, FusedBatchNormReLU):
                    layer.__class__ = KerasBatchNormReLU
                elif isinstance(layer, FusedBatchNormalization):
                    layer.__class__ = keras.layers.BatchNormalization
        anchors = tf.constant(model.anchors)
        targets_fn = None if before else (lambda y: ssd_targets(anchors, y, jit_compile=True))
        self.marks = []  # each epoch's begin and end
        mark = lambda *_: self.marks.append(time.perf_counter())
        timer = keras.callbacks.LambdaCallback(on_epoch_begin=mark, on_epoch_end=mark)
        self.trainer = Trainer(model, SSDLoss(negative_ratio=3.0), keras.optimizers.Adam(0.002),
                               metrics=[AnchorClassError(), BoxOffsetMAE()], run_dir=None,
                               callbacks=[timer], verbose=0, log_every_n_steps=10,
                               steps_per_execution=SSDConfig.steps_per_execution)
        # As apps.ssd: one input iterator for a fit, the epochs chained (steps_per_epoch).
        self.last_epoch = 1
        self.train_data = lambda first: app_pipeline(dataset, args.batch, size, model.anchors,
                                                     first, targets_fn, self.last_epoch - first)
        self.steps_per_epoch = -(-args.num_images // args.batch)
        fixed = tf.data.Dataset.from_tensors(next(iter(self.train_data(0)))).repeat()
        self.iterator = iter(self.trainer.strategy.experimental_distribute_dataset(fixed))
        self.model, self.size, self.batch = model, size, args.batch

    def steps(self, count):
        step = lambda: self.trainer._train_function(self.iterator, tf.constant(1))[1]
        return [harness.time_steps(step) for _ in range(count)]

    def epoch(self):
        """Seconds of the second epoch of a two-epoch fit (one input iterator for the fit, as
        apps.ssd)."""
        self.last_epoch = int(self.trainer.epoch.numpy()) + 2
        self.trainer.fit(self.train_data, epochs=self.last_epoch,
                         steps_per_epoch=self.steps_per_epoch)
        return self.marks[-1] - self.marks[-2]

    def flops(self):
        """Float ops of the convolutions of one forward + backward pass (profiler)."""

        @tf.function
        def forward_backward(x):
            with tf.GradientTape() as tape:
                out = self.model(x, training=True)
                loss = (tf.reduce_sum(tf.cast(out["class_logits"], tf.float32))
                        + tf.reduce_sum(tf.cast(out["bbox_offsets"], tf.float32)))
            return tape.gradient(loss, self.model.trainable_variables)

        graph = forward_backward.get_concrete_function(
            tf.TensorSpec((self.batch, self.size, self.size, 3))).graph
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profile = tf.compat.v1.profiler.profile(graph=graph, cmd="op", options=options)
        return sum(child.total_float_ops for child in profile.children
                   if child.name.startswith("Conv2D"))


def matmul_ceiling(dtype, n=2048, chain=8, repeats=5):
    """GFLOP/s of the fastest of `repeats` chains of `chain` n x n `tf.matmul`s."""
    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)) / n ** 0.5, dtype)

    @tf.function
    def run():
        x = a
        for _ in range(chain):
            x = tf.matmul(x, b)
        return x

    return chain * 2 * n ** 3 / min(harness.interleaved({"mm": run}, repeats)["mm"]) / 1e9


def tf_worker(args):
    # Once, before any dataset exists: tf.random.set_seed after a dataset was built makes a
    # later tf.data.experimental.at on it (the epoch shuffle) segfault in TF 2.21.
    keras.utils.set_random_seed(0)
    tf.get_logger().setLevel("ERROR")
    sides = {}

    def setup(key, size, precision, before):
        sides[key] = Ours(args, size, precision, before)
        return {"split_dir": sides[key].split_dir, "anchors": len(sides[key].model.anchors)}

    harness.serve({"setup": setup,
                   "steps": lambda key, count: sides[key].steps(count),
                   "epoch": lambda key: sides[key].epoch(),
                   "flops": lambda key: sides[key].flops(),
                   "ceiling": lambda: {name: max(matmul_ceiling(dtype, 2048, 8),
                                                 matmul_ceiling(dtype, 4096, 2))
                                       for name, dtype in (("float32", tf.float32),
                                                           ("bfloat16", tf.bfloat16))}})


# ---------------------------------------------------------------- vs PyTorch: the parent

PEER_VARIANTS = ("d2l", "channels_last", "channels_last+workers", "compiled", "compiled+workers")


def measure_size(size, args, ours, peer):
    """All the interleaved measurements at one image size; prints them. Returns
    `{(kind, precision): (ours / best PyTorch ratio, best variant)}` and
    `(flops, {precision: our step seconds})`."""
    keys = {"f32": "float32", "bf16": "mixed_bfloat16"}
    if args.before:
        keys.update({"before f32": "float32", "before bf16": "mixed_bfloat16"})
    for name, precision in keys.items():
        answer = ours(op="setup", key=f"{size} {name}", size=size, precision=precision,
                      before=name.startswith("before"))
    peer(op="setup", key=str(size), size=size, split_dir=answer["split_dir"],
         variants=args.peer_variants)
    flops = ours(op="flops", key=f"{size} f32")

    # The first step of each measure is dropped: switching between float32 and bfloat16
    # (or from the other side's process) made it slower on both sides.
    def ours_steps(name):
        return statistics.median(ours(op="steps", key=f"{size} {name}",
                                      count=args.steps + 1)[1:])

    def peer_steps(variant, bfloat16):
        return statistics.median(peer(op="steps", key=str(size), variant=variant,
                                      count=args.steps + 1, bfloat16=bfloat16)[1:])

    def peer_epoch(variant, bfloat16):
        return peer(op="epoch", key=str(size), variant=variant, bfloat16=bfloat16)

    warm = time.perf_counter()  # traces, caches, torch.compile, first epochs, loader workers
    for name in keys:
        ours_steps(name)
        ours(op="epoch", key=f"{size} {name}")
    for variant in args.peer_variants:
        for bfloat16 in (False, True):
            peer_steps(variant, bfloat16)
            peer_epoch(variant, bfloat16)
    print(f"\n{size}x{size}: warm-up {time.perf_counter() - warm:.0f} s (load "
          f"{os.getloadavg()[0]:.1f})", flush=True)

    rows = {}  # (kind, precision) -> {side: [seconds per image, one per round]}
    ceilings = []  # each round's {"float32": GFLOP/s, "bfloat16": GFLOP/s}
    for round_ in range(args.rounds):
        for kind, images in (("step only", args.batch), ("end to end", args.num_images)):
            for precision, bfloat16 in (("f32", False), ("bf16", True)):
                if kind == "step only":
                    sides = {"ours": lambda p=precision: ours_steps(p)}
                    sides.update({f"PyTorch {v}": lambda v=v, b=bfloat16: peer_steps(v, b)
                                  for v in args.peer_variants})
                    if args.before:
                        sides["ours before"] = lambda p=precision: ours_steps(f"before {p}")
                else:
                    sides = {"ours": lambda p=precision: ours(op="epoch", key=f"{size} {p}")}
                    sides.update({f"PyTorch {v}": lambda v=v, b=bfloat16: peer_epoch(v, b)
                                  for v in args.peer_variants})
                    if args.before:
                        sides["ours before"] = lambda p=precision: ours(
                            op="epoch", key=f"{size} before {p}")
                names = list(sides)
                row = rows.setdefault((kind, precision), {name: [] for name in names})
                for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                    row[name].append(sides[name]() / images)
            if kind == "step only":
                ceilings.append(ours(op="ceiling"))

    print(f"{size}x{size}, batch {args.batch}, {answer['anchors']} anchors, {args.threads} "
          f"threads each side; medians of {args.rounds} interleaved rounds (each round times "
          f"every side in a rotating order), load {os.getloadavg()[0]:.1f}")
    print(f"  {'':36s} {'img/s':>8s} {'ours/it':>8s}  per round")
    best = {}
    for (kind, precision), row in rows.items():
        what = (f"pipeline + step, one epoch of {args.num_images} images" if kind == "end to end"
                else f"a fixed batch of {args.batch} in memory")
        print(f"  {kind}, {precision} ({what})")
        ratios = {}
        for name, values in row.items():
            ratio = harness.ratio(values, row["ours"])
            each = " ".join(f"{v / o:.2f}" for v, o in zip(values, row["ours"], strict=True))
            shown = "" if name == "ours" else f"{ratio:7.2f}x  {each}"
            print(f"    {name:34s} {1 / statistics.median(values):8.1f} {shown}")
            if name.startswith("PyTorch"):
                ratios[name] = ratio
        strongest = min(ratios, key=ratios.get)
        best[kind, precision] = (ratios[strongest], strongest)
        print(f"    => ours vs the best PyTorch ({strongest}): {ratios[strongest]:.2f}x")
    shares = {}
    print(f"  our step against the matmul ceiling of the same round (the fastest tf.matmul "
          f"chain, 2048^2 and 4096^2, {args.threads} threads):")
    for precision, ceiling in (("f32", "float32"), ("bf16", "bfloat16")):
        per_round = [(flops / (each * args.batch) / 1e9, ceilings_[ceiling]) for each, ceilings_
                     in zip(rows["step only", precision]["ours"], ceilings, strict=True)]
        shares[precision] = statistics.median(100 * rate / top for rate, top in per_round)
        step = statistics.median(rows["step only", precision]["ours"]) * args.batch
        print(f"    {precision}: {flops / 1e9:.1f} GFLOP of convolutions (forward + backward) "
              f"in {step * 1000:.0f} ms = {flops / step / 1e9:.0f} GFLOP/s; {ceiling} ceiling "
              f"{statistics.median(top for _, top in per_round):.0f} GFLOP/s; share "
              f"{shares[precision]:.1f}% (per round "
              + " ".join(f"{100 * rate / top:.1f}" for rate, top in per_round) + ")")
    return best, shares


def vs_pytorch(args):
    peer_env = {"OMP_WAIT_POLICY": "PASSIVE"} if args.peer_wait_policy == "passive" else {}
    flags = ["--batch", str(args.batch)]
    ours = harness.Worker("benchmarks.ssd_speed", "tf", args.threads,
                          flags + ["--num-images", str(args.num_images), "--cache-dir",
                                   args.cache_dir])
    peer = harness.Worker("benchmarks.peers.tinyssd_torch_tuned", "torch", args.threads, flags,
                          peer_env, python=args.peer_python)
    try:
        results = {size: measure_size(size, args, ours, peer) for size in args.sizes}
    finally:
        ours.close()
        peer.close()
    shares = {(size, precision): share for size, (_, by_precision) in results.items()
              for precision, share in by_precision.items()}
    print("\nours vs the best PyTorch variant per row (median of per-round ratios):")
    for size, (best, _) in results.items():
        for (kind, precision), (ratio, name) in best.items():
            print(f"  {size}x{size} {kind}, {precision}: {ratio:.2f}x ({name})")
    return results, shares


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=256, help="parts: image side")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="parts: timed calls")
    parser.add_argument("--cache-dir", default="data_cache")
    parser.add_argument("--vs-pytorch", action="store_true",
                        help="compare the app's training with d2l's PyTorch TinySSD")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="steps per step-only measure")
    parser.add_argument("--num-images", type=int, default=256,
                        help="images per end-to-end epoch (synthetic training split)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--before", action=argparse.BooleanOptionalAction, default=False,
                        help="also time ours as it was before the fused BN and XLA targets")
    parser.add_argument("--peer-variants", nargs="+", choices=PEER_VARIANTS,
                        default=list(PEER_VARIANTS),
                        help="the PyTorch variants (benchmarks/peers/tinyssd_torch_tuned.py)")
    parser.add_argument("--peer-wait-policy", choices=("default", "passive"), default="default",
                        help="OMP_WAIT_POLICY of the PyTorch worker (default: OpenMP's own; "
                             "passive made it 12-20%% slower on a quiet machine and faster on "
                             "a loaded one)")
    harness.add_peer_python(parser)
    parser.add_argument("--worker", choices=("tf",), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # its threads: TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS
        return tf_worker(args)
    if args.vs_pytorch:
        harness.require_in(args.peer_python, "torch", "torch==2.13.0")
        with harness.session("TinySSD training, ours (apps.ssd's job) vs d2l's PyTorch TinySSD "
                             f"and the variants a performance-minded user writes, each side in "
                             f"its own process with {args.threads} threads",
                             threads=args.threads):
            results, shares = vs_pytorch(args)
        for size, (best, _) in results.items():
            harness.print_target(f"TinySSD {size} end to end bf16 vs best PyTorch",
                                 best["end to end", "bf16"][0], "1.5x")
        for precision, name in (("bf16", "bf16"), ("f32", "float32")):
            for size in results:
                harness.print_target(f"{name} step {size} of {name} ceiling",
                                     shares[size, precision], "50%", unit="%")
        return
    with harness.session("TinySSD speed, parts"):
        ratio = parts(args)
    harness.print_target("input pipeline / training images/s", ratio, ">= 5")


if __name__ == "__main__":
    main()
