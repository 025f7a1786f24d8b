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
           "carried_state"]


def carried_state(layer):
    """What a recurrent layer carries between calls, in the order of its `state_names` (("h",)
    when it names none), None where it has none: the arrays a checkpoint keeps and
    set_state(*...) takes back."""
    return tuple(getattr(layer, name, None) for name in getattr(layer, "state_names", ("h",)))
