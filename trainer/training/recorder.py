"""One run's record: the loop's events turned into the run directory's files.

metrics.csv gets each row as it comes; a checkpoint is written after every epoch (and every
train.checkpoint_every steps), with best.npz beside it when the monitored figure improved;
summary.json says where the run stands (at most every SUMMARY_EVERY_S while it trains); when
the run ends, the final summary, the gradient-reach probe and the figures.
"""
import time

import numpy as np

from trainer.errors import describe
from trainer.rundir.layout import BEST, CHECKPOINT, GRADIENT_REACH, PLUGINS
from trainer.rundir.outcome import beats_baseline
from trainer.rundir.provenance import environment
from trainer.rundir.writers import CheckpointWriter
from trainer.training import checkpoint
from trainer.training.loop import Diverged, EpochEnd, Row, Step

SUMMARY_EVERY_S = 1.0  # progress updates of summary.json during a run, at most this often
COLUMNS = ("step", "epoch", "split", "loss", "{metric}", "lr", "grad_norm", "elapsed_s")


def columns(metric):
    """metrics.csv's header for a task whose metric is `metric`."""
    return [c.format(metric=metric) for c in COLUMNS]


class Recorder:
    """Writes one run's files from its events: `record(event)` for each event of the loop,
    `checkpoint()` where the caller stops the run, `close()` when the loop has ended, then
    `finish(status)` for the final summary, probe and figures.

    Made when training starts (or resumes) at parts.position: it opens metrics.csv, marks the
    run `running` and, for a fresh run, probes the gradient reach of the initial weights."""

    def __init__(self, run_dir, parts):
        self.run_dir, self.parts, self.pos = run_dir, parts, parts.position
        self.rows = parts.metrics_rows   # rows in metrics.csv: a checkpoint records the count
        self.every = parts.cfg["train"]["checkpoint_every"]
        self.metrics = run_dir.metrics_writer(columns(parts.task.metric))
        run_dir.write_summary(self.summary("running", self.pos.elapsed_s))
        if self.pos.step == 0:
            probe_gradient_reach(parts, run_dir, self.pos.step)
        self.started = time.perf_counter() - self.pos.elapsed_s  # wall_s: the epochs only
        # rows first: the worker makes the counted rows durable before the checkpoint lands
        self.checkpoints = CheckpointWriter(run_dir.file(CHECKPOINT), before=self.metrics.sync)
        self.last_summary = time.perf_counter()

    def record(self, event):
        """File one event of the loop (a Start needs nothing)."""
        if isinstance(event, Row):
            self.row(event)
        elif isinstance(event, Step):
            self.step(event)
        elif isinstance(event, EpochEnd):
            self.epoch_end(event)

    def row(self, event):
        self.metrics.write(event.values)
        self.rows += 1

    def step(self, event):
        if self.every and event.step % self.every == 0:
            self.checkpoint()

    def epoch_end(self, event):
        self.checkpoint(best=event.improved)
        now = time.perf_counter()
        if now - self.last_summary >= SUMMARY_EVERY_S:
            self.last_summary = now
            self.run_dir.write_summary(self.summary("running", now - self.started), durable=False)

    def checkpoint(self, best=False):
        """Checkpoint the run where it stands (in the background); with `best`, the same state
        lands first as best.npz, kept until a better epoch replaces it."""
        p = self.parts
        arrays = checkpoint.pack(p.model, p.optimizer, p.streams, self.pos, self.rows, p.cfg)
        for name, a in arrays.items():  # a state that cannot go on is divergence, never kept
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                raise Diverged(self.pos.step, f"checkpoint array {name}")
        self.checkpoints.submit(arrays, copies=[self.run_dir.file(BEST)] if best else [])

    def close(self):
        """Wait for the last checkpoint to be on disk (before any summary says so); close
        metrics.csv."""
        try:
            self.checkpoints.wait()
        finally:
            self.metrics.close()

    def finish(self, status, diverged=None, painter=None):
        """Write the final summary.json (after the closing probe and the figures of a completed
        run, drawn by painter.run(jobs) unless painter is None) and return it."""
        summary = self.summary(status, time.perf_counter() - self.started)
        if diverged is not None:
            summary["diverged_at_step"], summary["diverged_what"] = diverged.step, diverged.what
        if status == "completed":  # said only once everything is written
            probe_gradient_reach(self.parts, self.run_dir, self.pos.step)
            if painter is not None:
                self._draw(painter, summary)
        self.run_dir.write_summary(summary)
        return summary

    def _draw(self, painter, summary):
        """The run's figures; the task views show the best model when there is one. A failure
        is noted in the summary (`train plot` or `train resume` draws them later)."""
        from trainer.model.evaluate import task_view
        from trainer.plots.run import figure_jobs
        parts, best = self.parts, self.run_dir.file(BEST)
        note = ""
        if self.pos.best is not None and best.exists():
            checkpoint.load_params(parts.model, checkpoint.read(best, parts), str(best))
            note = f" (best model, epoch {self.pos.best['epoch']})"
        try:
            painter.run(figure_jobs(self.run_dir.where, task_view(parts.model, parts.task),
                                    summary, note))
        except Exception as e:  # the numbers stand without pictures
            summary["plot_error"] = describe(e)

    def summary(self, status, wall_s):
        """summary.json's content for the run at its position, with this status."""
        parts, pos = self.parts, self.pos
        task, trainer = parts.task, parts.trainer
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
                   **({"plugins": plugin_records(parts.cfg, parts.plugin_history)}
                      if parts.cfg.plugins else {}),
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
    gradient check ran before training (model.check); with `previous_sha256` the sources it
    trained with before a resume accepted a changed one."""
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


def probe_gradient_reach(parts, run_dir, step):
    """Add ||dL/dh_t|| over a validation window at this step to gradient_reach.csv
    (rows of earlier steps kept, rows of this step replaced)."""
    from trainer.model.diagnostics import gradient_reach, probe_batch
    norms = gradient_reach(parts.model, *probe_batch(parts.task, parts.cfg["train"]["bptt"]))
    path = run_dir.file(GRADIENT_REACH)
    kept = []
    if path.exists():
        kept = [line for line in path.read_text().splitlines()[1:]
                if line.split(",", 1)[0] != str(step)]
    rows = kept + [f"{step},{t},{float(v)!r}" for t, v in enumerate(norms)]
    run_dir.write_text(GRADIENT_REACH, "step,t,grad_norm\n" + "\n".join(rows) + "\n")
