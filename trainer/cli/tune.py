"""The `train tune` command: seed-aware hyperparameter search with Optuna (the `tune` extra)."""
import dataclasses
import os
import sys
from pathlib import Path

import click

from trainer.cli.common import EXIT_INTERRUPTED, StopFlag, fail, make_dir
from trainer.errors import BadInput, one_line
from trainer.rundir.layout import TUNE_FILE

TUNE_EPILOG = """\b
Examples:
  train tune study-copy-cells --dry-run
  train tune study-copy-cells --workers 2 --name copy-cells
  train tune study-copy-cells --name copy-cells --confirm 5
  train table runs/copy-cells                      # the trials
  train report runs/copy-cells                     # value by trial, parameters, importances

\b
TUNE.toml holds `base` (a config's path or a shipped config's name), an
optional [set] of fixed overrides, [tune] (objective, seeds, trials, sampler:
tpe|random|grid|cmaes, pruner: none|median|halving|hyperband|wilcoxon, seed,
per) and [tune.params] ("section.key" = {low, high, log, step} or {choices}).
Each trial trains every seed as a run of its own (RUNS_DIR/NAME/trial-0007-seed-1),
in lockstep: the seeds' mean at each epoch goes to the pruner. RUNS_DIR/NAME/
holds study.log (Optuna's journal: run the same command again to continue),
trials.csv and best.toml (train --config RUNS_DIR/NAME/best.toml).

\b
Exit status: 0 done, 1 Optuna (or a package its sampler or pruner needs) is
not installed, a worker failed or the Dask scheduler was lost (the trials done
are kept), 2 bad input (nothing written), 130 interrupted (run the same command
again: running trials are retried, none is counted twice)."""


@click.command("tune", epilog=TUNE_EPILOG)
@click.argument("tune_file", metavar="TUNE.toml")
@click.option("--trials", type=click.IntRange(1, 10_000), default=None,
              help="Trials per study (per arm with `per`) [default: the file's tune.trials].")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Local worker processes sharing the study (one trial each at a time) [default: 1].")
@click.option("--scheduler", metavar="ADDRESS",
              help="Train the trials on an existing Dask cluster instead, e.g. tcp://scheduler-host:8786 "
                   "(one trial per worker thread; the journal stays here).")
@click.option("--name", help="Study directory name; an existing one is continued "
                             "(default: the file's name, time and a random suffix).")
@click.option("--runs-dir", default="runs", show_default=True, metavar="DIR",
              help="Where the study directory is created.")
@click.option("--dry-run", is_flag=True, help="Check the file, list the search space and an "
                                              "estimate of the wall time; write nothing.")
@click.option("--confirm", type=click.IntRange(1, 1000), default=None, metavar="K",
              help="Then retrain the best configuration (each arm's, with per) on K fresh seeds "
                   "never used in the search, and table them.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors and the study directory.")
def tune_cmd(tune_file, trials, workers, scheduler, name, runs_dir, dry_run, confirm, quiet):
    """Tune hyperparameters with Optuna, every trial trained on several seeds."""
    from trainer.rundir.layout import check_name, check_runs_dir, new_run_id
    from trainer.tuning import space as tune_space
    if workers and scheduler:
        fail("--workers and --scheduler do not go together: a Dask cluster has its own workers")
    workers = workers or 1
    client = None
    try:
        tune = tune_space.load(tune_file)  # a path, or a shipped tune file's name
        if trials is not None:
            tune = dataclasses.replace(tune, trials=trials)
        if name is not None:
            check_name(name)
        name = name or new_run_id(Path(tune_file).stem)
        study_dir = check_runs_dir(runs_dir) / name
        if dry_run:
            _dry_run(tune, study_dir, workers)
            return
        from trainer.tuning import study as tune_run
        tune_run.check_extras(tune)
        tune_run.open_dir(tune, study_dir)
        if scheduler:  # before anything is written
            from trainer.cli.sweeps import _quiet_dask
            from trainer.sweeps.dask_cluster import connect
            client = connect(scheduler)
            _quiet_dask()
            click.get_current_context().call_on_close(lambda: client.close(timeout=5))
    except ImportError as e:  # OptunaMissing
        fail(str(e), 1)
    except BadInput as e:
        fail(str(e))
    make_dir(study_dir, f"--runs-dir {runs_dir}")
    from trainer.rundir.safe_io import Lock
    try:
        held = Lock(study_dir)  # one tuner per study directory; its workers write under it
    except BadInput as e:
        fail(str(e))
    click.get_current_context().call_on_close(held.release)
    say = (lambda line: None) if quiet else (lambda line: click.echo(one_line(line), err=True))
    if not quiet:
        click.echo(f"tune {study_dir}: {tune.trials} trials{_arms(tune)} x {len(tune.seeds)} seeds, "
                   f"{tune.sampler} sampler, {tune.pruner} pruner, "
                   f"{scheduler or f'{workers} local worker(s)'}", err=True)
    interrupted = False
    try:
        with StopFlag() as stop:
            remote = None
            if client is not None:
                from trainer.tuning.on_dask import runner
                remote = runner(client)
            rows = tune_run.run(tune, study_dir, workers, stop, say, remote)
            interrupted = stop.requested
            if confirm and not interrupted:
                result = tune_run.confirm(tune, study_dir, confirm, workers, stop, say, client)
                interrupted = stop.requested
    except KeyboardInterrupt:
        click.echo(f"interrupted at once; run the same command with --name {study_dir.name} to "
                   "continue (running trials are retried)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BadInput as e:
        fail(str(e))
    except Exception as e:  # a worker's own failure (trials' failures are in trials.csv)
        from trainer.errors import describe
        from trainer.sweeps.dask_cluster import SchedulerLost
        if isinstance(e, SchedulerLost):
            fail(f"lost the Dask scheduler at {scheduler}; the trials done are kept in {study_dir}: "
                 f"run the same command with --name {study_dir.name} once it is back (or "
                 "without --scheduler, here)", 1)
        fail(f"{describe(e)}; the trials done are kept in {study_dir} (running ones are retried "
             "when the study continues)", 1)
    if not quiet:
        _summary(tune, rows, study_dir)
    if confirm and not interrupted:
        click.echo(result.text)
        click.echo("")
        for line in result.said:
            click.echo(line)
        click.echo(result.closing)
    click.echo(str(study_dir))
    if interrupted:
        click.echo(f"interrupted; run the same command with --name {study_dir.name} to continue",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)


def _arms(tune):
    return "" if tune.per is None else f" for each of {len(tune.arms)} values of {tune.per}"


def _summary(tune, rows, study_dir):
    from collections import Counter
    from trainer.tuning import study as tune_run
    counts = Counter(r["state"] for r in rows)
    click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f"; {study_dir / tune_run.TRIALS}",
               err=True)
    for arm, r in tune_run.best_trials(tune, rows).items():
        where = "" if arm is None else f"{tune.per} = {arm!r}: "
        params = ", ".join(f"{p.key}={_fmt(r[p.key])}" for p in tune.params)
        click.echo(f"best {where}trial {r['number']}, {tune.objective} {r['value']:.4g} "
                   f"(mean of seeds {list(tune.seeds)}): {params}", err=True)
    if (study_dir / tune_run.BEST).is_file():
        click.echo(f"best config: {study_dir / tune_run.BEST} (its value is selected on the search's "
                   "seeds; --confirm K gives the figure to publish)", err=True)


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _dry_run(tune, study_dir, workers):
    """The space, the budget and an estimate of the wall time from one timed epoch."""
    from trainer.tuning.study import budget
    exists = (study_dir / TUNE_FILE).is_file()
    click.echo(f"{study_dir}: {'continues the study there' if exists else 'a new study'}")
    click.echo(f"objective: {tune.objective} ({tune.direction}), mean over seeds {list(tune.seeds)}")
    click.echo(f"sampler: {tune.sampler} (seed {tune.seed}), pruner: {tune.pruner}")
    click.echo(f"trials: {budget(tune)}{_arms(tune)}")
    if tune.per is not None:
        click.echo(f"  {tune.per}: {', '.join(map(str, tune.arms))} (each tuned separately)")
    width = max(len(p.key) for p in tune.params)
    for p in tune.params:
        click.echo(f"  {p.key:<{width}}  {p.describe()}")
    seconds = _epoch_seconds(tune)
    runs = budget(tune) * len(tune.arms) * len(tune.seeds)
    total = runs * tune.epochs * seconds / max(1, min(workers, os.cpu_count() or 1))
    click.echo(f"runs: at most {runs} ({tune.epochs} epochs each; pruning stops some early)")
    click.echo(f"estimated wall time: at most {_duration(total)} on {workers} worker(s) "
               f"(one epoch of the base config took {seconds:.2f} s here; sizes in the space change it)")
    click.echo("nothing written (dry run)")


def _epoch_seconds(tune):
    """One epoch of the base config, timed in memory (nothing is written)."""
    import time
    from trainer.training.loop import EpochEnd, Position
    from trainer.training.run import RunParts
    from threadpoolctl import threadpool_limits
    cfg = tune.base.with_changes({"train.epochs": 1})
    setup = RunParts(cfg)
    with threadpool_limits(limits=1, user_api="blas"):  # as the workers train: one thread each
        start = time.perf_counter()
        for event in setup.trainer.run(Position()):
            if isinstance(event, EpochEnd):
                break
        return time.perf_counter() - start


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
