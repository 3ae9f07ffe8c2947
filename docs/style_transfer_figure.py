"""Makes docs/style_transfer_efficientnet_lite0.png: content photo | style | result.

The photo is scikit-image's `chelsea` (a real photo shipped inside the package), the style
the app's embedded brush-stroke texture, the result `python -m apps.style_transfer` with its
defaults (EfficientNet-Lite0 ImageNet features when the weights package is installed):

    python docs/style_transfer_figure.py          # about a minute on two cores
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "docs", "style_transfer_efficientnet_lite0.png")


def main():
    import skimage.data

    from kerasnotes.data.images.synthetic_style_images import draw_stroke_texture

    with tempfile.TemporaryDirectory() as folder:
        photo, result = os.path.join(folder, "chelsea.png"), os.path.join(folder, "out.png")
        Image.fromarray(skimage.data.chelsea()).save(photo)
        command = [sys.executable, "-m", "apps.style_transfer", "--content", photo,
                   "--out", result, "--logdir", os.path.join(folder, "run")]
        subprocess.run(command, cwd=REPO, check=True, timeout=1800,
                       env=dict(os.environ, PYTHONPATH=REPO))
        stylized = np.asarray(Image.open(result).convert("RGB"))
        height, width = stylized.shape[:2]
        content = np.asarray(Image.open(photo).convert("RGB").resize((width, height),
                                                                      Image.LANCZOS))
    style = (draw_stroke_texture(height, width) * 255).round().astype("uint8")
    gap = np.full((height, 4, 3), 255, "uint8")
    figure = Image.fromarray(np.concatenate([content, gap, style, gap, stylized], axis=1))
    figure.quantize(256).save(OUT, optimize=True)  # 256 colours: under 150 KB
    print(f"{OUT}: {os.path.getsize(OUT) // 1024} KB")


if __name__ == "__main__":
    main()
