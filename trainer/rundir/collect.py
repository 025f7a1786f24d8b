"""Runs found from paths (a run, a sweep directory, any directories), read from their files.

A record is a plain dict: where the run is, its flat config {"section.key": value}, its
summary (fields read when present, never required), its metrics.csv rows as columns, and
its gradient_reach.csv. Reading goes through the csv and json modules (no pandas), so a
200-run sweep is read in well under a second.
"""
import csv
import json
import io
import os
from pathlib import Path

from trainer.config import tomlio
from trainer.rundir.layout import CONFIG, GRADIENT_REACH, METRICS, SUMMARY, RunDir
from trainer.rundir.safe_io import read_nofollow
from trainer.rundir.layout import SWEEP_FILE

REACH = GRADIENT_REACH
TASK_PNG = "task_view.png"


def is_run(path):
    """A run directory: one with a config.toml, and not the hidden .new-… folder a run is made
    in before it is renamed (a kill in its first milliseconds leaves one: no run)."""
    return not Path(path).name.startswith(".new-") and (Path(path) / CONFIG).is_file()


def is_sweep(path):
    return (Path(path) / SWEEP_FILE).is_file()


def find_runs(paths):
    """(run directories in the given order, notes on what was skipped, sweep directories).

    A path is a run (has config.toml), a sweep directory (its runs, in name order) or any
    directory holding runs; anything else is skipped with a note, not an error."""
    runs, notes, sweeps = [], [], []
    for p in map(Path, paths):
        if is_run(p):
            runs.append(p)
        elif p.is_dir():
            inner = sorted((d for d in _subdirs(p) if is_run(d)), key=natural)
            if is_sweep(p):
                sweeps.append(p)
            if inner:
                runs += inner
            elif not is_sweep(p):  # a sweep with no runs yet is not worth a note
                notes.append(f"{p}: not a run directory and holds no runs; skipped")
        else:
            notes.append(f"{p}: not a run directory ({'no such directory' if not p.exists() else 'a file'}); "
                         "skipped")
    seen, unique = set(), []
    for r in runs:
        key = r.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique, notes, sweeps


def natural(path):
    """Sort key: numbers in a name compare as numbers (bptt=2 before bptt=16)."""
    import re
    return [(0, float(t), "") if re.fullmatch(r"\d+(\.\d+)?", t) else (1, 0.0, t)
            for t in re.split(r"(\d+(?:\.\d+)?)", Path(path).name) if t]


def _subdirs(path):
    try:
        return [d for d in path.iterdir() if d.is_dir() and not d.is_symlink()]
    except OSError:
        return []


def swept_keys(sweep_dir):
    """The swept config keys of a sweep directory, from its sweep.toml ([] if unreadable)."""
    try:
        data = tomlio.read(Path(sweep_dir) / SWEEP_FILE, "sweep")
    except (OSError, ValueError):
        return []
    return [] if sweep_file_problem(data) else list(data["sweep"]["params"])


def sweep_file_problem(data):
    """What is wrong with a sweep directory's sweep.toml as read (a hand-edited one), as a
    phrase, or None: [sweep] must be a table and its params a table of swept keys."""
    table = data.get("sweep")
    if not isinstance(table, dict):
        return f"'sweep' is {_kind(table)}, expected a [sweep] table"
    params = table.get("params")
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        return f"sweep.params is {_kind(params)}, expected a table of swept keys"
    return None


def _kind(v):
    return "missing" if v is None else f"{v!r:.40}"


def sweep_params(sweep_dir):
    """(method, {swept key: its spec: a list of values or {min, max, log, num}}) of a sweep
    directory's sweep.toml (("grid", {}) when unreadable)."""
    try:
        data = tomlio.read(Path(sweep_dir) / SWEEP_FILE, "sweep")
        if sweep_file_problem(data):
            return "grid", {}
        table = data["sweep"]
        return str(table.get("method", "grid")), table["params"]
    except (OSError, ValueError, AttributeError):
        return "grid", {}


def read_summary(run):
    """The run's summary.json ({} when missing or unreadable), through RunDir's one reader."""
    return RunDir(run).read_summary() or {}


def read_config(run):
    """The run's config as {"section.key": value} ({} when unreadable: `record` says why)."""
    return RunDir(run).read_flat_config()[0]


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _text(path):
    """A run's csv file as text, never through a symbolic link."""
    return io.StringIO(read_nofollow(path).decode("utf-8", "replace"), newline="")


def read_metrics(run):
    """metrics.csv as {"train": {column: [values]}, "val": {...}} (empty cells as None)."""
    out = {"train": {}, "val": {}}
    try:
        with _text(Path(run) / METRICS) as f:
            reader = csv.DictReader(f)
            cols = [c for c in reader.fieldnames or () if c != "split"]
            for split in out:
                out[split] = {c: [] for c in cols}
            for row in reader:
                split = out.get(row.get("split"))
                if split is None or None in row.values():  # a torn last row
                    continue
                for c in cols:
                    split[c].append(_number(row[c]))
    except (OSError, csv.Error):
        pass
    return out


def read_reach(run):
    """gradient_reach.csv as {step: ([t], [norm])}."""
    out = {}
    try:
        with _text(Path(run) / REACH) as f:
            for row in csv.DictReader(f):
                t, v = _number(row["t"]), _number(row["grad_norm"])
                ts, vs = out.setdefault(str(row["step"]), ([], []))
                ts.append(t)
                vs.append(v)
    except (OSError, KeyError, csv.Error):
        pass
    return out


def record(run, label):
    """Everything the report shows of one run."""
    run = Path(run)
    summary = read_summary(run)
    config, problem = RunDir(run).read_flat_config()
    if problem:   # listed, with what is wrong, like an unreadable summary
        summary = {"status": "unreadable", "error": problem}
    try:
        mtime = max(os.lstat(run / name).st_mtime for name in (SUMMARY, CONFIG) if (run / name).exists())
    except ValueError:
        mtime = None
    png = run / TASK_PNG   # a link is not copied into the report
    return {"path": str(run), "label": label, "config": config, "summary": summary,
            "metrics": read_metrics(run), "reach": read_reach(run), "mtime": mtime,
            "task_png": str(png) if png.is_file() and not png.is_symlink() else None}


def labels(runs):
    """Short unique names: the directory name, with its parent's when names repeat."""
    names = [r.name for r in runs]
    if len(set(names)) == len(names):
        return names
    return [f"{r.parent.name}/{r.name}" for r in runs]


def differing_keys(flats):
    """Config keys whose values are not the same in every run (the seed excluded), in file order."""
    keys = list(dict.fromkeys(k for f in flats for k in f))
    return [k for k in keys if k != "train.seed"
            and len({json.dumps(f.get(k)) for f in flats}) > 1]
