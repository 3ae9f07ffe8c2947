"""Object detection with TinySSD (the notes' SSD): train, evaluate (mAP@0.5), export, predict.

    python -m apps.ssd                           # synthetic shapes, train + export + picture
    python -m apps.ssd --data voc:~/VOCdevkit/VOC2012 --epochs 50 --image-size 256
    python -m apps.ssd predict --image photo.jpg --out detections.png

Data sources (--data; every image is decoded first: a corrupt one stops the run, named):
  synthetic     4 classes of colored shapes, 0-3 per image (not real data), made once in CACHE_DIR
  banana:DIR    d2l's layout: DIR/bananas_train/ and bananas_val/ with images/ and label.csv
  voc:DIR       Pascal VOC (Annotations/, JPEGImages/, ImageSets/Main/): train and val

Outputs: TensorBoard images of true (green) and predicted (red) boxes, RUN_DIR/detections.png,
saved_models/ssd/<version>/ (serving_default: encoded `image_bytes`; detect_images: uint8 `images`).
"""

import dataclasses
import os

from apps import flags
from apps.flags import flag, positive_int, unit_float
from apps.runner import Run, run_cli
from kerasnotes.utils import memory_budget


@dataclasses.dataclass
class SSDConfig(flags.RunConfig):
    task: str = "ssd"
    data: str = "synthetic"
    # 128 trains ~4x faster than d2l's 256: val mAP@0.5 0.95 after 2 epochs, 0.999 after 5.
    image_size: int = flag(128, "input side", type=flags.int_at_least(64))
    optimizer: str = flag("adam", "sgd: d2l's, with weight decay 5e-4 (d2l: --lr 0.2)",
                          choices=("adam", "sgd"))
    num_train: int = flag(1000, "synthetic train images", type=positive_int)
    num_val: int = flag(200, "synthetic validation images", type=positive_int)
    cache_dir: str = flag("data_cache", "where synthetic data is made once")
    augment: bool = flag(True, "random horizontal flip and color jitter (default: on)")
    # Hard negative mining: d2l's loss over all anchors (0) predicts background for many epochs.
    negative_ratio: float = flag(3.0, "hard negatives per positive anchor (0: all anchors, as d2l)",
                                 type=flags.non_negative_float)
    max_objects: int = flag(100, "objects used per image, its first ones; the targets cost its "
                            "square", type=flags.int_at_least(1, 1000))
    max_detections: int = flag(100, "rows per image of the export's outputs, at most the anchor "
                               "count", type=positive_int)
    score_threshold: float = flag(0.5, "least score drawn", type=unit_float)
    log_every_n_steps: int = 10
    # 4 steps per tf.function call: an epoch 1.07x faster end to end at 128 than 1 step
    # (fewer Python round trips between steps; benchmarks/ssd_epoch_input.py).
    steps_per_execution: int = 4
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.002
    precision: str = "auto"  # bf16 on a CPU with bf16 units: 1.5x faster
    export_dir: str = None


def run_name(config):
    return flags.run_name_with_data("tiny_ssd", config.data)


def parse_args(argv=None):
    config = flags.parse(SSDConfig, __doc__, argv, run_name)
    anchors = num_anchors(config.image_size)
    limits = {"--max-detections": (config.max_detections, "each detection is one anchor's box"),
              "--max-objects": (config.max_objects, "each object is matched to its own anchor")}
    for name, (value, why) in limits.items():
        if value > anchors:
            raise ValueError(f"{name} must be at most {anchors}, the number of anchors of TinySSD "
                             f"at --image-size {config.image_size} ({why}); received {value}")
    # A lower bound: float32 inputs, the first block's 6 activations of 16 channels (2+ bytes).
    size, batch = config.image_size, config.batch_size
    images = min(batch, config.num_train) if config.data == "synthetic" else 1
    memory_budget.check_memory(f"--image-size {size} --batch-size {batch}",
                               images * size * size * (3 * 4 + 6 * 16 * 2),
                               "lower --image-size or --batch-size")
    return config


def num_anchors(image_size):
    """`len(tiny_ssd_anchors(image_size))` without TensorFlow: 4 per cell of its 5 feature maps."""
    return 4 * sum((image_size // 2**k) ** 2 for k in (3, 4, 5, 6)) + 4


def limit_objects(source, max_objects):
    """`source` with at most `max_objects` objects per image; a notice if some had more."""
    from kerasnotes.data.detection.ssd_data import limit_objects_per_image

    source, cut = limit_objects_per_image(source, max_objects)
    if cut:
        print(f"notice: {len(cut)} images have more than --max-objects {max_objects} objects (up "
              f"to {max(record.num_objects for record in cut)}; the first: "
              f"{cut[0].annotation or cut[0].image_path}, {cut[0].num_objects}); only the first "
              f"{max_objects} of each are used")
    return source


def main(config):
    """Trains, evaluates and exports as `config` says; returns `(metrics, export_path)`."""
    import keras
    import tensorflow as tf

    from kerasnotes.data.detection.detection_sources import read_detection_source
    from kerasnotes.data.detection.ssd_data import make_ssd_data
    from kerasnotes.losses.ssd_loss import SSDLoss
    from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE
    from kerasnotes.metrics.mean_average_precision import detector_map
    from kerasnotes.models.tiny_ssd import TinySSD, tiny_ssd_anchors
    from kerasnotes.serving.detection import DetectionServer
    from kerasnotes.serving.drawing import write_detection_picture
    from kerasnotes.training.callbacks.detection_images import DetectionImagesSummary
    from kerasnotes.training.callbacks.mean_average_precision import MeanAveragePrecisionCallback
    from kerasnotes.training.precision import float32_copy

    with Run(config, run_name(config)) as run:
        source = read_detection_source(config.data, config.cache_dir, config.num_train,
                                       config.num_val, config.image_size)  # synthetic: 0-3 objects
        source = limit_objects(source, config.max_objects)
        print(f"Data: {source.describe()}, resized to {config.image_size}x{config.image_size}")
        data = make_ssd_data(source, tiny_ssd_anchors(config.image_size), config.image_size,
                             config.batch_size, seed=config.seed, augment=config.augment)
        images, labels = (t[:4] for t in next(iter(data.val_labels.take(1))))
        with run.strategy.scope():
            model = TinySSD(num_classes=len(data.class_names), input_size=config.image_size)
            optimizer = (keras.optimizers.SGD(config.lr, weight_decay=5e-4)  # d2l's
                         if config.optimizer == "sgd" else keras.optimizers.Adam(config.lr))
        detect = tf.function(lambda pixels: model.detect(pixels, config.max_detections),
                             reduce_retracing=True)  # the export's detection, for mAP, pictures
        callbacks = [MeanAveragePrecisionCallback(detect, data.val_labels, model.num_classes,
                                                  verbose=config.verbose),
                     DetectionImagesSummary(detect, images, labels, config.score_threshold)]
        trainer = run.trainer(model, SSDLoss(negative_ratio=config.negative_ratio or None),
                              optimizer, [AnchorClassError(), BoxOffsetMAE()], callbacks=callbacks)
        trainer.fit(lambda first: data.train(first, num_epochs=config.epochs - first),
                    epochs=config.epochs, steps_per_epoch=data.steps_per_epoch,
                    validation_data=data.validation)  # one input iterator for the run

        results = {f"val_{k}": v for k, v in trainer.evaluate(data.validation).items()}
        results["val_mAP@0.5"] = detector_map(detect, data.val_labels, model.num_classes)
        export_path = run.export(DetectionServer(float32_copy(model), data.class_names,
                                                 max_detections=config.max_detections))
        picture = os.path.join(run.run_dir, "detections.png")
        write_detection_picture(export_path, images, picture, config.score_threshold)
        print(f"Detections on validation images (through the export): {picture}")
        run.report(results, export_path, data.name)
    return results, export_path


def add_predict_flags(parser):
    parser.description = "Run an exported SSD on one image; draw its labeled boxes with scores."
    parser.add_argument("--score-threshold", type=unit_float, default=0.5,
                        help="smallest score drawn (default %(default)s)")


def predict(args, export_path):
    """Detections of the export on `--image`, drawn on `--out` and listed."""
    from kerasnotes.serving.detection import detection_lines
    from kerasnotes.serving.drawing import draw_file_detections

    outputs = draw_file_detections(export_path, args.image, args.out, args.score_threshold)
    lines = detection_lines(outputs, args.score_threshold)
    print(f"{export_path}: {len(lines)} detections with score >= {args.score_threshold} "
          f"(of {int(outputs['num_detections'])}) drawn on {args.out}")
    for line in lines:
        print(f"  {line}")
    return outputs


if __name__ == "__main__":
    run_cli("ssd", main, parse_args, predict=(add_predict_flags, predict))
