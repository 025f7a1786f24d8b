"""The adding problem (Arjovsky, Shah & Bengio 2016): sum the two marked values of a sequence."""
import numpy as np

from .base import Batch, EpisodeTask, Key, episode_check

METRIC = "mse"
KEYS = {
    "length": Key(50, "steps per sequence", min=2, max=1e6),
    "train_size": Key(2000, "training sequences per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(500, "sequences in the fixed validation set", min=1, max=1e7),
}
check = episode_check


def sample(rng, n, length, combine=np.add):
    """n sequences of (value ~ U[0,1], marker) with one marker in each half; the target at the
    last step is combine(first marked value, second): their sum (multiplication: product)."""
    values = rng.uniform(0.0, 1.0, (n, length))
    half = length // 2
    rows = np.arange(n)
    first, second = rng.integers(0, half, n), rng.integers(half, length, n)
    marker = np.zeros((n, length))
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = np.stack([values, marker], axis=-1)                  # (n, T, 2)
    y = np.zeros((n, length, 1))
    y[:, -1, 0] = combine(values[rows, first], values[rows, second])
    mask = np.zeros((n, length))
    mask[:, -1] = 1.0
    return Batch(x, y, mask, mask)


def make(cfg, rng):
    length = cfg["length"]
    val = sample(rng, cfg["val_size"], length)
    mse = float(np.mean((val.y[:, -1, 0] - 1.0) ** 2))       # always predicting 1: about 1/6
    return EpisodeTask(
        "adding", "regression", METRIC, input_tokens=False, input_dim=2, output_dim=1,
        length=length, train_size=cfg["train_size"],
        sample=lambda r, n: sample(r, n, length), val=val,
        baseline={"train_loss": mse, "val_loss": mse, "val_mse": mse},
        baseline_name="always predict 1 (the mean sum)")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode, the widest input or output): for the
    memory check before a run starts."""
    return 8 * cfg["val_size"] * cfg["length"], cfg["length"], 2
