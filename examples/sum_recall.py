"""A plug-in episode task: sum recall. Read `count` digits, wait `delay` blank steps, then say
their sum modulo `base`.

    train --config examples/sum_recall.toml
    train --config examples/sum_recall.toml --set task.delay=8

Each episode is independent (the state starts from zeros), so the task is an EpisodeTask: it
says how long an episode is (`length`), how to draw fresh training episodes (`sample(rng, n)`,
a Batch) and which steps count. Its two masks differ on purpose: the loss (`mask`) counts every
step, where the target is the running sum so far, which gives the layer a gradient at every
step; the metric (`score_mask`) counts only the last step, the answer the task asks for.
"""
import numpy as np

from trainer.tasks import Batch, EpisodeTask, Key, episode_check

METRIC = "accuracy"
KEYS = {
    "base": Key(3, "digits 0 .. base-1; the answer is their sum modulo base", min=2, max=100),
    "count": Key(6, "digits per episode", min=1, max=1000),
    "delay": Key(4, "blank steps between the last digit and the answer", min=0, max=1000),
    "loss_on": Key("every", "the steps the loss counts: every step (the running sum) or only "
                   "the answer", choices=("every", "answer")),
    "train_size": Key(2000, "training episodes per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(500, "episodes in the fixed validation set", min=1, max=1e7),
}

check = episode_check   # an epoch must hold at least one batch of episodes


def sample(rng, n, base, count, delay, loss_on="every"):
    """n episodes: inputs are token ids, the digits then `delay` blanks (token `base`); the
    target at every step is the sum of the digits so far modulo base."""
    T = count + delay
    digits = rng.integers(0, base, (n, count))                   # (n, count)
    x = np.full((n, T), base, dtype=np.int64)                     # (n, T): blanks ...
    x[:, :count] = digits                                         # ... after the digits
    running = np.cumsum(digits, axis=1) % base                    # (n, count)
    y = np.concatenate([running, np.repeat(running[:, -1:], delay, axis=1)], axis=1)
    score_mask = np.zeros((n, T))
    score_mask[:, -1] = 1.0                     # the metric: the answer at the last step
    # the loss: every step (the running sum), or like the metric only the answer
    mask = np.ones((n, T)) if loss_on == "every" else score_mask.copy()
    return Batch(x, y.astype(np.int64), mask, score_mask)


def make(cfg, rng):
    """The validation set is drawn once from `rng`; training episodes are drawn fresh, every
    batch, from the generator the trainer hands `sample`."""
    base, count, delay, loss_on = cfg["base"], cfg["count"], cfg["delay"], cfg["loss_on"]
    guess = {"train_loss": float(np.log(base)), "val_loss": float(np.log(base)),
             "val_accuracy": 1.0 / base}
    return EpisodeTask(
        "sum_recall", "classification", METRIC, input_tokens=True, input_dim=base + 1,
        output_dim=base, length=count + delay, train_size=cfg["train_size"],
        sample=lambda r, n: sample(r, n, base, count, delay, loss_on),
        val=sample(rng, cfg["val_size"], base, count, delay, loss_on),
        baseline=guess, baseline_name="a uniform guess of the sum (no memory)")
