"""Layers with the textbook API: `params` and `grads` lists, grads written in place."""
from trainer.layers.rnn import RNN, TimeRNN
from trainer.layers.lstm import TimeLSTM
from trainer.layers.gru import TimeGRU
from trainer.layers.affine import TimeAffine
from trainer.layers.embedding import TimeEmbedding

__all__ = ["RNN", "TimeRNN", "TimeAffine", "TimeEmbedding", "TimeLSTM", "TimeGRU"]
