"""Semantic segmentation with FCN: train, watch in TensorBoard, export, predict.

    python -m apps.segmentation                     # FCN on the embedded synthetic shapes
    python -m apps.segmentation --epochs 3 --num-train 64
    python -m apps.segmentation --voc-dir ~/VOCdevkit/VOC2012 --crop-size 320 480 \\
        --width-divisor 1 --batch-size 32
    python -m apps.segmentation predict --image photo.jpg --out photo_labels.png
    tensorboard --logdir runs/segmentation

Data sources:
  synthetic       (default) deterministic images of five shape classes (disk, square,
                  triangle, bar, diamond) on textured backgrounds with exact masks, generated
                  by kerasnotes and written once to data_cache/ in the Pascal VOC layout, so
                  the VOC reader serves both (not real data)
  --voc-dir DIR   Pascal VOC 2012: DIR holds JPEGImages/, SegmentationClass/ (palette PNGs)
                  and ImageSets/Segmentation/{train,val}.txt; 21 classes, boundary 255
                  ignored

Images are never resized (the notes insist): training and validation take random crops of
--crop-size of the image and its label together; images smaller than the crop are left out.

Outputs: runs/segmentation/fcn/ (config.json, TensorBoard events with loss, pixel
accuracy, mean IoU and input | ground truth | prediction images, checkpoints; rerunning
resumes) and saved_models/segmentation/<version>/ (SavedModel whose serving_default takes
uint8 images [N, H, W, 3] of any size and returns `labels` [N, H, W] and `colored`
[N, H, W, 3] in the VOC colormap).

The predict command runs an export on one image file and writes the colored label map:
    python -m apps.segmentation predict --image PATH --out OUT.png [--model PATH]
"""

import dataclasses
import os
import sys

from apps import common


@dataclasses.dataclass
class SegmentationConfig(common.CommonConfig):
    task: str = "segmentation"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.003
    optimizer: str = "adam"
    voc_dir: str = None
    crop_size: list = dataclasses.field(default_factory=lambda: [96, 96])
    width_divisor: int = 4
    backbone_groups: int = 3
    num_train: int = None
    num_val: int = None
    cache_dir: str = "data_cache"
    log_every_n_steps: int = 10


OPTIMIZERS = ("adam", "sgd", "momentum")
# The synthetic dataset's settings (written once under --cache-dir).
SYNTHETIC = {"num_train": 800, "num_val": 160, "min_size": (88, 88), "max_size": (160, 160),
             "seed": 0}


def parse_args(argv=None):
    defaults = SegmentationConfig()
    parser = common.make_parser(defaults, __doc__)
    group = parser.add_argument_group("segmentation flags")
    group.add_argument("--voc-dir", default=None,
                       help="train on Pascal VOC 2012 in this folder instead of the synthetic "
                            "shapes (sets --data voc)")
    group.add_argument("--crop-size", type=common.positive_int, nargs=2,
                       default=list(defaults.crop_size), metavar=("HEIGHT", "WIDTH"),
                       help="random crop of image and label, multiples of the model stride "
                            "(default %(default)s; d2l uses 320 480 on VOC)")
    group.add_argument("--width-divisor", type=common.positive_int,
                       default=defaults.width_divisor,
                       help="divide every ResNet-18 channel count (default %(default)s; 1 is "
                            "the full ResNet-18)")
    group.add_argument("--backbone-groups", type=int, choices=[1, 2, 3, 4],
                       default=defaults.backbone_groups,
                       help="residual groups of ResNet-18 kept: stride 4, 8, 16 or 32 "
                            "(default %(default)s, the notes' FCN)")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                       help="Adam, minibatch SGD, or SGD with momentum 0.9, with the learning "
                            "rate decayed to 0 by a cosine (default %(default)s)")
    group.add_argument("--num-train", type=common.positive_int, default=None,
                       help="use only the first N training images (quick runs)")
    group.add_argument("--num-val", type=common.positive_int, default=None,
                       help="use only the first N validation images (quick runs)")
    group.add_argument("--cache-dir", default=defaults.cache_dir,
                       help="where the synthetic dataset is written (default %(default)s)")
    args = parser.parse_args(argv)
    if args.voc_dir:
        args.data = "voc"
    if args.data not in ("synthetic", "voc"):
        parser.error(f"--data must be synthetic or voc (give --voc-dir); received {args.data!r}")
    if args.data == "voc" and not args.voc_dir:
        parser.error("--data voc needs --voc-dir DIR")
    args.crop_size = list(args.crop_size)
    return common.to_config(SegmentationConfig, args)


def parse_predict_args(argv):
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m apps.segmentation predict",
        description="Segment one image with an exported model and write the colored label map.")
    parser.add_argument("--image", required=True, help="input image file (JPEG, PNG, BMP, GIF)")
    parser.add_argument("--out", required=True, help="output PNG of the colored label map")
    parser.add_argument("--model", default="saved_models/segmentation",
                        help="a SavedModel folder, or an export base whose newest integer "
                             "version is used (default %(default)s)")
    return parser.parse_args(argv)


def build_dataset(config):
    """Reads the data; returns `(name, class_names, train_data(epoch), val_dataset, val_split)`."""
    from kerasnotes.data.segmentation.segmentation_pipeline import filter_by_size, make_segmentation_dataset
    from kerasnotes.data.segmentation.voc_colormap import VOC_CLASSES
    from kerasnotes.data.segmentation.voc_segmentation import SegmentationSplit, read_voc_segmentation

    if config.data == "voc":
        root, class_names = config.voc_dir, VOC_CLASSES
        name = f"Pascal VOC 2012 segmentation at {root}"
    else:
        from kerasnotes.data.segmentation.synthetic_segmentation import (
            DESCRIPTION,
            SYNTHETIC_CLASS_NAMES,
            synthetic_segmentation_dir,
        )

        # A quick run (--num-train/--num-val) writes only the images it reads; the first N
        # images are the same as those of the full set.
        settings = dict(SYNTHETIC, num_train=min(config.num_train or SYNTHETIC["num_train"],
                                                 SYNTHETIC["num_train"]),
                        num_val=min(config.num_val or SYNTHETIC["num_val"], SYNTHETIC["num_val"]))
        root = synthetic_segmentation_dir(config.cache_dir, **settings)
        class_names, name = SYNTHETIC_CLASS_NAMES, f"{DESCRIPTION} ({root})"
    train = read_voc_segmentation(root, "train", max_images=config.num_train)
    val = read_voc_segmentation(root, "val", max_images=config.num_val)
    crop_size = tuple(config.crop_size)
    train_images, train_labels = filter_by_size(train, crop_size)
    val_images, val_labels = filter_by_size(val, crop_size)
    for split_name, split, kept in (("train", train, train_images), ("val", val, val_images)):
        print(f"{split_name}: {len(kept)} of {len(split)} images at least "
              f"{config.crop_size[0]}x{config.crop_size[1]} (smaller ones are left out)")

    def train_data(epoch):
        return make_segmentation_dataset(train_images, train_labels, crop_size,
                                         config.batch_size, seed=config.seed, epoch=epoch)

    val_dataset = make_segmentation_dataset(val_images, val_labels, crop_size,
                                            config.batch_size, seed=config.seed + 1,
                                            shuffle=False)
    val_split = SegmentationSplit(val_images, val_labels, [])
    return name, class_names, train_data, val_dataset, val_split


def build_model(config, num_classes, steps_per_epoch):
    import keras

    from kerasnotes.models.fcn import FCN

    model = FCN(num_classes=num_classes, input_channels=3, width_divisor=config.width_divisor,
                backbone_groups=config.backbone_groups)
    crop_h, crop_w = config.crop_size
    if crop_h % model.stride or crop_w % model.stride:
        raise ValueError(f"--crop-size {crop_h} {crop_w} must be multiples of the FCN stride "
                         f"{model.stride} (--backbone-groups {config.backbone_groups})")
    # Cosine decay to 0 over the run steadies the last epochs' validation scores.
    learning_rate = keras.optimizers.schedules.CosineDecay(
        config.lr, decay_steps=max(1, config.epochs * steps_per_epoch))
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate)
    else:
        momentum = 0.9 if config.optimizer == "momentum" else 0.0
        optimizer = keras.optimizers.SGD(learning_rate, momentum=momentum)
    return model, optimizer


def image_summary(val_dataset, count=4):
    """A Trainer summary hook: input | ground truth | prediction, colored, for a few crops."""
    import tensorflow as tf

    from kerasnotes.data.segmentation.segmentation_pipeline import RGB_MEAN, RGB_STD
    from kerasnotes.data.segmentation.voc_colormap import label_to_colormap

    images, labels = next(iter(val_dataset.unbatch().batch(count)))

    def hook(model, epoch):
        predicted = tf.argmax(model(images, training=False), axis=-1)
        pixels = tf.clip_by_value(images * tf.constant(RGB_STD) + tf.constant(RGB_MEAN), 0, 1)
        truth = tf.cast(label_to_colormap(labels), tf.float32) / 255.0
        guess = tf.cast(label_to_colormap(predicted), tf.float32) / 255.0
        tf.summary.image("input_truth_prediction", tf.concat([pixels, truth, guess], axis=2),
                         step=epoch, max_outputs=count)

    return hook


def main(argv=None):
    config = parse_args(argv)
    import keras

    from kerasnotes.training.strategy import choose_strategy

    strategy = choose_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    run_dir = common.prepare_run_dir(config, "fcn")
    data_name, class_names, train_data, val_dataset, _ = build_dataset(config)
    print(f"Data: {data_name}; {len(class_names)} classes")

    from kerasnotes.losses.pixel_cross_entropy import PixelSoftmaxCrossEntropy
    from kerasnotes.metrics.segmentation_metrics import MeanIoU, PixelAccuracy
    from kerasnotes.serving.export import export_saved_model
    from kerasnotes.serving.segmentation import SegmentationServer
    from kerasnotes.training.trainer import Trainer

    num_classes = len(class_names)
    steps_per_epoch = int(train_data(0).cardinality())
    with strategy.scope():
        model, optimizer = build_model(config, num_classes, steps_per_epoch)
    trainer = Trainer(
        model,
        PixelSoftmaxCrossEntropy(),
        optimizer,
        metrics=[PixelAccuracy(num_classes), MeanIoU(num_classes)],
        strategy=strategy,
        run_dir=run_dir,
        log_every_n_steps=config.log_every_n_steps,
        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
        summary_hook=image_summary(val_dataset),
        verbose=config.verbose,
    )
    trainer.fit(train_data, epochs=config.epochs, validation_data=val_dataset)
    metrics = {f"val_{k}": v for k, v in trainer.evaluate(val_dataset).items()}

    server = SegmentationServer(model, class_names, stride=model.stride)
    export_path = export_saved_model(
        server, config.export_dir or f"saved_models/{config.task}",
        {"serving_default": server.serve}, strategy=strategy,
    )
    common.print_report(config, metrics, export_path, data_name)
    return metrics, export_path


def predict(argv):
    """`predict --image PATH --out OUT.png`: segments one image with an export."""
    args = parse_predict_args(argv)
    import numpy as np
    import tensorflow as tf

    from kerasnotes.serving.export import existing_versions

    model_dir = args.model
    if not os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        versions = existing_versions(model_dir)
        if not versions:
            raise OSError(f"no SavedModel at {model_dir} (train first: python -m "
                          "apps.segmentation, or pass --model)")
        model_dir = os.path.join(model_dir, str(versions[-1]))
    if not os.path.isfile(args.image):
        raise OSError(f"no image file at {args.image}")
    try:
        image = tf.io.decode_image(tf.io.read_file(args.image), channels=3,
                                   expand_animations=False)
    except tf.errors.InvalidArgumentError:
        raise ValueError(f"{args.image} is not a JPEG, PNG, BMP or GIF image") from None
    served = tf.saved_model.load(model_dir).signatures["serving_default"]
    outputs = served(images=image[None])
    colored = outputs["colored"][0]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tf.io.write_file(args.out, tf.io.encode_png(colored))
    labels, counts = np.unique(outputs["labels"][0].numpy(), return_counts=True)
    shares = ", ".join(f"{int(k)}: {c / counts.sum():.1%}"
                       for k, c in zip(labels, counts, strict=True))
    print(f"Model: {model_dir}")
    print(f"Wrote {args.out} ({image.shape[0]}x{image.shape[1]}); pixels per class {shares}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "predict":
        common.run(lambda: predict(sys.argv[2:]), "segmentation")
    else:
        common.run(main, "segmentation")
