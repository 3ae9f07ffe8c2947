"""The callbacks `Trainer.fit` runs, one concept each (and the test-only fault injection)."""

from kerasnotes.training.callbacks.fault_injection import FaultInjection, PoisonWeights
from kerasnotes.training.callbacks.hooks import EpochHooks
from kerasnotes.training.callbacks.non_finite import StopOnNonFinite
from kerasnotes.training.callbacks.preemption import SaveOnPreemption
from kerasnotes.training.callbacks.profiler import Profiler
from kerasnotes.training.callbacks.progress import ProgressDisplay
from kerasnotes.training.callbacks.run_checkpoint import CheckpointRun
from kerasnotes.training.callbacks.tensorboard_scalars import TensorBoardScalars

__all__ = ["CheckpointRun", "EpochHooks", "FaultInjection", "PoisonWeights", "ProgressDisplay",
           "Profiler", "SaveOnPreemption", "StopOnNonFinite", "TensorBoardScalars"]
