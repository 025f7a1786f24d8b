"""Checking a checkpoint field by field before it is used: one line naming the field on failure.

`read` looks at the .npy headers inside the .npz (names, dtypes, shapes, sizes)
and compares them with what a checkpoint of the config's model holds before any
array is allocated, then reads the arrays and checks their values. `check_state`
checks the JSON `state` (format, metrics.csv rows, the position in the data) and
`check_config` compares the config digest a checkpoint records with the run's
config.toml. All raise CheckpointError.
"""
import hashlib
import json
import math
import os
import stat
import zipfile

import numpy as np

from trainer.config.compare import differences, flat
from trainer.errors import CheckpointError

MAX_HEADER = 10000          # bytes of one .npy header (numpy's own default limit)
STRING_KINDS = ("stream.", "state")
_INT_FIELDS = ("step", "epoch", "window", "since", "stale")


def config_digest(cfg):
    """(canonical config, sha256 of it): the resolved config without train.epochs, which
    `train resume --epochs` may change, with each plug-in's spec and source digest (not
    where it was found: a moved checkout resumes)."""
    data = {s: dict(v) for s, v in cfg.items()}
    data.get("train", {}).pop("epochs", None)
    plugins = getattr(cfg, "plugins", None)
    if plugins:
        data["plugins"] = {k: {"spec": r["spec"], "sha256": r["sha256"]} for k, r in plugins.items()}
    return data, hashlib.sha256(_canonical(data).encode()).hexdigest()


def read(path, expected, batch_size, where, first=None, hidden=None):
    """The arrays of the .npz at `path`, after checking its headers against `expected`
    ({name: array} as `pack` writes them for the config; the carried state may also be
    (batch_size, H) of the parameters' dtype, `hidden` = (H, dtype), the config's, whatever
    the cell names its parameters) and before allocating anything. Format 1 (param_0...) is
    read too.
    first(state) sees the `state` string before the other arrays are checked."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise CheckpointError(f"{where}: cannot read ({e.strerror or e}; a symbolic link is "
                              "not followed)") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise CheckpointError(f"{where}: not a regular file")
        try:
            with zipfile.ZipFile(f) as zf:
                headers = _headers(zf, where)
                if first and "state" in headers and headers["state"][2].kind == "U":
                    with zf.open(headers["state"][0]) as member:
                        first({"state": np.lib.format.read_array(member, allow_pickle=False)})
                _check_headers(headers, expected, batch_size, where, hidden)
                arrays = {}
                for name, (info, *_rest) in headers.items():
                    with zf.open(info) as member:
                        arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as e:
            raise CheckpointError(f"{where}: unreadable checkpoint ({type(e).__name__}: {e})") \
                from None
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise CheckpointError(f"{where}: {name}: holds non-finite values")
        if a.dtype.kind == "i" and (a < 0).any():
            raise CheckpointError(f"{where}: {name}: expected a count >= 0, got {a.min()}")
    return arrays


def _headers(zf, where):
    """{name: (zip member, shape, dtype)} from each member's .npy header, no data read."""
    out = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise CheckpointError(f"{where}: holds {info.filename!r}, not an array")
        name = info.filename[:-4]
        with zf.open(info) as member:
            try:
                version = np.lib.format.read_magic(member)
                reader = {(1, 0): np.lib.format.read_array_header_1_0,
                          (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if reader is None:
                    raise ValueError(f"array format version {version}")
                shape, _fortran, dtype = reader(member, max_header_size=MAX_HEADER)
            except ValueError as e:
                raise CheckpointError(f"{where}: {name}: unreadable array header ({e})") from None
            header = member.tell()
        if dtype.hasobject:
            raise CheckpointError(f"{where}: {name}: holds Python objects (dtype {dtype})")
        declared = math.prod(shape) * dtype.itemsize
        if declared != info.file_size - header:
            raise CheckpointError(f"{where}: {name}: its header declares {shape} of {dtype} "
                                  f"({declared:,} bytes), the file holds "
                                  f"{max(info.file_size - header, 0):,}")
        out[name] = (info, shape, dtype)
    return out


def _check_headers(headers, expected, batch_size, where, hidden=None):
    names = set(headers)
    if hidden is None:   # a caller that does not say: the built-in cells' rnn.Wh (H, kH)
        hidden = expected["rnn.Wh"].shape[0], expected["rnn.Wh"].dtype
    H, dtype_h = hidden
    if "param_0" in names and not any(n.startswith("rnn.") for n in names):
        # format 1: only its parameters are used
        expected = {f"param_{i}": a for i, a in enumerate(
            a for k, a in expected.items() if not k.startswith(("optim.", "stream.", "carried.",
                                                               "state")))}
        names = {n for n in names if n.startswith("param_")}
    elif "state" not in names:
        raise CheckpointError(f"{where}: not a checkpoint of this trainer (no state array)")
    unknown = sorted(names - set(expected))
    if unknown:
        raise CheckpointError(f"{where}: {unknown[0]}: unknown array (not part of a checkpoint "
                              "of the config's model)")
    missing = [n for n in expected if n not in names]
    if missing:
        raise CheckpointError(f"{where}: {missing[0]}: missing (not a checkpoint of the config's "
                              "model)")
    for name in expected:   # in pack's order: parameters first
        _info, shape, dtype = headers[name]
        want = expected[name]
        if name.startswith(STRING_KINDS):
            if dtype.kind != "U" or shape != ():
                raise CheckpointError(f"{where}: {name}: expected one string, got {_what(shape, dtype)}")
        elif name.startswith("carried."):
            if not ((shape == (0, 0) and dtype == want.dtype) or
                    (dtype == dtype_h and shape == (batch_size, H))):
                raise CheckpointError(f"{where}: {name}: expected ({batch_size}, {H}) of "
                                      f"{dtype_h} (or empty), got {_what(shape, dtype)}")
        elif dtype != want.dtype or shape != want.shape:
            raise CheckpointError(f"{where}: {name}: expected {_what(want.shape, want.dtype)} as "
                                  f"the config gives, got {_what(shape, dtype)}")
    carried = [headers[n][1] == (0, 0) for n in names if n.startswith("carried.")]
    if len(set(carried)) > 1:
        raise CheckpointError(f"{where}: carried state: h and c must both be set or both empty")


def check_state(arrays, where):
    """The JSON `state` as a dict with its fields checked: format, metrics_rows, position."""
    state = _json(arrays, "state", where)
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: state: expected a JSON object")
    fmt = state.get("format")
    if _int(fmt) is None or fmt not in (1, 2):
        raise CheckpointError(f"{where}: state.format: expected 1 or 2, got {fmt!r}")
    rows = state.get("metrics_rows")
    if _int(rows) is None:
        raise CheckpointError(f"{where}: metrics_rows: expected an integer >= 0, got {rows!r}")
    for key in ("config", "config_digest"):
        if key in state and not isinstance(state[key], dict if key == "config" else str):
            raise CheckpointError(f"{where}: state.{key}: malformed")
    if ("config" in state) != ("config_digest" in state) or (
            "config" in state and hashlib.sha256(_canonical(state["config"]).encode()).hexdigest()
            != state["config_digest"]):
        raise CheckpointError(f"{where}: state.config_digest: does not match the recorded config")
    return state


def check_position(pos, fields, per_epoch, where):
    """The recorded position: every Position field, of its type and in range."""
    if not isinstance(pos, dict):
        raise CheckpointError(f"{where}: position: expected a JSON object")
    if set(pos) != set(fields):
        odd = sorted(set(pos) ^ set(fields))[0]
        raise CheckpointError(f"{where}: position.{odd}: " +
                              ("unknown field" if odd in pos else "missing"))

    def bad(key, expected):
        raise CheckpointError(f"{where}: position.{key}: expected {expected}, got {pos[key]!r}")

    for key in _INT_FIELDS:
        if _int(pos[key]) is None:
            bad(key, "an integer >= 0")
    if pos["window"] > per_epoch:  # == per_epoch: all windows done, the validation to come
        bad("window", f"at most the {per_epoch} windows of an epoch")
    if pos["step"] != pos["epoch"] * per_epoch + pos["window"]:
        bad("step", f"epoch * {per_epoch} + window = "
            f"{pos['epoch'] * per_epoch + pos['window']} ({per_epoch} windows an epoch)")
    if not _finite(pos["elapsed_s"]) or pos["elapsed_s"] < 0:
        bad("elapsed_s", "a number >= 0")
    if not (isinstance(pos["sums"], list) and len(pos["sums"]) == 3 and all(map(_finite, pos["sums"]))):
        bad("sums", "3 finite numbers")
    if not (isinstance(pos["epoch_losses"], list) and len(pos["epoch_losses"]) <= per_epoch
            and all(map(_finite, pos["epoch_losses"]))):
        bad("epoch_losses", f"at most {per_epoch} finite numbers")
    if not _number(pos["last_train_loss"]):
        bad("last_train_loss", "a number")
    for key in ("val", "best"):
        v = pos[key]
        if v is not None and not (isinstance(v, dict) and all(_number(x) for x in v.values())):
            bad(key, "null or an object of numbers")
    if pos["best"] is not None and not all(_int(pos["best"].get(k)) is not None
                                           for k in ("epoch", "step")):
        bad("best", "an epoch and a step >= 0")
    if not (isinstance(pos["schedule"], dict) and all(_int(v) is not None
                                                      for v in pos["schedule"].values())):
        bad("schedule", "an object of counts >= 0")
    if not isinstance(pos["stopped_early"], bool):
        bad("stopped_early", "true or false")
    t = pos["target"]
    if t is not None and not (isinstance(t, dict) and set(t) == {"epoch", "step", "value"}
                              and _int(t["epoch"]) is not None and _int(t["step"]) is not None
                              and _number(t["value"])):
        bad("target", "null or an epoch, a step >= 0 and a value")
    return pos


def check_stream(rng, arrays, name, where):
    """Set the generator's state from stream.<name>, refusing anything it is not."""
    value = _json(arrays, f"stream.{name}", where)
    try:
        rng.bit_generator.state = value
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise CheckpointError(f"{where}: stream.{name}: not a state of the run's "
                              f"{type(rng.bit_generator).__name__} generator ({e})") from None


def check_config(state, cfg, where, accept_plugins=False):
    """Refuse a config.toml changed since the checkpoint was written, naming the keys; a
    checkpoint from before digests were recorded is taken as it is. Keys the trainer gained
    after the checkpoint was written are not compared (a new key's default keeps the old
    behaviour). With `accept_plugins`, the plug-ins' source digests are not compared (a
    changed source accepted on resume)."""
    if "config_digest" not in state:
        return
    then, now = state["config"], config_digest(cfg)[0]
    if accept_plugins:
        then, now = ({**d, "plugins": {k: {**r, "sha256": ""} if isinstance(r, dict) else r
                                       for k, r in d["plugins"].items()}}
                     if isinstance(d.get("plugins"), dict) else d for d in (then, now))
    now = {s: {k: v for k, v in now[s].items() if k in then[s]} if isinstance(then.get(s), dict)
           else now[s] for s in now if s in then}
    if _canonical(now) == _canonical(then):
        return
    changed = differences(flat(then), flat(now), missing="<absent>") or \
        [("(key order or types)", "<absent>", "<absent>")]
    shown = ", ".join(f"{k} ({a!r} -> {b!r})" for k, a, b in changed[:5])
    more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
    raise CheckpointError(f"{cfg.source}: changed since the checkpoint was written: {shown}{more}; "
                          "a run resumes only under its own config (--epochs extends it); "
                          "train the changed config as a new run")


def _json(arrays, name, where):
    try:
        return json.loads(str(arrays[name]))
    except ValueError as e:
        raise CheckpointError(f"{where}: {name}: not JSON ({e})") from None


def _canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _what(shape, dtype):
    return f"shape {shape} of {dtype}"


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v):
    return _number(v) and math.isfinite(v)
