"""Fast R-CNN: whole-image features, ROI pooling of proposals, class scores and box offsets."""

import keras

from kerasnotes._checks import check_choice, check_int, check_ints
from kerasnotes.layers.roi_align import ROIAlign
from kerasnotes.layers.roi_pooling import ROIPooling
from kerasnotes.models.image_input import stack_layers, validate_image_shape

ROI_POOLING_KINDS = ("max", "align")


@keras.saving.register_keras_serializable(package="kerasnotes")
class FastRCNNHead(keras.layers.Layer):
    """The Fast R-CNN head: ROI pooling of `n` proposals, dense layers, two predictors.

    The notes' steps 3-5 of Fast R-CNN, on the features `(N, h1, w1, c)` of whole images:

        pooled = ROIPooling(features, proposals)            (n, h2, w2, c)
        hidden = relu(dense_k(... relu(dense_1(flatten(pooled)))))   (n, d)
        class_logits = dense(hidden)                         (n, q + 1)   (0 = background)
        box_offsets = dense(hidden)                          (n, 4)

    The class scores go through softmax cross-entropy; the box offsets are the detection
    chapter's `(dx, dy, dw, dh)` of the proposal (only for non-background proposals).

    Args:
        num_classes: `q`, the object classes (the head adds the background class).
        pooled_size: `h2` or `(h2, w2)` of the ROI pooling.
        spatial_scale: proposal coordinates -> feature coordinates (1 / backbone stride for
            pixel proposals).
        hidden_units: sizes of the dense layers; the last is `d`.
        roi_pooling: `"max"` (`ROIPooling`, the notes' layer) or `"align"` (`ROIAlign`).

    Call arguments:
        inputs: `[features (N, h1, w1, c), proposals (n, 5)]`, proposals rows `(batch_index,
            x1, y1, x2, y2)`.

    Returns:
        a tuple `(class_logits (n, q + 1), box_offsets (n, 4))`.

    Example:

    >>> head = FastRCNNHead(num_classes=2, pooled_size=2, hidden_units=(8,))
    >>> logits, offsets = head([np.zeros((1, 4, 4, 3), "float32"),
    ...                         np.array([[0, 0, 0, 3, 3]], "float32")])
    >>> logits.shape, offsets.shape
    (TensorShape([1, 3]), TensorShape([1, 4]))
    """

    def __init__(self, num_classes, pooled_size=7, spatial_scale=1.0, hidden_units=(256, 256),
                 roi_pooling="max", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_int("FastRCNNHead", "num_classes", num_classes)
        self.hidden_units = check_ints("FastRCNNHead", "hidden_units", hidden_units)
        self.roi_pooling = check_choice("FastRCNNHead", "roi_pooling", roi_pooling,
                                        ROI_POOLING_KINDS)
        policy = self.dtype_policy
        pooling_class = ROIPooling if roi_pooling == "max" else ROIAlign
        self.pool = pooling_class(pooled_size, spatial_scale=spatial_scale, name="roi_pool",
                                  dtype=policy)
        self.pooled_size = self.pool.pooled_size
        self.spatial_scale = self.pool.spatial_scale
        self.flatten = keras.layers.Flatten(name="flatten", dtype=policy)
        self.hidden = [keras.layers.Dense(units, activation="relu", name=f"fc{i + 1}",
                                          dtype=policy)
                       for i, units in enumerate(self.hidden_units)]
        self.class_predictor = keras.layers.Dense(self.num_classes + 1, name="class_logits",
                                                  dtype=policy)
        self.box_predictor = keras.layers.Dense(4, name="box_offsets", dtype=policy)

    def build(self, input_shape):
        features_shape, _ = input_shape
        if features_shape[-1] is None:
            raise ValueError("FastRCNNHead: the features' channel axis must be known; received "
                             f"shape {tuple(features_shape)}")
        shape = (None, self.pooled_size[0] * self.pooled_size[1] * features_shape[-1])
        for layer in self.hidden:
            layer.build(shape)
            shape = (None, layer.units)
        self.class_predictor.build(shape)
        self.box_predictor.build(shape)

    def call(self, inputs):
        x = self.flatten(self.pool(inputs))
        for layer in self.hidden:
            x = layer(x)
        return self.class_predictor(x), self.box_predictor(x)

    def compute_output_shape(self, input_shape):
        _, rois_shape = input_shape
        return (rois_shape[0], self.num_classes + 1), (rois_shape[0], 4)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "pooled_size": self.pooled_size,
            "spatial_scale": self.spatial_scale,
            "hidden_units": self.hidden_units,
            "roi_pooling": self.roi_pooling,
        })
        return config


@keras.saving.register_keras_serializable(package="kerasnotes")
class FastRCNN(keras.Model):
    """Fast R-CNN: a convolutional backbone over whole images + `FastRCNNHead`.

    The notes' step 1 (one CNN over the whole image, `(N, h1, w1, c)`) is a small backbone
    here: for each entry `f` of `backbone_filters`, a 3x3 convolution with `f` channels and
    ReLU followed by 2x2 max pooling, so the stride is `2 ** len(backbone_filters)` and the
    head's `spatial_scale` is its inverse (proposals are in image pixels). Step 2's
    proposals come from outside (`kerasnotes.ops.region_proposals`: anchors, or an
    array/file). Steps 3-5 are `FastRCNNHead`.

    Args:
        num_classes: object classes `q`.
        input_shape: `(height, width, channels)` of the images.
        backbone_filters: channels of the backbone's conv blocks.
        pooled_size: ROI pooling output size.
        hidden_units: the head's dense layers.
        roi_pooling: `"max"` or `"align"`.

    Call arguments:
        inputs: `[images (N, H, W, C), proposals (n, 5)]` (pixels).

    Returns:
        dict `{"class_logits": (n, q + 1), "box_offsets": (n, 4)}`.

    Example:

    >>> model = FastRCNN(num_classes=2, input_shape=(32, 32, 3), backbone_filters=(8, 16),
    ...                  pooled_size=2, hidden_units=(16,))
    >>> out = model([np.zeros((1, 32, 32, 3), "float32"), np.array([[0, 0, 0, 15, 15]], "float32")])
    >>> out["class_logits"].shape
    TensorShape([1, 3])
    """

    def __init__(self, num_classes, input_shape=(64, 64, 3), backbone_filters=(16, 32),
                 pooled_size=4, hidden_units=(128,), roi_pooling="max", **kwargs):
        model_name = type(self).__name__
        name = kwargs.pop("name", "fast_rcnn")
        shape = validate_image_shape(model_name, input_shape)
        backbone_filters = check_ints(model_name, "backbone_filters", backbone_filters)
        backbone = []
        for i, filters in enumerate(backbone_filters):
            backbone += [
                keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                    name=f"backbone_conv{i + 1}"),
                keras.layers.MaxPooling2D(2, name=f"backbone_pool{i + 1}"),
            ]
        head = FastRCNNHead(num_classes, pooled_size=pooled_size,
                            spatial_scale=1.0 / 2 ** len(backbone_filters),
                            hidden_units=hidden_units, roi_pooling=roi_pooling, name="head")
        images = keras.Input(shape=shape, name="images")
        proposals = keras.Input(shape=(5,), name="proposals")
        features = stack_layers(model_name, shape, images, backbone)
        class_logits, box_offsets = head([features, proposals])
        outputs = {"class_logits": class_logits, "box_offsets": box_offsets}
        super().__init__(inputs=[images, proposals], outputs=outputs, name=name, **kwargs)
        self.num_classes = head.num_classes
        self.image_shape = shape
        self.backbone_filters = backbone_filters
        self.pooled_size = head.pooled_size
        self.hidden_units = head.hidden_units
        self.roi_pooling = roi_pooling

    def get_config(self):
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "input_shape": self.image_shape,
            "backbone_filters": self.backbone_filters,
            "pooled_size": self.pooled_size,
            "hidden_units": self.hidden_units,
            "roi_pooling": self.roi_pooling,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
