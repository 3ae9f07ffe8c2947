"""Pictures of predictions: detection boxes (TensorBoard and PNG) and segmentation panels.

- `draw_boxes_tf`: a TensorBoard image batch with ground-truth (green) and predicted (red)
  boxes, drawn by `tf.image.draw_bounding_boxes` (kerasnotes.training.callbacks.detection_images
  writes it after every epoch of training);
- `draw_detections`: one image with the labeled boxes of a detection export's outputs
  (`name score`), as a PIL image;
- `draw_file_detections`: an image file through a detection export, drawn into a picture
  (apps.ssd's `predict`);
- `write_detection_picture`: a few images through an export's `serving_default`, drawn side
  by side into a PNG (apps.ssd's `detections.png`);
- `draw_file_segmentation`: an image file through a segmentation export, its colored label
  map written as a PNG (apps.segmentation's `predict`);
- `segmentation_panel`: input | ground truth | prediction in the VOC colormap.

Example:

>>> outputs = serve(image_bytes=tf.stack([png]))  # a detection export
>>> draw_detections(pixels, {k: v[0].numpy() for k, v in outputs.items()}, 0.5).save("d.png")
"""

import os

import numpy as np
import tensorflow as tf

# Box colors by class id (cycled).
COLORS = ("#ff3030", "#30c030", "#3070ff", "#ffc000", "#c040ff", "#00c0c0")
# Pictures smaller than this are enlarged (nearest neighbour) so labels stay readable.
MIN_SIDE = 384


def _yxyx(boxes):
    return tf.gather(boxes, [1, 0, 3, 2], axis=-1)


def draw_boxes_tf(images, labels, detections, score_threshold):
    """Images with ground-truth (green) and predicted (red, score >= threshold) boxes.

    Args:
        images: float `(N, H, W, 3)` in `[0, 1]`.
        labels: `(N, max_objects, 5)` rows `(class, xmin, ymin, xmax, ymax)`, class -1 for
            padding.
        detections: `(N, rows, 6)` rows `(class_id, score, xmin, ymin, xmax, ymax)` of
            `TinySSD.detect`, class -1 for non-detections.
        score_threshold: smallest score drawn.

    Returns:
        float `(N, H, W, 3)`, for `tf.summary.image`.
    """
    truth = tf.where(labels[..., :1] >= 0, _yxyx(labels[..., 1:]), 0.0)
    keep = (detections[..., :1] >= 0) & (detections[..., 1:2] >= score_threshold)
    predicted = tf.where(keep, _yxyx(detections[..., 2:]), 0.0)
    drawn = tf.image.draw_bounding_boxes(images, truth, [[0.0, 1.0, 0.0, 1.0]])
    return tf.image.draw_bounding_boxes(drawn, predicted, [[1.0, 0.0, 0.0, 1.0]])


def draw_detections(image, outputs, score_threshold):
    """A PIL image of `image` (uint8 `(H, W, 3)`) with the boxes of one image's serving
    outputs (`detection_boxes` normalized `(ymin, xmin, ymax, xmax)`, `detection_scores`,
    `detection_classes`, `detection_class_names`, `num_detections`) scoring >=
    `score_threshold`, labeled `name score`."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(np.asarray(image)).convert("RGB")
    if max(picture.size) < MIN_SIDE:
        scale = MIN_SIDE // max(picture.size) + 1
        picture = picture.resize((picture.width * scale, picture.height * scale),
                                 Image.NEAREST)
    draw = ImageDraw.Draw(picture)
    for row in range(int(outputs["num_detections"])):
        score = float(outputs["detection_scores"][row])
        if score < score_threshold:
            continue
        ymin, xmin, ymax, xmax = outputs["detection_boxes"][row]
        box = (xmin * picture.width, ymin * picture.height, xmax * picture.width,
               ymax * picture.height)
        color = COLORS[int(outputs["detection_classes"][row]) % len(COLORS)]
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


def draw_file_detections(export_path, image_path, out_path, score_threshold):
    """Runs a detection export's `serving_default` on the image file `image_path` (its
    encoded bytes, as a client sends them) and saves the image with the labeled boxes
    scoring >= `score_threshold` (`draw_detections`) to `out_path`. Returns the image's
    outputs as NumPy arrays.

    The export refuses an image over its pixel budget before decoding it and turns a JPEG
    upright by its EXIF orientation; the picture is decoded the same way.

    Raises:
        OSError: no file at `image_path`.
        ValueError: `IMAGE_PATH: the model could not read this image (REASON)`.

    Example:

    >>> outputs = draw_file_detections("saved_models/ssd/1", "photo.jpg", "d.png", 0.5)
    >>> int(outputs["num_detections"])
    100
    """
    from kerasnotes.ops.image_decoding import read_image_file
    from kerasnotes.serving.client import serve_one
    from kerasnotes.serving.image_inputs import export_max_pixels

    with open(image_path, "rb") as file:
        contents = file.read()
    outputs = serve_one(export_path, image_path, image_bytes=tf.constant([contents]))
    image = read_image_file(image_path, export_max_pixels(export_path)).numpy()
    draw_detections(image, outputs, score_threshold).save(out_path)
    return outputs


def write_detection_picture(export_path, images, out_path, score_threshold):
    """Runs the export's `serving_default` on `images` (float `(N, H, W, 3)` in `[0, 1]`,
    PNG-encoded first, as a client sends them) and saves them side by side with labeled
    boxes to `out_path`. Returns the picture as a uint8 array."""
    from PIL import Image

    pixels = tf.cast(tf.round(images * 255.0), tf.uint8)
    encoded = tf.stack([tf.io.encode_png(p) for p in pixels])
    serve = tf.saved_model.load(export_path).signatures["serving_default"]
    outputs = {k: v.numpy() for k, v in serve(image_bytes=encoded).items()}
    drawn = [draw_detections(p, {k: v[i] for k, v in outputs.items()}, score_threshold)
             for i, p in enumerate(pixels.numpy())]
    grid = Image.new("RGB", (sum(d.width for d in drawn), max(d.height for d in drawn)))
    x = 0
    for picture in drawn:
        grid.paste(picture, (x, 0))
        x += picture.width
    grid.save(out_path)
    return np.asarray(grid)


def draw_file_segmentation(export_path, image_path, out_path):
    """Runs a segmentation export's `serving_default` on the image file `image_path` (upright
    by its EXIF orientation) and writes its `colored` label map to `out_path` (PNG, folders
    created). Returns the image's outputs as NumPy arrays (`labels` `(H, W)`, `colored`).

    Raises:
        OSError: no file at `image_path`.
        ValueError: `IMAGE_PATH: ...` for a file that does not decode or declares more pixels
            than the export's budget (refused before decoding).

    Example:

    >>> outputs = draw_file_segmentation("saved_models/segmentation/1", "cat.jpg", "l.png")
    >>> outputs["labels"].shape
    (480, 640)
    """
    from kerasnotes.ops.image_decoding import read_image_file
    from kerasnotes.serving.client import serve_one
    from kerasnotes.serving.image_inputs import export_max_pixels

    if not os.path.isfile(image_path):
        raise OSError(f"no image file at {image_path}")
    image = read_image_file(image_path, export_max_pixels(export_path))
    outputs = serve_one(export_path, image_path, images=image[None])
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tf.io.write_file(out_path, tf.io.encode_png(outputs["colored"]))
    return outputs


def segmentation_panel(images, labels, predicted):
    """Input | ground truth | prediction side by side, float `(N, H, 3W, 3)` in `[0, 1]`.

    Args:
        images: standardized float `(N, H, W, 3)` (`(x / 255 - mean) / std`, undone here).
        labels, predicted: int `(N, H, W)` class indices (255 = boundary), drawn in the VOC
            colormap.
    """
    from kerasnotes.data.segmentation.segmentation_pipeline import RGB_MEAN, RGB_STD
    from kerasnotes.data.segmentation.voc_colormap import label_to_colormap

    pixels = tf.clip_by_value(images * tf.constant(RGB_STD) + tf.constant(RGB_MEAN), 0, 1)
    truth = tf.cast(label_to_colormap(labels), tf.float32) / 255.0
    guess = tf.cast(label_to_colormap(predicted), tf.float32) / 255.0
    return tf.concat([pixels, truth, guess], axis=2)
