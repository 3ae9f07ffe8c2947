"""Checkpoints of a training run: save, restore past damaged ones, agreement of the workers."""

import errno
import os
import re
import shutil
import sys
import time

import tensorflow as tf
from google.protobuf import text_format
from tensorflow.python.checkpoint import checkpoint_management
from tensorflow.python.training.checkpoint_state_pb2 import CheckpointState

from kerasnotes.training.disk_space import folder_size, is_disk_full, no_space_error
from kerasnotes.training.strategy import is_chief, worker_dir

STATE_NAME = "checkpoint"  # tf.train.CheckpointManager's list of checkpoints
DAMAGED_FOLDER = "damaged"  # checkpoints/damaged/<time>/: what restore kept aside
_FILE = re.compile(r"ckpt-(\d+)\.(?:index|data-\d+-of-\d+)")


class NonFiniteLossError(FloatingPointError):
    """Raised when the loss, the weights or a validation result becomes NaN or infinite."""


class CheckpointDamagedError(ValueError):
    """Raised by `RunCheckpoint.restore` when checkpoints exist but none of them is intact."""


class RunCheckpoint:
    """Model, optimizer, metric states, epoch and step of a run, in `run_dir/checkpoints`.

    A thin layer over `tf.train.Checkpoint` and `tf.train.CheckpointManager` with the rules
    the apps promise:

    - a checkpoint is written only from finite weights (`save` raises
      `NonFiniteLossError` instead, so the newest checkpoint is always the last good one);
    - write, flush, then record: the checkpoint's files are written (TensorFlow writes them
      under a temporary name, then renames them), flushed to the disk (`fsync`), and only
      then recorded in the `checkpoint` state file (replaced atomically). A full disk
      raises `OSError(ENOSPC)` naming the folder and the space needed; nothing is recorded
      and the previous checkpoints stay as they were;
    - `restore` checks the newest checkpoint before loading it (every tensor is read, so
      TensorFlow verifies its checksums). A damaged one (truncated, corrupted, a file
      missing) is named in one line, moved into `checkpoints/damaged/<time>/` (never
      deleted), and the next older one is tried; the line says how many steps are lost.
      A missing or garbled state file is rebuilt from the checkpoint files present (a
      garbled one is kept aside too). When checkpoints exist but none is intact, restore
      raises `CheckpointDamagedError` and changes nothing: it never restarts over them;
    - under multi-worker training every worker makes the same choice from the shared
      folder (only the chief moves files and rewrites the state file), and
      `check_workers_agree` verifies that they restored the same global step;
    - only the chief's copy is kept (other workers save to a private folder, then delete it:
      saving may run collective ops, so every worker must call `save`).

    Checkpoint numbers are global steps (`save(number=global_step, ...)`): the steps lost
    to a damaged checkpoint are the difference of the numbers.

    Args:
        run_dir: the run folder (`None`: no checkpoints).
        strategy: the training strategy.
        max_to_keep: how many checkpoints to keep.
        **objects: what to save, e.g. `model=model, optimizer=optimizer, epoch=epoch`.

    Example:

    >>> checkpoint = RunCheckpoint("runs/x", strategy, model=model, step=step)
    >>> checkpoint.restore()             # None on a fresh run folder
    >>> checkpoint.save(8, model.weights, "epoch 1, step 8")
    'runs/x/checkpoints/ckpt-8'
    """

    def __init__(self, run_dir, strategy, max_to_keep=3, **objects):
        self.strategy = strategy
        self.max_to_keep = max_to_keep
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.directory = os.path.join(run_dir, "checkpoints") if run_dir is not None else None
        self._manager = None

    @property
    def manager(self):
        """The `tf.train.CheckpointManager` of this worker (`None` without a run folder).

        Made on first use, i.e. after `restore` has repaired the state file it reads.
        """
        if self._manager is None and self.directory is not None:
            self._manager = tf.train.CheckpointManager(
                self.checkpoint, worker_dir(self.directory, self.strategy),
                max_to_keep=self.max_to_keep)
        return self._manager

    @property
    def latest(self):
        """Path of the newest recorded checkpoint of the run (`None` if there is none)."""
        if self.directory is None:
            return None
        recorded, _ = read_state(self.directory)
        return self._path(recorded[-1]) if recorded else None

    def _path(self, number):
        return os.path.join(self.directory, f"ckpt-{number}")

    def restore(self):
        """Restores the newest intact checkpoint; returns its path, or `None` when there is
        none (a fresh run). See the class docstring for what happens to damaged ones.

        Raises:
            CheckpointDamagedError: checkpoints exist but none of them is intact.
        """
        if self.directory is None:
            return None
        recorded, state_problem = read_state(self.directory)
        on_disk = checkpoint_numbers(self.directory)
        damaged = []
        chosen = None
        for number in sorted(set(recorded) | set(on_disk), reverse=True):
            problem = checkpoint_damage(self._path(number))
            if problem is None:
                chosen = number
                break
            if number not in recorded and state_problem is None:
                problem = f"an unfinished write: {problem}"
            damaged.append((number, problem))
        if chosen is None and damaged:
            shown = "; ".join(f"ckpt-{n}: {problem}" for n, problem in damaged)
            raise CheckpointDamagedError(
                f"no intact checkpoint in {self.directory} ({shown}). Nothing was changed; "
                "to start afresh, move these checkpoints out of the folder (or start "
                "without resuming, which moves the whole run folder aside)."
            )
        if is_chief(self.strategy):
            self._repair(recorded, state_problem, damaged, chosen)
        if chosen is None:
            return None
        path = self._path(chosen)
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return path

    def _repair(self, recorded, state_problem, damaged, chosen):
        """The chief's part of `restore`: keeps damaged files aside, rewrites the state
        file when it is missing, garbled or names a checkpoint other than `chosen`, and
        says so in one line each."""
        if not os.path.isdir(self.directory):
            return  # a fresh run
        for name in os.listdir(self.directory):  # left by a write that was interrupted
            if re.fullmatch(r"ckpt-\d+_temp", name):
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
        state_path = os.path.join(self.directory, STATE_NAME)
        garbled = state_problem not in (None, "missing")
        moved = [name for number, _ in damaged
                 for name in checkpoint_files(self.directory, number)]
        aside = _aside_folder(self.directory) if moved or garbled else None
        for name in moved:
            os.rename(os.path.join(self.directory, name), os.path.join(aside, name))
        if garbled:
            os.rename(state_path, os.path.join(aside, STATE_NAME))
        if damaged:
            shown = ", ".join(f"ckpt-{n} ({problem})" for n, problem in damaged)
            lost = damaged[0][0] - chosen  # restore raised if there is no intact one
            _notice(f"damaged checkpoint{'s' if len(damaged) > 1 else ''} in "
                    f"{self.directory}: {shown}; "
                    f"{f'kept aside in {aside}' if moved else 'no files left'}; resuming "
                    f"from ckpt-{chosen} instead: {lost} step{'s' if lost != 1 else ''} lost")
        if chosen is None:
            if garbled:
                _notice(f"{state_path} was garbled ({state_problem}); kept aside in {aside}; "
                        "no checkpoint present: starting afresh")
            return
        if state_problem is None and not damaged and recorded and recorded[-1] == chosen:
            return
        kept = [n for n in checkpoint_numbers(self.directory) if n <= chosen]
        _write_state(self.directory, [self._path(n) for n in kept])
        if state_problem is None and not damaged and chosen not in recorded:
            _notice(f"{self._path(chosen)} was written completely but not recorded in "
                    f"{state_path} (the process ended in between); recorded it now")
        elif state_problem == "missing":
            _notice(f"{state_path} (the list of checkpoints) was missing; rebuilt it from the "
                    f"checkpoint files present (newest intact: ckpt-{chosen})")
        elif state_problem is not None:
            _notice(f"{state_path} was garbled ({state_problem}); kept aside in {aside} and "
                    f"rebuilt from the checkpoint files present (newest intact: ckpt-{chosen})")

    def save(self, number, variables, where):
        """Saves checkpoint `number` if every variable in `variables` is finite.

        `where` describes the position (e.g. "epoch 2, step 16") for the error message.

        Raises:
            NonFiniteLossError: a variable is NaN or infinite (nothing is saved).
            OSError: `ENOSPC`, the disk is full (nothing is recorded; the message names
                the folder and about how much space the checkpoint needs).
        """
        if self.manager is None:
            return None
        if not all_finite(variables):
            raise NonFiniteLossError(
                f"the weights became NaN or infinite at {where}; nothing was saved. The last "
                f"good checkpoint is {self.latest or 'none (no checkpoint yet)'}. Lower the "
                "learning rate or clip gradients, then rerun (the run resumes from it)."
            )
        chief = is_chief(self.strategy)
        # Write, flush, then record: the manager records the checkpoint in a callback that
        # runs after the ones given here.
        options = tf.train.CheckpointOptions(
            experimental_write_callbacks=[sync_checkpoint_files] if chief else None)
        try:
            path = self.manager.save(checkpoint_number=number, options=options)
        except (tf.errors.OpError, OSError) as error:
            if not is_disk_full(error):
                raise
            shutil.rmtree(os.path.join(self.manager.directory, f"ckpt-{number}_temp"),
                          ignore_errors=True)
            latest = self.latest
            needed = (folder_size_of_checkpoint(latest) if latest
                      else sum(_nbytes(v) for v in variables))
            raise no_space_error(
                self.manager.directory, f"checkpoint ckpt-{number}", needed,
                "nothing was recorded and the previous checkpoints are intact (newest: "
                f"{os.path.basename(latest) if latest else 'none'}). Free some space, then "
                "rerun the same command to resume",
            ) from error
        if not chief:
            tf.io.gfile.rmtree(self.manager.directory)
        return path

    def check_workers_agree(self, global_step):
        """Raises if the workers of a multi-worker run restored different global steps."""
        if not self.strategy.extended._in_multi_worker_mode():
            return
        # Every worker computes the same mean and mean square of the restored global step;
        # they differ only if some worker restored another checkpoint, and then all raise.
        position = tf.cast(global_step, tf.float64)
        per_replica = self.strategy.run(lambda: tf.stack([position, position * position]))
        mean, mean_square = self.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, per_replica, axis=None
        ).numpy()
        if mean_square - mean * mean > 1e-9:
            raise RuntimeError(
                "workers restored different checkpoints (mean global step "
                f"{mean:.1f}). Put the run folder on storage that every worker can read, or "
                "remove the stale checkpoints."
            )


@tf.function(reduce_retracing=True)
def _all_finite(tensors):
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])


def all_finite(variables):
    """True when every floating-point variable in `variables` holds only finite values."""
    values = [tf.convert_to_tensor(_tf_value(v)) for v in variables]
    values = [v for v in values if v.dtype.is_floating]
    return True if not values else bool(_all_finite(values))


def _tf_value(variable):
    """A Keras variable's TF variable (`.value`); TF variables and tensors as they are."""
    if isinstance(variable, (tf.Variable, tf.Tensor)):
        return variable
    return getattr(variable, "value", variable)


def read_state(directory):
    """`(numbers, problem)` of the state file `directory/checkpoint`.

    `numbers`: the checkpoint numbers it records, oldest first, the latest last (only
    `ckpt-N` names of `directory`). `problem`: `None` (a valid file), `"missing"`, or why
    the file is garbled (then `numbers` is empty).
    """
    path = os.path.join(directory, STATE_NAME)
    try:
        with open(path, "rb") as file:
            content = file.read(1 << 20)
    except FileNotFoundError:
        return [], "missing"
    try:
        state = text_format.Parse(content.decode("utf-8"), CheckpointState())
    except UnicodeDecodeError:
        return [], "not UTF-8 text"
    except text_format.ParseError as error:
        return [], f"not a checkpoint list: {error}"
    if not state.model_checkpoint_path:
        return [], "it names no checkpoint"
    numbers = []
    for name in [*state.all_model_checkpoint_paths, state.model_checkpoint_path]:
        match = re.fullmatch(r"ckpt-(\d+)", os.path.basename(name))
        inside = os.path.dirname(name) in ("", directory) or (
            os.path.isabs(name) and os.path.dirname(name) == os.path.abspath(directory))
        if match and inside:
            number = int(match.group(1))
            if number in numbers:
                numbers.remove(number)
            numbers.append(number)
    return numbers, None


def checkpoint_numbers(directory):
    """The numbers `N` of the `ckpt-N.index` / `ckpt-N.data-*` files in `directory`, sorted."""
    if not os.path.isdir(directory):
        return []
    return sorted({int(m.group(1)) for m in map(_FILE.fullmatch, os.listdir(directory)) if m})


def checkpoint_files(directory, number):
    """The names of the files of checkpoint `ckpt-<number>` in `directory`."""
    return sorted(name for name in os.listdir(directory)
                  if (m := _FILE.fullmatch(name)) and int(m.group(1)) == number)


def folder_size_of_checkpoint(path):
    """Bytes of the files of the checkpoint at `path` (`dir/ckpt-N`)."""
    directory, name = os.path.split(path)
    number = int(name.rsplit("-", 1)[1])
    return sum(folder_size(os.path.join(directory, f)) for f in
               checkpoint_files(directory, number))


def checkpoint_damage(path):
    """Why the checkpoint at `path` (`dir/ckpt-N`) cannot be restored; `None` if intact.

    Reads every tensor: TensorFlow checks the index's block checksums and each tensor's
    crc32c, so truncated, corrupted and missing files are all found. Costs one read of
    the checkpoint (about 25 ms for 24 MB, 175 ms for 216 MB here). A file that cannot be
    read for lack of permission raises `OSError` instead (that is not damage).
    """
    index = path + ".index"
    if not os.path.exists(index):
        return "its index file is missing"
    if os.path.getsize(index) == 0:
        return "its index file is empty"
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as error:
        return _describe_damage(error, path)
    return None


def _describe_damage(error, path):
    text = " ".join(str(getattr(error, "message", None) or error).split())
    if "Permission denied" in text:
        raise OSError(errno.EACCES, f"cannot read checkpoint ({text})", path) from error
    if "Read less bytes than requested" in text:
        return "a data file is shorter than its index says (truncated)"
    if "Checksum does not match" in text:
        return "its data does not match its checksums (corrupted)"
    if "No such file or directory" in text:
        missing = text.split(";")[0].strip()
        return f"a data file is missing ({os.path.basename(missing)})"
    if any(t in text for t in ("sstable", "block checksum", "Unable to read file")):
        return "its index file is corrupted or truncated"
    return text[:200]


def sync_checkpoint_files(save_path):
    """Flushes the files of the checkpoint at `save_path` and its folder to the disk
    (`fsync`), so that recording it afterwards never names data that a power cut loses."""
    if "://" in save_path:  # not a local file system
        return
    directory, name = os.path.split(save_path)
    number = int(name.rsplit("-", 1)[1])
    for file_name in checkpoint_files(directory or ".", number):
        _fsync(os.path.join(directory, file_name))
    _fsync(directory or ".")


def _fsync(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_state(directory, paths):
    """Writes the state file of `directory` listing `paths` (oldest first), as the
    manager writes it (relative names, replaced atomically)."""
    times = [os.path.getmtime(p + ".index") if os.path.exists(p + ".index") else time.time()
             for p in paths]
    absolute = os.path.abspath(directory)
    checkpoint_management.update_checkpoint_state_internal(
        absolute, os.path.join(absolute, os.path.basename(paths[-1])),
        [os.path.join(absolute, os.path.basename(p)) for p in paths],
        save_relative_paths=True, all_model_checkpoint_timestamps=times,
        last_preserved_timestamp=min(times) - 1)  # all tracked: the oldest go first


def _aside_folder(directory):
    """A new folder `directory/damaged/<time>[-k]/` for what restore keeps aside."""
    base = os.path.join(directory, DAMAGED_FOLDER, time.strftime("%Y%m%d-%H%M%S"))
    path, k = base, 1
    while os.path.exists(path):
        k += 1
        path = f"{base}-{k}"
    os.makedirs(path)
    return path


def _notice(message):
    print(f"notice: {message}", file=sys.stderr, flush=True)


def _nbytes(variable):
    value = _tf_value(variable)
    return int(value.shape.num_elements() or 0) * value.dtype.size
