"""The temporal order problem (Hochreiter & Schmidhuber 1997, experiments 6a and 6b): classify a
sequence of distractors by the order in which X and Y appeared at two (6a) or three (6b) points.

Tokens: 0-3 the distractors a, b, c, d; 4 X, 5 Y; 6 B (start), 7 E (end); 8 padding after E.
A sequence is B, distractors with X or Y at the relevant points, and E; its length is drawn
from length .. length + spread, as the paper's 100 .. 110. The relevant points lie in windows
of length/10 steps that start at 10 % and 50 % of length (6a) or at 10 %, 33 % and 66 % (6b),
the paper's [10, 20] and [50, 60], or [10, 20], [33, 43] and [66, 76] at length 100. The answer,
read at E, is the class of the symbols in order: 6a XX, XY, YX, YY (0-3); 6b XXX .. YYY (0-7).
"""
import numpy as np

from .base import Batch, EpisodeTask, Key, episode_check

METRIC = "accuracy"
X, Y, B, E, PAD, VOCAB = 4, 5, 6, 7, 8, 9
STARTS = {"6a": (0.10, 0.50), "6b": (0.10, 0.33, 0.66)}   # window starts, as fractions of length
KEYS = {
    "variant": Key("6a", "6a: X/Y at two points, 4 classes; 6b: at three points, 8 classes",
                   choices=("6a", "6b")),
    "length": Key(100, "the shortest sequence (the paper's 100)", min=10, max=1e6),
    "spread": Key(10, "sequence lengths are drawn from length .. length + spread (the paper's 10)",
                  min=0, max=1e6),
    "train_size": Key(2000, "training sequences per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(2000, "sequences in the fixed validation set", min=1, max=1e7),
}
check = episode_check


def windows(variant, length):
    """[(first, last)] steps, inclusive, where each relevant symbol may stand."""
    width = max(1, round(length / 10))
    return [(round(f * length), round(f * length) + width) for f in STARTS[variant]]


def sample(rng, n, variant, length, spread):
    """n sequences (padded to length + spread steps) and their classes at the step holding E."""
    total = length + spread
    x = rng.integers(0, 4, (n, total))                        # distractors a-d
    ends = length - 1 + rng.integers(0, spread + 1, n)        # the step holding E
    rows = np.arange(n)
    x[:, 0] = B
    x[rows, ends] = E
    x[np.arange(total) > ends[:, None]] = PAD
    label = np.zeros(n, dtype=np.int64)
    for first, last in windows(variant, length):
        where = rng.integers(first, last + 1, n)
        bit = rng.integers(0, 2, n)
        x[rows, where] = X + bit
        label = 2 * label + bit
    y = np.zeros((n, total), dtype=np.int64)
    y[rows, ends] = label
    mask = np.zeros((n, total))
    mask[rows, ends] = 1.0
    return Batch(x, y, mask, mask)


def make(cfg, rng):
    variant, length, spread = cfg["variant"], cfg["length"], cfg["spread"]
    classes = 2 ** len(STARTS[variant])
    ce = float(np.log(classes))
    return EpisodeTask(
        "temporal_order", "classification", METRIC, input_tokens=True, input_dim=VOCAB,
        output_dim=classes, length=length + spread, train_size=cfg["train_size"],
        sample=lambda r, n: sample(r, n, variant, length, spread),
        val=sample(rng, cfg["val_size"], variant, length, spread),
        baseline={"train_loss": ce, "val_loss": ce, "val_accuracy": 1 / classes},
        baseline_name=f"a uniform guess over the {classes} classes")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode, the widest input or output): for the
    memory check before a run starts."""
    total = cfg["length"] + cfg["spread"]
    return 6 * cfg["val_size"] * total, total, VOCAB
