"""The writers of a run's growing files: metrics.csv row by row (and cut back to a checkpoint's
rows on resume), checkpoints in the background, and the copies of the plug-ins' sources a run
keeps."""
import csv
import errno
import hashlib
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from trainer.errors import RunDirError
from trainer.rundir.safe_io import _NOFOLLOW, atomic_write


class MetricsWriter:
    """metrics.csv: one header, then complete rows, each flushed as it is written."""

    def __init__(self, path, columns):
        self.columns = list(columns)
        try:  # never through a symlink planted in the run directory
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise _link_refused(path) from None
            raise
        new = os.fstat(fd).st_size == 0
        self._f = os.fdopen(fd, "a", newline="")
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


def check_metrics_rows(path, rows):
    """metrics.csv must hold the header and at least the `rows` rows a checkpoint counted (and
    be no symlink: rows are appended to it)."""
    if Path(path).is_symlink():
        raise _link_refused(path)
    if rows == 0:
        return
    try:
        have = Path(path).read_bytes().count(b"\n")   # complete lines, the header's included
    except FileNotFoundError:
        have = 0
    if have < rows + 1:
        raise RunDirError(f"{path}: holds {max(have - 1, 0)} complete rows, the checkpoint "
                          f"counted {rows}; the run directory was changed by hand")


def keep_metrics_rows(path, rows):
    """Cut metrics.csv back to its header and first `rows` rows (none at all for 0): later or
    torn rows are re-done by the resumed run."""
    path = Path(path)
    if rows == 0:
        path.unlink(missing_ok=True)
        return
    data = path.read_bytes()
    end = -1
    for _ in range(rows + 1):
        end = data.index(b"\n", end + 1)
    with open(os.open(path, os.O_RDWR | _NOFOLLOW), "r+b") as f:
        f.truncate(end + 1)
        f.flush()
        os.fsync(f.fileno())


def _link_refused(path):
    return RunDirError(f"{path}: is a symbolic link; the tool does not write through links")


class CheckpointWriter:
    """Writes checkpoints so that training goes on while the disk syncs.

    submit() serializes the arrays at once, in the caller's thread (so they may
    change right after); one worker thread then runs `before` (making the counted
    metrics rows durable) and writes the bytes atomically (temporary file, fsync,
    rename, fsync of the directory), to the `copies` first (best.npz) and to the
    checkpoint last: a kill between the two never leaves a checkpoint whose best
    epoch best.npz does not hold. Checkpoints land in the order submitted; once one
    write fails the later ones are skipped; wait() returns when all have landed and
    raises what a write raised.
    """

    def __init__(self, path, before=None):
        self.path, self.before = path, before
        self._pool = None
        self._pending = []
        self._failed = False

    def submit(self, arrays, copies=()):
        self._raise(done_only=True)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending.append(self._pool.submit(self._land, buffer.getvalue(), tuple(copies)))

    def _land(self, data, copies):
        if self._failed:
            return
        try:
            if self.before:
                self.before()
            for path in (*copies, self.path):
                atomic_write(path, lambda f: f.write(data))
        except BaseException:
            self._failed = True
            raise

    def wait(self):
        self._raise(done_only=False)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _raise(self, done_only):
        """Forget the landed writes; raise the first error among them (all, when not done_only)."""
        keep, error = [], None
        for future in self._pending:
            if done_only and not future.done():
                keep.append(future)
            elif error is None and future.exception() is not None:
                error = future.exception()
        self._pending = keep
        if error is not None:
            self._failed = False
            raise error


def plugin_copies(cfg):
    """{file name: source bytes} of cfg's plug-ins whose source is known (a file's, a module's
    file when it still has the digest recorded, or a Python object's)."""
    out = {}
    for resolved in (cfg.task, cfg.cell):
        found = resolved.found
        if found is None or not found.sha256:
            continue
        data = found.text.encode("utf-8") if found.text is not None else None
        if data is None and found.file:
            try:
                with open(found.file, "rb") as f:   # the user's own file (a module may be a link)
                    data = f.read(10 ** 7)
            except OSError:
                data = None
        if data is None or hashlib.sha256(data).hexdigest() != found.sha256:
            continue
        stem = Path(found.file or found.attr or found.target or found.kind).stem
        stem = re.sub(r"[^A-Za-z0-9._=+-]", "_", stem)[:60] or found.kind
        out[f"{found.kind}-{stem}-{found.sha256[:12]}.py"] = data
    return out
