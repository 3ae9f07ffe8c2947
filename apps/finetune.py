"""Fine-tuning (the notes' 微调): reuse a model trained on a large source dataset for a small one.

    python -m apps.finetune                            # embedded synthetic source and target
    python -m apps.finetune --data ~/data/hotdog --image-size 96 --source-model src.keras
    python -m apps.finetune --head-lr-multiplier 100
    tensorboard --logdir runs/finetune

The notes' four steps:
  1. train a source model (ResNet-18) on the source dataset, or load one: --source-model
     PATH.keras (any functional Keras model whose last layer is its dense output layer), or
     --weights imagenet (keras.applications.ResNet50 at 224x224; needs the network; its
     weights expect keras.applications.resnet50.preprocess_input, which this app does
     not apply: the images reach it scaled to [0, 1]);
  2. the target model copies every layer and weight of the source model but the output layer;
  3. a new output layer with one unit per target class, randomly initialized;
  4. train on the target data with the output layer's learning rate --head-lr-multiplier
     times (default 10, up to 1000) the rate of the copied layers (--lr).
For comparison the same architecture is trained from scratch on the target data (every
layer at --lr times --head-lr-multiplier, as d2l does) and both test accuracies are printed.

Data (--data): "synthetic" (default): 18 source classes of colored glyphs (300 images
each) and a target set of 4 other shapes (50 training images per class), drawn by
kerasnotes (not real data); or DIR, an image folder DIR/train/<class>/*.jpg,
DIR/test/<class>/*.jpg (the hotdog layout), resized to --image-size; with DIR the
source model comes from --source-model or --weights, or is trained on the synthetic
source data.

Outputs: runs/finetune/<data>/ with source/, finetune/ and scratch/ run folders
(config.json, TensorBoard events, checkpoints; rerunning resumes), source_model.keras, and
saved_models/finetune/<version>/ (the fine-tuned classifier: uint8 images in,
probabilities, class_ids and class_names out).
"""

import dataclasses
import os

from apps import common

MAX_HEAD_LR_MULTIPLIER = 1000.0


@dataclasses.dataclass
class FinetuneConfig(common.CommonConfig):
    task: str = "finetune"
    epochs: int = 20  # target epochs (fine-tuned and from scratch)
    source_epochs: int = 15  # the source model reaches ~0.96 on its own test set
    batch_size: int = 64
    lr: float = 0.01  # learning rate of the copied layers (SGD with momentum 0.9)
    head_lr_multiplier: float = 10.0
    source_model: str = None
    weights: str = None
    image_size: int = 28
    width_divisor: int = 4  # ResNet-18 channels / 4: 16 ... 128, quick on a CPU
    bn_momentum: float = 0.9  # batch-norm moving-statistics momentum (Keras: 0.99)
    source_train_per_class: int = 300
    target_train_per_class: int = 50
    log_every_n_steps: int = 10


def head_multiplier(text):
    value = float(text)
    if not 1.0 <= value <= MAX_HEAD_LR_MULTIPLIER:
        raise ValueError(f"must be between 1 and {MAX_HEAD_LR_MULTIPLIER:g}, got {text}")
    return value


def bn_momentum(text):
    import argparse

    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def set_batch_norm_momentum(model, momentum):
    """Sets the momentum of every `BatchNormalization` layer of `model`, nested ones too."""
    import keras

    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
    return model


def parse_args(argv=None):
    defaults = FinetuneConfig()
    parser = common.make_parser(defaults, __doc__)
    group = parser.add_argument_group("fine-tuning flags")
    group.add_argument("--source-epochs", type=common.positive_int,
                       default=defaults.source_epochs,
                       help="epochs of step 1, the source model (default %(default)s)")
    group.add_argument("--head-lr-multiplier", type=head_multiplier,
                       default=defaults.head_lr_multiplier,
                       help="output-layer learning rate / copied-layer learning rate, 1 to "
                            "1000 (default %(default)s)")
    group.add_argument("--source-model", default=None,
                       help="a trained source model (.keras) to fine-tune instead of step 1")
    group.add_argument("--weights", default=None, choices=["imagenet"],
                       help="fine-tune keras.applications.ResNet50 with ImageNet weights "
                            "(downloads them; not available offline)")
    group.add_argument("--image-size", type=common.positive_int, default=defaults.image_size,
                       help="image side for --data DIR (default %(default)s)")
    group.add_argument("--width-divisor", type=common.positive_int,
                       default=defaults.width_divisor,
                       help="divides ResNet-18's channel counts (default %(default)s)")
    group.add_argument("--bn-momentum", type=bn_momentum, default=defaults.bn_momentum,
                       help="momentum of every batch-normalization layer's moving mean and "
                            "variance, in [0, 1) (default %(default)s; Keras' 0.99 barely "
                            "moves them in the few steps of a small target set)")
    group.add_argument("--source-train-per-class", type=common.positive_int,
                       default=defaults.source_train_per_class,
                       help="synthetic source training images per class (default %(default)s)")
    group.add_argument("--target-train-per-class", type=common.positive_int,
                       default=defaults.target_train_per_class,
                       help="synthetic target training images per class (default %(default)s)")
    args = parser.parse_args(argv)
    if args.source_model and args.weights:
        parser.error("--source-model and --weights are alternatives; pass one")
    return common.to_config(FinetuneConfig, args)


def build_dataset(config):
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
                             f"{source.image_shape[0]} with --data DIR, or pass "
                             "--source-model")
    return source, target


def _register_kerasnotes_classes():
    """Imports every kerasnotes layer and model, so .keras files using them can load."""
    import importlib
    import pkgutil

    import kerasnotes.layers
    import kerasnotes.models

    for package in (kerasnotes.layers, kerasnotes.models):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")


def load_source_model(config, input_shape):
    import keras

    if config.weights == "imagenet":
        if tuple(input_shape) != (224, 224, 3):
            raise ValueError("--weights imagenet: keras.applications.ResNet50 with its "
                             "ImageNet output layer takes 224x224x3 images; the target "
                             f"images are {tuple(input_shape)} (use --data DIR "
                             "--image-size 224)")
        try:
            return keras.applications.ResNet50(weights="imagenet", input_shape=input_shape)
        except Exception as error:  # urllib/HTTP/socket: the weights are not reachable
            raise OSError(
                "--weights imagenet: the ImageNet ResNet50 weights cannot be downloaded here "
                f"({type(error).__name__}: {str(error).splitlines()[0][:160]}). Train the "
                "source model instead (omit --weights) or pass --source-model PATH.keras"
            ) from None
    path = os.path.expanduser(config.source_model)
    _register_kerasnotes_classes()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--source-model: file not found: {path}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:
        raise ValueError(f"--source-model: cannot load {path} as a Keras model: "
                         f"{str(error).splitlines()[0][:200]}") from None
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise ValueError(f"--source-model {path} takes images {model.input_shape[1:]}; the "
                         f"target images are {tuple(input_shape)} (see --image-size)")
    return model


def build_model(config, num_classes, input_shape):
    from kerasnotes.models.resnet import ResNet18

    return ResNet18(num_classes=num_classes, input_shape=input_shape,
                    width_divisor=config.width_divisor)


def train(config, strategy, run_dir, model, optimizer, data, epochs):
    """Trains `model` on `data` with the Trainer; returns the test metrics."""
    import keras

    from kerasnotes.data.images.classification_datasets import make_classification_dataset
    from kerasnotes.training.trainer import Trainer

    def train_data(epoch):
        return make_classification_dataset(data.x_train, data.y_train, config.batch_size,
                                           shuffle_seed=config.seed, epoch=epoch)

    test_dataset = make_classification_dataset(data.x_test, data.y_test, config.batch_size)
    trainer = Trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer, [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                      strategy=strategy, run_dir=run_dir,
                      log_every_n_steps=config.log_every_n_steps,
                      checkpoint_every_n_steps=config.checkpoint_every_n_steps,
                      verbose=config.verbose)
    trainer.fit(train_data, epochs=epochs, validation_data=test_dataset)
    return trainer.evaluate(test_dataset)


def main(argv=None):
    config = parse_args(argv)
    import keras

    from kerasnotes.training.strategy import choose_strategy

    strategy = choose_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    source_data, target = build_dataset(config)
    run_name = "synthetic" if config.data == "synthetic" else os.path.basename(
        os.path.normpath(os.path.expanduser(config.data)))
    run_dir = common.prepare_run_dir(config, run_name)
    print(f"Target data: {target.name}: {len(target.x_train)} training and "
          f"{len(target.x_test)} test images of shape {target.image_shape}, classes "
          f"{', '.join(target.class_names)}")

    from kerasnotes.optimizers.learning_rate_multipliers import LearningRateMultipliers
    from kerasnotes.serving.classifier import ImageClassifierServer
    from kerasnotes.serving.export import export_saved_model
    from kerasnotes.models.finetune import make_target_model

    head_lr = config.lr * config.head_lr_multiplier
    # Step 1: the source model.
    source_path = os.path.join(run_dir, "source_model.keras")
    if source_data is not None:
        print(f"Step 1: training ResNet-18 on the source data: {source_data.name}, "
              f"{len(source_data.x_train)} images, {source_data.num_classes} classes")
        with strategy.scope():
            source = build_model(config, source_data.num_classes, source_data.image_shape)
            set_batch_norm_momentum(source, config.bn_momentum)
            optimizer = keras.optimizers.SGD(head_lr, momentum=0.9)
        source_metrics = train(config, strategy, os.path.join(run_dir, "source"), source,
                               optimizer, source_data, config.source_epochs)
        print(f"  source test accuracy: {source_metrics['accuracy']:.4f}")
        source.save(source_path)
    else:
        with strategy.scope():
            source = load_source_model(config, target.image_shape)
        print(f"Step 1: source model {source.name} from "
              f"{config.source_model or 'keras.applications (ImageNet)'}")

    # Steps 2-4: copy all but the output layer, new output layer, two learning rates.
    print(f"Steps 2-4: fine-tuning: copied layers at lr {config.lr:g}, the new output "
          f"layer at lr {head_lr:g} (x{config.head_lr_multiplier:g})")
    with strategy.scope():
        target_model = make_target_model(source, target.num_classes, output_name="output",
                                         seed=config.seed)
        set_batch_norm_momentum(target_model, config.bn_momentum)
        optimizer = LearningRateMultipliers(keras.optimizers.SGD(config.lr, momentum=0.9),
                                            {"output": config.head_lr_multiplier})
    finetuned = train(config, strategy, os.path.join(run_dir, "finetune"), target_model,
                      optimizer, target, config.epochs)

    print(f"For comparison: the same architecture from scratch, every layer at lr {head_lr:g}")
    with strategy.scope():
        scratch_model = keras.models.clone_model(target_model)  # fresh random weights
        set_batch_norm_momentum(scratch_model, config.bn_momentum)
        optimizer = keras.optimizers.SGD(head_lr, momentum=0.9)
    scratch = train(config, strategy, os.path.join(run_dir, "scratch"), scratch_model,
                    optimizer, target, config.epochs)

    server = ImageClassifierServer(target_model, target.class_names)
    export_path = export_saved_model(server, config.export_dir or f"saved_models/{config.task}",
                                     {"serving_default": server.serve}, strategy=strategy)
    metrics = {"finetuned_test_accuracy": finetuned["accuracy"],
               "scratch_test_accuracy": scratch["accuracy"],
               "finetuned_test_loss": finetuned["loss"], "scratch_test_loss": scratch["loss"]}
    winner = "fine-tuning" if finetuned["accuracy"] > scratch["accuracy"] else "from scratch"
    print(f"\nTarget test accuracy: fine-tuned {finetuned['accuracy']:.4f} vs from scratch "
          f"{scratch['accuracy']:.4f} ({winner} wins)")
    if source_data is not None:
        print(f"Source model: {source_path}")
    common.print_report(config, metrics, export_path, target.name)
    return metrics, export_path


if __name__ == "__main__":
    common.run(main, "finetune")
