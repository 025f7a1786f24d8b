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


def memoryless_probabilities(batch, symbols):
    """How often each label is legal, given only the current input token: (symbols, labels).
    The trivial baseline of a multilabel next-symbol task (aⁿbⁿ, Reber): no memory at all."""
    m = batch.mask > 0
    x, y = batch.x[m], batch.y[m]
    return np.stack([y[x == s].mean(axis=0) if (x == s).any() else np.zeros(y.shape[-1])
                     for s in range(symbols)])


def memoryless_scores(p, batch):
    """Binary cross-entropy and string accuracy of predicting p[current token] at every step."""
    probs = np.clip(p[batch.x], 1e-7, 1 - 1e-7)           # (N, T, labels)
    m = batch.mask
    bce = -(batch.y * np.log(probs) + (1 - batch.y) * np.log(1 - probs)).mean(axis=2)
    loss = float((bce * m).sum() / m.sum())
    return loss, float(np.mean(sequences_right(probs > 0.5, batch.y, m)))


def steps_per_epoch(batch_size, bptt, length=None, train_size=None):
    """Updates in one epoch: train_size episodes in batches of batch_size, or the bptt-step
    windows of a training stream of `length` steps split into batch_size rows (the tail that
    fills no row, and the end of a row too short for a window, are not read). The one rule of
    an epoch's length: config checks, batching and plots read it from here."""
    if train_size is not None:
        return train_size // batch_size
    return (length // batch_size) // bptt


def stream_check(cfg):
    """A stream task's training data must hold at least one window in every row."""
    length, rows, bptt = cfg["task"]["length"], cfg["train"]["batch_size"], cfg["train"]["bptt"]
    if steps_per_epoch(rows, bptt, length=length) < 1:
        return ("train.bptt", f"{bptt} steps per window does not fit the data: task.length {length} "
                f"split into train.batch_size {rows} rows gives {length // rows} steps per row")
    return None


def episode_check(cfg):
    """An epoch of episodes must hold at least one batch."""
    size, rows = cfg["task"]["train_size"], cfg["train"]["batch_size"]
    if steps_per_epoch(rows, None, train_size=size) < 1:
        return ("train.batch_size", f"{rows} episodes per batch does not fit task.train_size {size}")
    return None


KINDS = {"regression", "classification", "multilabel"}


def check_task(task, metric):
    """What is wrong with a task as made, as (field, problem), or None when it is fit to train.

    A plug-in task's `make` is held to the same interface as the built-in ones: a StreamTask
    or an EpisodeTask whose arrays have the shapes, dtypes and ranges its kind and sizes say,
    finite values, and a baseline with the figures the summary compares (train_loss, val_loss,
    val_<metric>). `metric` is the task module's METRIC."""
    if not isinstance(task, (StreamTask, EpisodeTask)):
        return "make", (f"returned {type(task).__name__}, expected a datasets.base.StreamTask or "
                        "EpisodeTask")
    if task.kind not in KINDS or (task.kind == "multilabel" and not task.episodes):
        allowed = "regression, classification" + (", multilabel" if task.episodes else "")
        return "kind", f"{task.kind!r}, expected one of {allowed}"
    if task.metric != metric:
        return "metric", f"{task.metric!r}, but the module's METRIC is {metric!r}"
    for name in ("input_dim", "output_dim") + (("length", "train_size") if task.episodes else ()):
        value = getattr(task, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            return name, f"{value!r}, expected an integer >= 1"
    if not isinstance(task.baseline, dict):
        return "baseline", f"a {type(task.baseline).__name__}, expected a dict of figures"
    for key in ("train_loss", "val_loss", f"val_{metric}"):
        value = task.baseline.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
                not np.isfinite(value):
            return f"baseline[{key!r}]", ("missing" if value is None else
                                          f"{value!r}, expected a finite number")
    if not isinstance(task.baseline_name, str):
        return "baseline_name", f"{task.baseline_name!r}, expected a string"
    if task.episodes:
        return _check_episodes(task)
    tokens = task.input_tokens
    for part in ("train", "val"):
        x, y = getattr(task, f"{part}_x"), getattr(task, f"{part}_y")
        problem = (_check_ids(f"{part}_x", x, 1, task.input_dim) if tokens else
                   _check_values(f"{part}_x", x, 2, task.input_dim))
        problem = problem or (_check_ids(f"{part}_y", y, 1, task.output_dim) if tokens else
                              _check_values(f"{part}_y", y, 2, task.output_dim))
        if problem:
            return problem
        if len(x) != len(y) or len(x) < 2:
            return f"{part}_y", (f"{len(y)} steps beside {len(x)} in {part}_x, expected equal "
                                 "lengths of at least 2")
    return None


def _check_episodes(task):
    """The validation set, every extra set and a small fresh sample, batch by batch."""
    sets = [("val", task.val)] + [(f"extra_val[{k!r}]", b) for k, b in task.extra_val.items()]
    try:
        sample = task.sample(np.random.default_rng(0), 2)
    except Exception as e:  # the caller names the module's file and line
        raise SampleError(e) from e
    for name, batch in sets + [("sample(rng, 2)", sample)]:
        problem = _check_batch(name, batch, task, task.length if batch is sample else None)
        if problem:
            return problem
    if len(sample.x) != 2:
        return "sample(rng, 2)", f"returned {len(sample.x)} episodes, expected 2"
    return None


class SampleError(Exception):
    """A task's sample(rng, n) raised while it was being checked (the cause is the error)."""


def _check_batch(name, batch, task, length):
    if not isinstance(batch, Batch):
        return name, f"a {type(batch).__name__}, expected a datasets.base.Batch"
    tokens, labels = task.input_tokens, task.kind == "classification"
    problem = (_check_ids(f"{name}.x", batch.x, 2, task.input_dim) if tokens else
               _check_values(f"{name}.x", batch.x, 3, task.input_dim))
    problem = problem or (_check_ids(f"{name}.y", batch.y, 2, task.output_dim) if labels else
                          _check_values(f"{name}.y", batch.y, 3, task.output_dim))
    if problem:
        return problem
    N, T = np.shape(batch.x)[:2]
    if N < 1 or (length is not None and T != length):
        return f"{name}.x", (f"shape {np.shape(batch.x)}, expected at least one episode"
                             + (f" of {length} steps (the task's length)" if length else ""))
    if np.shape(batch.y)[:2] != (N, T):
        return f"{name}.y", f"shape {np.shape(batch.y)} beside x of shape {np.shape(batch.x)}"
    for field_name in ("mask", "score_mask"):
        m = getattr(batch, field_name)
        if _not_array(f"{name}.{field_name}", m):
            return _not_array(f"{name}.{field_name}", m)
        if np.shape(m) != (N, T):
            return f"{name}.{field_name}", f"shape {np.shape(m)}, expected ({N}, {T})"
        m = np.asarray(m)
        if m.dtype.kind not in "biuf" or not np.isfinite(m).all() or (m < 0).any():
            return f"{name}.{field_name}", "expected finite weights >= 0"
    if not np.asarray(batch.mask).any():
        return f"{name}.mask", "scores no step at all (all zeros)"
    return None


# the largest value a task may hand over: its square must stay finite in float32 (the MSE of
# a float32 model squares it; task.noise is bounded for the same reason)
VALUE_LIMIT = float(np.sqrt(np.finfo(np.float32).max))


def _not_array(name, a):
    if not isinstance(a, np.ndarray):
        return name, f"a {type(a).__name__}, expected a numpy array"
    return None


def _check_ids(name, a, ndim, size):
    if _not_array(name, a):
        return _not_array(name, a)
    if a.ndim != ndim or a.dtype.kind not in "iu":
        return name, (f"shape {a.shape} of {a.dtype}, expected integer token ids of "
                      f"{ndim} dimension{'s' if ndim > 1 else ''}")
    if a.size and (a.min() < 0 or a.max() >= size):
        return name, f"ids from {a.min()} to {a.max()}, expected 0 to {size - 1} (the vocabulary)"
    return None


def _check_values(name, a, ndim, width):
    if _not_array(name, a):
        return _not_array(name, a)
    if a.ndim != ndim or a.dtype.kind not in "iuf":
        return name, f"shape {a.shape} of {a.dtype}, expected real values of {ndim} dimensions"
    if a.shape[-1] != width:
        return name, f"shape {a.shape}, expected {width} values a step (the task's dimension)"
    if not np.isfinite(a).all():
        return name, "holds non-finite values (NaN or infinity)"
    if a.size and np.abs(a).max() > VALUE_LIMIT:
        return name, (f"holds values up to {float(np.abs(a).max()):.3g}, beyond {VALUE_LIMIT:.2g} "
                      "(their squares overflow float32); scale the data down")
    return None
