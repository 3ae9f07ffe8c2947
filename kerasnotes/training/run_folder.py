"""The folder a training run owns: its owner mark, its lock, and its config.json.

The rules (README, "Apps", says them for users): a run folder is identified by its real path
(a symlink or a moved folder resumes the same run; `logdir` in config.json is information);
runs mark the folders they create (`.kerasnotes-run`) and refuse any other non-empty folder
(but a run folder of an earlier version: config.json and only `RUN_ENTRIES`), a file, the
working directory or a folder containing it, the home folder and `/`; one process at a time
holds the folder (`fcntl.flock` on `.lock`); a folder of other settings is refused with the
settings that differ (but `RESUMABLE_CHANGES`, said and recorded); starting afresh
(`resume=False`) moves only a marked folder holding only run entries aside to
`<folder>.old-<time>`, never deletes.

    >>> folder = RunFolder("runs/classify/lenet", config)  # config: a dataclass of settings
    >>> folder.check()  # read only, before reading data; then, once every input is valid:
    >>> folder.open()   # lock, move aside, compare; and when training starts:
    >>> folder.write_config()
"""

import dataclasses
import fcntl
import json
import os
import re
import time

# Settings that may change when a run is resumed; any other difference is an error.
RESUMABLE_CHANGES = {"epochs", "resume", "export_dir", "verbose", "log_every_n_steps",
                     "checkpoint_every_n_steps", "lr", "clip", "clip_global_norm",
                     "steps_per_execution", "profile_steps"}
# Settings kept in config.json as information only: the path the folder was given by.
INFORMATION = {"logdir"}
CONFIG_NAME = "config.json"
LOCK_NAME = ".lock"
MARKER_NAME = ".kerasnotes-run"
# Every name the apps' runner, the Trainer (train/, validation/, checkpoints/) and the apps write
# into a run folder (top level; tabular's fold<k>/ too, below).
RUN_ENTRIES = frozenset({
    MARKER_NAME, LOCK_NAME, CONFIG_NAME, CONFIG_NAME + ".tmp", "train", "validation",
    "checkpoints", "detections.png", "vocabulary.json", "projector", "final", "predictions.csv",
    "source", "finetune", "scratch", "source_model.keras", "stylized.png",
    "sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam",
})
_FOLD = re.compile(r"fold[0-9]+")


def is_run_entry(name):
    """Whether `name` (a top-level entry of a run folder) is one a run writes."""
    return name in RUN_ENTRIES or _FOLD.fullmatch(name) is not None



class RunFolder:
    """The folder of one run at `path`, of the settings `config` (a dataclass with `task`,
    `resume` and `logdir`); `chief`: whether this process writes it (multi-worker).

    Its messages say how to choose another folder and how to start afresh in `words`
    (keys as `WORDS`): an app names its flags there (apps.runner.RUN_FOLDER_WORDS)."""

    WORDS = {"choose_folder": "choose an empty or new run folder",
             "choose_another": "choose another run folder", "start_afresh": "resume=False"}

    def __init__(self, path, config, chief=True, **words):
        for name, text in (self.WORDS | words).items():
            setattr(self, name, text)
        self.config = config
        self.path = path
        self.chief = chief
        self._lock_file = None
        self._opened = False
        self.changes = {}

    @property
    def real_path(self):  # the folder's identity: its absolute path, symlinks resolved
        return os.path.realpath(self.path)

    @property
    def config_path(self):
        return os.path.join(self.path, CONFIG_NAME)

    def check(self):
        """Raises `ValueError` unless the folder may be used as this run's folder (and, when
        starting afresh, moved aside). Reads only: call it before anything else."""
        real = self.real_path
        protected = _protected(real)
        if protected:
            raise ValueError(f"run folder {self.path} is {protected}; a run needs a folder of "
                             f"its own: {self.choose_folder}")
        existing = real
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            shown = self.path if existing == real else f"{self.path} ({existing})"
            raise ValueError(f"run folder {shown} is a file, not a folder; "
                             f"{self.choose_folder}")
        entries = sorted(os.listdir(real)) if existing == real else []
        foreign = [name for name in entries if not is_run_entry(name)]
        owned = MARKER_NAME in entries
        if not owned and set(entries) - {LOCK_NAME} and (foreign or CONFIG_NAME not in entries):
            held = (f"it holds {foreign[0]!r}" + (f" and {len(foreign) - 1} more"
                                                   if len(foreign) > 1 else "")
                    if foreign else f"it holds {entries[0]!r} but no {CONFIG_NAME}")
            raise ValueError(f"run folder {self.path} is an existing folder that this project "
                             f"did not create (no {MARKER_NAME} mark; {held}); "
                             f"{self.choose_folder}")
        if self.config.resume or not self.chief or not _has_content(real):
            return
        if foreign:
            raise ValueError(f"{self.start_afresh}: run folder {self.path} holds {foreign[0]!r}, "
                             "which no run wrote, so it is not moved aside; move that out of "
                             f"it, or {self.choose_another}")
        if not owned and not _is_run_config(self.config_path):
            raise ValueError(f"{self.start_afresh}: run folder {self.path} has no {MARKER_NAME} "
                             f"mark and its {CONFIG_NAME} is not a run's, so it is not moved "
                             f"aside; move it yourself, or {self.choose_another}")

    def open(self):
        """Checks, locks the folder, moves it aside when starting afresh, checks the saved
        settings and marks the folder as this project's. Call once every input is valid."""
        if self._opened:
            return self
        self.check()
        try:
            if self.chief:
                self._lock()
                self.check()  # again under the lock: what is moved aside is what was checked
                if not self.config.resume and _has_content(self.real_path):
                    self._move_aside()
            if self.config.resume:
                previous = self._read_previous()
                if previous is not None:
                    self.changes = self._compare(previous)
                    if self.changes:
                        shown = ", ".join(f"{k} {v[0]!r} -> {v[1]!r}"
                                          for k, v in self.changes.items())
                        print(f"Resuming {self.path} with changed settings: {shown} "
                              f"(recorded in {CONFIG_NAME})")
            if self.chief:
                self._mark()
        except BaseException:
            self.close()  # a refused start holds no lock (in-process callers retry)
            raise
        self._opened = True
        return self

    def close(self):
        """Releases the lock (the end of the process releases it too)."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _move_aside(self):
        real = self.real_path
        self._lock_file.close()  # the lock moves aside with the folder; take a new one
        stem = f"{real}.old-{time.strftime('%Y%m%d-%H%M%S')}"
        aside, number = stem, 1
        while os.path.lexists(aside):
            number += 1
            aside = f"{stem}-{number}"
        os.rename(real, aside)
        print(f"{self.start_afresh}: moved the previous run to {aside}")
        self._lock()

    def _lock(self):
        real = self.real_path
        os.makedirs(real, exist_ok=True)
        handle = open(os.path.join(real, LOCK_NAME), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ValueError(f"run folder {self.path} is in use by another process (PID "
                             f"{holder}); wait for it, or {self.choose_another}") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle  # held until the process ends

    def _mark(self):
        """Writes the mark of a folder this project owns (once; a run of an earlier
        version, accepted by `check`, gets it on its first resume)."""
        path = os.path.join(self.real_path, MARKER_NAME)
        if os.path.isfile(path):
            return
        with open(path, "w") as file:
            json.dump({"task": self.config.task,
                       "created": time.strftime("%Y-%m-%dT%H:%M:%S")}, file)
            file.write("\n")

    def _read_previous(self):
        if not os.path.exists(self.config_path):
            return None
        try:
            with open(self.config_path) as file:
                previous = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{self.config_path} is not valid JSON ({error}); fix or delete "
                             f"it, or start afresh with {self.start_afresh}") from None
        if not isinstance(previous, dict):
            raise ValueError(f"{self.config_path} does not hold a JSON object; fix or delete "
                             f"it, or start afresh with {self.start_afresh}")
        return previous

    def _compare(self, previous):
        current = {key: value for key, value in dataclasses.asdict(self.config).items()
                   if key not in INFORMATION}
        # A setting that an earlier version did not have is compared with its default.
        defaults = dataclasses.asdict(type(self.config)())
        previous = {key: previous.get(key, defaults.get(key)) for key in current} | previous
        differences = [f"{key}: {previous.get(key)!r} -> {value!r}"
                       for key, value in current.items()
                       if key not in RESUMABLE_CHANGES and previous.get(key) != value]
        if differences:
            raise ValueError(
                f"run folder {self.path} holds a run with other settings "
                f"({'; '.join(differences)}). Resume it with the same settings, start "
                f"afresh with {self.start_afresh} (the old run is moved aside), or "
                f"{self.choose_another}."
            )
        return {key: (previous.get(key), value) for key, value in current.items()
                if key in RESUMABLE_CHANGES - {"resume"} and key in previous
                and previous.get(key) != value}

    def write_config(self):
        """Writes config.json (called when training starts), appending to its history; each
        entry records the start time and the folder's real path then."""
        if not self.chief:
            return
        previous = self._read_previous() or {}
        history = list(previous.get("history", []))
        entry = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "run_folder": self.real_path}
        if self.changes:
            entry["changed"] = {k: {"from": v[0], "to": v[1]} for k, v in self.changes.items()}
        history.append(entry)
        os.makedirs(self.real_path, exist_ok=True)
        temporary = self.config_path + ".tmp"
        text = json.dumps(dict(dataclasses.asdict(self.config), history=history), indent=2,
                          sort_keys=True)
        try:
            with open(temporary, "w") as file:
                file.write(text)
        except OSError as error:  # a full disk: one line naming the folder, nothing left
            if os.path.exists(temporary):
                os.remove(temporary)
            raise OSError(error.errno, f"{error.strerror} writing {CONFIG_NAME} ({len(text)} "
                          "bytes); nothing was changed: free some space, then rerun the same "
                          "command", self.path) from error
        os.replace(temporary, self.config_path)  # never a truncated config.json


def _has_content(path):
    """Whether the folder holds more than a lock and a mark (a failed start leaves those)."""
    return os.path.isdir(path) and any(name not in (LOCK_NAME, MARKER_NAME)
                                       for name in os.listdir(path))


def _protected(real):
    """Why `real` can never be a run folder (a description), or None."""
    cwd = os.path.realpath(os.getcwd())
    home = os.path.realpath(os.path.expanduser("~"))
    if os.path.dirname(real) == real:
        return "the filesystem root"
    if real == cwd:
        return "the working directory"
    if real == home:
        return "the home folder"
    if cwd.startswith(real + os.sep):
        return "a folder containing the working directory"
    if home.startswith(real + os.sep):
        return "a folder containing the home folder"
    return None


def _is_run_config(path):
    """Whether `path` is a config.json the runner wrote (a JSON object with a task and a
    history): how a run folder of an earlier version, without the mark, is recognized."""
    try:
        with open(path) as file:
            config = json.load(file)
    except (OSError, ValueError):
        return False
    return (isinstance(config, dict) and isinstance(config.get("task"), str)
            and isinstance(config.get("history"), list))
