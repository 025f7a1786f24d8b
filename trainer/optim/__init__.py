"""Optimizers (SGD, momentum, Adam, RMSProp), global-norm clipping and learning-rate schedules:
numpy only. The optimizers update `params` in place from `grads`, as the book's do:

    from trainer.optim import SGD, clip_grads
"""
from trainer.optim.optimizers import SGD, Adam, Momentum, RMSProp, clip_grads

__all__ = ["SGD", "Momentum", "Adam", "RMSProp", "clip_grads"]
