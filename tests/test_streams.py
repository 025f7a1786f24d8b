"""Independent random streams: a task key never changes the initial weights, a model key never
changes the data, and a checkpoint holds every stream's state."""
import io

import numpy as np
import pytest

from trainer.training import checkpoint
from trainer.config.load import from_dict
from trainer.training.loop import Position
from trainer.model.network import build_model
from trainer.training.preflight import make_checked_task
from trainer.training.run import RunParts
from trainer.training.streams import STREAMS

SINE = {"task": {"name": "sine", "length": 200, "val_length": 50},
        "model": {"hidden": 6}, "train": {"epochs": 1, "batch_size": 4, "bptt": 10, "seed": 3}}
ADDING = {"task": {"name": "adding", "length": 8, "train_size": 40, "val_size": 20},
          "model": {"hidden": 6}, "train": {"epochs": 1, "batch_size": 4, "seed": 3}}


def setup(base, **changes):
    return RunParts(from_dict(base).with_changes(changes))


def same_params(a, b):
    return len(a.model.params) == len(b.model.params) and \
        all(np.array_equal(p, q) for p, q in zip(a.model.params, b.model.params))


@pytest.mark.parametrize("base,changes", [
    (SINE, {"task.length": 400}), (SINE, {"task.noise": 0.1}), (SINE, {"task.period": 10.0}),
    (ADDING, {"task.length": 20}), (ADDING, {"task.train_size": 80}),
])
def test_a_task_key_never_changes_the_initial_weights(base, changes):
    a, b = setup(base), setup(base, **changes)
    assert same_params(a, b)
    assert not same_params(a, setup(base, **{"train.seed": 4}))   # the seed still does


@pytest.mark.parametrize("changes", [{"model.hidden": 9}, {"model.cell": "lstm"},
                                     {"model.init": "orthogonal"}])
def test_a_model_key_never_changes_the_data(changes):
    a, b = setup(SINE, **changes), setup(SINE)
    for name in ("train_x", "train_y", "val_x", "val_y"):
        assert np.array_equal(getattr(a.task, name), getattr(b.task, name))
    a, b = setup(ADDING, **changes), setup(ADDING)
    assert all(np.array_equal(x, y) for x, y in zip(a.task.val, b.task.val))
    # fresh training episodes come from the batch stream: the same batches too
    ba, bb = a.trainer.batches.get(0, a.streams["batches"]), b.trainer.batches.get(0, b.streams["batches"])
    assert np.array_equal(ba.x, bb.x) and np.array_equal(ba.y, bb.y)


@pytest.mark.parametrize("base", [SINE, ADDING], ids=["sine", "adding"])
def test_streams_are_independent_children_of_one_seed_sequence(base):
    """Each stream is the child of SeedSequence(train.seed) at its place in STREAMS, in the state
    its consumer left it: the data stream made exactly this task, the init stream exactly these
    weights (done again here from fresh children), and the others are untouched."""
    s = setup(base)
    cfg = from_dict(base)
    assert tuple(s.streams) == STREAMS == ("data", "init", "batches", "sample")
    children = np.random.SeedSequence(3).spawn(len(STREAMS))
    fresh = {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}
    task = make_checked_task(cfg, fresh["data"])           # what RunParts did with the data stream
    for name in ("train_x", "train_y", "val_x", "val_y"):
        if hasattr(s.task, name):
            assert np.array_equal(getattr(task, name), getattr(s.task, name)), name
    if hasattr(s.task, "val"):
        assert all(np.array_equal(a, b) for a, b in zip(task.val, s.task.val))
    model = build_model(cfg["model"], task, fresh["init"], cfg.cell, cfg["train"]["bptt"])
    assert len(model.params) == len(s.model.params)
    assert all(np.array_equal(p, q) for p, q in zip(model.params, s.model.params))
    # every stream, used or not, goes on exactly as its fresh twin: same child, same position
    for name in STREAMS:
        assert np.array_equal(fresh[name].random(5), s.streams[name].random(5)), name
    # and the children are distinct streams (no two consumers share draws)
    firsts = [np.random.default_rng(child).random() for child in children]
    assert len(set(firsts)) == len(STREAMS)


def test_a_checkpoint_holds_every_streams_state():
    s = setup(ADDING)
    for rng in s.streams.values():
        rng.random(7)     # move every stream on
    arrays = checkpoint.pack(s.model, s.optimizer, s.streams, Position(), 0)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    assert {f"stream.{n}" for n in STREAMS} <= set(arrays)
    t = setup(ADDING)
    checkpoint.unpack(arrays, t.model, t.optimizer, t.streams)
    for name in STREAMS:
        assert t.streams[name].random() == s.streams[name].random(), name
