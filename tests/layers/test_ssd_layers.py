"""The SSD building blocks: down-sample block, base network, predictors, multiscale concat."""

import keras
import numpy as np
import pytest

from kerasnotes.layers.box_predictor import BoxPredictor
from kerasnotes.layers.class_predictor import ClassPredictor
from kerasnotes.layers.down_sample_block import DownSampleBlock
from kerasnotes.layers.multiscale_concat import MultiscaleConcat
from kerasnotes.layers.ssd_base_network import SSDBaseNetwork
from tests.test_case import (
    assert_same_values_and_gradients,
    random_inputs,
    run_layer_checks,
    sgd_step,
)


def reference_down_sample(block, input_shape):
    """The notes' block from Keras built-ins, with the weights of `block` copied in."""
    reference = keras.Sequential([
        keras.Input(input_shape[1:]),
        keras.layers.Conv2D(block.filters, 3, padding="same"),
        keras.layers.BatchNormalization(momentum=0.9),
        keras.layers.ReLU(),
        keras.layers.Conv2D(block.filters, 3, padding="same"),
        keras.layers.BatchNormalization(momentum=0.9),
        keras.layers.ReLU(),
        keras.layers.MaxPooling2D(2, 2),
    ])
    sources = [block.convs[0], block.norms[0], block.convs[1], block.norms[1]]
    targets = [reference.layers[i] for i in (0, 1, 3, 4)]
    for source, target in zip(sources, targets, strict=True):
        target.set_weights(source.get_weights())
    return reference


def test_down_sample_block_checks(tmp_path):
    run_layer_checks(DownSampleBlock(6), (2, 10, 10, 3), tmp_path,
                     expected_output_shape=(2, 5, 5, 6))


@pytest.mark.parametrize("training", [False, True])
def test_down_sample_block_equals_keras_layers(training):
    shape = (2, 8, 8, 3)
    block = DownSampleBlock(4)
    block.build(shape)
    # Non-trivial moving statistics so inference mode is checked too.
    for norm in block.norms:
        norm.moving_mean.assign(random_inputs(norm.moving_mean.shape, seed=1))
        norm.moving_variance.assign(random_inputs(norm.moving_variance.shape, seed=2, low=0.5,
                                                  high=2.0))
    reference = reference_down_sample(block, shape)
    assert_same_values_and_gradients(
        lambda x: block(x, training=training), lambda x: reference(x, training=training),
        [random_inputs(shape)], block.trainable_variables, reference.trainable_variables,
    )


def test_down_sample_block_with_biases_trains_as_keras_layers():
    # In training the block leaves each convolution's bias out (the batch mean cancels it)
    # and adds it to the batch norm's moving mean only: after SGD steps every weight and
    # moving statistic equals the Keras layers', and so does inference.
    shape = (2, 8, 8, 3)
    block = DownSampleBlock(4)
    block.build(shape)
    for i, conv in enumerate(block.convs):
        conv.bias.assign(random_inputs(conv.bias.shape, seed=20 + i, low=-2.0, high=2.0))
    reference = reference_down_sample(block, shape)

    step_block, step_reference = sgd_step(block), sgd_step(reference)
    for i in range(3):
        x = random_inputs(shape, seed=30 + i, low=-1.0 + i, high=2.0 + i)
        gradients = step_block(x)
        step_reference(x)
        for conv in block.convs:
            index = [v.path for v in block.trainable_variables].index(conv.bias.path)
            assert np.all(gradients[index].numpy() == 0)
    for ours, theirs in zip(block.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert np.abs(block.norms[0].moving_mean.numpy()).max() > 0.1
    x = random_inputs(shape, seed=40)
    np.testing.assert_allclose(block(x, training=False), reference(x, training=False),
                               atol=1e-5, rtol=0)


def test_down_sample_block_moving_averages_use_its_momentum():
    block = DownSampleBlock(2, momentum=0.5)
    x = random_inputs((4, 4, 4, 1))
    block(x, training=True)
    conv_out = block.convs[0](x)
    batch_mean = np.mean(np.array(conv_out), axis=(0, 1, 2))
    np.testing.assert_allclose(block.norms[0].moving_mean, 0.5 * batch_mean, atol=1e-6)


def test_down_sample_block_halves_odd_sizes_down():
    assert DownSampleBlock(2)(random_inputs((1, 7, 9, 1))).shape == (1, 3, 4, 2)


def test_base_network_checks_and_shape(tmp_path):
    run_layer_checks(SSDBaseNetwork((2, 3, 4)), (2, 16, 16, 3), tmp_path,
                     expected_output_shape=(2, 2, 2, 4))
    assert SSDBaseNetwork().compute_output_shape((1, 256, 256, 3)) == (1, 32, 32, 64)


def test_base_network_is_the_three_blocks_in_series():
    base = SSDBaseNetwork((2, 3, 4))
    x = random_inputs((2, 16, 16, 3))
    expected = x
    base(x)
    for block in base.blocks:
        expected = block(expected, training=False)
    np.testing.assert_allclose(base(x, training=False), expected, atol=1e-6)
    assert [b.filters for b in base.blocks] == [2, 3, 4]


def test_predictor_checks(tmp_path):
    run_layer_checks(ClassPredictor(3, 2), (2, 5, 5, 4), tmp_path,
                     expected_output_shape=(2, 5, 5, 9))
    (tmp_path / "box").mkdir()
    run_layer_checks(BoxPredictor(3), (2, 5, 5, 4), tmp_path / "box",
                     expected_output_shape=(2, 5, 5, 12))


@pytest.mark.parametrize("make", [lambda: ClassPredictor(3, 2), lambda: BoxPredictor(3)])
def test_predictors_equal_a_3x3_same_convolution(make):
    layer = make()
    x = random_inputs((2, 6, 5, 4))
    layer(x)
    reference = keras.layers.Conv2D(layer.conv.filters, 3, padding="same")
    reference.build(x.shape)
    reference.set_weights(layer.get_weights())
    assert reference.kernel.shape == (3, 3, 4, layer.conv.filters)
    assert_same_values_and_gradients(layer, reference, [x], layer.trainable_variables,
                                     reference.trainable_variables)


def test_multiscale_concat_equals_numpy():
    maps = [random_inputs((2, 4, 4, 6), seed=1), random_inputs((2, 2, 1, 6), seed=2),
            random_inputs((2, 1, 1, 3), seed=3)]
    expected = np.concatenate([m.reshape(2, -1) for m in maps], axis=1)
    np.testing.assert_array_equal(MultiscaleConcat()(maps), expected)
    per_anchor = MultiscaleConcat(units_per_anchor=3)(maps)
    np.testing.assert_array_equal(per_anchor, expected.reshape(2, -1, 3))
    # Anchor k of pixel (i, j) of the first map has its 3 values in channels 3k..3k+2.
    np.testing.assert_array_equal(per_anchor[:, (1 * 4 + 2) * 2 + 1], maps[0][:, 1, 2, 3:6])
    assert MultiscaleConcat(3).compute_output_shape([m.shape for m in maps]) == (2, 37, 3)


def test_multiscale_concat_in_a_model_saves_and_reloads(tmp_path):
    first, second = keras.Input((4, 4, 2)), keras.Input((2, 2, 4))
    model = keras.Model([first, second], MultiscaleConcat(2)([first, second]))
    inputs = [random_inputs((2, 4, 4, 2)), random_inputs((2, 2, 2, 4), seed=1)]
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(reloaded(inputs), model(inputs))
    assert reloaded.layers[-1].get_config()["units_per_anchor"] == 2


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: DownSampleBlock(0), "filters=0"),
        (lambda: DownSampleBlock(2.5), "filters=2.5"),
        (lambda: DownSampleBlock(2, momentum=1.0), "momentum=1.0"),
        (lambda: SSDBaseNetwork(()), "filters"),
        (lambda: SSDBaseNetwork((16, -1)), "filters"),
        (lambda: ClassPredictor(0, 2), "num_anchors=0"),
        (lambda: ClassPredictor(4, 0), "num_classes=0"),
        (lambda: BoxPredictor(True), "num_anchors=True"),
        (lambda: MultiscaleConcat(0), "units_per_anchor=0"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_multiscale_concat_rejects_bad_inputs():
    with pytest.raises(ValueError, match="not a multiple of units_per_anchor=5"):
        MultiscaleConcat(5)([random_inputs((1, 2, 2, 3))])
    with pytest.raises(ValueError, match="list"):
        MultiscaleConcat()(random_inputs((1, 2, 2, 3)))
