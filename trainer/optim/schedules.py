"""Learning-rate schedules: the rate for each step, and the plateau rule that watches validation.

For step s (0-based, counting every update of the run) with S steps in all and
E = s // steps_per_epoch completed epochs, the scheduled rate is

    constant  lr
    step      max(min_lr, lr * decay ** (E // decay_every))
    cosine    min_lr + (lr - min_lr) * (1 + cos(pi * s / S)) / 2
    plateau   max(min_lr, lr * decay ** k), k = reductions so far

and during the first `warmup` steps it is scaled by (s + 1) / warmup. The plateau
schedule reduces the rate (k += 1) at the end of an epoch when the monitored
figure has not improved for `patience` epochs, then waits `patience` epochs again
(decay 0.25, patience 1 is the textbook RNNLM trainer's "lr /= 4 when validation
got worse"). Pure math: no I/O, nothing of the project imported.
"""
import math

KINDS = ("constant", "step", "cosine", "plateau")


class Schedule:
    """The rate for every step of a run; `epoch_end` feeds the plateau rule. Its counters are
    in `state()` so that a resumed run continues with the same rates."""

    def __init__(self, kind, lr, total_steps, steps_per_epoch, warmup=0, min_lr=0.0,
                 decay=0.1, decay_every=1, patience=1):
        if kind not in KINDS:
            raise ValueError(f"unknown schedule {kind!r}; known: {', '.join(KINDS)}")
        self.kind, self.lr, self.total, self.per_epoch = kind, lr, total_steps, steps_per_epoch
        self.warmup, self.min_lr, self.decay = warmup, min_lr, decay
        self.decay_every, self.patience = decay_every, patience
        self.reductions = 0     # plateau: times the rate was multiplied by decay
        self.waited = 0         # plateau: epochs without improvement since the best or the last cut

    def rate(self, step):
        """The learning rate of the update that follows `step` updates."""
        if self.kind == "constant":
            lr = self.lr
        elif self.kind == "step":
            epochs = step // self.per_epoch
            lr = max(self.min_lr, self.lr * self.decay ** (epochs // self.decay_every))
        elif self.kind == "cosine":
            lr = self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * step / self.total)) / 2
        else:
            lr = max(self.min_lr, self.lr * self.decay ** self.reductions)
        if step < self.warmup:
            lr *= (step + 1) / self.warmup
        return lr

    def epoch_end(self, improved):
        """Plateau: after an epoch whose monitored figure did (not) improve on the best so far."""
        if self.kind != "plateau":
            return
        if improved:
            self.waited = 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.reductions += 1
            self.waited = 0

    def state(self):
        return {"reductions": self.reductions, "waited": self.waited}

    def load_state(self, state):
        self.reductions, self.waited = int(state["reductions"]), int(state["waited"])


def from_config(optim_cfg, total_steps, steps_per_epoch):
    """The schedule of a config's [optim] section for a run of `total_steps` steps."""
    c = optim_cfg
    return Schedule(c["schedule"], c["lr"], total_steps, steps_per_epoch, warmup=c["warmup"],
                    min_lr=c["min_lr"], decay=c["decay"], decay_every=c["decay_every"],
                    patience=c["patience"])
