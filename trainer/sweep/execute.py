"""Running a sweep: what is left to do, a local process pool (or Dask), results.csv as runs land.

A sweep directory holds sweep.toml, results.csv, the plots and one run
directory per run. Running the same sweep into it again skips runs whose
summary says completed or diverged (a result, not an accident) and redoes the
rest: failed, interrupted, or never finished.
"""
import multiprocessing
import os
import shutil
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

from trainer.sweep import results as sweep_results
from trainer import tomlio
from trainer.config import ConfigError
from trainer.rundir import RunDirError, check_runs_dir
from trainer.sweep.worker import BLAS_ENV, init_worker, run_into

SWEEP_FILE = "sweep.toml"
DONE = ("completed", "diverged")


def open_dir(sweep, runs_dir, name, create=True):
    """runs_dir/name for this sweep: new, or an earlier run of the same sweep (same base config)."""
    path = check_runs_dir(runs_dir) / name
    if path.exists():
        old = path / SWEEP_FILE
        if not old.is_file():
            raise RunDirError(f"{path}: exists and is not a sweep directory (no {SWEEP_FILE}); "
                              "choose another --name")
        try:
            base = tomlio.read(old, "sweep").get("base", {})
        except ConfigError as e:
            raise RunDirError(f"{e}; choose another --name") from None
        changed = _first_difference(base, sweep.base.to_dict(), {*sweep.keys, "train.seed"})
        if changed:
            raise ConfigError(f"{path}: holds a sweep of a different base config ({changed}); "
                              "its runs would not compare; choose another --name")
    elif create:
        path.mkdir(parents=True)
    return path


def status(sweep_dir, point):
    summary = sweep_results.summary_of(Path(sweep_dir) / point.name)
    return summary.get("status", "unknown") if summary else None


def pending(points, sweep_dir):
    """The points still to run: no run directory, or one that is not completed or diverged."""
    return [p for p in points if status(sweep_dir, p) not in DONE]


class Results:
    """The sweep's table, kept in memory and rewritten to results.csv as each run lands."""

    def __init__(self, sweep, points, sweep_dir):
        self.points, self.dir = points, Path(sweep_dir)
        metrics = [p.cfg.metric for p in points]
        self.columns = sweep_results.columns(sweep.keys, metrics)
        self.summaries = {p.name: sweep_results.summary_of(self.dir / p.name) for p in points}

    def land(self, point, summary):
        self.summaries[point.name] = summary
        self.write()

    def rows(self):
        return [sweep_results.row(p.values, p.seed, self.summaries[p.name], self.dir / p.name,
                                  self.dir) for p in self.points]

    def write(self):
        return sweep_results.write(self.dir / sweep_results.RESULTS, self.rows(), self.columns)


def run(sweep, sweep_dir, workers=None, client=None, on_result=None, should_stop=None, figures=False):
    """Run the sweep's pending points into sweep_dir, on a local pool or a Dask client; returns the Results.

    on_result(point, summary) is called as each run lands; should_stop() is
    polled, and once true no new run starts and running ones stop after their
    current step (status 'interrupted'), so finished runs stay intact.
    The runs' own figures are drawn only with figures=True.
    """
    sweep_dir = Path(sweep_dir)
    points = sweep.points()
    todo = pending(points, sweep_dir)
    sweep_results.atomic_write_text(sweep_dir / SWEEP_FILE, sweep.to_toml())
    for p in todo:  # a failed or interrupted run is redone from scratch
        if (sweep_dir / p.name).exists():
            shutil.rmtree(sweep_dir / p.name)
    results = Results(sweep, points, sweep_dir)
    results.write()
    from trainer.report.live import LiveReport
    report = LiveReport(sweep_dir)  # report/report.html, rewritten as runs land
    report.update()

    def landed(point, summary):
        results.land(point, summary)
        report.update()
        if on_result:
            on_result(point, summary)

    try:
        if todo and client is not None:
            from trainer.sweep.dask_cluster import run_on_dask
            run_on_dask(client, todo, sweep_dir, landed, should_stop, figures)
        elif todo:
            run_local(todo, sweep_dir, workers or os.cpu_count() or 1, landed, should_stop, figures)
    finally:
        report.update(final=True)
    results.report = report
    return results


def run_local(todo, sweep_dir, workers, landed, should_stop=None, figures=False):
    """A pool of `workers` fresh processes (spawned, one BLAS thread each), one run per task."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    with _env(BLAS_ENV):  # workers inherit it when spawned, before they import numpy
        pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx,
                                   initializer=init_worker, initargs=(stop,))
        futures = {pool.submit(run_into, p.cfg.to_dict(), p.cfg.source, str(sweep_dir / p.name), figures): p
                   for p in todo}
    try:
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in done:
                landed(futures[f], _outcome(f))
            if should_stop and should_stop() and not stop.is_set():
                stop.set()
                for f in waiting:
                    f.cancel()
        pool.shutdown(wait=True)
    except BaseException:  # a second Ctrl-C, or a failure in the parent: do not wait for runs
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _outcome(future):
    if future.cancelled():
        return {"status": "pending"}
    error = future.exception()
    if error is not None:  # the worker process died (killed, out of memory): no summary
        return {"status": "failed", "error": f"{type(error).__name__}: {error}".splitlines()[0]}
    return future.result()


@contextmanager
def _env(values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _first_difference(old, new, ignore):
    """The first config key (outside the swept ones) whose value differs, as a phrase."""
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section, {}), new.get(section, {})
        for key in sorted(set(a) | set(b)):
            if f"{section}.{key}" not in ignore and a.get(key) != b.get(key):
                return f"{section}.{key}: {a.get(key)!r} there, {b.get(key)!r} now"
    return None
