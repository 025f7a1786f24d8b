"""The data a task hands to the trainer."""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Task:
    """A task's train and validation streams, what is scored on them and its trivial baseline.

    Streams are aligned in time: x[t] is the input at step t and y[t] the target
    for it. Token tasks hold integer ids of shape (L,); value tasks hold floats
    of shape (L, D) and (L, O). The validation stream continues the training one.
    """

    name: str
    kind: str            # "regression" (MSE loss) or "classification" (softmax cross-entropy)
    metric: str          # "mse" or "accuracy": the column name and summary key val_<metric>
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    input_dim: int       # D for values, the vocabulary size for tokens
    output_dim: int      # O for values, the vocabulary size for tokens
    baseline: dict       # train_loss, val_loss, val_<metric> of the trivial predictor
    baseline_name: str   # what the trivial predictor is, for plots and messages

    @property
    def tokens(self):
        return self.kind == "classification"
