"""The test-only FaultInjection callback fires at its phase's exact point."""

import os

import pytest

from kerasnotes.training.callbacks import fault_injection
from kerasnotes.training.callbacks.fault_injection import FaultInjection
from tests.training.test_trainer import build, make_dataset, regression_data


class Ended(Exception):
    pass


@pytest.fixture(autouse=True)
def no_exit(monkeypatch):
    def end(code):
        raise Ended(code)

    monkeypatch.setattr(fault_injection.os, "_exit", end)


def checkpoints_when_killed(tmp_path, wanted):
    x, y = regression_data()  # 8 steps per epoch
    checkpoints = tmp_path / "checkpoints"
    trainer = build(run_dir=str(tmp_path), checkpoint_every_n_steps=3, max_checkpoints=10,
                    callbacks=[FaultInjection(wanted, str(checkpoints))])
    with pytest.raises(Ended):
        trainer.fit(make_dataset(x, y), epochs=2,
                    validation_data=make_dataset(x, y)(0))
    return (sorted(int(n[5:-6]) for n in os.listdir(checkpoints) if n.endswith(".index")),
            int(trainer.global_step.numpy()))


@pytest.mark.parametrize("wanted, saved, step", [
    ("after_step:6", [3], 6),              # the step is done, its checkpoint is not
    ("after_checkpoint:6", [3, 6], 6),     # right after the checkpoint of step 6
    ("validation:8", [3, 6], 8),           # the epoch's training is done, nothing saved
    ("epoch_end:8", [3, 6], 8),            # before the epoch-end checkpoint
    ("after_checkpoint:9", [3, 6, 8, 9], 9),
])
def test_each_phase_ends_the_process_at_its_point(tmp_path, wanted, saved, step):
    assert checkpoints_when_killed(tmp_path, wanted) == (saved, step)


def test_an_unknown_phase_is_named():
    with pytest.raises(ValueError, match="unknown phase 'after_lunch'"):
        FaultInjection("after_lunch:3")
