"""One training run: what a config builds, and the run from a config to a trained run directory.

`start` is how every caller begins a run (the `train` command, trainer.train, a sweep's
worker): the checks before anything is written, a new run directory, then `train`. The loop
(training.loop) yields events; one Recorder (training.recorder) turns them into the run's files.
`load` opens a finished run's config and weights again; training.resume continues a run.
"""
import contextlib
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from trainer.config.load import load as load_config
from trainer.errors import ConfigError, PluginExit, RunDirError, guest_exit
from trainer.model.network import build_model
from trainer.optim.optimizers import make_optimizer
from trainer.rundir.layout import BEST, CHECKPOINT, CONFIG, RunDir, check_name, check_runs_dir
from trainer.training import checkpoint
from trainer.training.loop import Diverged, EpochEnd, Position, Step, Trainer
from trainer.training.preflight import check_run, make_checked_task
from trainer.training.recorder import Recorder
from trainer.training.streams import streams

TOOL_ERRSTATE = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}  # numpy's


class RunParts:
    """Everything a config builds, each part from its own random stream (a task key never
    changes the initial weights, a model key never changes the data), and where training
    stands: `position` and `metrics_rows` (the rows metrics.csv holds), a fresh start's or
    the ones a checkpoint restored."""

    def __init__(self, cfg, made=None):
        self.cfg = cfg
        self.streams, task = made or (streams(cfg["train"]["seed"]), None)
        self.task = task if task is not None else make_checked_task(cfg, self.streams["data"])
        self.model = build_model(cfg["model"], self.task, self.streams["init"], cfg.cell,
                                 cfg["train"]["bptt"])
        if getattr(cfg.task.module, "score", None) is not None:
            self.model.scorer = task_scorer(cfg.task)
        self.optimizer = make_optimizer(cfg["optim"])
        self.trainer = Trainer(cfg, self.task, self.model, self.optimizer, self.streams["batches"])
        self.position, self.metrics_rows = Position(), 0
        self.changed_plugins = []   # (kind, spec, sha256 then, now): plug-ins changed since the run
        self.plugin_history = {}    # {kind: [sha256 trained with before an accepted change]}


def task_scorer(task):
    """A task's own score(outputs, targets, mask) as the model's scorer: its (total, count)
    checked to be finite numbers with a positive count, else one line naming the task."""
    from trainer.plugins.source import PluginError

    def score(outputs, targets, mask):
        got = task.call("score", outputs, targets, mask)
        try:
            total, count = (float(v) for v in got)
        except (TypeError, ValueError):
            total = count = math.nan
        if not (math.isfinite(total) and math.isfinite(count) and count > 0):
            raise PluginError(f"task {task.spec}: score(outputs, targets, mask) returned "
                              f"{got!r:.80}, expected (total, count): finite numbers, count > 0")
        return total, count
    return score


@dataclass
class Hooks:
    """What the caller of a run sees and decides while it trains.

    on_event(event) sees every Start, Step, Row and EpochEnd. should_stop() is asked after
    every step and, when true, the run stops with a checkpoint and status 'interrupted'; when
    it answers "pruned" at the end of an epoch (a tuner's pruner), the run stops there with a
    checkpoint and status 'pruned', resumable the same way. painter.run(jobs) draws the
    figures of a completed run: plots.background.Inline() in this process, a FigureProcess
    (the `train` command's helper), or None for none (a sweep's runs: `train plot` draws
    them later from the files)."""
    on_event: Callable | None = None
    should_stop: Callable | None = None
    painter: object = None


def start(cfg, runs_dir, name=None, on_created=None, **hooks):
    """Start a run of `cfg` in a new run directory under `runs_dir` (named `name`, else from
    the config's name and the time) and train it; returns (RunDir, summary).

    Before anything is written: the name, the runs folder and the config's preflight
    (plug-ins, memory) are checked, raising BadInput. The run directory stays locked: the
    caller releases it (on_created(run_dir) hears of it as soon as it exists, for a caller that
    must release it however the run ends). hooks: see Hooks."""
    if name is not None:
        check_name(name)
    check_runs_dir(runs_dir)
    made = check_run(cfg)   # a plug-in task made for its checks is the one the run trains on
    run_dir = RunDir.create(runs_dir, name, prefix=cfg.name, cfg=cfg)
    if on_created is not None:
        on_created(run_dir)
    return run_dir, train(cfg, run_dir, made=made, **hooks)


def train(cfg, run_dir, made=None, **hooks):
    """Train `cfg` from scratch into `run_dir` (already created); returns the summary written.

    A non-finite loss stops the run with status 'diverged', keeping the last good checkpoint.
    Any other failure (a bug, memory, the disk) is recorded as status 'failed' with the error
    and its traceback. made: (streams, task) a preflight made the task from, else it is made
    here. hooks: see Hooks."""
    run_dir.write_config(cfg)
    run_dir.write_plugin_sources(cfg)   # (made already by RunDir.create when it had the config)
    return run_and_record(run_dir, lambda: RunParts(cfg, made), Hooks(**hooks))


def run_and_record(run_dir, make_parts, hooks):
    """Build the run's parts (make_parts()) and train them to the end, recording the run
    (see Recorder); returns its summary.

    Anything raised is recorded: a summary with status 'failed', the error and its traceback;
    a sys.exit() or KeyboardInterrupt from plug-in code too (never a silent exit, never a run
    left `running`); a real Ctrl-C (errors.guest_exit) passes on. The tool's own code runs
    under numpy's default error state whatever the caller or a plug-in set, and the working
    directory is put back when the run ends."""
    from trainer.plugins.source import guarded
    try:
        with np.errstate(**TOOL_ERRSTATE):
            return guarded(lambda: _train_parts(run_dir, make_parts(), hooks))
    except BaseException as e:
        if not isinstance(e, Exception) and guest_exit(e) is None:
            raise
        import traceback
        if not isinstance(e, Exception):
            e = PluginExit(f"plug-in code {guest_exit(e)}")
        return run_dir.record_failure(e, traceback.format_exc())


def _train_parts(run_dir, parts, hooks):
    """The training itself: each event of the loop recorded, shown to the caller, and the
    caller asked whether to stop; BLAS limited to train.threads threads (0: as it is)."""
    threads = parts.cfg["train"]["threads"]
    with _blas_threads(threads) if threads else contextlib.nullcontext():
        recorder = Recorder(run_dir, parts)
        status, diverged = "completed", None
        try:
            for event in parts.trainer.run(parts.position):
                recorder.record(event)
                if hooks.on_event:
                    hooks.on_event(event)
                stop = _stop_status(hooks.should_stop, event)
                if stop:
                    recorder.checkpoint()
                    status = stop
                    break
        except Diverged as e:
            status, diverged = "diverged", e
        finally:
            recorder.close()
        return recorder.finish(status, diverged, hooks.painter)


def _stop_status(should_stop, event):
    """The status a run stops with after this event, None to go on: 'pruned' at the end of an
    epoch (where a tuner's pruner decides), 'interrupted' after a step."""
    if should_stop is None or not isinstance(event, (Step, EpochEnd)):
        return None
    why = should_stop()
    if why == "pruned":
        return "pruned"
    return "interrupted" if why and isinstance(event, Step) else None


def _blas_threads(threads):
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=threads, user_api="blas")  # restored when the run ends


def load(path, which=None, overrides=(), objects=None, changed_plugins=None):
    """An existing run, ready to use: (RunDir, RunParts with the checkpoint's weights, which).

    which: "best" (best.npz), "last" (checkpoint.npz) or None (best when it exists).
    overrides ("task.KEY=VALUE", or "train.seed=N" for new data) change only what the
    model reads; model, optimizer and other train keys are refused (ConfigError).
    A plug-in whose source changed since the run was made is refused; given a list as
    `changed_plugins` (the read-only commands: eval, plot, generate), it is used as it is now
    and (kind, spec, sha256 then, sha256 now) appended to the list (and to parts.changed_plugins).
    """
    run_dir = RunDir.open(path)
    for text in overrides:
        key = text.split("=", 1)[0].strip()
        if not (key.startswith("task.") and key != "task.name") and key != "train.seed":
            raise ConfigError(f"--set {text}: only the data can change (task keys other than "
                              "task.name, train.seed); the model and its training are the run's own")
    cfg = load_config(run_dir.file(CONFIG), overrides, objects=objects,
                      changed_plugins=changed_plugins)
    done = run_dir.read_summary() or {}
    if done.get("status") == "diverged" and not run_dir.file(CHECKPOINT).exists():
        raise RunDirError(f"{run_dir.path}: the run diverged at step {done.get('diverged_at_step')}"
                          " before its first checkpoint: no model was saved")
    if which is None:
        which = "best" if run_dir.file(BEST).exists() else "last"
    name = BEST if which == "best" else CHECKPOINT
    if which == "best" and not run_dir.file(BEST).exists():
        raise RunDirError(f"{run_dir.file(BEST)}: no best checkpoint (the run has no validated "
                          "epoch, or predates best.npz); use --checkpoint last")
    if not run_dir.file(name).exists():
        raise RunDirError(f"{run_dir.file(name)}: no checkpoint")
    if overrides and getattr(cfg.task.module, "footprint", None) is not None:
        from trainer.training.memory import check_fits
        check_fits(cfg)   # changed data: refused with the estimate, as train refuses it
    parts = RunParts(cfg)
    parts.changed_plugins = list(changed_plugins or [])
    arrays = checkpoint.read(run_dir.file(name), parts)
    checkpoint.load_params(parts.model, arrays, str(run_dir.file(name)))
    return run_dir, parts, which
