"""The serving module of an SSD detector: image bytes or pixels in, boxes out.

`DetectionServer` is the module; `detection_outputs` names its outputs; `detection_lines`
lists one image's outputs as text (the ssd app's `predict`).
"""

import numbers

import tensorflow as tf

from kerasnotes.ops.image_decoding import (
    DEFAULT_MAX_PIXELS,
    check_max_pixels,
    decode_image_bounded,
)
from kerasnotes.serving.image_inputs import (
    at_least_one_image,
    check_image_sizes,
    first_rows,
    hex_prefix,
)

# First bytes of the formats tf.io.decode_image reads.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")


class DetectionServer(tf.Module):
    """Serving wrapper of `TinySSD`: decode, resize, predict, decode boxes, NMS, pad.

    Two signatures, both returning the same named outputs (TF Object Detection API style):

    - `serve_bytes(image_bytes)`: a batch `(N,)` of encoded JPEG/PNG/GIF/BMP strings (the
      `serving_default` signature; the input name ends in `_bytes` so TF Serving's REST API
      takes `{"b64": ...}` values). Images may have different sizes.
    - `serve_images(images)`: a uint8 batch `(N, H, W, 3)` (the `detect_images` signature).

    Images are bounded: an encoded image whose header declares more than `max_pixels`
    pixels (default 40 megapixels; for a GIF, also all frames together) is refused before
    its pixels are decoded, and a uint8 image of more than `max_pixels` (`H * W`) before any
    work on it, with an `InvalidArgumentError` naming the signature, the image's position,
    its declared size and the budget (`kerasnotes.ops.image_decoding`). A decoded JPEG (or
    PNG) is turned upright by its EXIF orientation, as photo viewers and the training
    loaders show it; uint8 pixels are used as sent (clients send them upright). Each image
    is resized (bilinear, straight from uint8: the only float32 copy is at the model's
    size) to the model's input size and scaled to `[0, 1]` as in training; then
    `model.detect` (the detection path of training-time evaluation too: `softmax` over the
    class logits, `multibox_detection` with the fused
    `tf.image.non_max_suppression`, per class when `per_class_nms`), and the detections are
    padded to `max_detections` rows:

    - `detection_boxes`: float32 `(N, max_detections, 4)`, **normalized `(ymin, xmin, ymax,
      xmax)`** (the TF Object Detection API order, clipped to `[0, 1]`; note that the
      kerasnotes library itself uses `(xmin, ymin, xmax, ymax)`);
    - `detection_scores`: float32 `(N, max_detections)`, decreasing, 0 on padding rows;
    - `detection_classes`: int64 `(N, max_detections)`, 0-based class ids, -1 on padding;
    - `detection_class_names`: string `(N, max_detections)`, "" on padding;
    - `num_detections`: int32 `(N,)`, the number of real rows (they come first).

    The class names travel inside the SavedModel (a constant of the graph, returned per
    detection as `detection_class_names`), and so does the budget (`loaded.max_pixels()`).
    A byte string that is not an image in a known format fails the call with an
    `InvalidArgumentError` naming the image's position in the
    batch and its first bytes in hex (the message is ASCII, whatever the bytes), and the
    serving process keeps running. A batch of 0 images gets outputs of 0 rows.

    Args:
        model: a `TinySSD` (anything with `num_classes`, `input_size` and
            `detect(pixels, max_detections, score_threshold, nms_threshold, per_class)`).
        class_names: one name per object class.
        max_detections: rows per image in the outputs (>= 1).
        score_threshold: detections scoring below this are dropped (d2l: 0.01).
        nms_threshold: IoU above which NMS suppresses a box.
        per_class_nms: run NMS within each class (True) or across classes (d2l).
        max_pixels: the largest image accepted, in pixels (height x width).

    Example:

    >>> server = DetectionServer(model, ["banana"])
    >>> export_saved_model(server, "saved_models/ssd", server.signatures())
    """

    def __init__(self, model, class_names, max_detections=100, score_threshold=0.01,
                 nms_threshold=0.5, per_class_nms=True, max_pixels=DEFAULT_MAX_PIXELS):
        super().__init__(name="detection_server")
        max_pixels = check_max_pixels("DetectionServer", max_pixels)
        class_names = [str(n) for n in class_names]
        if len(class_names) != model.num_classes:
            raise ValueError(
                f"DetectionServer: {len(class_names)} class names for a model with "
                f"{model.num_classes} classes"
            )
        if (isinstance(max_detections, bool) or not isinstance(max_detections, numbers.Integral)
                or max_detections < 1):
            raise ValueError("DetectionServer: max_detections must be an integer >= 1; "
                             f"received max_detections={max_detections!r}")
        for name, value in (("score_threshold", score_threshold),
                            ("nms_threshold", nms_threshold)):
            if not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
                raise ValueError(f"DetectionServer: {name} must be in [0, 1]; received "
                                 f"{name}={value!r}")
        self.model = model
        self.image_size = (int(model.input_size), int(model.input_size))
        self.class_names = tf.constant(class_names)
        self.max_detections = int(max_detections)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.per_class_nms = bool(per_class_nms)
        self.image_budget = max_pixels
        self.max_pixels = tf.function(self._max_pixels, input_signature=[])
        self.serve_bytes = tf.function(
            self._serve_bytes,
            input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
        )
        self.serve_images = tf.function(
            self._serve_images,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")],
        )

    def signatures(self):
        """`{"serving_default": serve_bytes, "detect_images": serve_images}` for export."""
        return {"serving_default": self.serve_bytes, "detect_images": self.serve_images}

    def _max_pixels(self):
        """The pixel budget per image (int64), a constant of the SavedModel."""
        return tf.constant(self.image_budget, tf.int64)

    def _decode_one(self, args):
        index, data = args
        known = tf.reduce_any(
            [tf.strings.substr(data, 0, len(magic)) == magic for magic in _MAGIC]
        )
        head = tf.where(tf.strings.length(data) > 0, "starts with 0x" + hex_prefix(data),
                        "0 bytes")
        message = tf.strings.join([
            "serving_default: image_bytes[", tf.strings.as_string(index), "] is not a JPEG, "
            "PNG, GIF or BMP image (", head, "); send encoded image files, or use the "
            "detect_images signature for uint8 pixels"])
        check = tf.debugging.Assert(known, [message])
        with tf.control_dependencies([check]):
            name = tf.strings.join(["serving_default: image_bytes[",
                                    tf.strings.as_string(index), "]"])
            image = decode_image_bounded(data, self.image_budget, name)
        return tf.image.resize(image, self.image_size)  # uint8 in, float32 at the model's size

    def _serve_bytes(self, image_bytes):
        count = tf.shape(image_bytes)[0]
        pixels = tf.map_fn(
            self._decode_one, (tf.range(count), image_bytes),
            fn_output_signature=tf.TensorSpec(self.image_size + (3,), tf.float32),
        )
        return self._detect(pixels / 255.0)

    def _serve_images(self, images):
        images = check_image_sizes(images, "detect_images", self.image_budget)
        images, count = at_least_one_image(images)  # resizing needs >= 1x1 pixels
        pixels = tf.image.resize(images, self.image_size)  # float32 at the model's size only
        return first_rows(self._detect(pixels / 255.0), count)

    def _detect(self, pixels):
        pixels, count = at_least_one_image(pixels)  # the model's kernels need >= 1 image
        detections = self.model.detect(
            pixels, max_detections=self.max_detections, score_threshold=self.score_threshold,
            nms_threshold=self.nms_threshold, per_class=self.per_class_nms)
        return detection_outputs(detections[:count], self.class_names)


def detection_outputs(detections, class_names):
    """The named serving outputs from `multibox_detection` rows (see `DetectionServer`).

    Args:
        detections: `(N, rows, 6)` rows `(class_id, score, xmin, ymin, xmax, ymax)`,
            detections first, class -1 for the rest.
        class_names: string tensor `(num_classes,)`.

    Returns:
        dict of `detection_boxes` (ymin, xmin, ymax, xmax), `detection_scores`,
        `detection_classes`, `detection_class_names`, `num_detections`.
    """
    classes = tf.cast(detections[..., 0], tf.int64)
    valid = classes >= 0
    scores = tf.where(valid, detections[..., 1], 0.0)
    xmin, ymin, xmax, ymax = tf.unstack(tf.clip_by_value(detections[..., 2:], 0.0, 1.0), axis=-1)
    boxes = tf.stack([ymin, xmin, ymax, xmax], axis=-1)
    boxes = tf.where(valid[..., None], boxes, 0.0)
    names = tf.where(valid, tf.gather(class_names, tf.maximum(classes, 0)), "")
    return {
        "detection_boxes": boxes,
        "detection_scores": scores,
        "detection_classes": tf.where(valid, classes, -1),
        "detection_class_names": names,
        "num_detections": tf.reduce_sum(tf.cast(valid, tf.int32), axis=1),
    }


def detection_lines(outputs, score_threshold):
    """One line per detection of one image's serving outputs that scores >= `score_threshold`.

    Args:
        outputs: NumPy outputs of one image (see `DetectionServer`): `detection_boxes`
            (normalized ymin, xmin, ymax, xmax), `detection_scores`,
            `detection_class_names`, `num_detections`.
        score_threshold: smallest score listed.

    Returns:
        lines `class_name score (xmin, ymin, xmax, ymax)`, in the outputs' order.

    Example:

    >>> detection_lines(serve_one("saved_models/ssd/1", "photo.jpg", image_bytes=...), 0.5)
    ['disk 0.981 (xmin 0.102, ymin 0.250, xmax 0.398, ymax 0.541)']
    """
    scores, lines = outputs["detection_scores"], []
    for row in range(int(outputs["num_detections"])):
        if scores[row] < score_threshold:
            continue
        ymin, xmin, ymax, xmax = outputs["detection_boxes"][row]
        name = outputs["detection_class_names"][row]
        name = name.decode() if isinstance(name, bytes) else str(name)
        lines.append(f"{name} {scores[row]:.3f} (xmin {xmin:.3f}, ymin {ymin:.3f}, "
                     f"xmax {xmax:.3f}, ymax {ymax:.3f})")
    return lines
