"""TinySSD speed: the parts of a step and of serving, and the app's job vs d2l's PyTorch.

    python -m benchmarks.ssd_speed [--image-size 256] [--batch 32] [--repeats 5] \
        [--cache-dir data_cache]
    python -m benchmarks.ssd_speed --vs-pytorch [--sizes 128 256] [--batch 32] [--rounds 2] \
        [--num-images 256] [--threads 2] [--no-before] [--peer-wait-policy passive]
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

`--vs-pytorch` (needs `pip install torch`): training speed of what `python -m apps.ssd`
trains at its defaults (the synthetic shapes through `make_detection_dataset`, epoch shuffle
by random access, flip + color jitter, then `ssd_targets` (XLA) in a `tf.data` map,
`TinySSD(4)`, `SSDLoss(negative_ratio=3)`, Adam(0.002) and the app's metrics, trained by
`kerasnotes.training.Trainer` steps) against benchmarks/peers/tinyssd_torch.py (d2l's
model, anchors every forward, `multibox_target` per image in the step, CE + masked L1,
SGD(0.2, wd 5e-4), reading the same image files with PIL every epoch, `DataLoader`
shuffle + batch, no augmentation, as d2l). Each side runs in its own worker process with
--threads intra-op threads (TF inter-op too); the parent alternates them, A B then B A,
and prints medians over rounds with the ratio of each round's pair:

- step only: one training step on a fixed batch in memory (ours: `Trainer._train_function`,
  targets already in the batch; the peer: d2l's step, `multibox_target` included, and also
  without it), float32 and bfloat16 (ours `mixed_bfloat16`, the peer CPU autocast);
- end to end: one epoch of --num-images images through each side's data path and steps
  (ours: the second epoch of a `Trainer.fit` call, whose input the Trainer built in the
  background during the first one, as in the app's later epochs);
- our step's GFLOP (tf.compat.v1.profiler float ops of the convolutions of forward +
  backward) per second, against the float32 and bfloat16 `tf.matmul` ceiling;
- before (default; `--no-before` skips): ours with Keras' `BatchNormalization` instead of
  `FusedBatchNormalization` and the targets without XLA, as the app ran before commit
  869ca3d, to show what those two give.
"""

import argparse
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.data.detection import synthetic_detection
from kerasnotes.data.detection.banana_detection import read_banana_labels
from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
from kerasnotes.data.detection.detection_records import detection_dataset_from_records
from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization
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


def app_pipeline(dataset, batch, image_size, anchors, epoch=0, targets_fn=None):
    """apps.ssd's training pipeline: make_detection_dataset (seed 0, augmentation), then
    `targets_fn(labels)` (default: `ssd_targets` in graph mode) in a map."""
    anchors = tf.constant(anchors)
    targets_fn = targets_fn or (lambda labels: ssd_targets(anchors, labels))
    pipeline = make_detection_dataset(dataset, batch, shuffle_seed=0, epoch=epoch,
                                      augment=True, image_size=image_size)
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
                if isinstance(layer, FusedBatchNormalization):
                    layer.__class__ = keras.layers.BatchNormalization
        anchors = tf.constant(model.anchors)
        targets_fn = None if before else (lambda y: ssd_targets(anchors, y, jit_compile=True))
        self.marks = []  # each epoch's begin and end
        mark = lambda *_: self.marks.append(time.perf_counter())
        timer = keras.callbacks.LambdaCallback(on_epoch_begin=mark, on_epoch_end=mark)
        self.trainer = Trainer(model, SSDLoss(negative_ratio=3.0), keras.optimizers.Adam(0.002),
                               metrics=[AnchorClassError(), BoxOffsetMAE()], run_dir=None,
                               callbacks=[timer], verbose=0, log_every_n_steps=10)
        self.train_data = lambda epoch: app_pipeline(dataset, args.batch, size, model.anchors,
                                                     epoch, targets_fn)
        fixed = tf.data.Dataset.from_tensors(next(iter(self.train_data(0)))).repeat()
        self.iterator = iter(self.trainer.strategy.experimental_distribute_dataset(fixed))
        self.model, self.size, self.batch = model, size, args.batch

    def steps(self, count):
        step = lambda: self.trainer._train_function(self.iterator, tf.constant(1))[1]
        return [harness.time_steps(step) for _ in range(count)]

    def epoch(self):
        """Seconds of the second epoch of a two-epoch fit (input built in background)."""
        self.trainer.fit(self.train_data, epochs=int(self.trainer.epoch.numpy()) + 2)
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
                   "ceiling": lambda: {"float32": matmul_ceiling(tf.float32),
                                       "bfloat16": matmul_ceiling(tf.bfloat16)}})


# ---------------------------------------------------------------- vs PyTorch: the parent

def measure_size(size, args, ours, peer):
    """All the interleaved measurements at one image size; prints them, returns the
    end-to-end float32 ratio and `(flops, f32 step seconds, bf16 step seconds)`."""
    keys = {"f32": "float32", "bf16": "mixed_bfloat16"}
    if args.before:
        keys.update({"before f32": "float32", "before bf16": "mixed_bfloat16"})
    for name, precision in keys.items():
        answer = ours(op="setup", key=f"{size} {name}", size=size, precision=precision,
                      before=name.startswith("before"))
    peer(op="setup", key=str(size), size=size, split_dir=answer["split_dir"])
    flops = ours(op="flops", key=f"{size} f32")

    # The first step of each measure is dropped: switching between float32 and bfloat16
    # (or from the other side's process) made it slower on both sides.
    def ours_steps(name):
        return statistics.median(ours(op="steps", key=f"{size} {name}",
                                      count=args.steps + 1)[1:])

    def peer_steps(bfloat16, with_targets=True):
        return statistics.median(peer(op="steps", key=str(size), count=args.steps + 1,
                                      bfloat16=bfloat16, with_targets=with_targets)[1:])

    for name in keys:  # warm-up: traces, caches, first epochs
        ours_steps(name)
        ours(op="epoch", key=f"{size} {name}")
    peer_steps(False)
    peer_steps(True)

    rows = {}  # name -> [(ours seconds per image, peer seconds per image) per round]
    before = " ours before fused BN + XLA targets"
    for round_ in range(args.rounds):
        def pair(name, ours_fn, peer_fn, images, first_ours=round_ % 2 == 0):
            """Times both sides, ours first in even rounds; records the pair as `name`."""
            if first_ours:
                ours_s = ours_fn()
                peer_s = peer_fn()
            else:
                peer_s = peer_fn()
                ours_s = ours_fn()
            rows.setdefault(name, []).append((ours_s / images, peer_s / images))
            return peer_s

        for precision, bf16 in (("f32", False), ("bf16", True)):
            peer_s = pair(f"step only, {precision}", lambda p=precision: ours_steps(p),
                          lambda b=bf16: peer_steps(b), args.batch)
            if args.before:
                pair(f"step only, {precision},{before}",
                     lambda p=precision: ours_steps(f"before {p}"), lambda s=peer_s: s,
                     args.batch)
        pair("step only, f32, peer without its target computation", lambda: ours_steps("f32"),
             lambda: peer_steps(False, with_targets=False), args.batch)
        for precision, bf16 in (("f32", False), ("bf16", True)):
            peer_s = pair(f"end to end, {precision}",
                          lambda p=precision: ours(op="epoch", key=f"{size} {p}"),
                          lambda b=bf16: peer(op="epoch", key=str(size), bfloat16=b),
                          args.num_images)
            if args.before:
                pair(f"end to end, {precision},{before}",
                     lambda p=precision: ours(op="epoch", key=f"{size} before {p}"),
                     lambda s=peer_s: s, args.num_images)

    print(f"\n{size}x{size}, batch {args.batch}, {answer['anchors']} anchors, {args.threads} "
          f"threads each side; medians of {args.rounds} interleaved rounds, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {'':55s} {'ours img/s':>10s} {'peer img/s':>10s} {'ours/peer':>9s}  per round")
    for name, pairs in rows.items():
        ours_rate = 1 / statistics.median(o for o, _ in pairs)
        peer_rate = 1 / statistics.median(p for _, p in pairs)
        ratio = harness.ratio([p for _, p in pairs], [o for o, _ in pairs])
        each = " ".join(f"{p / o:.2f}" for o, p in pairs)
        print(f"  {name:55s} {ours_rate:10.1f} {peer_rate:10.1f} {ratio:8.2f}x  {each}")
    seconds = {name: statistics.median(o for o, _ in rows[name]) * args.batch
               for name in rows if name.startswith("step only") and "without" not in name}
    for name, step in seconds.items():
        print(f"  our {name}: {flops / 1e9:.1f} GFLOP of convolutions (forward + backward) in "
              f"{step * 1000:.0f} ms = {flops / step / 1e9:.0f} GFLOP/s")
    end_to_end = harness.ratio([p for _, p in rows["end to end, f32"]],
                               [o for o, _ in rows["end to end, f32"]])
    return end_to_end, (flops, seconds["step only, f32"], seconds["step only, bf16"])


def vs_pytorch(args):
    peer_env = {"OMP_WAIT_POLICY": "PASSIVE"} if args.peer_wait_policy == "passive" else {}
    flags = ["--batch", str(args.batch)]
    ours = harness.Worker("benchmarks.ssd_speed", "tf", args.threads,
                          flags + ["--num-images", str(args.num_images), "--cache-dir",
                                   args.cache_dir])
    peer = harness.Worker("benchmarks.peers.tinyssd_torch", "torch", args.threads, flags,
                          peer_env)
    try:
        results = {size: measure_size(size, args, ours, peer) for size in args.sizes}
        ceilings = ours(op="ceiling")
        print(f"\nmatmul ceiling (tf.matmul 2048^2, {args.threads} threads): float32 "
              f"{ceilings['float32']:.0f} GFLOP/s, bfloat16 {ceilings['bfloat16']:.0f} GFLOP/s")
        for size, (_, (flops, step_f32, step_bf16)) in results.items():
            print(f"  {size}x{size}: our float32 step at {flops / step_f32 / 1e9:.0f} GFLOP/s "
                  f"= {100 * flops / step_f32 / 1e9 / ceilings['float32']:.0f}% of the float32 "
                  f"ceiling; bf16 step {100 * flops / step_bf16 / 1e9 / ceilings['bfloat16']:.0f}"
                  f"% of the bfloat16 ceiling")
    finally:
        ours.close()
        peer.close()
    return min(ratio for ratio, _ in results.values())


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
    parser.add_argument("--no-before", dest="before", action="store_false",
                        help="skip ours as it was before the fused BN and XLA targets")
    parser.add_argument("--peer-wait-policy", choices=("default", "passive"), default="passive",
                        help="OMP_WAIT_POLICY of the PyTorch worker: its OpenMP threads "
                             "spin-wait by default, which on a loaded shared machine made "
                             "its 2-thread step 1.5-2x slower (passive: %(default)s)")
    parser.add_argument("--worker", choices=("tf",), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # its threads: TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS
        return tf_worker(args)
    if args.vs_pytorch:
        harness.require("torch", "torch --index-url https://download.pytorch.org/whl/cpu")
        with harness.session("TinySSD training, ours (apps.ssd's job) vs d2l's PyTorch TinySSD, "
                             f"each side in its own process with {args.threads} threads",
                             threads=args.threads):
            ratio = vs_pytorch(args)
        harness.print_target("lowest end-to-end float32 ours/PyTorch images/s", ratio, ">= 1")
        return
    with harness.session("TinySSD speed, parts"):
        ratio = parts(args)
    harness.print_target("input pipeline / training images/s", ratio, ">= 5")


if __name__ == "__main__":
    main()
