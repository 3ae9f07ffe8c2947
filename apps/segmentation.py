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
Every image and label is decoded when the data is opened: a truncated or corrupt file stops
the run with one line naming it. Images are never resized (the notes insist): training and
validation take random crops of --crop-size of the image and its label together; images
smaller than the crop are left out.

Outputs: runs/segmentation/fcn/ (config.json, TensorBoard events with loss, pixel
accuracy, mean IoU and input | ground truth | prediction images, checkpoints; rerunning
resumes) and saved_models/segmentation/<version>/ (SavedModel whose serving_default takes
uint8 images [N, H, W, 3] of any size and returns `labels` [N, H, W] and `colored`
[N, H, W, 3] in the VOC colormap; `predict` writes the colored map of an image file).
"""

import dataclasses

from apps import flags, memory_check
from apps.run_folder import run_name_with_data
from apps.runner import Run, predict_cli, run_cli


@dataclasses.dataclass
class SegmentationConfig(flags.RunConfig):
    task: str = "segmentation"
    data: str = "synthetic"  # or voc, which --voc-dir sets
    voc_dir: str = None
    cache_dir: str = "data_cache"
    num_train: int = None
    num_val: int = None
    crop_size: list = dataclasses.field(default_factory=lambda: [96, 96])
    width_divisor: int = 4
    backbone_groups: int = 3
    optimizer: str = "adam"
    log_every_n_steps: int = 10
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.003
    precision: str = "float32"
    export_dir: str = None


OPTIMIZERS = ("adam", "sgd", "momentum")


def run_name(config):
    return run_name_with_data("fcn", config.voc_dir)


def parse_args(argv=None):
    defaults = SegmentationConfig()
    parser = flags.make_parser(defaults, __doc__,
                               default_logdir=f"runs/segmentation/{run_name(defaults)}")
    add = parser.add_argument_group("segmentation flags").add_argument
    add("--voc-dir", default=None,
        help="train on Pascal VOC 2012 in this folder, not the synthetic shapes (--data voc)")
    add("--crop-size", type=flags.positive_int, nargs=2, default=list(defaults.crop_size),
        metavar=("HEIGHT", "WIDTH"),
        help="random crop of image and label, multiples of the model stride (default "
             "%(default)s; d2l uses 320 480 on VOC)")
    add("--width-divisor", type=flags.positive_int,
        help="divide every ResNet-18 channel count (default %(default)s; 1: full ResNet-18)")
    add("--backbone-groups", type=int, choices=[1, 2, 3, 4],
        help="residual groups of ResNet-18 kept: stride 4, 8, 16 or 32 (default %(default)s, "
             "the notes' FCN)")
    add("--optimizer", choices=OPTIMIZERS,
        help="Adam, minibatch SGD, or SGD with momentum 0.9, with the learning rate decayed "
             "to 0 by a cosine (default %(default)s)")
    add("--num-train", type=flags.positive_int, default=None,
        help="use only the first N training images (quick runs)")
    add("--num-val", type=flags.positive_int, default=None,
        help="use only the first N validation images (quick runs)")
    add("--cache-dir", help="where the synthetic dataset is written (default %(default)s)")
    config = flags.to_config(SegmentationConfig, parser.parse_args(argv))
    if config.voc_dir:
        config.data = "voc"
    if config.data not in ("synthetic", "voc"):
        parser.error(f"--data must be synthetic or voc (give --voc-dir); received {config.data!r}")
    if config.data == "voc" and not config.voc_dir:
        parser.error("--data voc needs --voc-dir DIR")
    config.crop_size = list(config.crop_size)
    check_memory(config)
    return config


def check_memory(config):
    """Refuses (`ValueError`) a --crop-size and --batch-size whose training batch cannot fit
    in memory: per pixel of min(--batch-size, --num-train) crops, the float32 image (12
    bytes), full-size float32 logits and gradient (2+ classes: 16 bytes) and the stride-2
    stem's activations (64 / --width-divisor channels, conv, batch norm, ReLU). A lower bound."""
    height, width = config.crop_size
    batch = min(config.batch_size, config.num_train or config.batch_size)
    stem = max(64 // config.width_divisor, 1) * 3 * 4 / 4
    memory_check.check_memory(f"--crop-size {height} {width} --batch-size {config.batch_size}",
                       batch * height * width * (12 + 16 + stem),
                       "lower --crop-size or --batch-size")


def make_optimizer(config, steps_per_epoch):
    """--optimizer, its learning rate decayed to 0 by a cosine (steadier last epochs)."""
    import keras

    learning_rate = keras.optimizers.schedules.CosineDecay(
        config.lr, decay_steps=max(1, config.epochs * steps_per_epoch))
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate)
    momentum = 0.9 if config.optimizer == "momentum" else 0.0
    return keras.optimizers.SGD(learning_rate, momentum=momentum)


def main(config):
    """Trains, evaluates and exports as `config` says; returns `(metrics, export_path)`."""
    from kerasnotes.data.segmentation.segmentation_data import load_segmentation_data
    from kerasnotes.losses.pixel_cross_entropy import PixelSoftmaxCrossEntropy
    from kerasnotes.metrics.segmentation_metrics import MeanIoU, PixelAccuracy
    from kerasnotes.models.fcn import FCN
    from kerasnotes.serving.segmentation import SegmentationServer
    from kerasnotes.training.callbacks.segmentation_predictions import (
        SegmentationPredictionsSummary,
    )
    from kerasnotes.training.precision import float32_copy

    with Run(config, run_name(config)) as run:
        crop_h, crop_w = config.crop_size
        data = load_segmentation_data(config.voc_dir, (crop_h, crop_w), config.batch_size,
                                      seed=config.seed, num_train=config.num_train,
                                      num_val=config.num_val, cache_dir=config.cache_dir)
        for split, (kept, read) in data.num_images.items():
            print(f"{split}: {kept} of {read} images at least {crop_h}x{crop_w} (smaller ones "
                  "are left out)")
        num_classes = len(data.class_names)
        print(f"Data: {data.name}; {num_classes} classes")
        with run.strategy.scope():
            model = FCN(num_classes=num_classes, input_channels=3,
                        width_divisor=config.width_divisor,
                        backbone_groups=config.backbone_groups)
            if crop_h % model.stride or crop_w % model.stride:
                raise ValueError(f"--crop-size {crop_h} {crop_w} must be multiples of the FCN "
                                 f"stride {model.stride} (--backbone-groups "
                                 f"{config.backbone_groups})")
            optimizer = make_optimizer(config, data.steps_per_epoch)
        images, labels = next(iter(data.validation.unbatch().batch(4)))
        trainer = run.trainer(model, PixelSoftmaxCrossEntropy(),
                              optimizer, [PixelAccuracy(num_classes), MeanIoU(num_classes)],
                              callbacks=[SegmentationPredictionsSummary(images, labels)])
        trainer.fit(data.train, epochs=config.epochs, validation_data=data.validation)

        results = {f"val_{k}": v for k, v in trainer.evaluate(data.validation).items()}
        server = SegmentationServer(float32_copy(model), data.class_names, stride=model.stride)
        export_path = run.export(server, {"serving_default": server.serve})
        run.report(results, export_path, data.name)
    return results, export_path


def add_predict_flags(parser):
    parser.description = "Segment one image with an export and write its colored label map."
    parser.add_argument("--image", required=True, help="input image file (JPEG, PNG, BMP, GIF)")
    parser.add_argument("--out", required=True, help="output PNG of the colored label map")


def predict(args, export_path):
    """`predict --image PATH --out OUT.png`: segments one image with an export."""
    import numpy as np

    from kerasnotes.serving.drawing import draw_file_segmentation

    outputs = draw_file_segmentation(export_path, args.image, args.out)
    labels, counts = np.unique(outputs["labels"], return_counts=True)
    shares = ", ".join(f"{int(k)}: {c / counts.sum():.1%}"
                       for k, c in zip(labels, counts, strict=True))
    height, width = outputs["labels"].shape
    print(f"Model: {export_path}")
    print(f"Wrote {args.out} ({height}x{width}); pixels per class {shares}")
    return outputs


def cli(argv=None):
    run_cli("segmentation", main, parse_args, argv,
            predict=lambda argv: predict_cli("segmentation", add_predict_flags, predict, argv))


if __name__ == "__main__":
    cli()
