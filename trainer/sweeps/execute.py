"""Running a sweep: what is left to do, a local process pool (or Dask), results.csv as runs land.

A sweep directory holds sweep.toml, results.csv, the plots and one run
directory per run. Running the same sweep into it again skips runs whose
summary says completed or diverged (a result, not an accident) and finishes
the rest: a run with a checkpoint is resumed in place (as `train resume` does),
one without is started over; a run directory with a checkpoint is never
deleted, and a symbolic link in a run's place is left alone (that run fails).

A local worker that dies (killed, out of memory) costs at most the run it had:
that run is retried once (resumed from its checkpoint) and the pool is rebuilt
for the rest. Workers exit when the sweep's own process dies.
"""
import multiprocessing
import os
import shutil
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from trainer.sweeps import pins, results as sweep_results
from trainer.config import tomlio
from trainer.config.compare import differences, flat
from trainer.config.load import ConfigError
from trainer.errors import describe
from trainer.rundir.layout import CHECKPOINT, CONFIG, RunDir, check_runs_dir
from trainer.errors import RunDirError
from trainer.sweeps.worker import BLAS_ENV, init_worker, run_into
from trainer.rundir.layout import SWEEP_FILE

DONE = ("completed", "diverged")


def open_dir(sweep, runs_dir, name, create=True):
    """runs_dir/name for this sweep: new, or an earlier run of the same sweep (same base config)."""
    path = check_runs_dir(runs_dir) / name
    if path.exists():
        old = path / SWEEP_FILE
        if not old.is_file():
            raise RunDirError(f"{path}: exists and is not a sweep directory (no {SWEEP_FILE}); "
                              "choose another name (--name, or name= in Python)")
        try:
            base = tomlio.read(old, "sweep").get("base", {})
        except ConfigError as e:
            raise RunDirError(f"{e}; choose another name (--name, or name= in Python)") from None
        changed = differences(*(flat({s: t for s, t in d.items() if s != "plugins"})  # pins.check
                                for d in (base, sweep.base.to_dict())),
                              ignore={*sweep.keys, "train.seed"})
        if changed:
            key, there, now = changed[0]
            raise ConfigError(f"{path}: holds a sweep of a different base config ({key}: "
                              f"{there!r} there, {now!r} now); "
                              "its runs would not compare; choose another name (--name, or name= in Python)")
    elif create:
        path.mkdir(parents=True)
    return path


def status(sweep_dir, point):
    if sweep_results.blocked(Path(sweep_dir) / point.name):
        return "failed"
    summary = sweep_results.summary_of(Path(sweep_dir) / point.name)
    return summary.get("status", "unknown") if summary else None


def make_room(path):
    """Before a run starts: a directory without a checkpoint is started over (it holds no
    training to keep); one with a checkpoint stays, to be resumed in place."""
    path = Path(path)
    if not sweep_results.blocked(path) and path.is_dir() and not (path / CHECKPOINT).is_file():
        shutil.rmtree(path)


def pending(points, sweep_dir):
    """The points still to run: no run directory, or one that is not completed or diverged.
    A run directory is this point's only if its config equals the point's exactly: one of
    another value under the same name (lr 0.1 where the sweep now asks 0.10000001, both named
    lr=0.1) is refused in one line, never taken as the new value's result; so is a plug-in
    whose source changed since the sweep's runs trained with it (pins.check)."""
    for p in points:
        check_same_config(Path(sweep_dir) / p.name, p)
    pins.check(points, sweep_dir)
    return [p for p in points if status(sweep_dir, p) not in DONE]


def check_same_config(run_path, point):
    """ConfigError when run_path holds a run of another config than the point's."""
    if sweep_results.blocked(run_path) or not (run_path / CONFIG).is_file():
        return
    old, problem = RunDir(run_path).read_flat_config()
    if problem:
        raise ConfigError(f"{run_path}: holds a run this sweep cannot check ({problem}); "
                          "remove it or choose another name (--name, or name= in Python)")
    new = flat({s: t for s, t in point.cfg.to_dict().items() if s != "plugins"})
    changed = differences(old, new)
    if changed:
        key, a, b = changed[0]
        raise ConfigError(f"{run_path}: holds a run of {key} = {a!r}, where this point asks "
                          f"{b!r}; its name cannot tell them apart, so it is not reused "
                          "(remove it or choose another name (--name, or name= in Python))")


class Results:
    """The sweep's table, kept in memory and rewritten to results.csv as each run lands, and
    its `report` (reports.live.LiveReport), rewritten with it."""

    def __init__(self, sweep, points, sweep_dir, report=None):
        self.points, self.dir, self.report = points, Path(sweep_dir), report
        metrics = [p.cfg.metric for p in points]
        self.columns = sweep_results.columns(sweep.keys, metrics)
        self.summaries = {p.name: self._summary(p) for p in points}

    def _summary(self, point):
        error = sweep_results.blocked(self.dir / point.name)
        if error:
            return {"status": "failed", "error": error}
        return sweep_results.summary_of(self.dir / point.name)

    def land(self, point, summary):
        self.summaries[point.name] = summary
        self.write()
        if self.report is not None:
            self.report.update()

    def rows(self):
        return [sweep_results.row(p.values, p.seed, self.summaries[p.name],
                                  None if sweep_results.blocked(self.dir / p.name) else self.dir / p.name,
                                  self.dir) for p in self.points]

    def write(self):
        return sweep_results.write(self.dir / sweep_results.RESULTS, self.rows(), self.columns)


def run(sweep, sweep_dir, workers=None, client=None, on_result=None, should_stop=None, figures=False,
        on_retry=None):
    """Run the sweep's pending points into sweep_dir, on a local pool or a Dask client; returns the Results.

    on_result(point, summary) is called as each run lands; should_stop() is
    polled, and once true no new run starts and running ones stop after their
    current step (status 'interrupted'), so finished runs stay intact.
    on_retry(point, why) is called when a run's local worker died and the run is tried again.
    The runs' own figures are drawn only with figures=True.
    """
    sweep_dir = Path(sweep_dir)
    points = sweep.points()
    todo = pending(points, sweep_dir)
    sweep_results.atomic_write_text(sweep_dir / SWEEP_FILE, sweep.to_toml())
    pins.write(points, sweep_dir)   # every plug-in it trains, by its source's sha256
    from trainer.reports.live import LiveReport
    # from the run directories' own summaries; report/report.html rewritten as runs land
    results = Results(sweep, points, sweep_dir, LiveReport(sweep_dir))
    skipped = [p for p in todo if sweep_results.blocked(sweep_dir / p.name)]
    todo = [p for p in todo if p not in skipped]
    results.write()
    results.report.update()

    def landed(point, summary):
        results.land(point, summary)
        if on_result:
            on_result(point, summary)

    try:
        for p in skipped:
            landed(p, results.summaries[p.name])
        if todo and any(p.cfg.objects for p in todo):
            run_here(todo, sweep_dir, landed, should_stop, figures)
        elif todo and client is not None:
            from trainer.sweeps.dask_cluster import run_on_dask
            run_on_dask(client, todo, sweep_dir, landed, should_stop, figures)
        elif todo:
            run_local(todo, sweep_dir, local_workers(workers), landed, should_stop, figures,
                      on_retry)
    finally:
        results.report.update(final=True)
    return results


def local_workers(workers=None):
    """The local worker processes a sweep runs on: `workers`, or one per core."""
    return workers or os.cpu_count() or 1


class WorkersDied(RunDirError):
    """The local pool's workers die before they start any run (one line, exit 2)."""


def run_here(todo, sweep_dir, landed, should_stop=None, figures=False):
    """Each run in this process, one after another: for configs holding Python objects of this
    session (a class typed into a notebook), which no other process has."""
    for p in todo:
        if should_stop and should_stop():
            landed(p, {"status": "pending"})
            continue
        make_room(sweep_dir / p.name)
        landed(p, run_into(p.cfg.to_dict(), p.cfg.source, str(sweep_dir / p.name), figures,
                           objects=p.cfg.objects))


def run_local(todo, sweep_dir, workers, landed, should_stop=None, figures=False, on_retry=None):
    """A pool of `workers` fresh processes (spawned, one BLAS thread each), one run per task.

    When a worker dies the executor fails every run it holds (BrokenProcessPool): the pool
    is rebuilt and those runs go again, resumed from their checkpoints. Only the run whose
    worker died by itself (not ended by the pool, reported on `events`) is charged; a run
    charged twice is recorded as failed.
    """
    ctx = multiprocessing.get_context("spawn")
    stop, events = ctx.Event(), ctx.SimpleQueue()
    queue, charged, barren = list(todo), set(), 0
    while queue:
        lost, seen = _pool_round(ctx, queue, sweep_dir, workers, stop, events, landed,
                                 should_stop, figures)
        barren = barren + 1 if lost and not seen["started"] else 0
        if barren >= 2:   # workers that die before any run starts would be restarted forever
            raise WorkersDied("the sweep's worker processes died twice before starting a run; a "
                              "sweep started from a Python script needs its call under "
                              "`if __name__ == \"__main__\":` (each worker imports the script)")
        queue = []
        for p in lost:
            if stop.is_set():
                landed(p, {"status": "pending"})
            elif p.name not in seen["started"] or p.name in seen["ended"]:
                queue.append(p)  # never started, or ended by the pool for another's death
            elif p.name in charged:
                landed(p, _lost_twice(sweep_dir / p.name))
            else:
                charged.add(p.name)
                if on_retry:
                    on_retry(p, "its worker process died")
                queue.append(p)


def _pool_round(ctx, todo, sweep_dir, workers, stop, events, landed, should_stop, figures):
    """Run `todo` on one pool until every run landed or the pool broke; returns (the runs lost
    to a broken pool, what the workers reported: started and ended run names, pids)."""
    seen = {"started": set(), "ended": set(), "pids": set()}
    with _env(BLAS_ENV):  # workers inherit it when spawned, before they import numpy
        pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx, initializer=init_worker,
                                   initargs=(stop, events, os.getpid()))
        futures = {}
        for p in todo:
            make_room(sweep_dir / p.name)
            futures[pool.submit(run_into, p.cfg.to_dict(), p.cfg.source, str(sweep_dir / p.name),
                                figures)] = p
    lost = []
    try:
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(events, seen)
            for f in done:
                if not f.cancelled() and isinstance(f.exception(), BrokenProcessPool):
                    lost.append(futures[f])
                else:
                    landed(futures[f], _outcome(f))
            if should_stop and should_stop() and not stop.is_set():
                stop.set()
                for f in waiting:
                    f.cancel()
        pool.shutdown(wait=True)  # a broken pool has ended and joined its workers by now
        _drain(events, seen)
    except BaseException:  # a second Ctrl-C, or a failure in the parent: do not wait for runs
        _drain(events, seen)
        for pid in seen["pids"]:
            try:
                os.kill(pid, signal.SIGTERM)  # the worker leaves at once (see init_worker)
            except OSError:
                pass
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return lost, seen


def _drain(events, seen):
    while not events.empty():
        kind, name, pid = events.get()
        if kind == "worker":
            seen["pids"].add(pid)
        else:
            seen[kind].add(name)


def _lost_twice(run_path):
    """The summary of a run whose worker died twice, written into its directory when it has one."""
    return RunDir(run_path).record_failure("its worker process died twice (killed, or out of "
                                           "memory); run the sweep again to resume it")


def _outcome(future):
    if future.cancelled():
        return {"status": "pending"}
    error = future.exception()
    if error is not None:  # the worker process died (killed, out of memory): no summary
        return {"status": "failed", "error": describe(error)}
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

