"""The researcher's Python API beside train/load_run: sweeps, tables and reports, with the
guarantees of the commands (one writer per directory, a sweep resumed by its name, bad input
as trainer.errors.BadInput before anything is written).

    import trainer
    sweep_run = trainer.sweep("sweep-cell-bptt", name="cell-bptt", workers=2)
    sweep_run.results              # results.csv as a DataFrame, one row per run
    trainer.table(sweep_run.path, by="model.cell")     # train table's figures as a DataFrame
    trainer.report(sweep_run.path) # the HTML report's page; a notebook shows it inline
"""
import html
import os
from pathlib import Path

from trainer.errors import BadInput


class SweepRun:
    """A sweep directory: `path`, `results` (results.csv as a DataFrame), `table()` and
    `report()`; a notebook shows its counts and results."""

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"SweepRun({str(self.path)!r})"

    @property
    def results(self):
        """results.csv: one row per run, with its swept values, seed, status and figures."""
        import pandas as pd
        from trainer.rundir.safe_io import read_nofollow
        from trainer.sweeps.results import RESULTS
        import io
        return pd.read_csv(io.BytesIO(read_nofollow(self.path / RESULTS)))

    def table(self, by=None, figure=None):
        """train table's figures for this sweep (see trainer.table)."""
        return table([self.path], by=by, figure=figure)

    def report(self, out=None):
        """The sweep's HTML report (see trainer.report)."""
        return report([self.path], out=out)

    def _repr_html_(self):
        df = self.results
        counts = ", ".join(f"{n} {html.escape(str(s))}" for s, n in
                           df["status"].value_counts().items())
        return (f"<div><b>{html.escape(self.path.name)}</b>: {len(df)} runs ({counts})</div>"
                + df.to_html(max_rows=30, escape=True))


def sweep(spec, name=None, runs_dir="runs", workers=None, scheduler=None, figures=False,
          progress=None):
    """Run a sweep, as `train sweep` does, and return its SweepRun. `spec`: a sweep file's path,
    a shipped sweep's name, or a dict of its tables ({"base": ..., "set": {...}, "sweep":
    {"seeds": [...], "params": {...}}}, base being a config's path or name or a config dict,
    whose model.cell and task.name may be Python objects). The same `name` again resumes it.
    `workers` local processes (default: the cores) or a Dask `scheduler`; a config holding
    objects of this Python session trains here, one run after another. `progress`: None shows
    a bar over the runs in a notebook, True always, False never."""
    import multiprocessing
    from trainer.training.progress import in_notebook, notebook_bar
    from trainer.rundir.safe_io import Lock
    from trainer.sweeps import execute, launch, spec as sweep_spec
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise BadInput("trainer.sweep was called while a worker process imported your script: "
                       "put the call under `if __name__ == \"__main__\":` (the sweep's workers "
                       "import the script that started them)")
    if workers is not None and scheduler is not None:
        raise BadInput("workers and scheduler do not go together: a Dask cluster has its own")
    if isinstance(spec, dict):
        planned, source = sweep_spec.from_data(spec), "sweep"
    elif isinstance(spec, (str, Path)):
        planned = launch.make(sweep_file=spec)
        source = planned.source
    else:
        raise BadInput(f"sweep: expected a sweep file's path or name, or a dict, got "
                       f"{type(spec).__name__}")
    sweep_dir = launch.directory(planned, runs_dir, name, source)
    client = None
    if scheduler is not None:
        from trainer.sweeps.dask_cluster import connect
        client = connect(scheduler)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    held = Lock(sweep_dir)
    show = in_notebook() if progress is None else bool(progress)
    todo = launch.to_run(planned.points(), sweep_dir)
    bar = notebook_bar()(total=len(todo), unit="run", desc=sweep_dir.name) if show else None
    try:
        execute.run(planned, sweep_dir, workers, client, figures=figures,
                    on_result=(lambda p, s: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close(timeout=5)
        held.release()
    return SweepRun(sweep_dir)


def _paths(paths):
    paths = [paths] if isinstance(paths, (str, Path, os.PathLike)) else list(paths)
    for p in paths:
        if not Path(p).is_dir():
            raise BadInput(f"{p}: {'no such directory' if not Path(p).exists() else 'not a directory'}")
    return [Path(p) for p in paths]


def table(paths, by=None, figure=None, within=None):
    """`train table`'s figures as a pandas DataFrame, one row per group of seeds: runs, the
    final figure's mean, min-max and 95% bootstrap interval, k of n beating the baseline,
    probability of improvement, time to target. `paths`: sweeps, runs or folders of runs;
    `by`: a key or list of keys to group by (default: the swept keys, or the keys that
    differ); `within`: a key or keys whose every value is compared apart (its own best).
    `df.attrs["notes"]` holds what was skipped and why."""
    import pandas as pd
    from trainer.analysis import results_table
    keys = [by] if isinstance(by, str) else list(by) if by is not None else None
    if figure is not None and not (isinstance(figure, str) and figure.startswith("val_")):
        raise BadInput(f"figure {figure!r}: expected a validation figure such as val_loss")
    inside = [within] if isinstance(within, str) else list(within or [])
    result = results_table.read(_paths(paths), keys, figure, inside)
    if not result.groups:
        raise BadInput("no runs to table: " + ("; ".join(result.notes) or "none found"))
    header, rows = results_table.as_csv_rows(result)
    df = pd.DataFrame([[None if v == "" else v for v in r] for r in rows], columns=header)
    df.attrs["notes"] = list(result.notes)
    return df


class Page:
    """A written report: `path` (report.html); a notebook shows it inline."""

    def __init__(self, path):
        self.path = Path(path)

    def __fspath__(self):
        return str(self.path)

    def __str__(self):
        return str(self.path)

    def __repr__(self):
        return f"Page({str(self.path)!r})"

    def _repr_html_(self):
        try:
            src = os.path.relpath(self.path)
        except ValueError:
            src = str(self.path)
        src = html.escape(src)
        return (f'<a href="{src}" target="_blank">{html.escape(str(self.path))}</a>'
                f'<iframe src="{src}" width="100%" height="640" style="border:1px solid #ddd">'
                "</iframe>")


def report(paths, out=None, title=None):
    """Write the HTML report of runs and sweeps, as `train report` does, and return its Page
    (the path of report.html). `out`: the folder (default: a sweep's report/, else
    reports/<id>/)."""
    from trainer.rundir.collect import find_runs
    from trainer.reports.output import check_out, default_out
    from trainer.reports.page import Report
    paths = _paths(paths)
    option = f"out={out}" if out else "the default report folder"
    if out is not None:
        check_out(paths, out, option)
    out = Path(out) if out is not None else default_out(paths)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{option}: {out} exists and is not a directory")
    runs, notes, sweeps = find_runs(paths)
    if not runs and not sweeps:
        raise BadInput("no runs to report: " + "; ".join(notes))
    page, _ = Report(paths, out, title).write()
    return Page(page)
