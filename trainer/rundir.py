"""The files of a run directory: config.toml, metrics.csv, summary.json, checkpoint.npz."""
import csv
import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np

from trainer.errors import RunDirError

CONFIG, METRICS, SUMMARY, CHECKPOINT = "config.toml", "metrics.csv", "summary.json", "checkpoint.npz"
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
    def create(cls, runs_dir, run_id):
        """Make runs_dir/run_id; never reuses an existing directory."""
        runs_dir = check_runs_dir(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        path = runs_dir / run_id
        try:
            path.mkdir()
        except FileExistsError:
            raise RunDirError(f"{path}: already exists; choose another --name") from None
        return cls(path)

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
        _atomic_write(self.file(CONFIG), lambda f: f.write(data))

    def metrics_writer(self, columns):
        return MetricsWriter(self.file(METRICS), columns)

    def write_text(self, name, text):
        """Replace a small file of the run atomically."""
        data = text.encode()
        _atomic_write(self.file(name), lambda f: f.write(data))

    def write_summary(self, summary):
        data = (json.dumps(summary, indent=2) + "\n").encode()
        _atomic_write(self.file(SUMMARY), lambda f: f.write(data))

    def read_summary(self):
        try:
            return json.loads(self.file(SUMMARY).read_text())
        except (OSError, ValueError):
            return None

    def save_checkpoint(self, arrays):
        """Write the arrays as checkpoint.npz atomically: a temporary file, fsync, rename."""
        _atomic_write(self.file(CHECKPOINT), lambda f: np.savez(f, **arrays))

    def load_checkpoint(self):
        path = self.file(CHECKPOINT)
        if not path.is_file():
            raise RunDirError(f"{path}: no checkpoint")
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception as e:  # a truncated or foreign file: zipfile, OSError, ValueError...
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


def _atomic_write(path, write):
    """Replace `path` with what write(file) writes, so readers see the old or the new whole file."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + "-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
