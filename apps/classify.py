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

from apps import common


@dataclasses.dataclass
class ClassifyConfig(common.CommonConfig):
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
    resize: int = None
    width_divisor: int = 1
    augment: bool = False


def _softmax(num_classes, input_shape, width_divisor):
    from kerasnotes.models.softmax_regression import SoftmaxRegression

    return SoftmaxRegression(num_classes=num_classes, input_shape=input_shape)


def _mlp(num_classes, input_shape, width_divisor):
    from kerasnotes.models.mlp import MLP

    return MLP(num_classes=num_classes, input_shape=input_shape,
               hidden_units=(max(256 // width_divisor, 1),))


def _lenet(num_classes, input_shape, width_divisor):
    from kerasnotes.models.lenet import LeNet

    return LeNet(num_classes=num_classes, input_shape=input_shape)


def _cnn(module, class_name, **fixed):
    """A builder for the CNNs of kerasnotes.models that take a width divisor."""

    def build(num_classes, input_shape, width_divisor):
        import importlib

        model_class = getattr(importlib.import_module(f"kerasnotes.models.{module}"), class_name)
        return model_class(num_classes=num_classes, input_shape=input_shape,
                           width_divisor=width_divisor, **fixed)

    return build


# --model name -> (builder(num_classes, input_shape, width_divisor), default --resize).
# Default sizes as in d2l; None keeps the data's size. Adding a model is one line here.
MODELS = {
    "softmax": (_softmax, None),
    "mlp": (_mlp, None),
    "lenet": (_lenet, 28),
    "alexnet": (_cnn("alexnet", "AlexNet"), 224),
    "vgg11": (_cnn("vgg", "VGG"), 224),
    "nin": (_cnn("nin", "NiN"), 224),
    "googlenet": (_cnn("googlenet", "GoogLeNet"), 96),
    "resnet18": (_cnn("resnet", "ResNet18"), 96),
    "densenet": (_cnn("densenet", "DenseNet"), 96),
}

OPTIMIZERS = ("sgd", "momentum", "adam")


def parse_args(argv=None):
    defaults = ClassifyConfig()
    parser = common.make_parser(defaults, __doc__)
    group = parser.add_argument_group("classification flags")
    group.add_argument("--model", choices=sorted(MODELS), default=defaults.model,
                       help="architecture (default %(default)s)")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                       help="minibatch SGD, SGD with momentum 0.9, or Adam (default %(default)s; "
                            "d2l trains LeNet with --optimizer sgd --lr 0.9)")
    group.add_argument("--resize", type=common.positive_int, default=None,
                       help="resize images to RESIZE x RESIZE (default per model, as d2l: 224 "
                            "for alexnet/vgg11/nin, 96 for googlenet/resnet18/densenet, 28 for "
                            "lenet, the data's size for softmax/mlp)")
    group.add_argument("--width-divisor", type=common.positive_int, default=1,
                       help="divide the CNNs' channel counts and dense widths by this, for "
                            "quick CPU runs (default %(default)s)")
    group.add_argument("--augment", action=argparse.BooleanOptionalAction,
                       default=defaults.augment,
                       help="the notes' augmentation of training batches: left-right flips, "
                            "random resized crop (10-100%% of the area, aspect 0.5-2), "
                            "brightness and contrast (+ hue, saturation for RGB); seeded by "
                            "--seed (default: off)")
    group.add_argument("--num-train", type=common.positive_int, default=None,
                       help="use only the first N training examples (quick runs)")
    group.add_argument("--num-test", type=common.positive_int, default=None,
                       help="use only the first N test examples (quick runs)")
    config = common.to_config(ClassifyConfig, parser.parse_args(argv))
    if config.resize is None:
        config.resize = MODELS[config.model][1]
    return config


def build_dataset(config):
    """Loads the data; returns `(data, train_data(epoch), test_dataset)`."""
    import tensorflow as tf

    from kerasnotes.data.images.classification_datasets import (
        load_classification_data,
        make_classification_dataset,
    )

    data = load_classification_data(config.data, data_dir=config.data_dir,
                                    num_train=config.num_train, num_test=config.num_test,
                                    seed=config.seed)

    def resized(dataset):
        if config.resize is None or data.image_shape[:2] == (config.resize, config.resize):
            return dataset
        size = (config.resize, config.resize)
        return dataset.map(lambda x, y: (tf.image.resize(x, size), y),
                           num_parallel_calls=tf.data.AUTOTUNE)

    def train_data(epoch):
        dataset = resized(make_classification_dataset(
            data.x_train, data.y_train, config.batch_size, shuffle_seed=config.seed, epoch=epoch))
        if config.augment:
            from kerasnotes.data.images.image_augmentation import augment_dataset

            dataset = augment_dataset(dataset, seed=config.seed, epoch=epoch)
        return dataset

    test_dataset = resized(
        make_classification_dataset(data.x_test, data.y_test, config.batch_size))
    return data, train_data, test_dataset


def build_model(config, num_classes, image_shape):
    import keras

    input_shape = image_shape
    if config.resize is not None:
        input_shape = (config.resize, config.resize, image_shape[-1])
    build, _ = MODELS[config.model]
    model = build(num_classes, input_shape, config.width_divisor)
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(config.lr)
    else:
        momentum = 0.9 if config.optimizer == "momentum" else 0.0
        optimizer = keras.optimizers.SGD(config.lr, momentum=momentum)
    return model, optimizer


def image_summary(test_images, class_names):
    """A Trainer summary hook: a few test images with the predicted class as text."""
    import tensorflow as tf

    images = test_images[:8]

    def hook(model, epoch):
        pixels = tf.cast(images, tf.float32) / 255.0
        model_input = tf.image.resize(pixels, model.input_shape[1:3])
        predicted = tf.argmax(model(model_input, training=False), axis=-1).numpy()
        tf.summary.image("test_images", pixels, step=epoch, max_outputs=len(images))
        tf.summary.text("test_predictions",
                        " | ".join(class_names[i] for i in predicted), step=epoch)

    return hook


def main(argv=None):
    config = parse_args(argv)
    import keras

    from kerasnotes.training.strategy import choose_strategy

    strategy = choose_strategy(config.strategy)  # first: multi-worker setup precedes other ops
    keras.utils.set_random_seed(config.seed)
    run_dir = common.prepare_run_dir(config, config.model)
    data, train_data, test_dataset = build_dataset(config)
    print(f"Data: {data.name}: {len(data.x_train)} training and {len(data.x_test)} test "
          f"images of shape {data.image_shape}, {data.num_classes} classes")

    from kerasnotes.serving.classifier import ImageClassifierServer
    from kerasnotes.serving.export import export_saved_model
    from kerasnotes.training.trainer import Trainer

    with strategy.scope():
        model, optimizer = build_model(config, data.num_classes, data.image_shape)
    trainer = Trainer(
        model,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        strategy=strategy,
        run_dir=run_dir,
        log_every_n_steps=config.log_every_n_steps,
        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
        summary_hook=image_summary(data.x_test, data.class_names),
        verbose=config.verbose,
    )
    trainer.fit(train_data, epochs=config.epochs, validation_data=test_dataset)
    metrics = {f"test_{k}": v for k, v in trainer.evaluate(test_dataset).items()}

    server = ImageClassifierServer(model, data.class_names)
    export_path = export_saved_model(
        server, config.export_dir or f"saved_models/{config.task}",
        {"serving_default": server.serve}, strategy=strategy,
    )
    common.print_report(config, metrics, export_path, data.name)
    return metrics, export_path


if __name__ == "__main__":
    common.run(main, "classify")
