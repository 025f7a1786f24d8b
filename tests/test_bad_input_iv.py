"""Reliability IV (issue 33, part B): the bad inputs that were left, each one line with the right
exit status (2 bad input, 1 failure), nothing half-written and no traceback; and the odd but good
inputs that must work (a numpy scalar in a baseline, a BOM or a coding line in a plug-in)."""
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

BASE_TASK = '''import numpy as np
from trainer.tasks import Key, StreamTask
METRIC = "accuracy"
KEYS = {"length": Key(800, "steps", min=2, max=1e7), "val_length": Key(200, "v", min=2, max=1e7)}
def make(cfg, rng):
    n, m = cfg["length"], cfg["val_length"]
    s = rng.integers(0, 4, n + m + 1)
    x, y = s[1:], s[:-1]
    b = {"train_loss": float(np.log(4)), "val_loss": float(np.log(4)), "val_accuracy": 0.25}
    return StreamTask("t", "classification", METRIC, x[:n], y[:n], x[n:], y[n:], 4, 4, b, "guess")
'''
EPISODES = '''
from trainer.tasks import EpisodeTask, Batch
def make(cfg, rng):
    def sample(r, k):
        x = r.integers(0, 4, (k, 5))
        return Batch(x, x, np.ones((k, 5)), np.ones((k, 5)))
    b = {"train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.25}
    return EpisodeTask("e", "classification", METRIC, True, 4, 4, 5, 3, sample,
                       sample(rng, 4), b, "guess")
'''
REGRESSION = '''
def make(cfg, rng):
    x = rng.standard_normal((cfg["length"] + cfg["val_length"], 1)) * SCALE
    b = {"train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 1.0}
    n = cfg["length"]
    return StreamTask("t", "regression", METRIC, x[:n], x[:n], x[n:], x[n:], 1, 1, b, "zero")
'''


def edit(*pairs):
    src = BASE_TASK
    for old, new in pairs:
        assert old in src, old
        src = src.replace(old, new)
    return src


def add(text):
    return BASE_TASK + text


# name -> (plug-in source, text the one line must hold)
BAD_TASKS = {
    "make returns lists": (edit(("x[:n], y[:n]", "list(x[:n]), list(y[:n])")),
                           "train_x: a list, expected a numpy array"),
    "episode mask a list": (add(EPISODES.replace("np.ones((k, 5)), np.ones", "[[1] * 5] * k, np.ones")),
                            "mask: a list, expected a numpy array"),
    "footprint returns None": (add("def footprint(cfg):\n    return None\n"),
                               "footprint(task_cfg) returned None"),
    "footprint returns a 2-tuple": (add("def footprint(cfg):\n    return (10, None)\n"),
                                    "footprint(task_cfg) returned (10, None)"),
    "Key(None)": (edit(('"val_length": Key', '"z": Key(None, "z"), "val_length": Key')),
                  "KEYS['z']: its default is None"),
    "a key with a list default": (edit(('"val_length": Key', '"z": Key([1, 2], "z"), "val_length": Key')),
                                  "KEYS['z']: its default is [1, 2] (a list)"),
    "a text key named length": (edit(('"length": Key(800, "steps", min=2, max=1e7)',
                                      '"length": Key("abc", "t"), "n": Key(800, "n", min=2)'),
                                     ('cfg["length"]', 'cfg["n"]')),
                                "KEYS['length']: the trainer reads task.length"),
    "values above float32's range": (add(REGRESSION.replace("SCALE", "1e30")).replace(
        '"accuracy"', '"mse"').replace("val_accuracy", "val_mse"), "beyond 1.8e+19"),
    "a stream shorter than a batch of windows": (edit(("x[:n], y[:n]", "x[:20], y[:20]")),
                                                 "train.bptt: 10 steps per window does not fit"),
    "train_size below the batch": (add(EPISODES), "does not fit the task's train_size 3"),
    **{f"METRIC = {m!r}": (edit(('METRIC = "accuracy"', f'METRIC = "{m}"'),
                                ('"val_accuracy"', f'"val_{m}"')), f"METRIC is {m!r}, the name of a column")
       for m in ("step", "loss", "lr", "epoch", "split", "grad_norm", "elapsed_s")},
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[train]\nepochs = 1\nbatch_size = 4\nbptt = 10\n"
                                     "[model]\nhidden = 8\nembed = 4\n")
    return tmp_path


def snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_fifo() else None)
            for p in sorted(Path(root).rglob("*"))}


def one_line(result, code=2):
    assert result.exit_code == code, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].isprintable(), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def train(*args):
    return CliRunner().invoke(main, ["--config", "c.toml", "--runs-dir", "runs", "--quiet",
                                     *map(str, args)])


@pytest.mark.parametrize("case", list(BAD_TASKS))
def test_a_bad_plugin_task_is_one_line_and_writes_nothing(folder, case):
    source, expected = BAD_TASKS[case]
    (folder / "t.py").write_text(source)
    before = snapshot(folder)
    line = one_line(train("--set", "task.name=t.py"))
    assert expected in line
    assert snapshot(folder) == before and not (folder / "runs").exists()


def special_file(folder, kind):
    if kind == "FIFO":
        os.mkfifo(folder / "t.py")
    else:
        (folder / "t.py").symlink_to("/dev/zero")


@pytest.mark.parametrize("kind,expected", [("FIFO", "is a FIFO"), ("device", "is a device")])
@pytest.mark.parametrize("spec", ["task.name=t.py", "model.cell=t.py:C"])
def test_a_plugin_path_that_is_a_fifo_or_a_device_is_refused_at_once(folder, kind, expected, spec):
    special_file(folder, kind)
    line = one_line(train("--set", spec))   # it used to wait for a writer forever
    assert expected in line and not (folder / "runs").exists()


GOOD_TASKS = {
    "baseline figures as numpy scalars": edit(('"val_accuracy": 0.25', '"val_accuracy": np.float32(0.25)'),
                                              ('"val_loss": float(np.log(4))', '"val_loss": np.log(4)')),
    "a UTF-8 BOM": "\ufeff" + BASE_TASK,
    "a PEP 263 coding line": "# -*- coding: latin-1 -*-\n# café\n" + BASE_TASK,
}


@pytest.mark.parametrize("case", list(GOOD_TASKS))
def test_odd_but_good_plugin_tasks_train(folder, case):
    data = GOOD_TASKS[case]
    (folder / "t.py").write_bytes(data.encode("latin-1" if "coding" in case else "utf-8"))
    result = train("--set", "task.name=t.py", "--name", "r")
    assert result.exit_code == 0, (result.output, result.exception)
    import json
    s = json.loads((folder / "runs" / "r" / "summary.json").read_text())
    assert s["status"] == "completed" and s["baseline"]["val_accuracy"] == 0.25


def test_a_plugin_with_a_coding_line_gets_to_a_worker_as_the_same_source(folder):
    """The source handed to a worker (sha256 -> text) loads back to the very bytes pinned."""
    from trainer.plugins import source
    raw = ("# -*- coding: latin-1 -*-\n# café\n" + BASE_TASK).encode("latin-1")
    (folder / "t.py").write_bytes(raw)
    _, sha, text = source.load_file("task", folder / "t.py")
    _, sha2, _ = source.load_file("task", folder / "elsewhere.py", text)
    bom = ("\ufeff" + BASE_TASK).encode("utf-8")
    (folder / "b.py").write_bytes(bom)
    _, sha3, text3 = source.load_file("task", folder / "b.py")
    assert sha2 == sha and source.load_file("task", folder / "x.py", text3)[1] == sha3


# --- plug-in cells and gradcheck -------------------------------------------------------------

def cell_returning(folder, what):
    """The example cell with forward or backward returning a list."""
    root = Path(__file__).resolve().parents[1]
    src = (root / "examples" / "my_rnn.py").read_text()
    lines = src.splitlines()
    if what == "forward":
        assert "        return hs" in lines
        lines[lines.index("        return hs")] = "        return hs.tolist()"
    else:
        i = max(i for i, line in enumerate(lines) if line.strip() == "return dxs")
        lines[i] = lines[i].replace("return dxs", "return list(dxs)")
    (folder / "c.py").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_gradcheck_flags_a_cell_that_returns_a_list(folder, method):
    cell_returning(folder, method)
    line = one_line(CliRunner().invoke(main, ["gradcheck", "c.py:MyRNN"]))
    assert f"{method}(" in line and "a list, expected a numpy array" in line
    line = one_line(train("--set", "model.cell=c.py:MyRNN"))   # and training refuses it
    assert "a list, expected a numpy array" in line and not (folder / "runs").exists()


PACKAGE_CELLS = ["trainer.layers.rnn:TimeRNN", "trainer.layers.lstm:TimeLSTM",
                 "trainer.layers.gru:TimeGRU", "trainer.layers:TimeLSTM",
                 "trainer.layers.peephole_lstm:TimePeepholeLSTM", "trainer.layers.textbook:TimeRNN"]
# the book's TimeLSTM and TimeGRU (trainer.layers.textbook) keep the book's shape, without
# `gates`: tests/test_student_messages.py holds that gradcheck tells a student to set it


@pytest.mark.parametrize("spec", PACKAGE_CELLS)
def test_the_package_own_layers_pass_gradcheck_by_module_and_class(spec):
    result = CliRunner().invoke(main, ["gradcheck", spec])
    assert result.exit_code == 0, result.output
    assert "checks passed" in result.stdout.splitlines()[-1]


def test_gradcheck_refuses_sizes_it_could_not_answer_in_reasonable_time():
    import time
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["gradcheck", "lstm", "--hidden", "64", "--inputs", "64",
                                       "--batch", "64", "--steps", "64"])
    line = one_line(result)   # it printed nothing for minutes
    assert "lower --hidden" in line and "hours" in line and result.stdout == ""
    assert time.perf_counter() - start < 10


def test_gradcheck_sizes_it_accepts_answer_within_the_estimate():
    from trainer.checks.cell_check import MAX_SECONDS, estimate_seconds
    from trainer.plugins.cells import resolve
    sizes = {"D": 8, "H": 8, "N": 4, "T": 8}
    cell = resolve("textbook-lstm")   # the slowest package layer: a cell object per step
    result = CliRunner().invoke(main, ["gradcheck", "textbook-lstm", "--hidden", "8", "--inputs", "8",
                                       "--batch", "4", "--steps", "8"])
    assert result.exit_code == 0
    took = float(result.stdout.split(" in ")[-1].split()[0])
    assert estimate_seconds(sizes, 4)[1] < MAX_SECONDS and took < 4 * estimate_seconds(sizes, 4)[1] + 1
    assert cell.gates == 4


# --- a full disk under the standard output ---------------------------------------------------

FULL_DISK_COMMANDS = {
    "gradcheck": ["gradcheck", "rnn"],
    "tasks": ["tasks"],
}


def full_stdout(args, cwd=None):
    import subprocess
    import sys
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "trainer", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("case", list(FULL_DISK_COMMANDS))
def test_a_full_disk_under_the_standard_output_is_one_line_exit_1(case):
    done = full_stdout(FULL_DISK_COMMANDS[case])
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], done.stderr


# --- names: an entry point named like a built-in ---------------------------------------------

@pytest.fixture
def shadowing(tmp_path, monkeypatch):
    """An installed distribution whose entry points are named sine (a task) and lstm (a cell)."""
    root = Path(__file__).resolve().parents[1] / "examples"
    site = tmp_path / "site"
    info = site / "shadow-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rnn_trainer.tasks]\nsine = delayed_recall\n\n"
                                           "[rnn_trainer.cells]\nlstm = my_rnn:MyRNN\n")
    for name in ("delayed_recall.py", "my_rnn.py"):
        (site / name).write_text((root / name).read_text())
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.mark.parametrize("command,name,picks", [("tasks", "sine", "task.name = 'delayed_recall'"),
                                                ("cells", "lstm", "model.cell = 'my_rnn:MyRNN'")])
def test_an_entry_point_named_like_a_built_in_is_listed_as_shadowed(shadowing, command, name, picks):
    result = CliRunner().invoke(main, [command])
    assert result.exit_code == 0, (result.output, result.exception)   # tasks crashed
    lines = [line for line in result.stdout.splitlines() if line.startswith(name)]
    assert len(lines) == 2, result.stdout
    assert "built-in" in lines[0] and "shadowed by the built-in" in lines[1] and picks in lines[1]


def test_a_shadowed_name_picks_the_built_in(shadowing):
    from trainer.plugins import cells, tasks
    assert tasks.resolve("sine").found is None and cells.resolve("lstm").found is None
    assert tasks.resolve("delayed_recall").found is not None


# --- train table of hand-edited run files ----------------------------------------------------

@pytest.fixture
def sweep_copy(small_sweep, tmp_path):
    """A copy of the shared small sweep (4 tiny sine runs: bptt 5 and 10, seeds 0 and 1) with
    train.target set in every run's config, to edit by hand."""
    import shutil
    out = tmp_path / "s"
    shutil.copytree(small_sweep, out, symlinks=True)
    for run in out.iterdir():
        if (run / "config.toml").is_file():
            cfg = run / "config.toml"
            cfg.write_text(cfg.read_text().replace("target = -1.0", "target = 0.5"))
            edit_summary(run, lambda d: d.update(target={"epoch": 1, "step": 10, "value": 0.1,
                                                          "goal": 0.5}))
    return out


def edit_summary(run, change, raw=None):
    import json
    d = json.loads((run / "summary.json").read_text())
    change(d)
    text = json.dumps(d)
    for old, new in (raw or {}).items():
        text = text.replace(old, new)
    (run / "summary.json").write_text(text)


def table(*args):
    return CliRunner().invoke(main, ["table", *map(str, args)])


def notes_and_table(result):
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Traceback" not in result.output
    notes = result.stderr.strip().splitlines()
    assert all(n.startswith("note: ") and n.isprintable() for n in notes), result.stderr
    return notes


def set_sweep_file(s, text):
    (s / "sweep.toml").write_text(text)


TABLE_EDITS = {   # name -> (edit of the sweep copy, text of the one note)
    "a figure of 1e400": (lambda s: edit_summary(s / "bptt=5-seed=0", lambda d: d["final"].update(
        val_mse="BIG"), {'"BIG"': "1e400"}), "final val_mse is inf, not a finite number"),
    'target: {"epoch": 1}': (lambda s: edit_summary(s / "bptt=5-seed=0", lambda d: d.update(
        target={"epoch": 1})), "target is an object, expected"),
    "sweep.toml: sweep = 3": (lambda s: set_sweep_file(s, "sweep = 3\n"),
                              "'sweep' is 3, expected a [sweep] table"),
    "sweep.toml: params = 3": (lambda s: set_sweep_file(s, "[sweep]\nseeds = [0, 1]\nparams = 3\n"),
                               "sweep.params is 3, expected a table of swept keys"),
    "sweep.toml: params = [..]": (lambda s: set_sweep_file(s, '[sweep]\nparams = ["train.bptt"]\n'),
                                  "sweep.params is ['train.bptt'], expected a table"),
}


@pytest.mark.parametrize("case", list(TABLE_EDITS))
@pytest.mark.parametrize("form", [[], ["--csv"], ["--markdown"]])
def test_table_of_hand_edited_run_files_is_one_note(sweep_copy, case, form):
    change, expected = TABLE_EDITS[case]
    change(sweep_copy)
    notes = notes_and_table(table(sweep_copy, *form))
    assert len(notes) == 1 and expected in notes[0], notes


def test_table_escapes_a_metric_name_and_a_swept_key_for_the_terminal(sweep_copy):
    set_sweep_file(sweep_copy, '[sweep]\nseeds = [0, 1]\n[sweep.params]\n"train.\\u001b[31mbptt" = [5]\n')
    for run in sweep_copy.iterdir():
        if run.is_dir() and (run / "summary.json").exists():
            edit_summary(run, lambda d: (d.update(metric="m\x1b]0;x\x07"),
                                         d["final"].update({"val_m\x1b]0;x\x07": 0.5})))
    for form in ([], ["--markdown"], ["--csv"]):
        result = table(sweep_copy, *form)
        assert result.exit_code == 0, (result.output, result.exception)
        assert "\x1b" not in result.output and "\x07" not in result.output, result.output
        assert "\\x1b" in result.stdout


@pytest.mark.parametrize("args,expected", [
    (lambda s, e: [s, "--figure", "val_nothing"], "no run reports val_nothing"),
    (lambda s, e: [e], "holds no runs"),
])
def test_table_with_nothing_to_table_says_it_in_one_line(sweep_copy, tmp_path, args, expected):
    (tmp_path / "empty").mkdir()
    line = one_line(table(*args(sweep_copy, tmp_path / "empty")))   # it said it three times
    assert line.startswith("error: no runs to table") and expected in line


def test_a_stream_run_steps_never_count_as_sequences_to_target(sweep_copy):
    """Beside an episode run (whose target counts sequences), a stream run's steps are left out
    of the median sequences, not counted as sequences."""
    edit_summary(sweep_copy / "bptt=5-seed=0", lambda d: d.update(
        target={"epoch": 1, "step": 10, "sequences": 40, "value": 0.1, "goal": 0.5}))
    result = table(sweep_copy, "--csv")
    assert result.exit_code == 0, result.output
    import csv
    import io
    rows = {r["train.bptt"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["5"]["target_median_sequences"] == "40.0"      # not the median of 40 and 10
    assert rows["10"]["target_median_sequences"] == ""         # stream runs only: no sequences
    assert "target_median_steps" not in rows["5"]


def test_a_full_disk_under_table_csv_is_one_line_exit_1(sweep_copy):
    done = full_stdout(["table", str(sweep_copy), "--csv"])
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], done.stderr


# --- LSTM options that would do nothing, or fail after the run was made ----------------------

LSTM_OPTIONS = {
    "chrono with train.bptt = 1": (["model.cell=lstm", "model.init_gates=chrono", "train.bptt=1"],
                                   "spans train.bptt (1 step)"),
    "chrono with train.bptt = 1 (textbook)": (["model.cell=textbook-lstm", "model.init_gates=chrono",
                                               "train.bptt=1"], "spans train.bptt (1 step)"),
    "forget_bias on a GRU": (["model.cell=gru", "model.forget_bias=2"], "model.forget_bias: "),
    "forget_bias on an RNN": (["model.forget_bias=0.5"], "model.forget_bias: "),
    "chrono_tmax without chrono": (["model.cell=lstm", "model.chrono_tmax=50"],
                                   "model.chrono_tmax: an option of model.init_gates = 'chrono'"),
    "forget_bias with chrono": (["model.cell=lstm", "model.init_gates=chrono", "model.forget_bias=3"],
                                "chrono initialisation draws the forget gate's bias itself"),
}


@pytest.mark.parametrize("case", list(LSTM_OPTIONS))
def test_lstm_options_that_do_nothing_or_cannot_work_are_refused_up_front(folder, case):
    sets, expected = LSTM_OPTIONS[case]
    args = [a for s in sets for a in ("--set", s)]
    line = one_line(CliRunner().invoke(main, ["--config", "sine", "--runs-dir", "runs", *args]))
    assert expected in line and not (folder / "runs").exists()


def test_chrono_on_a_plugin_stream_with_bptt_1_is_refused_before_the_run_is_made(folder):
    (folder / "t.py").write_text(BASE_TASK)
    line = one_line(train("--set", "task.name=t.py", "--set", "model.cell=lstm", "--set",
                          "model.init_gates=chrono", "--set", "train.bptt=1"))
    assert "spans train.bptt (1 step)" in line and not (folder / "runs").exists()


def test_the_lstm_options_still_train_where_they_act(folder):
    for sets in (["model.cell=lstm", "model.forget_bias=2"],
                 ["model.cell=lstm", "model.init_gates=chrono", "model.chrono_tmax=8"],
                 ["model.cell=lstm", "model.init_gates=chrono", "train.bptt=2"]):
        args = [a for s in sets for a in ("--set", s)]
        result = train("--set", "task.name=sine", "--set", "task.length=200", *args)
        assert result.exit_code == 0, (sets, result.output)


# --- stop_at_target and --epochs --------------------------------------------------------------

@pytest.mark.parametrize("epochs", [1, 3])   # met at its last epoch; met before it
def test_a_run_that_met_its_target_trains_no_further_with_epochs(folder, epochs):
    import json
    result = CliRunner().invoke(main, [
        "--config", "sine", "--runs-dir", "runs", "--name", "a", "--quiet", "--set",
        "task.length=800", "--set", "train.batch_size=8", "--set", f"train.epochs={epochs}",
        "--set", "train.target=10", "--set", "train.stop_at_target=true"])
    assert result.exit_code == 0, result.output
    run = folder / "runs" / "a"
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert json.loads(before["summary.json"])["target"]["epoch"] == 1
    result = CliRunner().invoke(main, ["resume", str(run), "--epochs", "5"])
    assert result.exit_code == 0 and "it met train.target 10" in result.stderr, result.output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


# --- scripts/literature.py passes train's own reason on ---------------------------------------

@pytest.mark.parametrize("args,expected", [(["--workers", "0"], "--workers"),
                                           (["--runs-dir", "FILE"], "--runs-dir FILE")])
def test_literature_script_bad_arguments_are_train_own_one_line(tmp_path, args, expected):
    import subprocess
    import sys
    (tmp_path / "FILE").write_text("")
    script = Path(__file__).resolve().parents[1] / "scripts" / "literature.py"
    if "--runs-dir" not in args:
        args = [*args, "--runs-dir", str(tmp_path / "lit")]
    done = subprocess.run([sys.executable, str(script), "--quick", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


# --- the report: page data that survives any run file, no writes through planted links --------

def page_data(page):
    import json
    import re
    text = Path(page).read_text()
    m = re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "no data element"
    return json.loads(m[1].replace("\\u003c", "<"))   # what JSON.parse reads


@pytest.mark.parametrize("name,value", [("__SCRIPT__", "x"), ("r", "__STYLE__"), ("__DATA__", "__CSP__"),
                                        ("__TITLE__", "</script><script>alert(1)</script>")])
def test_the_report_page_data_survives_any_text_a_run_file_holds(sweep_copy, tmp_path, name, value):
    run = sweep_copy / "bptt=5-seed=0"
    edit_summary(run, lambda d: d.update(baseline_name=value))
    run.rename(sweep_copy / name)
    result = CliRunner().invoke(main, ["report", str(sweep_copy), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "rep" / "report.html").read_text()
    assert text.count("<script") == 3 and text.count("</script>") == 3   # plotly, data, script
    data = page_data(tmp_path / "rep" / "report.html")
    assert name in json_text(data) and value in json_text(data)


def json_text(data):
    import json
    return json.dumps(data, ensure_ascii=False)


def test_a_report_never_writes_through_links_planted_in_its_folder(sweep_copy, tmp_path):
    out = sweep_copy / "report"   # the sweep's own (live) report folder
    assert CliRunner().invoke(main, ["report", str(sweep_copy)]).exit_code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = {}
    for link in [out / "plotly.min.js", out / ".report.html.tmp", *sorted((out / "img").iterdir())]:
        target = outside / link.name
        target.write_text("precious")
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        planted[link] = target
    assert len(planted) >= 3
    result = CliRunner().invoke(main, ["report", str(sweep_copy)])
    assert result.exit_code == 0, result.output
    assert all(t.read_text() == "precious" for t in planted.values())
    for link in planted:
        if link.name != ".report.html.tmp":
            assert link.is_file() and not link.is_symlink()


def test_a_report_folder_that_is_a_symlink_into_a_run_is_refused(sweep_copy, tmp_path):
    import shutil
    shutil.rmtree(sweep_copy / "report", ignore_errors=True)
    run = sweep_copy / "bptt=5-seed=0"
    before = snapshot(run)
    (sweep_copy / "report").symlink_to(run)
    line = one_line(CliRunner().invoke(main, ["report", str(sweep_copy)]))
    assert "symbolic link" in line and snapshot(run) == before


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs: room for a sweep's runs, not for plotly.min.js (skipped without mount)."""
    import subprocess
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_sweep_whose_live_report_cannot_be_written_completes_every_run(small_disk, tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_configs import TINY_SINE
    (tmp_path / "base.toml").write_text(TINY_SINE)
    (tmp_path / "sweep.toml").write_text('base = "base.toml"\n[sweep]\nseeds = [0, 1]\n'
                                         '[sweep.params]\n"train.bptt" = [5, 10]\n')
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "sweep.toml"), "--workers", "1",
                                       "--runs-dir", str(small_disk), "--name", "s"])
    assert result.exit_code == 0, result.output      # it stopped with 0 of 4 runs done
    assert "4 completed" in result.output
    said = [line for line in result.stderr.splitlines() if "the sweep's report" in line]
    assert len(said) == 1 and "No space left on device" in said[0], result.stderr


def test_a_new_folder_left_by_a_kill_is_no_run_to_ls_table_or_the_report(sweep_copy, tmp_path):
    """A run SIGKILLed in its first milliseconds leaves .new-… with its config.toml."""
    import shutil
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(sweep_copy / "bptt=5-seed=0", runs / "good")
    half = runs / ".new-0123456789ab"
    half.mkdir()
    shutil.copy(sweep_copy / "bptt=5-seed=0" / "config.toml", half / "config.toml")
    inner = sweep_copy / ".new-ba9876543210"
    inner.mkdir()
    shutil.copy(sweep_copy / "bptt=5-seed=0" / "config.toml", inner / "config.toml")
    for root in (runs, sweep_copy):
        ls = CliRunner().invoke(main, ["ls", str(root), "--expand"] if root == sweep_copy else
                                ["ls", str(root)])
        assert ls.exit_code == 0 and ".new-" not in ls.output, ls.output
    result = CliRunner().invoke(main, ["report", str(runs), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0 and ".new-" not in (tmp_path / "rep" / "report.html").read_text()
    tab = CliRunner().invoke(main, ["table", str(sweep_copy)])
    assert tab.exit_code == 0 and ".new-" not in tab.output and "no summary" not in tab.output


# --- generate, eval and the Python API: BadInput, never a numpy or pandas error ----------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny sine run, a tiny counting run (tokens: sampling) and a tiny anbn run."""
    root = tmp_path_factory.mktemp("trained")
    small = {"sine": ["task.length=800", "train.batch_size=8"], "counting": [], "anbn": []}
    for name, sets in small.items():
        args = ["--config", name, "--runs-dir", str(root), "--name", name, "--quiet",
                "--set", "train.epochs=1", *[a for s in sets for a in ("--set", s)]]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    return root


def test_generate_at_a_temperature_so_small_the_logits_overflow_takes_the_argmax(trained, tmp_path):
    result = CliRunner().invoke(main, ["generate", str(trained / "counting"), "--steps", "20",
                                       "--temperature", "1e-310", "--out", str(tmp_path / "g.txt")])
    assert result.exit_code == 0, (result.output, result.exception)   # Probabilities contain NaN
    zero = CliRunner().invoke(main, ["generate", str(trained / "counting"), "--steps", "20",
                                     "--out", str(tmp_path / "z.txt")])
    assert (tmp_path / "g.txt").read_text() == (tmp_path / "z.txt").read_text()


@pytest.mark.parametrize("run,sets,expected", [
    ("sine", ["task.val_length=1000000000"], "of memory"),
    ("anbn", ["task.n_test_max=100000"], "of memory"),
])
def test_eval_of_data_beyond_memory_is_refused_with_the_estimate(trained, run, sets, expected):
    before = snapshot(trained / run)
    args = ["eval", str(trained / run), *[a for s in sets for a in ("--set", s)]]
    line = one_line(CliRunner().invoke(main, args))   # a MemoryError traceback
    assert expected in line and "GiB" in line or "TiB" in line
    assert snapshot(trained / run) == before


def api_cases():
    import trainer
    return {
        "generate(2.5)": (lambda t: trainer.load_run(t / "counting").generate(2.5), "steps 2.5"),
        "generate(True)": (lambda t: trainer.load_run(t / "counting").generate(True), "steps True"),
        "generate(temperature=nan)": (lambda t: trainer.load_run(t / "counting").generate(
            5, temperature=float("nan")), "temperature nan"),
        "generate(temperature=-1)": (lambda t: trainer.load_run(t / "counting").generate(
            5, temperature=-1), "temperature -1"),
        "generate(temperature='hot')": (lambda t: trainer.load_run(t / "counting").generate(
            5, temperature="hot"), "temperature 'hot'"),
        "train overrides as a list": (lambda t: trainer.train("sine", overrides=["train.bptt=4"],
                                                              runs_dir=t / "new"), "got a list"),
        "train overrides as a string": (lambda t: trainer.train("sine", overrides="train.bptt=4",
                                                                runs_dir=t / "new"), "got a str"),
        "train name not a string": (lambda t: trainer.train("sine", name=7, runs_dir=t / "new"),
                                    "name: expected a run name (a string), got int"),
        "metrics of a half-written run": (lambda t: half_written(t).metrics, "metrics.csv: missing"),
        "metrics torn to garbage": (lambda t: garbage_metrics(t).metrics, "metrics.csv: cannot be read"),
    }


def half_written(t):
    import shutil
    import trainer
    run = t / "half"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(t / "sine", run)
    (run / "metrics.csv").unlink()
    return trainer.load_run(run)


def garbage_metrics(t):
    import shutil
    import trainer
    run = t / "garbage"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(t / "sine", run)
    (run / "metrics.csv").write_bytes(b"step,epoch\n1,2\n3,4,5,6,7\n")
    return trainer.load_run(run)


@pytest.mark.parametrize("case", ["generate(2.5)", "generate(True)", "generate(temperature=nan)",
                                  "generate(temperature=-1)", "generate(temperature='hot')",
                                  "train overrides as a list", "train overrides as a string",
                                  "train name not a string", "metrics of a half-written run",
                                  "metrics torn to garbage"])
def test_the_python_api_raises_bad_input(trained, tmp_path, case):
    import shutil
    from trainer.errors import BadInput
    work = tmp_path / "w"
    shutil.copytree(trained, work)
    call, expected = api_cases()[case]
    with pytest.raises(BadInput) as e:
        call(work)
    assert expected in str(e.value) and "\n" not in str(e.value)
    assert not (work / "new").exists()


# --- stderr closed ------------------------------------------------------------------------------

def test_train_with_stderr_closed_finishes_and_leaves_nothing_running(tmp_path):
    """`train ... 2>&-`: the run's lock took descriptor 2 (it hung in 5 of 8 tries)."""
    import subprocess
    import sys
    for i in range(3):
        done = subprocess.run(
            [sys.executable, "-m", "trainer", "--config", "sine", "--set", "task.length=800",
             "--set", "train.batch_size=8", "--set", "train.epochs=1", "--runs-dir",
             str(tmp_path / "runs"), "--name", f"r{i}", "--quiet"],
            stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), timeout=120, cwd=tmp_path)
        assert done.returncode == 0
        import json
        assert json.loads((tmp_path / "runs" / f"r{i}" / "summary.json").read_text())["status"] == \
            "completed"
        assert b"Traceback" not in (tmp_path / "runs" / f"r{i}" / ".lock").read_bytes()
    bad = subprocess.run([sys.executable, "-m", "trainer", "--config", "nope.toml"],
                         preexec_fn=lambda: os.close(2), timeout=60, cwd=tmp_path,
                         capture_output=False, stdout=subprocess.PIPE)
    assert bad.returncode == 2


# --- Dask: a worker that dies with no nanny, a scheduler that greets and stalls -----------------

STALLING_SERVER = '''import socket, struct
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(5)
print(s.getsockname()[1], flush=True)
kept = []
while True:
    c, _ = s.accept(); kept.append(c)
    c.sendall(struct.pack("<Q", 8) + struct.pack("<Q", 1))   # Dask's first bytes, then nothing
'''


def test_a_scheduler_that_greets_like_dask_and_stalls_is_one_line_in_time(tmp_path):
    pytest.importorskip("distributed")
    import subprocess
    import sys
    import time
    (tmp_path / "server.py").write_text(STALLING_SERVER)
    server = subprocess.Popen([sys.executable, str(tmp_path / "server.py")], stdout=subprocess.PIPE,
                              text=True)
    try:
        port = server.stdout.readline().strip()
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "trainer", "sweep", "--config", "sine",
                               "--seeds", "0-1", "--scheduler", f"tcp://127.0.0.1:{port}",
                               "--runs-dir", str(tmp_path / "runs")], capture_output=True,
                              text=True, timeout=90)
        took = time.monotonic() - start
    finally:
        server.kill()
        server.wait()
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Dask scheduler" in lines[0], done.stderr
    assert took < 15 and not (tmp_path / "runs").exists()   # a traceback after 20 s


def test_a_sweep_whose_only_worker_is_killed_stops_in_one_line(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import signal
    import sys
    import threading
    import time
    sys.path.insert(0, str(Path(__file__).parent))
    from test_sweep_dask import _start
    from tiny_configs import TINY_SINE
    from trainer.sweeps import dask_cluster
    monkeypatch.setattr(dask_cluster, "NO_WORKER_S", 3, raising=False)
    scheduler, line = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                              "0", "--no-dashboard"], "Scheduler at:")
    address = line.split("Scheduler at:")[1].split()[0]
    worker = None
    try:
        worker, _ = _start(["distributed.cli.dask_worker", address, "--no-nanny", "--nthreads", "1",
                            "--no-dashboard"], "Starting established connection")
        (tmp_path / "base.toml").write_text(TINY_SINE.replace("epochs = 1", "epochs = 20000"))
        (tmp_path / "sweep.toml").write_text('base = "base.toml"\n[sweep]\nseeds = [0, 1, 2]\n')
        threading.Timer(4, lambda: os.kill(worker.pid, signal.SIGKILL)).start()
        start = time.monotonic()
        result = CliRunner().invoke(main, ["sweep", str(tmp_path / "sweep.toml"), "--scheduler",
                                           address, "--runs-dir", str(tmp_path / "runs"),
                                           "--name", "d", "--quiet"])
        took = time.monotonic() - start
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.kill()
                proc.wait()
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, result.output   # it waited for ever
    assert len(lines) == 1 and "has had no worker for 3 s" in lines[0], result.stderr
    import re
    assert re.search(r"[0-2] of 3 runs done, [1-3] left", lines[0]) and took < 60
