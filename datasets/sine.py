"""A sine wave as one long stream: from the value at t, predict the value at t+1."""
import numpy as np

from .base import Key, StreamTask, stream_check

METRIC = "mse"
KEYS = {
    "period": Key(25.0, "steps per period of the wave", above=2.0),
    # bounded so that squared errors stay finite in float32 (3.4e38): nothing is learnt beyond
    "amplitude": Key(1.0, "peak value of the wave", above=0.0, max=1e6),
    "noise": Key(0.0, "std of Gaussian noise added to every value", min=0.0, max=1e6),
    "length": Key(4000, "steps in the training stream", min=2, max=1e9),
    "val_length": Key(1000, "steps in the validation stream (continues the training stream)", min=2,
                      max=1e9),
}
check = stream_check


def make(cfg, rng):
    """The stream s_t = amplitude * sin(2 pi t / period + phase) + noise, with a random phase."""
    n_train, n_val = cfg["length"], cfg["val_length"]
    total = n_train + n_val + 1
    phase = rng.uniform(0.0, 2.0 * np.pi)
    t = np.arange(total)
    s = cfg["amplitude"] * np.sin(2.0 * np.pi * t / cfg["period"] + phase)
    if cfg["noise"] > 0:
        s = s + cfg["noise"] * rng.standard_normal(total)
    x, y = s[:-1, None], s[1:, None]                     # (L, 1) each
    train_x, train_y = x[:n_train], y[:n_train]
    val_x, val_y = x[n_train:], y[n_train:]
    train_mse = float(np.mean((train_x - train_y) ** 2))
    val_mse = float(np.mean((val_x - val_y) ** 2))
    baseline = {"train_loss": train_mse, "val_loss": val_mse, "val_mse": val_mse}
    return StreamTask("sine", "regression", METRIC, train_x, train_y, val_x, val_y,
                input_dim=1, output_dim=1, baseline=baseline,
                baseline_name="persistence (predict x[t])")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode or None for a stream, the widest
    input or output): for the memory check before a run starts."""
    return 8 * (cfg["length"] + cfg["val_length"] + 1), None, 1
