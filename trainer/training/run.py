"""One training run in a run directory: start it, or resume it from its checkpoint.

The loop's events become files here: rows go to metrics.csv as they come, a
checkpoint is written after every epoch (and every train.checkpoint_every
steps), best.npz whenever the monitored figure improves, and summary.json says
where the run stands. `load` opens a finished run's config and weights again.
"""
import math
import os
import time
from pathlib import Path

import numpy as np

from trainer.training import checkpoint
from trainer.config.load import load as load_config
from trainer.errors import ConfigError, PluginExit, describe, guest_exit
from trainer.plugins.source import PluginError
from trainer.training.loop import Diverged, EpochEnd, Position, Row, Step, Trainer
from trainer.model.network import build_model
from trainer.optim.optimizers import make_optimizer
from trainer.rundir.outcome import beats_baseline
from trainer.training.preflight import make_checked_task
from trainer.training.streams import streams
from trainer.rundir.provenance import environment
from trainer.errors import RunDirError
from trainer.rundir.layout import BEST, CHECKPOINT, CONFIG, GRADIENT_REACH, METRICS, PLUGINS, SUMMARY, RunDir
from trainer.rundir.safe_io import atomic_write
from trainer.rundir.writers import CheckpointWriter

SUMMARY_EVERY_S = 1.0  # progress updates of summary.json during a run, at most this often
COLUMNS = ("step", "epoch", "split", "loss", "{metric}", "lr", "grad_norm", "elapsed_s")
class Setup:
    """Everything a config builds, each part from its own random stream: a task key never
    changes the initial weights, a model key never changes the data."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.streams = streams(cfg["train"]["seed"])
        self.task = make_checked_task(cfg, self.streams["data"])
        self.model = build_model(cfg["model"], self.task, self.streams["init"], cfg.cell,
                                 cfg["train"]["bptt"])
        if getattr(cfg.task.module, "score", None) is not None:
            self.model.scorer = task_scorer(cfg.task)
        self.optimizer = make_optimizer(cfg["optim"])
        self.trainer = Trainer(cfg, self.task, self.model, self.optimizer, self.streams["batches"])
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


def columns(metric):
    return [c.format(metric=metric) for c in COLUMNS]


def train(cfg, run_dir, on_event=None, should_stop=None, figures=True):
    """Train `cfg` from scratch into `run_dir` (already created); returns the summary written.

    on_event(event) sees every Step, Row and EpochEnd; should_stop() is asked
    after every step and, when true, the run stops with a checkpoint and status
    'interrupted'; when it answers "pruned" at the end of an epoch (a tuner's pruner), the
    run stops there with a checkpoint and status 'pruned', resumable the same way. A non-finite loss stops it with status 'diverged', keeping
    the last good checkpoint. Any other failure (a bug, memory, the disk) is
    recorded as status 'failed' with the error and its traceback. The run's
    PNGs are drawn in this process (figures=True), not at all (False: a sweep's
    runs, whose figures `train plot` draws later from the files), or through
    `figures.run(jobs)` (a plots.background helper process).
    """
    run_dir.write_config(cfg)
    run_dir.write_plugin_sources(cfg)   # (made already by RunDir.create when it had the config)
    return _recorded(run_dir, lambda: _execute(Setup(cfg), run_dir, Position(), 0, on_event,
                                               should_stop, figures))


class NothingToResume(Exception):
    """The run already finished all its epochs."""


def prepare_resume(run_dir, epochs=None, objects=None, accept_changed_plugin=False):
    """Check a run can be resumed and restore its state, changing nothing on disk.

    Returns (setup, position, metrics rows to keep). With `epochs`, the run is
    extended (or a shorter plan cut) to that many epochs, not fewer than it has
    done. Raises RunDirError or CheckpointError for what cannot be resumed, and
    NothingToResume for a completed run with nothing to add. objects: the Python objects
    a run was made from (see config.load). A plug-in whose source changed since the run was
    made is refused (the weights belong to the code that trained them), unless
    `accept_changed_plugin`: then the run goes on with the source as it is now, and its
    config.toml and summary record the new sha256 (the summary the old ones too).
    """
    changed = []
    cfg = load_config(run_dir.file(CONFIG), objects=objects, changed_plugins=changed)
    if changed and not accept_changed_plugin:
        raise PluginError(f"{run_dir.path}: " + "; ".join(
            f"the {kind} plug-in {spec} has changed since the run was made (sha256 {old} -> "
            f"{new})" for kind, spec, old, new in changed)
            + "; restore it, or resume with the changed code anyway: train resume "
            f"{run_dir.path} --accept-changed-plugin (recorded in the run)")
    folder = run_dir.file(PLUGINS)   # where resume keeps the sources' copies: a real folder
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise RunDirError(f"{folder}: not a folder (a symbolic link or a file); the tool does "
                          "not write through links")
    if epochs is not None:
        cfg = cfg.with_changes({"train.epochs": epochs})
    setup = Setup(cfg)
    setup.changed_plugins = changed
    setup.plugin_history = _plugin_history(run_dir.read_summary() or {}, changed)
    where = str(run_dir.file(CHECKPOINT))
    if run_dir.file(CHECKPOINT).exists():
        arrays = checkpoint.read(run_dir.file(CHECKPOINT), setup, resuming=True,
                                 accept_plugins=bool(changed))
        pos, rows = checkpoint.unpack(arrays, setup.model, setup.optimizer, setup.streams, where)
    elif (run_dir.read_summary() or {}).get("status") == "completed":
        # done, and its checkpoint gone (deleted by hand): retraining would rewrite the record
        raise NothingToResume(f"{run_dir.path}: completed, but its {CHECKPOINT} is missing; nothing "
                              f"to resume (train --config {run_dir.file(CONFIG)} trains it again "
                              "into a new run)")
    else:  # stopped before its first checkpoint: start over
        pos, rows = Position(), 0
    if epochs is not None and epochs < pos.epoch:
        raise RunDirError(f"--epochs {epochs}: the run has already done {pos.epoch} epochs")
    # a run killed in its finishing steps (probe, plots, summary) has all its epochs but is
    # not `completed`, and one whose figures failed says so: resuming redoes those steps
    # from the last checkpoint
    before = run_dir.read_summary() or {}
    finished = before.get("status") == "completed" and not before.get("plot_error")
    # a run that met its target at its last epoch is done as one that met it earlier: with
    # stop_at_target, no --epochs trains it further
    met = cfg["train"]["stop_at_target"] and pos.target is not None
    if not finished and (pos.stopped_early or met or pos.epoch >= cfg["train"]["epochs"]):
        if met and pos.epoch < cfg["train"]["epochs"]:   # finish it, train no further
            pos.stopped_early = True
        _check_metrics(run_dir.file(METRICS), rows)
        return setup, pos, rows
    if pos.stopped_early or met:
        why = (f"it met train.target {cfg['train']['target']:g}" if met else
               f"{cfg['train']['monitor']} did not improve for {cfg['train']['early_stop']} epochs")
        raise NothingToResume(f"{run_dir.path}: stopped early at epoch {pos.epoch} ({why}); "
                              "nothing to resume")
    if pos.epoch >= cfg["train"]["epochs"]:
        raise NothingToResume(f"{run_dir.path}: already completed {pos.epoch} epochs; "
                              "use --epochs N to train longer")
    _check_metrics(run_dir.file(METRICS), rows)
    return setup, pos, rows


def _plugin_history(summary, changed):
    """{kind: [sha256 the run trained with before, oldest first]}: what the summary recorded,
    and the sources a resume now accepts in place of theirs."""
    out = {}
    records = summary.get("plugins") if isinstance(summary.get("plugins"), dict) else {}
    for kind, record in records.items():
        before = record.get("previous_sha256") if isinstance(record, dict) else None
        if isinstance(before, list) and all(isinstance(s, str) for s in before):
            out[kind] = list(before)
    for kind, _spec, old, _new in changed:
        out.setdefault(kind, []).append(old)
    return out


def resume(run_dir, setup, pos, rows, on_event=None, should_stop=None, figures=True):
    """Continue a run from what prepare_resume restored, as if it had never stopped."""
    _remove_stale_temporaries(run_dir.where)
    _truncate_metrics(run_dir.file(METRICS), rows)
    run_dir.write_config(setup.cfg)
    run_dir.write_plugin_sources(setup.cfg)   # a changed source accepted: kept beside the first
    return _recorded(run_dir, lambda: _execute(setup, run_dir, pos, rows, on_event, should_stop,
                                               figures))


def _recorded(run_dir, work):
    """work(), or, when it raises, a summary with status 'failed', the error and its traceback:
    a sys.exit() or KeyboardInterrupt from plug-in code too (never a silent exit, never a run
    left `running`); a real Ctrl-C (errors.guest_exit) passes on. The tool's own code runs under
    numpy's default error state whatever the caller or a plug-in set, and the working
    directory is put back when the run ends."""
    from trainer.plugins.source import guarded
    try:
        with np.errstate(**TOOL_ERRSTATE):
            return guarded(work)
    except BaseException as e:
        if not isinstance(e, Exception) and guest_exit(e) is None:
            raise
        import traceback
        if not isinstance(e, Exception):
            e = PluginExit(f"plug-in code {guest_exit(e)}")
        return run_dir.record_failure(e, traceback.format_exc())


TOOL_ERRSTATE = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}  # numpy's


def _execute(setup, run_dir, pos, rows, on_event, should_stop, figures):
    threads = setup.cfg["train"]["threads"]
    if not threads:
        return _run_epochs(setup, run_dir, pos, rows, on_event, should_stop, figures)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=threads, user_api="blas"):  # restored when the run ends
        return _run_epochs(setup, run_dir, pos, rows, on_event, should_stop, figures)


def _run_epochs(setup, run_dir, pos, rows, on_event, should_stop, figures):
    task, model, trainer = setup.task, setup.model, setup.trainer
    every = setup.cfg["train"]["checkpoint_every"]
    writer = run_dir.metrics_writer(columns(task.metric))
    run_dir.write_summary(_summary(task, trainer, "running", pos, pos.elapsed_s, setup.cfg,
                                   setup.plugin_history))
    if pos.step == 0:
        _probe_gradient_reach(setup, run_dir, pos.step)
    started = time.perf_counter() - pos.elapsed_s  # wall_s: the epochs, not the probes or plots

    # rows first: the worker makes the counted rows durable before the checkpoint lands
    checkpoints = CheckpointWriter(run_dir.file(CHECKPOINT), before=writer.sync)

    def save(best=False):
        arrays = checkpoint.pack(model, setup.optimizer, setup.streams, pos, rows, setup.cfg)
        for name, a in arrays.items():  # a state that cannot go on is divergence, never kept
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                raise Diverged(pos.step, f"checkpoint array {name}")
        checkpoints.submit(arrays)
        if best:  # the same state, kept under its own name until a better epoch replaces it
            atomic_write(run_dir.file(BEST), lambda f: np.savez(f, **arrays))

    status, diverged = "completed", None
    last_summary = time.perf_counter()
    try:
        for event in trainer.run(pos):
            if isinstance(event, Row):
                writer.write(event.values)
                rows += 1
            elif isinstance(event, EpochEnd):
                save(best=event.improved)
                now = time.perf_counter()
                if now - last_summary >= SUMMARY_EVERY_S:
                    last_summary = now
                    run_dir.write_summary(_summary(task, trainer, "running", pos, now - started, setup.cfg,
                                                   setup.plugin_history),
                                          durable=False)
            elif isinstance(event, Step) and every and event.step % every == 0:
                save()
            if on_event:
                on_event(event)
            # a tuner's pruner stops a run where it decides, at the end of an epoch (status
            # 'pruned', resumable as an interrupted run); anything else stops after a step
            why = should_stop() if should_stop and isinstance(event, (Step, EpochEnd)) else None
            if why == "pruned" or (why and isinstance(event, Step)):
                save()
                status = "pruned" if why == "pruned" else "interrupted"
                break
    except Diverged as e:
        status, diverged = "diverged", e
    finally:
        try:
            checkpoints.wait()  # the last checkpoint is on disk before the summary says so
        finally:
            writer.close()
    summary = _summary(task, trainer, status, pos, time.perf_counter() - started, setup.cfg,
                       setup.plugin_history)
    if diverged is not None:
        summary["diverged_at_step"], summary["diverged_what"] = diverged.step, diverged.what
    if status == "completed":  # said only once everything is written
        _probe_gradient_reach(setup, run_dir, pos.step)
    if status == "completed" and figures:
        note = ""
        if pos.best is not None and run_dir.file(BEST).exists():  # task views show the best model
            checkpoint.load_params(model, checkpoint.read(run_dir.file(BEST), setup),
                                   str(run_dir.file(BEST)))
            note = f" (best model, epoch {pos.best['epoch']})"
        from trainer.model.evaluate import task_view
        from trainer.plots.background import Inline
        from trainer.plots.run import figure_jobs
        painter = Inline() if figures is True else figures
        try:
            painter.run(figure_jobs(run_dir.where, task_view(model, task), summary, note))
        except Exception as e:  # the numbers stand without pictures; `train plot` or
            summary["plot_error"] = describe(e)  # `train resume` draws them later
    run_dir.write_summary(summary)
    return summary


def _probe_gradient_reach(setup, run_dir, step):
    """Add ||dL/dh_t|| over a validation window at this step to gradient_reach.csv
    (rows of earlier steps kept, rows of this step replaced)."""
    from trainer.model.diagnostics import gradient_reach, probe_batch
    norms = gradient_reach(setup.model, *probe_batch(setup.task, setup.cfg["train"]["bptt"]))
    path = run_dir.file(GRADIENT_REACH)
    kept = []
    if path.exists():
        kept = [line for line in path.read_text().splitlines()[1:]
                if line.split(",", 1)[0] != str(step)]
    rows = kept + [f"{step},{t},{float(v)!r}" for t, v in enumerate(norms)]
    run_dir.write_text(GRADIENT_REACH, "step,t,grad_norm\n" + "\n".join(rows) + "\n")


def _summary(task, trainer, status, pos, wall_s, cfg=None, history=None):
    metric = task.metric
    final = {"train_loss": None, "val_loss": None, f"val_{metric}": None}
    if np.isfinite(pos.last_train_loss):
        final["train_loss"] = pos.last_train_loss
    final.update(pos.val or {})
    summary = {"status": status, "task": task.name, "metric": metric, "steps": pos.step,
            "total_steps": trainer.total_steps, "epochs_done": pos.epoch,
            "wall_s": round(wall_s, 4), "final": final, "monitor": trainer.monitor,
            "best": pos.best, "stopped_early": pos.stopped_early,
            "baseline": task.baseline, "baseline_name": task.baseline_name,
            **({"plugins": plugin_records(cfg, history)} if cfg is not None and cfg.plugins
               else {}),
            "env": environment()}
    summary["beats_baseline"] = beats_baseline(summary)
    if trainer.target is not None:
        summary["target"] = _target(pos.target, trainer, task)
    return summary


def _target(reached, trainer, task):
    """summary.json's target: when validation first reached train.target, in epochs, steps and
    (episode tasks) training sequences; null when it has not."""
    if reached is None:
        return None
    out = {"epoch": reached["epoch"], "step": reached["step"], "value": reached["value"],
           "goal": trainer.target}
    if task.episodes:
        out["sequences"] = reached["step"] * trainer.batches.batch_size
    return out


def plugin_records(cfg, history=None):
    """summary.json's `plugins`: each plug-in's spec, where it was found, its source's sha256
    and the copy of that source the run keeps (`source`, in plugins/), for a cell whether its
    gradient check ran before training (model.check); with
    `previous_sha256` the sources it trained with before a resume accepted a changed one."""
    from trainer.rundir.writers import plugin_copies
    out = cfg.plugins
    if "cell" in out:
        out["cell"] = {**out["cell"], "checked": bool(cfg["model"]["check"])}
    for name in plugin_copies(cfg):   # where the run keeps the source it trained with
        kind = name.split("-", 1)[0]
        if kind in out:
            out[kind] = {**out[kind], "source": f"{PLUGINS}/{name}"}
    for kind, before in (history or {}).items():
        if kind in out and before:
            out[kind] = {**out[kind], "previous_sha256": list(before)}
    return out


def _check_metrics(path, rows):
    """metrics.csv must hold the header and at least the rows the checkpoint counted (and be no
    symlink: rows are appended to it)."""
    if Path(path).is_symlink():
        raise RunDirError(f"{path}: is a symbolic link; the tool does not write through links")
    if rows == 0:
        return
    have = _complete_lines(path)
    if have < rows + 1:
        raise RunDirError(f"{path}: holds {max(have - 1, 0)} complete rows, the checkpoint "
                          f"counted {rows}; the run directory was changed by hand")


def _complete_lines(path):
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return 0
    return data.count(b"\n")


def _truncate_metrics(path, rows):
    """Keep the header and the first `rows` rows; later or torn rows are re-done."""
    path = Path(path)
    if rows == 0:
        path.unlink(missing_ok=True)
        return
    data = path.read_bytes()
    end = -1
    for _ in range(rows + 1):
        end = data.index(b"\n", end + 1)
    with open(os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0)), "r+b") as f:
        f.truncate(end + 1)
        f.flush()
        os.fsync(f.fileno())


def _remove_stale_temporaries(path):
    """A process killed while writing leaves a .name-xxxx temporary; it was never the real file."""
    for p in Path(path).glob(".*-*"):
        if p.is_file() and p.name.split("-")[0][1:] in (CHECKPOINT, BEST, CONFIG, SUMMARY,
                                                            GRADIENT_REACH):
            p.unlink()


def load(path, which=None, overrides=(), objects=None, changed_plugins=None):
    """An existing run, ready to use: (RunDir, Setup with the checkpoint's weights, which).

    which: "best" (best.npz), "last" (checkpoint.npz) or None (best when it exists).
    overrides ("task.KEY=VALUE", or "train.seed=N" for new data) change only what the
    model reads; model, optimizer and other train keys are refused (ConfigError).
    A plug-in whose source changed since the run was made is refused; given a list as
    `changed_plugins` (the read-only commands: eval, plot, generate), it is used as it is now
    and (kind, spec, sha256 then, sha256 now) appended to the list (and to setup.changed_plugins).
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
        from trainer.training.memory import check_fits   # changed data: refused with the estimate, as
        check_fits(cfg)                          # train refuses it, before it is made
    setup = Setup(cfg)
    setup.changed_plugins = list(changed_plugins or [])
    arrays = checkpoint.read(run_dir.file(name), setup)
    checkpoint.load_params(setup.model, arrays, str(run_dir.file(name)))
    return run_dir, setup, which
