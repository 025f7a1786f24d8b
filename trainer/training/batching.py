"""What each training step reads: windows of a stream (stateful truncated BPTT) or fresh episodes."""
from typing import NamedTuple

from rnn_trainer_datasets.base import steps_per_epoch


class Window(NamedTuple):
    """One step's batch: inputs, targets, the loss mask and the metric mask (None: every step),
    and whether the hidden state starts from zero."""

    x: object
    y: object
    mask: object
    score_mask: object
    reset: bool


def stream_rows(stream, batch_size):
    """Split a stream (L, ...) into batch_size rows (B, L // B, ...) at evenly spaced offsets.

    Row i starts at i * jump with jump = L // B (the textbook's `jump`); the tail
    that does not fill a row is dropped. A view, no copy.
    """
    jump = len(stream) // batch_size
    return stream[: batch_size * jump].reshape(batch_size, jump, *stream.shape[1:])


def window(rows, k, bptt):
    """The k-th window of every row: rows[:, k*bptt:(k+1)*bptt], in order, never shuffled."""
    return rows[:, k * bptt:(k + 1) * bptt]


class StreamBatches:
    """The k-th step of an epoch reads window k of every row; the state is carried from window
    to window and reset at the epoch's first one."""

    def __init__(self, task, batch_size, bptt):
        self.rows_x = stream_rows(task.train_x, batch_size)
        self.rows_y = stream_rows(task.train_y, batch_size)
        self.bptt = bptt
        self.per_epoch = steps_per_epoch(batch_size, bptt, length=len(task.train_x))

    def get(self, k, rng):
        return Window(window(self.rows_x, k, self.bptt), window(self.rows_y, k, self.bptt),
                      None, None, k == 0)


class EpisodeBatches:
    """Every step draws batch_size fresh episodes from the run's generator; the state starts
    from zero for each batch, and the whole episode is one window (full BPTT)."""

    def __init__(self, task, batch_size):
        self.task, self.batch_size = task, batch_size
        self.per_epoch = steps_per_epoch(batch_size, None, train_size=task.train_size)

    def get(self, k, rng):
        b = self.task.sample(rng, self.batch_size)
        return Window(b.x, b.y, b.mask, b.score_mask, True)


def batches_for(task, train_cfg):
    if task.episodes:
        return EpisodeBatches(task, train_cfg["batch_size"])
    return StreamBatches(task, train_cfg["batch_size"], train_cfg["bptt"])
