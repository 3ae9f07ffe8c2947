"""What every benchmark shares: interleaved rounds, medians, load and thread reports, peers.

Run each benchmark from the project root as a module (`python -m benchmarks.<name>`):

    from benchmarks import harness

    with harness.session("Adam step, ours vs Keras", threads=2):
        times = harness.interleaved({"ours": ours_step, "keras": keras_step}, rounds=5, steps=2)
        harness.print_ratios(times, baseline="keras")
        harness.print_target("ours/Keras speed", harness.ratio(times["keras"], times["ours"]),
                             ">= 0.9")

A peer framework (PyTorch) runs in its own process with the same threads (`Worker`, and
`serve` there). TensorFlow is imported only on use: a peer's process never loads it.
"""

import contextlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def block(value):
    """Waits until `value` (a tensor, or a dict/list/tuple of them) is computed."""
    if isinstance(value, (dict, list, tuple)):
        for item in value.values() if isinstance(value, dict) else value:
            block(item)
    elif value is not None:
        np.asarray(value)


def time_steps(fn, steps=1, warmup=0, clock=time.perf_counter):
    """Seconds per call of `fn()` over `steps` calls (waiting for the last result), after
    `warmup` untimed calls; `clock=time.process_time` counts this process's CPU seconds
    (all its threads) instead of wall time."""
    for _ in range(warmup):
        block(fn())
    start = clock()
    for _ in range(steps):
        result = fn()
    block(result)
    return (clock() - start) / steps


def interleaved(variants, rounds, steps=1, warmup=1, clock=time.perf_counter):
    """`{name: [seconds per call, one per round]}` of `{name: fn}`: each round times every
    variant in turn (A B C, then B C A, ...), so that other work hits all of them alike
    (`clock`: as in `time_steps`)."""
    for fn in variants.values():
        for _ in range(warmup):
            block(fn())
    names, times = list(variants), {name: [] for name in variants}
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times[name].append(time_steps(variants[name], steps, clock=clock))
    return times


def ratio(numerators, denominators):
    """Median of the per-round ratios (paired values of the same rounds)."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def print_ratios(times, baseline, items=1, unit="items/s"):
    """One row per variant: ms per call, median (min-max) over rounds; `items` per call as a
    rate; the speed relative to `baseline` (median of baseline time / its time per round;
    > 1: faster) and the per-round ratios."""
    print(f"  {'':32s} {'ms, median (min-max)':>22s} {unit:>10s}  speed vs {baseline}")
    for name, values in times.items():
        per_round = [b / v for b, v in zip(times[baseline], values, strict=True)]
        mid, low, high = (1e3 * f(values) for f in (statistics.median, min, max))
        shown, speed = f"{mid:.2f} ({low:.2f}-{high:.2f})", statistics.median(per_round)
        print(f"  {name:32s} {shown:>22s} {items / mid * 1e3:10.1f}  {speed:.2f}x "
              f"({' '.join(f'{r:.2f}' for r in per_round)})")


def check_close(ours, theirs, limit, sides="ours and the reference"):
    """The largest difference between paired outputs (tensors or arrays, nested alike)
    relative to the largest value of `theirs`, computed in float32; above `limit` the run
    ends with one `error:` line naming `sides`."""
    worst = 0.0
    for a, b in zip(_leaves(ours), _leaves(theirs), strict=True):
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        worst = max(worst, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)))
    if worst > limit:
        raise SystemExit(f"error: {sides} differ by {worst:.2e} (limit {limit:.0e})")
    return worst


def _leaves(outputs):
    if isinstance(outputs, (list, tuple)):
        return [leaf for output in outputs for leaf in _leaves(output)]
    if isinstance(outputs, dict):
        return [leaf for key in sorted(outputs) for leaf in _leaves(outputs[key])]
    return [np.asarray(outputs.numpy() if hasattr(outputs, "numpy") else outputs)]


def print_target(what, figure, goal, unit="x"):
    """The closing line of a speed benchmark: `target: <what> <figure> (goal <goal>)`.
    Three significant digits, one decimal for a percentage (49.96% is not printed as 50%)."""
    shown = f"{figure:.1f}" if unit == "%" else f"{figure:.3g}"
    print(f"target: {what} {shown}{unit} (goal {goal})", flush=True)


def thread_settings():
    """TF intra/inter op threads (0: TF's default, every core, or the TF_NUM_* variables),
    torch's, and the thread variables that are set."""
    parts = []
    if "tensorflow" in sys.modules:
        threading = sys.modules["tensorflow"].config.threading
        parts.append(f"TF intra/inter op threads {threading.get_intra_op_parallelism_threads()}/"
                     f"{threading.get_inter_op_parallelism_threads()}")
    if "torch" in sys.modules:
        parts.append(f"torch threads {sys.modules['torch'].get_num_threads()}")
    parts += [f"{name} {os.environ[name]}" for name in ("TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS") if name in os.environ]
    return (", ".join(parts) or "threads: defaults") + f"; {os.cpu_count()} cores"


def cpu_seconds():
    """`(busy, stolen, ours)`: CPU seconds all processes of the machine have run since boot,
    those the hypervisor gave to other guests (steal), and those of this process and of its
    children that have ended (workers included once closed)."""
    with open("/proc/stat") as f:
        user, nice, system, _, _, irq, softirq, steal = map(int, f.readline().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    own = sum(getattr(resource.getrusage(who), field)
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    return (user + nice + system + irq + softirq) / tick, steal / tick, own


# Other processes may use this share of the cores' time before a run counts as shared (the
# kernel's and the system's own daemons use well under 1% on an idle machine).
OTHER_WORK_LIMIT = 0.03


@contextlib.contextmanager
def session(title, threads=None):
    """Prints `title`, the thread settings and the load before; after the body, the load and
    whether other work shared the cores: the CPU time other processes used during the run
    (/proc/stat's busy time minus this process's and its ended workers'), and the time the
    hypervisor stole for other guests, each as a share of the cores' time; above
    `OTHER_WORK_LIMIT` the run says so. (The load average cannot tell: the benchmark's own
    processes raise it.) `threads` sets TensorFlow's intra and inter op threads when it is
    imported."""
    if threads and "tensorflow" in sys.modules:
        threading = sys.modules["tensorflow"].config.threading
        with contextlib.suppress(RuntimeError):  # TF already started: the report says so
            threading.set_intra_op_parallelism_threads(threads)
            threading.set_inter_op_parallelism_threads(threads)
    before = os.getloadavg()[0]
    print(f"{title}\n{thread_settings()}; load before {before:.2f}", flush=True)
    start, (busy, stolen, own) = time.monotonic(), cpu_seconds()
    yield
    elapsed, (busy_end, stolen_end, own_end) = time.monotonic() - start, cpu_seconds()
    capacity = elapsed * os.cpu_count()
    others = max(busy_end - busy - (own_end - own), 0.0) / capacity
    steal = (stolen_end - stolen) / capacity
    shared = others > OTHER_WORK_LIMIT or steal > OTHER_WORK_LIMIT
    verdict = ("other work shared the cores: absolute rates are low, compare the interleaved "
               "ratios" if shared else "no other work on the cores")
    print(f"load {before:.2f} -> {os.getloadavg()[0]:.2f} (1-minute average); other processes "
          f"used {100 * others:.1f}% and the hypervisor stole {100 * steal:.1f}% of the "
          f"{os.cpu_count()} cores' time during the run: {verdict}", flush=True)


def add_int_flags(parser, **flags):
    """Adds an int flag `--a-name` per keyword `a_name=(default, help)` to `parser`."""
    for name, (default, help_) in flags.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=default, help=help_)


def require(module, pip):
    """Exits with one line naming what to install when the peer `module` is missing."""
    if importlib.util.find_spec(module) is None:
        raise SystemExit(f"error: {module} is not installed (a benchmark peer, never a "
                         f"kerasnotes dependency): pip install {pip}")


def require_in(python, module, pip):
    """Exits with one line naming what to install when `python` (an interpreter, as given to
    `--peer-python`) cannot import the peer `module`."""
    found = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=300)
    if found.returncode:
        raise SystemExit(f"error: {python} cannot import {module} (a benchmark peer, never a "
                         f"kerasnotes dependency): {python} -m pip install {pip}, or pass "
                         f"--peer-python with a venv that has it")


def add_peer_python(parser):
    """Adds `--peer-python` (default: this interpreter) to `parser`."""
    parser.add_argument("--peer-python", default=sys.executable,
                        help="interpreter of the peer process, e.g. a venv with the peer "
                             "frameworks outside the project's (default: this one)")


def train_step(model, loss_fn, optimizer, clip_global_norm=None):
    """A `tf.function(x, y)`: forward (training), loss, gradients, optional clipping, update."""
    import tensorflow as tf  # on use: a peer's process never loads TensorFlow

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        if clip_global_norm:
            grads, _ = tf.clip_by_global_norm(grads, clip_global_norm)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


class Worker:
    """`python -m <module> --worker <kind> --threads N [flags]` in its own process, with N
    threads for OpenMP and TensorFlow's op pools (OMP_NUM_THREADS, TF_NUM_INTRAOP_THREADS,
    TF_NUM_INTEROP_THREADS), answering one JSON line per request (`serve` on its side).
    `python`: the interpreter of that process (default this one), e.g. a venv holding the
    peer framework (`--peer-python /work/peervenv/bin/python`) so that ours stays in the
    project's venv."""

    def __init__(self, module, kind, threads, flags=(), env=None, python=None):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
                   TF_NUM_INTEROP_THREADS=str(threads), **(env or {}))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
        self.kind, self.log = kind, tempfile.TemporaryFile(mode="w+")
        command = [python or sys.executable, "-m", module, "--worker", kind, "--threads",
                   str(threads), *flags]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True, env=env)

    def __call__(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"the {self.kind} worker died on {request}:\n"
                               f"{self.log.read()[-3000:]}")
        return json.loads(line)

    def close(self):
        with contextlib.suppress(subprocess.TimeoutExpired):  # every reply is in: then killed
            self.process.communicate(json.dumps({"op": "quit"}) + "\n", timeout=60)
        self.process.kill()
        self.process.wait()  # ended and waited for: its CPU time counts as ours (`session`)


def serve(handlers):
    """The worker's side: answers each JSON request line `{"op": name, ...}` on stdin with
    `handlers[name](**rest)` as one JSON line, until `quit`. Library prints go to stderr."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for request in map(json.loads, sys.stdin):
        if request["op"] == "quit":
            break
        reply.write(json.dumps(handlers[request.pop("op")](**request)) + "\n")
