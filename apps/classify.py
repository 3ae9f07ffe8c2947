"""Image classification: train a model of the notes, watch it in TensorBoard, export it.

    python -m apps.classify                      # LeNet on the embedded synthetic glyphs
    python -m apps.classify --model mlp --epochs 5
    python -m apps.classify --data idx:~/fashion-mnist        # the original IDX files
    python -m apps.classify --data fashion_mnist --data-dir ~/tensorflow_datasets

Data sources (--data):
  synthetic       deterministic 28x28 grayscale glyphs in 10 classes, drawn by kerasnotes
                  (no network needed; not real data)
  fashion_mnist   Fashion-MNIST through TFDS, prepared in --data-dir (no download here)
  idx:DIR         the Fashion-MNIST IDX files in DIR (train-images-idx3-ubyte[.gz], ...)

The export's serving_default takes uint8 images [N, H, W, C] and returns probabilities,
class_ids and class_names.
"""

import dataclasses
import pkgutil

from apps import flags
from apps.flags import flag
from apps.runner import Run, run_cli
from kerasnotes.utils import memory_budget

# --model -> (module:class in kerasnotes.models, default --resize as in d2l (None: the
# data's size), first layer for the memory check: ("conv", filters, stride) or ("dense",
# units; None: one per class)). Adding a model is one line here.
MODELS = {
    "softmax": ("softmax_regression:SoftmaxRegression", None, ("dense", None)),
    "mlp": ("mlp:MLP", None, ("dense", 256)),
    "lenet": ("lenet:LeNet", 28, ("conv", 6, 1)),
    "alexnet": ("alexnet:AlexNet", 224, ("conv", 96, 4)),
    "vgg11": ("vgg:VGG", 224, ("conv", 64, 1)),
    "nin": ("nin:NiN", 224, ("conv", 96, 4)),
    "googlenet": ("googlenet:GoogLeNet", 96, ("conv", 64, 2)),
    "resnet18": ("resnet:ResNet18", 96, ("conv", 64, 2)),
    "densenet": ("densenet:DenseNet", 96, ("conv", 64, 2)),
}
FIXED_WIDTH = ("softmax", "lenet")  # models whose widths --width-divisor does not change


@dataclasses.dataclass
class ClassifyConfig(flags.RunConfig):
    task: str = "classify"
    data: str = "synthetic"
    data_dir: str = flag(None, "folder of prepared TFDS datasets, for --data fashion_mnist")
    num_train: int = flag(None, "use only the first N training examples (quick runs)",
                          type=flags.positive_int)
    num_test: int = flag(None, "use only the first N test examples (quick runs)",
                         type=flags.positive_int)
    model: str = flag("lenet", "architecture", choices=tuple(MODELS))
    resize: int = flag(None, "resize images to RESIZE x RESIZE (default: the model's in d2l, see "
                       "MODELS; the data's size for softmax/mlp)", type=flags.positive_int)
    width_divisor: int = flag(1, "divide the CNNs' channel counts and dense widths by this, for "
                              "quick CPU runs", type=flags.positive_int)
    augment: bool = flag(False, "the notes' augmentation of training batches: flips, random "
                         "resized crops (10-100%% of the area), color jitter (default: off)")
    # The notes' sigmoid LeNet learns slowly with plain SGD (d2l: lr 0.9, ~0.8 accuracy
    # after 10 epochs on Fashion-MNIST); Adam gets it to ~0.98 on the synthetic glyphs.
    optimizer: str = flag("adam", "minibatch SGD, SGD with momentum 0.9, or Adam (d2l: "
                          "--optimizer sgd --lr 0.9)", choices=("sgd", "momentum", "adam"))
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 256
    precision: str = "float32"
    export_dir: str = None


def run_name(config):
    """The default run folder's name: the model's, and the data's unless synthetic."""
    return flags.run_name_with_data(config.model, config.data)


def parse_args(argv=None):
    config = flags.parse(ClassifyConfig, __doc__, argv, run_name)
    config.resize = config.resize or MODELS[config.model][1]
    return config


def check_memory(config, image_shape, num_classes, num_train):
    """Refuses (`ValueError`) a --resize, --batch-size and --model whose training batch
    cannot fit in memory: a lower bound, of the float32 inputs, the first layer's activations
    (twice: with its activation's) and a first dense layer's weights (16 bytes with gradient
    and optimizer slots)."""
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
    memory_budget.check_memory(
        f"--model {config.model} --resize {side} --batch-size {config.batch_size}", needed,
        "lower --resize or --batch-size (or raise --width-divisor)")


def build_model(config, num_classes, input_shape):
    model_class = pkgutil.resolve_name(f"kerasnotes.models.{MODELS[config.model][0]}")
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


if __name__ == "__main__":
    run_cli("classify", main, parse_args)
