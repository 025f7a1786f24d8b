"""The training loop: stateful truncated BPTT over the task's stream, as a stream of events.

The loop does no I/O: after every update it yields a Row when a metrics row is
due and then a Step; after each epoch's validation, a Row and an EpochEnd.
Whoever runs it decides what to print or write. At a Step or an EpochEnd the
Position is whole: a checkpoint taken there resumes to the same numbers.

Every update uses the rate the schedule gives for its step. After each epoch the
monitored figure (train.monitor) is compared with the best so far: the EpochEnd
says whether it improved (the place for a best checkpoint), the plateau schedule
hears of it, and after train.early_stop epochs without improvement, or at the first epoch
that meets train.target when train.stop_at_target is set, the loop ends early with
`Position.stopped_early` set.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from trainer.training.batching import batches_for
from trainer.model.evaluate import evaluate
from trainer.model.metrics import lower_is_better
from trainer.optim.optimizers import clip_grads
from trainer.optim.schedules import from_config as schedule_from_config


@dataclass
class Start:
    total_steps: int
    step: int        # steps already done (a resumed run)
    metric: str = ""  # the task's metric, named as in val_<metric>
    elapsed_s: float = 0.0   # training time already spent (a resumed run)
    epochs: int = 0          # epochs planned


@dataclass
class Step:
    step: int
    loss: float


@dataclass
class Row:
    values: dict


@dataclass
class EpochEnd:
    epoch: int       # epochs completed
    val_loss: float
    val_metric: float
    improved: bool = False   # the monitored figure is the best so far (this is the best model)
    stopping: bool = False   # early stopping: this is the last epoch
    scores: dict = field(default_factory=dict)   # every validation figure (anbn's val_long_*)


class Diverged(ArithmeticError):
    """The loss or the gradients stopped being finite; parameters are from before that step."""

    def __init__(self, step, what):
        super().__init__(f"non-finite {what} at step {step}")
        self.step, self.what = step, what


@dataclass
class Position:
    """Where training stands, all of it checkpointed: resuming from it repeats the same numbers.

    step: updates done; epoch, window: the next window to run; unlogged_sums,
    unlogged_steps: the (loss, metric, grad norm) summed over the steps since the last train
    row, and how many steps that is; epoch_losses: this epoch's step losses; val: the last
    validation figures ({"val_loss": ..., "val_<metric>": ..., maybe more});
    epochs_without_improvement: counted for train.early_stop. A checkpoint stores the
    renamed fields under their first names (checkpoint.POSITION_KEYS).
    """

    step: int = 0
    epoch: int = 0
    window: int = 0
    elapsed_s: float = 0.0
    unlogged_sums: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    unlogged_steps: int = 0
    epoch_losses: list = field(default_factory=list)
    last_train_loss: float = float("nan")
    val: dict | None = None
    best: dict | None = None
    epochs_without_improvement: int = 0
    schedule: dict = field(default_factory=dict)
    stopped_early: bool = False
    target: dict | None = None   # when train.target was first reached: epoch, step, value


class Trainer:
    """Runs epochs of steps over the task's training data, validating after each epoch."""

    def __init__(self, cfg, task, model, optimizer, rng):
        tr = cfg["train"]
        self.task, self.model, self.optimizer, self.rng = task, model, optimizer, rng
        self.log_every, self.epochs = tr["log_every"], tr["epochs"]
        self.clip = cfg["optim"]["clip"]
        self.metric = task.metric
        self.monitor, self.early_stop = tr["monitor"], tr["early_stop"]
        self.target = tr["target"] if tr["target"] >= 0 else None
        self.stop_at_target = tr["stop_at_target"]
        self.lower_is_better = lower_is_better(self.monitor)
        self.batches = batches_for(task, tr)
        self.total_steps = self.epochs * self.batches.per_epoch
        self.schedule = schedule_from_config(cfg["optim"], self.total_steps, self.batches.per_epoch)

    def run(self, pos=None):
        """Train from `pos` (a fresh start by default) to the last epoch, yielding events."""
        pos = pos or Position()
        if pos.schedule:
            self.schedule.load_state(pos.schedule)
        yield Start(self.total_steps, pos.step, self.metric, pos.elapsed_s, self.epochs)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below
            yield from self._run(pos)

    def _run(self, pos):
        model, rnn = self.model, self.model.rnn
        start = time.perf_counter() - pos.elapsed_s
        while pos.epoch < self.epochs and not pos.stopped_early:
            if pos.window == 0:
                pos.epoch_losses = []
            while pos.window < self.batches.per_epoch:
                b = self.batches.get(pos.window, self.rng)
                if b.reset:
                    rnn.reset_state()
                loss = model.forward(b.x, b.y, b.mask)
                total, count = model.score(b.y, b.score_mask)
                model.backward()
                norm = clip_grads(model.grads, self.clip)
                if not math.isfinite(loss) or not math.isfinite(norm):
                    raise Diverged(pos.step + 1, "loss" if not math.isfinite(loss) else "gradient")
                self.optimizer.lr = self.schedule.rate(pos.step)
                self.optimizer.update(model.params, model.grads)
                pos.step += 1
                pos.window += 1
                pos.epoch_losses.append(loss)
                metric = total / count if count else 0.0
                sums = pos.unlogged_sums
                pos.unlogged_sums = [sums[0] + loss, sums[1] + metric, sums[2] + norm]
                pos.unlogged_steps += 1
                if pos.step % self.log_every == 0:
                    pos.elapsed_s = time.perf_counter() - start
                    means = [v / pos.unlogged_steps for v in pos.unlogged_sums]
                    pos.unlogged_sums, pos.unlogged_steps = [0.0, 0.0, 0.0], 0
                    yield Row(self._row(pos, "train", *means, pos.elapsed_s))
                yield Step(pos.step, loss)   # last: the state is whole here (row written)
            pos.last_train_loss = float(np.mean(pos.epoch_losses))
            scores = evaluate(model, self.task)
            val_loss, val_metric = scores["val_loss"], scores[f"val_{self.metric}"]
            if not math.isfinite(val_loss):
                raise Diverged(pos.step, "validation loss")
            pos.epoch += 1
            pos.window = 0
            pos.val = scores
            pos.elapsed_s = time.perf_counter() - start
            row = self._row(pos, "val", val_loss, val_metric, None, pos.elapsed_s)  # this epoch's lr
            improved = self._compare_with_best(pos, scores)
            yield Row(row)
            yield EpochEnd(pos.epoch, val_loss, val_metric, improved, pos.stopped_early, scores)

    def _compare_with_best(self, pos, scores):
        """Compare the monitored figure with the best so far; move the best, the early-stop
        count and the plateau schedule on. Returns whether it improved."""
        value = scores[self.monitor]
        improved = is_better(value, pos.best and pos.best[self.monitor], self.lower_is_better)
        if improved:
            pos.best = {"epoch": pos.epoch, "step": pos.step, **scores}
            pos.epochs_without_improvement = 0
        else:
            pos.epochs_without_improvement += 1
        if self.target is not None and pos.target is None and reaches(value, self.target,
                                                                      self.lower_is_better):
            pos.target = {"epoch": pos.epoch, "step": pos.step, "value": value}
        self.schedule.epoch_end(improved)
        pos.schedule = self.schedule.state()
        if pos.epoch < self.epochs and (
                (self.early_stop and pos.epochs_without_improvement >= self.early_stop) or
                (self.stop_at_target and pos.target is not None)):
            pos.stopped_early = True
        return improved

    def _row(self, pos, split, loss, metric, grad_norm, elapsed):
        epoch = pos.epoch if split == "val" else pos.epoch + 1
        return {"step": pos.step, "epoch": epoch, "split": split, "loss": float(loss),
                self.metric: float(metric), "lr": self.schedule.rate(max(pos.step - 1, 0)),
                "grad_norm": "" if grad_norm is None else float(grad_norm),
                "elapsed_s": round(elapsed, 4)}


def reaches(value, target, lower):
    """Whether a validation figure meets a target: at most it for a loss, at least it for an
    accuracy; NaN never does."""
    return value <= target if lower else value >= target


def is_better(value, best, lower):
    """Whether `value` improves on `best` (None: nothing yet); NaN never does."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best if lower else value > best
