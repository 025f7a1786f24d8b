"""The report's study view of a `train tune` directory: value by trial (pruned trials marked)
with the best so far, each parameter against the value, and the parameters' importances.

Read from the study's files only: trials.csv (as untrusted text, never through a symbolic
link) and, for the importances, study.log through Optuna's own evaluator (fANOVA by default;
left out with a note when Optuna is not installed or the study has too few complete trials).
"""
import csv
import io
import math
from pathlib import Path

from trainer.reports.figures import CATEGORY
from trainer.rundir.safe_io import read_nofollow
from trainer.rundir.layout import TUNE_FILE, TRIALS, STUDY_LOG



def is_study(path):
    return (Path(path) / TUNE_FILE).is_file() and (Path(path) / TRIALS).is_file()


def charts(paths):
    """(chart dicts {"id", "spec"}, notes) for every study directory among `paths`."""
    out, notes = [], []
    for n, path in enumerate(p for p in map(Path, paths) if is_study(p)):
        try:
            out += _study_charts(path, f"study-{n}")
        except (OSError, ValueError, KeyError) as e:
            notes.append(f"{path}: the study view could not be drawn ({e})")
            continue
        imp, note = importances(path)
        if imp:
            out.append({"id": f"study-{n}-importance", "spec": _importance_chart(path, imp)})
        if note:
            notes.append(note)
    return out, notes


def read_trials(path):
    """trials.csv's rows, and the tune's objective, direction, arm key and parameter keys."""
    from trainer.config import tomlio
    from trainer.model.metrics import lower_is_better
    text = read_nofollow(Path(path) / TRIALS).decode("utf-8", "replace")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    tune = tomlio.read(Path(path) / TUNE_FILE, "tune").get("tune", {})
    objective = str(tune.get("objective", "val_loss"))
    per = tune.get("per")
    keys = [k for k in tune.get("params", {}) if k != per]
    lower = lower_is_better(objective)
    return rows, objective, lower, per, keys


def _num(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _study_charts(path, cid):
    rows, objective, lower, per, keys = read_trials(path)
    arms = list(dict.fromkeys(r.get(per, "") for r in rows)) if per else [""]
    by_trial, params = [], {k: [] for k in keys}
    for n, arm in enumerate(arms):
        color = CATEGORY[n % len(CATEGORY)]
        mine = sorted((r for r in rows if not per or r.get(per) == arm), key=lambda r: int(r["number"]))
        done = [r for r in mine if r["state"] == "complete" and _num(r["value"]) is not None]
        pruned = [r for r in mine if r["state"] == "pruned" and _num(r.get("value_at_pruning")) is not None]
        label = f"{per.split('.', 1)[-1]}={arm}" if per else "complete"
        by_trial.append({"x": [int(r["number"]) for r in done], "y": [_num(r["value"]) for r in done],
                         "mode": "markers", "name": label, "marker": {"color": color, "size": 8}})
        if pruned:
            by_trial.append({"x": [int(r["number"]) for r in pruned],
                             "y": [_num(r["value_at_pruning"]) for r in pruned], "mode": "markers",
                             "name": f"{label} pruned (value when pruned)",
                             "marker": {"color": color, "size": 8, "symbol": "x", "opacity": 0.6}})
        best, xs, ys = None, [], []
        for r in mine:
            v = _num(r["value"]) if r["state"] == "complete" else None
            if v is not None and (best is None or (v < best if lower else v > best)):
                best = v
            if best is not None:
                xs.append(int(r["number"]))
                ys.append(best)
        by_trial.append({"x": xs, "y": ys, "mode": "lines", "line": {"color": color, "shape": "hv"},
                         "name": f"{label} best so far" if per else "best so far"})
        for k in keys:
            pts = [(r[k], _num(r["value"])) for r in done if r.get(k) not in (None, "")]
            params[k].append({"x": [_num(x) if _num(x) is not None else x for x, _ in pts],
                              "y": [y for _, y in pts], "mode": "markers", "name": label,
                              "marker": {"color": color, "size": 8, "opacity": 0.7}})
    what = "lower is better" if lower else "higher is better"
    out = [{"id": f"{cid}-by-trial", "spec": {"data": by_trial, "layout": {
        "title": {"text": f"{Path(path).name}: {objective} by trial ({what}; x: pruned)"},
        "xaxis": {"title": {"text": "trial"}}, "yaxis": {"title": {"text": f"{objective}, mean over seeds"}},
        "hovermode": "closest"}}}]
    for k in keys:
        xs = [x for t in params[k] for x in t["x"]]
        log = bool(xs) and all(isinstance(x, float) and x > 0 for x in xs) and max(xs) / min(xs) >= 8
        out.append({"id": f"{cid}-param-{k}", "spec": {"data": params[k], "layout": {
            "title": {"text": f"{objective} vs {k} (complete trials)"},
            "xaxis": {"title": {"text": k}, "type": "log" if log else "-"},
            "yaxis": {"title": {"text": objective}}, "hovermode": "closest"}}})
    return out


def importances(path):
    """({arm label: {param: importance}}, note): Optuna's importance evaluator per study."""
    try:
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
    except ImportError:
        return {}, f"{path}: parameter importances need Optuna (pip install 'rnn-trainer[tune]')"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    log = Path(path) / STUDY_LOG
    if log.is_symlink() or not log.is_file():
        return {}, None
    storage = JournalStorage(JournalFileBackend(str(log)))
    out, notes = {}, []
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        if len(complete) < 2:
            notes.append(f"{summary.study_name}: fewer than 2 complete trials")
            continue
        try:
            out[summary.study_name] = optuna.importance.get_param_importances(study)
        except (ValueError, RuntimeError) as e:
            notes.append(f"{summary.study_name}: {e}")
    note = f"{path}: no importances for " + "; ".join(notes) if notes else None
    return out, note


def _importance_chart(path, imp):
    traces = []
    for n, (name, values) in enumerate(imp.items()):
        keys = list(values)
        traces.append({"type": "bar", "orientation": "h", "y": keys, "x": [values[k] for k in keys],
                       "name": "" if name == "study" else name,
                       "marker": {"color": CATEGORY[n % len(CATEGORY)]}})
    return {"data": traces, "layout": {
        "title": {"text": f"{Path(path).name}: parameter importances (Optuna's fANOVA evaluator)"},
        "xaxis": {"title": {"text": "importance (shares sum to 1 per study)"}},
        "barmode": "group", "hovermode": "closest"}}
