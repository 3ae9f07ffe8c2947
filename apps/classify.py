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

from apps import flags
from apps.run_folder import run_name_with_data
from apps.runner import App, parse_config


@dataclasses.dataclass
class ClassifyConfig(flags.CommonConfig):
    task: str = "classify"
    model: str = "lenet"
    # The notes' sigmoid LeNet learns slowly with plain SGD (d2l: lr 0.9, ~0.8 accuracy
    # after 10 epochs on Fashion-MNIST); Adam gets it to ~0.98 on the synthetic glyphs in
    # 10 epochs. `--optimizer sgd --lr 0.9` gives d2l's setting.
    optimizer: str = "adam"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 0.01
    num_train: int = None
    num_test: int = None
    data_dir: str = None
    resize: int = None
    width_divisor: int = 1
    augment: bool = False


def _cnn(module, class_name, divisible=True):
    """A builder `(num_classes, input_shape, width_divisor) -> model` of kerasnotes.models."""

    def build(num_classes, input_shape, width_divisor):
        import importlib

        model_class = getattr(importlib.import_module(f"kerasnotes.models.{module}"), class_name)
        if module == "mlp":
            return model_class(num_classes=num_classes, input_shape=input_shape,
                               hidden_units=(max(256 // width_divisor, 1),))
        extra = {"width_divisor": width_divisor} if divisible else {}
        return model_class(num_classes=num_classes, input_shape=input_shape, **extra)

    return build


# --model name -> (builder(num_classes, input_shape, width_divisor), default --resize).
# Default sizes as in d2l; None keeps the data's size. Adding a model is one line here.
MODELS = {
    "softmax": (_cnn("softmax_regression", "SoftmaxRegression", divisible=False), None),
    "mlp": (_cnn("mlp", "MLP"), None),
    "lenet": (_cnn("lenet", "LeNet", divisible=False), 28),
    "alexnet": (_cnn("alexnet", "AlexNet"), 224),
    "vgg11": (_cnn("vgg", "VGG"), 224),
    "nin": (_cnn("nin", "NiN"), 224),
    "googlenet": (_cnn("googlenet", "GoogLeNet"), 96),
    "resnet18": (_cnn("resnet", "ResNet18"), 96),
    "densenet": (_cnn("densenet", "DenseNet"), 96),
}

OPTIMIZERS = ("sgd", "momentum", "adam")

# --model -> the first layer, for the memory check before building: ("conv", filters, stride)
# (filters divided by --width-divisor, except LeNet's) or ("dense", units) on the flattened
# image (`None`: --num-classes units; MLP: 256 / --width-divisor).
FIRST_LAYERS = {
    "softmax": ("dense", None), "mlp": ("dense", 256), "lenet": ("conv", 6, 1),
    "alexnet": ("conv", 96, 4), "vgg11": ("conv", 64, 1), "nin": ("conv", 96, 4),
    "googlenet": ("conv", 64, 2), "resnet18": ("conv", 64, 2), "densenet": ("conv", 64, 2),
}


def add_flags(parser, defaults):
    group = parser.add_argument_group("classification flags")
    group.add_argument("--model", choices=sorted(MODELS), default=defaults.model,
                       help="architecture (default %(default)s)")
    group.add_argument("--data-dir", default=defaults.data_dir,
                       help="folder of prepared TFDS datasets, for --data fashion_mnist")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
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
                       default=defaults.augment,
                       help="the notes' augmentation of training batches: left-right flips, "
                            "random resized crop (10-100%% of the area, aspect 0.5-2), "
                            "brightness and contrast (+ hue, saturation for RGB); seeded by "
                            "--seed (default: off)")
    group.add_argument("--num-train", type=flags.positive_int, default=None,
                       help="use only the first N training examples (quick runs)")
    group.add_argument("--num-test", type=flags.positive_int, default=None,
                       help="use only the first N test examples (quick runs)")


def finish_config(config, parser):
    if config.resize is None:
        config.resize = MODELS[config.model][1]


def parse_args(argv=None):
    return parse_config(APP, argv)


def build_data(config):
    """The data of `--data` as `train(epoch)` and `validation` (the test split) datasets."""
    import tensorflow as tf

    from kerasnotes.data.images.classification_datasets import (
        load_classification_data,
        make_classification_dataset,
    )

    data = load_classification_data(config.data, data_dir=config.data_dir,
                                    num_train=config.num_train, num_test=config.num_test,
                                    seed=config.seed)
    print(f"Data: {data.name}: {len(data.x_train)} training and {len(data.x_test)} test "
          f"images of shape {data.image_shape}, {data.num_classes} classes")
    check_memory(config, data.image_shape, data.num_classes, len(data.x_train))

    def resized(dataset):
        if config.resize is None or data.image_shape[:2] == (config.resize, config.resize):
            return dataset
        size = (config.resize, config.resize)
        return dataset.map(lambda x, y: (tf.image.resize(x, size), y),
                           num_parallel_calls=tf.data.AUTOTUNE)

    def train(epoch):
        dataset = resized(make_classification_dataset(
            data.x_train, data.y_train, config.batch_size, shuffle_seed=config.seed, epoch=epoch))
        if config.augment:
            from kerasnotes.data.images.image_augmentation import augment_dataset

            dataset = augment_dataset(dataset, seed=config.seed, epoch=epoch)
        return dataset

    data.train = train
    data.validation = resized(
        make_classification_dataset(data.x_test, data.y_test, config.batch_size))
    return data


def check_memory(config, image_shape, num_classes, num_train):
    """Refuses (`ValueError`) a --resize, --batch-size and --model whose one training batch
    cannot fit in memory: float32 inputs (a batch of min(--batch-size, training images)
    images of RESIZE x RESIZE x channels; the data's size without --resize), the first
    layer's activations (kept for the gradient, with those of its activation function)
    and, for a first dense layer on the flattened image, its weights with their gradients
    and optimizer slots (16 bytes each). A lower bound: a setting that passes may still
    need more."""
    side, channels = config.resize or image_shape[0], image_shape[-1]
    batch = min(config.batch_size, num_train)
    pixels = side * side
    kind, width, *stride = FIRST_LAYERS[config.model]
    divisor = 1 if config.model == "lenet" else config.width_divisor
    needed = 4 * batch * pixels * channels
    if kind == "dense":
        units = num_classes if width is None else max(width // divisor, 1)
        needed += 16 * pixels * channels * units + 2 * 4 * batch * units
    else:
        filters = max(width // divisor, 1)
        needed += 2 * 4 * batch * (side // stride[0]) ** 2 * filters
    flags.check_memory(
        f"--model {config.model} --resize {side} --batch-size {config.batch_size}", needed,
        "lower --resize or --batch-size (or raise --width-divisor)")


def build_model(config, data):
    import keras

    input_shape = data.image_shape
    if config.resize is not None:
        input_shape = (config.resize, config.resize, data.image_shape[-1])
    build, _ = MODELS[config.model]
    model = build(data.num_classes, input_shape, config.width_divisor)
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(config.lr)
    else:
        momentum = 0.9 if config.optimizer == "momentum" else 0.0
        optimizer = keras.optimizers.SGD(config.lr, momentum=momentum)
    return model, optimizer


def loss_and_metrics(config, data, model):
    import keras

    return (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            [keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


def callbacks(run, data, model):
    import keras
    import tensorflow as tf

    images, class_names = data.x_test[:8], data.class_names

    class TestImageSummary(keras.callbacks.Callback):
        """A few test images with their predicted classes, in TensorBoard, every epoch."""

        def on_epoch_end(self, epoch, logs=None):
            pixels = tf.cast(images, tf.float32) / 255.0
            model_input = tf.image.resize(pixels, self.model.input_shape[1:3])
            predicted = tf.argmax(self.model(model_input, training=False), axis=-1).numpy()
            tf.summary.image("test_images", pixels, step=epoch, max_outputs=len(images))
            tf.summary.text("test_predictions",
                            " | ".join(class_names[i] for i in predicted), step=epoch)

    return [TestImageSummary()]


def evaluate(run, data, model, trainer):
    return {f"test_{k}": v for k, v in trainer.evaluate(data.validation).items()}


def build_server(config, data, model):
    from kerasnotes.serving.classifier import ImageClassifierServer

    server = ImageClassifierServer(model, data.class_names)
    return server, server.signatures()


APP = App(task="classify", config_class=ClassifyConfig, doc=__doc__, add_flags=add_flags,
          finish_config=finish_config,
          run_name=lambda config: run_name_with_data(config.model, config.data),
          build_data=build_data, build_model=build_model, loss_and_metrics=loss_and_metrics,
          callbacks=callbacks, evaluate=evaluate, build_server=build_server)

main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
