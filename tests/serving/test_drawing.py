"""Pictures of detections: ground truth in green, detections above the threshold in red."""

import numpy as np
import tensorflow as tf

from kerasnotes.serving.drawing import draw_boxes_tf


def colors(image):
    return {tuple(pixel) for pixel in np.asarray(image).reshape(-1, 3).tolist()}


def test_draw_boxes_tf_draws_truth_green_and_detections_over_the_threshold_red():
    images = tf.zeros((2, 32, 32, 3))
    labels = tf.constant([[[0, 0.1, 0.1, 0.5, 0.5]], [[-1, 0.0, 0.0, 0.0, 0.0]]])
    detections = tf.constant([[[0, 0.9, 0.5, 0.5, 0.9, 0.9]], [[0, 0.2, 0.1, 0.1, 0.9, 0.9]]])
    drawn = draw_boxes_tf(images, labels, detections, 0.5).numpy()
    assert drawn.shape == (2, 32, 32, 3)
    # Image 0: the green ground truth and the red detection (its score 0.9 >= 0.5).
    assert colors(drawn[0]) == {(0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)}
    # Image 1: padding only, and a detection of score 0.2 < 0.5: no box (rows left out are
    # empty boxes at the corner, the top-left pixel).
    assert colors(drawn[1, 1:, 1:]) == {(0.0, 0.0, 0.0)}
    assert colors(draw_boxes_tf(images, labels, detections, 0.1)[1, 1:, 1:]) == {
        (0.0, 0.0, 0.0), (1.0, 0.0, 0.0)}


def test_draw_file_detections_serves_the_file_bytes_and_draws_them(tmp_path):
    import keras
    import pytest
    from PIL import Image

    from kerasnotes.models.tiny_ssd import TinySSD
    from kerasnotes.serving.detection import DetectionServer
    from kerasnotes.serving.drawing import draw_file_detections
    from kerasnotes.serving.export import export_saved_model

    keras.utils.set_random_seed(0)
    model = TinySSD(num_classes=2, input_size=64, base_filters=(4, 4, 8), stage_filters=8)
    server = DetectionServer(model, ("a", "b"), max_detections=5)
    export = export_saved_model(server, str(tmp_path / "export"), server.signatures())
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    (tmp_path / "in.png").write_bytes(tf.io.encode_png(image).numpy())

    outputs = draw_file_detections(export, str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                                   0.0)
    expected = tf.saved_model.load(export).signatures["detect_images"](
        images=tf.constant(image[None]))
    for key in ("detection_boxes", "detection_scores", "num_detections"):
        np.testing.assert_array_equal(outputs[key], expected[key].numpy()[0])
    width, height = Image.open(tmp_path / "out.png").size  # enlarged for readable labels
    assert width * 40 == height * 60 and width >= 384
    drawn = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"))
    assert not np.array_equal(drawn, np.asarray(Image.fromarray(image).resize((width, height),
                                                                              Image.NEAREST)))

    (tmp_path / "bad.jpg").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match=r"bad.jpg: the model could not read this image"):
        draw_file_detections(export, str(tmp_path / "bad.jpg"), str(tmp_path / "x.png"), 0.5)
    with pytest.raises(OSError):
        draw_file_detections(export, str(tmp_path / "none.png"), str(tmp_path / "x.png"), 0.5)
    assert not (tmp_path / "x.png").exists()


def test_draw_file_segmentation_writes_the_export_s_colored_map(tmp_path):
    import keras
    import pytest

    from kerasnotes.models.fcn import FCN
    from kerasnotes.serving.drawing import draw_file_segmentation
    from kerasnotes.serving.export import export_saved_model
    from kerasnotes.serving.segmentation import SegmentationServer

    keras.utils.set_random_seed(0)
    model = FCN(num_classes=3, input_channels=3, width_divisor=32, backbone_groups=2)
    server = SegmentationServer(model, ["a", "b", "c"], stride=model.stride)
    export = export_saved_model(server, str(tmp_path / "export"), {"serving_default": server.serve})
    image = np.random.default_rng(0).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    (tmp_path / "in.png").write_bytes(tf.io.encode_png(image).numpy())
    out = tmp_path / "new" / "labels.png"  # its folder is created

    outputs = draw_file_segmentation(export, str(tmp_path / "in.png"), str(out))
    expected = tf.saved_model.load(export).signatures["serving_default"](images=image[None])
    np.testing.assert_array_equal(outputs["labels"], expected["labels"][0].numpy())
    assert outputs["labels"].shape == (45, 70)
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(str(out))).numpy(),
                                  expected["colored"][0].numpy())
    with pytest.raises(OSError, match="no image file at"):
        draw_file_segmentation(export, str(tmp_path / "none.png"), str(tmp_path / "x.png"))
    (tmp_path / "bad.jpg").write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="bad.jpg: cannot decode this image"):
        draw_file_segmentation(export, str(tmp_path / "bad.jpg"), str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()
