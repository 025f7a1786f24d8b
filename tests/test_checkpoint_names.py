"""A plug-in cell's parameters are checkpointed under the names it declares (`param_names`), or
p0..pk when it names none and has a count the book's names do not cover, for any count: the
run trains, writes its best checkpoint, evaluates and resumes. Names that repeat (one array would
overwrite another in the checkpoint) or that are not plain file names are refused before
training: one line, exit 2, nothing written."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from trainer.cli import main

TINY = """\
[task]
name = "sine"
length = 200
val_length = 50
[model]
hidden = 6
cell = "cell.py:Cell"
[optim]
name = "adam"
lr = 0.01
[train]
epochs = 2
batch_size = 4
bptt = 10
"""

# A tanh RNN whose parameters come in the order and under the names given; `extra` adds a
# fourth parameter g (H,), added like a bias, so the cell still passes its gradient check.
CELL = '''\
import numpy as np


class Cell:
    gates = 1
{names}
    def __init__(self, Wx, Wh, b, stateful=False):
        self.W = {{"Wx": Wx, "Wh": Wh, "b": b, "g": np.zeros_like(b)}}
        self.order = {order!r}
        self.params = [self.W[k] for k in self.order]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.stateful = stateful
        self.h, self.dh = None, None
{instance}
    def set_state(self, h):
        self.h = np.array(h, dtype=self.W["Wx"].dtype)

    def reset_state(self):
        self.h = None

    def forward(self, xs):
        Wx, Wh, b, g = (self.W[k] for k in ("Wx", "Wh", "b", "g"))
        xs = np.asarray(xs, dtype=Wx.dtype)
        N, T, _ = xs.shape
        H = Wh.shape[0]
        if not self.stateful or self.h is None or self.h.shape != (N, H):
            self.h = np.zeros((N, H), dtype=Wx.dtype)
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        prev = []
        for t in range(T):
            prev.append(self.h)
            self.h = np.tanh(self.h @ Wh + xs[:, t] @ Wx + b + g)
            hs[:, t] = self.h
        self.cache = (xs, prev, hs)
        return hs

    def backward(self, dhs):
        Wx, Wh = self.W["Wx"], self.W["Wh"]
        xs, prev, hs = self.cache
        d = {{k: np.zeros_like(v) for k, v in self.W.items()}}
        dxs = np.empty_like(xs)
        dh = np.zeros_like(hs[:, 0])
        for t in reversed(range(xs.shape[1])):
            dt = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)
            d["Wx"] += xs[:, t].T @ dt
            d["Wh"] += prev[t].T @ dt
            d["b"] += dt.sum(axis=0)
            d["g"] += dt.sum(axis=0)
            dxs[:, t] = dt @ Wx.T
            dh = dt @ Wh.T
        for grad, k in zip(self.grads, self.order):
            grad[...] = d[k]
        self.dh = dh
        return dxs
'''


def cell_source(order=("Wx", "Wh", "b"), names=None, instance_names=None):
    return CELL.format(order=tuple(order),
                       names=f"    param_names = {names!r}\n" if names is not None else "",
                       instance=f"        self.param_names = {instance_names!r}\n"
                       if instance_names is not None else "")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "c.toml").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


TRAINS = [   # (id, order of the params, class param_names, the checkpoint's rnn.* names)
    ("named U W c", ("Wx", "Wh", "b"), ("U", "W", "c"), ["rnn.U", "rnn.W", "rnn.c"]),
    ("four unnamed, Wh first", ("Wh", "Wx", "b", "g"), None,
     ["rnn.p0", "rnn.p1", "rnn.p2", "rnn.p3"]),
    ("four named", ("Wx", "Wh", "b", "g"), ("Wx", "Wh", "b", "gain"),
     ["rnn.Wx", "rnn.Wh", "rnn.b", "rnn.gain"]),
    ("three unnamed, reordered", ("b", "Wh", "Wx"), None, ["rnn.Wx", "rnn.Wh", "rnn.b"]),
]


@pytest.mark.parametrize("order,names,stored", [t[1:] for t in TRAINS], ids=[t[0] for t in TRAINS])
def test_a_cell_is_checkpointed_under_its_own_names_and_its_run_is_usable(project, order, names,
                                                                          stored):
    (project / "cell.py").write_text(cell_source(order, names))
    result = invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "r", "--quiet")
    assert result.exit_code == 0, result.output
    run = project / "runs" / "r"
    s = json.loads((run / "summary.json").read_text())
    assert s["status"] == "completed", s.get("error")
    for name in ("checkpoint.npz", "best.npz"):
        with np.load(run / name, allow_pickle=False) as z:
            assert sorted(k for k in z.files if k.startswith("rnn.")) == sorted(stored)
            assert all(f"optim.m.{k}" in z.files for k in stored)   # adam's moments too
    ev = invoke("eval", run)
    assert ev.exit_code == 0, ev.output
    assert invoke("eval", run, "--checkpoint", "last").exit_code == 0
    res = invoke("resume", run, "--epochs", 3, "--quiet")
    assert res.exit_code == 0, res.output
    assert json.loads((run / "summary.json").read_text())["epochs_done"] == 3


def test_a_resumed_run_equals_an_uninterrupted_one_with_named_params(project):
    (project / "cell.py").write_text(cell_source(("Wh", "Wx", "b", "g"), ("A", "B", "C", "D")))
    assert invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "a", "--quiet",
                  "--set", "train.epochs=3").exit_code == 0
    assert invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "b", "--quiet").exit_code == 0
    assert invoke("resume", project / "runs" / "b", "--epochs", 3, "--quiet").exit_code == 0
    with np.load(project / "runs/a/checkpoint.npz") as a, np.load(project / "runs/b/checkpoint.npz") as b:
        for k in ("rnn.A", "rnn.B", "rnn.C", "rnn.D", "head.W"):
            assert np.array_equal(a[k], b[k]), k


REFUSED = [   # (id, class param_names, instance param_names, words of the message)
    ("repeated", ("W", "W", "b"), None, "'W' twice"),
    ("repeated, set on the instance", None, ("Wx", "b", "b"), "'b' twice"),
    ("a slash", ("W/x", "Wh", "b"), None, "'W/x'"),
    ("dot-dot", ("..", "Wh", "b"), None, "'..'"),
    ("empty", ("", "Wh", "b"), None, "''"),
    ("a NUL byte", ("W\x00", "Wh", "b"), None, "'W\\x00'"),
    ("not strings", (1, 2, 3), None, "1"),
    ("a string, not a tuple", "Wx", None, "'Wx'"),
    ("two names for three params", ("Wx", "Wh"), None, "2 names for 3 parameters"),
]


@pytest.mark.parametrize("names,instance,words", [t[1:] for t in REFUSED], ids=[t[0] for t in REFUSED])
def test_bad_param_names_are_refused_before_training(project, names, instance, words):
    (project / "cell.py").write_text(cell_source(names=names, instance_names=instance))
    result = invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "r", "--quiet")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "param_names" in lines[0] and words in lines[0], lines
    assert "Traceback" not in result.output
    assert not (project / "runs").exists()


def test_gradcheck_refuses_repeated_names_too(project):
    (project / "cell.py").write_text(cell_source(names=("W", "W", "b")))
    result = invoke("gradcheck", "cell.py:Cell")
    assert result.exit_code == 2 and "'W' twice" in result.stderr


def test_the_carried_state_check_uses_the_configs_hidden_size(project):
    """The check of carried.h against a plug-in whose params[1] is not Wh: a wrong shape is still
    refused, naming the config's hidden size (the check used rnn.Wh's)."""
    (project / "cell.py").write_text(cell_source(("Wh", "Wx", "b"), ("A", "B", "C")))
    assert invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "r", "--quiet").exit_code == 0
    run = project / "runs" / "r"
    with np.load(run / "checkpoint.npz") as z:
        arrays = dict(z)
    arrays["carried.h"] = np.zeros((4, 7), arrays["rnn.A"].dtype)
    np.savez(run / "checkpoint.npz", **arrays)
    result = invoke("resume", run, "--epochs", 3)
    assert result.exit_code == 2 and "carried.h: expected (4, 6)" in result.stderr, result.output
