"""aⁿbⁿ (Gers & Schmidhuber 2001): read S aⁿ bⁿ and predict, at every step, the set of legal
next symbols; a string is right only if every step's set is.

Input tokens: 0 S, 1 a, 2 b, 3 T (padding). Output labels (sigmoid each): a, b, T.
"""
import numpy as np

from .base import Batch, EpisodeTask, Key, memoryless_probabilities, memoryless_scores

METRIC = "string_accuracy"
S, A, B, T = 0, 1, 2, 3
KEYS = {
    "n_min": Key(1, "shortest n in training", min=1, max=1e5),
    "n_max": Key(10, "longest n in training", min=1, max=1e5),
    "n_test_max": Key(20, "longest n in validation (beyond n_max: generalisation)", min=1,
                        max=1e5),
    "train_size": Key(1000, "training strings per epoch (n drawn uniformly every batch)", min=1,
                      max=1e9),
}


def check(cfg):
    t, rows = cfg["task"], cfg["train"]["batch_size"]
    if not t["n_min"] <= t["n_max"] <= t["n_test_max"]:
        return ("task.n_max", f"expected n_min <= n_max <= n_test_max, got {t['n_min']}, "
                f"{t['n_max']}, {t['n_test_max']}")
    if t["train_size"] < rows:
        return ("train.batch_size", f"{rows} strings per batch does not fit task.train_size "
                f"{t['train_size']}")
    return None


def strings(ns, n_min, length):
    """Inputs S aⁿ bⁿ padded with T to `length`, the legal-next-symbol labels, and the mask."""
    count = len(ns)
    x = np.full((count, length), T, dtype=np.int64)
    y = np.zeros((count, length, 3))
    mask = np.zeros((count, length))
    for i, n in enumerate(ns):
        x[i, 0], x[i, 1:n + 1], x[i, n + 1:2 * n + 1] = S, A, B
        y[i, 0, 0] = 1                                  # after S: a
        for k in range(1, n + 1):                       # after the k-th a: a, and b once k >= n_min
            y[i, k, 0] = 1
            y[i, k, 1] = k >= n_min
        y[i, n + 1:2 * n, 1] = 1                        # after a b that is not the n-th: b
        y[i, 2 * n, 2] = 1                              # after the n-th b: T
        mask[i, :2 * n + 1] = 1
    return Batch(x, y, mask, mask)


def make(cfg, rng):
    n_min, n_max, n_test = cfg["n_min"], cfg["n_max"], cfg["n_test_max"]
    train_len, val_len = 2 * n_max + 1, 2 * n_test + 1
    val = strings(range(n_min, n_max + 1), n_min, val_len)
    extra = {"long": strings(range(n_max + 1, n_test + 1), n_min, val_len)} if n_test > n_max else {}
    # it never predicts the closing T (a b is followed by another b more often than by T), so
    # it gets no string right
    p = memoryless_probabilities(val, 4)
    loss, acc = memoryless_scores(p, val)
    baseline = {"train_loss": loss, "val_loss": loss, "val_string_accuracy": acc}
    if extra:
        baseline["val_long_string_accuracy"] = memoryless_scores(p, extra["long"])[1]
    return EpisodeTask(
        "anbn", "multilabel", METRIC, input_tokens=True, input_dim=4, output_dim=3,
        length=train_len, train_size=cfg["train_size"],
        sample=lambda r, n: strings(r.integers(n_min, n_max + 1, n), n_min, train_len),
        val=val, extra_val=extra, baseline=baseline,
        baseline_name="legal-symbol frequencies given the current symbol (no counting)")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode, the widest input or output): for the
    memory check before a run starts.
    The validation strings: one per n up to n_test_max, each 2 n_test_max + 1 steps."""
    val_len = 2 * cfg["n_test_max"] + 1
    return 10 * cfg["n_test_max"] * val_len, 2 * cfg["n_max"] + 1, 4
