"""`train gradcheck` and trainer.gradcheck: every built-in cell passes; each known mistake, planted
in a copy of the book-style reference layer (examples/my_rnn.py), fails and is named by the
diagnosis; bad input is exit 2; the book's layers train to the fast layers' numbers."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import trainer
from trainer.cli import main
from trainer.errors import BadInput

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "examples" / "my_rnn.py").read_text()
DT = "dt = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)"
GRADS = "self.grads[0][...], self.grads[1][...], self.grads[2][...] = dWx, dWh, db"


@pytest.mark.parametrize("spec", ["rnn", "lstm", "gru", "textbook-rnn", "textbook-lstm",
                                  "textbook-gru", "examples/my_rnn.py:MyRNN"])
def test_every_built_in_cell_and_the_example_pass(spec, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = trainer.gradcheck(spec)
    assert result.passed, "\n".join(result.lines())
    names = [r.name for r in result.rows]
    assert names[:4] == ["Wx", "Wh", "b", "dx"] and "dh (into the carried h)" in names
    if "lstm" in spec:
        assert "dc (into the carried c)" in names
    assert all(r.error < 1e-6 for r in result.rows[:4])
    from trainer.checks.cell_check import SIZES, estimate_seconds
    assert estimate_seconds(SIZES, 4, 2)[1] < 1.0   # small by design at its default sizes, even for an LSTM
    if spec.startswith("textbook") or spec.startswith("examples"):
        assert result.forward[1] < 1e-12       # the same function as the package's cell


# mistake -> (the text replaced in the reference, what replaces it, words the diagnosis uses)
MISTAKES = {
    "not multiplied by the incoming gradient": (
        DT, "dt = 1 - hs[:, t] ** 2", "not multiplied by the incoming gradient"),
    "the incoming gradient twice": (
        DT, "dt = (dhs[:, t] + dh) * (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)",
        "incoming gradient is multiplied in twice"),
    "the derivative applied twice": (
        DT, "dt = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2) ** 2", "derivative is applied twice"),
    "no gradient from later steps": (
        DT, "dt = dhs[:, t] * (1 - hs[:, t] ** 2)", "not carried back"),
    "weights updated inside backward": (
        GRADS, GRADS + "\n        Wx -= 0.1 * dWx", "updated inside backward"),
    "grads rebound": (GRADS, "self.grads[0], self.grads[1], self.grads[2] = dWx, dWh, db",
                      "rebound instead of written in place"),
    "a bias tied to the batch size": ("db += dt.sum(axis=0)", "db = db + dt",
                                      "tied to the batch size"),
    "outputs forced to float32": ("hs = np.empty((N, T, H), dtype=Wx.dtype)",
                                  "hs = np.empty((N, T, H), dtype='f')", "forced to float32"),
    "a stateful h that breaks on a new batch size": (
        "if not self.stateful or self.h is None or self.h.shape != (N, H):",
        "if not self.stateful or self.h is None:", "breaks a batch of another size"),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_known_mistake_planted_in_the_reference_is_named(mistake, tmp_path):
    old, new, words = MISTAKES[mistake]
    assert old in REFERENCE
    (tmp_path / "planted.py").write_text(REFERENCE.replace(old, new))
    result = trainer.gradcheck("planted.py:MyRNN", folder=tmp_path)
    assert not result.passed
    fits = [line for line in result.diagnosis if line.startswith("diagnosis: ")]
    assert fits and any(words in line for line in fits), "\n".join(result.lines())
    assert "none of the known mistakes" not in " ".join(fits)


def test_an_unknown_mistake_is_said_to_fit_none(tmp_path):
    (tmp_path / "odd.py").write_text(REFERENCE.replace("dWh += prev[t].T @ dt",
                                                       "dWh += 0.5 * prev[t].T @ dt"))
    result = trainer.gradcheck("odd.py:MyRNN", folder=tmp_path)
    assert [r.name for r in result.failed] == ["Wh"]
    assert result.diagnosis[0].startswith("diagnosis: none of the known mistakes fits")


def test_the_command_prints_a_line_per_quantity_and_exits_by_the_outcome(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "buggy.py").write_text(REFERENCE.replace(DT, "dt = 1 - hs[:, t] ** 2"))
    ok = CliRunner().invoke(main, ["gradcheck", "textbook-gru"])
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("s") and "checks passed" in ok.stdout
    bad = CliRunner().invoke(main, ["gradcheck", "buggy.py:MyRNN"])
    assert bad.exit_code == 1, bad.output
    lines = bad.stdout.splitlines()
    assert lines[0].startswith("gradcheck buggy.py:MyRNN (file ")
    assert any(line.startswith("Wx ") and "FAILED" in line for line in lines)
    assert any("where the book's RNN.backward has dt = dh_next * (1 - h_next ** 2)" in line
               for line in lines)
    assert "fix: dt = dh_next * (1 - h_next ** 2)" in bad.stdout
    assert "5 of 11 checks FAILED" in bad.stdout


@pytest.mark.parametrize("spec,source,expected", [
    ("missing.py:X", None, "no such file"),
    ("m.py:Nope", "class X: pass\n", "no class 'Nope'"),
    ("m.py:X", "class X:\n    def forward(self, xs): pass\n", "has no backward(), set_state()"),
    ("m.py:X", "import numpy\nclass X:\n" + "".join(f"    def {m}(self, *a): pass\n" for m in
                                                    ("forward", "backward", "set_state",
                                                     "reset_state"))
     + "    def __init__(self, Wx, Wh, b, stateful=False):\n        self.params = [Wx, Wh, b]\n"
       "        self.grads = [numpy.zeros_like(p) for p in self.params]\n",
     "forward(xs) with xs (2, 4, 3) returned shape NoneType"),
    ("rnnn", None, "did you mean 'rnn'?"),
    ("m.py:X", "def broken(:\n", "m.py:1: loading it: SyntaxError"),
])
def test_what_cannot_be_checked_is_bad_input(spec, source, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if source is not None:
        (tmp_path / "m.py").write_text(source)
    with pytest.raises(BadInput, match=None) as err:
        trainer.gradcheck(spec)
    assert expected in str(err.value)
    result = CliRunner().invoke(main, ["gradcheck", spec])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr


def test_a_layer_class_can_be_checked_directly():
    from trainer.layers import textbook
    result = trainer.gradcheck(textbook.TimeRNN)
    assert result.passed and result.cell.gates == 1


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_books_layers_train_to_the_fast_layers_numbers(cell, tmp_path):
    """float64: the same run with the fast and the book's layer, row for row to 1e-9; float32:
    the same to float32 rounding at the end of a short run."""
    def run(spec, dtype):
        r = trainer.train(ROOT / "configs" / "sine.toml", runs_dir=tmp_path, overrides={
            "model.cell": spec, "model.dtype": dtype, "train.epochs": 1, "model.hidden": 8,
            "task.length": 800, "task.val_length": 200, "optim.name": "adam", "optim.lr": 0.01})
        return r.metrics["loss"].to_numpy(), r.summary
    for dtype, tol in (("float64", 1e-9), ("float32", 2e-4)):
        fast, s_fast = run(cell, dtype)
        book, s_book = run(f"textbook-{cell}", dtype)
        assert s_book["status"] == "completed" and "plugins" not in s_book
        np.testing.assert_allclose(book, fast, rtol=tol, atol=tol)
    assert json.loads(json.dumps(s_book["final"]))  # plain JSON
