"""Running a tune: Optuna studies in a journal file, each trial's seeds trained as runs.

A study directory (runs/NAME/) holds tune.toml (the tune file as resolved), study.log
(Optuna's JournalStorage with a JournalFileBackend: every worker, local process or not,
appends to it), one run directory per trial and seed (`trial-0007-seed-1`, or with
`per`, `cell=lstm-trial-0007-seed-1`), trials.csv and best.toml.

How a trial trains its seeds (so that pruning stays meaningful): the seeds train in
lockstep, one thread each in the worker, every run the ordinary run machinery
(run.train into its own run directory). At the end of each epoch every seed waits
for the others; the mean of their objective is reported to Optuna as that epoch's
value, and the pruner decides once for all of them. A pruned trial's runs stop right
there (status `pruned`, a checkpoint at that epoch: `train resume` continues them).
The median, halving and hyperband pruners thus compare trials at equal epochs on
the same seeds' mean. With `pruner = "wilcoxon"` the seeds train in turn instead and
each seed's final value is reported as step = the seed's index, which is what
Optuna's WilcoxonPruner compares against the best trial (the same seeds); it can only
decide once enough seeds have trained, so it needs several seeds to ever prune.

Budget and crashes: a trial is asked under a lock (runs/NAME/.ask.lock) after counting
the study's trials, so several workers never overshoot `trials`. A trial whose worker
died (SIGKILL, out of memory) or was interrupted is left RUNNING in the journal: the
tuner marks it FAIL with the user attribute `lost` (not counted) and enqueues the
same parameters again (`retry_of`), as Optuna's RetryFailedTrialCallback would with
a heartbeat (the journal storage has none; the tuner knows its own workers instead).
"""
import math
import os
import sys
import time
from pathlib import Path

from trainer.errors import describe
from trainer.sweeps import results as sweep_results
# the study's face for the command line, the API and on_dask.py: what the parts below define
from trainer.tuning.results import (BEST, CONFIRM, TRIALS, best_config, best_trials,  # noqa: F401
                                        confirm, trial_columns, trial_rows, write_tables)
from trainer.tuning.space import TUNE_FILE
from trainer.tuning.store import (STUDY_LOG, OptunaMissing, ask_lock, check_extras,  # noqa: F401
                                      need_optuna, storage)
from trainer.tuning.trial import describe_outcome, run_trial, suggest, tell  # noqa: F401


def make_sampler(tune, asked):
    """Optuna's sampler of the tune file, seeded from tune.seed and the number of trials the
    study holds already, so the same file gives the same trials, also across a resume."""
    optuna = need_optuna()
    seed = (tune.seed * 1_000_003 + asked) % 2 ** 32
    if tune.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if tune.sampler == "grid":
        return optuna.samplers.GridSampler({p.key: p.grid_values() for p in tune.params}, seed=tune.seed)
    if tune.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup(tune))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup(tune))


def startup(tune):
    """Trials sampled at random before TPE (or CMA-ES) models the results: a quarter of the
    budget, between 3 and 10 (Optuna's default)."""
    return max(3, min(10, tune.trials // 4))


def make_pruner(tune):
    optuna = need_optuna()
    p = optuna.pruners
    if tune.pruner == "median":  # compare from the first epoch on, once a few trials ended
        return p.MedianPruner(n_startup_trials=max(1, min(5, tune.trials // 5)), n_warmup_steps=0)
    if tune.pruner == "halving":
        return p.SuccessiveHalvingPruner(min_resource=1)
    if tune.pruner == "hyperband":
        return p.HyperbandPruner(min_resource=1, max_resource=tune.epochs)
    if tune.pruner == "wilcoxon":
        return p.WilcoxonPruner(p_threshold=0.1)
    return p.NopPruner()


def budget(tune):
    """Trials per arm: `trials`, or the grid's size when the grid sampler has fewer points."""
    if tune.sampler != "grid":
        return tune.trials
    return min(tune.trials, math.prod(len(p.grid_values()) for p in tune.params))


def studies(tune, study_dir):
    """{arm: study}, created on first use (load_if_exists: the same name continues)."""
    optuna = need_optuna()
    journal = storage(study_dir)
    return {arm: optuna.create_study(study_name=tune.arm_name(arm), storage=journal,
                                     direction=tune.direction, load_if_exists=True)
            for arm in tune.arms}


def open_dir(tune, study_dir):
    """The study directory: new, or one holding the same tune (same base, space and seeds)."""
    from trainer.config.load import ConfigError
    from trainer.errors import RunDirError
    from trainer.tuning import space as tune_space
    study_dir = Path(study_dir)
    if study_dir.exists():
        if not (study_dir / TUNE_FILE).is_file():
            raise RunDirError(f"{study_dir}: exists and is not a study directory (no {TUNE_FILE}); "
                              "choose another --name")
        what = _difference(tune_space.load(study_dir / TUNE_FILE), tune)
        if what:
            raise ConfigError(f"{study_dir}: holds a study of another tune ({what}); its trials "
                              "would not compare; choose another --name")
    return study_dir


def _difference(a, b):
    for field in ("objective", "seeds", "sampler", "pruner", "seed", "per", "arms", "params"):
        if getattr(a, field) != getattr(b, field):
            return f"tune.{field}: {getattr(a, field)!r} there, {getattr(b, field)!r} now"
    if a.base.to_dict() != b.base.to_dict():
        return "the base config differs"
    return None


def prepare(tune, study_dir):
    """Write tune.toml, create the studies, and retry what a killed tuner left running."""
    sweep_results.atomic_write_text(Path(study_dir) / TUNE_FILE, tune.to_toml())
    found = studies(tune, study_dir)
    recover(tune, study_dir)
    return found


def counted(trials):
    """The trials that count against the budget: all but the lost (retried) ones."""
    from optuna.trial import TrialState
    return [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
            or (t.state == TrialState.FAIL and not t.user_attrs.get("lost"))]


def recover(tune, study_dir, worker=None):
    """Trials left RUNNING (by `worker`, or by anyone when None: the caller knows no worker
    of this study is alive) become FAIL with `lost`, and their parameters are enqueued again
    (`retry_of`): none is lost, none counted twice. Returns the numbers retried."""
    optuna = need_optuna()
    from optuna.trial import TrialState
    journal = storage(study_dir)
    retried = []
    with ask_lock(study_dir):
        for arm in tune.arms:
            study = optuna.load_study(study_name=tune.arm_name(arm), storage=journal)
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if worker is not None and t.user_attrs.get("worker") != worker:
                    continue
                journal.set_trial_user_attr(t._trial_id, "lost", True)
                journal.set_trial_state_values(t._trial_id, TrialState.FAIL)
                for seed in tune.seeds:
                    _mark_interrupted(Path(study_dir) / tune.run_name(arm, t.number, seed))
                study.enqueue_trial(t.params, user_attrs={"retry_of": t.number},
                                    skip_if_exists=False)
                retried.append((arm, t.number))
    return retried


def _mark_interrupted(path):
    """A lost trial's run says `running` in its summary for ever: it is `interrupted` (its
    process is gone; `train resume` continues it from its checkpoint)."""
    from trainer.sweeps.results import blocked
    from trainer.rundir.layout import SUMMARY, RunDir
    if blocked(path) or not (path / SUMMARY).is_file():
        return
    run_dir = RunDir(path)
    summary = run_dir.read_summary()
    if summary and summary.get("status") == "running":
        summary["status"] = "interrupted"
        run_dir.write_summary(summary)


def work(study_dir, stop=None, say=None, worker=None):
    """A worker: ask trials of each arm in turn until every arm's budget is spent, train them,
    tell Optuna. stop() is polled (a trial in training stops after its current step and is
    left RUNNING, for the tuner to retry); say(text) hears one line per trial."""
    optuna = need_optuna()
    from trainer.tuning import space as tune_space
    tune = tune_space.load(Path(study_dir) / TUNE_FILE)
    journal = storage(study_dir)
    worker = worker or f"{os.uname().nodename}:{os.getpid()}"
    stop = stop or (lambda: False)
    for arm in tune.arms:
        while not stop():
            with ask_lock(study_dir):
                study = optuna.load_study(study_name=tune.arm_name(arm), storage=journal)
                trials = study.get_trials(deepcopy=False)
                if len(counted(trials)) >= budget(tune):
                    break
                study.sampler = make_sampler(tune, len(trials))
                study.pruner = make_pruner(tune)
                trial = study.ask()
                trial.set_user_attr("worker", worker)
            outcome = run_trial(tune, study_dir, trial, arm, stop)
            if outcome is None:  # stopped: left RUNNING, the tuner retries it
                return
            if tune.sampler == "grid":  # its after_trial calls study.stop(), for optimize()
                study.sampler = optuna.samplers.RandomSampler()  # only; the budget stops here
            tell(study, trial, outcome)
            write_tables(tune, study_dir)
            if say:
                say(describe_outcome(tune, arm, trial.number, outcome))


# ---- running it: one worker in this process, or several local processes ------------------

def run(tune, study_dir, workers=1, should_stop=None, say=None, remote=None):
    """Run the study into study_dir (created) until every arm's budget is spent or
    should_stop() turns true; returns the trials' rows. The trials train on local workers,
    or through remote(tune, study_dir, stop, say) (on_dask.runner(client): a Dask cluster)."""
    study_dir = Path(study_dir)
    prepare(tune, study_dir)
    stop = should_stop or (lambda: False)
    try:
        if remote is not None:
            remote(tune, study_dir, stop, say)
        elif workers <= 1:  # one BLAS thread, as a sweep's worker: many threads only contend here
            from threadpoolctl import threadpool_limits
            with threadpool_limits(limits=1, user_api="blas"):
                work(study_dir, stop, say)
        else:
            _run_local(study_dir, workers, stop, say)
    finally:
        lost = recover(tune, study_dir)  # no worker of ours is left: what runs is lost
        if lost and say:
            say(f"{len(lost)} trial(s) stopped before they finished; they are enqueued again and "
                "run first when the study continues")
    return write_tables(tune, study_dir)


class WorkerError(RuntimeError):
    """A tune worker stopped on an error of its own (not a trial's: those are recorded)."""


WORKER_ERROR = 3     # a worker's exit status when work() raised (it reported why)
MAX_RESPAWNS = 5     # per worker slot: a worker killed again and again is not replaced for ever


def _run_local(study_dir, workers, stop, say):
    """`workers` spawned processes (one BLAS thread each) run work(); one that dies (killed)
    has its running trial retried and is replaced while budget remains, at most MAX_RESPAWNS
    times per slot. One that stops on an error stops the study (WorkerError)."""
    import multiprocessing
    from trainer.tuning import space as tune_space
    from trainer.sweeps.execute import _env
    from trainer.sweeps.worker import BLAS_ENV
    tune = tune_space.load(Path(study_dir) / TUNE_FILE)
    ctx = multiprocessing.get_context("spawn")
    event, lines = ctx.Event(), ctx.SimpleQueue()
    procs = {}

    def spawn(i):
        with _env(BLAS_ENV):
            p = ctx.Process(target=_worker_main, args=(str(study_dir), event, lines, os.getpid()),
                            name=f"tune-worker-{i}", daemon=False)
            p.start()
        procs[p] = i

    errors, respawns = [], {}

    def drain():
        while not lines.empty():
            line = lines.get()
            if isinstance(line, tuple):   # ("error", text): the worker's own failure
                errors.append(line[1])
            elif say:
                say(line)

    for i in range(workers):
        spawn(i)
    try:
        while procs:
            drain()
            if stop() and not event.is_set():
                event.set()
            for p in [p for p in procs if not p.is_alive()]:
                i = procs.pop(p)
                p.join()
                drain()
                if p.exitcode == WORKER_ERROR or errors:
                    event.set()       # the others stop after their current step
                elif p.exitcode != 0 and not event.is_set():
                    worker = f"{os.uname().nodename}:{p.pid}"
                    lost = recover(tune, study_dir, worker)
                    respawns[i] = respawns.get(i, 0) + 1
                    again = respawns[i] <= MAX_RESPAWNS
                    if say:
                        say(f"worker {p.pid} died (exit {p.exitcode}); "
                            + (f"trial {lost[0][1]} is tried again" if lost else "no trial lost")
                            + ("" if again else f"; not replaced ({MAX_RESPAWNS} times already)"))
                    if again:
                        spawn(i)
            time.sleep(0.2)
        drain()
    except BaseException:
        event.set()
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)
        raise
    if errors:
        raise WorkerError(errors[0])


def _worker_main(study_dir, event, lines, parent_pid):
    from trainer.sweeps.worker import init_worker, should_stop
    init_worker(event, None, parent_pid)
    try:
        work(study_dir, should_stop, lines.put)
    except Exception as e:
        lines.put(("error", f"a tune worker stopped: {describe(e)}"))
        sys.exit(WORKER_ERROR)
