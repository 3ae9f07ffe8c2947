"""Each app's default run in float32 and in mixed_bfloat16: wall time, peak RSS, quality.

Runs `python -m apps.<task> --precision P` (the app's defaults otherwise) under
`/usr/bin/time -v` in a fresh folder per run, alternating the precisions (float32, bf16,
float32, bf16 ... for --rounds > 1), and prints one row per run with the quality figure
the app reports (mAP, accuracy, mIoU, perplexity, log-RMSE, style loss). Use it to choose
each app's default precision at equal quality.

    python benchmarks/app_precision.py ssd classify segmentation [--rounds 1]
    python benchmarks/app_precision.py --all
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The line of each app's report that holds its quality figure, and any extra flags.
QUALITY = {
    "ssd": (r"val_mAP@0.5: ([0-9.]+)", []),
    "classify": (r"test_accuracy: ([0-9.]+)", []),
    "segmentation": (r"val_mean_iou: ([0-9.]+)|val_miou: ([0-9.]+)", []),
    "finetune": (r"fine-tuned.*?([0-9]\.[0-9]+)", []),
    "language_model": (r"val_perplexity: ([0-9.]+)", []),
    "tabular": (r"mean validation log-RMSE: ([0-9.]+)|validation_log_rmse: ([0-9.]+)", []),
    "optimizers": (r"([0-9.]+)", []),
    "style_transfer": (r"loss: ([0-9.]+)", []),
    "word2vec": (r"loss: ([0-9.]+)", ["--implementation", "keras"]),
}
PRECISIONS = ("float32", "mixed_bfloat16")


def run_once(task, precision):
    pattern, extra = QUALITY[task]
    with tempfile.TemporaryDirectory(prefix=f"bench-{task}-") as folder:
        # Generated datasets (data_cache/) are reused across runs: only training is timed.
        os.makedirs(os.path.join(ROOT, "data_cache"), exist_ok=True)
        os.symlink(os.path.join(ROOT, "data_cache"), os.path.join(folder, "data_cache"))
        command = ["/usr/bin/time", "-v", sys.executable, "-m", f"apps.{task}",
                   "--precision", precision, "--verbose", "2", *extra]
        env = dict(os.environ, PYTHONPATH=ROOT)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    matches = [m for m in re.finditer(pattern, result.stdout)]
    quality = next((g for g in matches[-1].groups() if g), None) if matches else None
    return {"task": task, "precision": precision, "rc": result.returncode, "wall": wall,
            "rss_gib": int(rss.group(1)) / 2**20 if rss else float("nan"),
            "quality": quality, "tail": result.stderr.strip().splitlines()[-1:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    tasks = sorted(QUALITY) if args.all else args.tasks
    print(f"load: {os.getloadavg()[0]:.2f}")
    for task in tasks:
        for _ in range(args.rounds):
            for precision in PRECISIONS:
                row = run_once(task, precision)
                print(f"{row['task']:15s} {row['precision']:15s} rc {row['rc']}  wall "
                      f"{row['wall']:7.1f} s  peak RSS {row['rss_gib']:.2f} GiB  quality "
                      f"{row['quality']}" + ("" if row["rc"] == 0 else f"  {row['tail']}"),
                      flush=True)


if __name__ == "__main__":
    main()
