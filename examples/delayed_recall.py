"""A plug-in task: delayed recall. Read a stream of random symbols; at every step, output the
symbol seen `delay` steps ago.

    train --config examples/delayed.toml
    train --config examples/delayed.toml --set task.delay=3

A task module holds KEYS (its config keys under [task]), METRIC and make(task_cfg, rng); it may
add footprint(task_cfg) and check(cfg). This one leaves footprint out: the memory check then
measures what make returns.
"""
import numpy as np

from trainer.tasks import Key, StreamTask, stream_check

METRIC = "accuracy"
KEYS = {
    "delay": Key(2, "steps between a symbol and its recall", min=1, max=1000),
    "vocab": Key(4, "distinct symbols", min=2, max=1000),
    "length": Key(4000, "steps in the training stream", min=2, max=1e7),
    "val_length": Key(1000, "steps in the validation stream", min=2, max=1e7),
}


def check(cfg):
    """The stream's rows must hold a window each (the built-in streams' rule)."""
    return stream_check(cfg)


def make(cfg, rng):
    """Symbols s_t uniform over the vocabulary; the input at t is s_{t+delay}, the target s_t,
    so the target is the input of `delay` steps before."""
    delay, vocab = cfg["delay"], cfg["vocab"]
    n_train, n_val = cfg["length"], cfg["val_length"]
    s = rng.integers(0, vocab, n_train + n_val + delay)
    x, y = s[delay:], s[:-delay]
    chance = {"train_loss": float(np.log(vocab)), "val_loss": float(np.log(vocab)),
              "val_accuracy": 1.0 / vocab}
    return StreamTask("delayed_recall", "classification", METRIC, x[:n_train], y[:n_train],
                      x[n_train:], y[n_train:], input_dim=vocab, output_dim=vocab,
                      baseline=chance, baseline_name="a uniform guess (no memory)")
