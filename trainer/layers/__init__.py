"""Layers with the textbook API: `params` and `grads` lists, grads written in place.

textbook.py holds the book's layers (a cell object per step), the reference to read first;
rnn.py, lstm.py and gru.py compute the same, fast; peephole_lstm.py is the LSTM whose gates
see the cell state (model.peepholes)."""
from trainer.layers.rnn import RNN, TimeRNN
from trainer.layers.lstm import TimeLSTM
from trainer.layers.peephole_lstm import TimePeepholeLSTM
from trainer.layers.gru import TimeGRU
from trainer.layers.affine import TimeAffine
from trainer.layers.embedding import TimeEmbedding
from trainer.layers import textbook

__all__ = ["RNN", "TimeRNN", "TimeAffine", "TimeEmbedding", "TimeLSTM", "TimePeepholeLSTM", "TimeGRU", "textbook",
           "carried_state", "param_names"]


def carried_state(layer):
    """What a recurrent layer carries between calls, in the order of its `state_names` (("h",)
    when it names none), None where it has none: the arrays a checkpoint keeps and
    set_state(*...) takes back."""
    return tuple(getattr(layer, name, None) for name in getattr(layer, "state_names", ("h",)))


BY_COUNT = {1: ("W",), 2: ("W", "b"), 3: ("Wx", "Wh", "b")}


def param_names(layer):
    """The names of a layer's params, in order: its `param_names` if it declares them (the
    peephole LSTM's Wx, Wh, b, p), else by their count (W; W, b; Wx, Wh, b), else p0, p1, ..."""
    n = len(layer.params)
    names = tuple(getattr(layer, "param_names", ()) or BY_COUNT.get(n, ()))
    return names if len(names) == n else tuple(f"p{i}" for i in range(n))
