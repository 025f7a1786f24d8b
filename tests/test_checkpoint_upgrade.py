"""Checkpoint upgrades, one step per older format, all in checkpoint.upgrade (applied by read):
format 1's unnamed parameters, a position from before train.target; the current format passes
through unchanged, and Position's renamed fields keep their stored names."""
import json

import numpy as np
import pytest

from trainer.config.load import from_dict
from trainer.errors import CheckpointError
from trainer.training import checkpoint
from trainer.training.loop import Position
from trainer.training.run import RunParts


@pytest.fixture(scope="module")
def parts():
    return RunParts(from_dict({"task": {"name": "sine", "length": 200, "val_length": 50},
                               "model": {"hidden": 4},
                               "train": {"epochs": 1, "batch_size": 2, "bptt": 5}}))


def test_the_current_format_passes_through_unchanged(parts):
    packed = checkpoint.pack(parts.model, parts.optimizer, parts.streams, Position(step=3), 7,
                             parts.cfg)
    state = json.loads(str(packed["state"]))
    arrays, upgraded = checkpoint.upgrade(packed, state, checkpoint.param_names(parts.model))
    assert upgraded == state and arrays.keys() == packed.keys()
    for name, a in packed.items():
        assert np.array_equal(arrays[name], a), name


def test_format_1_without_state_gets_named_parameters_and_a_format(parts):
    names = checkpoint.param_names(parts.model)
    old = {f"param_{i}": p.copy() for i, p in enumerate(parts.model.params)}
    old["rng_state"] = np.zeros(3)   # what else it held is left as it was (never read)
    arrays, state = checkpoint.upgrade(old, None, names)
    assert state == {"format": 1} and json.loads(str(arrays["state"])) == state
    assert not any(k.startswith("param_") for k in arrays)
    for name, p in zip(names, parts.model.params):
        assert np.array_equal(arrays[name], p), name
    assert "param_0" in old   # the caller's arrays are not changed


def test_format_1_params_are_numbered_not_sorted_as_text(parts):
    names = [f"n{i}" for i in range(11)]
    old = {f"param_{i}": np.array([i]) for i in range(11)}
    arrays, _ = checkpoint.upgrade(old, {"format": 1}, names)
    assert [int(arrays[n][0]) for n in names] == list(range(11))


def test_format_1_with_another_parameter_count_is_refused(parts):
    old = {"param_0": np.zeros(2)}
    with pytest.raises(CheckpointError, match="holds 1 parameter arrays"):
        checkpoint.upgrade(old, None, checkpoint.param_names(parts.model), "ck.npz")


def test_a_position_from_before_train_target_has_no_target_reached(parts):
    packed = checkpoint.pack(parts.model, parts.optimizer, parts.streams, Position(), 0)
    state = json.loads(str(packed["state"]))
    del state["position"]["target"]
    arrays, upgraded = checkpoint.upgrade(packed, state, checkpoint.param_names(parts.model))
    assert upgraded["position"] == {**state["position"], "target": None}
    assert json.loads(str(arrays["state"])) == upgraded
    pos, rows = checkpoint.unpack(arrays, parts.model, parts.optimizer, parts.streams)
    assert pos.target is None and rows == 0


def test_renamed_position_fields_are_stored_under_their_first_names(parts):
    pos = Position(unlogged_sums=[1.0, 2.0, 3.0], unlogged_steps=4, epochs_without_improvement=2,
                   last_train_loss=0.5)
    packed = checkpoint.pack(parts.model, parts.optimizer, parts.streams, pos, 0)
    stored = json.loads(str(packed["state"]))["position"]
    assert stored["sums"] == [1.0, 2.0, 3.0] and stored["since"] == 4 and stored["stale"] == 2
    assert not set(stored) & {"unlogged_sums", "unlogged_steps", "epochs_without_improvement"}
    back, _ = checkpoint.unpack(packed, parts.model, parts.optimizer, parts.streams)
    assert back == pos
