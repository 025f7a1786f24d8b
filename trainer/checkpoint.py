"""What a checkpoint holds and how it is put back: plain arrays only, no pickle."""
import json

import numpy as np

from trainer.loop import Position

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that does not fit the run's config; str(error) is the one line to show."""


def pack(model, optimizer, rng, pos, metrics_rows):
    """The training state as {name: array}: parameters, optimizer state, RNG, carried state, position."""
    out = {f"param_{i}": p for i, p in enumerate(model.params)}
    out.update({f"optim_{k}": np.asarray(v) for k, v in optimizer.state().items()})
    out["rng_state"] = np.array(json.dumps(rng.bit_generator.state))
    h = model.rnn.h
    out["rnn_h"] = np.zeros((0, 0)) if h is None else h
    out["position"] = np.array([FORMAT, pos.step, pos.epoch, pos.window, metrics_rows], dtype=np.int64)
    out["elapsed_s"] = np.array(pos.elapsed_s)
    out["epoch_losses"] = np.array(pos.epoch_losses, dtype=np.float64)
    return out


def load_params(model, arrays, where="checkpoint"):
    """Copy the checkpoint's parameters into the model, checking count, shapes and dtypes fit."""
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
    """Restore everything `pack` saved; returns (Position, metrics rows written when it was saved)."""
    load_params(model, arrays, where)
    optimizer.load_state({k[6:]: v for k, v in arrays.items() if k.startswith("optim_")})
    rng.bit_generator.state = json.loads(str(arrays["rng_state"]))
    h = arrays["rnn_h"]
    if h.size:
        model.rnn.set_state(h)
    else:
        model.rnn.reset_state()
    _, step, epoch, window, rows = (int(v) for v in arrays["position"])
    pos = Position(step=step, epoch=epoch, window=window, elapsed_s=float(arrays["elapsed_s"]),
                   epoch_losses=list(arrays["epoch_losses"]))
    return pos, rows
