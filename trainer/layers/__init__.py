"""Layers with the textbook API: `params` and `grads` lists, grads written in place.

textbook.py holds the book's layers (a cell object per step), the reference to read first, and
its one-step cell RNN; rnn.py, lstm.py and gru.py compute the same, fast, on what recurrent.py
shares; peephole_lstm.py is the LSTM whose gates see the cell state (model.peepholes)."""
import re

from trainer.layers.recurrent import carried_state, state_names
from trainer.layers.rnn import TimeRNN
from trainer.layers.lstm import TimeLSTM
from trainer.layers.peephole_lstm import TimePeepholeLSTM
from trainer.layers.gru import TimeGRU
from trainer.layers.affine import TimeAffine
from trainer.layers.embedding import TimeEmbedding
from trainer.layers import textbook
from trainer.layers.textbook import RNN

__all__ = ["RNN", "TimeRNN", "TimeAffine", "TimeEmbedding", "TimeLSTM", "TimePeepholeLSTM",
           "TimeGRU", "textbook", "carried_state", "state_names", "param_names", "param_names_problem"]


BY_COUNT = {1: ("W",), 2: ("W", "b"), 3: ("Wx", "Wh", "b")}


def param_names(layer):
    """The names of a layer's params, in order: its `param_names` if it declares them (the
    peephole LSTM's Wx, Wh, b, p), else by their count (W; W, b; Wx, Wh, b), else p0, p1, ...
    Declared names are used only when they pass `param_names_problem` (a run's preflight
    refuses a layer whose names do not)."""
    n = len(layer.params)
    declared = getattr(layer, "param_names", None) or None
    if declared is not None and param_names_problem(declared, n) is None:
        return tuple(declared)
    names = BY_COUNT.get(n, ())
    return names if len(names) == n else tuple(f"p{i}" for i in range(n))


def param_names_problem(names, count=None):
    """What is wrong with a layer's declared `param_names` (a phrase), or None: they name
    arrays in a checkpoint (rnn.<name>.npy inside the .npz), so each is a plain file name
    (letters, digits, _ and -, at most 64 characters), none repeats (one array would overwrite
    another), and there is one per parameter (when `count`, the number of params, is known)."""
    if not isinstance(names, (tuple, list)):
        return f"is {names!r}, expected a tuple of names such as ('Wx', 'Wh', 'b')"
    for name in names:
        if not (isinstance(name, str) and _PLAIN_NAME.fullmatch(name)):
            return (f"holds {name!r}, expected names of letters, digits, _ and - (at most 64 "
                    "characters; each names a file in the checkpoint)")
    seen = set()
    for name in names:
        if name in seen:
            return f"names {name!r} twice (one parameter would overwrite the other in a checkpoint)"
        seen.add(name)
    if count is not None and len(names) != count:
        return f"gives {len(names)} names for {count} parameters"
    return None


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
