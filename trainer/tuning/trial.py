"""One trial of a study: its seeds trained as runs, in lockstep (or in turn, for the
wilcoxon pruner), its intermediate values reported to Optuna, its outcome told."""
import math
import statistics
import threading
import time

from trainer.errors import describe


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
    from trainer.training.preflight import check_run
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
    from trainer.training import run
    from trainer.rundir.layout import RunDir
    run_dir = None
    try:
        run_dir = RunDir.create(study_dir, tune.run_name(arm, trial.number, seed), cfg=cfg)
        return run.train(cfg, run_dir, on_event=on_event, should_stop=should_stop)
    except Exception as e:
        return run_dir.record_failure(e) if run_dir is not None else {"status": "failed", "error": describe(e)}
    finally:
        if run_dir is not None:
            run_dir.release()


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
    from trainer.training.loop import EpochEnd
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
