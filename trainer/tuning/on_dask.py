"""`train tune --scheduler ADDRESS`: a study's trials trained on a dask.distributed cluster.

The client (the tuner) keeps the journal (study.log), asks the trials and tells Optuna the
outcomes; a Dask worker trains one whole trial (its seeds in lockstep, as a local worker
does) in a temporary directory and sends back every run's files, which the client writes
into the study directory (dask_cluster.write_run), so workers need no shared filesystem.

Pruning on a worker: the worker holds an in-memory copy of the study as it stood when the
trial was asked (its finished and pruned trials, Optuna's own FrozenTrials) and asks the
same pruner against it at each epoch; the client then replays the trial's intermediate
values into the journal. Trials that finish while this one trains are not seen by its
pruner: with many trials in flight, pruning is a little less eager than on local workers.

A worker lost mid-trial (the future fails) costs that trial: it is marked `lost` and its
parameters enqueued again, as for a local worker. Plug-ins given as files are not sent to
the workers (a tune of a plug-in task or cell runs on local workers).
"""
import os
import tempfile
from pathlib import Path

from trainer.errors import describe
from trainer.tuning.space import TUNE_FILE

POLL_S = 0.2


def runner(client):
    """What tune.run calls to train a study's trials on this Dask client."""
    return lambda tune, study_dir, stop, say: run_on_dask(tune, study_dir, client, stop, say)


def run_on_dask(tune, study_dir, client, stop, say):
    """Ask, submit and tell trials of every arm until each arm's budget is spent."""
    from distributed import TimeoutError as DaskTimeout, wait
    from trainer.tuning import study as tuning
    from trainer.sweeps.dask_cluster import SchedulerLost, write_run
    optuna = tuning.need_optuna()
    from optuna.trial import TrialState
    journal = tuning.storage(study_dir)
    text = (Path(study_dir) / TUNE_FILE).read_text()
    slots = max(1, sum(client.nthreads().values()))
    flying = {}   # future -> (arm, study, trial)
    arms = list(tune.arms)

    def submit():
        while arms and len(flying) < slots and not stop():
            arm = arms[0]
            with tuning.ask_lock(study_dir):
                study = optuna.load_study(study_name=tune.arm_name(arm), storage=journal)
                trials = study.get_trials(deepcopy=False)
                if len(tuning.counted(trials)) >= tuning.budget(tune):
                    arms.pop(0)
                    continue
                study.sampler = tuning.make_sampler(tune, len(trials))
                study.pruner = tuning.make_pruner(tune)
                trial = study.ask()
                trial.set_user_attr("worker", f"dask:{tune.arm_name(arm)}:{trial.number}")
                values = tuning.suggest(trial, tune.params)
            seen = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
            future = client.submit(train_trial, text, arm, trial.number, values, seen, pure=False,
                                   key=f"tune-{tune.arm_name(arm)}-{trial.number}-{os.getpid()}")
            flying[future] = (arm, study, trial)

    try:
        submit()
        while flying:
            if client.status != "running":
                raise SchedulerLost("")
            try:
                with client.as_current():
                    done = list(wait(list(flying), timeout=POLL_S, return_when="FIRST_COMPLETED").done)
            except (DaskTimeout, TimeoutError):
                done = []
            for future in done:
                arm, study, trial = flying.pop(future)
                if future.status != "finished":
                    lost = tuning.recover(tune, study_dir, f"dask:{tune.arm_name(arm)}:{trial.number}")
                    if say:
                        why = describe(future.exception()) if future.status == "error" else future.status
                        say(f"trial {trial.number} was lost on its Dask worker ({why}); "
                            + ("it is tried again" if lost else "nothing to retry"))
                    continue
                out = future.result()
                for name, files in out["files"].items():
                    write_run(Path(study_dir) / name, files)
                for step, value in out["reports"]:
                    trial.report(value, step)
                outcome = out["outcome"]
                if tune.sampler == "grid":
                    study.sampler = optuna.samplers.RandomSampler()
                tuning.tell(study, trial, outcome)
                tuning.write_tables(tune, study_dir)
                if say:
                    say(tuning.describe_outcome(tune, arm, trial.number, outcome))
            if stop():
                break
            submit()
    finally:   # stopped or lost: what still runs is cancelled, left RUNNING, and retried later
        if flying and client.status == "running":
            client.cancel(list(flying))


class _Recording:
    """A trial of the worker's in-memory study under the real trial's number, recording the
    intermediate values reported, for the client to replay into the journal."""

    def __init__(self, trial, number):
        self._trial, self.number, self.reports = trial, number, []

    def report(self, value, step):
        self.reports.append((step, float(value)))
        self._trial.report(value, step)

    def __getattr__(self, name):
        return getattr(self._trial, name)


def train_trial(tune_text, arm, number, values, seen, stop=None):
    """On a Dask worker: train one trial's seeds in a temporary directory against a copy of the
    study as it stood (`seen`); returns its outcome, the reports and every run's files."""
    from trainer.tuning import study as tuning, space as tune_space
    optuna = tuning.need_optuna()
    with tempfile.TemporaryDirectory(prefix="tune-") as tmp:
        path = Path(tmp) / TUNE_FILE
        path.write_text(tune_text)
        tune = tune_space.load(path)
        study = optuna.create_study(direction=tune.direction, pruner=tuning.make_pruner(tune),
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.add_trials(seen)
        study.enqueue_trial(values)
        trial = _Recording(study.ask(), number)
        runs = Path(tmp) / "runs"
        runs.mkdir()
        outcome = tuning.run_trial(tune, runs, trial, arm, stop or (lambda: False))
        if outcome is None:
            raise RuntimeError("the trial stopped before it finished")
        files = {d.name: {p.name: p.read_bytes() for p in sorted(d.iterdir())
                          if p.is_file() and not p.name.startswith(".")}
                 for d in sorted(runs.iterdir()) if d.is_dir()}
    return {"outcome": outcome, "reports": trial.reports, "files": files}
