"""results.csv: one row per run, built from each run directory's summary.json and config.toml.

Columns: the swept (or differing) config keys under their own names
(`train.bptt`), `seed`, `status`, the summary's final figures (`train_loss`,
`val_loss`, `val_<metric>`), the baseline's (`baseline_val_loss`,
`baseline_val_<metric>`), whether the run beat it (`beats_baseline`), the best
epoch's (`best_epoch`, `best_val_loss`, `best_val_<metric>`), when `train.target`
was reached (`target_epoch`, `target_step`, `target_sequences`; empty when not
set or not reached), `wall_s`, and `run_dir` (relative to the folder
results.csv is in).
"""
import csv
import io
import os
from pathlib import Path

from trainer.rundir.layout import RESULTS, SUMMARY, RunDir  # RESULTS: results.csv, named here too
from trainer.rundir.collect import differing_keys
from trainer.rundir.safe_io import atomic_write

TAIL = ("wall_s", "run_dir")
TARGET = ("target_epoch", "target_step", "target_sequences")


def final_columns(metrics):
    """train_loss, val_loss, then val_<metric> for each metric in order (mse, accuracy...)."""
    out = ["train_loss", "val_loss"]
    out += [f"val_{m}" for m in dict.fromkeys(metrics) if f"val_{m}" not in out]
    return out


def columns(keys, metrics):
    finals = final_columns(metrics)
    vals = [c for c in finals if c.startswith("val_")]
    return [*keys, "seed", "status", *finals, *(f"baseline_{c}" for c in vals), "beats_baseline",
            "best_epoch", *(f"best_{c}" for c in vals), *TARGET, *TAIL]


def row(values, seed, summary, run_path, out_dir):
    """One results row: the run's swept values and seed, then what its summary says."""
    summary = summary or {}
    out = {**values, "seed": seed, "status": summary.get("status", "pending")}
    if out["status"] == "unreadable":
        out["error"] = summary.get("error")   # for the caller to say; not a column
    out.update({k: v for k, v in (summary.get("final") or {}).items()})
    out.update({f"baseline_{k}": v for k, v in (summary.get("baseline") or {}).items()})
    out["beats_baseline"] = summary.get("beats_baseline")
    best = summary.get("best") or {}
    out["best_epoch"] = best.get("epoch")
    out.update({f"best_{k}": v for k, v in best.items() if k.startswith("val_")})
    target = summary.get("target") or {}
    out.update({f"target_{k}": target.get(k) for k in ("epoch", "step", "sequences")})
    out["wall_s"] = summary.get("wall_s")
    exists = run_path is not None and Path(run_path).is_dir()
    out["run_dir"] = os.path.relpath(run_path, out_dir) if exists else ""
    return out


def write(path, rows, cols):
    """Write results.csv atomically (readers never see half a table); None is an empty cell."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in cols})
    return atomic_write_text(path, buf.getvalue())


def atomic_write_text(path, text):
    """Replace path with text atomically (not fsynced: it is rewritten as runs land)."""
    data = text.encode()
    atomic_write(path, lambda f: f.write(data), durable=False)
    return Path(path)


def read_run(path):
    """(flat config {"section.key": value}, summary or None) of a run directory."""
    run_dir = RunDir.open(path)
    flat, problem = run_dir.read_flat_config()
    return flat, {"status": "unreadable", "error": problem} if problem else run_dir.read_summary()


def table_for_runs(paths, out_dir):
    """Rows, columns and differing keys for any run directories (for `train compare`)."""
    runs = [(p, *read_run(p)) for p in paths]
    keys = differing_keys([flat for _, flat, _ in runs])
    metrics = [s["metric"] for _, _, s in runs if s and s.get("metric")]  # runs without: no figures
    rows = [row({k: flat.get(k) for k in keys}, flat.get("train.seed"), summary, p, out_dir)
            for p, flat, summary in runs]
    return rows, columns(keys, metrics), keys


def summary_of(path):
    """A run directory's summary.json, or None when it has none (yet)."""
    return RunDir(path).read_summary() if (Path(path) / SUMMARY).is_file() else None


def blocked(path):
    """Why a run's place holds something a sweep must not follow or replace, or None."""
    path = Path(path)
    if path.is_symlink():
        return (f"{path}: a symbolic link where the run's directory belongs; left alone "
                "(remove it to run this point again)")
    if path.exists() and not path.is_dir():
        return f"{path}: not a directory; left alone (remove it to run this point again)"
    return None
