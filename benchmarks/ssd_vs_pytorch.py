"""TinySSD training speed: the app's job (kerasnotes, TF) vs d2l's TinySSD in PyTorch.

    PYTHONPATH=. python benchmarks/ssd_vs_pytorch.py [--sizes 128 256] [--batch 32] \
        [--rounds 2] [--num-images 256] [--threads 2] [--cache-dir data_cache] \
        [--no-before] [--peer-wait-policy passive]

Ours is what `python -m apps.ssd` trains at its defaults: the synthetic shapes
(`ensure_synthetic_detection_dataset`, seed 0, up to 3 objects, images of the model's size)
through `make_detection_dataset` (epoch shuffle by random access, flip + color jitter), then
`ssd_targets` in a `tf.data` map, `TinySSD(4)`, `SSDLoss(negative_ratio=3)`, Adam(0.002) and
the app's metrics, trained by `kerasnotes.training.Trainer` steps. The peer is
`benchmarks/peers/tinyssd_torch.py`: d2l's model, anchors every forward, `multibox_target`
per image in the step, CE + masked L1, SGD(0.2, wd 5e-4), reading the same image files
(PIL decode every epoch, `DataLoader` shuffle + batch, no augmentation, as d2l).

Each side runs in its own worker process (`--worker tf|torch`, so TF's and PyTorch's thread
pools never share a process) with `--threads` intra-op threads (TF inter-op too); the
parent alternates them, A B then B A, and prints medians over rounds with the ratio of each
round's pair:

- step only: one training step on a fixed batch in memory (ours: `Trainer._train_function`,
  targets already in the batch; the peer: d2l's step, `multibox_target` included, and also
  without it), float32 and bfloat16 (ours `mixed_bfloat16`, the peer CPU autocast);
- end to end: one epoch of `--num-images` images through each side's data path and steps
  (ours: the second epoch of a `Trainer.fit` call, whose input the Trainer built in the
  background during the first one, as in the app's later epochs);
- our step's GFLOP (tf.compat.v1.profiler float ops of the convolutions of forward +
  backward on the concrete function) per second, against the float32 and bfloat16
  `tf.matmul` ceiling measured in the same run;
- before (default; `--no-before` skips): ours as it was before the fused batch norm kernel
  (`FusedBatchNormalization`) and the XLA-compiled targets landed (Keras' batch norm,
  graph-mode targets: benchmarks/ssd_prototypes.py's baseline), to show what they give.

Exits 0 with one line when PyTorch is not installed.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- workers

def _protocol_stream():
    """The real stdout for replies; fd 1 then points to stderr so library prints cannot
    corrupt the protocol."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return reply


def tf_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.get_logger().setLevel("ERROR")
    # Once, before any dataset exists: tf.random.set_seed after a dataset was built makes a
    # later tf.data.experimental.at on it (the epoch shuffle) segfault in TF 2.21.
    keras.utils.set_random_seed(0)
    from benchmarks import ssd_prototypes as proto
    from kerasnotes.losses.ssd_loss import SSDLoss
    from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE
    from kerasnotes.models.tiny_ssd import TinySSD
    from kerasnotes.training.trainer import Trainer

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    class Ours:
        def __init__(self, size, precision, before):
            records = proto.synthetic_train_records(args.cache_dir, size, args.num_images)
            self.split_dir = os.path.dirname(os.path.dirname(records[0].image_path))
            dataset = proto.detection_dataset_from_records(records, None, proto.MAX_OBJECTS)
            previous = keras.mixed_precision.global_policy()
            keras.mixed_precision.set_global_policy(precision)
            try:
                model = TinySSD(num_classes=4, input_size=size)
            finally:
                keras.mixed_precision.set_global_policy(previous)
            # The app: fused batch norm (TinySSD's own) and XLA-compiled targets. Before: Keras'
            # batch norm and the graph targets (`app_pipeline`'s default).
            proto.use_fused_batch_norm(model, fused=not before)
            targets_fn = None if before else proto.xla_targets(model.anchors)
            self.timer = EpochTimes()
            self.trainer = Trainer(model, SSDLoss(negative_ratio=proto.NEGATIVE_RATIO),
                                   keras.optimizers.Adam(0.002),
                                   metrics=[AnchorClassError(), BoxOffsetMAE()],
                                   run_dir=None, callbacks=[self.timer], verbose=0,
                                   log_every_n_steps=10)
            self.train_data = lambda epoch: proto.app_pipeline(
                dataset, args.batch, size, model.anchors, epoch, targets_fn)
            self.batch = next(iter(self.train_data(0)))
            fixed = tf.data.Dataset.from_tensors(self.batch).repeat()
            self.iterator = iter(self.trainer.strategy.experimental_distribute_dataset(fixed))
            self.model, self.size = model, size

        def steps(self, count):
            times = []
            for _ in range(count):
                start = time.perf_counter()
                _, loss, _, _ = self.trainer._train_function(self.iterator, tf.constant(1))
                float(loss)
                times.append(time.perf_counter() - start)
            return times

        def epoch(self):
            """Seconds of the second epoch of a two-epoch fit (input built in background)."""
            first = int(self.trainer.epoch.numpy())
            self.timer.times = []
            self.trainer.fit(self.train_data, epochs=first + 2)
            return self.timer.times[-1]

        def flops(self):
            """Float ops of the convolutions of one forward + backward pass (profiler)."""
            model = self.model

            @tf.function
            def forward_backward(x):
                with tf.GradientTape() as tape:
                    out = model(x, training=True)
                    loss = (tf.reduce_sum(tf.cast(out["class_logits"], tf.float32))
                            + tf.reduce_sum(tf.cast(out["bbox_offsets"], tf.float32)))
                return tape.gradient(loss, model.trainable_variables)

            graph = forward_backward.get_concrete_function(
                tf.TensorSpec((args.batch, self.size, self.size, 3))).graph
            options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
            options["output"] = "none"
            profile = tf.compat.v1.profiler.profile(graph=graph, cmd="op", options=options)
            return sum(child.total_float_ops for child in profile.children
                       if child.name.startswith("Conv2D"))

    def ceiling(dtype, n=2048, chain=8, repeats=5):
        a = tf.cast(tf.random.normal((n, n)), dtype)
        b = tf.cast(tf.random.normal((n, n)) / n ** 0.5, dtype)

        @tf.function
        def run(a, b):
            for _ in range(chain):
                a = tf.matmul(a, b)
            return a

        np.asarray(run(a, b))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            np.asarray(run(a, b))
            times.append(time.perf_counter() - start)
        return chain * 2 * n ** 3 / min(times) / 1e9

    sides = {}
    reply = _protocol_stream()
    for line in sys.stdin:
        request = json.loads(line)
        op, key = request["op"], request.get("key")
        if op == "setup":
            sides[key] = Ours(request["size"], request["precision"], request["before"])
            result = {"split_dir": sides[key].split_dir,
                      "anchors": sides[key].model.anchors.shape[0]}
        elif op == "steps":
            result = sides[key].steps(request["count"])
        elif op == "epoch":
            result = sides[key].epoch()
        elif op == "flops":
            result = sides[key].flops()
        elif op == "ceiling":
            result = {"float32": ceiling(tf.float32), "bfloat16": ceiling(tf.bfloat16)}
        else:
            break
        reply.write(json.dumps(result) + "\n")


def torch_worker(args):
    import torch

    from benchmarks.peers import tinyssd_torch as peer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    class Peer:
        def __init__(self, size, split_dir):
            self.net = peer.TinySSD(num_classes=4)
            self.optimizer = peer.make_optimizer(self.net)
            self.loader = peer.make_loader(split_dir, size, args.batch)
            self.images, self.labels = next(iter(self.loader))
            anchors, _, _ = self.net(self.images)
            self.targets = peer.multibox_target(anchors.detach(), self.labels)

        def steps(self, count, bfloat16, with_targets):
            times = []
            for _ in range(count):
                start = time.perf_counter()
                peer.train_step(self.net, self.optimizer, self.images, self.labels, bfloat16,
                                targets=None if with_targets else self.targets)
                times.append(time.perf_counter() - start)
            return times

        def epoch(self, bfloat16):
            start = time.perf_counter()
            peer.train_epoch(self.net, self.optimizer, self.loader, bfloat16)
            return time.perf_counter() - start

    import warnings
    warnings.filterwarnings("ignore")
    sides = {}
    reply = _protocol_stream()
    for line in sys.stdin:
        request = json.loads(line)
        op, key = request["op"], request.get("key")
        if op == "setup":
            sides[key] = Peer(request["size"], request["split_dir"])
            result = {}
        elif op == "steps":
            result = sides[key].steps(request["count"], request["bfloat16"],
                                      request.get("with_targets", True))
        elif op == "epoch":
            result = sides[key].epoch(request["bfloat16"])
        else:
            break
        reply.write(json.dumps(result) + "\n")


class Worker:
    """A worker process answering one JSON line per JSON request."""

    def __init__(self, kind, args, extra_env=None):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        env.update(extra_env or {})
        self.log = tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, os.path.abspath(__file__), "--worker", kind,
                   "--threads", str(args.threads), "--batch", str(args.batch),
                   "--num-images", str(args.num_images), "--cache-dir", args.cache_dir]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True, env=env, cwd=os.getcwd())
        self.kind = kind

    def __call__(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = "".join(self.log.readlines()[-15:])
            raise RuntimeError(f"the {self.kind} worker died on {request}:\n{tail}")
        return json.loads(line)

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:  # every reply is in: ending it loses nothing
                print(f"note: the {self.kind} worker did not exit 60 s after quit; killed it",
                      file=sys.stderr)
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------- the comparison

def load():
    return os.getloadavg()[0]


def measure_size(size, args, tf_worker_, torch_worker_):
    """All the interleaved measurements at one image size; returns the printed lines."""
    ours = {"f32": "float32", "bf16": "mixed_bfloat16"}
    keys = dict(ours)
    if args.before:
        keys.update({"before f32": "float32", "before bf16": "mixed_bfloat16"})
    split_dir = None
    for name, precision in keys.items():
        answer = tf_worker_(op="setup", key=f"{size} {name}", size=size, precision=precision,
                            before=name.startswith("before"))
        split_dir = answer["split_dir"]
        anchors = answer["anchors"]
    torch_worker_(op="setup", key=str(size), size=size, split_dir=split_dir)
    flops = tf_worker_(op="flops", key=f"{size} f32")

    # The first step of each measure is dropped: switching between float32 and bfloat16
    # (or from the other side's process) made it slower on both sides.
    def ours_steps(name):
        return statistics.median(tf_worker_(op="steps", key=f"{size} {name}",
                                            count=args.steps + 1)[1:])

    def peer_steps(bfloat16, with_targets=True):
        return statistics.median(torch_worker_(op="steps", key=str(size), count=args.steps + 1,
                                               bfloat16=bfloat16,
                                               with_targets=with_targets)[1:])

    # Warm-up: traces, caches, first epochs.
    for name in keys:
        ours_steps(name)
        tf_worker_(op="epoch", key=f"{size} {name}")
    peer_steps(False)
    peer_steps(True)

    rows = {}  # name -> list of (ours seconds per image, peer seconds per image)
    loads = [load()]

    def record(name, ours_seconds, peer_seconds, images):
        rows.setdefault(name, []).append((ours_seconds / images, peer_seconds / images))

    for round_ in range(args.rounds):
        ours_first = round_ % 2 == 0
        for precision in ("f32", "bf16"):
            bf16 = precision == "bf16"
            pair = [lambda p=precision: ours_steps(p), lambda b=bf16: peer_steps(b)]
            if not ours_first:
                pair.reverse()
            first, second = (f() for f in pair)
            ours_s, peer_s = (first, second) if ours_first else (second, first)
            record(f"step only, {precision}", ours_s, peer_s, args.batch)
            if args.before:
                record(f"step only, {precision}, ours before fused BN + XLA targets",
                       ours_steps(f"before {precision}"), peer_s, args.batch)
        record("step only, f32, peer without its target computation",
               ours_steps("f32"), peer_steps(False, with_targets=False), args.batch)
        loads.append(load())
        for precision in ("f32", "bf16"):
            bf16 = precision == "bf16"
            pair = [lambda p=precision: tf_worker_(op="epoch", key=f"{size} {p}"),
                    lambda b=bf16: torch_worker_(op="epoch", key=str(size), bfloat16=b)]
            if not ours_first:
                pair.reverse()
            first, second = (f() for f in pair)
            ours_s, peer_s = (first, second) if ours_first else (second, first)
            record(f"end to end, {precision}", ours_s, peer_s, args.num_images)
            if args.before:
                record(f"end to end, {precision}, ours before fused BN + XLA targets",
                       tf_worker_(op="epoch", key=f"{size} before {precision}"), peer_s,
                       args.num_images)
            loads.append(load())

    lines = [f"\n{size}x{size}, batch {args.batch}, {anchors} anchors, {args.threads} threads "
             f"each side; medians of {args.rounds} interleaved rounds; 1-min load "
             f"{min(loads):.1f}-{max(loads):.1f} (2 cores)",
             f"  {'':55s} {'ours img/s':>10s} {'peer img/s':>10s} {'ours/peer':>9s}  per round"]
    for name, pairs in rows.items():
        ours_rate = 1 / statistics.median(o for o, _ in pairs)
        peer_rate = 1 / statistics.median(p for _, p in pairs)
        ratio = statistics.median(p / o for o, p in pairs)
        each = " ".join(f"{p / o:.2f}" for o, p in pairs)
        lines.append(f"  {name:55s} {ours_rate:10.1f} {peer_rate:10.1f} {ratio:8.2f}x  {each}")
    step_f32 = statistics.median(o for o, _ in rows["step only, f32"]) * args.batch
    step_bf16 = statistics.median(o for o, _ in rows["step only, bf16"]) * args.batch
    lines.append(f"  our step: {flops / 1e9:.1f} GFLOP of convolutions (forward + backward); "
                 f"float32 {step_f32 * 1000:.0f} ms = {flops / step_f32 / 1e9:.0f} GFLOP/s, "
                 f"mixed_bfloat16 {step_bf16 * 1000:.0f} ms = {flops / step_bf16 / 1e9:.0f} "
                 f"GFLOP/s (bf16 / f32 step time {step_bf16 / step_f32:.2f})")
    if args.before:
        for precision in ("f32", "bf16"):
            seconds = statistics.median(o for o, _ in rows[
                f"step only, {precision}, ours before fused BN + XLA targets"]) * args.batch
            lines.append(f"  our step before fused BN + XLA targets, {precision}: "
                         f"{seconds * 1000:.0f} ms = {flops / seconds / 1e9:.0f} GFLOP/s")
    return lines, (flops, step_f32, step_bf16)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="steps per step-only measure")
    parser.add_argument("--num-images", type=int, default=256,
                        help="images per end-to-end epoch (synthetic training split)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default="data_cache")
    parser.add_argument("--no-before", dest="before", action="store_false",
                        help="skip ours as it was before the fused BN and XLA targets")
    parser.add_argument("--peer-wait-policy", choices=("default", "passive"), default="passive",
                        help="OMP_WAIT_POLICY of the PyTorch worker: its OpenMP threads "
                             "spin-wait by default, which on a loaded shared machine made "
                             "its 2-thread step 1.5-2x slower (passive: %(default)s)")
    parser.add_argument("--worker", choices=("tf", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "tf":
        return tf_worker(args)
    if args.worker == "torch":
        return torch_worker(args)
    if importlib.util.find_spec("torch") is None:
        print("ssd_vs_pytorch: skipped: PyTorch is not installed (pip install torch)")
        return 0
    peer_env = {"OMP_WAIT_POLICY": "PASSIVE"} if args.peer_wait_policy == "passive" else {}
    tf_side, torch_side = Worker("tf", args), Worker("torch", args, peer_env)
    try:
        print(f"TinySSD training, ours (apps.ssd's job) vs d2l's PyTorch TinySSD; "
              f"start load {os.getloadavg()[0]:.1f}", flush=True)
        results = {}
        for size in args.sizes:
            lines, results[size] = measure_size(size, args, tf_side, torch_side)
            print("\n".join(lines), flush=True)
        ceilings = tf_side(op="ceiling")
        print(f"\nmatmul ceiling (tf.matmul 2048^2, {args.threads} threads): float32 "
              f"{ceilings['float32']:.0f} GFLOP/s, bfloat16 {ceilings['bfloat16']:.0f} GFLOP/s; "
              f"load {os.getloadavg()[0]:.1f}")
        for size, (flops, step_f32, step_bf16) in results.items():
            print(f"  {size}x{size}: our float32 step at {flops / step_f32 / 1e9:.0f} GFLOP/s "
                  f"= {100 * flops / step_f32 / 1e9 / ceilings['float32']:.0f}% of the float32 "
                  f"ceiling; bf16 step {100 * flops / step_bf16 / 1e9 / ceilings['bfloat16']:.0f}"
                  f"% of the bfloat16 ceiling")
    finally:
        tf_side.close()
        torch_side.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
