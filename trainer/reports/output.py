"""Where a report is written: a sweep's own report/ folder, else reports/<id>/ of the current
directory; never a run's or sweep's folder, nor one the report reads."""
from pathlib import Path

from trainer.errors import BadInput


def default_out(paths, prefix="report"):
    """A sweep's report lives in the sweep directory; any other report in reports/<id>/ of the
    current directory, never among the runs it reads."""
    from trainer.rundir.collect import is_sweep
    from trainer.rundir.layout import new_run_id
    if len(paths) == 1 and is_sweep(paths[0]):
        return Path(paths[0]) / "report"
    return Path("reports") / new_run_id(prefix)


def check_out(paths, out, option):
    """Refuse, in one line, an output folder that is a run or sweep directory, lies inside one,
    or is a folder being read: the command would write among the files it reads or that a run
    owns. A sweep's own report/ folder (the default for a sweep) is its one exception."""
    from trainer.rundir.collect import find_runs, is_run, is_sweep
    target = Path(out).resolve()
    for folder in (target, *target.parents):
        if is_run(folder):
            where = "a run directory" if folder == target else f"inside the run {folder}"
            raise BadInput(f"{option}: {out} is {where}; choose a folder outside every run")
        if is_sweep(folder) and not (folder != target and target == folder / "report"):
            where = "a sweep directory" if folder == target else f"inside the sweep {folder}"
            raise BadInput(f"{option}: {out} is {where}; a sweep's report goes to SWEEP/report "
                           "(the default)")
    runs, _, sweeps = find_runs(paths)
    for p in [*map(Path, paths), *runs]:
        if p.resolve() == target:
            raise BadInput(f"{option}: {out} is a folder this command reads; choose another "
                           "(default: reports/...)")
