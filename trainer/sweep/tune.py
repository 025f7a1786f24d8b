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
import fcntl
import math
import os
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from trainer.errors import describe
from trainer.sweep import results as sweep_results
from trainer.sweep.tune_space import TUNE_FILE

STUDY_LOG = "study.log"
TRIALS = "trials.csv"
BEST = "best.toml"
CONFIRM = "confirm"
ASK_LOCK = ".ask.lock"
INSTALL = "pip install 'rnn-trainer[tune]'"


class OptunaMissing(ImportError):
    """Optuna is not installed (the `tune` extra)."""


def need_optuna():
    try:
        import optuna
    except ImportError:
        raise OptunaMissing(f"train tune needs Optuna, which is not installed; install it with: "
                            f"{INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings  # the wilcoxon pruner is marked experimental; said once in docs/tuning.md
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


NEEDS = {("sampler", "cmaes"): "cmaes", ("pruner", "wilcoxon"): "scipy"}


def check_extras(tune):
    """Optuna's CMA-ES sampler needs the cmaes package and its Wilcoxon pruner scipy: said in
    one line before anything is written (OptunaMissing), not by a worker mid-study."""
    import importlib.util
    need_optuna()
    for (field, value), module in NEEDS.items():
        if getattr(tune, field) == value and importlib.util.find_spec(module) is None:
            raise OptunaMissing(f"tune.{field} = {value!r} needs the {module} package, which is not "
                                f"installed; install it with: pip install {module}")


def storage(study_dir):
    """The study's journal: Optuna's JournalStorage on a JournalFileBackend (study.log)."""
    optuna = need_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    return JournalStorage(JournalFileBackend(str(Path(study_dir) / STUDY_LOG)))


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
    st = storage(study_dir)
    return {arm: optuna.create_study(study_name=tune.arm_name(arm), storage=st,
                                     direction=tune.direction, load_if_exists=True)
            for arm in tune.arms}


def open_dir(tune, study_dir):
    """The study directory: new, or one holding the same tune (same base, space and seeds)."""
    from trainer.config import ConfigError
    from trainer.rundir import RunDirError
    from trainer.sweep import tune_space
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


@contextmanager
def ask_lock(study_dir):
    fd = os.open(Path(study_dir) / ASK_LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


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
    st = storage(study_dir)
    retried = []
    with ask_lock(study_dir):
        for arm in tune.arms:
            study = optuna.load_study(study_name=tune.arm_name(arm), storage=st)
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if worker is not None and t.user_attrs.get("worker") != worker:
                    continue
                st.set_trial_user_attr(t._trial_id, "lost", True)
                st.set_trial_state_values(t._trial_id, TrialState.FAIL)
                for seed in tune.seeds:
                    _mark_interrupted(Path(study_dir) / tune.run_name(arm, t.number, seed))
                study.enqueue_trial(t.params, user_attrs={"retry_of": t.number},
                                    skip_if_exists=False)
                retried.append((arm, t.number))
    return retried


def _mark_interrupted(path):
    """A lost trial's run says `running` in its summary for ever: it is `interrupted` (its
    process is gone; `train resume` continues it from its checkpoint)."""
    from trainer.sweep.results import blocked
    from trainer.rundir import SUMMARY, RunDir
    if blocked(path) or not (path / SUMMARY).is_file():
        return
    rd = RunDir(path)
    summary = rd.read_summary()
    if summary and summary.get("status") == "running":
        summary["status"] = "interrupted"
        rd.write_summary(summary)


def work(study_dir, stop=None, say=None, worker=None):
    """A worker: ask trials of each arm in turn until every arm's budget is spent, train them,
    tell Optuna. stop() is polled (a trial in training stops after its current step and is
    left RUNNING, for the tuner to retry); say(text) hears one line per trial."""
    optuna = need_optuna()
    from trainer.sweep import tune_space
    tune = tune_space.load(Path(study_dir) / TUNE_FILE)
    st = storage(study_dir)
    worker = worker or f"{os.uname().nodename}:{os.getpid()}"
    stop = stop or (lambda: False)
    for arm in tune.arms:
        while not stop():
            with ask_lock(study_dir):
                study = optuna.load_study(study_name=tune.arm_name(arm), storage=st)
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


def suggest(trial, params):
    out = {}
    for p in params:
        if p.choices is not None:
            out[p.key] = trial.suggest_categorical(p.key, list(p.choices))
        elif p.kind is int:
            out[p.key] = trial.suggest_int(p.key, p.low, p.high, step=p.step or 1, log=p.log)
        else:
            out[p.key] = trial.suggest_float(p.key, p.low, p.high, step=p.step, log=p.log)
    return out


def run_trial(tune, study_dir, trial, arm, stop):
    """Train a trial's seeds; returns its outcome, or None when stop() ended it."""
    from trainer.preflight import check_run
    values = suggest(trial, tune.params)
    cfgs = {s: tune.config(values, s, arm) for s in tune.seeds}
    started = time.perf_counter()
    try:
        check_run(cfgs[tune.seeds[0]])
    except Exception as e:
        return {"state": "fail", "error": describe(e), "summaries": {}, "wall_s": 0.0}
    if tune.pruner == "wilcoxon":
        out = _in_turn(tune, study_dir, trial, arm, cfgs, stop)
    else:
        out = _lockstep(tune, study_dir, trial, arm, cfgs, stop)
    if out is not None:
        out["wall_s"] = round(time.perf_counter() - started, 3)
    return out


def _train_seed(tune, study_dir, trial, arm, seed, cfg, on_event, should_stop):
    from trainer import run
    from trainer.rundir import RunDir
    rd = None
    try:
        rd = RunDir.create(study_dir, tune.run_name(arm, trial.number, seed), cfg=cfg)
        return run.train(cfg, rd, on_event=on_event, should_stop=should_stop, figures=False)
    except Exception as e:
        return rd.record_failure(e) if rd is not None else {"status": "failed", "error": describe(e)}
    finally:
        if rd is not None:
            rd.release()


class _Lockstep:
    """The seeds of one trial meet at the end of every epoch; the last to arrive reports the
    seeds' mean to Optuna and asks the pruner, once for all of them."""

    def __init__(self, tune, trial, seeds):
        self.tune, self.trial = tune, trial
        self.cond = threading.Condition()
        self.active, self.got = set(seeds), {}
        self.decided, self.pruned_at, self.abort, self.nonfinite = 0, None, False, False

    def arrive(self, seed, epoch, value):
        with self.cond:
            self.got.setdefault(epoch, {})[seed] = value
            self._settle()
            while self.decided < epoch and self.pruned_at is None and not self.abort:
                self.cond.wait(0.5)

    def leave(self, seed, summary):
        with self.cond:
            self.active.discard(seed)
            if summary.get("status") != "completed":  # diverged, failed, stopped: the trial ends
                self.abort = self.abort or summary.get("status") != "pruned"
            self._settle()
            self.cond.notify_all()

    def _settle(self):
        while not self.abort and self.pruned_at is None:
            epoch = self.decided + 1
            have = self.got.get(epoch, {})
            if not have or not self.active <= set(have):
                return
            mean = statistics.fmean(have.values())
            self.decided = epoch
            if not math.isfinite(mean):
                self.abort = self.nonfinite = True
            else:
                self.trial.report(mean, epoch)
                if epoch < self.tune.epochs and self.trial.should_prune():
                    self.pruned_at = epoch
            self.cond.notify_all()

    def should_stop(self, stop):
        def check():
            if self.pruned_at is not None:
                return "pruned"
            return self.abort or stop()
        return check


def _lockstep(tune, study_dir, trial, arm, cfgs, stop):
    from trainer.loop import EpochEnd
    step = _Lockstep(tune, trial, cfgs)
    summaries = {}

    def one(seed):
        def on_event(event):
            if isinstance(event, EpochEnd):
                step.arrive(seed, event.epoch, event.scores.get(tune.objective, math.nan))
        summary = {"status": "failed", "error": "did not start"}
        try:
            summary = _train_seed(tune, study_dir, trial, arm, seed, cfgs[seed], on_event,
                                  step.should_stop(stop))
        finally:
            summaries[seed] = summary
            step.leave(seed, summary)

    threads = [threading.Thread(target=one, args=(s,), name=f"seed-{s}") for s in cfgs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _outcome(tune, summaries, step.pruned_at, stop, step.nonfinite)


def _in_turn(tune, study_dir, trial, arm, cfgs, stop):
    """The wilcoxon pruner's way: seed after seed, each seed's final value reported as step =
    the seed's index; pruned, the seeds not yet trained are not trained."""
    summaries, pruned_at = {}, None
    for i, seed in enumerate(cfgs):
        summary = _train_seed(tune, study_dir, trial, arm, seed, cfgs[seed], None, stop)
        summaries[seed] = summary
        value = (summary.get("final") or {}).get(tune.objective)
        if summary.get("status") != "completed" or value is None:
            break
        trial.report(value, i)
        if i < len(cfgs) - 1 and trial.should_prune():
            pruned_at = f"seed {seed}"
            break
    return _outcome(tune, summaries, pruned_at, stop)


def _outcome(tune, summaries, pruned_at, stop, nonfinite=False):
    statuses = {s: x.get("status") for s, x in summaries.items()}
    values = {s: (x.get("final") or {}).get(tune.objective) for s, x in summaries.items()}
    epochs = max([x.get("epochs_done") or 0 for x in summaries.values()], default=0)
    out = {"summaries": summaries, "seed_values": values, "epochs": epochs, "pruned_at": pruned_at,
           "statuses": statuses}
    if "failed" in statuses.values():
        errors = [x.get("error") for x in summaries.values() if x.get("status") == "failed"]
        return {**out, "state": "fail", "error": errors[0]}
    if "diverged" in statuses.values():
        return {**out, "state": "fail", "error": "a seed diverged (non-finite loss)"}
    if nonfinite:  # the seeds stopped (interrupted) because the mean was not a number
        return {**out, "state": "fail", "error": f"{tune.objective} was not finite at an epoch's end"}
    if "interrupted" in statuses.values() or (stop() and pruned_at is None
                                              and set(statuses.values()) != {"completed"}):
        return None
    if pruned_at is not None:
        return {**out, "state": "pruned"}
    finite = [v for v in values.values() if v is not None and math.isfinite(v)]
    if len(finite) != len(tune.seeds):
        return {**out, "state": "fail", "error": f"{tune.objective} is not finite for every seed"}
    return {**out, "state": "complete", "value": statistics.fmean(finite)}


def tell(study, trial, outcome):
    from optuna.trial import TrialState
    trial.set_user_attr("seed_values", {str(s): v for s, v in outcome["seed_values"].items()})
    trial.set_user_attr("epochs", outcome["epochs"])
    trial.set_user_attr("wall_s", outcome.get("wall_s"))
    if outcome.get("pruned_at") is not None:
        trial.set_user_attr("pruned_at", outcome["pruned_at"])
    if outcome.get("error"):
        trial.set_user_attr("error", str(outcome["error"])[:500])
    if outcome["state"] == "complete":
        study.tell(trial, outcome["value"])
    elif outcome["state"] == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)


def describe_outcome(tune, arm, number, outcome):
    who = ("" if arm is None else tune.arm_name(arm) + " ") + f"trial {number}"
    if outcome["state"] == "complete":
        return f"{who}: {tune.objective} {outcome['value']:.4g} ({outcome['epochs']} epochs)"
    if outcome["state"] == "pruned":
        return f"{who}: pruned at {_at(outcome['pruned_at'])}"
    return f"{who}: failed: {outcome.get('error')}"


def _at(pruned_at):
    return f"epoch {pruned_at}" if isinstance(pruned_at, int) else str(pruned_at)


# ---- the study's tables: trials.csv and best.toml ----------------------------------------

def trial_rows(tune, study_dir):
    """One row per trial of every arm (dicts), from the journal."""
    optuna = need_optuna()
    st = storage(study_dir)
    rows = []
    retried_as = {}
    for arm in tune.arms:
        study = optuna.load_study(study_name=tune.arm_name(arm), storage=st)
        trials = study.get_trials(deepcopy=False)
        for t in trials:
            if "retry_of" in t.user_attrs:
                retried_as[(arm, t.user_attrs["retry_of"])] = t.number
        for t in trials:
            state = t.state.name.lower()
            if t.user_attrs.get("lost"):
                state = "lost"
            row = {} if tune.per is None else {tune.per: arm}
            row.update(number=t.number, state=state)
            row.update({p.key: t.params.get(p.key) for p in tune.params})
            value = t.value if t.state.name == "COMPLETE" else None
            if value is None and t.state.name == "PRUNED" and t.intermediate_values:
                last = max(t.intermediate_values)
                row["value_at_pruning"] = t.intermediate_values[last]
            row["value"] = value
            seed_values = t.user_attrs.get("seed_values", {})
            row.update({f"seed_{s}": seed_values.get(str(s)) for s in tune.seeds})
            row["epochs"] = t.user_attrs.get("epochs")
            row["pruned_at"] = t.user_attrs.get("pruned_at")
            row["wall_s"] = t.user_attrs.get("wall_s")
            row["retry_of"] = t.user_attrs.get("retry_of")
            row["note"] = (f"retried as trial {retried_as[(arm, t.number)]}"
                           if (arm, t.number) in retried_as else t.user_attrs.get("error"))
            rows.append(row)
    return rows


def trial_columns(tune):
    return ([] if tune.per is None else [tune.per]) + ["number", "state", *(p.key for p in tune.params),
            "value", "value_at_pruning", *(f"seed_{s}" for s in tune.seeds), "epochs", "pruned_at",
            "wall_s", "retry_of", "note"]


def best_trials(tune, rows):
    """{arm: the row of its best complete trial} (arms with none are left out)."""
    out = {}
    for r in rows:
        if r["state"] != "complete" or r["value"] is None:
            continue
        arm = r.get(tune.per) if tune.per else None
        old = out.get(arm)
        if old is None or (r["value"] < old["value"] if tune.lower else r["value"] > old["value"]):
            out[arm] = r
    return out


def best_config(tune, row, seed=None):
    arm = row.get(tune.per) if tune.per else None
    return tune.config({p.key: row[p.key] for p in tune.params}, tune.seeds[0] if seed is None else seed,
                       arm)


def write_tables(tune, study_dir):
    """trials.csv, and best.toml (with per, also best-<arm>.toml for each arm) from the journal."""
    study_dir = Path(study_dir)
    rows = trial_rows(tune, study_dir)
    sweep_results.write(study_dir / TRIALS, rows, trial_columns(tune))
    bests = best_trials(tune, rows)
    overall = None
    for arm, r in bests.items():
        if overall is None or (r["value"] < overall["value"] if tune.lower else r["value"] > overall["value"]):
            overall = r
        if tune.per is not None:
            _write_best(tune, study_dir / f"best-{tune.arm_name(arm)}.toml", r)
    if overall is not None:
        _write_best(tune, study_dir / BEST, overall)
    return rows


def _write_best(tune, path, row):
    cfg = best_config(tune, row)
    arm = f" ({tune.per} = {row[tune.per]!r})" if tune.per else ""
    head = (f"# The best trial{arm} of the study in {path.parent.name}: trial {row['number']}, "
            f"{tune.objective} {row['value']:.6g} (mean over seeds {list(tune.seeds)}).\n"
            f"# Train it: train --config {path}\n"
            f"# Its value was selected on those seeds; `train tune --confirm K` retrains it on "
            f"fresh seeds.\n\n")
    sweep_results.atomic_write_text(path, head + cfg.to_toml())


# ---- running it: one worker in this process, or several local processes ------------------

def run(tune, study_dir, workers=1, should_stop=None, say=None, remote=None):
    """Run the study into study_dir (created) until every arm's budget is spent or
    should_stop() turns true; returns the trials' rows. The trials train on local workers,
    or through remote(tune, study_dir, stop, say) (tune_dask.runner(client): a Dask cluster)."""
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
    from trainer.sweep import tune_space
    from trainer.sweep.execute import _env
    from trainer.sweep.worker import BLAS_ENV
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
    from trainer.sweep.worker import init_worker, should_stop
    init_worker(event, None, parent_pid)
    try:
        work(study_dir, should_stop, lines.put)
    except Exception as e:
        lines.put(("error", f"a tune worker stopped: {describe(e)}"))
        sys.exit(WORKER_ERROR)


# ---- confirming: the best configuration on fresh seeds ------------------------------------

class Confirmed:
    """The confirmation's table (train table's), its sentences and the closing line."""

    def __init__(self, table, text, said, closing, confirm_dir):
        self.table, self.text, self.said, self.closing, self.dir = table, text, said, closing, confirm_dir


def fresh_seeds(tune, k):
    """K seeds never used in the search: the ones after its largest."""
    start = max(tune.seeds) + 1
    return list(range(start, start + k))


def confirm(tune, study_dir, k, workers=1, should_stop=None, say=None, client=None):
    """Retrain the best trial (each arm's, with per) on k fresh seeds into study_dir/confirm/
    (runs named `<arm>-trial-0007-seed=5`; again, only what is missing runs) and table them
    with train table's intervals, beating the baseline and probability of improvement."""
    from trainer.config import ConfigError
    from trainer.sweep import execute
    study_dir = Path(study_dir)
    bests = best_trials(tune, trial_rows(tune, study_dir))
    missing = [a for a in tune.arms if a not in bests]
    if missing:
        what = "the study" if tune.per is None else f"{tune.per} = {missing[0]!r}"
        raise ConfigError(f"{study_dir}: {what} has no complete trial yet; nothing to confirm")
    confirm_dir = study_dir / CONFIRM
    confirm_dir.mkdir(exist_ok=True)
    points = confirm_points(tune, bests, k)
    todo = execute.pending(points, confirm_dir)
    if say:
        say(f"confirm: {len(points)} runs on fresh seeds {fresh_seeds(tune, k)}, {len(todo)} to run")

    def landed(point, summary):
        if say and summary.get("status") != "pending":
            value = (summary.get("final") or {}).get(tune.objective)
            say(f"confirm {point.name}: {summary.get('status')}"
                + (f", {tune.objective} {value:.4g}" if isinstance(value, float) else ""))

    if todo and client is not None:
        from trainer.sweep.dask_cluster import run_on_dask
        run_on_dask(client, todo, confirm_dir, landed, should_stop)
    elif todo:
        execute.run_local(todo, confirm_dir, workers, landed, should_stop)
    return confirm_table(tune, study_dir, points, k)


def confirm_points(tune, bests, k):
    """The confirmation's runs: each arm's best trial on k fresh seeds, named by the trial
    (`cell=lstm-trial-0007-seed=5`), so a later, better trial gets runs of its own."""
    from trainer.sweep.spec import Point
    points = []
    for arm, row in bests.items():
        prefix = ("" if arm is None else tune.arm_name(arm) + "-") + f"trial-{row['number']:04d}"
        for seed in fresh_seeds(tune, k):
            values = {} if tune.per is None else {tune.per: arm}
            points.append(Point(f"{prefix}-seed={seed}", values, seed, best_config(tune, row, seed)))
    return points


def confirm_table(tune, study_dir, points, k=None):
    """train table's table of the confirmation runs of `points` (earlier bests' runs that may
    lie in confirm/ too are left out)."""
    from trainer.analysis import results_table
    confirm_dir = Path(study_dir) / CONFIRM
    figure = tune.objective
    table = results_table.read([confirm_dir / p.name for p in points],
                               [tune.per] if tune.per else None, figure)
    text, said = results_table.as_text(table)
    n = k or "K"
    closing = (f"This is the figure to publish: the best configuration retrained on {n} fresh seeds "
               f"never used in the search ({confirm_dir}); the search's own best value was selected "
               "on its seeds and is optimistic.")
    return Confirmed(table, text, said, closing, confirm_dir)
