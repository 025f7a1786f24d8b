"""`train compare`'s files beside its report: the runs compared (none from the output folder
itself), their results.csv with the config keys that differ, and for up to three such keys
the sweep's PNG plots."""
from pathlib import Path

MAX_PLOTTED_KEYS, MAX_PLOTTED_GROUPS = 3, 12   # more would not read as one PNG


def default_out():
    """reports/compare-<time>-<suffix> of the current directory."""
    from trainer.rundir.layout import new_run_id
    return Path("reports") / new_run_id("compare")


def runs(run_dirs, out):
    """(the run directories under `run_dirs`, outside `out`; notes on what was skipped)."""
    from trainer.rundir.collect import find_runs
    paths, notes, _ = find_runs(run_dirs)
    return [p for p in paths if not p.resolve().is_relative_to(Path(out).resolve())], notes


def table(paths, out):
    """(results rows, their columns, the keys that differ) of the runs, relative to `out`."""
    from trainer.sweeps.results import table_for_runs
    return table_for_runs(paths, Path(out).resolve())


def write(paths, out, rows, cols, keys, title):
    """Write results.csv and, when they read, the sweep's PNG plots into `out`; returns (the
    paths written, a note when the runs' losses differ and no PNG overlays them, or None)."""
    from trainer.reports.figures import one_loss
    from trainer.rundir.collect import read_summary
    from trainer.sweeps.results import RESULTS, write as write_results
    out = Path(out)
    written = [write_results(out / RESULTS, rows, cols)]
    groups = len({tuple(str(r.get(k)) for k in keys) for r in rows})
    mixed = one_loss([{"summary": read_summary(p)} for p in paths])[1]
    if mixed:   # one axis would put MSE beside cross-entropy
        return written, f"{mixed}; the PNG plots are not drawn"
    if keys and len(keys) <= MAX_PLOTTED_KEYS and groups <= MAX_PLOTTED_GROUPS:
        from trainer.plots import sweep as sweep_plots
        written += sweep_plots.draw(out / RESULTS, keys, out, title=title)
    return written, None
