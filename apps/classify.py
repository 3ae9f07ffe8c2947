"""Image classification: train a model of the notes, watch it in TensorBoard, export it.

    python -m apps.classify                      # LeNet on the embedded synthetic glyphs
    python -m apps.classify --model mlp --epochs 5
    python -m apps.classify --data idx:~/fashion-mnist        # the original IDX files
    python -m apps.classify --data fashion_mnist --data-dir ~/tensorflow_datasets
    tensorboard --logdir runs/classify

Data sources (--data):
  synthetic       deterministic 28x28 grayscale glyphs in 10 classes, drawn by kerasnotes
                  (no network needed; not real data)
  fashion_mnist   Fashion-MNIST through TFDS, prepared in --data-dir (no download here)
  idx:DIR         the Fashion-MNIST IDX files in DIR: train-images-idx3-ubyte[.gz],
                  train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
                  t10k-labels-idx1-ubyte[.gz]

Outputs: runs/classify/<model>/ (config.json, TensorBoard events, checkpoints; rerunning
the same command resumes) and saved_models/classify/<version>/ (SavedModel whose
serving_default takes uint8 images [N, H, W, C] and returns probabilities, class_ids and
class_names).
"""

import argparse
import dataclasses
import importlib

from apps import flags, memory_check
from apps.run_folder import run_name_with_data
from apps.runner import Run, run_cli


@dataclasses.dataclass
class ClassifyConfig(flags.RunConfig):
    task: str = "classify"
    data: str = "synthetic"
    data_dir: str = None
    num_train: int = None
    num_test: int = None
    model: str = "lenet"
    resize: int = None  # None: the model's size in MODELS
    width_divisor: int = 1
    augment: bool = False
    # The notes' sigmoid LeNet learns slowly with plain SGD (d2l: lr 0.9, ~0.8 accuracy
    # after 10 epochs on Fashion-MNIST); Adam gets it to ~0.98 on the synthetic glyphs in
    # 10 epochs. `--optimizer sgd --lr 0.9` gives d2l's setting.
    optimizer: str = "adam"
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 256
    precision: str = "float32"
    export_dir: str = None


# --model -> (module and class in kerasnotes.models, default --resize as in d2l (None: the
# data's size), first layer for the memory check: ("conv", filters, stride) or ("dense",
# units; None: one per class)). Adding a model is one line here.
MODELS = {
    "softmax": ("softmax_regression.SoftmaxRegression", None, ("dense", None)),
    "mlp": ("mlp.MLP", None, ("dense", 256)),
    "lenet": ("lenet.LeNet", 28, ("conv", 6, 1)),
    "alexnet": ("alexnet.AlexNet", 224, ("conv", 96, 4)),
    "vgg11": ("vgg.VGG", 224, ("conv", 64, 1)),
    "nin": ("nin.NiN", 224, ("conv", 96, 4)),
    "googlenet": ("googlenet.GoogLeNet", 96, ("conv", 64, 2)),
    "resnet18": ("resnet.ResNet18", 96, ("conv", 64, 2)),
    "densenet": ("densenet.DenseNet", 96, ("conv", 64, 2)),
}
# Models whose widths --width-divisor does not change.
FIXED_WIDTH = ("softmax", "lenet")


def run_name(config):
    """The default run folder's name: the model's, and the data's unless synthetic."""
    return run_name_with_data(config.model, config.data)


def parse_args(argv=None):
    defaults = ClassifyConfig()
    parser = flags.make_parser(defaults, __doc__,
                               default_logdir=f"runs/classify/{run_name(defaults)}")
    group = parser.add_argument_group("classification flags")
    group.add_argument("--model", choices=sorted(MODELS),
                       help="architecture (default %(default)s)")
    group.add_argument("--data-dir",
                       help="folder of prepared TFDS datasets, for --data fashion_mnist")
    group.add_argument("--optimizer", choices=("sgd", "momentum", "adam"),
                       help="minibatch SGD, SGD with momentum 0.9, or Adam (default %(default)s; "
                            "d2l trains LeNet with --optimizer sgd --lr 0.9)")
    group.add_argument("--resize", type=flags.positive_int, default=None,
                       help="resize images to RESIZE x RESIZE (default per model, as d2l: 224 "
                            "for alexnet/vgg11/nin, 96 for googlenet/resnet18/densenet, 28 for "
                            "lenet, the data's size for softmax/mlp)")
    group.add_argument("--width-divisor", type=flags.positive_int, default=1,
                       help="divide the CNNs' channel counts and dense widths by this, for "
                            "quick CPU runs (default %(default)s)")
    group.add_argument("--augment", action=argparse.BooleanOptionalAction,
                       help="the notes' augmentation of training batches: left-right flips, "
                            "random resized crop (10-100%% of the area, aspect 0.5-2), "
                            "brightness and contrast (+ hue, saturation for RGB); seeded by "
                            "--seed (default: off)")
    group.add_argument("--num-train", type=flags.positive_int, default=None,
                       help="use only the first N training examples (quick runs)")
    group.add_argument("--num-test", type=flags.positive_int, default=None,
                       help="use only the first N test examples (quick runs)")
    config = flags.to_config(ClassifyConfig, parser.parse_args(argv))
    config.resize = config.resize or MODELS[config.model][1]
    return config


def check_memory(config, image_shape, num_classes, num_train):
    """Refuses (`ValueError`) a --resize, --batch-size and --model whose one training batch
    cannot fit in memory: the float32 input batch, the first layer's activations (kept for
    the gradient, with its activation function's) and, for a first dense layer, its weights
    with gradients and optimizer slots (16 bytes each). A lower bound."""
    side, channels = config.resize or image_shape[0], image_shape[-1]
    batch, pixels = min(config.batch_size, num_train), side * side
    kind, width, *stride = MODELS[config.model][2]
    divisor = 1 if config.model in FIXED_WIDTH else config.width_divisor
    needed = 4 * batch * pixels * channels
    if kind == "dense":
        units = num_classes if width is None else max(width // divisor, 1)
        needed += 16 * pixels * channels * units + 2 * 4 * batch * units
    else:
        needed += 2 * 4 * batch * (side // stride[0]) ** 2 * max(width // divisor, 1)
    memory_check.check_memory(
        f"--model {config.model} --resize {side} --batch-size {config.batch_size}", needed,
        "lower --resize or --batch-size (or raise --width-divisor)")


def build_model(config, num_classes, input_shape):
    module, class_name = MODELS[config.model][0].split(".")
    model_class = getattr(importlib.import_module(f"kerasnotes.models.{module}"), class_name)
    divisor = config.width_divisor
    if config.model == "mlp":
        return model_class(num_classes=num_classes, input_shape=input_shape,
                           hidden_units=(max(256 // divisor, 1),))
    extra = {} if config.model in FIXED_WIDTH else {"width_divisor": divisor}
    return model_class(num_classes=num_classes, input_shape=input_shape, **extra)


def main(config):
    """Trains, evaluates and exports as `config` says; returns `(metrics, export_path)`."""
    import keras

    from kerasnotes.data.images.classification_datasets import (
        load_classification_data,
        make_classification_dataset,
    )
    from kerasnotes.data.images.image_augmentation import augment_dataset
    from kerasnotes.serving.classifier import ImageClassifierServer
    from kerasnotes.training.callbacks.image_predictions import ImagePredictionsSummary
    from kerasnotes.training.precision import float32_copy

    with Run(config, run_name(config)) as run:
        data = load_classification_data(config.data, data_dir=config.data_dir,
                                        num_train=config.num_train, num_test=config.num_test,
                                        seed=config.seed)
        print(f"Data: {data.name}: {len(data.x_train)} training and {len(data.x_test)} test "
              f"images of shape {data.image_shape}, {data.num_classes} classes")
        check_memory(config, data.image_shape, data.num_classes, len(data.x_train))
        size = (config.resize or data.image_shape[0],) * 2

        def train(epoch):
            dataset = make_classification_dataset(data.x_train, data.y_train, config.batch_size,
                                                   shuffle_seed=config.seed, epoch=epoch,
                                                   resize=size)
            return augment_dataset(dataset, config.seed, epoch) if config.augment else dataset

        test = make_classification_dataset(data.x_test, data.y_test, config.batch_size,
                                           resize=size)

        with run.strategy.scope():
            model = build_model(config, data.num_classes, (*size, data.image_shape[-1]))
            if config.optimizer == "adam":
                optimizer = keras.optimizers.Adam(config.lr)
            else:
                momentum = 0.9 if config.optimizer == "momentum" else 0.0
                optimizer = keras.optimizers.SGD(config.lr, momentum=momentum)
        trainer = run.trainer(
            model, keras.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer,
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            callbacks=[ImagePredictionsSummary(data.x_test[:8], data.class_names)])
        trainer.fit(train, epochs=config.epochs, validation_data=test)

        results = {f"test_{k}": v for k, v in trainer.evaluate(test).items()}
        export_path = run.export(ImageClassifierServer(float32_copy(model), data.class_names))
        run.report(results, export_path, data.name)
    return results, export_path


def cli(argv=None):
    run_cli("classify", main, parse_args, argv)


if __name__ == "__main__":
    cli()
