"""train report, train ls and compare: what the report folder holds, listings, and the figures
fixed with them (anbn by n, parity's inputs, no pyplot, no warnings, the epoch lines)."""
import ast
import csv
import io
import json
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tiny_configs import TINY_SINE
from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]


def invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def page_data(page):
    text = Path(page).read_text()
    return json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', text,
                                re.S).group(1).replace("<\\/", "</"))


def test_a_sweep_writes_its_own_offline_report(small_sweep):
    report = small_sweep / "report"
    assert sorted(p.name for p in report.iterdir()) == ["img", "plotly.min.js", "report.html"]
    text = (report / "report.html").read_text()
    assert '<script src="plotly.min.js"></script>' in text
    assert not re.search(r'(src|href)="(https?:)?//', text)          # nothing fetched from outside
    assert text.count("Plotly.newPlot") == 1                         # plotly.js is not embedded
    data = page_data(report / "report.html")
    assert len(data["table"]["rows"]) == 4 and len(data["runs"]) == 4
    assert data["state"].startswith("finished") and not data["going"]
    assert data["table"]["columns"][:5] == ["run", "status", "task", "cell", "train.bptt"]
    ids = [c["id"] for c in data["charts"]]
    assert ids == ["curve-train", "curve-val", "final-train.bptt", "parallel", "variance"]
    # grouped by the swept value: a mean line per bptt and no legend entry per run
    names = [t.get("name") for t in data["charts"][1]["spec"]["data"] if t.get("showlegend", True)]
    assert "bptt=5 (mean of 2)" in names and "bptt=10 (mean of 2)" in names
    assert all(r["image"] and (report / r["image"]).is_file() for r in data["runs"])
    # each run's provenance, for its section: the BLAS kernel that made its bits among it
    assert all(r["env"]["blas"] is not None and r["env"]["numpy"] for r in data["runs"])


def test_a_sweeps_report_says_it_is_still_going_and_is_rewritten_as_runs_land(small_sweep, tmp_path):
    import shutil
    from trainer.reports.live import LiveReport
    sweep = tmp_path / "s"
    sweep.mkdir()
    for name in ("sweep.toml", "results.csv"):
        shutil.copyfile(small_sweep / name, sweep / name)
    live = LiveReport(sweep)
    live.update()                                                    # as the sweep starts
    data = page_data(sweep / "report" / "report.html")
    assert data["going"] and data["state"] == ("still going (the sweep is running): 4 of the "
                                               "sweep's 4 runs not started")
    shutil.copytree(small_sweep / "bptt=5-seed=0", sweep / "bptt=5-seed=0")
    live.update()                       # right after a rewrite: skipped (ten times its duration)
    assert page_data(sweep / "report" / "report.html")["runs"] == []
    live.update(final=True)                                          # the last one always lands
    data = page_data(sweep / "report" / "report.html")
    assert live.error is None and len(data["runs"]) == 1
    assert data["state"] == "finished: 1 completed; 3 of the sweep's 4 runs not started"


def test_report_skips_what_is_not_a_run_and_never_reads_its_own_folder(small_sweep, tmp_path):
    stray = tmp_path / "notes"
    stray.mkdir()
    out = tmp_path / "r"
    result = invoke(["report", str(small_sweep), str(stray), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out / 'report.html'}\n"
    assert "notes: not a run directory" in result.stderr
    bad = invoke(["report", str(stray)])
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "no runs to report" in bad.stderr


def test_compare_output_never_lands_among_the_runs_it_reads(small_sweep, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = sorted(str(p) for p in small_sweep.iterdir())             # runs, plots, report/ ...
    for _ in range(2):                                               # the same glob works again
        result = invoke(["compare", *runs])
        assert result.exit_code == 0, result.output
    outs = sorted((tmp_path / "reports").iterdir())
    assert len(outs) == 2 and all((o / "report.html").is_file() and (o / "results.csv").is_file()
                                  for o in outs)
    assert len(page_data(outs[1] / "report.html")["runs"]) == 4


def test_variance_explained_is_the_share_of_each_keys_groups():
    from trainer.reports.figures import variance_explained
    recs = [{"config": {"a": a, "b": b}, "summary": {"final": {"val_accuracy": 0.5 + 0.1 * a}}}
            for a in range(3) for b in range(2)]
    shares, n, used_log = variance_explained(recs, ["a", "b"], "val_accuracy")
    assert n == 6 and not used_log
    assert abs(shares["a"] - 1.0) < 1e-12 and abs(shares["b"]) < 1e-12


def test_ls_one_line_per_run_a_sweep_as_one_line_within_80_columns(small_sweep, tmp_path,
                                                                    monkeypatch):
    import trainer.cli.ls
    monkeypatch.setattr(trainer.cli.ls, "terminal_columns", lambda: 81)   # an 80-column terminal
    runs = small_sweep.parent
    (tmp_path / "tiny.toml").write_text(TINY_SINE)
    single = invoke(["--config", str(tmp_path / "tiny.toml"), "--quiet", "--runs-dir", str(runs),
                     "--name", "a-single-run-with-a-rather-long-name-20261122-120000-ab12"])
    assert single.exit_code == 0, single.output
    start = time.perf_counter()
    result = invoke(["ls", str(runs)])
    assert time.perf_counter() - start < 1.0
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines), lines
    assert lines[1].startswith("s/ ") and "4 runs" in lines[1]
    assert lines[2].startswith("a-single") and "…-ab12 " in lines[2] and "completed" in lines[2]
    expanded = invoke(["ls", str(runs), "--expand", "--csv", "--where", "train.bptt=5",
                       "--sort", "val"]).stdout
    rows = list(csv.DictReader(io.StringIO(expanded)))
    assert [r["name"].split("-")[0] for r in rows] == ["s/bptt=5"] * 2
    assert float(rows[0]["val"]) <= float(rows[1]["val"])
    inside = invoke(["ls", str(small_sweep)]).stdout.splitlines()
    assert len(inside) == 5                                          # a sweep's own runs


def test_plots_use_no_pyplot_and_import_nothing_that_runs_a_model():
    banned = ("trainer.model.network", "trainer.layers", "trainer.model.evaluate", "trainer.training.loop")
    for path in (ROOT / "trainer" / "plots").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith(banned) for n in names), (path, names)
    for path in (ROOT / "trainer").rglob("*.py"):
        assert "pyplot" not in path.read_text().replace("no pyplot", "").replace("never pyplot", "") \
            .replace("(no pyplot", "").replace("use no pyplot", ""), path


def _views():
    anbn = {"task": "anbn", "metric": "string_accuracy", "baseline_name": "b", "kind": "strings",
            "sets": [{"name": "training range", "beyond": False, "n": np.arange(1, 11),
                      "right": np.arange(1, 11) < 8},
                     {"name": "long (beyond training)", "beyond": True, "n": np.arange(11, 21),
                      "right": np.zeros(10, bool)}]}
    bits = np.random.default_rng(0).integers(0, 2, (8, 10))
    parity = {"task": "parity", "metric": "accuracy", "baseline_name": "b", "kind": "episode_tokens",
              "inputs": bits, "cols": np.array([9]), "true": bits.sum(1, keepdims=True) % 2,
              "predicted": np.zeros((8, 1), int)}
    return anbn, parity


def test_task_views_show_failures_by_n_and_parity_bits_without_warnings_or_global_state(tmp_path):
    import matplotlib
    from trainer.plots import episodes
    before = _rc(matplotlib)
    anbn, parity = _views()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # no library warning at all
        fig, _ = episodes._strings(anbn)
        episodes.plot_episodes(anbn, "", tmp_path / "anbn.png")
        episodes.plot_episodes(parity, "", tmp_path / "parity.png")
    ax = fig.axes[0]
    wrong = [line for line in ax.lines if len(line.get_ydata()) and (line.get_ydata() == 0).all()]
    assert sorted(np.concatenate([w.get_xdata() for w in wrong]).tolist()) == list(range(8, 21))
    assert ax.get_xlabel().startswith("n ")
    fig, _ = episodes._tokens(parity)
    assert fig.axes[0].get_title() == "input"
    assert (fig.axes[0].images[0].get_array() == parity["inputs"]).all()
    assert (tmp_path / "anbn.png").stat().st_size > 5000 and (tmp_path / "parity.png").stat().st_size > 5000
    assert _rc(matplotlib) == before


def _rc(matplotlib):
    """rcParams as stored, backend included, without matplotlib.get_backend(), which resolves
    the backend by importing pyplot."""
    rc = matplotlib.rcParams
    return {k: dict.__getitem__(rc, k) for k in dict.keys(rc)}


def test_drawing_the_figures_imports_no_pyplot(tmp_path):
    """In a fresh interpreter (pyplot may be loaded in this one by anything): a run's figures,
    the task views and a sweep's figures draw without importing matplotlib.pyplot."""
    import subprocess
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from pathlib import Path
from test_report import _views
from test_sweep_figures import _fake_sweep
from trainer.plots import episodes, sweep
tmp = Path({str(tmp_path)!r})
anbn, parity = _views()
episodes.plot_episodes(anbn, "", tmp / "anbn.png")
episodes.plot_episodes(parity, "", tmp / "parity.png")
(tmp / "s").mkdir()
sweep.draw(_fake_sweep(tmp / "s", 3), [], tmp / "s")
assert (tmp / "s" / "loss_curves.png").exists()
print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no pyplot"


def test_anbn_view_comes_from_evaluation_with_n_on_the_axis():
    from rnn_trainer_datasets import make_task
    from trainer.model.evaluate import task_view
    from trainer.model.network import build_model
    cfg = {"name": "anbn", "n_min": 1, "n_max": 3, "n_test_max": 5, "train_size": 8}
    task = make_task(cfg, np.random.default_rng(0))
    model = build_model({"cell": "rnn", "hidden": 4, "embed": 3, "dtype": "float64", "init": "xavier",
                         "activation": "tanh"}, task, np.random.default_rng(0))
    view = task_view(model, task)
    assert view["kind"] == "strings"
    assert [s["n"].tolist() for s in view["sets"]] == [[1, 2, 3], [4, 5]]
    assert [s["beyond"] for s in view["sets"]] == [False, True]


def test_anbn_long_strings_reach_the_epoch_lines_and_the_closing_line(tmp_path):
    config = tmp_path / "anbn.toml"
    config.write_text('[task]\nname = "anbn"\nn_max = 3\nn_test_max = 5\ntrain_size = 16\n'
                      '[model]\nhidden = 4\n[train]\nepochs = 2\nbatch_size = 8\n')
    result = invoke(["--config", str(config), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # two epochs of a 4-unit cell do not beat the baseline: that warning comes last
    *lines, warning = result.stderr.splitlines()
    assert warning.startswith("warning: val_string_accuracy") and "beat the baseline" in warning
    assert len(lines) == 3 and all("val_long_string_accuracy" in line for line in lines), lines
    assert lines[0].startswith("epoch 1:") and lines[2].startswith("completed")


def test_progress_bar_shows_the_epoch_and_stops_with_the_last_one(monkeypatch):
    from trainer.training.progress import Progress
    from trainer.training.loop import EpochEnd, Start, Step

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    p = Progress(False)
    p(Start(4, 0, "accuracy", 30.0, 2))                              # resumed after 30 s
    for s in (1, 2):
        p(Step(s, 1.0))
    p(EpochEnd(1, 0.5, 0.7, scores={}))
    assert "epoch 1/2" in err.getvalue()
    for s in (3, 4):
        p(Step(s, 1.0))
    p(EpochEnd(2, 0.4, 0.8, scores={}))
    assert p.bar is None                                             # closed: its clock stopped
    last = err.getvalue().rsplit("\r", 1)[-1]
    assert "epoch 2/2" in last and "val_accuracy 0.8" in last and "00:30" in last, last


def test_parallel_coordinates_label_log_axes_with_the_values_not_their_log10():
    """Issue 23: an lr axis read 0.30103 ... 1.20412 (log10 of 2 ... 16); it now reads the values."""
    from trainer.reports.figures import _dimension
    grid = _dimension("train.bptt", [2, 4, 8, 16, 2])
    assert grid["label"] == "train.bptt (log scale)" and grid["ticktext"] == ["2", "4", "8", "16"]
    assert grid["tickvals"] == pytest.approx([0.30103, 0.60206, 0.90309, 1.20412], abs=1e-5)
    many = _dimension("optim.lr", [10 ** (-4 + 3 * i / 19) for i in range(20)])
    assert many["ticktext"] == ["0.0001", "0.001", "0.01", "0.1"] and many["tickvals"] == [-4, -3, -2, -1]
    assert _dimension("x", [1, 2, 3]) == {"label": "x", "values": [1, 2, 3]}


def test_a_sweeps_report_opens_with_train_tables_rows(small_sweep):
    """Issue 23: the report shows the results table of `train table` at the top of a sweep."""
    from trainer.analysis import results_table, table_text
    data = page_data(small_sweep / "report" / "report.html")
    expected = table_text.as_data(results_table.read([small_sweep]))
    assert data["results"] == expected and len(expected["rows"]) == 2       # bptt 5 and 10
    assert data["results"]["columns"][:3] == ["train.bptt", "runs", "val_mse mean"]
    assert "beats baseline" in data["table"]["columns"] and "target epoch" in data["table"]["columns"]


def test_episode_views_of_temporal_order_and_reber_count_only_what_is_scored(tmp_path):
    """temporal_order scores one step a row, at a different step per row: the view marks which
    cells are scored (the plot counts those only); reber's strings go by length, not by n."""
    from rnn_trainer_datasets import make_task
    from trainer.config.load import from_dict
    from trainer.model.evaluate import task_view
    from trainer.model.network import build_model
    from trainer.plots import episodes
    for name, keys in (("temporal_order", {"length": 20, "spread": 5, "val_size": 30}),
                       ("reber", {"max_length": 14, "val_size": 20})):
        cfg = from_dict({"task": {"name": name, **keys}, "train": {"batch_size": 2},
                         "model": {"cell": "lstm", "hidden": 4, "embed": 3}})
        task = make_task(cfg["task"], np.random.default_rng(0))
        view = task_view(build_model(cfg["model"], task, np.random.default_rng(0)), task)
        view.update(task=name, baseline_name="b")
        if name == "temporal_order":
            assert view["kind"] == "episode_tokens" and view["scored"].sum(axis=1).tolist() == [1] * 8
            fig, _ = episodes._tokens(view)
            assert "of 8 right" in fig.axes[1].get_title()
        else:
            lengths = task.val.mask.sum(axis=1) + 1
            assert view["axis"].startswith("string length")
            assert view["sets"][0]["n"].tolist() == lengths.astype(int).tolist()
        episodes.plot_episodes(view, "", tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
