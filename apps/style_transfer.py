"""Neural style transfer (the notes' 样式迁移): repaint a content image in a style image's style.

    python -m apps.style_transfer                    # the embedded scene and stroke texture
    python -m apps.style_transfer --content A.jpg --style B.jpg --out OUT.png
    python -m apps.style_transfer --weights imagenet --steps 500 --height 300 --width 450
    tensorboard --logdir runs/style_transfer

The synthesized image is the trained variable: initialized from the (standardized) content
image, updated by Adam to minimize
    content_weight * content loss (block4_conv4 features)
  + style_weight * style loss (Gram matrices of block{1..5}_conv1 features)
  + tv_weight * total variation (per pixel value)
with the features of VGG-19 (keras.applications architecture).

Weights (--weights): random (default here: there is no network; shallow random filters
still transfer texture and colors), "imagenet" (Keras' download; offline this falls back
to random weights with a message), or PATH to a VGG-19 (no top) .h5 weights file / .keras
model.

Inputs: --content and --style image files (PNG, JPEG, BMP, GIF); without them, a scene of
shapes and a brush-stroke texture drawn by kerasnotes (not real images). Both are resized
to --height x --width (the style image keeps its aspect ratio).

Outputs: OUT.png (default RUN_FOLDER/stylized.png) and the run folder runs/style_transfer/
<name>/ (config.json, TensorBoard losses every --log-every-n-steps steps and the image
every --image-every-n-steps steps, a checkpoint of the image and optimizer: rerunning the
same command with more --steps continues).
"""

import argparse
import dataclasses
import os

from apps import common


@dataclasses.dataclass
class StyleTransferConfig(common.CommonConfig):
    task: str = "style_transfer"
    content: str = None
    style: str = None
    out: str = None
    weights: str = None
    # Adam steps (one "epoch" = one step on the single image; named `epochs` so that a
    # resumed run may ask for more, like the other apps).
    epochs: int = 100
    # d2l runs 300x450; VGG-19 costs several seconds per step there on 2 CPU cores, so
    # the default is a quarter of the pixels.
    height: int = 150
    width: int = 225
    lr: float = 0.3
    content_weight: float = 1.0
    style_weight: float = 1e3
    tv_weight: float = 10.0
    log_every_n_steps: int = 10
    image_every_n_steps: int = 50


def non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def parse_args(argv=None):
    d = StyleTransferConfig()
    parser = argparse.ArgumentParser(prog="python -m apps.style_transfer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", default=d.content,
                        help="content image file (default: the embedded scene of shapes)")
    parser.add_argument("--style", default=d.style,
                        help="style image file (default: the embedded brush-stroke texture)")
    parser.add_argument("--out", default=d.out,
                        help="output PNG (default RUN_FOLDER/stylized.png)")
    parser.add_argument("--weights", default=d.weights,
                        help="VGG-19 weights: 'imagenet' or PATH (.h5/.keras); default random")
    parser.add_argument("--steps", "--epochs", dest="epochs", type=common.positive_int,
                        default=d.epochs,
                        help="total Adam steps; a resumed run does the ones left "
                             "(default %(default)s)")
    parser.add_argument("--height", type=common.positive_int, default=d.height,
                        help="height of the synthesized image (default %(default)s)")
    parser.add_argument("--width", type=common.positive_int, default=d.width,
                        help="width of the synthesized image (default %(default)s)")
    parser.add_argument("--lr", type=common.positive_float, default=d.lr,
                        help="Adam learning rate on standardized pixels (default %(default)s)")
    parser.add_argument("--content-weight", type=non_negative_float, default=d.content_weight,
                        help="weight of the content loss (default %(default)s)")
    parser.add_argument("--style-weight", type=non_negative_float, default=d.style_weight,
                        help="weight of the style loss (default %(default)s)")
    parser.add_argument("--tv-weight", type=non_negative_float, default=d.tv_weight,
                        help="weight of the total variation loss (default %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed,
                        help="seed of the random VGG weights (default %(default)s)")
    parser.add_argument("--logdir", default=d.logdir,
                        help="run folder (default runs/style_transfer/<content>-<style>)")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=d.resume,
                        help="continue from the run folder's checkpoint; --no-resume moves "
                             "an existing run folder aside (default: resume)")
    parser.add_argument("--log-every-n-steps", type=common.positive_int,
                        default=d.log_every_n_steps,
                        help="loss scalars and progress line every N steps (default %(default)s)")
    parser.add_argument("--image-every-n-steps", type=common.positive_int,
                        default=d.image_every_n_steps,
                        help="TensorBoard image and checkpoint every N steps "
                             "(default %(default)s)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=d.verbose,
                        help="0 silent, 1 or 2 progress lines (default %(default)s)")
    return common.to_config(StyleTransferConfig, parser.parse_args(argv))


# VGG-19 pools four times before block5_conv1 (kerasnotes.models.vgg19_features.
# VGG19_MIN_SIZE; repeated here so that bad input fails before TensorFlow is imported).
MIN_SIZE = 16


def read_image(path, what):
    """Reads an image file as float32 RGB `(h, w, 3)` in [0, 1]; clear errors naming it."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} image not found: {path}")
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError):
        raise ValueError(f"{what} image {path} is not an image file PIL can read "
                         "(PNG, JPEG, BMP, GIF, ...)") from None
    if min(pixels.shape[:2]) < MIN_SIZE:
        raise ValueError(f"{what} image {path} is {pixels.shape[0]}x{pixels.shape[1]} "
                         f"pixels: too small, VGG-19 needs at least {MIN_SIZE}x{MIN_SIZE}")
    return pixels


def build_images(config):
    """Returns `(content (h, w, 3), style (h', w', 3), description)` in [0, 1]."""
    if min(config.height, config.width) < MIN_SIZE:
        raise ValueError(f"--height and --width must be at least {MIN_SIZE} (VGG-19 pools "
                         f"four times before block5_conv1); received "
                         f"{config.height}x{config.width}")
    files = {what: read_image(path, what) for what, path in
             (("content", config.content), ("style", config.style)) if path is not None}
    import tensorflow as tf

    from kerasnotes.data.images.synthetic_style_images import draw_content_scene, draw_stroke_texture

    images, names = [], []
    for what, path, draw in (("content", config.content, draw_content_scene),
                             ("style", config.style, draw_stroke_texture)):
        if path is None:
            image = draw(config.height, config.width)
            kind = "scene of shapes" if what == "content" else "brush-stroke texture"
            names.append(f"{what}: embedded {kind} (drawn by kerasnotes, not a real image)")
        else:
            image = files[what]
            names.append(f"{what}: {path}")
        if what == "content":
            size = (config.height, config.width)
        else:  # the style image keeps its aspect ratio, with as many pixels as the content
            scale = (config.height * config.width / (image.shape[0] * image.shape[1])) ** 0.5
            size = (max(MIN_SIZE, round(image.shape[0] * scale)),
                    max(MIN_SIZE, round(image.shape[1] * scale)))
        if tuple(image.shape[:2]) != size:
            image = tf.image.resize(image, size, antialias=True).numpy().clip(0, 1)
        images.append(image)
    return images[0], images[1], "; ".join(names)


def build_model(config):
    """The VGG-19 feature extractor and a description of its weights."""
    from kerasnotes.models.vgg19_features import load_vgg19, vgg19_feature_extractor

    weights = config.weights
    if weights is None:
        description = "random VGG-19 weights (shallow random filters still transfer texture)"
        vgg = load_vgg19(None)
    elif weights == "imagenet":
        try:
            vgg = load_vgg19("imagenet")
            description = "ImageNet VGG-19 weights (keras.applications)"
        except OSError as error:
            print(f"--weights imagenet: {error}. Falling back to random VGG-19 weights "
                  "(shallow random filters still transfer texture); continuing.")
            vgg = load_vgg19(None)
            description = "random VGG-19 weights (ImageNet weights unreachable)"
    else:
        vgg = load_vgg19(weights)
        description = f"VGG-19 weights from {weights}"
    return vgg19_feature_extractor(vgg), description


def default_run_name(config):
    def stem(path, default):
        return os.path.splitext(os.path.basename(path))[0] if path else default

    return f"{stem(config.content, 'scene')}-{stem(config.style, 'strokes')}"


def main(argv=None):
    config = parse_args(argv)
    content, style, data_name = build_images(config)  # bad files fail before any TF work
    import keras
    import tensorflow as tf

    from kerasnotes.models.style_transfer import StyleTransfer
    from kerasnotes.models.vgg19_features import postprocess_image, preprocess_image

    keras.utils.set_random_seed(config.seed)
    run_dir = common.prepare_run_dir(config, default_run_name(config))
    extractor, weights_name = build_model(config)
    print(f"Content {content.shape[0]}x{content.shape[1]}, style {style.shape[0]}x"
          f"{style.shape[1]}; {weights_name}")
    transfer = StyleTransfer(extractor, preprocess_image(content[None]),
                             preprocess_image(style[None]), config.content_weight,
                             config.style_weight, config.tv_weight, config.lr)
    step = tf.Variable(0, dtype=tf.int64, name="step")
    checkpoint = tf.train.Checkpoint(image=transfer.image, optimizer=transfer.optimizer,
                                     step=step)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "checkpoints"), 2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"Resuming from {manager.latest_checkpoint}: step {int(step.numpy())}")
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "train"))
    # The losses of the current image: what is reported when no step is left to do.
    losses = {k: float(v) for k, v in transfer.losses(transfer.image.value).items()}
    with writer.as_default():
        for done in range(int(step.numpy()), config.epochs):
            losses = transfer.step()
            step.assign(done + 1)
            if (done + 1) % config.log_every_n_steps == 0 or done + 1 == config.epochs:
                for name, value in losses.items():
                    tf.summary.scalar(f"{name}_loss", value, step=done)
                if config.verbose:
                    shown = ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
                    print(f"step {done + 1}/{config.epochs}: {shown}", flush=True)
            if (done + 1) % config.image_every_n_steps == 0 or done + 1 == config.epochs:
                tf.summary.image("synthesized_image", postprocess_image(transfer.image.value),
                                 step=done + 1)
                manager.save(checkpoint_number=done + 1)
        tf.summary.image("content_image", content[None], step=0)
        tf.summary.image("style_image", style[None], step=0)
    writer.flush()
    out = config.out or os.path.join(run_dir, "stylized.png")
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    pixels = postprocess_image(transfer.image.value)[0]
    keras.utils.save_img(out, keras.ops.convert_to_numpy(pixels) * 255.0, scale=False)
    print()
    print(f"Data: {data_name}")
    for name, value in losses.items():
        print(f"  {name}_loss: {value:.4f}")
    print(f"Stylized image: {out}")
    print(f"Run folder (config, checkpoints, events): {run_dir}")
    print(f"TensorBoard: tensorboard --logdir {run_dir}")
    return losses, out


if __name__ == "__main__":
    common.run(main, "style_transfer")
