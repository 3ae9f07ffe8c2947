"""What hostile or huge inputs cost: a decompression-bomb request and a 200,000-row label.csv.

1. A complete 522 KB PNG declaring 23170x23170 grayscale pixels (zlib-compressed zero rows)
   is sent to a TinySSD export's `serving_default` in a plain-TensorFlow process (no
   kerasnotes imported): a valid request first, then the bomb, then the valid one again.
   Printed: the process's peak RSS (VmHWM) before and after the bomb, the time, whether the
   bomb was refused, and whether the next valid request got the same answer.
2. A banana `label.csv` of 200,000 rows (64 images, ~3,100 objects each) is parsed with
   `read_banana_labels`: the time and the rows per second.

    python -m benchmarks.untrusted_inputs                 # bomb 23170x23170, 200,000 rows
    python -m benchmarks.untrusted_inputs --size 4000 --rows 2000      # smoke run
"""

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

from benchmarks import harness

# Runs in its own process with plain TensorFlow: load the export, serve, read VmHWM.
SERVE_SCRIPT = r"""
import sys, time
import numpy as np
import tensorflow as tf

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

export, bomb = sys.argv[1], sys.argv[2]
serve = tf.saved_model.load(export).signatures["serving_default"]
valid = tf.io.encode_png(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8))
first = serve(image_bytes=tf.stack([valid]))["detection_scores"].numpy()
before = peak_mb()
start = time.perf_counter()
try:
    serve(image_bytes=tf.constant([open(bomb, "rb").read()]))
    outcome = "answered (decoded whole)"
except tf.errors.InvalidArgumentError as error:
    lines = [line for line in error.message.splitlines() if "budget" in line]
    outcome = "refused: " + (lines or error.message.splitlines())[0].strip()[:200]
elapsed = time.perf_counter() - start
after = peak_mb()
again = serve(image_bytes=tf.stack([valid]))["detection_scores"].numpy()
print(f"peak RSS {before:.0f} MB after a valid request, {after:.0f} MB after the bomb "
      f"(+{after - before:.0f} MB) in {elapsed:.1f} s; bomb {outcome}; next valid request "
      f"answered the same: {np.array_equal(first, again)}")
"""


def png_bomb(size):
    """A complete grayscale PNG of `size` x `size` zero pixels (small: zero rows compress)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    compressor = zlib.compressobj(9)
    row = bytes(1 + size)  # filter byte + one byte per pixel
    pixels = b"".join(compressor.compress(row) for _ in range(size)) + compressor.flush()
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def export_tiny_ssd(base):
    import keras

    from kerasnotes.models.tiny_ssd import TinySSD
    from kerasnotes.serving.detection import DetectionServer
    from kerasnotes.serving.export import export_saved_model

    keras.utils.set_random_seed(0)
    model = TinySSD(num_classes=2, input_size=64, base_filters=(4, 4, 8), stage_filters=8)
    server = DetectionServer(model, ["disk", "square"], max_detections=10)
    return export_saved_model(server, base, server.signatures())


def bomb_request(folder, size):
    export = export_tiny_ssd(os.path.join(folder, "export"))
    bomb_path = os.path.join(folder, "bomb.png")
    with open(bomb_path, "wb") as file:
        file.write(png_bomb(size))
    print(f"bomb: {os.path.getsize(bomb_path):,} bytes declaring {size}x{size} pixels")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, export, bomb_path],
                            capture_output=True, text=True, timeout=600, env=env)
    print(result.stdout.strip() or result.stderr.strip().splitlines()[-1])


def label_csv_parse(folder, rows, images=64):
    from PIL import Image

    from kerasnotes.data.detection.banana_detection import read_banana_labels

    split = os.path.join(folder, "bananas_train")
    os.makedirs(os.path.join(split, "images"))
    for index in range(images):
        Image.new("RGB", (256, 256)).save(os.path.join(split, "images", f"{index}.png"))
    rng = np.random.default_rng(0)
    corners = rng.integers(0, 128, (rows, 2))
    with open(os.path.join(split, "label.csv"), "w") as file:
        file.write("img_name,label,xmin,ymin,xmax,ymax\n")
        for row, (x, y) in enumerate(corners):
            file.write(f"{row % images}.png,0,{x},{y},{x + 64},{y + 64}\n")
    start = time.perf_counter()
    records = read_banana_labels(split)
    seconds = time.perf_counter() - start
    objects = sum(record.num_objects for record in records)
    print(f"label.csv of {rows:,} rows ({len(records)} images, {objects:,} objects): parsed in "
          f"{seconds:.2f} s ({rows / seconds:,.0f} rows/s)")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_int_flags(parser, size=(23170, "the bomb's declared width and height"),
                          rows=(200_000, "rows of the label.csv"))
    args = parser.parse_args()
    with harness.session("Untrusted inputs: a decompression bomb and a large label.csv"), \
            tempfile.TemporaryDirectory() as folder:
        bomb_request(folder, args.size)
        seconds = label_csv_parse(folder, args.rows)
    harness.print_target(f"label.csv {args.rows:,} rows parse time", seconds, "a few seconds",
                         unit=" s")


if __name__ == "__main__":
    main()
