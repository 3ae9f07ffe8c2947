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
    try:
        body = keras.Model(source_model.inputs, head.input, name="source_body")
    except (AttributeError, ValueError) as error:
        raise ValueError("make_target_model: source_model must be a functional model "
                         f"(layers on a keras.Input); {error}") from None
    copy = keras.models.clone_model(body)
    copy.set_weights(body.get_weights())
    outputs = keras.layers.Dense(
        num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed),
        name=output_name)(copy.outputs[0])
    return keras.Model(copy.inputs, outputs, name=f"{source_model.name}_finetuned")
