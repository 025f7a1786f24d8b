"""The files of a run directory: config.toml, metrics.csv, summary.json, checkpoint.npz."""
import csv
import io
import json
import os
import queue
import re
import secrets
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

from trainer.errors import RunDirError

CONFIG, METRICS, SUMMARY, CHECKPOINT = "config.toml", "metrics.csv", "summary.json", "checkpoint.npz"
BEST = "best.npz"  # the checkpoint of the best epoch by train.monitor (same format)
GRADIENT_REACH = "gradient_reach.csv"  # ||dL/dh_t|| before and after training
_UMASK = os.umask(0o022)  # read once (os.umask can only be read by setting it) and put back
os.umask(_UMASK)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")


def check_name(name):
    """Refuse run names that are not one plain, safe path component."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise RunDirError(f"--name {name!r}: use letters, digits and . _ = + - only, "
                          "starting with a letter or digit (no path separators or '..')")
    return name


def new_run_id(prefix):
    """prefix-YYYYmmdd-HHMMSS-xxxx: sortable by time, unique across parallel runs."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def check_runs_dir(runs_dir):
    runs_dir = Path(runs_dir)
    if runs_dir.exists() and not runs_dir.is_dir():
        raise RunDirError(f"--runs-dir {runs_dir}: exists and is not a directory")
    return runs_dir


class RunDir:
    """One run's directory and the files in it."""

    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir, run_id=None, prefix=None):
        """Make runs_dir/run_id, or, with a prefix instead, a new generated id (drawn again on
        the rare collision, so parallel runs never clash); never reuses an existing directory."""
        runs_dir = check_runs_dir(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(1 if run_id else 20):
            path = runs_dir / (run_id or new_run_id(prefix))
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                pass
        raise RunDirError(f"{path}: already exists; choose another --name")

    @classmethod
    def open(cls, path):
        """An existing run directory (one with a config.toml)."""
        path = Path(path)
        if not (path / CONFIG).is_file():
            raise RunDirError(f"{path}: not a run directory (no {CONFIG})")
        return cls(path)

    def file(self, name):
        return self.path / name

    def write_config(self, cfg):
        data = cfg.to_toml().encode()
        atomic_write(self.file(CONFIG), lambda f: f.write(data))

    def metrics_writer(self, columns):
        return MetricsWriter(self.file(METRICS), columns)

    def write_text(self, name, text):
        """Replace a small file of the run atomically."""
        data = text.encode()
        atomic_write(self.file(name), lambda f: f.write(data))

    def write_summary(self, summary, durable=True):
        """Replace summary.json atomically; durable=False skips the fsyncs (for the progress
        updates during a run, which the final summary replaces anyway)."""
        data = (json.dumps(summary, indent=2) + "\n").encode()
        atomic_write(self.file(SUMMARY), lambda f: f.write(data), durable)

    def read_summary(self):
        try:
            return json.loads(self.file(SUMMARY).read_text())
        except (OSError, ValueError):
            return None

    def load_checkpoint(self, name=CHECKPOINT):
        path = self.file(name)
        if not path.is_file():
            raise RunDirError(f"{path}: no checkpoint")
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as e:  # truncated, foreign
            raise RunDirError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None


class MetricsWriter:
    """metrics.csv: one header, then complete rows, each flushed as it is written."""

    def __init__(self, path, columns):
        self.columns = list(columns)
        new = not path.exists() or path.stat().st_size == 0
        self._f = open(path, "a", newline="")
        self._w = csv.DictWriter(self._f, self.columns, lineterminator="\n")
        if new:
            self._w.writeheader()
            self._f.flush()

    def write(self, row):
        self._w.writerow(row)
        self._f.flush()

    def sync(self):
        """Make the rows written so far durable (before a checkpoint counts them)."""
        os.fsync(self._f.fileno())

    def close(self):
        self._f.close()


class CheckpointWriter:
    """Writes checkpoints so that training goes on while the disk syncs.

    submit() serializes the arrays at once, in the caller's thread (so they may
    change right after); a worker thread then runs `before` (making the counted
    metrics rows durable) and writes the bytes atomically (temporary file, fsync,
    rename, fsync of the directory). Checkpoints land in the order submitted;
    wait() returns when all have landed and raises what a write raised.
    """

    def __init__(self, run_dir, before=None):
        self.run_dir, self.before = run_dir, before
        self._queue = queue.Queue()
        self._error = None
        self._thread = None

    def submit(self, arrays):
        self._raise()
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        if self._thread is None:
            self._thread = threading.Thread(target=self._land, daemon=True)
            self._thread.start()
        self._queue.put(buffer.getvalue())

    def _land(self):
        while True:
            data = self._queue.get()
            try:
                if self._error is None:
                    if self.before:
                        self.before()
                    atomic_write(self.run_dir.file(CHECKPOINT), lambda f: f.write(data))
            except BaseException as e:  # handed to the training thread by wait() or submit()
                self._error = e
            finally:
                self._queue.task_done()

    def wait(self):
        self._queue.join()
        self._raise()

    def _raise(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def atomic_write(path, write, durable=True):
    """Replace `path` with what write(file) writes, so readers see the old or the new whole file;
    durable: fsync the file before the rename and the directory after it. The file gets the
    usual permissions (0666 less the umask), not the temporary file's 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + "-", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
