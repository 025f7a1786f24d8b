"""The `train sweep` and `train compare` commands; the group in trainer/cli/__init__.py adds them.

Nothing heavy is imported at the top, so `train --help` stays fast.
"""
import sys
from pathlib import Path

import click

from trainer.cli.common import EXIT_INTERRUPTED, StopFlag, dask_client, fail, hold_dir, make_dir
from trainer.errors import BadInput, one_line
from trainer.rundir.layout import RESULTS

EXIT_FAILED_RUNS = 1

SWEEP_EPILOG = """\b
Examples:
  train sweep configs/sweep-bptt.toml --workers 2
  train sweep configs/sweep-bptt.toml --dry-run
  train sweep configs/sweep-lr.toml --name lr-sine        # run it again to resume
  train sweep configs/sweep-bptt.toml --scheduler tcp://127.0.0.1:8786
  train sweep --config configs/counting.toml --grid train.bptt=2,4,8,16 --seeds 0-4
  train sweep --config sine --grid optim.lr=0.01,0.1 --grid model.hidden=16,32 --set train.epochs=3

\b
Writes RUNS_DIR/NAME/: one run directory per run (named from the swept
values and the seed, e.g. bptt=8-seed=1, exactly as `train` writes them),
sweep.toml (the sweep as resolved), results.csv (one row per run) and plots
(final_vs_<key>.png, loss_curves.png). The runs' own figures are not drawn
(the workers' time goes to training): `train plot RUN_DIR...` draws them
from the files when wanted, or --run-figures draws them as each run ends. Running a sweep again with the same
--name skips runs that completed or diverged and redoes failed or interrupted
ones; values added to the sweep file run only the new points.

\b
Exit status: 0 done, 1 some runs failed (see results.csv), 2 bad input
(nothing is written), 130 interrupted (finished runs are kept; run again
with the same --name to finish)."""


@click.command("sweep", epilog=SWEEP_EPILOG)
@click.argument("sweep_file", metavar="[SWEEP_FILE]", required=False)
@click.option("--config", "config_path", metavar="FILE",
              help="Sweep this run config without a sweep file (with --grid and --seeds).")
@click.option("--grid", multiple=True, metavar="KEY=V1,V2",
              help="With --config: a key's values, typed like its default (repeatable: every "
                   "combination runs).")
@click.option("--seeds", metavar="0-4", help="With --config: the seeds of every point, as 0-4 "
                                             "or 0,1,2 [default: the config's train.seed].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="With --config: override a config key for every run (repeatable).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Local worker processes, one BLAS thread each [default: the number of cores].")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask cluster instead, e.g. tcp://scheduler-host:8786.")
@click.option("--name", help="Sweep directory name; an existing sweep directory is resumed "
                             "(default: sweep file name, time and a random suffix).")
@click.option("--runs-dir", default="runs", show_default=True, metavar="DIR",
              help="Where the sweep directory is created.")
@click.option("--dry-run", is_flag=True, help="Check the sweep and list its runs; write nothing.")
@click.option("--run-figures", is_flag=True,
              help="Draw each run's PNGs as it ends, as `train` does (slower; default: draw them "
                   "later with `train plot`).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors and the sweep directory.")
def sweep_cmd(sweep_file, config_path, grid, seeds, overrides, workers, scheduler, name, runs_dir,
              dry_run, run_figures, quiet):
    """Train many runs: a grid or random search over config keys and seeds.

    SWEEP_FILE is TOML: `base` (a config, relative to the file), an optional
    [set] table of fixed overrides, and [sweep] with method ("grid" or
    "random"), seeds, n (random only) and [sweep.params] mapping "section.key"
    to a list of values, a grid range { min, max, num, log } or, for random
    search, a range { min, max, log }. Every run's config is checked before
    anything runs.
    """
    from trainer.sweeps import launch
    from trainer.sweeps.execute import local_workers
    if workers and scheduler:
        fail("--workers and --scheduler do not go together: a Dask cluster has its own workers")
    if (sweep_file is None) == (config_path is None):
        fail("train sweep: give a sweep file, or --config FILE with --grid KEY=V1,V2 (not both)")
    if sweep_file is not None and (grid or seeds or overrides):
        fail("--grid, --seeds and --set go with --config; a sweep file says them in its tables")
    try:
        sweep = launch.make(sweep_file, config_path, grid, seeds, overrides)
        sweep_dir = launch.directory(sweep, runs_dir, name, sweep_file or config_path)
        client = dask_client(scheduler) if scheduler and not dry_run else None  # before any write
    except BadInput as e:
        fail(str(e))
    if not dry_run:
        hold_dir(sweep_dir, f"--runs-dir {runs_dir}")
    points = sweep.points()
    try:
        todo = launch.to_run(points, sweep_dir)
    except BadInput as e:   # a run under a point's name holds another config
        fail(str(e))
    if dry_run:
        _list(sweep, points, todo, sweep_dir, runs_dir, None if scheduler else local_workers(workers))
        return
    if not quiet:
        click.echo(f"sweep {sweep_dir}: {len(points)} runs, {len(points) - len(todo)} already done, "
                   f"{len(todo)} to run on {scheduler or f'{local_workers(workers)} local workers'}",
                   err=True)
    progress = _Progress(len(todo), quiet)
    from trainer.plots import background
    painter = background.start(warm=("pandas",))  # ready to draw by the time the runs are done
    click.get_current_context().call_on_close(painter.close)
    results, interrupted = _run(sweep, points, sweep_dir, workers, client, scheduler, run_figures,
                                progress)
    progress.close()
    rows = results.rows()
    launch.draw_figures(painter, sweep, sweep_dir, rows)
    counts = launch.counts(rows)
    if not quiet:
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {sweep_dir / RESULTS}",
                   err=True)
        report = results.report
        click.echo(f"report: {report.page}" if report.error is None
                   else f"the sweep's report could not be written: {report.error}", err=True)
    click.echo(str(sweep_dir))
    if interrupted or counts.get("pending"):
        click.echo(f"interrupted; run the same command with --name {sweep_dir.name} to finish", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if counts.get("failed"):
        sys.exit(EXIT_FAILED_RUNS)


def _run(sweep, points, sweep_dir, workers, client, scheduler, run_figures, progress):
    """Run the sweep, stopping after the current steps on Ctrl-C or SIGTERM; returns (its
    execute.Results, whether it was asked to stop), or exits with one line."""
    from trainer.sweeps import execute
    try:
        with StopFlag() as stop:
            results = execute.run(sweep, sweep_dir, workers, client, progress, stop, run_figures,
                                  progress.retry)
            return results, stop.requested
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"interrupted at once; finished runs in {sweep_dir} are intact", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BadInput as e:
        progress.close()
        fail(str(e))
    except Exception as e:
        why = _stopped_early(e, points, sweep_dir, scheduler, progress)
        if why is None:
            raise
        fail(why, EXIT_FAILED_RUNS)
    finally:
        if client is not None:
            client.close(timeout=5)


def _stopped_early(error, points, sweep_dir, scheduler, progress):
    """What to say when a full disk or a lost Dask scheduler stopped the sweep (the runs done
    so far stay, with their results); None for any other error."""
    from trainer.rundir.safe_io import is_disk_full
    from trainer.sweeps import launch
    from trainer.sweeps.dask_cluster import NO_WORKER_S, NoWorkers, SchedulerLost
    disk_full = isinstance(error, OSError) and is_disk_full(error)
    if not disk_full and not isinstance(error, SchedulerLost):
        return None
    progress.close()
    done, total = launch.progress(points, sweep_dir)
    left = total - done
    if disk_full:
        return (f"{error.filename or sweep_dir}: {error.strerror or error}: the sweep stopped with "
                f"{done} of {total} runs done; free space and run the same command with --name "
                f"{sweep_dir.name} to finish")
    if isinstance(error, NoWorkers):
        return (f"the Dask scheduler at {scheduler} has had no worker for {NO_WORKER_S} s (its "
                f"last one left or was killed): {done} of {total} runs done, {left} left; start a "
                f"worker and run the same command with --name {sweep_dir.name} (or without "
                "--scheduler, here)")
    return (f"lost the Dask scheduler at {scheduler}: {done} of {total} runs done, {left} left; "
            f"run the same command with --name {sweep_dir.name} once the scheduler is back (or "
            "without --scheduler, here)")


def _list(sweep, points, todo, sweep_dir, runs_dir, workers):
    """The dry run: every run, whether it is still to run, and the estimated wall time."""
    from trainer.sweeps.estimate import describe, estimate
    try:
        guess = estimate(todo, runs_dir)
    except BadInput as e:
        fail(str(e))
    todo = {p.name for p in todo}
    click.echo(f"{sweep_dir}: {len(points)} runs ({sweep.method} over "
               f"{', '.join(sweep.keys) or 'seeds'} x {len(sweep.seeds)} seeds), {len(todo)} to run")
    width = max(len(p.name) for p in points)
    for p in points:
        values = "  ".join(f"{k}={v}" for k, v in p.values.items())
        state = f"to run (~{describe(guess.seconds[p.name])})" if p.name in todo else "done"
        click.echo(one_line(f"  {p.name:<{width}}  {state:<16}  {values}"))
    if not todo:
        return
    how = ", ".join(filter(None, [
        f"{guess.runs_used} past runs of {guess.past} of its configs" if guess.past else "",
        f"a measured stretch of {guess.measured} config{'s' * (guess.measured != 1)}"
        if guess.measured else "",
        f"{guess.guessed} more taken as the measured ones' mean" if guess.guessed else ""]))
    total = sum(guess.seconds.values())
    where = (f"~{describe(guess.wall(workers))} on {workers} local worker{'s' * (workers != 1)}"
             if workers else f"~{describe(total)} of training in all, shared by the cluster's "
                             "workers")
    click.echo(f"estimated wall time: {where} (training and validation only, from {how})")


class _Progress:
    """Finished runs: a tqdm bar on a terminal, a line per run otherwise, nothing when quiet."""

    def __init__(self, total, quiet):
        self.quiet, self.total, self.done, self.bar = quiet, total, 0, None
        if not quiet and sys.stderr.isatty() and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="run", dynamic_ncols=True, file=sys.stderr)

    def __call__(self, point, summary):
        status = summary.get("status", "?")
        if self.quiet or status == "pending":  # stopped before it started
            return
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"{point.name} {status}")
        else:
            final = {k: v for k, v in (summary.get("final") or {}).items() if v is not None}
            figures = "  ".join(f"{k} {v:.4g}" for k, v in final.items())
            error = f"  {summary['error']}" if summary.get("error") else ""
            click.echo(f"[{self.done}/{self.total}] {point.name}: {status}  {figures}{error}", err=True)

    def retry(self, point, why):
        if not self.quiet:
            line = f"{point.name}: {why}; trying it again (once), from its checkpoint if it has one"
            (self.bar.write if self.bar is not None else click.echo)(line, file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


@click.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR...")
@click.option("--out", metavar="DIR", help="Folder for the report, results.csv and the plots "
                                           "(default: reports/compare-<time>-<suffix>).")
def compare_cmd(run_dirs, out):
    """The report of any runs (report.html: a sortable table, overlaid curves, what differs),
    with a results.csv of them and, for up to three differing keys, the sweep's PNG plots.

    Columns are the config keys that differ between the runs, the seed, the
    status and final figures; a sweep directory stands for all its runs, and
    directories that are not runs are skipped with a note. The output never
    lands among the runs it reads, so the same glob works again.

    \b
    Example:
      train compare runs/sine-20261121-120000-ab12 runs/sine-20261121-120500-cd34
      train compare runs/*
      train compare runs/bptt-counting/bptt=2-seed=0 runs/bptt-counting/bptt=16-seed=0 --out cmp
    """
    from trainer.cli.report import check_out, write_report
    from trainer.sweeps import compare
    option = f"--out {out}" if out else "the default report folder"
    if out:
        check_out(run_dirs, out, option)
    out = Path(out) if out else compare.default_out()
    paths, notes = compare.runs(run_dirs, out)
    if not paths:
        fail("no runs to compare: " + "; ".join(notes))
    try:
        if out.exists() and not out.is_dir():
            fail(f"{option}: {out} exists and is not a directory")
        rows, cols, keys = compare.table(paths, out)
    except BadInput as e:
        fail(str(e))
    for r in rows:
        if r.get("error"):
            click.echo(f"note: {one_line(r['run_dir'])} is unreadable: {one_line(r['error'])}", err=True)
    make_dir(out, option)
    title = f"compare: {len(paths)} runs"
    page = write_report(paths, out, option, title=title)
    written, note = compare.write(paths, out, rows, cols, keys, title)
    if note:
        click.echo(f"note: {note}", err=True)
    for path in [page, *written]:
        click.echo(one_line(path))
