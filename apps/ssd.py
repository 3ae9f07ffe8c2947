"""Object detection with TinySSD (the notes' SSD): train, evaluate (mAP@0.5), export, predict.

    python -m apps.ssd                           # synthetic shapes, train + export + picture
    python -m apps.ssd --data banana:~/banana-detection --image-size 256
    python -m apps.ssd --data voc:~/VOCdevkit/VOC2012 --epochs 50
    python -m apps.ssd predict --image photo.jpg --out detections.png
    tensorboard --logdir runs/ssd

Data sources (--data):
  synthetic       4 classes of colored shapes (disk, triangle, square, ring) on textured
                  backgrounds, 0-3 objects per image, drawn by kerasnotes (no network; not
                  real data); generated once into CACHE_DIR/synthetic_detection-<N>-<M>-<S>/
                  (train/ and val/, each in the d2l banana layout), then reused
  banana:DIR      the d2l banana-detection layout: DIR/bananas_train and DIR/bananas_val,
                  each with label.csv (img_name,label,xmin,ymin,xmax,ymax) and images/
  voc:DIR         Pascal VOC (DIR holds Annotations/, JPEGImages/, ImageSets/Main/), splits
                  train (training) and val (validation)
Every image is decoded once when the data is opened: a truncated or corrupt file (or a VOC
<size> that is not the image's) stops the run with one line naming it. An image with more
than --max-objects objects (default 100) keeps its first ones, with one notice line.

Training: TinySSD; targets (anchor classes and offsets, the notes' assignment) are computed
in the tf.data pipeline; loss = softmax cross-entropy + masked L1 (with the SSD paper's
hard negative mining, --negative-ratio 3; 0 = d2l's plain loss); metrics: class error and
box MAE (d2l) and VOC mAP@0.5 on the validation split after every epoch. --precision auto
(default): mixed_bfloat16 on a CPU with bf16 units (1.5x faster at equal mAP), else float32.

Outputs: runs/ssd/tiny_ssd/ (config.json, TensorBoard events with losses, metrics, mAP and
validation images with predicted (red) and ground-truth (green) boxes, checkpoints;
rerunning the same command resumes), saved_models/ssd/<version>/ (SavedModel;
serving_default takes a batch of encoded JPEG/PNG strings `image_bytes`, detect_images a
uint8 batch `images` (N, H, W, 3); both return detection_boxes (normalized ymin, xmin, ymax,
xmax), detection_scores, detection_classes, detection_class_names, num_detections, padded
to --max-detections rows), and RUN_DIR/detections.png (validation images through the
export, labeled boxes with scores).

The predict subcommand (python -m apps.ssd predict --help) runs an export on one image.
"""

import argparse
import dataclasses
import functools
import os
import types

from apps import flags
from apps.run_folder import run_name_with_data
from apps.runner import App, parse_config

SYNTHETIC_MAX_OBJECTS = 3
# The most objects per image --max-objects allows: the anchor matching of the targets does
# one pass over (anchors x objects) per object, so its cost grows with the square of it.
MAX_OBJECTS = 1000


@dataclasses.dataclass
class SSDConfig(flags.CommonConfig):
    task: str = "ssd"
    # 128x128 trains ~4x faster than d2l's 256 (`--image-size 256`); validation mAP@0.5
    # after epochs 1-5: 0.54, 0.95, 0.996, 0.998, 0.999. bf16: benchmarks/RESULTS.md.
    image_size: int = 128
    precision: str = "auto"
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.002
    num_train: int = 1000
    num_val: int = 200
    cache_dir: str = "data_cache"
    augment: bool = True
    # Hard negative mining (SSD paper): 3 background anchors per positive; 0 (d2l's loss
    # over all anchors) predicts only background for many epochs.
    negative_ratio: float = 3.0
    max_detections: int = 100
    max_objects: int = 100
    score_threshold: float = 0.5
    log_every_n_steps: int = 10


# --optimizer -> arguments of kerasnotes.optimizers.by_name.make_training_optimizer.
OPTIMIZERS = {"sgd": {"weight_decay": 5e-4}, "adam": {}}


def add_flags(parser, defaults):
    group = parser.add_argument_group("detection flags")
    add = group.add_argument
    add("--image-size", type=flags.positive_int, default=defaults.image_size,
        help="side of the square model input, >= 64 (default %(default)s; d2l uses 256)")
    add("--optimizer", choices=tuple(OPTIMIZERS), default=defaults.optimizer,
        help="Adam, or d2l's SGD with weight decay 5e-4 (d2l: --optimizer sgd --lr 0.2) "
             "(default %(default)s)")
    add("--num-train", type=flags.positive_int, default=defaults.num_train,
        help="synthetic data: training images (default %(default)s)")
    add("--num-val", type=flags.positive_int, default=defaults.num_val,
        help="synthetic data: validation images (default %(default)s)")
    add("--cache-dir", default=defaults.cache_dir,
        help="where the synthetic dataset is generated once and reused (default %(default)s, "
             "relative to the current folder)")
    add("--augment", action=argparse.BooleanOptionalAction, default=defaults.augment,
        help="random horizontal flip and color jitter (default: on)")
    add("--negative-ratio", type=flags.non_negative_float, default=defaults.negative_ratio,
        help="hard negatives per positive anchor in the class loss (SSD paper); 0 = d2l's "
             "loss over all anchors (default %(default)s)")
    add("--max-objects", type=flags.int_at_most(MAX_OBJECTS), default=defaults.max_objects,
        help="objects per image used for training and mAP, at most "
             f"{MAX_OBJECTS}: an image with more keeps the first ones of its annotation, "
             "with a notice (the targets' cost grows with the square of this) "
             "(default %(default)s)")
    add("--max-detections", type=flags.positive_int, default=defaults.max_detections,
        help="rows per image in the export's outputs, at most the model's anchor count "
             "(1364 at --image-size 128, 5444 at 256) (default %(default)s)")
    add("--score-threshold", type=flags.unit_float, default=defaults.score_threshold,
        help="smallest score drawn in pictures (default %(default)s)")


def num_anchors(image_size):
    """TinySSD's anchor count at this input size, without TensorFlow: 4 anchors per cell of
    its five feature maps, `size // 8`, `// 16`, `// 32`, `// 64` and 1 cells square (as
    `kerasnotes.models.tiny_ssd.tiny_ssd_anchors`)."""
    sides = (image_size // 8, image_size // 16, image_size // 32, image_size // 64, 1)
    return 4 * sum(side * side for side in sides)


def check_memory(config):
    """Refuses (`ValueError`) an --image-size and --batch-size whose one training batch
    cannot fit in memory, before any image is generated or read: float32 inputs and the
    first TinySSD block's activations at full resolution (two 16-channel convolutions, each
    with batch normalization and ReLU, at least 2 bytes a value). The batch is
    min(--batch-size, --num-train) for the synthetic data, one image otherwise (the size of
    a dataset is not known yet). A lower bound: a setting that passes may still need more."""
    size = config.image_size
    batch = min(config.batch_size, config.num_train) if config.data == "synthetic" else 1
    needed = batch * size * size * (3 * 4 + 6 * 16 * 2)
    flags.check_memory(f"--image-size {size} --batch-size {config.batch_size}", needed,
                       "lower --image-size or --batch-size")


def finish_config(config, parser):
    if config.image_size < 64:
        parser.error(f"argument --image-size: must be >= 64, got {config.image_size}")
    anchors = num_anchors(config.image_size)
    if config.max_detections > anchors:
        raise ValueError(f"--max-detections must be at most {anchors}, the number of anchors "
                         f"of TinySSD at --image-size {config.image_size} (each detection is "
                         f"one anchor's box); received {config.max_detections}")
    if config.max_objects > anchors:
        raise ValueError(f"--max-objects must be at most {anchors}, the number of anchors of "
                         f"TinySSD at --image-size {config.image_size} (each object is matched "
                         f"to its own anchor); received {config.max_objects}")
    check_memory(config)


def parse_args(argv=None):
    return parse_config(APP, argv)


def build_data(config):
    """`train(epoch)` and `validation` batches of `(images, ssd_targets)`, and `val_labels`
    batches of `(images, labels)` for mAP and pictures."""
    import tensorflow as tf

    from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
    from kerasnotes.data.detection.detection_sources import read_detection_source
    from kerasnotes.models.tiny_ssd import tiny_ssd_anchors
    from kerasnotes.ops.ssd_targets import ssd_targets

    source = read_detection_source(config.data, config.cache_dir, config.num_train,
                                   config.num_val, config.image_size, SYNTHETIC_MAX_OBJECTS)
    if config.data == "synthetic":
        print(f"Synthetic shapes dataset: {os.path.abspath(source.root)} (generated once, "
              "reused)")
    limit_objects(source, config.max_objects)
    size = config.image_size
    print(f"Data: {source.describe()}, resized to {size}x{size}")
    train_set, val_set = source.datasets()  # decodes every image once: a bad file is named
    anchors = tf.constant(tiny_ssd_anchors(size))  # == TinySSD(...).anchors

    def with_targets(dataset):
        return dataset.map(lambda images, labels: (images, ssd_targets(anchors, labels,
                                                                     jit_compile=True)),
                           num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def train(epoch):
        return with_targets(make_detection_dataset(
            train_set, config.batch_size, shuffle_seed=config.seed, epoch=epoch,
            augment=config.augment, image_size=size))

    val_labels = make_detection_dataset(val_set, config.batch_size, image_size=size)
    return types.SimpleNamespace(name=source.name, class_names=source.class_names, train=train,
                                 validation=with_targets(val_labels), val_labels=val_labels)


def limit_objects(source, max_objects):
    """Keeps at most `max_objects` objects per image of both splits of `source`, with one
    notice line naming how many images were cut, the first of them and the cap."""
    from kerasnotes.data.detection.detection_records import limit_objects as limit

    source.train, cut = limit(source.train, max_objects)
    source.val, cut_val = limit(source.val, max_objects)
    cut += cut_val
    if cut:
        most = max(record.num_objects for record in cut)
        print(f"notice: {len(cut)} images have more than --max-objects {max_objects} objects "
              f"(up to {most}; the first: {cut[0].annotation or cut[0].image_path}, "
              f"{cut[0].num_objects}); only the first {max_objects} of each are used")


def build_model(config, data):
    from kerasnotes.models.tiny_ssd import TinySSD
    from kerasnotes.optimizers.by_name import make_training_optimizer

    model = TinySSD(num_classes=len(data.class_names), input_size=config.image_size)
    return model, make_training_optimizer(config.optimizer, config.lr,
                                          **OPTIMIZERS[config.optimizer])


def loss_and_metrics(config, data, model):
    from kerasnotes.losses.ssd_loss import SSDLoss
    from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE

    loss = SSDLoss(negative_ratio=config.negative_ratio or None)
    return loss, [AnchorClassError(), BoxOffsetMAE()]


@functools.cache  # one traced function per model for the epochs and the final report
def make_detector(model, max_detections):
    """`model.detect` (the export's detection path too) as a `tf.function`."""
    import tensorflow as tf

    return tf.function(lambda pixels: model.detect(pixels, max_detections),
                       reduce_retracing=True)


def callbacks(run, data, model):
    """Validation mAP@0.5 (`val_mAP@0.5`) and 4 validation images with boxes, every epoch."""
    from kerasnotes.metrics.mean_average_precision import MeanAveragePrecisionCallback
    from kerasnotes.serving.drawing import DetectionImagesSummary

    config = run.config
    detect = make_detector(model, config.max_detections)
    images, labels = (t[:4] for t in next(iter(data.val_labels.take(1))))
    return [MeanAveragePrecisionCallback(detect, data.val_labels, len(data.class_names),
                                         verbose=config.verbose),
            DetectionImagesSummary(detect, images, labels, config.score_threshold)]


def evaluate(run, data, model, trainer):
    from kerasnotes.metrics.mean_average_precision import detector_map

    metrics = {f"val_{k}": v for k, v in trainer.evaluate(data.validation).items()}
    detect = make_detector(model, run.config.max_detections)
    metrics["val_mAP@0.5"] = detector_map(detect, data.val_labels, len(data.class_names))
    return metrics


def build_server(config, data, model):
    from kerasnotes.serving.detection import DetectionServer

    server = DetectionServer(model, data.class_names, max_detections=config.max_detections)
    return server, server.signatures()


def after_export(run, data, export_path):
    from kerasnotes.serving.drawing import write_detection_picture

    picture = os.path.join(run.run_dir, "detections.png")
    images, _ = next(iter(data.val_labels.take(1)))
    write_detection_picture(export_path, images[:4], picture, run.config.score_threshold)
    print(f"Detections on validation images (through the export): {picture}")


def add_predict_flags(parser):
    parser.description = ("Run an exported SSD (serving_default: encoded image bytes) on one "
                          "image and draw its labeled boxes with scores.")
    parser.add_argument("--image", required=True, help="JPEG/PNG/GIF/BMP image file")
    parser.add_argument("--out", required=True, help="output picture (PNG)")
    parser.add_argument("--score-threshold", type=flags.unit_float, default=0.5,
                        help="smallest score drawn (default %(default)s)")


def predict(args, export_path):
    """Detections of the export on `--image`, drawn on `--out` and listed."""
    with open(args.image, "rb") as file:
        contents = file.read()
    import tensorflow as tf

    from kerasnotes.ops.image_decoding import read_image_file
    from kerasnotes.serving.client import serve_one
    from kerasnotes.serving.detection import detection_lines
    from kerasnotes.serving.drawing import draw_detections
    from kerasnotes.serving.image_inputs import export_max_pixels

    # The export refuses an image over its pixel budget before decoding it (and turns a
    # JPEG upright by its EXIF orientation); the picture is decoded the same way.
    outputs = serve_one(export_path, args.image, image_bytes=tf.constant([contents]))
    image = read_image_file(args.image, export_max_pixels(export_path)).numpy()
    draw_detections(image, outputs, args.score_threshold).save(args.out)
    lines = detection_lines(outputs, args.score_threshold)
    print(f"{export_path}: {len(lines)} detections with score >= {args.score_threshold} "
          f"(of {int(outputs['num_detections'])}) drawn on {args.out}")
    for line in lines:
        print(f"  {line}")
    return outputs


APP = App(task="ssd", config_class=SSDConfig, doc=__doc__, add_flags=add_flags,
          finish_config=finish_config,
          run_name=lambda config: run_name_with_data("tiny_ssd", config.data),
          build_data=build_data, build_model=build_model, loss_and_metrics=loss_and_metrics,
          callbacks=callbacks, evaluate=evaluate, build_server=build_server,
          after_export=after_export, add_predict_flags=add_predict_flags, predict=predict)

main = APP.main
cli = APP.cli

if __name__ == "__main__":
    APP.cli()
