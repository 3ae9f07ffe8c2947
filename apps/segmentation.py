"""Semantic segmentation with FCN: train, watch in TensorBoard, export, predict.

    python -m apps.segmentation                     # FCN on the embedded synthetic shapes
    python -m apps.segmentation --voc-dir ~/VOCdevkit/VOC2012 --crop-size 320 480 --width-divisor 1
    python -m apps.segmentation predict --image photo.jpg --out photo_labels.png

Data sources:
  synthetic       (default) five shape classes on textured backgrounds with exact masks,
                  written once to CACHE_DIR in the Pascal VOC layout (not real data)
  --voc-dir DIR   Pascal VOC 2012: DIR holds JPEGImages/, SegmentationClass/ (palette PNGs)
                  and ImageSets/Segmentation/{train,val}.txt; 21 classes, boundary 255 ignored
Every image and label is decoded first: a corrupt file stops the run, named. Images are never
resized (the notes insist): random crops of --crop-size; smaller images are left out.

Outputs: runs/segmentation/fcn/ (TensorBoard events with input | truth | prediction images,
checkpoints) and saved_models/segmentation/<version>/ (serving_default: uint8 images
[N, H, W, 3] of any size -> `labels` [N, H, W] and `colored` [N, H, W, 3], VOC colormap).
"""

import dataclasses

from apps import flags
from apps.flags import flag
from apps.runner import Run, run_cli
from kerasnotes.utils import memory_budget


@dataclasses.dataclass
class SegmentationConfig(flags.RunConfig):
    task: str = "segmentation"
    data: str = flag("synthetic", "data source (voc needs --voc-dir)",
                     choices=("synthetic", "voc"))
    voc_dir: str = flag(None, "train on Pascal VOC 2012 in this folder (sets --data voc)")
    cache_dir: str = flag("data_cache", "where the synthetic data is written")
    num_train: int = flag(None, "use only the first N training images (quick runs)",
                          type=flags.positive_int)
    num_val: int = flag(None, "use only the first N validation images (quick runs)",
                        type=flags.positive_int)
    crop_size: tuple = flag((96, 96), "random crop of image and label, multiples of the model "
                            "stride (d2l: 320 480 on VOC)", type=flags.positive_int, nargs=2,
                            metavar=("HEIGHT", "WIDTH"))
    width_divisor: int = flag(4, "divide every ResNet-18 channel count (1: full ResNet-18)",
                              type=flags.positive_int)
    backbone_groups: int = flag(3, "residual groups of ResNet-18 kept: stride 4, 8, 16 or 32 "
                                "(default %(default)s, the notes' FCN)", type=int,
                                choices=(1, 2, 3, 4))
    optimizer: str = flag("adam", "Adam, minibatch SGD, or SGD with momentum 0.9, the learning "
                          "rate decayed to 0 by a cosine", choices=("adam", "sgd", "momentum"))
    log_every_n_steps: int = 10
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.003
    precision: str = "float32"
    export_dir: str = None


def run_name(config):
    return flags.run_name_with_data("fcn", config.voc_dir)


def parse_args(argv=None):
    config = flags.parse(SegmentationConfig, __doc__, argv, run_name)
    config.data = "voc" if config.voc_dir else config.data
    if config.data == "voc" and not config.voc_dir:
        raise ValueError("--data voc needs --voc-dir DIR")
    config.crop_size = list(config.crop_size)  # as config.json records it
    # A training batch's lower bound, per pixel of min(--batch-size, --num-train) crops: the
    # float32 image (12 bytes), full-size float32 logits and gradient (2+ classes: 16 bytes),
    # the stride-2 stem's activations (64 / --width-divisor channels, conv, batch norm, ReLU).
    height, width = config.crop_size
    batch = min(config.batch_size, config.num_train or config.batch_size)
    stem = max(64 // config.width_divisor, 1) * 3 * 4 / 4
    memory_budget.check_memory(f"--crop-size {height} {width} --batch-size {config.batch_size}",
                               batch * height * width * (12 + 16 + stem),
                               "lower --crop-size or --batch-size")
    return config


def main(config):
    """Trains, evaluates and exports as `config` says; returns `(metrics, export_path)`."""
    import keras

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
                        width_divisor=config.width_divisor, backbone_groups=config.backbone_groups)
            if crop_h % model.stride or crop_w % model.stride:
                raise ValueError(f"--crop-size {crop_h} {crop_w} must be multiples of the FCN "
                                 f"stride {model.stride} (--backbone-groups "
                                 f"{config.backbone_groups})")
            # The learning rate decays to 0 by a cosine: steadier last epochs.
            learning_rate = keras.optimizers.schedules.CosineDecay(
                config.lr, decay_steps=max(1, config.epochs * data.steps_per_epoch))
            if config.optimizer == "adam":
                optimizer = keras.optimizers.Adam(learning_rate)
            else:
                momentum = 0.9 if config.optimizer == "momentum" else 0.0
                optimizer = keras.optimizers.SGD(learning_rate, momentum=momentum)
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
    parser.description = ("Segment one image with an export; --out gets its colored label "
                          "map.")


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


if __name__ == "__main__":
    run_cli("segmentation", main, parse_args, predict=(add_predict_flags, predict))
