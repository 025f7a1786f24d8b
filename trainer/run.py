"""One training run from a config into a run directory: the loop's events become files."""
import time

import numpy as np

from datasets import make_task
from trainer import checkpoint
from trainer.loop import Diverged, EpochEnd, Position, Row, Step, Trainer
from trainer.model import build_model
from trainer.optimizers import make_optimizer

COLUMNS = ("step", "epoch", "split", "loss", "{metric}", "lr", "grad_norm", "elapsed_s")


class Setup:
    """Everything a config builds, in a fixed order from one generator: task, then weights."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg["train"]["seed"])
        self.task = make_task(cfg["task"], self.rng)
        self.model = build_model(cfg["model"], self.task, self.rng)
        self.optimizer = make_optimizer(cfg["optim"])


def columns(metric):
    return [c.format(metric=metric) for c in COLUMNS]


def train(cfg, run_dir, on_event=None, should_stop=None):
    """Train `cfg` into `run_dir` (already created); returns the summary written.

    on_event(event) sees every Step, Row and EpochEnd; should_stop() is asked
    after every step and, when true, the run stops with a checkpoint and status
    'interrupted'. A non-finite loss stops it with status 'diverged'.
    """
    setup = Setup(cfg)
    task, model = setup.task, setup.model
    trainer = Trainer(cfg, task, model, setup.optimizer)
    run_dir.write_config(cfg)
    writer = run_dir.metrics_writer(columns(task.metric))
    state = {"rows": 0, "val": None, "pos": None}
    started = time.perf_counter()
    summary = _summary(cfg, task, trainer, "running", None, None, 0, 0.0)
    run_dir.write_summary(summary)

    def save(pos):
        run_dir.save_checkpoint(checkpoint.pack(model, setup.optimizer, setup.rng, pos, state["rows"]))

    pos = Position()
    status, diverged_at = "completed", None
    try:
        for event in trainer.run(pos):
            if isinstance(event, Row):
                writer.write(event.values)
                state["rows"] += 1
            elif isinstance(event, EpochEnd):
                state["val"] = (event.val_loss, event.val_metric)
                save(pos)
                run_dir.write_summary(_summary(cfg, task, trainer, "running", pos, state["val"],
                                               pos.step, time.perf_counter() - started))
            if on_event:
                on_event(event)
            if isinstance(event, Step) and should_stop and should_stop():
                status = "interrupted"
                save(pos)
                break
    except Diverged as e:
        status, diverged_at = "diverged", e.step
    finally:
        writer.close()
    summary = _summary(cfg, task, trainer, status, pos, state["val"], pos.step,
                       time.perf_counter() - started)
    if diverged_at is not None:
        summary["diverged_at_step"] = diverged_at
    run_dir.write_summary(summary)
    if status == "completed":
        from trainer.plots import draw_run
        draw_run(run_dir.path, model, task, summary)
    return summary


def _summary(cfg, task, trainer, status, pos, val, steps, wall_s):
    metric = task.metric
    final = {"train_loss": None, "val_loss": None, f"val_{metric}": None}
    if pos is not None and np.isfinite(pos.last_train_loss):
        final["train_loss"] = pos.last_train_loss
    if val is not None:
        final["val_loss"], final[f"val_{metric}"] = val
    return {"status": status, "task": task.name, "metric": metric, "steps": steps,
            "total_steps": trainer.total_steps, "wall_s": round(wall_s, 3), "final": final,
            "baseline": task.baseline, "baseline_name": task.baseline_name}
