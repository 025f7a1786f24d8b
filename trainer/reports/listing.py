"""What `train ls` lists: a row per run (its status, task, cell, steps, final and baseline
figures, wall time, age) and one per sweep, read from summary.json and config.toml only (so
hundreds of runs list in well under a second); rows filtered and sorted by a column, a config
key (train.bptt) or a final figure (val_loss)."""
import time
from collections import Counter
from dataclasses import dataclass


@dataclass
class Listing:
    """The rows of a directory, the run rows each sweep's one row stands for (`swept`), and
    whether the directory is one run named alone (`lone_run`)."""

    rows: list
    swept: list
    lone_run: bool = False


def listing(root, expand=False):
    """The Listing of `root`: a run, a sweep (a row per run) or a folder of runs and sweeps (a
    row per run and one per sweep, or with `expand` a row per run of each sweep too)."""
    from trainer.rundir.collect import is_run, is_sweep
    if is_sweep(root) or is_run(root):
        tops = [root] if is_run(root) else []
        subs = sorted(d for d in root.iterdir() if d.is_dir() and is_run(d)) if is_sweep(root) else []
        return Listing([run_row(d, d.name) for d in tops + subs], [], bool(tops and not subs))
    rows, swept = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        if is_sweep(d):
            runs = [run_row(r, f"{d.name}/{r.name}")
                    for r in sorted(r for r in d.iterdir() if r.is_dir() and is_run(r))]
            rows += runs if expand else [sweep_row(d, runs)]
            swept += [] if expand else runs
        elif is_run(d):
            rows.append(run_row(d, d.name))
    return Listing(rows, swept)


def run_row(path, name):
    """A run's row; a run whose config cannot be read is `unreadable`, with its `error`."""
    from trainer.rundir.collect import read_summary
    from trainer.rundir.layout import CONFIG, SUMMARY, RunDir
    summary = read_summary(path)
    flat, problem = RunDir(path).read_flat_config()
    if problem:
        summary = {"status": "unreadable", "error": problem}
    metric = summary.get("metric")
    final, base = summary.get("final") or {}, summary.get("baseline") or {}
    try:
        age = time.time() - max((path / n).stat().st_mtime for n in (SUMMARY, CONFIG)
                                if (path / n).exists())
    except ValueError:
        age = None
    return {"name": name, "path": str(path), "status": summary.get("status", "no summary"),
            "error": summary.get("error") if summary.get("status") == "unreadable" else None,
            "task": _text(flat.get("task.name", "")), "cell": _text(flat.get("model.cell", "")),
            "steps": summary.get("steps"), "metric": metric,
            "val": final.get(f"val_{metric}") if metric else None,
            "baseline": base.get(f"val_{metric}") if metric else None,
            "wall": summary.get("wall_s"), "age": age, "runs": 1, "flat": flat, "final": final,
            "beats_baseline": summary.get("beats_baseline"), "target": summary.get("target"),
            "plugins": summary.get("plugins")}


def _text(value):
    """A config value shown as a column: text (a hand-edited `task.name = [1]` too)."""
    return value if isinstance(value, str) else str(value)


def sweep_row(path, rows):
    """A sweep's one row: its runs' counts, steps and wall time summed, its best run's figures
    (by the metric's direction, model.metrics), task and cell when all runs share them."""
    from trainer.model.metrics import lower_is_better
    counts = Counter(r["status"] for r in rows)
    done = [r for r in rows if r["val"] is not None]
    metric = next((r["metric"] for r in rows if r["metric"]), None)
    lower = metric is None or lower_is_better(f"val_{metric}")
    best = (min if lower else max)(done, key=lambda r: r["val"]) if done else None
    ages = [r["age"] for r in rows if r["age"] is not None]
    walls = [r["wall"] for r in rows if r["wall"] is not None]
    one = lambda k: rows[0][k] if rows and len({r[k] for r in rows}) == 1 else "*"  # noqa: E731
    status = f"{counts.get('completed', 0)}/{len(rows)} done" if counts.get("completed", 0) < len(rows) \
        else f"{len(rows)} runs"
    return {"name": path.name + "/", "path": str(path), "status": status, "task": one("task"),
            "cell": one("cell"), "steps": sum(r["steps"] or 0 for r in rows), "metric": metric,
            "val": best["val"] if best else None, "baseline": best["baseline"] if best else None,
            "wall": sum(walls) if walls else None, "age": min(ages) if ages else None,
            "runs": len(rows), "flat": {}, "final": {}, "counts": dict(counts)}


def select(rows, conditions, sort_key=None):
    """The rows whose every (key, text) condition holds, sorted by `sort_key` (numbers, then
    text, then the rows without it), else by age, newest last."""
    for key, value in conditions:
        rows = [e for e in rows if _matches(value_of(e, key), value)]
    if sort_key:
        return sorted(rows, key=lambda e: _order(value_of(e, sort_key)))
    return sorted(rows, key=lambda e: -(e["age"] if e["age"] is not None else 1e18))


def value_of(row, key):
    """A row's column, final figure (val_loss) or config value (train.bptt), or None."""
    if key in row and key not in ("flat", "final"):
        return row[key]
    if key in row["final"]:
        return row["final"][key]
    return row["flat"].get(key)


def _matches(value, text):
    if value is None:
        return text == ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return str(value).lower() == text.lower()


def _order(value):
    if value is None:
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))
