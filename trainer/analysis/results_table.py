"""The results table of a sweep (or any runs): one row per group of runs, with uncertainty.

Each group (the runs sharing the values of the grouping keys, every seed of a setting) gets
its final metric's mean, min-max and a 95% bootstrap confidence interval of the mean (seeded:
the same runs give the same interval), how many runs beat the task's baseline, the best
epoch's metric and, with `train.target`, how many reached it and the median epochs and
training sequences (or steps) they took. Between groups: the probability of improvement of
each group over the best one (the chance that a run of the group is better than a run of the
best group, ties counting half; Agarwal et al. 2021, "Deep reinforcement learning at the edge
of the statistical precipice"). How the table reads (text, the report's strings, the sentences
under it) is trainer/analysis/table_text.py.

Runs are read as untrusted (RunDir's checked readers); an unreadable run is counted, not used.
"""
import json
import math
from dataclasses import dataclass, field

import numpy as np

from trainer.rundir.layout import SWEEP_FILE

BOOTSTRAP = 2000     # resamples of the mean per group
CONFIDENCE = 0.95
SEED = 0             # of the bootstrap's generator


@dataclass
class Group:
    values: dict                      # the grouping keys' values
    finals: list = field(default_factory=list)      # the final metric of each finished run
    beats: list = field(default_factory=list)       # beats_baseline of each
    bests: list = field(default_factory=list)       # the best epoch's metric
    target_epochs: list = field(default_factory=list)
    target_counts: list = field(default_factory=list)   # sequences (episodes) or steps
    target_set: int = 0               # runs with train.target set
    unfinished: int = 0               # runs without a finite final metric (failed, running, ...)

    @property
    def label(self):
        return ", ".join(f"{k.split('.', 1)[-1]}={show(v)}" for k, v in self.values.items()) or "all runs"


@dataclass
class Table:
    metric: str                       # val_<metric>
    lower: bool                       # whether lower is better
    keys: list
    groups: list
    unit: str                         # "sequences" (episode tasks) or "steps"
    best: int | None = None           # index of the best group by mean
    notes: list = field(default_factory=list)
    within: list = field(default_factory=list)   # keys whose values are compared apart
    block_best: dict = field(default_factory=dict)   # block -> index of its best group

    def block(self, i):
        """The values of the `within` keys of group i (() without --within)."""
        return tuple(json.dumps(self.groups[i].values[k], default=str) for k in self.within)

    def best_of(self, i):
        """The index of the best group among those compared with group i (its block's)."""
        return self.block_best.get(self.block(i)) if self.within else self.best


def read(paths, by=None, figure=None, within=None):
    """The runs under `paths` (run, sweep or runs directories) gathered into a Table (of
    `figure`, a validation figure such as val_long_string_accuracy, or the runs' metric);
    `within`: keys whose every value gets its own comparison (its own best group)."""
    from trainer.rundir.collect import find_runs, swept_keys
    from trainer.rundir.layout import RunDir
    runs, notes, sweeps = find_runs(paths)
    read_back = []
    for run in runs:
        run_dir = RunDir(run)
        flat, problem = run_dir.read_flat_config()
        summary = run_dir.read_summary() or {"status": "no summary"}
        if problem or summary.get("status") == "unreadable":
            notes.append(f"{run}: unreadable ({problem or summary.get('error')}); left out")
            continue
        final = summary.get("final")
        odd = [k for k, v in final.items() if not _finite(v)] if isinstance(final, dict) else []
        if odd and summary.get("status") == "completed":   # 1e400 in the file reads as inf
            notes.append(f"{run}: summary.json final {odd[0]} is {final[odd[0]]!r}, not a finite "
                         "number; counted as unfinished")
        read_back.append((flat, summary))
    for s in sweeps:
        problem = _sweep_file_problem(s)
        if problem:
            notes.append(f"{s / 'sweep.toml'}: {problem}; grouped by the keys that differ instead")
    swept = list(dict.fromkeys(k for s in sweeps for k in swept_keys(s) if k != "train.seed"))
    return build(read_back, list(by) if by else swept or None, notes, figure, within)


def _sweep_file_problem(sweep_dir):
    from trainer.config import tomlio
    from trainer.rundir.collect import sweep_file_problem
    try:
        data = tomlio.read(sweep_dir / SWEEP_FILE, "sweep")
    except (OSError, ValueError) as e:
        return f"unreadable ({e})"
    return sweep_file_problem(data)


def build(read_back, keys=None, notes=(), figure=None, within=None):
    """A Table of (flat config, summary) pairs grouped by `keys` (None: the config keys that
    differ between the runs, the seed aside), of `figure` (None: val_<the runs' metric>);
    with `within`, grouped by those keys first, and each of their values compared apart."""
    from trainer.model.metrics import lower_is_better
    from trainer.rundir.collect import differing_keys
    notes = list(notes)
    metrics = [s.get("metric") for _, s in read_back if isinstance(s.get("metric"), str)]
    if not metrics:
        return Table("val_loss", True, [], [], "steps", notes=notes + ["no run has a metric yet"])
    metric = max(set(metrics), key=metrics.count)
    if figure is not None:          # a figure of the runs' final validation, whatever the metric
        read_back = [(f, s) for f, s in read_back if isinstance(s.get("final"), dict)]
        have = [s for _, s in read_back if figure in s["final"]]
        if not have:
            return Table(figure, True, [], [], "steps", notes=notes + [
                f"no run reports {figure} (a key of summary.json's final, e.g. val_loss)"])
    elif len(set(metrics)) > 1:
        notes.append(f"runs of several metrics ({', '.join(sorted(set(metrics)))}): only the "
                     f"{metrics.count(metric)} val_{metric} runs are tabled")
        read_back = [(f, s) for f, s in read_back if s.get("metric") == metric]
    figure = figure or f"val_{metric}"
    keys = differing_keys([f for f, _ in read_back]) if keys is None else keys
    within = list(within or [])
    keys = within + [k for k in keys if k not in within]
    read_back, keys = _split_by_source(read_back, list(keys), notes)
    groups, index = [], {}
    for flat, summary in read_back:
        values = {k: flat.get(k) for k in keys}
        key = json.dumps(values, sort_keys=True, default=str)
        if key not in index:
            index[key] = len(groups)
            groups.append(Group(values))
    unit = "sequences" if any(isinstance(s.get("target"), dict) and "sequences" in s["target"]
                              for _, s in read_back) else "steps"
    for flat, summary in read_back:
        values = {k: flat.get(k) for k in keys}
        problem = _add(groups[index[json.dumps(values, sort_keys=True, default=str)]], flat,
                       summary, figure, unit)
        if problem:
            notes.append(problem)
    groups.sort(key=lambda g: [_order(g.values[k]) for k in keys])
    table = Table(figure, lower_is_better(figure), keys, groups, unit, notes=notes,
                  within=within)
    means = [(float(np.mean(g.finals)) * (1 if table.lower else -1), i) for i, g in enumerate(groups)
             if g.finals]
    if means:   # on a tie, the first group in key order
        table.best = min(means)[1]
    for mean, i in sorted(means):
        table.block_best.setdefault(table.block(i), i)
    return table


SOURCE = "plugins.sha256"   # a grouping key added when runs of one setting differ in plug-in source


def _split_by_source(read_back, keys, notes):
    """Runs of the same setting whose plug-ins' sources differ (a plug-in edited between two
    runs of a sweep) are never pooled: they are grouped apart by SOURCE (the sources' sha256),
    with a note saying why. Returns (read_back with SOURCE in each flat config when a split
    is needed, the keys)."""
    sources = [_sources(s) for _, s in read_back]
    seen = {}
    for (flat, _), src in zip(read_back, sources):
        values = json.dumps({k: flat.get(k) for k in keys}, sort_keys=True, default=str)
        seen.setdefault(values, {}).setdefault(src, 0)
        seen[values][src] += 1
    mixed = {v: srcs for v, srcs in seen.items() if len(srcs) > 1}
    if not mixed:
        return read_back, keys
    for values, srcs in mixed.items():
        label = ", ".join(f"{k.split('.', 1)[-1]}={show(v)}" for k, v in json.loads(values).items())
        notes.append(f"{label or 'all runs'}: runs trained with different plug-in sources ("
                     + "; ".join(f"{n} with {s or 'no plug-in'}" for s, n in srcs.items())
                     + ") are tabled apart, never pooled")
    return [({**f, SOURCE: src}, s) for (f, s), src in zip(read_back, sources)], keys + [SOURCE]


def _sources(summary):
    """The plug-ins' sources a run trained with, as text ("cell 95f46253c40a", and "cell
    95f46253c40a after b44ba2c0f3a2" for a run resumed with a changed source); "" for none.
    summary.json is read back: anything but a sha256 string is left out."""
    from trainer.plugins.pinning import is_sha
    records = summary.get("plugins")
    parts = []
    for kind, r in sorted(records.items() if isinstance(records, dict) else ()):
        if isinstance(r, dict) and is_sha(r.get("sha256")):
            before = r.get("previous_sha256")
            before = [s[:12] for s in before if is_sha(s)] if isinstance(before, list) else []
            parts.append(f"{kind} {r['sha256'][:12]}" + "".join(f" after {s}" for s in before))
    return ", ".join(parts)


def _add(group, flat, summary, figure, unit):
    """Count a run in its group; returns a note when a completed run's figure is unusable."""
    final = (summary.get("final") or {}).get(figure)
    if summary.get("status") != "completed" or not _finite(final):
        group.unfinished += 1
        return None
    group.finals.append(float(final))
    group.beats.append(summary.get("beats_baseline") is True)
    best = (summary.get("best") or {}).get(figure)
    if _finite(best):
        group.bests.append(float(best))
    if isinstance(flat.get("train.target"), (int, float)) and flat["train.target"] >= 0:
        group.target_set += 1
        t = summary.get("target")
        if isinstance(t, dict) and _finite(t.get("epoch")):
            group.target_epochs.append(t["epoch"])
            # a stream run's steps never count as sequences (mixed with episode runs)
            count = t.get("sequences" if unit == "sequences" else "step")
            if _finite(count):
                group.target_counts.append(count)
    return None


def bootstrap_ci(values, rng, resamples=BOOTSTRAP, confidence=CONFIDENCE):
    """The percentile bootstrap interval of the mean of `values` (a point for one value)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return float(x[0]), float(x[0])
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def probability_of_improvement(xs, ys, lower):
    """P(a run of xs is better than a run of ys), ties counting half, over every pair."""
    x, y = np.asarray(xs, float)[:, None], np.asarray(ys, float)[None, :]
    better = (x < y) if lower else (x > y)
    return float(better.mean() + 0.5 * (x == y).mean())


def rows(table):
    """The table as a list of dicts (column: value), the groups in key order."""
    rng = np.random.default_rng(SEED)
    out = []
    for i, g in enumerate(table.groups):
        best_index = table.best_of(i)
        best = table.groups[best_index] if best_index is not None else None
        r = dict(g.values)
        n = len(g.finals)
        r["runs"] = n + g.unfinished
        r["finished"] = n
        if n:
            lo, hi = bootstrap_ci(g.finals, rng)
            r.update({"mean": float(np.mean(g.finals)), "min": min(g.finals), "max": max(g.finals),
                      "ci_low": lo, "ci_high": hi, "beat_baseline": sum(g.beats),
                      "best_epoch_mean": float(np.mean(g.bests)) if g.bests else None})
        else:
            r.update({"mean": None, "min": None, "max": None, "ci_low": None, "ci_high": None,
                      "beat_baseline": 0, "best_epoch_mean": None})
        if g.target_set:
            r["target_reached"] = len(g.target_epochs)
            r["target_set"] = g.target_set
            r["target_median_epochs"] = float(np.median(g.target_epochs)) if g.target_epochs else None
            r[f"target_median_{table.unit}"] = float(np.median(g.target_counts)) if g.target_counts else None
        r["p_improvement_vs_best"] = (probability_of_improvement(g.finals, best.finals, table.lower)
                                      if n and best is not None and i != best_index else None)
        out.append(r)
    return out


def as_csv_rows(table):
    """(header, rows) of the numbers, unformatted (empty for none)."""
    table_rows = rows(table)
    keys = list(dict.fromkeys(k for r in table_rows for k in r))
    return keys, [["" if r.get(k) is None else r[k] for k in keys] for r in table_rows]


def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _order(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v, "")
    return (1, 0, str(v))


def show(v):
    from trainer.errors import one_line
    if isinstance(v, float):
        return f"{v:g}"
    return one_line("-" if v is None else v)
