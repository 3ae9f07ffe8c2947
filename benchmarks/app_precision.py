"""Each app's default run in float32 and in mixed_bfloat16: wall time, peak RSS, quality.

Runs `python -m apps.<task> --precision P` (the app's defaults otherwise) under
`/usr/bin/time -v` in a fresh folder per run, alternating the precisions (float32, bf16,
float32, bf16 ... for --rounds > 1), and prints one row per run with the quality figure
the app reports (every `name: value` line of its closing report: mAP, accuracy, mIoU,
perplexity, log-RMSE, style loss, ...). Use it to choose each app's default precision at
equal quality.

    python -m benchmarks.app_precision ssd classify segmentation [--rounds 1]
    python -m benchmarks.app_precision --all
    python -m benchmarks.app_precision optimizers --flags --epochs 1         # smoke run
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from benchmarks import harness
from benchmarks.harness import ROOT

TASKS = ("classify", "finetune", "language_model", "optimizers", "segmentation", "ssd",
         "style_transfer", "tabular", "word2vec")
# Extra flags per task: word2vec's default (fused) path trains in float32 only, so its
# Keras path is the one whose precision can be chosen.
EXTRA_FLAGS = {"word2vec": ["--implementation", "keras"]}
PRECISIONS = ("float32", "mixed_bfloat16")
METRIC_LINE = re.compile(r"^  ([A-Za-z_@.0-9/-]+): (-?[0-9.]+(?:e-?[0-9]+)?)$")


def report_metrics(stdout):
    """The `  name: value` lines of the app's closing report (after its last "Data:")."""
    lines = stdout.splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("Data: ")), default=0)
    found = (METRIC_LINE.match(line) for line in lines[start:])
    return {m.group(1): float(m.group(2)) for m in found if m}


def run_once(task, precision, flags=()):
    with tempfile.TemporaryDirectory(prefix=f"bench-{task}-") as folder:
        # Generated datasets (data_cache/) are reused across runs: only training is timed.
        os.makedirs(os.path.join(ROOT, "data_cache"), exist_ok=True)
        os.symlink(os.path.join(ROOT, "data_cache"), os.path.join(folder, "data_cache"))
        command = ["/usr/bin/time", "-v", sys.executable, "-m", f"apps.{task}",
                   "--precision", precision, *EXTRA_FLAGS.get(task, []), *flags]
        env = dict(os.environ, PYTHONPATH=ROOT)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return {"task": task, "precision": precision, "rc": result.returncode, "wall": wall,
            "rss_gib": int(rss.group(1)) / 2**20 if rss else float("nan"),
            "metrics": report_metrics(result.stdout),
            "tail": [line for line in result.stderr.splitlines() if "error:" in line][-1:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--flags", nargs=argparse.REMAINDER, default=[],
                        help="extra flags for every app run (after the others)")
    args = parser.parse_args()
    tasks = TASKS if args.all else args.tasks
    with harness.session("Each app's run in float32 and mixed_bfloat16, alternating"):
        for task in tasks:
            for _ in range(args.rounds):
                for precision in PRECISIONS:
                    print_row(run_once(task, precision, args.flags))


def print_row(row):
    shown = "  ".join(f"{k} {v:.4g}" for k, v in row["metrics"].items())
    print(f"{row['task']:15s} {row['precision']:15s} rc {row['rc']}  wall {row['wall']:7.1f} s"
          f"  peak RSS {row['rss_gib']:.2f} GiB  load {os.getloadavg()[0]:.1f}  {shown}"
          + ("" if row["rc"] == 0 else f"  {row['tail']}"), flush=True)


if __name__ == "__main__":
    main()
