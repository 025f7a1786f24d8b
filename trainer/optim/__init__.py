"""Optimizers (SGD, momentum, Adam, ...), global-norm clipping and learning-rate schedules: numpy only."""
