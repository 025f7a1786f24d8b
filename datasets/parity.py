"""Parity: read `length` random bits, then say whether an odd number of them were 1."""
import numpy as np

from .base import Batch, EpisodeTask, Key, episode_check

METRIC = "accuracy"
KEYS = {
    "length": Key(10, "bits per sequence", min=1, max=1e6),
    "train_size": Key(2000, "training sequences per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(500, "sequences in the fixed validation set", min=1, max=1e7),
}
check = episode_check


def sample(rng, n, length):
    """Bits as one input channel; at the last step the target class is their XOR."""
    bits = rng.integers(0, 2, (n, length))
    y = np.zeros((n, length), dtype=np.int64)
    y[:, -1] = bits.sum(axis=1) % 2
    mask = np.zeros((n, length))
    mask[:, -1] = 1.0
    return Batch(bits[..., None].astype(np.float64), y, mask, mask)


def make(cfg, rng):
    length = cfg["length"]
    return EpisodeTask(
        "parity", "classification", METRIC, input_tokens=False, input_dim=1, output_dim=2,
        length=length, train_size=cfg["train_size"],
        sample=lambda r, n: sample(r, n, length), val=sample(rng, cfg["val_size"], length),
        baseline={"train_loss": float(np.log(2)), "val_loss": float(np.log(2)), "val_accuracy": 0.5},
        baseline_name="a coin flip")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode, the widest input or output): for the
    memory check before a run starts."""
    return 6 * cfg["val_size"] * cfg["length"], cfg["length"], 2
