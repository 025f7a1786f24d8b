"""The multiplication problem (Hochreiter & Schmidhuber 1997, experiment 5): the adding
problem's sequences, but the answer is the product of the two marked values."""
import numpy as np

from . import adding
from .base import EpisodeTask, Key, episode_check

METRIC = "mse"
KEYS = {
    "length": Key(100, "steps per sequence", min=2, max=1e6),
    "train_size": Key(2000, "training sequences per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(500, "sequences in the fixed validation set", min=1, max=1e7),
}
check = episode_check


def make(cfg, rng):
    length = cfg["length"]
    val = adding.sample(rng, cfg["val_size"], length, np.multiply)
    mse = float(np.mean((val.y[:, -1, 0] - 0.25) ** 2))     # always 1/4: Var(XY) = 7/144
    return EpisodeTask(
        "multiplication", "regression", METRIC, input_tokens=False, input_dim=2, output_dim=1,
        length=length, train_size=cfg["train_size"],
        sample=lambda r, n: adding.sample(r, n, length, np.multiply), val=val,
        baseline={"train_loss": mse, "val_loss": mse, "val_mse": mse},
        baseline_name="always predict 1/4 (the mean product)")


footprint = adding.footprint
