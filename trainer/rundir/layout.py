"""A run directory and the names of its files: config.toml, metrics.csv, summary.json,
checkpoint.npz, best.npz, gradient_reach.csv, plugins/; made whole or not at all."""
import errno
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from trainer.errors import RunDirError, describe
from trainer.rundir.safe_io import Lock, atomic_write, read_nofollow
from trainer.rundir.writers import MetricsWriter, plugin_copies


CONFIG, METRICS, SUMMARY, CHECKPOINT = "config.toml", "metrics.csv", "summary.json", "checkpoint.npz"
BEST = "best.npz"  # the checkpoint of the best epoch by train.monitor (same format)
GRADIENT_REACH = "gradient_reach.csv"  # ||dL/dh_t|| before and after training
PLUGINS = "plugins"  # copies of the plug-ins' sources a run trained with: <kind>-<name>-<sha12>.py
# a sweep's directory: its resolved sweep file, one row per run, the plug-ins it pinned
SWEEP_FILE, RESULTS, PINS = "sweep.toml", "results.csv", "plugins.json"
# a study's directory (`train tune`): its resolved tune file, one row per trial, Optuna's journal
TUNE_FILE, TRIALS, STUDY_LOG = "tune.toml", "trials.csv", "study.log"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")
MAX_NAME = 200  # characters of a run or sweep name: room for the temporary's prefix and suffix
def check_name(name):
    """Refuse run names that are not one plain, safe path component."""
    if len(name) > MAX_NAME:
        raise RunDirError(f"--name: {len(name)} characters; at most {MAX_NAME}")
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise RunDirError(f"--name {name!r}: use letters, digits and . _ = + - only, "
                          "starting with a letter or digit (no path separators or '..')")
    return name


def safe_prefix(prefix):
    """A config file's name made fit for a run name: other characters become '_'."""
    text = re.sub(r"[^A-Za-z0-9._=+-]", "_", str(prefix or "")).replace("..", "_")
    text = text.lstrip("._=+-")[:60]
    return text or "run"


def new_run_id(prefix):
    """prefix-YYYYmmdd-HHMMSS-xxxx: sortable by time, unique across parallel runs."""
    return f"{safe_prefix(prefix)}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


ABANDONED_S = 60  # a .new- directory older than this that nobody holds was left by a kill


def _remove_abandoned_new(runs_dir):
    """Remove the hidden .new- directories that runs killed while being created left behind:
    older than ABANDONED_S and with their lock free (a live creation holds it)."""
    for tmp in runs_dir.glob(".new-*"):
        try:
            if tmp.is_symlink() or not tmp.is_dir() or \
                    time.time() - tmp.lstat().st_mtime < ABANDONED_S:
                continue
            held = Lock(tmp)
        except (OSError, RunDirError):
            continue  # being made right now, or gone already
        try:
            shutil.rmtree(tmp, ignore_errors=True)
        finally:
            held.release()


def _rename_new(src, dst):
    """Rename src to dst only if dst does not exist (a plain rename would replace an empty
    directory someone else just made)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd, rename_noreplace = -100, 1
        if renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "File exists", str(dst))
    os.rename(src, dst)


def check_runs_dir(runs_dir):
    runs_dir = Path(runs_dir)
    if runs_dir.exists() and not runs_dir.is_dir():
        raise RunDirError(f"--runs-dir {runs_dir}: exists and is not a directory")
    return runs_dir


class RunDir:
    """One run's directory and the files in it: `path` as it was given (what messages show),
    `where` the same made absolute once, which every file is reached through (plug-in code
    that calls os.chdir cannot move the run)."""

    def __init__(self, path):
        self.path = Path(path)
        self.where = Path(os.path.abspath(path))
        self._lock = None

    @classmethod
    def create(cls, runs_dir, run_id=None, prefix=None, cfg=None):
        """Make runs_dir/run_id, or, with a prefix instead, a new generated id (drawn again on
        the rare collision, so parallel runs never clash); never reuses an existing directory.

        The directory appears whole or not at all: it is made under a hidden temporary name,
        locked (see Lock; the lock stays held) and given cfg's config.toml, then renamed."""
        runs_dir = check_runs_dir(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_new(runs_dir)
        tmp = runs_dir / f".new-{secrets.token_hex(6)}"
        os.mkdir(tmp, 0o777)  # the usual permissions: 0777 less the umask
        made = cls(tmp)
        try:
            made.lock()
            if cfg is not None:
                made.write_config(cfg)
                made.write_plugin_sources(cfg)
            for _ in range(1 if run_id else 20):
                path = runs_dir / (run_id or new_run_id(prefix))
                try:
                    _rename_new(tmp, path)
                    made.path, made.where = path, Path(os.path.abspath(path))
                    return made
                except FileExistsError:
                    pass
                except OSError as e:
                    if e.errno != errno.ENOTEMPTY:
                        raise
            raise RunDirError(f"{path}: already exists; choose another name (--name, or name= in Python)")
        except BaseException:
            made.release()
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def open(cls, path):
        """An existing run directory (one with a config.toml)."""
        path = Path(path)
        if not (path / CONFIG).is_file():
            raise RunDirError(f"{path}: not a run directory (no {CONFIG})")
        return cls(path)

    def lock(self):
        """Become the one writer of this directory (or RunDirError naming the one there is)."""
        if self._lock is None:
            self._lock = Lock(self.where)
        return self

    def release(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def file(self, name):
        return self.where / name

    def write_config(self, cfg):
        data = cfg.to_toml().encode()
        atomic_write(self.file(CONFIG), lambda f: f.write(data))

    def write_plugin_sources(self, cfg):
        """Keep a copy of each plug-in's source as the run trains it, as plugins/<kind>-<name>-
        <first 12 hex of its sha256>.py: a record (never imported from there; a source accepted
        on resume adds its own copy beside the first). Written atomically, never through a
        symbolic link (a link or file where the folder belongs is refused: RunDirError).
        Returns the paths written."""
        copies = plugin_copies(cfg)
        if not copies:
            return []
        folder = self.file(PLUGINS)
        try:
            os.mkdir(folder, 0o777)
        except FileExistsError:
            pass
        self.check_plugins_folder()
        out = []
        for name, data in copies.items():
            path = folder / name
            if not path.exists() or path.is_symlink():
                atomic_write(path, lambda f: f.write(data))
            out.append(path)
        return out

    def check_plugins_folder(self):
        """Refuse a symbolic link or a file where plugins/ belongs (nothing there is fine): the
        copies of the plug-ins' sources are never written through a link."""
        folder = self.file(PLUGINS)
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise RunDirError(f"{folder}: not a folder (a symbolic link or a file); the tool does "
                              "not write through links")

    def remove_temporaries(self):
        """Remove the .NAME-xxxx temporaries of the run's files (safe_io.atomic_write's) that a
        process killed while writing left: they were never the real file."""
        for p in self.where.glob(".*-*"):
            if p.is_file() and p.name.split("-")[0][1:] in (CHECKPOINT, BEST, CONFIG, SUMMARY,
                                                                GRADIENT_REACH):
                p.unlink()

    def metrics_writer(self, columns):
        return MetricsWriter(self.file(METRICS), columns)

    def write_text(self, name, text):
        """Replace a small file of the run atomically."""
        data = text.encode()
        atomic_write(self.file(name), lambda f: f.write(data))

    def write_summary(self, summary, durable=True):
        """Replace summary.json atomically, as strict JSON (a non-finite figure is written as
        null and named under `nonfinite`); durable=False skips the fsyncs (for the progress
        updates during a run, which the final summary replaces anyway)."""
        from trainer.rundir.summary_check import NONFINITE, strict
        clean, found = strict({k: v for k, v in summary.items() if k != NONFINITE})
        if found:
            clean[NONFINITE] = found
        data = (json.dumps(clean, indent=2, allow_nan=False) + "\n").encode()
        atomic_write(self.file(SUMMARY), lambda f: f.write(data), durable)

    def read_summary(self):
        """summary.json as a dict; None when it is missing. A file that is not JSON, not an
        object, a symbolic link, or has a field of the wrong type reads as
        {"status": "unreadable", "error": what is wrong}: a hand-edited file is one line."""
        from trainer.rundir.summary_check import check
        path = self.file(SUMMARY)
        try:
            text = read_nofollow(path).decode("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            return _unreadable(path, describe(e))
        try:   # NaN and Infinity (written before summaries were strict) read as null
            summary = json.loads(text, parse_constant=lambda name: None)
        except ValueError as e:
            return _unreadable(path, f"not JSON ({e})")
        problem = check(summary)
        return _unreadable(path, problem) if problem else summary

    def read_flat_config(self):
        """(config.toml as {"section.key": value}, None) or ({}, what is wrong on one line): read
        as untrusted (never through a symbolic link; sections must be tables of plain values).
        The [plugins] section (where plug-ins were found) is left out."""
        path = self.file(CONFIG)
        if path.is_symlink():
            return {}, f"{path}: is a symbolic link; run files are not read through links"
        from trainer.config import tomlio
        try:
            cfg = tomlio.read(path, "run config")
        except (OSError, ValueError) as e:
            return {}, str(e)
        flat = {}
        for section, table in cfg.items():
            if section == "plugins":
                continue
            if not isinstance(table, dict):
                return {}, f"{path}: {section} is not a [section] of keys"
            for key, value in table.items():
                if not isinstance(value, (str, int, float, bool)):
                    return {}, f"{path}: {section}.{key} is not a plain value (text, number or true/false)"
                flat[f"{section}.{key}"] = value
        return flat, None

    def record_failure(self, error, traceback=None):
        """Mark the run failed in its summary (kept otherwise), with the error as one line;
        `error` is an exception or an already written line. Returns the summary. Written only
        into an existing directory (not through a symlink): nothing is created elsewhere."""
        summary = self.read_summary() or {}
        summary.update(status="failed",
                       error=describe(error) if isinstance(error, BaseException) else error)
        if traceback:
            summary["traceback"] = traceback
        if self.where.is_dir() and not self.where.is_symlink():
            self.write_summary(summary)
        return summary


def _unreadable(path, problem):
    return {"status": "unreadable", "error": f"{path}: {problem}"}
