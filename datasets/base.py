"""The task interface: what a task hands to the trainer (one long stream, or independent
episodes) and the type of its config keys. Imports nothing of the trainer."""
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np


@dataclass(frozen=True)
class Key:
    """One config key. The default's type is the key's type; int keys refuse floats and bools."""

    default: object
    help: str
    min: float | None = None
    max: float | None = None
    above: float | None = None     # strict lower bound
    choices: tuple | None = None
    below: float | None = None     # strict upper bound

    def check(self, value):
        """Return None if value is in range, else what was expected, as a phrase."""
        if self.choices is not None and value not in self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if (self.above is not None and not value > self.above) or \
                (self.below is not None and not value < self.below):
            return "a number " + " and ".join(self._strict())
        if self.min is not None and value < self.min:
            return f"a number >= {self.min:g}" + (f" and <= {self.max:g}" if self.max is not None else "")
        if self.max is not None and value > self.max:
            return f"a number <= {self.max:g}"
        return None

    def describe_range(self):
        """The allowed values, for the README's config table and --help."""
        if self.choices is not None:
            return ", ".join(str(c) for c in self.choices)
        parts = self._strict()
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return ", ".join(parts) or "any"

    def _strict(self):
        return ([f"> {self.above:g}"] if self.above is not None else []) + \
            ([f"< {self.below:g}"] if self.below is not None else [])


@dataclass(frozen=True)
class StreamTask:
    """A task's train and validation streams, what is scored on them and its trivial baseline.

    Streams are aligned in time: x[t] is the input at step t and y[t] the target
    for it. Token tasks hold integer ids of shape (L,); value tasks hold floats
    of shape (L, D) and (L, O). The validation stream continues the training one.
    Training reads the stream in windows with the hidden state carried across.
    """

    name: str
    kind: str            # "regression" (MSE loss) or "classification" (softmax cross-entropy)
    metric: str          # "mse" or "accuracy": the column name and summary key val_<metric>
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    input_dim: int       # D for values, the vocabulary size for tokens
    output_dim: int      # O for values, the vocabulary size for tokens
    baseline: dict       # train_loss, val_loss, val_<metric> of the trivial predictor
    baseline_name: str   # what the trivial predictor is, for plots and messages

    episodes = False

    @property
    def input_tokens(self):
        return self.kind == "classification"


class Batch(NamedTuple):
    """A batch of episodes: inputs, targets, which steps the loss counts, which the metric counts.

    x: (N, T) token ids or (N, T, D) values; y: (N, T) class ids, (N, T, O)
    values or (N, T, O) 0/1 labels; mask, score_mask: (N, T) 0/1 floats.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    score_mask: np.ndarray


@dataclass(frozen=True)
class EpisodeTask:
    """Independent fixed-length sequences: fresh training batches from the run's generator,
    a fixed validation set, the state reset for every batch, loss only on masked steps.

    `extra_val` holds further fixed sets scored beside the validation set (for
    example strings longer than any seen in training); their figures go to the
    summary as val_<set>_<metric>.
    """

    name: str
    kind: str                 # "regression", "classification" or "multilabel" (sigmoid outputs)
    metric: str               # "mse", "accuracy" (over score_mask) or "string_accuracy"
    input_tokens: bool
    input_dim: int
    output_dim: int
    length: int               # time steps per episode
    train_size: int           # episodes per epoch
    sample: Callable          # sample(rng, n) -> Batch of n fresh training episodes
    val: Batch
    baseline: dict
    baseline_name: str
    extra_val: dict = field(default_factory=dict)

    episodes = True


def sequences_right(predicted, y, mask=None):
    """(N,) bools: the multilabel sequences whose every scored step has every label right.

    predicted: (N, T, O) bools (outputs thresholded, e.g. logits > 0); y: (N, T, O) 0/1
    labels; mask: (N, T), the steps that count (all when None). The one definition of a
    whole string right (anbn's string_accuracy), for the model's score, the task's
    baseline and the plots."""
    wrong = (predicted != (y > 0.5)).any(axis=2)
    if mask is not None:
        wrong &= mask > 0
    return ~wrong.any(axis=1)


def stream_check(cfg):
    """A stream task's training data must hold at least one window in every row."""
    length, rows, bptt = cfg["task"]["length"], cfg["train"]["batch_size"], cfg["train"]["bptt"]
    if length // rows < bptt:
        return ("train.bptt", f"{bptt} steps per window does not fit the data: task.length {length} "
                f"split into train.batch_size {rows} rows gives {length // rows} steps per row")
    return None


def episode_check(cfg):
    """An epoch of episodes must hold at least one batch."""
    size, rows = cfg["task"]["train_size"], cfg["train"]["batch_size"]
    if size < rows:
        return ("train.batch_size", f"{rows} episodes per batch does not fit task.train_size {size}")
    return None
