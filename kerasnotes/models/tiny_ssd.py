"""TinySSD, the notes' single shot multibox detector (SSD 单发多框检测)."""

import keras
import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int
from kerasnotes.layers.box_predictor import BoxPredictor
from kerasnotes.layers.class_predictor import ClassPredictor
from kerasnotes.layers.down_sample_block import DownSampleBlock
from kerasnotes.layers.multiscale_concat import MultiscaleConcat
from kerasnotes.layers.ssd_base_network import SSDBaseNetwork
from kerasnotes.ops.anchors import multibox_prior
from kerasnotes.ops.nms import multibox_detection

# d2l's anchor sizes per scale (growing from 0.2 to 0.961, the second size of each scale
# being sqrt(s_i * s_{i+1})) and aspect ratios (the same three at every scale).
TINY_SSD_SIZES = ((0.2, 0.272), (0.37, 0.447), (0.54, 0.619), (0.71, 0.79), (0.88, 0.961))
TINY_SSD_RATIOS = ((1.0, 2.0, 0.5),) * 5
NUM_SCALES = 5


def _per_scale(name, values):
    try:
        values = tuple(tuple(float(v) for v in scale) for scale in values)
    except (TypeError, ValueError):
        values = ()
    if len(values) != NUM_SCALES or any(not scale or min(scale) <= 0 for scale in values):
        raise ValueError(
            f"TinySSD: {name} must hold {NUM_SCALES} non-empty sequences of positive numbers, "
            f"one per scale; received {name}={values if values else name!r}"
        )
    return values


def tiny_ssd_anchors(input_size=256, sizes=TINY_SSD_SIZES, ratios=TINY_SSD_RATIOS):
    """The anchors `(A, 4)` of a `TinySSD` of this input size, without building the model.

    The five feature maps are `input_size // 8` (the base network halves three times, each
    max pooling rounding down), `// 16`, `// 32`, `// 64` and 1 (global max pooling) pixels
    square; at each, `multibox_prior(h_s, w_s, sizes[s], ratios[s])`, concatenated in
    prediction order. `TinySSD(...).anchors` are these (the data pipeline computes training
    targets with them before a model exists).

    Example:

    >>> tiny_ssd_anchors(256).shape
    (5444, 4)
    """
    input_size = check_int("tiny_ssd_anchors", "input_size", input_size)
    sizes, ratios = _per_scale("sizes", sizes), _per_scale("ratios", ratios)
    sides = [input_size // 8, input_size // 16, input_size // 32, input_size // 64, 1]
    anchors = [multibox_prior(side, side, s, r).numpy()
               for side, s, r in zip(sides, sizes, ratios, strict=True)]
    return np.concatenate(anchors, axis=0).astype("float32")


@keras.saving.register_keras_serializable(package="kerasnotes")
class TinySSD(keras.Model):
    """TinySSD: a base network and four more scales, each predicting classes and offsets.

    The notes' model (d2l's `TinySSD`), five stages in series:

        stage 1: SSDBaseNetwork(16, 32, 64)           256x256 image -> 32x32
        stage 2-4: DownSampleBlock(stage_filters)     32 -> 16 -> 8 -> 4
        stage 5: global max pooling                   4 -> 1

    At the output `Y_s` of every stage, `a_s = len(sizes[s]) + len(ratios[s]) - 1` anchors
    per pixel come from `multibox_prior(h_s, w_s, sizes[s], ratios[s])`, a
    `ClassPredictor(a_s, q)` predicts their `q + 1` class logits and a `BoxPredictor(a_s)`
    their 4 offsets; `MultiscaleConcat` flattens and concatenates the five scales:

        class_logits = concat_s(flatten(cls_s(Y_s)))  reshaped to (batch, A, q + 1)
        bbox_offsets = concat_s(flatten(box_s(Y_s)))  (batch, A * 4)

    The anchors only depend on the feature-map sizes, so they are computed once, here, as
    the constant `anchors` `(A, 4)` (normalized corners, same order as the predictions);
    with the defaults and a 256x256 input `A = 4 * (32^2 + 16^2 + 8^2 + 4^2 + 1) = 5444`.

    Args:
        num_classes: object classes `q` (background excluded), >= 1.
        input_size: side of the square RGB input images (>= 64, so the last down-sample
            block still sees 2x2 pixels).
        sizes: five sequences of anchor sizes (default d2l's `TINY_SSD_SIZES`).
        ratios: five sequences of aspect ratios (default `[1, 2, 0.5]` at every scale).
        base_filters: channels of the base network's three blocks, default `(16, 32, 64)`.
        stage_filters: channels of the three down-sample blocks after it, default 128.

    Call arguments:
        inputs: float images `(batch, input_size, input_size, 3)` scaled to `[0, 1]`.
        training: whether batch normalization uses batch statistics.

    Returns:
        a dict: `"class_logits"` `(batch, A, num_classes + 1)` (background is class 0) and
        `"bbox_offsets"` `(batch, A * 4)` (anchor-major, as `multibox_target` builds them).

    Example:

    >>> model = TinySSD(num_classes=1)
    >>> out = model(np.zeros((2, 256, 256, 3), "float32"))
    >>> model.anchors.shape, out["class_logits"].shape, out["bbox_offsets"].shape
    ((5444, 4), TensorShape([2, 5444, 2]), TensorShape([2, 21776]))
    """

    def __init__(self, num_classes, input_size=256, sizes=TINY_SSD_SIZES,
                 ratios=TINY_SSD_RATIOS, base_filters=(16, 32, 64), stage_filters=128,
                 **kwargs):
        name = kwargs.pop("name", "tiny_ssd")
        num_classes = check_int("TinySSD", "num_classes", num_classes)
        input_size = check_int("TinySSD", "input_size", input_size)
        if input_size < 64:
            raise ValueError("TinySSD: input_size must be >= 64 (six halvings leave 1x1 "
                             "before the last down-sample block); received "
                             f"input_size={input_size}")
        sizes = _per_scale("sizes", sizes)
        ratios = _per_scale("ratios", ratios)
        stage_filters = check_int("TinySSD", "stage_filters", stage_filters)
        num_anchors = [len(s) + len(r) - 1 for s, r in zip(sizes, ratios, strict=True)]

        stages = [SSDBaseNetwork(base_filters, name="stage1_base")]
        stages += [DownSampleBlock(stage_filters, name=f"stage{i}_down_sample")
                   for i in (2, 3, 4)]
        stages.append(keras.layers.GlobalMaxPooling2D(keepdims=True, name="stage5_global_max"))

        inputs = keras.Input(shape=(input_size, input_size, 3), name="images")
        x = inputs
        class_maps, box_maps = [], []
        for i, stage in enumerate(stages):
            x = stage(x)
            class_maps.append(ClassPredictor(num_anchors[i], num_classes,
                                             name=f"class_predictor{i + 1}")(x))
            box_maps.append(BoxPredictor(num_anchors[i], name=f"box_predictor{i + 1}")(x))
        outputs = {
            "class_logits": MultiscaleConcat(num_classes + 1, name="class_logits")(class_maps),
            "bbox_offsets": MultiscaleConcat(name="bbox_offsets")(box_maps),
        }
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.num_classes = num_classes
        self.input_size = input_size
        self.sizes = sizes
        self.ratios = ratios
        self.base_filters = tuple(stages[0].filters)
        self.stage_filters = stage_filters
        self._anchors = tiny_ssd_anchors(input_size, sizes, ratios)
        if self._anchors.shape[0] * 4 != outputs["bbox_offsets"].shape[-1]:
            raise ValueError(f"TinySSD: {self._anchors.shape[0]} anchors for "
                             f"{outputs['bbox_offsets'].shape[-1] // 4} predictions")

    @property
    def anchors(self):
        """The model's anchors, a float32 NumPy array `(A, 4)` of normalized corners."""
        return self._anchors

    @property
    def num_anchors(self):
        return int(self._anchors.shape[0])

    def detect(self, images, max_detections=100, score_threshold=0.01, nms_threshold=0.5,
               per_class=True, implementation="fused"):
        """The detections of a batch of images: the one detection path of kerasnotes.

        `p = softmax(class_logits)`, boxes `offset_inverse(anchor, offset)`, scores below
        `score_threshold` dropped, NMS at `nms_threshold` (within each class when
        `per_class`), padded to `max_detections` rows: `multibox_detection` on the model's
        outputs, cast to float32 first (under a mixed precision policy the model computes
        in bfloat16 or float16). Training-time evaluation (mAP) and `DetectionServer` both
        call this; wrap it in a `tf.function` for speed.

        Args:
            images: float `(batch, input_size, input_size, 3)` in `[0, 1]`.
            max_detections: rows per image (>= 1).
            score_threshold: smallest score kept (d2l's `pos_threshold`, 0.01).
            nms_threshold: IoU above which NMS suppresses a box.
            per_class: NMS within each predicted class (True) or across classes (d2l).
            implementation: `"fused"` (`tf.image.non_max_suppression`) or `"scratch"` (the
                notes' NMS); both give the same detections.

        Returns:
            float32 `(batch, max_detections, 6)` rows `(class_id, score, xmin, ymin, xmax,
            ymax)`, detections first in decreasing score order, class -1 after them.

        Example:

        >>> model = TinySSD(num_classes=2, input_size=64)
        >>> model.detect(np.zeros((1, 64, 64, 3), "float32"), max_detections=5).shape
        TensorShape([1, 5, 6])
        """
        outputs = self(images, training=False)
        probabilities = tf.nn.softmax(tf.cast(outputs["class_logits"], tf.float32), axis=-1)
        return multibox_detection(
            probabilities, tf.cast(outputs["bbox_offsets"], tf.float32), self._anchors,
            nms_threshold=nms_threshold, pos_threshold=score_threshold,
            max_detections=max_detections, per_class=per_class, implementation=implementation)

    def get_config(self):
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "input_size": self.input_size,
            "sizes": [list(s) for s in self.sizes],
            "ratios": [list(r) for r in self.ratios],
            "base_filters": list(self.base_filters),
            "stage_filters": self.stage_filters,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
