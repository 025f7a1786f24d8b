"""Stateful truncated-BPTT batching: a stream cut into rows, read window by window."""


def stream_rows(stream, batch_size):
    """Split a stream (L, ...) into batch_size rows (B, L // B, ...) at evenly spaced offsets.

    Row i starts at i * jump with jump = L // B (the textbook's `jump`); the tail
    that does not fill a row is dropped. A view, no copy.
    """
    jump = len(stream) // batch_size
    return stream[: batch_size * jump].reshape(batch_size, jump, *stream.shape[1:])


def n_windows(stream_len, batch_size, bptt):
    """How many bptt-step windows each row holds (one epoch's steps)."""
    return (stream_len // batch_size) // bptt


def window(rows, k, bptt):
    """The k-th window of every row: rows[:, k*bptt:(k+1)*bptt], in order, never shuffled."""
    return rows[:, k * bptt:(k + 1) * bptt]
