"""Counting 0..vocab-1 with each number held for `repeat` steps: predict the next token."""
import numpy as np

from .base import Key, StreamTask, stream_check

METRIC = "accuracy"
KEYS = {
    "vocab": Key(10, "how many tokens the count wraps through", min=2, max=1e5),
    "repeat": Key(4, "consecutive steps each token is held (1: plain counting)", min=1, max=1e9),
    "length": Key(4000, "steps in the training stream", min=2, max=1e9),
    "val_length": Key(1000, "steps in the validation stream (continues the training stream)", min=2,
                      max=1e9),
}
check = stream_check


def make(cfg, rng):
    """The stream ((t + offset) // repeat) % vocab, with a random offset."""
    vocab, repeat = cfg["vocab"], cfg["repeat"]
    n_train, n_val = cfg["length"], cfg["val_length"]
    offset = int(rng.integers(0, vocab * repeat))
    s = ((np.arange(n_train + n_val + 1) + offset) // repeat) % vocab
    x, y = s[:-1], s[1:]
    train_x, train_y = x[:n_train], y[:n_train]
    val_x, val_y = x[n_train:], y[n_train:]
    train_loss, _ = _memoryless(train_x, train_y, vocab, repeat)
    val_loss, val_acc = _memoryless(val_x, val_y, vocab, repeat)
    baseline = {"train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc}
    return StreamTask("counting", "classification", METRIC, train_x, train_y, val_x, val_y,
                input_dim=vocab, output_dim=vocab, baseline=baseline,
                baseline_name="best guess from the current token alone")


def _memoryless(x, y, vocab, repeat):
    """Cross-entropy and accuracy of the best predictor that sees only the current token.

    From token k the next token is k again with probability (repeat-1)/repeat and
    k+1 otherwise; it predicts those probabilities and guesses the likelier one.
    """
    p_stay = (repeat - 1) / repeat
    stay = y == x
    p = np.where(stay, p_stay, 1.0 - p_stay)
    loss = float(-np.mean(np.log(p)))
    guess = x if p_stay > 0.5 else (x + 1) % vocab
    return loss, float(np.mean(guess == y))


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode or None for a stream, the widest
    input or output): for the memory check before a run starts."""
    return 8 * (cfg["length"] + cfg["val_length"] + 1) + 2 * cfg["vocab"] ** 2, None, cfg["vocab"]
