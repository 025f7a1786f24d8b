"""A sweep from its options to its end, the steps `train sweep` takes in turn (the command
only parses, prints and sets the exit status): the sweep made from a sweep file or from a
config with a grid, its directory (an existing one is resumed), the points still to run, how
far it got when it stopped early, and its figures drawn once the runs are done."""
from collections import Counter
from pathlib import Path

from trainer.rundir.layout import RESULTS


def make(sweep_file=None, config=None, grid=(), seeds=None, overrides=()):
    """The checked Sweep of a sweep file, or of a run config with `grid` ("KEY=V1,V2"),
    `seeds` ("0-4") and `overrides` ("KEY=VALUE"); ConfigError in one line otherwise."""
    from trainer.sweeps import spec
    if sweep_file is not None:
        return spec.load(sweep_file)
    return spec.from_command_line(config, grid, seeds, overrides)


def directory(sweep, runs_dir, name, source):
    """RUNS_DIR/NAME of the sweep, not created: `name` checked, or made from the name of the
    `source` file, the time and a random suffix; an existing directory must hold this sweep
    (execute.open_dir)."""
    from trainer.rundir.layout import check_name, new_run_id
    from trainer.sweeps.execute import open_dir
    if name is not None:
        check_name(name)
    return open_dir(sweep, runs_dir, name or new_run_id(Path(source).stem), create=False)


def to_run(points, sweep_dir):
    """The points still to run: every one in a directory not made yet."""
    from trainer.sweeps.execute import pending
    return pending(points, sweep_dir) if Path(sweep_dir).is_dir() else points


def progress(points, sweep_dir):
    """(runs done, runs in all) of a sweep that stopped early, read from its directory."""
    from trainer.sweeps.execute import pending
    return len(points) - len(pending(points, sweep_dir)), len(points)


def draw_figures(painter, sweep, sweep_dir, rows):
    """The sweep's PNGs (final value against each swept key, the loss curves) drawn by
    `painter` (plots.background) when any run left a directory to draw from."""
    from trainer.plots import sweep as sweep_plots
    if any(r["run_dir"] for r in rows):
        sweep_dir = Path(sweep_dir)
        painter.run(sweep_plots.figure_jobs(sweep_dir / RESULTS, sweep.keys, sweep_dir,
                                            title=sweep_dir.name))


def counts(rows):
    """{status: number of runs}, in the order the statuses first appear in results.csv."""
    return Counter(r["status"] for r in rows)
