"""LanguageModelData: a corpus's vocabulary, held-out tail and the two samplings."""

import numpy as np
import pytest

from kerasnotes.data.text.language_model_data import load_language_model_data


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcdefghij" * 20, encoding="utf-8")
    return path


def test_the_tail_is_held_out_and_both_samplings_serve_windows(text_file):
    data = load_language_model_data(str(text_file), validation_fraction=0.1, num_steps=4)
    assert (len(data.train_ids), len(data.validation_ids)) == (180, 20)
    assert data.vocabulary.decode(data.validation_ids[:3]) == "abc"
    assert data.corpus.name.startswith(str(text_file))
    assert data.describe() == (f"{data.corpus.name} (sha256 {data.corpus.fingerprint}): 180 "
                               "training and 20 validation char tokens, vocabulary of 11")
    sequential = [x for x, _ in data.train_dataset(3, 4, "sequential")]
    assert sequential[0].shape == (3, 4)
    np.testing.assert_array_equal(sequential[1][0], data.train_ids[4:8])  # rows carry on
    first = np.concatenate([x for x, _ in data.train_dataset(3, 4, "random", seed=0, epoch=0)])
    again = np.concatenate([x for x, _ in data.train_dataset(3, 4, "random", seed=0, epoch=0)])
    other = np.concatenate([x for x, _ in data.train_dataset(3, 4, "random", seed=0, epoch=1)])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    for x, y in data.validation_dataset(32, 4):  # 4 windows: one batch of at most 4
        assert x.shape == (4, 4)
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])


def test_the_embedded_docstrings_and_bad_settings(text_file):
    data = load_language_model_data(max_chars=3000, num_steps=8)
    assert "docstrings" in data.corpus.name and len(data.corpus.text) <= 3000
    assert len(data.train_ids) + len(data.validation_ids) == len(data.corpus.text)
    with pytest.raises(ValueError, match="sampling must be one of"):
        data.train_dataset(4, 8, "shuffled")
    with pytest.raises(ValueError, match="held-out"):
        load_language_model_data(str(text_file), validation_fraction=0.01, num_steps=4)
