"""Optimizers that update `params` in place from `grads`, and global-norm clipping.

Each reads its `lr` attribute at every update, so a schedule sets `optimizer.lr` before a step.
"""
import math

import numpy as np


def clip_grads(grads, max_norm):
    """Scale grads in place so their global L2 norm is at most max_norm (0: no clipping).

    Returns the norm before clipping. The squares are summed in float64: in float32 they
    overflow once the norm passes ~1.8e19, and a large but finite gradient read as 'diverged'.
    """
    squares = 0.0
    for g in grads:
        g64 = g.astype(np.float64, copy=False)
        squares += float(np.vdot(g64, g64))
    norm = math.sqrt(squares)  # a float's sqrt: no numpy scalar
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads:
            g *= scale
    return norm


class SGD:
    """Plain stochastic gradient descent: p -= lr * g."""

    def __init__(self, lr=0.1):
        self.lr = lr

    def update(self, params, grads):
        mul, sub = np.multiply, np.subtract
        lr = None
        for p, g in zip(params, grads):
            if lr is None or lr.dtype != g.dtype:  # as numpy would convert the Python float, once
                lr = np.full((), self.lr, g.dtype)
            sub(p, mul(g, lr), p)                  # p -= lr * g, without the in-place operator's overhead

    def state(self):
        return {}

    def load_state(self, state):
        pass


class Momentum:
    """SGD with (heavy-ball) momentum: v = momentum * v - lr * g; p += v."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum = lr, momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self.v):
            v *= self.momentum
            v -= self.lr * g
            p += v

    def state(self):
        return {} if self.v is None else {f"v{i}": v for i, v in enumerate(self.v)}

    def load_state(self, state):
        if state:
            self.v = [np.array(state[f"v{i}"]) for i in range(len(state))]


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m = self.v = None
        self._tmp = None  # scratch arrays per parameter

    def update(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        if self._tmp is None or len(self._tmp) != len(params):
            # the step is a float64 scalar, so the textbook's last line runs in float64: so does u
            self._tmp = [(np.empty_like(p), np.empty_like(p),
                          np.empty(p.shape, np.promote_types(p.dtype, np.float64))) for p in params]
        self.t += 1
        step = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        c1, c2, eps = 1 - self.beta1, 1 - self.beta2, self.eps
        mul, sub, add, div, sqrt = np.multiply, np.subtract, np.add, np.divide, np.sqrt
        for p, g, m, v, (a, b, u) in zip(params, grads, self.m, self.v, self._tmp):
            # the same operations, in the same order, as the textbook lines, without temporaries:
            sub(g, m, a)                 # m += (1 - beta1) * (g - m)
            mul(c1, a, a)
            add(m, a, m)
            mul(g, g, a)                 # v += (1 - beta2) * (g * g - v)
            sub(a, v, a)
            mul(c2, a, a)
            add(v, a, v)
            mul(step, m, u)              # p -= step * m / (sqrt(v) + eps)
            sqrt(v, b)
            add(b, eps, b)
            div(u, b, u)
            sub(p, u, p)

    def state(self):
        if self.m is None:
            return {}
        out = {"t": np.array(self.t)}
        for i, (m, v) in enumerate(zip(self.m, self.v)):
            out[f"m{i}"], out[f"v{i}"] = m, v
        return out

    def load_state(self, state):
        if state:
            self.t = int(state["t"])
            n = (len(state) - 1) // 2
            self.m = [np.array(state[f"m{i}"]) for i in range(n)]
            self.v = [np.array(state[f"v{i}"]) for i in range(n)]


class RMSProp:
    """RMSProp (Tieleman & Hinton 2012): v = rho * v + (1 - rho) * g*g; p -= lr * g / (sqrt(v) + eps)."""

    def __init__(self, lr=0.001, rho=0.9, eps=1e-8):
        self.lr, self.rho, self.eps = lr, rho, eps
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self.v):
            v *= self.rho
            v += (1 - self.rho) * (g * g)
            p -= self.lr * g / (np.sqrt(v) + self.eps)

    def state(self):
        return {} if self.v is None else {f"v{i}": v for i, v in enumerate(self.v)}

    def load_state(self, state):
        if state:
            self.v = [np.array(state[f"v{i}"]) for i in range(len(state))]


def make_optimizer(optim_cfg):
    """The optimizer named by the config's [optim] section, with its hyperparameters."""
    name = optim_cfg["name"]
    if name == "sgd":
        return SGD(optim_cfg["lr"])
    if name == "momentum":
        return Momentum(optim_cfg["lr"], optim_cfg["momentum"])
    if name == "rmsprop":
        return RMSProp(optim_cfg["lr"], optim_cfg["rho"], optim_cfg["eps"])
    return Adam(optim_cfg["lr"], optim_cfg["beta1"], optim_cfg["beta2"], optim_cfg["eps"])
