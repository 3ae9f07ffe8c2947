"""Damaged checkpoints, a lost or garbled state file, interrupted writes and a full disk
(issue 21), on the tiny Trainer problem of `tiny_problem` (6 steps per epoch).

Every case starts from a run folder of 2 epochs (`ckpt-6`, `ckpt-12`), damages it
deterministically, and trains to 3 epochs: the run resumes from the newest intact
checkpoint, says so in one line, keeps what is damaged aside, and ends with the weights of
an uninterrupted run.
"""

import errno
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.training.checkpoints import CheckpointDamagedError, read_state
from tests.small_disk import fill, small_disk
from tests.training.tiny_problem import EPOCHS, build_trainer, dataset_for_epoch

STRATEGY = tf.distribute.get_strategy()


@pytest.fixture(scope="module")
def uninterrupted():
    trainer = build_trainer(STRATEGY)
    trainer.fit(dataset_for_epoch, epochs=EPOCHS)
    return trainer.model.get_weights()


@pytest.fixture
def run_dir(tmp_path):
    """A run folder after 2 of 3 epochs: ckpt-6 and ckpt-12."""
    path = str(tmp_path / "run")
    build_trainer(STRATEGY, path).fit(dataset_for_epoch, epochs=EPOCHS - 1)
    assert read_state(os.path.join(path, "checkpoints")) == ([6, 12], None)
    return path


def resume(run_dir):
    """Trains the run to EPOCHS epochs; returns the trainer and its history."""
    trainer = build_trainer(STRATEGY, run_dir)
    return trainer, trainer.fit(dataset_for_epoch, epochs=EPOCHS)


def assert_same_weights(trainer, expected):
    for got, want in zip(trainer.model.get_weights(), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


def notices(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("notice:")]


def files(folder, pattern="*"):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, pattern)))


def contents(folder, pattern):
    return {name: open(os.path.join(folder, name), "rb").read() for name in files(folder, pattern)}


def data_file(checkpoints, number):
    (path,) = glob.glob(os.path.join(checkpoints, f"ckpt-{number}.data-*"))
    return path


def truncate_data(checkpoints):
    path = data_file(checkpoints, 12)
    os.truncate(path, os.path.getsize(path) // 2)


def flip_bytes(checkpoints):
    with open(data_file(checkpoints, 12), "r+b") as file:
        file.seek(200)
        original = file.read(8)
        file.seek(200)
        file.write(bytes(b ^ 0xFF for b in original))


def empty_index(checkpoints):
    open(os.path.join(checkpoints, "ckpt-12.index"), "w").close()


def delete_data(checkpoints):
    os.remove(data_file(checkpoints, 12))


def missing_shard(checkpoints):
    """ckpt-12 rewritten (same values) in several shards, the last one then deleted."""
    trainer = build_trainer(STRATEGY)
    trainer.checkpoint.checkpoint.read(os.path.join(checkpoints, "ckpt-12")).expect_partial()
    for name in files(checkpoints, "ckpt-12.*"):
        os.remove(os.path.join(checkpoints, name))
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=256)
    trainer.checkpoint.checkpoint.write(
        os.path.join(checkpoints, "ckpt-12"),
        options=tf.train.CheckpointOptions(experimental_sharding_callback=policy))
    shards = files(checkpoints, "ckpt-12.data-*")
    assert len(shards) > 1, shards
    os.remove(os.path.join(checkpoints, shards[-1]))


@pytest.mark.parametrize("damage", [truncate_data, flip_bytes, empty_index, delete_data,
                                    missing_shard])
def test_a_damaged_newest_checkpoint_is_kept_aside_and_the_run_resumes_before_it(
        run_dir, uninterrupted, capsys, damage):
    checkpoints = os.path.join(run_dir, "checkpoints")
    damage(checkpoints)
    damaged_files = contents(checkpoints, "ckpt-12.*")
    capsys.readouterr()
    trainer, history = resume(run_dir)
    (line,) = notices(capsys)
    assert f"damaged checkpoint in {checkpoints}: ckpt-12 (" in line, line
    assert "resuming from ckpt-6 instead: 6 steps lost" in line, line
    (aside,) = glob.glob(os.path.join(checkpoints, "damaged", "*"))
    assert f"kept aside in {aside}" in line
    assert contents(aside, "*") == damaged_files  # kept as they were, never deleted
    assert len(history["loss"]) == 2  # epochs 2 and 3: resumed from the end of epoch 1
    assert_same_weights(trainer, uninterrupted)
    assert read_state(checkpoints) == ([6, 12, 18], None)


def test_the_reason_is_named(run_dir, capsys):
    checkpoints = os.path.join(run_dir, "checkpoints")
    truncate_data(checkpoints)
    resume(run_dir)
    (line,) = notices(capsys)
    assert "ckpt-12 (a data file is shorter than its index says (truncated))" in line


def test_a_deleted_state_file_is_rebuilt_and_nothing_is_overwritten(
        run_dir, uninterrupted, capsys):
    checkpoints = os.path.join(run_dir, "checkpoints")
    os.remove(os.path.join(checkpoints, "checkpoint"))
    before = contents(checkpoints, "ckpt-*")
    capsys.readouterr()
    trainer, history = resume(run_dir)
    (line,) = notices(capsys)
    assert f"{checkpoints}/checkpoint (the list of checkpoints) was missing" in line
    assert "newest intact: ckpt-12" in line
    assert len(history["loss"]) == 1  # only epoch 3: no silent restart at epoch 1
    assert_same_weights(trainer, uninterrupted)
    assert {k: v for k, v in contents(checkpoints, "ckpt-*").items() if k in before} == before
    assert read_state(checkpoints) == ([6, 12, 18], None)


@pytest.mark.parametrize("garbage", [b"garbage {{{\n", b"\x84\xff\x00\x01binary",
                                     b'model_checkpoint_path: "ckpt-1', b""])
def test_a_garbled_state_file_is_named_kept_aside_and_rebuilt(
        run_dir, uninterrupted, capsys, garbage):
    checkpoints = os.path.join(run_dir, "checkpoints")
    with open(os.path.join(checkpoints, "checkpoint"), "wb") as file:
        file.write(garbage)
    capsys.readouterr()
    trainer, history = resume(run_dir)
    (line,) = notices(capsys)
    assert f"{checkpoints}/checkpoint was garbled (" in line, line
    (aside,) = glob.glob(os.path.join(checkpoints, "damaged", "*"))
    assert f"kept aside in {aside}" in line
    assert open(os.path.join(aside, "checkpoint"), "rb").read() == garbage
    assert len(history["loss"]) == 1
    assert_same_weights(trainer, uninterrupted)


def test_when_no_checkpoint_is_intact_the_run_refuses_and_changes_nothing(run_dir):
    checkpoints = os.path.join(run_dir, "checkpoints")
    truncate_data(checkpoints)
    empty_index_6 = os.path.join(checkpoints, "ckpt-6.index")
    open(empty_index_6, "w").close()
    before = contents(checkpoints, "*")
    trainer = build_trainer(STRATEGY, run_dir)
    with pytest.raises(CheckpointDamagedError) as caught:
        trainer.fit(dataset_for_epoch, epochs=EPOCHS)
    message = str(caught.value)
    assert f"no intact checkpoint in {checkpoints}" in message
    assert "ckpt-12: a data file is shorter" in message
    assert "ckpt-6: its index file is empty" in message
    assert isinstance(caught.value, ValueError)  # the apps: one error line, exit code 2
    assert contents(checkpoints, "*") == before
    assert not os.path.exists(os.path.join(checkpoints, "damaged"))


def test_an_unfinished_write_is_set_aside_and_its_temporary_folder_removed(
        run_dir, uninterrupted, capsys):
    # A crash while ckpt-18 was written: a partial index, TensorFlow's temporary folder,
    # and the state file still naming ckpt-12.
    checkpoints = os.path.join(run_dir, "checkpoints")
    index = open(os.path.join(checkpoints, "ckpt-12.index"), "rb").read()
    with open(os.path.join(checkpoints, "ckpt-18.index"), "wb") as file:
        file.write(index[: len(index) // 2])
    os.makedirs(os.path.join(checkpoints, "ckpt-18_temp"))
    trainer, history = resume(run_dir)
    (line,) = notices(capsys)
    assert "ckpt-18 (an unfinished write: its index file is corrupted or truncated)" in line
    assert "resuming from ckpt-12 instead: 6 steps lost" in line
    assert len(history["loss"]) == 1
    assert_same_weights(trainer, uninterrupted)
    assert not os.path.exists(os.path.join(checkpoints, "ckpt-18_temp"))


def test_a_complete_checkpoint_that_was_not_recorded_is_used(run_dir, uninterrupted, capsys):
    # The process ended after writing ckpt-18 but before recording it.
    checkpoints = os.path.join(run_dir, "checkpoints")
    state = open(os.path.join(checkpoints, "checkpoint")).read()
    resume(run_dir)
    with open(os.path.join(checkpoints, "checkpoint"), "w") as file:
        file.write(state)
    capsys.readouterr()
    trainer, history = resume(run_dir)
    (line,) = notices(capsys)
    assert "ckpt-18 was written completely but not recorded" in line
    assert history == {}  # nothing left to train
    assert_same_weights(trainer, uninterrupted)
    assert read_state(checkpoints) == ([6, 12, 18], None)


def test_checkpoint_files_are_flushed_before_they_are_recorded(run_dir, monkeypatch):
    import kerasnotes.training.checkpoints as module

    checkpoints = os.path.join(run_dir, "checkpoints")
    synced = []
    flush = module._fsync

    def recording_fsync(path):
        flush(path)
        synced.append((os.path.basename(path), read_state(checkpoints)[0][-1]))

    monkeypatch.setattr(module, "_fsync", recording_fsync)
    resume(run_dir)
    names = [name for name, _ in synced]
    assert "ckpt-18.index" in names and any(n.startswith("ckpt-18.data-") for n in names)
    assert "checkpoints" in names  # the folder too (the renames)
    # Each fsync of ckpt-18's files happened while the state file still named ckpt-12.
    assert {latest for _, latest in synced} == {12}
    assert read_state(checkpoints)[0][-1] == 18


# ---------------------------------------------------------------- a full disk




def test_a_full_disk_at_a_checkpoint_is_one_error_and_the_rerun_resumes(
        tmp_path, uninterrupted):
    run_dir = str(tmp_path / "run")
    checkpoints = os.path.join(run_dir, "checkpoints")
    with small_disk(checkpoints):
        build_trainer(STRATEGY, run_dir).fit(dataset_for_epoch, epochs=EPOCHS - 1)
        filler = fill(checkpoints)
        before = contents(checkpoints, "*")
        with pytest.raises(OSError) as caught:
            resume(run_dir)
        error = caught.value
        assert error.errno == errno.ENOSPC and error.filename == checkpoints
        assert "no space left on device for checkpoint ckpt-18: it needs about" in error.strerror
        assert "previous checkpoints are intact (newest: ckpt-12)" in error.strerror
        assert contents(checkpoints, "*") == before  # nothing partial, nothing recorded
        os.remove(filler)
        trainer, history = resume(run_dir)
        assert len(history["loss"]) == 1
        assert_same_weights(trainer, uninterrupted)


def test_a_full_disk_for_the_tensorboard_events_is_one_error(tmp_path):
    run_dir = str(tmp_path / "run")
    with small_disk(run_dir):
        fill(run_dir)
        with pytest.raises(OSError) as caught:
            resume(run_dir)
    error = caught.value
    assert error.errno == errno.ENOSPC
    assert error.filename == os.path.join(run_dir, "train")
    assert "no space left on device for TensorBoard events" in error.strerror


# ---------------------------------------------------------------- word2vec's fused model


def test_the_fused_word2vec_model_falls_back_the_same_way(tmp_path, capsys):
    # FusedWord2Vec trains through the Trainer, one kernel call or TF step per global step.
    from tests.models.test_word2vec_fused import _fit, _fused_model, _small_corpus

    tokens, sentence_ids, counts = _small_corpus()

    def fit(run_dir):  # 4000 words in steps of ~500: 8 steps per epoch
        model = _fused_model(tokens, sentence_ids, counts, 2, backend="tf", step_words=500)
        return _fit(model, run_dir, 2, checkpoint_every_n_steps=4, max_checkpoints=3)[0]

    whole = fit(tmp_path / "whole")
    run_dir = tmp_path / "damaged"
    fit(run_dir)
    checkpoints = str(run_dir / "checkpoints")
    assert read_state(checkpoints) == ([8, 12, 16], None)
    flip_bytes_of = data_file(checkpoints, 16)
    with open(flip_bytes_of, "r+b") as file:
        file.seek(100)
        file.write(b"\xff" * 8)
    capsys.readouterr()
    resumed = fit(run_dir)
    (line,) = notices(capsys)
    assert "ckpt-16 (its data does not match its checksums (corrupted))" in line, line
    assert "resuming from ckpt-12 instead: 4 steps lost" in line, line
    assert int(resumed.global_step.numpy()) == 16
    np.testing.assert_allclose(resumed.model.input_vectors.numpy(),
                               whole.model.input_vectors.numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- two workers


def test_two_workers_fall_back_to_the_same_checkpoint(tmp_path, uninterrupted):
    # A run folder of 2 epochs written by one process; its ckpt-12 then damaged. Both
    # workers (127.0.0.1, free ports) must restore ckpt-6 (the Trainer's worker-agreement
    # check would stop them otherwise); only the chief moves files and says so.
    from tests.training.test_multi_worker import Cluster

    run_dir = tmp_path / "run"
    build_trainer(STRATEGY, str(run_dir)).fit(dataset_for_epoch, epochs=EPOCHS - 1)
    checkpoints = str(run_dir / "checkpoints")
    truncate_data(checkpoints)
    with Cluster(tmp_path / "cluster", run_dir) as cluster:
        for index in (0, 1):
            cluster.start(index)
        results = [cluster.wait(index) for index in (0, 1)]
    outputs = [output for _, output, _ in results]
    assert [code for code, _, _ in results] == [0, 0], "\n----\n".join(o[-3000:] for o in outputs)
    chief_notices, other_notices = ([line for line in output.splitlines()
                                     if line.startswith("notice:")] for output in outputs)
    (line,) = chief_notices
    assert "ckpt-12 (a data file is shorter" in line and "6 steps lost" in line, line
    assert other_notices == []
    assert len(glob.glob(os.path.join(checkpoints, "damaged", "*", "ckpt-12.index"))) == 1
    chief, other = (np.load(tmp_path / "cluster" / f"w{index}.npz") for index in (0, 1))
    assert len(chief["losses"]) == 2  # epochs 2 and 3 on both
    for index, expected in enumerate(uninterrupted):
        np.testing.assert_array_equal(chief[f"arr_{index}"], other[f"arr_{index}"])
        np.testing.assert_allclose(chief[f"arr_{index}"], expected, atol=1e-5)
