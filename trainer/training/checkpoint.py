"""What a checkpoint holds and how it is put back: plain arrays and JSON text, no pickle.

Arrays are named by layer and parameter: `embed.W` (token tasks), `rnn.Wx`,
`rnn.Wh`, `rnn.b`, `head.W`, `head.b`; the optimizer's state under its
parameter's name (`optim.m.rnn.Wx`, `optim.v.head.b`, and `optim.t`); each random
stream's state as JSON text (`stream.data`, `stream.init`, `stream.batches`); the
carried state (`carried.h`, and `carried.c` for the LSTM); and `state`, JSON with
the position in the data (schedule, best and early-stop counters included) and
the metrics.csv row count, and the resolved config (without train.epochs) with
its sha256 digest, so a resume under a changed config.toml is refused. `read`
checks a checkpoint field by field (checkpoint_check) before anything uses it, then
`upgrade` turns an older format into the current one: every older-format case is there.
Format 1 (unnamed `param_0`... arrays, one generator) is read for its parameters, but not
resumed.
"""
import copy
import dataclasses
import json
import re

import numpy as np

from trainer.rundir import checkpoint_check as check
from trainer.errors import CheckpointError
from trainer.layers import TimeEmbedding, carried_state, param_names as layer_param_names, state_names
from trainer.training.loop import Position

FORMAT = 2
# the names under which a checkpoint stores Position's fields, where they differ from the fields'
POSITION_KEYS = {"unlogged_sums": "sums", "unlogged_steps": "since",
                 "epochs_without_improvement": "stale"}
_FIELDS = {stored: name for name, stored in POSITION_KEYS.items()}
_INDEXED = re.compile(r"([A-Za-z]+)(\d+)$")                  # an optimizer's per-parameter state


def param_names(model):
    """The checkpoint name of each of model.params, in order: layer.parameter."""
    out = []
    for layer in model.layers:
        prefix = "rnn" if layer is model.rnn else "embed" if isinstance(layer, TimeEmbedding) else "head"
        out.extend(f"{prefix}.{name}" for name in layer_param_names(layer))
    return out


def hidden_size(model):
    """H: the rows of the head's weight, whatever the cell names or orders its parameters."""
    return model.layers[-1].params[0].shape[0]


def pack(model, optimizer, streams, pos, metrics_rows, cfg=None):
    """The training state as {name: array}: parameters, optimizer state, every random stream's
    state, the carried hidden state, the position in the data, the metrics.csv row count and
    (given `cfg`) the config and its digest."""
    names = param_names(model)
    if len(set(names)) != len(names):   # preflight refuses such a cell; never lose an array
        raise ValueError(f"parameter names repeat: {names}")
    out = dict(zip(names, model.params))
    for key, value in optimizer.state().items():
        m = _INDEXED.fullmatch(key)
        out[f"optim.{m[1]}.{names[int(m[2])]}" if m else f"optim.{key}"] = np.asarray(value)
    for name, rng in streams.items():
        out[f"stream.{name}"] = np.array(json.dumps(rng.bit_generator.state))
    for name, value in zip(state_names(model.rnn), carried_state(model.rnn)):  # h, and c (LSTM)
        out[f"carried.{name}"] = np.zeros((0, 0)) if value is None else value
    position = {POSITION_KEYS.get(k, k): v for k, v in dataclasses.asdict(pos).items()}
    state = {"format": FORMAT, "metrics_rows": metrics_rows, "position": position}
    if cfg is not None:
        state["config"], state["config_digest"] = check.config_digest(cfg)
    out["state"] = np.array(json.dumps(state))
    return out


def read(path, parts, resuming=False, accept_plugins=False):
    """The arrays of the checkpoint at `path` for `parts` (a run.RunParts), checked field by
    field against what a checkpoint of its config holds: names, dtypes and shapes from the .npy
    headers before anything is allocated, then the values, the state and its position; when
    `resuming`, also the config digest and the format (with `accept_plugins`, plug-ins'
    sources may differ from the recorded digests: train resume --accept-changed-plugin).
    An older format comes back upgraded (see `upgrade`). Raises CheckpointError."""
    where = str(path)
    model = parts.model
    optimizer = copy.deepcopy(parts.optimizer)   # what one update makes of its state
    optimizer.update([p.copy() for p in model.params], [np.zeros_like(p) for p in model.params])
    expected = pack(model, optimizer, parts.streams, Position(), 0)

    def first(arrays):   # refused early: a changed config names its keys, not a shape
        state = check.check_state(arrays, where)
        if resuming:
            _check_format(state, where)
            check.check_config(state, parts.cfg, where, accept_plugins)

    hidden = parts.cfg["model"]["hidden"], np.dtype(parts.cfg["model"]["dtype"])
    arrays = check.read(path, expected, parts.cfg["train"]["batch_size"], where, first, hidden)
    state = check.check_state(arrays, where) if "state" in arrays else None
    arrays, state = upgrade(arrays, state, param_names(model), where)
    if resuming:
        _check_format(state, where)
    if state["format"] == FORMAT:
        stored = [POSITION_KEYS.get(f.name, f.name) for f in dataclasses.fields(Position)]
        check.check_position(state.get("position"), stored, parts.trainer.batches.per_epoch,
                             where)
        for name in parts.streams:
            check.check_stream(np.random.default_rng(), arrays, name, where)
    return arrays


def upgrade(arrays, state, names, where="checkpoint"):
    """A checkpoint of an older format as the current format has it: (arrays, state), with
    arrays["state"] the upgraded state's JSON. Each older format's difference is one step here,
    applied where a checkpoint is read (`read`). `state`: the checkpoint's JSON state, None when
    it has none; names: the model's parameter names in order."""
    arrays = dict(arrays)
    if state is None:   # format 1 at first: no state array at all
        state = {"format": 1}
    if state.get("format") == 1 and "param_0" in arrays and names[0] not in arrays:
        # format 1: the parameters are param_0, param_1, ... in the model's order
        old = sorted((k for k in arrays if k.startswith("param_")), key=lambda k: int(k[6:]))
        if len(old) != len(names):
            raise CheckpointError(f"{where}: holds {len(old)} parameter arrays (old unnamed "
                                  f"format), the config's model has {len(names)}")
        arrays.update(zip(names, (arrays.pop(k) for k in old)))
    position = state.get("position")
    if isinstance(position, dict) and "target" not in position:
        # written before train.target existed: no target was reached
        state = {**state, "position": {**position, "target": None}}
    arrays["state"] = np.array(json.dumps(state))
    return arrays, state


def _check_format(state, where):
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{where}: written by an older version of the trainer (checkpoint "
                              f"format {state.get('format')}, unnamed arrays and one random "
                              "stream): its weights load for eval and plot, but it cannot be "
                              "resumed; train the config again")


def load_params(model, arrays, where="checkpoint"):
    """Copy the checkpoint's parameters (as `read` returns them) into the model, checking
    names and shapes fit."""
    names = param_names(model)
    missing = [n for n in names if n not in arrays]
    if missing:
        raise CheckpointError(f"{where}: has no {', '.join(missing)}: not a checkpoint of the "
                              "config's model")
    for name, p in zip(names, model.params):
        a = arrays[name]
        if a.shape != p.shape:
            raise CheckpointError(f"{where}: {name} has shape {a.shape}, "
                                  f"the config's model expects {p.shape}")
    for name, p in zip(names, model.params):
        p[...] = arrays[name]


def unpack(arrays, model, optimizer, streams, where="checkpoint"):
    """Restore everything `pack` saved; returns (Position, metrics.csv rows at that point).
    The arrays should come from `read`, which checks them."""
    try:
        state = json.loads(str(arrays["state"]))
        _check_format(state, where)
        load_params(model, arrays, where)
        names = param_names(model)
        opt = {}
        for key, value in arrays.items():
            if key.startswith("optim."):
                kind, _, param = key[6:].partition(".")
                opt[f"{kind}{names.index(param)}" if param else kind] = value
        optimizer.load_state(opt)
        for name, rng in streams.items():
            rng.bit_generator.state = json.loads(str(arrays[f"stream.{name}"]))
        carried = [arrays[f"carried.{name}"] for name in state_names(model.rnn)]
        pos = Position(**{_FIELDS.get(k, k): v for k, v in state["position"].items()})
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: not a checkpoint of this trainer ({type(e).__name__}: {e})") \
            from None
    H = hidden_size(model)
    for a in carried:
        if a.size and a.shape[1:] != (H,):
            raise CheckpointError(f"{where}: carried state has shape {a.shape}, "
                                  f"the config's model has {H} hidden units")
    if carried[0].size:
        model.rnn.set_state(*carried)
    else:
        model.rnn.reset_state()
    return pos, int(state["metrics_rows"])

