"""The run folder of an app: its name, its lock, and its config.json.

`runs/<task>/<run name>/` holds config.json (the resolved settings, with a history of the
settings changed on resume), TensorBoard events and checkpoints. Rules:

- one process at a time: the folder is locked (`fcntl.flock` on `.lock`, released when the
  process ends, even by kill -9); a second process is refused, naming the holder's PID;
- rerunning the same command resumes; a folder holding a run of other settings is refused
  with the settings that differ, except those in `RESUMABLE_CHANGES` (the learning rate,
  the number of epochs, logging): those are allowed, said in one line and recorded;
- `--no-resume` moves an existing folder aside (never resumes it);
- config.json is written only when training starts, so a failed start (a typo in --data)
  leaves nothing that blocks the next command.
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
CONFIG_NAME = "config.json"
LOCK_NAME = ".lock"


def safe_name(text, default="run"):
    """A folder name made from a user's path or word: the resolved path's last part, with
    characters outside `[A-Za-z0-9._-]` replaced, never `.`, `..` or empty."""
    text = str(text)
    if os.sep in text or text in (".", "..") or text.startswith("~"):
        text = os.path.basename(os.path.abspath(os.path.expanduser(text))) or default
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or default
    return name


class RunFolder:
    """The run folder of one app run (see the module docstring)."""

    def __init__(self, config, run_name, chief=True):
        self.config = config
        self.path = config.logdir or os.path.join("runs", config.task, safe_name(run_name))
        config.logdir = self.path
        self.chief = chief
        self._lock_file = None
        self.changes = {}

    @property
    def config_path(self):
        return os.path.join(self.path, CONFIG_NAME)

    def open(self):
        """Locks the folder, moves it aside for --no-resume, checks the saved settings."""
        if self.chief:
            self._lock()
            if not self.config.resume and _has_content(self.path):
                self._lock_file.close()  # the lock moves aside with the folder; take a new one
                aside = f"{self.path}.old-{time.strftime('%Y%m%d-%H%M%S')}"
                os.rename(self.path, aside)
                print(f"--no-resume: moved the previous run to {aside}")
                self._lock()
        previous = self._read_previous()
        if previous is not None:
            self.changes = self._compare(previous)
            if self.changes:
                shown = ", ".join(f"{k} {v[0]!r} -> {v[1]!r}" for k, v in self.changes.items())
                print(f"Resuming {self.path} with changed settings: {shown} "
                      f"(recorded in {CONFIG_NAME})")
        return self

    def _lock(self):
        os.makedirs(self.path, exist_ok=True)
        lock_path = os.path.join(self.path, LOCK_NAME)
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ValueError(f"run folder {self.path} is in use by another process (PID "
                             f"{holder}); wait for it, or choose another --logdir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle  # held until the process ends

    def _read_previous(self):
        if not os.path.exists(self.config_path):
            return None
        try:
            with open(self.config_path) as file:
                previous = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{self.config_path} is not valid JSON ({error}); fix or delete "
                             "it, or pass --no-resume to start afresh") from None
        if not isinstance(previous, dict):
            raise ValueError(f"{self.config_path} does not hold a JSON object; fix or delete "
                             "it, or pass --no-resume to start afresh")
        return previous

    def _compare(self, previous):
        current = dataclasses.asdict(self.config)
        differences = [f"{key}: {previous.get(key)!r} -> {value!r}"
                       for key, value in current.items()
                       if key not in RESUMABLE_CHANGES and previous.get(key) != value]
        if differences:
            raise ValueError(
                f"run folder {self.path} holds a run with other settings "
                f"({'; '.join(differences)}). Resume it with the same flags, pass "
                "--no-resume to start afresh (the old run is moved aside), or choose "
                "another --logdir."
            )
        return {key: (previous.get(key), value) for key, value in current.items()
                if key in RESUMABLE_CHANGES - {"resume"} and key in previous
                and previous.get(key) != value}

    def write_config(self):
        """Writes config.json (called when training starts), appending to its history."""
        if not self.chief:
            return
        previous = self._read_previous() or {}
        history = list(previous.get("history", []))
        entry = {"started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if self.changes:
            entry["changed"] = {k: {"from": v[0], "to": v[1]} for k, v in self.changes.items()}
        history.append(entry)
        os.makedirs(self.path, exist_ok=True)
        temporary = self.config_path + ".tmp"
        with open(temporary, "w") as file:
            json.dump(dict(dataclasses.asdict(self.config), history=history), file, indent=2,
                      sort_keys=True)
        os.replace(temporary, self.config_path)  # never a truncated config.json


def _has_content(path):
    return os.path.isdir(path) and any(name != LOCK_NAME for name in os.listdir(path))
