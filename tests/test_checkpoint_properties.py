"""Property-based: a checkpoint packs and unpacks to the same arrays. For any cell, size, optimizer
(after any number of updates), carried state (or none), stream positions and position in the data,
pack -> npz file -> unpack into a fresh setup of the same config -> pack again gives the same
names, dtypes and values; the position and the metrics row count come back equal, and every random
stream goes on with the same numbers."""
import dataclasses
import io
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.training import checkpoint
from trainer.config.load import from_dict
from trainer.training.loop import Position
from trainer.training.run import RunParts
from trainer.training.streams import STREAMS

finite = st.floats(-1e6, 1e6, allow_nan=False)
figures = st.none() | st.fixed_dictionaries({"val_loss": finite, "val_mse": finite})
positions = st.builds(
    Position, step=st.integers(0, 10**6), epoch=st.integers(0, 1000), window=st.integers(0, 50),
    elapsed_s=st.floats(0, 1e5), unlogged_sums=st.lists(finite, min_size=3, max_size=3),
    unlogged_steps=st.integers(0, 100), epoch_losses=st.lists(finite, max_size=5),
    last_train_loss=st.just(float("nan")) | finite, val=figures, best=figures,
    epochs_without_improvement=st.integers(0, 10),
    schedule=st.fixed_dictionaries({"reductions": st.integers(0, 5), "waited": st.integers(0, 5)}),
    stopped_early=st.booleans())


def _setup(cell, hidden, optim, batch_size):
    return RunParts(from_dict({"task": {"name": "sine", "length": 200, "val_length": 50},
                            "model": {"cell": cell, "hidden": hidden}, "optim": {"name": optim},
                            "train": {"epochs": 1, "batch_size": batch_size, "bptt": 5, "seed": 1}}))


@settings(max_examples=25, deadline=None)
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), hidden=st.integers(1, 6),
       optim=st.sampled_from(["sgd", "momentum", "adam", "rmsprop"]), updates=st.integers(0, 3),
       batch_size=st.integers(1, 4), carried=st.booleans(), draws=st.lists(st.integers(0, 9),
       min_size=len(STREAMS), max_size=len(STREAMS)), pos=positions, rows=st.integers(0, 10**6),
       seed=st.integers(0, 2**32 - 1))
def test_a_checkpoint_packs_and_unpacks_to_the_same_arrays(cell, hidden, optim, updates, batch_size,
                                                           carried, draws, pos, rows, seed):
    rng = np.random.default_rng(seed)
    s = _setup(cell, hidden, optim, batch_size)
    for p in s.model.params:
        p[...] = rng.standard_normal(p.shape)
    for _ in range(updates):
        s.optimizer.update(s.model.params, [rng.standard_normal(p.shape).astype(p.dtype)
                                            for p in s.model.params])
    if carried:
        state = [rng.standard_normal((batch_size, hidden)) for _ in checkpoint.state_names(s.model.rnn)]
        s.model.rnn.set_state(*state)
    for n, stream in zip(draws, s.streams.values()):
        stream.random(n)
    packed = checkpoint.pack(s.model, s.optimizer, s.streams, pos, rows)

    buf = io.BytesIO()
    np.savez(buf, **packed)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    t = _setup(cell, hidden, optim, batch_size)
    got_pos, got_rows = checkpoint.unpack(arrays, t.model, t.optimizer, t.streams)

    assert got_rows == rows
    assert json.dumps(dataclasses.asdict(got_pos)) == json.dumps(dataclasses.asdict(pos))
    again = checkpoint.pack(t.model, t.optimizer, t.streams, got_pos, got_rows)
    assert again.keys() == packed.keys()
    for name, a in packed.items():
        b = again[name]
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    if not carried:
        assert all(v is None for v in checkpoint.carried_state(t.model.rnn))
    for name in STREAMS:
        assert np.array_equal(t.streams[name].random(3), s.streams[name].random(3)), name
