"""The gradient-reach probe equals finite differences of the window's loss in the carried state."""
import numpy as np
import pytest

from trainer.checks.numeric import numerical_grad
from trainer.config.load import from_dict
from trainer.model.diagnostics import gradient_reach, probe_batch
from trainer.training.run import RunParts


@pytest.mark.parametrize("task,cell", [("adding", "rnn"), ("copy", "lstm"), ("counting", "gru"),
                                       ("sine", "rnn")])
def test_reach_is_the_norm_of_dloss_dstate(task, cell):
    keys = {"adding": {"length": 8, "val_size": 5}, "copy": {"delay": 2, "val_size": 5},
            "counting": {"length": 200}, "sine": {"length": 200}}[task]
    cfg = from_dict({"task": {"name": task, **keys}, "model": {"cell": cell, "hidden": 4,
                     "embed": 3, "dtype": "float64"}, "train": {"batch_size": 4, "bptt": 6}})
    s = RunParts(cfg)
    x, y, mask = probe_batch(s.task, 6)
    before = [p.copy() for p in s.model.params]
    norms = gradient_reach(s.model, x, y, mask)
    assert all(np.array_equal(a, b) for a, b in zip(before, s.model.params))
    rnn = s.model.rnn
    N, T = x.shape[:2]
    for t in (0, T // 2, T - 1):
        # the state entering step t, perturbed; the loss of the whole window from there
        rnn.reset_state()
        s.model.predict(x[:, :t]) if t else None
        names = ("h", "c") if hasattr(rnn, "c") else ("h",)
        state = [np.zeros((N, 4)) if getattr(rnn, n) is None or t == 0 else getattr(rnn, n).copy()
                 for n in names]

        def loss():
            rnn.reset_state()
            if t:
                s.model.predict(x[:, :t])
            head = s.model.ys if t else None
            rnn.set_state(*state)
            tail = s.model.predict(x[:, t:])
            ys = tail if head is None else np.concatenate([head, tail], axis=1)
            return s.model.loss_layer.forward(ys, y, mask)

        g = numerical_grad(loss, state[0])
        assert norms[t] == pytest.approx(np.linalg.norm(g), rel=1e-6, abs=1e-12)
