"""How far back the error signal reaches: the norm of dL/dh_t at every step of a window.

For each t the window is read up to t, the state entering step t is set, and
the rest of the window is run forward and back: the recurrent layer's `dh` is
then dL/dh_t exactly (rescaled from the suffix's mean loss to the window's),
for any cell, through the layers' public API. It costs about T/2 forward and
backward passes of the window: nothing beside a training run.
"""
import numpy as np

from trainer.layers import carried_state

PROBE_EPISODES = 32


def probe_batch(task, bptt):
    """The window probed: the first validation episodes, or the validation stream's first bptt steps."""
    if task.episodes:
        v = task.val
        n = PROBE_EPISODES
        return v.x[:n], v.y[:n], v.mask[:n]
    return task.val_x[None, :bptt], task.val_y[None, :bptt], None


def gradient_reach(model, x, y, mask=None):
    """||dL/dh_t|| for t = 0..T-1, where h_t is the state entering step t and L the window's loss.

    Leaves the parameters, and the model's carried state (reset), as they were;
    overwrites the gradients.
    """
    rnn = model.rnn
    N, T = x.shape[:2]
    weights = np.ones((N, T)) if mask is None else np.asarray(mask, dtype=np.float64)
    total = weights.sum()
    rnn.reset_state()
    states = []
    for t in range(T):   # the state entering each step
        states.append(_snapshot(rnn, N, model.layers[-1].params[0].shape[0]))
        model.predict(x[:, t:t + 1])
    norms = np.zeros(T)
    for t in range(T):
        scored = weights[:, t:].sum()
        if scored == 0:
            continue                    # nothing scored from here on: no gradient reaches h_t
        rnn.set_state(*states[t])
        model.forward(x[:, t:], y[:, t:], None if mask is None else weights[:, t:])
        model.backward()
        norms[t] = np.linalg.norm(rnn.dh) * scored / total
    rnn.reset_state()
    return norms


def _snapshot(rnn, N, H):
    """The carried state as arrays (zeros where none); H from the head, not the cell's own
    params, whose order and names are the cell's."""
    dtype = rnn.params[0].dtype
    return tuple(np.zeros((N, H), dtype) if s is None else s.copy() for s in carried_state(rnn))
