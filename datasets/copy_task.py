"""The copy task (Arjovsky, Shah & Bengio 2016): remember 10 symbols over a delay, then replay them.

Registered as "copy" (the module is not named copy.py, which would shadow the
standard library). Tokens: 0 blank, 1-8 data symbols, 9 delimiter.
"""
import numpy as np

from .base import Batch, EpisodeTask, Key, episode_check

METRIC = "accuracy"
BLANK, DELIMITER, VOCAB, N_DATA, SHOWN = 0, 9, 10, 8, 10
KEYS = {
    "delay": Key(20, "blank steps between the symbols and their replay (the delimiter included)",
                 min=1, max=1e6),
    "train_size": Key(2000, "training sequences per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(500, "sequences in the fixed validation set", min=1, max=1e7),
}
check = episode_check


def sample(rng, n, delay):
    """10 data symbols, delay-1 blanks, the delimiter, 10 blanks (delay + 20 steps); the target is
    blank until the last 10 steps, which must reproduce the first 10 inputs."""
    length = delay + 2 * SHOWN
    data = rng.integers(1, N_DATA + 1, (n, SHOWN))
    x = np.full((n, length), BLANK, dtype=np.int64)
    x[:, :SHOWN] = data
    x[:, SHOWN + delay - 1] = DELIMITER
    y = np.full((n, length), BLANK, dtype=np.int64)
    y[:, -SHOWN:] = data
    score = np.zeros((n, length))
    score[:, -SHOWN:] = 1.0                                   # accuracy on the replay only
    return Batch(x, y, np.ones((n, length)), score)


def make(cfg, rng):
    delay = cfg["delay"]
    length = delay + 2 * SHOWN
    # the memoryless strategy: blanks for sure, then a uniform guess over the 8 data symbols
    ce = float(SHOWN * np.log(N_DATA) / length)
    return EpisodeTask(
        "copy", "classification", METRIC, input_tokens=True, input_dim=VOCAB, output_dim=VOCAB,
        length=length, train_size=cfg["train_size"],
        sample=lambda r, n: sample(r, n, delay), val=sample(rng, cfg["val_size"], delay),
        baseline={"train_loss": ce, "val_loss": ce, "val_accuracy": 1 / N_DATA},
        baseline_name="blanks, then a uniform guess over the 8 symbols")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode, the widest input or output): for the
    memory check before a run starts."""
    length = cfg["delay"] + 2 * SHOWN
    return 6 * cfg["val_size"] * length, length, VOCAB
