"""TextGeneratorServer: plain-TF SavedModel, greedy generation equal to the model's rollout."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.models.rnn_language_model import RNNLanguageModel
from kerasnotes.serving.export import export_saved_model
from kerasnotes.serving.text_generator import TextGeneratorServer, serving_copy
from tests.test_case import assert_ops_wait_for_assertions

TEXT = "the quick brown fox jumps over the lazy dog and the quick cat. " * 3

# Runs in a fresh interpreter that never imports kerasnotes.
LOAD_AND_GENERATE = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = {}
for prefix in sys.argv[3:]:
    result = served(prefix=tf.constant(prefix), length=tf.constant(int(sys.argv[2])))
    out[prefix] = {k: (v.numpy().decode() if v.dtype == tf.string else int(v))
                   for k, v in result.items()}
assert "kerasnotes" not in sys.modules
print(json.dumps(out))
"""


def language_model(token_level="char", cell="gru", seed=0, **options):
    keras.mixed_precision.set_dtype_policy("float32")
    keras.utils.set_random_seed(seed)
    model = RNNLanguageModel(TextVocabulary.from_text(TEXT, token_level), cell=cell, units=8,
                             **options)
    model.build((None, None))
    for i, variable in enumerate(model.weights):  # larger weights: a varied rollout
        variable.assign(np.random.default_rng(i).normal(0, 1.0, variable.shape))
    return model


def argmax_rollout(model, prefix, length):
    """`RNNLanguageModel.generate`, greedy: the argmax token fed back step by step."""
    return model.generate(prefix, length, temperature=0.0)


def serve(server, prefix, length):
    out = server.serve(tf.constant(prefix), tf.constant(length, tf.int32))
    return {k: (v.numpy().decode() if v.dtype == tf.string else int(v)) for k, v in out.items()}


@pytest.mark.parametrize("cell, layers", [("gru", 1), ("lstm", 2), ("rnn", 1)])
def test_greedy_generation_equals_the_models_argmax_rollout(cell, layers):
    model = language_model(cell=cell, num_layers=layers)
    server = TextGeneratorServer(model)
    for prefix, length in (("the ", 15), ("q", 1), ("dog", 0)):
        out = serve(server, prefix, length)
        assert out["text"] == argmax_rollout(model, prefix, length)
        assert out["text"] == prefix + out["generated"] and out["unknown_tokens"] == 0
    assert serve(server, "Qé ", 4)["unknown_tokens"] == 2  # 'Q' and 'é' are not in TEXT


def test_word_level_prefix_unknown_words_and_joining():
    model = language_model("word", embedding_dim=4)
    server = TextGeneratorServer(model)
    out = serve(server, "the zyzzyva  fox ", 3)
    assert out["unknown_tokens"] == 1
    assert out["text"] == argmax_rollout(model, "the zyzzyva  fox ", 3)
    assert out["text"] == "the zyzzyva  fox " + out["generated"]
    assert len(out["generated"].split()) == 3
    assert serve(server, "the fox", 0)["text"] == "the fox"


def test_empty_prefix_fails_and_bidirectional_is_refused():
    server = TextGeneratorServer(language_model())
    with pytest.raises(tf.errors.InvalidArgumentError, match="prefix must not be empty"):
        server.serve(tf.constant(""), tf.constant(3))
    with pytest.raises(ValueError, match="bidirectional"):
        TextGeneratorServer(language_model(bidirectional=True))


def test_serving_copy_is_float32_stateless_and_equal():
    model = language_model(stateful=True)
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        copy = serving_copy(model)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert not copy.stateful and copy is not model
    assert all(layer.dtype_policy.name == "float32" for layer in copy._flatten_layers())
    x = np.array([model.vocabulary.encode("the quick")], "int32")
    np.testing.assert_allclose(copy(x), model(x, training=False), atol=1e-6)


def test_export_loads_in_plain_tensorflow_and_generates_the_same(tmp_path):
    model = language_model(cell="lstm")
    server = TextGeneratorServer(model)
    assert server.signatures() == {"serving_default": server.serve}
    path = export_saved_model(server, str(tmp_path / "export"), server.signatures())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    prefixes = ["the ", "lazy", "Zebra "]
    result = subprocess.run([sys.executable, "-c", LOAD_AND_GENERATE, path, "12", *prefixes],
                            capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                            env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    for prefix in prefixes:
        assert served[prefix]["text"] == argmax_rollout(model, prefix, 12)
        assert served[prefix] == serve(server, prefix, 12)
    assert served["Zebra "]["unknown_tokens"] == 1


def test_the_model_waits_for_the_empty_prefix_check():
    server = TextGeneratorServer(language_model())
    # The embedding lookups of the prefix and the generation loop read the ids.
    assert_ops_wait_for_assertions(
        server.serve.get_concrete_function().graph,
        lambda op: op.type in ("GatherV2", "ResourceGather", "While"))
