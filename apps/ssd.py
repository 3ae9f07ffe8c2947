"""Object detection with TinySSD (the notes' SSD): train, evaluate (mAP@0.5), export, predict.

    python -m apps.ssd                           # synthetic shapes, train + export + picture
    python -m apps.ssd --data banana:~/banana-detection --image-size 256
    python -m apps.ssd --data voc:~/VOCdevkit/VOC2012 --epochs 50
    python -m apps.ssd predict --image photo.jpg --out detections.png
    tensorboard --logdir runs/ssd

Data sources (--data; every image is decoded first: a corrupt one stops the run, named):
  synthetic       4 classes of colored shapes (disk, triangle, square, ring), 0-3 per image,
                  on textured backgrounds, drawn by kerasnotes (not real data); generated
                  once into CACHE_DIR/synthetic_detection-<N>-<M>-<S>/ in the banana layout
  banana:DIR      the d2l banana-detection layout: DIR/bananas_train and DIR/bananas_val,
                  each with label.csv (img_name,label,xmin,ymin,xmax,ymax) and images/
  voc:DIR         Pascal VOC (Annotations/, JPEGImages/, ImageSets/Main/): train and val

Training: TinySSD, targets computed in the tf.data pipeline, loss cross-entropy (with hard
negative mining) + masked L1; metrics class error, box MAE and validation VOC mAP@0.5.

Outputs: runs/ssd/tiny_ssd/ (config.json, TensorBoard events: metrics, validation images
with predicted (red) and true (green) boxes; checkpoints: rerunning resumes), RUN_DIR/
detections.png and saved_models/ssd/<version>/ (SavedModel: serving_default takes encoded
images `image_bytes`, detect_images uint8 `images`; both return --max-detections rows of
detection_boxes (normalized yxyx), _scores, _classes, _class_names, and num_detections).
"""

import argparse
import dataclasses
import os

from apps import flags, memory_check
from apps.run_folder import run_name_with_data
from apps.runner import Run, predict_cli, run_cli


@dataclasses.dataclass
class SSDConfig(flags.RunConfig):
    task: str = "ssd"
    data: str = "synthetic"
    cache_dir: str = "data_cache"
    num_train: int = 1000  # synthetic data only
    num_val: int = 200
    max_objects: int = 100
    # 128 trains ~4x faster than d2l's 256: val mAP@0.5 after epochs 1-5 0.54, 0.95, 0.996,
    # 0.998, 0.999. --precision auto: bf16 on a CPU with bf16 units (1.5x faster).
    image_size: int = 128
    augment: bool = True
    optimizer: str = "adam"
    # Hard negative mining: 3 background anchors per positive; 0 (d2l's loss over all
    # anchors) predicts only background for many epochs.
    negative_ratio: float = 3.0
    max_detections: int = 100
    score_threshold: float = 0.5
    log_every_n_steps: int = 10
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.002
    precision: str = "auto"
    export_dir: str = None


# --optimizer -> arguments of apps.optimizer_registry.make_training_optimizer.
OPTIMIZERS = {"sgd": {"weight_decay": 5e-4}, "adam": {}}
# The most --max-objects: the targets' anchor matching costs the square of it.
MAX_OBJECTS = 1000


def run_name(config):
    return run_name_with_data("tiny_ssd", config.data)


def parse_args(argv=None):
    defaults = SSDConfig()
    parser = flags.make_parser(defaults, __doc__, default_logdir=f"runs/ssd/{run_name(defaults)}")
    add = parser.add_argument_group("detection flags").add_argument
    add("--image-size", type=flags.positive_int,
        help="side of the square model input, >= 64 (default %(default)s; d2l uses 256)")
    add("--optimizer", choices=tuple(OPTIMIZERS),
        help="Adam, or d2l's SGD with weight decay 5e-4 (d2l: --optimizer sgd --lr 0.2)")
    add("--num-train", type=flags.positive_int,
        help="synthetic data: training images (default %(default)s)")
    add("--num-val", type=flags.positive_int,
        help="synthetic data: validation images (default %(default)s)")
    add("--cache-dir",
        help="where the synthetic dataset is generated once and reused (default %(default)s)")
    add("--augment", action=argparse.BooleanOptionalAction,
        help="random horizontal flip and color jitter (default: on)")
    add("--negative-ratio", type=flags.non_negative_float,
        help="hard negatives per positive anchor in the class loss (SSD paper); 0 = d2l's "
             "loss over all anchors (default %(default)s)")
    add("--max-objects", type=flags.int_at_most(MAX_OBJECTS),
        help=f"objects per image used, at most {MAX_OBJECTS} (the targets' cost grows with its "
             "square); an image with more keeps its first ones (default %(default)s)")
    add("--max-detections", type=flags.positive_int,
        help="rows per image in the export's outputs, at most the model's anchor count "
             "(1364 at --image-size 128, 5444 at 256) (default %(default)s)")
    add("--score-threshold", type=flags.unit_float,
        help="smallest score drawn in pictures (default %(default)s)")
    config = flags.to_config(SSDConfig, parser.parse_args(argv))
    if config.image_size < 64:
        parser.error(f"argument --image-size: must be >= 64, got {config.image_size}")
    anchors = num_anchors(config.image_size)
    limits = {"--max-detections": (config.max_detections, "each detection is one anchor's box"),
              "--max-objects": (config.max_objects, "each object is matched to its own anchor")}
    for flag, (value, why) in limits.items():
        if value > anchors:
            raise ValueError(f"{flag} must be at most {anchors}, the number of anchors of "
                             f"TinySSD at --image-size {config.image_size} ({why}); received "
                             f"{value}")
    check_memory(config)
    return config


def num_anchors(image_size):
    """TinySSD's anchor count (`len(tiny_ssd_anchors(image_size))`) without TensorFlow: 4 per
    cell of its feature maps, `size // 8`, `// 16`, `// 32`, `// 64` and 1 cells square."""
    return 4 * sum((image_size // 2**k) ** 2 for k in (3, 4, 5, 6)) + 4


def check_memory(config):
    """Refuses (`ValueError`) an --image-size and --batch-size whose training batch cannot fit
    in memory: float32 inputs and the first block's activations (2 convolutions of 16
    channels, batch norm, ReLU; 2+ bytes a value) of min(--batch-size, --num-train)
    synthetic images, else one (the dataset's size is not known yet). A lower bound."""
    size, batch = config.image_size, config.batch_size
    images = min(batch, config.num_train) if config.data == "synthetic" else 1
    memory_check.check_memory(f"--image-size {size} --batch-size {batch}",
                       images * size * size * (3 * 4 + 6 * 16 * 2),
                       "lower --image-size or --batch-size")


def limit_objects(source, max_objects):
    """`source` with at most `max_objects` objects per image, and one notice line naming how
    many images had more, the first of them and the cap."""
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
    import tensorflow as tf

    from apps.optimizer_registry import make_training_optimizer
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
        size = config.image_size
        source = read_detection_source(config.data, config.cache_dir, config.num_train,
                                       config.num_val, size)  # synthetic: 0-3 objects
        if config.data == "synthetic":
            print(f"Synthetic shapes dataset: {os.path.abspath(source.root)} (generated once, "
                  "reused)")
        source = limit_objects(source, config.max_objects)
        print(f"Data: {source.describe()}, resized to {size}x{size}")
        data = make_ssd_data(source, tiny_ssd_anchors(size), size, config.batch_size,
                             seed=config.seed, augment=config.augment)  # decodes every image
        images, labels = (t[:4] for t in next(iter(data.val_labels.take(1))))
        with run.strategy.scope():
            model = TinySSD(num_classes=len(data.class_names), input_size=size)
            optimizer = make_training_optimizer(config.optimizer, config.lr,
                                                **OPTIMIZERS[config.optimizer])
        # The export's detection path, for the mAP and the pictures.
        detect = tf.function(lambda pixels: model.detect(pixels, config.max_detections),
                             reduce_retracing=True)
        num_classes = len(data.class_names)
        trainer = run.trainer(
            model, SSDLoss(negative_ratio=config.negative_ratio or None), optimizer,
            [AnchorClassError(), BoxOffsetMAE()],
            callbacks=[MeanAveragePrecisionCallback(detect, data.val_labels, num_classes,
                                                    verbose=config.verbose),
                       DetectionImagesSummary(detect, images, labels, config.score_threshold)])
        trainer.fit(data.train, epochs=config.epochs, validation_data=data.validation)

        results = {f"val_{k}": v for k, v in trainer.evaluate(data.validation).items()}
        results["val_mAP@0.5"] = detector_map(detect, data.val_labels, num_classes)
        export_path = run.export(DetectionServer(float32_copy(model), data.class_names,
                                                 max_detections=config.max_detections))
        picture = os.path.join(run.run_dir, "detections.png")
        write_detection_picture(export_path, images, picture, config.score_threshold)
        print(f"Detections on validation images (through the export): {picture}")
        run.report(results, export_path, data.name)
    return results, export_path


def add_predict_flags(parser):
    parser.description = "Run an exported SSD on one image; draw its labeled boxes with scores."
    parser.add_argument("--image", required=True, help="JPEG/PNG/GIF/BMP image file")
    parser.add_argument("--out", required=True, help="output picture (PNG)")
    parser.add_argument("--score-threshold", type=flags.unit_float, default=0.5,
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


def cli(argv=None):
    run_cli("ssd", main, parse_args, argv,
            predict=lambda argv: predict_cli("ssd", add_predict_flags, predict, argv))


if __name__ == "__main__":
    cli()
