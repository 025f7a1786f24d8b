"""What a checkpoint holds and how it is put back: plain arrays and JSON text, no pickle."""
import dataclasses
import json

import numpy as np

from trainer.errors import CheckpointError
from trainer.loop import Position

FORMAT = 1


def pack(model, optimizer, rng, pos, metrics_rows):
    """The training state as {name: array}: parameters, optimizer state, the RNG's state,
    the carried hidden state, the position in the data and the metrics.csv row count."""
    out = {f"param_{i}": p for i, p in enumerate(model.params)}
    out.update({f"optim_{k}": np.asarray(v) for k, v in optimizer.state().items()})
    out["rng_state"] = np.array(json.dumps(rng.bit_generator.state))
    for name in _carried(model.rnn):  # h, and c for the LSTM
        value = getattr(model.rnn, name)
        out[f"rnn_{name}"] = np.zeros((0, 0)) if value is None else value
    state = {"format": FORMAT, "metrics_rows": metrics_rows, "position": dataclasses.asdict(pos)}
    out["state"] = np.array(json.dumps(state))
    return out


def load_params(model, arrays, where="checkpoint"):
    """Copy the checkpoint's parameters into the model, checking count and shapes fit."""
    names = sorted((k for k in arrays if k.startswith("param_")), key=lambda k: int(k[6:]))
    if len(names) != len(model.params):
        raise CheckpointError(f"{where}: holds {len(names)} parameter arrays, "
                              f"the config's model has {len(model.params)}")
    for i, (name, p) in enumerate(zip(names, model.params)):
        a = arrays[name]
        if a.shape != p.shape:
            raise CheckpointError(f"{where}: parameter {i} has shape {a.shape}, "
                                  f"the config's model expects {p.shape}")
        p[...] = a


def unpack(arrays, model, optimizer, rng, where="checkpoint"):
    """Restore everything `pack` saved; returns (Position, metrics.csv rows at that point)."""
    try:
        state = json.loads(str(arrays["state"]))
        load_params(model, arrays, where)
        optimizer.load_state({k[6:]: v for k, v in arrays.items() if k.startswith("optim_")})
        rng.bit_generator.state = json.loads(str(arrays["rng_state"]))
        carried = [arrays[f"rnn_{name}"] for name in _carried(model.rnn)]
        pos = Position(**state["position"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: not a checkpoint of this trainer ({type(e).__name__}: {e})") \
            from None
    H = model.rnn.params[1].shape[0]
    for a in carried:
        if a.size and a.shape[1:] != (H,):
            raise CheckpointError(f"{where}: carried state has shape {a.shape}, "
                                  f"the config's model has {H} hidden units")
    if carried[0].size:
        model.rnn.set_state(*carried)
    else:
        model.rnn.reset_state()
    return pos, int(state["metrics_rows"])


def _carried(rnn):
    """The names of the state a recurrent layer carries between windows: h, and c if it has one."""
    return ("h", "c") if hasattr(rnn, "c") else ("h",)
