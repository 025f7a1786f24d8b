"""What a student reads when the book's layer, copied as the book writes it, meets the trainer:
the mistakes named in the book's terms (never this project's history), the float32 lines of the
book's TimeRNN named by file and line with model.check=false offered, and a book-style LSTM or
GRU without a `gates` attribute told to set it."""
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import trainer
from trainer.cli import main
from trainer.errors import BadInput

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(__file__).resolve().parent / "book" / "time_layers.py"
# the book's stateful h, kept whatever the next batch's size; the same line that looks at it
STATE = "if not self.stateful or self.h is None:"
STATE_FIXED = "if not self.stateful or self.h is None or self.h.shape[0] != N:"


def lines_of(path, text):
    return [i + 1 for i, line in enumerate(path.read_text().splitlines()) if text in line]


# "the seeds' notebooks/code/bugs" is history; "the seeds' mean" (of training seeds) is not
HISTORY = re.compile(r"seeds? ?0\d\d|seeds? (and|,) ?0\d\d|seed notebook|as in the seeds|"
                     r"the seeds' (notebook|code|bug|layer|trainer)|seeds 000|notebook 00\d",
                     re.I)


def test_no_message_or_page_names_the_projects_history():
    """A student never met the notebooks the project grew from: messages and pages name the
    mistake as the book would ("dt = 1 - h_next**2 where the book has dt = dh_next * ..."),
    not "seed 002's bug"."""
    places = [ROOT / "README.md", *(ROOT / d for d in ("trainer", "datasets", "docs", "examples"))]
    hits = []
    for place in places:
        for path in [place] if place.is_file() else place.rglob("*"):
            if path.suffix in (".py", ".md", ".toml", ".txt") and path.is_file():
                for n, line in enumerate(path.read_text().splitlines(), 1):
                    if HISTORY.search(line):
                        hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(BOOK, tmp_path / "book.py")
    return tmp_path


def refused(*sets):
    args = ["--config", str(ROOT / "configs" / "sine.toml"), "--runs-dir", "runs",
            "--set", "train.epochs=1"]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert not Path("runs").exists()
    return line


def test_the_books_time_rnn_is_told_which_lines_make_float32(here):
    """The book's TimeRNN as printed: dtype='f' in three lines, and the stateful h of one batch
    size; gradcheck and the pre-training check name each line by file and line."""
    lines = lines_of(here / "book.py", "dtype='f'")
    rnn = [n for n in lines if n < lines_of(here / "book.py", "class LSTM:")[0]]
    assert len(rnn) == 3
    result = trainer.gradcheck("book.py:TimeRNN")
    text = "\n".join(result.diagnosis)
    assert f"change dtype='f' to dtype=Wx.dtype at book.py:{rnn[0]}, {rnn[1]} and {rnn[2]}" in text
    assert f"book.py:{rnn[0]}: hs = np.empty((N, T, H), dtype='f')" in text
    assert "the dtype is all that is wrong with them" in text      # its gradients are right
    state = lines_of(here / "book.py", STATE)[0]
    assert f"h.shape != (N, H) at book.py:{state}" in text
    line = refused("model.cell=book.py:TimeRNN")
    assert f"dtype=Wx.dtype at book.py:{rnn[0]}, {rnn[1]} and {rnn[2]}" in line
    assert f"at book.py:{state}" in line


def test_a_layer_whose_only_fault_is_float32_is_told_the_lines_and_that_it_trains_as_it_is(here):
    (here / "book_rnn.py").write_text((here / "book.py").read_text().replace(STATE, STATE_FIXED))
    rnn = lines_of(here / "book_rnn.py", "dtype='f'")[:3]
    line = refused("model.cell=book_rnn.py:TimeRNN")
    assert (f"likely cause: outputs are forced to float32 (fix: make arrays with the parameters' "
            f"dtype: change dtype='f' to dtype=Wx.dtype at book_rnn.py:{rnn[0]}, {rnn[1]} and "
            f"{rnn[2]})") in line, line
    assert "--set model.check=false trains it as it is" in line
    assert "stateful h" not in line
    assert line in (ROOT / "docs" / "plugins.md").read_text().splitlines()   # as the page shows
    # and it does: in float32, the dtype the trainer trains in, the lines change nothing
    run = trainer.train(ROOT / "configs" / "sine.toml", {
        "model.cell": "book_rnn.py:TimeRNN", "model.check": False, "train.epochs": 2,
        "task.length": 4000}, runs_dir="runs", name="u")
    assert run.summary["status"] == "completed"


def test_np_float32_is_found_too(here):
    source = (here / "book.py").read_text().replace(STATE, STATE_FIXED)
    (here / "np32.py").write_text(source.replace("dtype='f'", "dtype=np.float32"))
    result = trainer.gradcheck("np32.py:TimeRNN")
    assert "change np.float32 to Wx.dtype at np32.py:" in "\n".join(result.diagnosis)


@pytest.mark.parametrize("spec,k", [("book.py:TimeLSTM", 4),
                                    ("trainer.layers.textbook:TimeLSTM", 4),
                                    ("trainer.layers.textbook:TimeGRU", 3)])
def test_a_book_lstm_or_gru_without_gates_is_told_to_set_them(here, spec, k):
    result = trainer.gradcheck(spec)
    assert not result.passed
    assert result.diagnosis[0].startswith(f"diagnosis: its shapes say it has {k} gates")
    assert f"fix: set gates = {k} on the class" in result.diagnosis[1]
    assert not any("none of the known mistakes" in d for d in result.diagnosis)
    if spec.startswith("trainer"):          # the package's book layers are right with k gates
        assert f"with gates = {k}: all" in "\n".join(result.diagnosis)
    else:                                   # the book's own: then its float32 lines
        assert "change dtype='f' to dtype=Wx.dtype at book.py:" in "\n".join(result.diagnosis)
    line = refused(f"model.cell={spec}")
    assert f"has {k} gates but no `gates` attribute (fix: set gates = {k} on the class)" in line
    assert "model.check=false" not in line     # unchecked it would be built with 1 gate too


def test_a_layer_whose_forward_gives_wrong_shapes_without_its_gates_is_told_them_too(here):
    (here / "shaped.py").write_text('''import numpy as np
class Gated:
    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.h = self.dh = None
    def forward(self, xs):
        N, T, _ = xs.shape
        self.h = np.zeros((N, self.params[0].shape[1] // 4))
        return np.zeros((N, T, self.params[0].shape[1] // 4))
    def backward(self, dhs):
        self.dh = np.zeros_like(self.h)
        return np.zeros((dhs.shape[0], dhs.shape[1], self.params[0].shape[0]))
    def set_state(self, h):
        self.h = h
    def reset_state(self):
        self.h = None
''')
    with pytest.raises(BadInput) as err:
        trainer.gradcheck("shaped.py:Gated")
    assert "returned shape (2, 4, 1)" in str(err.value)
    assert str(err.value).endswith("set gates = 4 on the class Gated")


def test_a_layer_that_declares_its_gates_is_not_second_guessed(here):
    (here / "declared.py").write_text((here / "book.py").read_text().replace(
        "class TimeLSTM:\n", "class TimeLSTM:\n    gates = 1\n"))
    result = trainer.gradcheck("declared.py:TimeLSTM")
    assert result.diagnosis[0].startswith("diagnosis: none of the known mistakes fits")


def test_the_books_layers_pass_once_fixed_as_the_messages_say(here):
    fixed = (here / "book.py").read_text().replace(STATE, STATE_FIXED).replace(
        "dtype='f'", "dtype=Wx.dtype").replace("self.c is None:", "self.c is None or "
                                               "self.c.shape[0] != N:")
    (here / "fixed.py").write_text(fixed)
    assert trainer.gradcheck("fixed.py:TimeRNN").passed
    (here / "fixed.py").write_text(fixed.replace("class TimeLSTM:\n",
                                                 "class TimeLSTM:\n    gates = 4\n"))
    assert trainer.gradcheck("fixed.py:TimeLSTM").passed


@pytest.mark.parametrize("arg", ["my.toml", "configs/sine.toml", "sine", "my config.toml"])
def test_a_config_given_as_a_command_is_told_to_use_config(arg, tmp_path, monkeypatch):
    import shlex
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, [arg])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: train: no command {arg!r}; to train a config: "
                                      f"train --config {shlex.quote(arg)}")


def test_an_unknown_command_that_is_no_config_keeps_clicks_words():
    result = CliRunner().invoke(main, ["reprot"])
    assert result.exit_code == 2
    assert "No such command 'reprot'" in result.stderr and "--config" not in result.stderr


def test_the_gradient_reach_of_an_unchecked_layer_says_so(tmp_path, monkeypatch):
    """gradient_reach.png is drawn from the layer's own backward: when that backward was not
    checked (model.check = false), the figure's title and a box over it say so; a checked
    layer's figure does not."""
    import trainer.plots.run as plots
    monkeypatch.chdir(tmp_path)
    source = (ROOT / "examples" / "my_rnn.py").read_text()
    (tmp_path / "buggy.py").write_text(source.replace("(dhs[:, t] + dh) *", "dhs[:, t] *"))
    shutil.copyfile(ROOT / "examples" / "my_rnn.py", tmp_path / "mine.py")
    drawn = {}
    save = plots.save

    def keep(fig, path):
        drawn[Path(path).parent.name, Path(path).name] = fig
        save(fig, path)

    monkeypatch.setattr(plots, "save", keep)
    small = {"train.epochs": 1, "task.length": 2000, "task.val_length": 400}
    trainer.train(ROOT / "configs" / "sine.toml", {**small, "model.cell": "buggy.py:MyRNN",
                                                   "model.check": False}, "runs", "unchecked")
    trainer.train(ROOT / "configs" / "sine.toml", {**small, "model.cell": "mine.py:MyRNN"},
                  "runs", "checked")
    for name, marked in (("unchecked", True), ("checked", False)):
        ax = drawn[name, "gradient_reach.png"].axes[0]
        texts = " ".join(t.get_text() for t in ax.texts)
        assert ax.get_title().endswith("(unchecked backward)") is marked
        assert ("unchecked backward: trained with model.check = false" in texts) is marked
    # `train plot` draws it again from the run's files, marked the same way
    drawn.clear()
    result = CliRunner().invoke(main, ["plot", "runs/unchecked"])
    assert result.exit_code == 0, result.output
    assert drawn["unchecked", "gradient_reach.png"].axes[0].get_title().endswith(
        "(unchecked backward)")


def test_the_plugins_page_shows_what_gradcheck_says_of_the_books_time_rnn(here):
    shutil.copyfile(BOOK, here / "book_layers.py")
    result = trainer.gradcheck("book_layers.py:TimeRNN")
    page = (ROOT / "docs" / "plugins.md").read_text()
    block, = [b for b in re.findall(r"```text\n(.*?)```", page, re.S) if "book_layers.py" in b]
    assert [line.rstrip() for line in result.diagnosis] == block.rstrip().splitlines()


def test_float32_with_a_wrong_backward_is_not_called_its_only_fault(here):
    source = (here / "book.py").read_text().replace(STATE, STATE_FIXED)
    assert "dt = dh_next * (1 - h_next ** 2)" in source
    (here / "both.py").write_text(source.replace("dt = dh_next * (1 - h_next ** 2)",
                                                 "dt = (1 - h_next ** 2)"))
    text = "\n".join(trainer.gradcheck("both.py:TimeRNN").diagnosis)
    assert "its gradients differ from the package's rnn's" in text
    line = refused("model.cell=both.py:TimeRNN")
    assert "change dtype='f' to dtype=Wx.dtype at both.py:" in line
    assert "trains it as it is" not in line and "after the dtype, check it again" in line
