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
the run with one line naming it.

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
import types

from apps import flags
from apps.run_folder import run_name_with_data
from apps.runner import App, parse_config


@dataclasses.dataclass
class SegmentationConfig(flags.CommonConfig):
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


def add_flags(parser, defaults):
    group = parser.add_argument_group("segmentation flags")
    add = group.add_argument
    add("--voc-dir", default=None,
        help="train on Pascal VOC 2012 in this folder instead of the synthetic shapes (sets "
             "--data voc)")
    add("--crop-size", type=flags.positive_int, nargs=2, default=list(defaults.crop_size),
        metavar=("HEIGHT", "WIDTH"),
        help="random crop of image and label, multiples of the model stride (default "
             "%(default)s; d2l uses 320 480 on VOC)")
    add("--width-divisor", type=flags.positive_int, default=defaults.width_divisor,
        help="divide every ResNet-18 channel count (default %(default)s; 1 is the full "
             "ResNet-18)")
    add("--backbone-groups", type=int, choices=[1, 2, 3, 4], default=defaults.backbone_groups,
        help="residual groups of ResNet-18 kept: stride 4, 8, 16 or 32 (default %(default)s, "
             "the notes' FCN)")
    add("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
        help="Adam, minibatch SGD, or SGD with momentum 0.9, with the learning rate decayed "
             "to 0 by a cosine (default %(default)s)")
    add("--num-train", type=flags.positive_int, default=None,
        help="use only the first N training images (quick runs)")
    add("--num-val", type=flags.positive_int, default=None,
        help="use only the first N validation images (quick runs)")
    add("--cache-dir", default=defaults.cache_dir,
        help="where the synthetic dataset is written (default %(default)s)")


def finish_config(config, parser):
    if config.voc_dir:
        config.data = "voc"
    if config.data not in ("synthetic", "voc"):
        parser.error(f"--data must be synthetic or voc (give --voc-dir); received {config.data!r}")
    if config.data == "voc" and not config.voc_dir:
        parser.error("--data voc needs --voc-dir DIR")
    config.crop_size = list(config.crop_size)
    check_memory(config)


def check_memory(config):
    """Refuses (`ValueError`) a --crop-size and --batch-size whose one training batch cannot
    fit in memory, before any data is read: per pixel of min(--batch-size, --num-train)
    crops, the float32 image (12 bytes), the full-resolution float32 logits and their
    gradient (at least 2 classes: 16 bytes), and the stride-2 stem's activations (64 /
    --width-divisor channels, convolution, batch normalization and ReLU, a quarter of the
    pixels). A lower bound: a setting that passes may still need more."""
    height, width = config.crop_size
    batch = min(config.batch_size, config.num_train or config.batch_size)
    stem = max(64 // config.width_divisor, 1) * 3 * 4 / 4
    needed = batch * height * width * (12 + 16 + stem)
    flags.check_memory(f"--crop-size {height} {width} --batch-size {config.batch_size}",
                       needed, "lower --crop-size or --batch-size")


def parse_args(argv=None):
    return parse_config(APP, argv)


def build_data(config):
    """`train(epoch)` and `validation` batches of `(standardized crops, label crops)`."""
    from kerasnotes.data.segmentation.segmentation_pipeline import (
        filter_by_size,
        make_segmentation_dataset,
    )
    from kerasnotes.data.segmentation.voc_colormap import VOC_CLASSES
    from kerasnotes.data.segmentation.voc_segmentation import read_voc_segmentation

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
    crop_size = tuple(config.crop_size)
    splits = {}
    for split, limit in (("train", config.num_train), ("val", config.num_val)):
        examples = read_voc_segmentation(root, split, max_images=limit)  # decodes every file
        splits[split] = filter_by_size(examples, crop_size)
        print(f"{split}: {len(splits[split][0])} of {len(examples)} images at least "
              f"{crop_size[0]}x{crop_size[1]} (smaller ones are left out)")
    print(f"Data: {name}; {len(class_names)} classes")

    def train(epoch):
        return make_segmentation_dataset(*splits["train"], crop_size, config.batch_size,
                                         seed=config.seed, epoch=epoch)

    validation = make_segmentation_dataset(*splits["val"], crop_size, config.batch_size,
                                           seed=config.seed + 1, shuffle=False)
    return types.SimpleNamespace(name=name, class_names=class_names, train=train,
                                 validation=validation,
                                 steps_per_epoch=int(train(0).cardinality()))


def build_model(config, data):
    import keras

    from kerasnotes.models.fcn import FCN

    model = FCN(num_classes=len(data.class_names), input_channels=3,
                width_divisor=config.width_divisor, backbone_groups=config.backbone_groups)
    crop_h, crop_w = config.crop_size
    if crop_h % model.stride or crop_w % model.stride:
        raise ValueError(f"--crop-size {crop_h} {crop_w} must be multiples of the FCN stride "
                         f"{model.stride} (--backbone-groups {config.backbone_groups})")
    # Cosine decay to 0 over the run steadies the last epochs' validation scores.
    learning_rate = keras.optimizers.schedules.CosineDecay(
        config.lr, decay_steps=max(1, config.epochs * data.steps_per_epoch))
    if config.optimizer == "adam":
        return model, keras.optimizers.Adam(learning_rate)
    momentum = 0.9 if config.optimizer == "momentum" else 0.0
    return model, keras.optimizers.SGD(learning_rate, momentum=momentum)


def loss_and_metrics(config, data, model):
    from kerasnotes.losses.pixel_cross_entropy import PixelSoftmaxCrossEntropy
    from kerasnotes.metrics.segmentation_metrics import MeanIoU, PixelAccuracy

    num_classes = len(data.class_names)
    return PixelSoftmaxCrossEntropy(), [PixelAccuracy(num_classes), MeanIoU(num_classes)]


def callbacks(run, data, model, count=4):
    import keras
    import tensorflow as tf

    from kerasnotes.serving.drawing import segmentation_panel

    images, labels = next(iter(data.validation.unbatch().batch(count)))

    class ValidationPredictions(keras.callbacks.Callback):
        """Input | ground truth | prediction of a few validation crops, every epoch."""

        def on_epoch_end(self, epoch, logs=None):
            predicted = tf.argmax(model(images, training=False), axis=-1)
            tf.summary.image("input_truth_prediction",
                             segmentation_panel(images, labels, predicted), step=epoch,
                             max_outputs=count)

    return [ValidationPredictions()]


def build_server(config, data, model):
    from kerasnotes.serving.segmentation import SegmentationServer

    server = SegmentationServer(model, data.class_names, stride=model.stride)
    return server, {"serving_default": server.serve}


def add_predict_flags(parser):
    parser.description = ("Segment one image with an exported model and write the colored "
                          "label map.")
    parser.add_argument("--image", required=True, help="input image file (JPEG, PNG, BMP, GIF)")
    parser.add_argument("--out", required=True, help="output PNG of the colored label map")


def predict(args, export_path):
    """`predict --image PATH --out OUT.png`: segments one image with an export."""
    import numpy as np
    import tensorflow as tf

    from kerasnotes.data.segmentation.voc_segmentation import read_image_file
    from kerasnotes.serving.client import serve_one
    from kerasnotes.serving.image_inputs import export_max_pixels

    if not os.path.isfile(args.image):
        raise OSError(f"no image file at {args.image}")
    # A ValueError naming a file that does not decode or declares more pixels than the
    # export's budget (refused before decoding); a JPEG is turned upright (EXIF orientation).
    image = read_image_file(args.image, export_max_pixels(export_path))
    outputs = serve_one(export_path, args.image, images=image[None])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tf.io.write_file(args.out, tf.io.encode_png(outputs["colored"]))
    labels, counts = np.unique(outputs["labels"], return_counts=True)
    shares = ", ".join(f"{int(k)}: {c / counts.sum():.1%}"
                       for k, c in zip(labels, counts, strict=True))
    print(f"Model: {export_path}")
    print(f"Wrote {args.out} ({image.shape[0]}x{image.shape[1]}); pixels per class {shares}")
    return outputs


APP = App(task="segmentation", config_class=SegmentationConfig, doc=__doc__,
          add_flags=add_flags, finish_config=finish_config,
          run_name=lambda config: run_name_with_data("fcn", config.voc_dir),
          build_data=build_data, build_model=build_model, loss_and_metrics=loss_and_metrics,
          callbacks=callbacks, build_server=build_server, add_predict_flags=add_predict_flags,
          predict=predict)


main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
