"""Property-based: the windows of an epoch cover the stream exactly. For any stream length, batch
size and truncation length, the rows are consecutive slices of the stream, together all of it but a
tail shorter than the batch size; an epoch's windows read each row in order, every step of it once,
leaving a remainder shorter than one window; only the first window resets the state."""
from types import SimpleNamespace

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rnn_trainer_datasets.base import steps_per_epoch
from trainer.training.batching import EpisodeBatches, StreamBatches, stream_rows, window


@settings(max_examples=200, deadline=None)
@given(L=st.integers(1, 400), B=st.integers(1, 40), bptt=st.integers(1, 60),
       features=st.sampled_from([(), (1,), (3,)]))
def test_an_epochs_windows_cover_the_stream_exactly(L, B, bptt, features):
    assume(B <= L)
    stream = np.arange(L * int(np.prod(features, dtype=int))).reshape(L, *features)
    index = np.arange(L)                             # which stream step each entry is
    rows = stream_rows(stream, B)
    jump = L // B
    assert rows.shape == (B, jump, *features)
    assert np.shares_memory(rows, stream) or rows.size == 0          # a view, no copy
    rows_at = stream_rows(index, B)
    for i in range(B):                               # row i is the i-th consecutive slice
        assert np.array_equal(rows_at[i], np.arange(i * jump, (i + 1) * jump))
    assert 0 <= L - B * jump < B                     # the dropped tail fills no row

    k_max = steps_per_epoch(B, bptt, length=L)
    read = np.concatenate([window(rows_at, k, bptt) for k in range(k_max)], axis=1) \
        if k_max else rows_at[:, :0]
    assert read.shape == (B, k_max * bptt)           # every window is a full bptt steps
    assert np.array_equal(read, rows_at[:, :k_max * bptt])   # in order, each step once
    assert 0 <= jump - k_max * bptt < bptt           # what no window reads is less than one
    for k in range(k_max):
        assert np.array_equal(window(rows, k, bptt), rows[:, k * bptt:(k + 1) * bptt])

    task = SimpleNamespace(train_x=stream, train_y=stream + 1)
    batches = StreamBatches(task, B, bptt)
    assert batches.per_epoch == k_max
    for k in range(k_max):
        w = batches.get(k, None)
        assert np.array_equal(w.x, window(rows, k, bptt)) and np.array_equal(w.y, w.x + 1)
        assert w.reset == (k == 0) and w.mask is None and w.score_mask is None


@settings(max_examples=50, deadline=None)
@given(train_size=st.integers(1, 500), batch_size=st.integers(1, 64))
def test_episode_batches_are_train_size_over_batch_size_fresh_batches(train_size, batch_size):
    drawn = []

    def sample(rng, n):
        drawn.append(n)
        return SimpleNamespace(x=np.zeros((n, 2, 1)), y=np.zeros((n, 2, 1)), mask=None, score_mask=None)

    task = SimpleNamespace(train_size=train_size, sample=sample)
    batches = EpisodeBatches(task, batch_size)
    assert batches.per_epoch == train_size // batch_size
    for k in range(min(batches.per_epoch, 5)):
        assert batches.get(k, None).reset
    assert drawn == [batch_size] * min(batches.per_epoch, 5)
