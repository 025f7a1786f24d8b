"""The run keeps its code: a copy of each plug-in's source as it trained (plugins/ in the run,
a record never imported), and a plug-in edited since (one comment line) no longer locks its
runs out: eval, plot, generate, report and ls go on with one warning naming both sha256 (and
say which source they used); resume refuses unless --accept-changed-plugin, and then records
the new sha256 in config.toml and summary.json."""
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FAST = ["--set", "train.epochs=1", "--set", "task.length=400", "--set", "task.val_length=100"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def summary(run):
    return json.loads((Path(run) / "summary.json").read_text())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of the example task and cell (plug-in files), made once; tests copy it."""
    base = tmp_path_factory.mktemp("made")
    for name in ("delayed_recall.py", "my_rnn.py", "delayed.toml"):
        shutil.copy(EXAMPLES / name, base / name)
    old = os.getcwd()
    os.chdir(base)
    try:
        result = invoke("--config", "delayed.toml", "--runs-dir", "runs", "--name", "d", "--quiet",
                        "--set", "model.cell=my_rnn.py:MyRNN", *FAST)
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    return base


@pytest.fixture
def project(trained, tmp_path, monkeypatch):
    """The trained folder copied (plug-ins, run), as the working directory; the run's records
    name the copy's plug-in files."""
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "d"
    for name in ("config.toml", "summary.json"):
        text = (run / name).read_text().replace(str(trained), str(tmp_path))
        (run / name).write_text(text)
    return tmp_path


def test_the_run_keeps_a_copy_of_each_plugins_source(project):
    run = project / "runs" / "d"
    copies = sorted(p.name for p in (run / "plugins").iterdir())
    task_sha, cell_sha = sha(project / "delayed_recall.py"), sha(project / "my_rnn.py")
    assert copies == [f"cell-my_rnn-{cell_sha[:12]}.py", f"task-delayed_recall-{task_sha[:12]}.py"]
    assert (run / "plugins" / copies[0]).read_bytes() == (project / "my_rnn.py").read_bytes()


def edit(project, name="delayed_recall.py"):
    before = sha(project / name)
    with open(project / name, "a") as f:
        f.write("# one comment line\n")
    return before, sha(project / name)


READ_ONLY = [   # (command, what its output says of the source it used)
    (["eval", "runs/d"], "evaluated with its source as it is now"),
    (["plot", "runs/d"], None),
    (["generate", "runs/d", "--steps", "5"], None),
    (["report", "runs/d", "--out", "rep"], None),
    (["ls", "runs"], None),
]


@pytest.mark.parametrize("args,says", READ_ONLY, ids=[a[0] for a, _ in READ_ONLY])
def test_read_only_commands_go_on_with_one_warning_naming_both_sha256(project, args, says):
    old, new = edit(project)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "has changed since" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("warning: ") and old in warnings[0] and new in warnings[0]
    assert "delayed_recall.py" in warnings[0]
    if says:
        assert says in result.stdout and new in result.stdout
    if args[0] in ("eval", "plot", "generate"):
        assert "plugins/task-delayed_recall-" in warnings[0]   # where the old source is kept


def test_an_unchanged_plugin_gives_no_warning(project):
    for args, _ in READ_ONLY:
        result = invoke(*args)
        assert result.exit_code == 0 and "has changed" not in result.stderr, (args, result.output)


def test_resume_refuses_a_changed_plugin_unless_accepted_then_records_it(project):
    run = project / "runs" / "d"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".lock"}
    old, new = edit(project)
    refused = invoke("resume", run, "--epochs", 2)
    assert refused.exit_code == 2, refused.output
    line, = refused.stderr.splitlines()
    assert old in line and new in line and "--accept-changed-plugin" in line
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != ".lock"}
    assert after == before   # nothing changed

    ok = invoke("resume", run, "--epochs", 2, "--accept-changed-plugin", "--quiet")
    assert ok.exit_code == 0, ok.output
    assert old in ok.stderr and new in ok.stderr   # said
    s = summary(run)
    assert s["status"] == "completed" and s["epochs_done"] == 2
    assert s["plugins"]["task"]["sha256"] == new and s["plugins"]["task"]["previous_sha256"] == [old]
    assert f'sha256 = "{new}"' in (run / "config.toml").read_text()
    assert {p.name for p in (run / "plugins").iterdir()} >= {
        f"task-delayed_recall-{old[:12]}.py", f"task-delayed_recall-{new[:12]}.py"}
    # now pinned to the new source: resumes, evaluates without a word
    assert "has changed" not in invoke("eval", run).stderr
    again = invoke("resume", run, "--epochs", 3, "--quiet")
    assert again.exit_code == 0, again.output
    assert summary(run)["plugins"]["task"]["previous_sha256"] == [old]   # kept across resumes


def test_the_copy_is_never_written_through_a_symbolic_link(project, tmp_path_factory):
    run = project / "runs" / "d"
    outside = tmp_path_factory.mktemp("outside")
    shutil.rmtree(run / "plugins")
    os.symlink(outside, run / "plugins")
    edit(project)
    result = invoke("resume", run, "--epochs", 2, "--accept-changed-plugin", "--quiet")
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.stderr and list(outside.iterdir()) == []


def test_sweep_runs_keep_the_copy_locally_and_on_dask(project):
    """A local sweep's run, and a Dask run's files as the client writes them (plugins/NAME)."""
    (project / "s.toml").write_text('base = "delayed.toml"\n[sweep]\nseeds = [0]\n[sweep.params]\n'
                                    '"task.delay" = [1]\n"train.epochs" = [1]\n')
    result = invoke("sweep", "s.toml", "--workers", 1, "--runs-dir", "runs", "--name", "s", "--quiet")
    assert result.exit_code == 0, result.output
    (run,) = [d for d in (project / "runs/s").iterdir() if d.is_dir() and (d / "config.toml").exists()]
    task_sha = sha(project / "delayed_recall.py")
    assert [p.name for p in (run / "plugins").iterdir()] == [f"task-delayed_recall-{task_sha[:12]}.py"]

    from trainer.config import load as config
    from trainer.sweeps.dask_cluster import write_run
    from trainer.sweeps.worker import run_to_bytes
    cfg = config.load("delayed.toml", ["train.epochs=1", "task.length=400", "task.val_length=100"])
    out = run_to_bytes(cfg.to_dict(), cfg.source, "x", False, cfg.sources())
    write_run(project / "dask-run", out["files"])
    assert (project / "dask-run/plugins" / f"task-delayed_recall-{task_sha[:12]}.py").read_bytes() \
        == (project / "delayed_recall.py").read_bytes()
    with pytest.raises(ValueError):
        write_run(project / "bad", {"other/x.py": b""})
