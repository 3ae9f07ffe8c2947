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
                  in the d2l banana layout, then reused
  banana:DIR      the d2l banana-detection layout: DIR/bananas_train and DIR/bananas_val,
                  each with label.csv (img_name,label,xmin,ymin,xmax,ymax) and images/
  voc:DIR         Pascal VOC (DIR holds Annotations/, JPEGImages/, ImageSets/Main/), splits
                  train (training) and val (validation)

Training: TinySSD; targets (anchor classes and offsets, the notes' assignment) are computed
in the tf.data pipeline; loss = softmax cross-entropy + masked L1 (with the SSD paper's
hard negative mining, --negative-ratio 3; 0 = d2l's plain loss); metrics: class error and
box MAE (d2l) and VOC mAP@0.5 on the validation split after every epoch.

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
import os

from apps import common

SYNTHETIC_MAX_OBJECTS = 3


@dataclasses.dataclass
class SSDConfig(common.CommonConfig):
    task: str = "ssd"
    # 128x128 inputs train ~4x faster than d2l's 256x256 and reach mAP@0.5 >= 0.8 on the
    # synthetic shapes within the 5-minute budget (validation mAP@0.5 after epochs 1-5:
    # 0.54, 0.95, 0.996, 0.998, 0.999); `--image-size 256` is d2l's setting.
    image_size: int = 128
    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.002
    num_train: int = 1000
    num_val: int = 200
    cache_dir: str = "data_cache"
    augment: bool = True
    # Hard negative mining (SSD paper): 3 background anchors per positive. 0 gives d2l's
    # loss over all anchors, with which TinySSD predicts only background for many epochs.
    negative_ratio: float = 3.0
    max_detections: int = 100
    score_threshold: float = 0.5
    log_every_n_steps: int = 10


OPTIMIZERS = ("sgd", "adam")


def parse_args(argv=None):
    defaults = SSDConfig()
    parser = common.make_parser(defaults, __doc__)
    group = parser.add_argument_group("detection flags")
    group.add_argument("--image-size", type=common.positive_int, default=defaults.image_size,
                       help="side of the square model input, >= 64 (default %(default)s; "
                            "d2l uses 256)")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                       help="Adam, or d2l's SGD with weight decay 5e-4 (d2l: --optimizer sgd "
                            "--lr 0.2) (default %(default)s)")
    group.add_argument("--num-train", type=common.positive_int, default=defaults.num_train,
                       help="synthetic data: training images (default %(default)s)")
    group.add_argument("--num-val", type=common.positive_int, default=defaults.num_val,
                       help="synthetic data: validation images (default %(default)s)")
    group.add_argument("--cache-dir", default=defaults.cache_dir,
                       help="where the synthetic dataset is generated once and reused "
                            "(default %(default)s, relative to the current folder)")
    group.add_argument("--augment", action=argparse.BooleanOptionalAction,
                       default=defaults.augment,
                       help="random horizontal flip and color jitter (default: on)")
    group.add_argument("--negative-ratio", type=_non_negative_float,
                       default=defaults.negative_ratio,
                       help="hard negatives per positive anchor in the class loss (SSD "
                            "paper); 0 = d2l's loss over all anchors (default %(default)s)")
    group.add_argument("--max-detections", type=common.positive_int,
                       default=defaults.max_detections,
                       help="rows per image in the export's outputs (default %(default)s)")
    group.add_argument("--score-threshold", type=_unit_float, default=defaults.score_threshold,
                       help="smallest score drawn in pictures (default %(default)s)")
    config = common.to_config(SSDConfig, parser.parse_args(argv))
    if config.image_size < 64:
        parser.error(f"argument --image-size: must be >= 64, got {config.image_size}")
    return config


def _non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _unit_float(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


@dataclasses.dataclass
class DetectionData:
    name: str
    class_names: tuple
    train: object  # tf.data.Dataset of (image uint8, labels (max_objects, 5))
    val: object
    num_train: int
    num_val: int
    max_objects: int


def load_data(config):
    """Reads the data source of `config.data` into `DetectionData`."""
    from kerasnotes.data.detection.banana_detection import (
        detection_dataset_from_records,
        read_banana_labels,
        read_class_names,
    )

    source, _, location = config.data.partition(":")
    if source == "synthetic" and not location:
        from kerasnotes.data.detection.synthetic_detection import ensure_synthetic_detection_dataset

        root = os.path.join(
            os.path.expanduser(config.cache_dir),
            f"synthetic_detection-{config.num_train}-{config.num_val}-{config.image_size}",
        )
        print(f"Synthetic shapes dataset: {os.path.abspath(root)} (generated once, reused)")
        ensure_synthetic_detection_dataset(root, num_train=config.num_train,
                                           num_val=config.num_val, image_size=config.image_size,
                                           seed=0, max_objects=SYNTHETIC_MAX_OBJECTS)
        name = (f"synthetic shapes (kerasnotes-generated, not real data) in {root}")
        train_dir, val_dir = (os.path.join(root, "bananas_train"),
                              os.path.join(root, "bananas_val"))
        records = read_banana_labels(train_dir), read_banana_labels(val_dir)
        class_names = read_class_names(train_dir)
    elif source == "banana" and location:
        root = os.path.expanduser(location)
        train_dir, val_dir = (os.path.join(root, "bananas_train"),
                              os.path.join(root, "bananas_val"))
        records = read_banana_labels(train_dir), read_banana_labels(val_dir)
        num_classes = 1 + int(max(r.labels[:, 0].max(initial=0) for r in records[0]))
        class_names = read_class_names(train_dir, num_classes=num_classes)
        name = f"banana-detection layout in {root}"
    elif source == "voc" and location:
        from kerasnotes.data.detection.voc_detection import VOC_CLASS_NAMES, read_voc_annotations

        root = os.path.expanduser(location)
        records = read_voc_annotations(root, "train"), read_voc_annotations(root, "val")
        class_names = VOC_CLASS_NAMES
        name = f"Pascal VOC in {root} (train / val)"
    else:
        raise ValueError(f"unknown --data {config.data!r}: expected synthetic, banana:DIR or "
                         "voc:DIR")
    train_records, val_records = records
    max_objects = max(1, max(r.num_objects for r in train_records + val_records))
    for split_records in records:
        for record in split_records:
            if record.num_objects and record.labels[:, 0].max() >= len(class_names):
                raise ValueError(f"{record.image_path}: class {int(record.labels[:, 0].max())} "
                                 f"but only {len(class_names)} class names")
    return DetectionData(
        name=name, class_names=tuple(class_names),
        train=detection_dataset_from_records(train_records, None, max_objects),
        val=detection_dataset_from_records(val_records, None, max_objects),
        num_train=len(train_records), num_val=len(val_records), max_objects=max_objects,
    )


def build_dataset(config, data, anchors):
    """Returns `(train_data(epoch), val_targets, val_labels)`.

    `train_data(epoch)` and `val_targets` yield `(images, targets)` for the Trainer (targets
    from `ssd_targets`, computed in the pipeline); `val_labels` yields `(images, labels)`
    for mAP and pictures.
    """
    import tensorflow as tf

    from kerasnotes.data.detection.detection_pipeline import make_detection_dataset
    from kerasnotes.losses.ssd_loss import ssd_targets

    anchors = tf.constant(anchors)

    def with_targets(dataset):
        return dataset.map(lambda images, labels: (images, ssd_targets(anchors, labels)),
                           num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def train_data(epoch):
        return with_targets(make_detection_dataset(
            data.train, config.batch_size, shuffle_seed=config.seed, epoch=epoch,
            augment=config.augment, image_size=config.image_size))

    val_labels = make_detection_dataset(data.val, config.batch_size,
                                        image_size=config.image_size)
    return train_data, with_targets(val_labels), val_labels


def build_model(config, num_classes):
    import keras

    from kerasnotes.models.tiny_ssd import TinySSD

    model = TinySSD(num_classes=num_classes, input_size=config.image_size)
    if config.optimizer == "adam":
        optimizer = keras.optimizers.Adam(config.lr)
    else:
        optimizer = keras.optimizers.SGD(config.lr, weight_decay=5e-4)
    return model, optimizer


def make_detector(model, max_detections=100, score_threshold=0.01):
    """A `tf.function` `pixels -> (N, max_detections, 6)` detection rows (xmin order)."""
    import tensorflow as tf

    from kerasnotes.ops.nms import multibox_detection

    anchors = tf.constant(model.anchors)

    @tf.function(reduce_retracing=True)
    def detect(pixels):
        outputs = model(pixels, training=False)
        return multibox_detection(tf.nn.softmax(outputs["class_logits"]),
                                  outputs["bbox_offsets"], anchors,
                                  pos_threshold=score_threshold,
                                  max_detections=max_detections, per_class=True,
                                  use_tf_nms=True)

    return detect


def evaluate_map(detect, val_labels, num_classes):
    """VOC mAP@0.5 of `detect` on the `(images, labels)` batches of `val_labels`."""
    from kerasnotes.metrics.mean_average_precision import MeanAveragePrecision

    metric = MeanAveragePrecision(num_classes, iou_threshold=0.5)
    for images, labels in val_labels:
        metric.update(detect(images).numpy(), labels.numpy())
    return metric.result()["mAP"]


def draw_boxes_tf(images, labels, detections, score_threshold):
    """Images with ground-truth (green) and predicted (red, score >= threshold) boxes."""
    import tensorflow as tf

    def yxyx(boxes):
        return tf.gather(boxes, [1, 0, 3, 2], axis=-1)

    truth = tf.where(labels[..., :1] >= 0, yxyx(labels[..., 1:]), 0.0)
    keep = (detections[..., :1] >= 0) & (detections[..., 1:2] >= score_threshold)
    predicted = tf.where(keep, yxyx(detections[..., 2:]), 0.0)
    drawn = tf.image.draw_bounding_boxes(images, truth, [[0.0, 1.0, 0.0, 1.0]])
    return tf.image.draw_bounding_boxes(drawn, predicted, [[1.0, 0.0, 0.0, 1.0]])


def epoch_summary(detect, val_labels, num_classes, score_threshold, history):
    """Trainer hook: validation mAP@0.5 and a few images with boxes, once per epoch."""
    import tensorflow as tf

    images, labels = next(iter(val_labels.take(1)))
    images, labels = images[:4], labels[:4]

    def hook(model, epoch):
        value = evaluate_map(detect, val_labels, num_classes)
        history.append(value)
        tf.summary.scalar("epoch_mAP@0.5", value, step=epoch)
        drawn = draw_boxes_tf(images, labels, detect(images), score_threshold)
        tf.summary.image("validation_detections", drawn, step=epoch, max_outputs=4)
        print(f"  val_mAP@0.5: {value:.4f}", flush=True)

    return hook


def main(argv=None):
    argv = list(argv) if argv is not None else None
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "predict":
        return predict_main(args[1:])
    config = parse_args(args)
    import keras

    from kerasnotes.training.strategy import choose_strategy

    strategy = choose_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    run_dir = common.prepare_run_dir(config, "tiny_ssd")
    data = load_data(config)
    print(f"Data: {data.name}: {data.num_train} training and {data.num_val} validation images, "
          f"{len(data.class_names)} classes ({', '.join(data.class_names[:10])}"
          f"{', ...' if len(data.class_names) > 10 else ''}), up to {data.max_objects} objects "
          f"per image, resized to {config.image_size}x{config.image_size}")

    from kerasnotes.losses.ssd_loss import SSDLoss
    from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE
    from kerasnotes.serving.detection import DetectionServer
    from kerasnotes.serving.export import export_saved_model
    from kerasnotes.training.trainer import Trainer

    with strategy.scope():
        model, optimizer = build_model(config, len(data.class_names))
    train_data, val_targets, val_labels = build_dataset(config, data, model.anchors)
    detect = make_detector(model, config.max_detections)
    map_history = []
    trainer = Trainer(
        model, SSDLoss(negative_ratio=config.negative_ratio or None), optimizer,
        metrics=[AnchorClassError(), BoxOffsetMAE()],
        strategy=strategy, run_dir=run_dir,
        log_every_n_steps=config.log_every_n_steps,
        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
        summary_hook=epoch_summary(detect, val_labels, len(data.class_names),
                                   config.score_threshold, map_history),
        verbose=config.verbose,
    )
    trainer.fit(train_data, epochs=config.epochs, validation_data=val_targets)
    metrics = {f"val_{k}": v for k, v in trainer.evaluate(val_targets).items()}
    metrics["val_mAP@0.5"] = evaluate_map(detect, val_labels, len(data.class_names))

    server = DetectionServer(model, data.class_names, max_detections=config.max_detections)
    export_path = export_saved_model(server, config.export_dir or f"saved_models/{config.task}",
                                     server.signatures(), strategy=strategy)
    if export_path:
        picture = os.path.join(run_dir, "detections.png")
        write_validation_picture(export_path, val_labels, picture, config.score_threshold)
        print(f"Detections on validation images (through the export): {picture}")
    common.print_report(config, metrics, export_path, data.name)
    return metrics, export_path


def write_validation_picture(export_path, val_labels, out_path, score_threshold, count=4):
    """Runs the export's serving_default on a few validation images (PNG-encoded) and
    saves them side by side with labeled boxes."""
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    images, _ = next(iter(val_labels.take(1)))
    pixels = tf.cast(tf.round(images[:count] * 255.0), tf.uint8)
    encoded = tf.stack([tf.io.encode_png(p) for p in pixels])
    serve = tf.saved_model.load(export_path).signatures["serving_default"]
    outputs = {k: v.numpy() for k, v in serve(image_bytes=encoded).items()}
    drawn = [draw_detections(p, {k: v[i] for k, v in outputs.items()}, score_threshold)
             for i, p in enumerate(pixels.numpy())]
    width = sum(d.width for d in drawn)
    grid = Image.new("RGB", (width, max(d.height for d in drawn)))
    x = 0
    for d in drawn:
        grid.paste(d, (x, 0))
        x += d.width
    grid.save(out_path)
    return np.asarray(grid)


def draw_detections(image, outputs, score_threshold):
    """A PIL image of `image` (uint8 (H, W, 3)) with the boxes of one image's serving
    outputs scoring >= `score_threshold`, labeled `name score`."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(image).convert("RGB")
    if max(picture.size) < 384:  # room for readable labels on small images
        scale = 384 // max(picture.size) + 1
        picture = picture.resize((picture.width * scale, picture.height * scale),
                                 Image.NEAREST)
    draw = ImageDraw.Draw(picture)
    colors = ["#ff3030", "#30c030", "#3070ff", "#ffc000", "#c040ff", "#00c0c0"]
    for row in range(int(outputs["num_detections"])):
        score = float(outputs["detection_scores"][row])
        if score < score_threshold:
            continue
        ymin, xmin, ymax, xmax = outputs["detection_boxes"][row]
        box = (xmin * picture.width, ymin * picture.height, xmax * picture.width,
               ymax * picture.height)
        color = colors[int(outputs["detection_classes"][row]) % len(colors)]
        name = outputs["detection_class_names"][row]
        name = name.decode() if isinstance(name, bytes) else str(name)
        draw.rectangle(box, outline=color, width=2)
        label = f"{name} {score:.2f}"
        text_box = draw.textbbox((box[0], box[1]), label)
        top = max(box[1] - (text_box[3] - text_box[1]) - 2, 0)
        draw.rectangle((box[0], top, box[0] + text_box[2] - text_box[0] + 4,
                        top + text_box[3] - text_box[1] + 2), fill=color)
        draw.text((box[0] + 2, top), label, fill="white")
    return picture


# ---------------------------------------------------------------- predict subcommand

def parse_predict_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m apps.ssd predict",
        description="Run an exported SSD (serving_default: encoded image bytes) on one image "
                    "and draw its labeled boxes with scores.")
    parser.add_argument("--image", required=True, help="JPEG/PNG/GIF/BMP image file")
    parser.add_argument("--out", required=True, help="output picture (PNG)")
    parser.add_argument("--model-dir", default="saved_models/ssd",
                        help="an export version folder, or an export base whose highest "
                             "version is used (default %(default)s)")
    parser.add_argument("--score-threshold", type=_unit_float, default=0.5,
                        help="smallest score drawn (default %(default)s)")
    return parser.parse_args(argv)


def resolve_export(model_dir):
    """`model_dir` itself if it holds saved_model.pb, else its highest integer version."""
    from kerasnotes.serving.export import existing_versions

    model_dir = os.path.expanduser(model_dir)
    if os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        return model_dir
    versions = existing_versions(model_dir)
    if not versions:
        raise ValueError(f"--model-dir {model_dir}: no SavedModel there (no saved_model.pb and "
                         "no integer version folders); train first with python -m apps.ssd")
    return os.path.join(model_dir, str(versions[-1]))


def _error_line(message):
    """The informative line of a TF runtime error (the assertion or the decoder's message)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "assertion failed:" in line:
            return line.split("assertion failed:", 1)[1].strip().strip("[]")
    useful = [line for line in lines if not line.endswith(":") and "Detected at node" not in line]
    return useful[0] if useful else message


def predict_main(argv):
    args = parse_predict_args(argv)
    export_path = resolve_export(args.model_dir)
    with open(args.image, "rb") as file:
        contents = file.read()
    import numpy as np
    import tensorflow as tf

    serve = tf.saved_model.load(export_path).signatures["serving_default"]
    try:
        outputs = serve(image_bytes=tf.constant([contents]))
    except tf.errors.InvalidArgumentError as error:
        message = _error_line(error.message or str(error))
        raise ValueError(f"{args.image}: the model could not read this image ({message})") \
            from None
    outputs = {k: v.numpy()[0] for k, v in outputs.items()}
    image = tf.io.decode_image(contents, channels=3, expand_animations=False).numpy()
    draw_detections(image, outputs, args.score_threshold).save(args.out)
    shown = int(np.sum(outputs["detection_scores"][: int(outputs["num_detections"])]
                       >= args.score_threshold))
    print(f"{export_path}: {shown} detections with score >= {args.score_threshold} "
          f"(of {int(outputs['num_detections'])}) drawn on {args.out}")
    for row in range(int(outputs["num_detections"])):
        score = float(outputs["detection_scores"][row])
        if score >= args.score_threshold:
            ymin, xmin, ymax, xmax = outputs["detection_boxes"][row]
            print(f"  {outputs['detection_class_names'][row].decode()} {score:.3f} "
                  f"(xmin {xmin:.3f}, ymin {ymin:.3f}, xmax {xmax:.3f}, ymax {ymax:.3f})")
    return outputs


if __name__ == "__main__":
    common.run(main, "ssd")
