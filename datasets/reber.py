"""The embedded Reber grammar (Cleeremans, Servan-Schreiber & McClelland 1989; Hochreiter &
Schmidhuber 1997, experiment 1): read a string and predict, at every step, the set of legal
next symbols; a string is right only if every step's set is, like aⁿbⁿ.

An embedded string is B, T or P, a Reber string, the same T or P again, and E: the repeated
letter is the long-range dependency (the inner string is 5 or more symbols long). Tokens: 0 B,
1 T, 2 P, 3 S, 4 X, 5 V, 6 E, 7 padding after the last E. Output labels (sigmoid each): the
seven symbols. Every branch of the grammar is taken with probability 1/2; strings longer than
`max_length` are drawn again.
"""
import numpy as np

from .base import (Batch, EpisodeTask, Key, memoryless_probabilities, memoryless_scores)

METRIC = "string_accuracy"
SYMBOLS = "BTPSXVE"
B, T, P, S, X, V, E, PAD = range(8)
# the Reber graph: state -> ((symbol, next state), ...); state 6 emits the final E
GRAPH = {0: ((B, 1),), 1: ((T, 2), (P, 3)), 2: ((S, 2), (X, 4)), 3: ((T, 3), (V, 5)),
         4: ((X, 3), (S, 6)), 5: ((P, 4), (V, 6)), 6: ((E, None),)}
KEYS = {
    "max_length": Key(30, "the longest embedded string (longer draws are drawn again); at least "
                      "9, the shortest", min=9, max=1e5),
    "train_size": Key(2000, "training strings per epoch (drawn fresh every batch)", min=1,
                      max=1e9),
    "val_size": Key(256, "strings in the fixed validation set (the paper's 256 test strings)",
                    min=1, max=1e7),
}


def check(cfg):
    if cfg["task"]["train_size"] < cfg["train"]["batch_size"]:
        return ("train.batch_size", f"{cfg['train']['batch_size']} strings per batch does not "
                f"fit task.train_size {cfg['task']['train_size']}")
    return None


def reber(rng):
    """One Reber string (B .. E) as a list of tokens."""
    out, state = [], 0
    while state is not None:
        edges = GRAPH[state]
        symbol, state = edges[rng.integers(len(edges))] if len(edges) > 1 else edges[0]
        out.append(symbol)
    return out


def legal_next(tokens):
    """For an embedded string, the set of legal next symbols after each of its tokens but the
    last: a (len - 1, 7) 0/1 array."""
    sets = np.zeros((len(tokens) - 1, 7))
    sets[0, [T, P]] = 1                          # after the outer B
    sets[1, B] = 1                               # after the outer T or P: the inner B
    state = 0
    for k, symbol in enumerate(tokens[2:-2], start=2):  # the inner string, B .. E
        state = dict(GRAPH[state])[symbol]
        if state is None:                        # after the inner E: the outer letter again
            sets[k, tokens[1]] = 1
        else:
            sets[k, [s for s, _ in GRAPH[state]]] = 1
    sets[-1, E] = 1                              # after the repeated letter: E
    return sets


def strings(rng, n, max_length):
    """n embedded strings padded to max_length, their legal-next-symbol labels and the mask
    (every step but the last E's)."""
    x = np.full((n, max_length), PAD, dtype=np.int64)
    y = np.zeros((n, max_length, 7))
    mask = np.zeros((n, max_length))
    for i in range(n):
        while True:
            outer = (T, P)[rng.integers(2)]
            tokens = [B, outer] + reber(rng) + [outer, E]
            if len(tokens) <= max_length:
                break
        x[i, :len(tokens)] = tokens
        y[i, :len(tokens) - 1] = legal_next(tokens)
        mask[i, :len(tokens) - 1] = 1
    return Batch(x, y, mask, mask)


def make(cfg, rng):
    max_length = cfg["max_length"]
    val = strings(rng, cfg["val_size"], max_length)
    loss, acc = memoryless_scores(memoryless_probabilities(val, 8), val)
    return EpisodeTask(
        "reber", "multilabel", METRIC, input_tokens=True, input_dim=8, output_dim=7,
        length=max_length, train_size=cfg["train_size"],
        sample=lambda r, n: strings(r, n, max_length), val=val,
        baseline={"train_loss": loss, "val_loss": loss, "val_string_accuracy": acc},
        baseline_name="legal-symbol frequencies given the current symbol (no memory)")


def footprint(cfg):
    """(floats the task's arrays hold, steps per episode, the widest input or output): for the
    memory check before a run starts."""
    return 10 * cfg["val_size"] * cfg["max_length"], cfg["max_length"], 8
