"""What a study leaves for people: trials.csv, best.toml (and best-<arm>.toml), and the
confirmation of the best configuration on fresh seeds, tabled as `train table` tables."""
from pathlib import Path

from trainer.sweeps import results as sweep_results
from trainer.tuning.store import need_optuna, storage
from trainer.rundir.layout import TRIALS

BEST = "best.toml"
CONFIRM = "confirm"


def trial_rows(tune, study_dir):
    """One row per trial of every arm (dicts), from the journal."""
    optuna = need_optuna()
    journal = storage(study_dir)
    rows = []
    retried_as = {}
    for arm in tune.arms:
        study = optuna.load_study(study_name=tune.arm_name(arm), storage=journal)
        trials = study.get_trials(deepcopy=False)
        for t in trials:
            if "retry_of" in t.user_attrs:
                retried_as[(arm, t.user_attrs["retry_of"])] = t.number
        for t in trials:
            state = t.state.name.lower()
            if t.user_attrs.get("lost"):
                state = "lost"
            row = {} if tune.per is None else {tune.per: arm}
            row.update(number=t.number, state=state)
            row.update({p.key: t.params.get(p.key) for p in tune.params})
            value = t.value if t.state.name == "COMPLETE" else None
            if value is None and t.state.name == "PRUNED" and t.intermediate_values:
                last = max(t.intermediate_values)
                row["value_at_pruning"] = t.intermediate_values[last]
            row["value"] = value
            seed_values = t.user_attrs.get("seed_values", {})
            row.update({f"seed_{s}": seed_values.get(str(s)) for s in tune.seeds})
            row["epochs"] = t.user_attrs.get("epochs")
            row["pruned_at"] = t.user_attrs.get("pruned_at")
            row["wall_s"] = t.user_attrs.get("wall_s")
            row["retry_of"] = t.user_attrs.get("retry_of")
            row["note"] = (f"retried as trial {retried_as[(arm, t.number)]}"
                           if (arm, t.number) in retried_as else t.user_attrs.get("error"))
            rows.append(row)
    return rows


def trial_columns(tune):
    return ([] if tune.per is None else [tune.per]) + ["number", "state", *(p.key for p in tune.params),
            "value", "value_at_pruning", *(f"seed_{s}" for s in tune.seeds), "epochs", "pruned_at",
            "wall_s", "retry_of", "note"]


def best_trials(tune, rows):
    """{arm: the row of its best complete trial} (arms with none are left out)."""
    out = {}
    for r in rows:
        if r["state"] != "complete" or r["value"] is None:
            continue
        arm = r.get(tune.per) if tune.per else None
        old = out.get(arm)
        if old is None or (r["value"] < old["value"] if tune.lower else r["value"] > old["value"]):
            out[arm] = r
    return out


def best_config(tune, row, seed=None):
    arm = row.get(tune.per) if tune.per else None
    return tune.config({p.key: row[p.key] for p in tune.params}, tune.seeds[0] if seed is None else seed,
                       arm)


def write_tables(tune, study_dir):
    """trials.csv, and best.toml (with per, also best-<arm>.toml for each arm) from the journal."""
    study_dir = Path(study_dir)
    rows = trial_rows(tune, study_dir)
    sweep_results.write(study_dir / TRIALS, rows, trial_columns(tune))
    bests = best_trials(tune, rows)
    overall = None
    for arm, r in bests.items():
        if overall is None or (r["value"] < overall["value"] if tune.lower else r["value"] > overall["value"]):
            overall = r
        if tune.per is not None:
            _write_best(tune, study_dir / f"best-{tune.arm_name(arm)}.toml", r)
    if overall is not None:
        _write_best(tune, study_dir / BEST, overall)
    return rows


def _write_best(tune, path, row):
    cfg = best_config(tune, row)
    arm = f" ({tune.per} = {row[tune.per]!r})" if tune.per else ""
    head = (f"# The best trial{arm} of the study in {path.parent.name}: trial {row['number']}, "
            f"{tune.objective} {row['value']:.6g} (mean over seeds {list(tune.seeds)}).\n"
            f"# Train it: train --config {path}\n"
            f"# Its value was selected on those seeds; `train tune --confirm K` retrains it on "
            f"fresh seeds.\n\n")
    sweep_results.atomic_write_text(path, head + cfg.to_toml())


# ---- confirming: the best configuration on fresh seeds ------------------------------------

class Confirmed:
    """The confirmation's table (train table's), its sentences and the closing line."""

    def __init__(self, table, text, said, closing, confirm_dir):
        self.table, self.text, self.said, self.closing, self.dir = table, text, said, closing, confirm_dir


def fresh_seeds(tune, k):
    """K seeds never used in the search: the ones after its largest."""
    start = max(tune.seeds) + 1
    return list(range(start, start + k))


def confirm(tune, study_dir, k, workers=1, should_stop=None, say=None, client=None):
    """Retrain the best trial (each arm's, with per) on k fresh seeds into study_dir/confirm/
    (runs named `<arm>-trial-0007-seed=5`; again, only what is missing runs) and table them
    with train table's intervals, beating the baseline and probability of improvement."""
    from trainer.config.load import ConfigError
    from trainer.sweeps import execute
    study_dir = Path(study_dir)
    bests = best_trials(tune, trial_rows(tune, study_dir))
    missing = [a for a in tune.arms if a not in bests]
    if missing:
        what = "the study" if tune.per is None else f"{tune.per} = {missing[0]!r}"
        raise ConfigError(f"{study_dir}: {what} has no complete trial yet; nothing to confirm")
    confirm_dir = study_dir / CONFIRM
    confirm_dir.mkdir(exist_ok=True)
    points = confirm_points(tune, bests, k)
    todo = execute.pending(points, confirm_dir)
    if say:
        say(f"confirm: {len(points)} runs on fresh seeds {fresh_seeds(tune, k)}, {len(todo)} to run")

    def landed(point, summary):
        if say and summary.get("status") != "pending":
            value = (summary.get("final") or {}).get(tune.objective)
            say(f"confirm {point.name}: {summary.get('status')}"
                + (f", {tune.objective} {value:.4g}" if isinstance(value, float) else ""))

    if todo and client is not None:
        from trainer.sweeps.dask_cluster import run_on_dask
        run_on_dask(client, todo, confirm_dir, landed, should_stop)
    elif todo:
        execute.run_local(todo, confirm_dir, workers, landed, should_stop)
    return confirm_table(tune, study_dir, points, k)


def confirm_points(tune, bests, k):
    """The confirmation's runs: each arm's best trial on k fresh seeds, named by the trial
    (`cell=lstm-trial-0007-seed=5`), so a later, better trial gets runs of its own."""
    from trainer.sweeps.spec import Point
    points = []
    for arm, row in bests.items():
        prefix = ("" if arm is None else tune.arm_name(arm) + "-") + f"trial-{row['number']:04d}"
        for seed in fresh_seeds(tune, k):
            values = {} if tune.per is None else {tune.per: arm}
            points.append(Point(f"{prefix}-seed={seed}", values, seed, best_config(tune, row, seed)))
    return points


def confirm_table(tune, study_dir, points, k=None):
    """train table's table of the confirmation runs of `points` (earlier bests' runs that may
    lie in confirm/ too are left out)."""
    from trainer.analysis import results_table, table_text
    confirm_dir = Path(study_dir) / CONFIRM
    figure = tune.objective
    table = results_table.read([confirm_dir / p.name for p in points],
                               [tune.per] if tune.per else None, figure)
    text, said = table_text.as_text(table)
    n = k or "K"
    closing = (f"This is the figure to publish: the best configuration retrained on {n} fresh seeds "
               f"never used in the search ({confirm_dir}); the search's own best value was selected "
               "on its seeds and is optimistic.")
    return Confirmed(table, text, said, closing, confirm_dir)
