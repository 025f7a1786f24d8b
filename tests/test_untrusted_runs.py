"""Issue 22: run files read back are untrusted input. A run's name, summary.json or config.toml
may hold markup, escape sequences, non-finite figures, fields of the wrong type or symbolic
links; the report, `train ls` and the summary reader treat each as data, and one bad run never
costs the others."""
import json
import math
import os
import shutil

import pytest
from click.testing import CliRunner

from tiny_configs import TINY_SINE
from trainer.cli import main
from trainer.rundir.layout import RunDir
from trainer.rundir.summary_check import check, strict

PWN_NAME = "x<img src=x onerror=window.__pwn=1>"
SCRIPT_VALUE = "completed</script><script>window.__pwn=2</script>"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """runs/: one good run, and copies of it with a markup name, a planted script and an infinite
    figure in summary.json, no summary.json, and a name with a space."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "base.toml").write_text(TINY_SINE)
    runs = root / "runs"
    result = invoke("--config", root / "base.toml", "--runs-dir", runs, "--name", "good", "--quiet")
    assert result.exit_code == 0, result.output
    good = runs / "good"
    for name in (PWN_NAME, "nosummary", "evil", "sp ace", "t\x1b[2J\nx#?", "linked", "edited"):
        shutil.copytree(good, runs / name)
    (runs / "nosummary" / "summary.json").unlink()
    secret = root / "secret.json"   # outside the runs: a link to it must not be followed
    secret.write_text('{"status": "completed", "password": "hunter2"}')
    for name in ("summary.json", "task_view.png", "metrics.csv"):
        (runs / "linked" / name).unlink()
        os.symlink(secret, runs / "linked" / name)
    (runs / "edited" / "config.toml").write_text('top = 1\n[task]\nname = [1]\n')
    summary = json.loads((good / "summary.json").read_text())
    summary.update(status=SCRIPT_VALUE, note="a\x01b\u2028c</style><b>x</b>&amp;")
    summary["final"]["val_loss"] = float("inf")   # json.dumps writes the non-JSON Infinity
    (runs / "evil" / "summary.json").write_text(json.dumps(summary))
    return root


def _page_data(page):
    text = page.read_text()
    start = text.index('<script id="data" type="application/json">') + len('<script id="data" type="application/json">')
    return text, text[start:text.index("</script>", start)]


def test_the_report_data_is_strict_json_that_cannot_close_its_script_element(hostile, tmp_path):
    result = invoke("report", hostile / "runs", "--out", tmp_path / "rep")
    assert result.exit_code == 0, result.output
    text, data = _page_data(tmp_path / "rep" / "report.html")
    assert "<" not in data and ">" not in data and "&" not in data   # inert in a <script> element
    assert "Infinity" not in data and "NaN" not in data
    parsed = json.loads(data, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert len(parsed["table"]["rows"]) == 8
    statuses = {row[0]: row[1] for row in parsed["table"]["rows"]}
    assert statuses["evil"] == SCRIPT_VALUE and statuses["nosummary"] == "no summary"
    assert statuses["linked"] == statuses["edited"] == "unreadable"
    assert "hunter2" not in text and "hunter2" not in "".join(
        p.read_text(errors="replace") for p in (tmp_path / "rep" / "img").iterdir())
    assert len(list((tmp_path / "rep" / "img").iterdir())) == 7   # all but the linked view
    assert 'http-equiv="Content-Security-Policy"' in text and "script-src 'self' 'sha256-" in text


@pytest.mark.slow
def test_the_hostile_report_runs_no_planted_script_in_a_real_browser(hostile, tmp_path):
    from test_report_browser import ARGS, CHROMIUM, _browser_or_skip, wait_until
    _browser_or_skip()
    from playwright.sync_api import sync_playwright
    result = invoke("report", hostile / "runs", "--out", tmp_path / "rep")
    assert result.exit_code == 0, result.output
    page_path = tmp_path / "rep" / "report.html"
    # and a script planted in the page itself is refused by its Content-Security-Policy
    planted = tmp_path / "rep" / "planted.html"
    planted.write_text(page_path.read_text().replace("</body>", "<script>window.__pwn=3</script></body>"))
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.resolve().as_uri())
            wait_until(page, "document.querySelectorAll('.chart[data-rendered]').length >= 2")
            assert page.locator("#runs tbody tr").count() == 8          # every run has its row
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            wait_until(page, "document.querySelectorAll('.chart').length === "
                                   "document.querySelectorAll('.chart[data-rendered]').length")
            names = page.eval_on_selector_all("#runs tbody tr td:first-child", "tds => tds.map(t => t.textContent)")
            assert PWN_NAME in names                                    # shown as text, not markup
            assert page.evaluate("window.__pwn") is None
            assert page.locator("img[src=x]").count() == 0
            page.goto(planted.resolve().as_uri())
            wait_until(page, "document.querySelectorAll('.chart[data-rendered]').length >= 2")
            assert page.evaluate("window.__pwn") is None
        finally:
            browser.close()
    assert errors == []
    folder = (tmp_path / "rep").resolve().as_uri()
    assert requests and all(u.startswith(folder) for u in requests), requests   # nothing left the folder


def test_a_summary_is_written_as_strict_json_with_the_non_finite_figures_named(tmp_path):
    rd = RunDir(tmp_path)
    rd.write_summary({"status": "diverged", "final": {"val_loss": float("inf"), "val_mse": float("nan")},
                      "best": {"epoch": 1, "val_loss": -math.inf}})
    text = (tmp_path / "summary.json").read_text()
    written = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert written["final"] == {"val_loss": None, "val_mse": None}
    assert written["nonfinite"] == {"final.val_loss": "inf", "final.val_mse": "nan", "best.val_loss": "-inf"}
    assert rd.read_summary() == written


@pytest.mark.parametrize("edit, field", [
    ({"final": [1, 2]}, "final is a list"),
    ({"status": ["completed"]}, "status is a list"),
    ({"wall_s": "12"}, "wall_s is text"),
    ({"steps": -3}, "steps is a number"),
    ({"best": {"epoch": "one"}}, "best is an object"),
    ({"beats_baseline": "yes"}, "beats_baseline is text"),
])
def test_a_hand_edited_summary_reads_as_unreadable_naming_the_field(tmp_path, edit, field):
    (tmp_path / "summary.json").write_text(json.dumps({"status": "completed", **edit}))
    summary = RunDir(tmp_path).read_summary()
    assert summary["status"] == "unreadable" and field in summary["error"], summary
    assert check({"status": "completed", "final": {"val_loss": None}}) is None


def test_old_summaries_with_infinity_still_read_with_null(tmp_path):
    (tmp_path / "summary.json").write_text('{"status": "diverged", "final": {"val_loss": Infinity}}')
    assert RunDir(tmp_path).read_summary() == {"status": "diverged", "final": {"val_loss": None}}
    assert strict([1.0, float("nan")]) == ([1.0, None], {"[1]": "nan"})


def test_a_summary_that_is_a_symbolic_link_is_not_read(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"status": "completed", "final": {"val_loss": 0.5}, "password": "hunter2"}')
    run = tmp_path / "run"
    run.mkdir()
    os.symlink(secret, run / "summary.json")
    summary = RunDir(run).read_summary()
    assert summary["status"] == "unreadable" and "symbolic link" in summary["error"]
    assert "hunter2" not in json.dumps(summary)


def test_ls_escapes_run_names_and_values_and_lists_every_run(tmp_path):
    (tmp_path / "base.toml").write_text(TINY_SINE)
    runs = tmp_path / "runs"
    assert invoke("--config", tmp_path / "base.toml", "--runs-dir", runs, "--name", "good", "--quiet").exit_code == 0
    evil = "t\x1b]0;pwned\x07\x1b[2J\u202ex\nsecond"
    shutil.copytree(runs / "good", runs / evil)
    summary = json.loads((runs / "good" / "summary.json").read_text())
    (runs / evil / "summary.json").write_text(json.dumps({**summary, "status": "ok\x1b[31m"}))
    shutil.copytree(runs / "good", runs / "edited")
    (runs / "edited" / "summary.json").write_text(json.dumps({**summary, "final": [1]}))
    shutil.copytree(runs / "good", runs / "edited-config")
    (runs / "edited-config" / "config.toml").write_text('top = 1\n[task]\nname = [1]\n')
    for args in ((), ("--csv",)):
        result = CliRunner().invoke(main, ["ls", str(runs), *args])
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        assert "t\\x1b]0;pwned" in out and "ok\\x1b[31m" in out     # shown escaped, not obeyed
        if args:   # the CSV has the whole name (the table shortens long names in the middle)
            assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202ex\\nsecond" in out
        lines = [line for line in out.splitlines() if line.strip()]
        assert len(lines) == 5, out                                  # a header and four runs
        assert "unreadable" in out
    result = CliRunner().invoke(main, ["ls", str(runs)])
    assert "note: edited is unreadable: " in result.stderr and "final is a list" in result.stderr
    assert "note: edited-config is unreadable: " in result.stderr and "top is not a [section]" in result.stderr


# -- writes that never leave their folder (issue 22, item 7) ----------------------------------------

@pytest.fixture(scope="module")
def two_trained_runs(tmp_path_factory):
    """runs/a and runs/b, tiny sine runs trained once for the module."""
    root = tmp_path_factory.mktemp("one-run")
    (root / "base.toml").write_text(TINY_SINE)
    runs = root / "runs"
    for name in ("a", "b"):
        result = invoke("--config", root / "base.toml", "--runs-dir", runs, "--name", name, "--quiet")
        assert result.exit_code == 0, result.output
    return runs


@pytest.fixture
def one_run(two_trained_runs, tmp_path):
    """A copy of the module's two runs for this test alone (tests plant links, lock, delete)."""
    return shutil.copytree(two_trained_runs, tmp_path / "runs", symlinks=True)


@pytest.mark.parametrize("args, message", [
    (("report", "{runs}/a", "--out", "{runs}/a"), "is a run directory"),
    (("report", "{runs}", "--out", "{runs}"), "a folder this command reads"),
    (("report", "{runs}/b", "--out", "{runs}/a/sub"), "inside the run"),
    (("compare", "{runs}/b", "{runs}/a", "--out", "{runs}/a"), "is a run directory"),
])
def test_out_among_the_runs_is_refused_in_one_line_and_nothing_is_written(one_run, args, message):
    before = {p: p.stat().st_mtime_ns for p in one_run.rglob("*")}
    result = CliRunner().invoke(main, [a.format(runs=one_run) for a in args])
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in one_run.rglob("*")} == before


def test_generate_replaces_a_planted_link_instead_of_writing_through_it(one_run, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink(victim, one_run / "a" / "generated.csv")
    result = invoke("generate", one_run / "a", "--steps", "5")
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me\n"
    link = one_run / "a" / "generated.csv"
    assert not link.is_symlink() and link.read_text().startswith("step,value")


def test_generate_into_a_run_another_process_holds_is_refused(one_run):
    from trainer.rundir.layout import RunDir
    holder = RunDir.open(one_run / "a").lock()
    try:
        result = invoke("generate", one_run / "a", "--steps", "5")
        assert result.exit_code == 2 and "another train process" in result.stderr
        assert not (one_run / "a" / "generated.csv").exists()
    finally:
        holder.release()


# -- a sweep reuses a run only of exactly its config (issue 22, item 8) -----------------------------

def test_a_changed_sweep_value_that_prints_alike_does_not_reuse_the_old_run(tmp_path):
    (tmp_path / "base.toml").write_text(TINY_SINE)
    sweep = 'base = "base.toml"\n[sweep]\nseeds = [0]\n[sweep.params]\n"optim.lr" = [{}]\n'
    (tmp_path / "a.toml").write_text(sweep.format("0.1"))
    (tmp_path / "b.toml").write_text(sweep.format("0.10000001"))
    runs = tmp_path / "runs"
    assert invoke("sweep", tmp_path / "a.toml", "--runs-dir", runs, "--name", "s", "--quiet").exit_code == 0
    assert invoke("sweep", tmp_path / "a.toml", "--runs-dir", runs, "--name", "s", "--quiet").exit_code == 0
    before = (runs / "s" / "lr=0.1-seed=0" / "summary.json").read_text()
    result = invoke("sweep", tmp_path / "b.toml", "--runs-dir", runs, "--name", "s", "--quiet")
    assert result.exit_code == 2, result.output
    assert "optim.lr = 0.1, where this point asks 0.10000001" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert (runs / "s" / "lr=0.1-seed=0" / "summary.json").read_text() == before


def test_a_nul_byte_in_a_sweeps_base_is_one_line(tmp_path):
    (tmp_path / "s.toml").write_text('base = "base\\u0000.toml"\n[sweep]\nseeds = [0]\n')
    result = invoke("sweep", tmp_path / "s.toml", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "NUL byte" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("env", [{"blas": 5, "python": [1]}, {"blas": [1, "x"], "git": 3},
                                 {"git": {"commit": 5}}, "text"])
def test_eval_describes_a_hand_edited_env_without_a_traceback(env):
    from trainer.rundir.provenance import describe
    assert all(isinstance(line, str) for line in describe(env))


def test_a_single_named_run_that_is_unreadable_is_one_line_and_exit_2(one_run, tmp_path):
    (one_run / "a" / "summary.json").write_text('{"status": "completed", "wall_s": "12"}')
    for args in (("ls", one_run / "a"), ("report", one_run / "a", "--out", tmp_path / "rep")):
        result = invoke(*args)
        assert result.exit_code == 2 and "wall_s is text" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "rep").exists()
    assert invoke("ls", one_run).exit_code == 0               # among others: listed, not refused


# -- a completed run is done (issue 22, item 11) ----------------------------------------------------

def test_resume_of_a_completed_run_whose_checkpoint_was_deleted_changes_nothing(one_run):
    run = one_run / "a"
    (run / "checkpoint.npz").unlink()
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    for args in ((), ("--epochs", "3")):
        result = invoke("resume", run, *args)
        assert result.exit_code == 0 and "completed, but its checkpoint.npz is missing" in result.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


# -- a full disk in a sweep (issue 22, item 10) -----------------------------------------------------

def test_a_sweep_whose_disk_fills_ends_in_one_line_and_finishes_on_rerun(tmp_path, monkeypatch):
    import errno
    import trainer.sweeps.results as sweep_results
    (tmp_path / "base.toml").write_text(TINY_SINE)
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[sweep]\nseeds = [0, 1]\n')
    real, calls = sweep_results.atomic_write_text, []

    def filling(path, text):
        calls.append(path)
        if len(calls) == 2:   # results.csv after the first run lands: the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(sweep_results, "atomic_write_text", filling)
    args = ("sweep", tmp_path / "s.toml", "--runs-dir", tmp_path / "runs", "--name", "s", "--workers", "1",
            "--quiet")
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    line, = result.stderr.splitlines()
    assert "No space left on device" in line and "--name s to finish" in line
    monkeypatch.setattr(sweep_results, "atomic_write_text", real)
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "runs" / "s" / "results.csv").read_text().splitlines()) == 3


def test_a_report_onto_a_full_disk_is_one_line_and_leaves_no_partial_folder(one_run, tmp_path, monkeypatch):
    import errno
    import trainer.reports.page as page

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(page, "_copy_images", full)   # after plotly.min.js is written
    result = invoke("report", one_run, "--out", tmp_path / "rep")
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "rep").exists()


@pytest.mark.parametrize("temperature", ["nan", "inf"])
def test_generate_refuses_a_temperature_that_is_not_finite_in_one_line(one_run, temperature):
    result = invoke("generate", one_run / "a", "--temperature", temperature, "--steps", "5")
    assert result.exit_code == 2 and "--temperature" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (one_run / "a" / "generated.csv").exists()


def test_train_report_of_a_sweep_with_no_finished_run_yet_writes_its_page(tmp_path):
    """Issue 22, case 9: `train report` beside a starting sweep said "no runs to report" (exit 2)
    while the sweep's own live report showed the page; both now write it."""
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / "sweep.toml").write_text('base = "x.toml"\n[sweep]\nseeds = [0]\n')
    result = invoke("report", sweep)
    assert result.exit_code == 0, result.output
    text = (sweep / "report" / "report.html").read_text()
    assert '"state":"no runs yet"' in text
    assert invoke("report", tmp_path / "nothing").exit_code == 2     # no sweep and no runs: refused
