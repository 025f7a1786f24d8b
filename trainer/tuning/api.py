"""`trainer.tune(...)`: the `train tune` command from Python, returning the study's results."""
import dataclasses
from pathlib import Path


class Study:
    """A finished (or stopped) study: `trials` (a pandas DataFrame, one row per trial, as
    trials.csv), `best` (the best complete trial's row, or None), `best_config` (its full
    Config; with `per`, `best_configs` maps each arm to its own), `dir`, and after confirm,
    `confirmed` (train table's DataFrame of the fresh seeds)."""

    def __init__(self, tune, study_dir, confirmed=None):
        from trainer.tuning import study as tune_run
        self.tune, self.dir = tune, Path(study_dir)
        rows = tune_run.trial_rows(tune, self.dir)
        import pandas as pd
        self.trials = pd.DataFrame(rows, columns=tune_run.trial_columns(tune))
        bests = tune_run.best_trials(tune, rows)
        self.best_configs = {arm: tune_run.best_config(tune, r) for arm, r in bests.items()}
        rank = sorted(bests.values(), key=lambda r: r["value"], reverse=not tune.lower)
        self.best = rank[0] if rank else None
        self.best_config = tune_run.best_config(tune, self.best) if self.best else None
        self.confirmed = confirmed

    def __repr__(self):
        best = "no complete trial" if self.best is None else \
            f"best trial {self.best['number']}: {self.tune.objective} {self.best['value']:.4g}"
        return f"<Study {self.dir}: {len(self.trials)} trials, {best}>"


def tune(spec, trials=None, workers=1, runs_dir="runs", name=None, confirm=None, progress=None,
         scheduler=None):
    """Run (or continue) a study: `spec` is a tune file's path or its tables as a dict (a
    relative `base` from the current directory). Same files as `train tune`; returns a Study.

        study = trainer.tune("configs/study-copy-cells.toml", trials=8, name="cells")
        study.trials.sort_values("value").head()
        trainer.train(study.best_config)

    progress(line) hears one line per trial; confirm=K retrains the best on K fresh seeds;
    scheduler="tcp://HOST:8786" trains the trials on a Dask cluster.
    """
    from trainer.rundir.layout import check_name, check_runs_dir, new_run_id
    from trainer.tuning import study as tune_run, space as tune_space
    if isinstance(spec, dict):
        tune_spec, stem = tune_space.from_data(spec), "tune"
    else:
        tune_spec, stem = tune_space.load(spec), Path(spec).stem
    if trials is not None:
        tune_spec = dataclasses.replace(tune_spec, trials=int(trials))
    tune_run.check_extras(tune_spec)
    name = check_name(name) if name else new_run_id(stem)
    study_dir = check_runs_dir(runs_dir) / name
    tune_run.open_dir(tune_spec, study_dir)
    client = None
    if scheduler:  # before anything is written
        from trainer.sweeps.dask_cluster import connect
        client = connect(scheduler)
    study_dir.mkdir(parents=True, exist_ok=True)
    from trainer.rundir.safe_io import Lock
    held = Lock(study_dir)
    try:
        from trainer.tuning.on_dask import runner
        tune_run.run(tune_spec, study_dir, workers, None, progress, runner(client) if client else None)
        confirmed = None
        if confirm:
            confirmed = tune_run.confirm(tune_spec, study_dir, confirm, workers, None, progress, client)
        out = Study(tune_spec, study_dir)
        if confirmed is not None:
            from trainer.analysis import results_table
            header, rows = results_table.as_csv_rows(confirmed.table)
            import pandas as pd
            out.confirmed = pd.DataFrame(rows, columns=header)
        return out
    finally:
        held.release()
        if client is not None:
            client.close(timeout=5)
