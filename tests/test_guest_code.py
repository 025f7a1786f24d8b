"""Plug-in code is a guest: whatever it does (sys.exit, raising KeyboardInterrupt, os.chdir,
np.seterr), the record stays true. A run that did not complete never exits 0 and never stays
`running`: it ends `failed` with the reason, or completes where the tool shields itself (the run
directory held by absolute path, numpy's error state the tool's own around its code). A real
Ctrl-C keeps its contract (130, `interrupted`: tests/test_resume.py)."""
import csv
import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
MY_RNN = (ROOT / "examples" / "my_rnn.py").read_text()

TINY = """\
[task]
name = "sine"
length = 200
val_length = 50
[model]
hidden = 6
cell = "cell.py:MyRNN"
check = {check}
[train]
epochs = 2
batch_size = 4
bptt = 10
"""

# what the cell does, and when: at import, or in forward on its third call
AT_IMPORT = "{code}\n" + MY_RNN
IN_FORWARD = MY_RNN.replace(
    "    def forward(self, xs):\n",
    "    def forward(self, xs):\n"
    "        self.calls = getattr(self, 'calls', 0) + 1\n"
    "        if self.calls == 3:\n"
    "            {code}\n")

EXITS = [   # (id, where, code, model.check, exit status, words in the one line or the summary)
    ("sys.exit(0) at import", AT_IMPORT, "import sys; sys.exit(0)", "true", 2, "sys.exit(0)"),
    ("sys.exit(0) in forward, checked", IN_FORWARD, "import sys; sys.exit(0)", "true", 2,
     "sys.exit(0)"),
    ("sys.exit(0) in forward, training", IN_FORWARD, "import sys; sys.exit(0)", "false", 1,
     "sys.exit(0)"),
    ("sys.exit() in forward, training", IN_FORWARD, "import sys; sys.exit()", "false", 1,
     "sys.exit(None)"),
    ("KeyboardInterrupt at import", AT_IMPORT, "raise KeyboardInterrupt", "true", 2,
     "KeyboardInterrupt"),
    ("KeyboardInterrupt in forward, training", IN_FORWARD, "raise KeyboardInterrupt", "false", 1,
     "KeyboardInterrupt"),
]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def summary(run):
    return json.loads((Path(run) / "summary.json").read_text())


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(project, where, code, check="false"):
    # a comment naming the folder: a source of its own (one source is loaded once a process)
    (project / "cell.py").write_text(f"# {project}\n" + where.replace("{code}", code))
    (project / "c.toml").write_text(TINY.format(check=check))


@pytest.mark.parametrize("where,code,check,status,words", [e[1:] for e in EXITS],
                         ids=[e[0] for e in EXITS])
def test_a_plugin_that_exits_never_makes_train_exit_0(project, where, code, check, status, words):
    write(project, where, code, check)
    result = invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "r", "--quiet")
    assert result.exit_code == status, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and words in lines[0] and "cell.py" in lines[0], lines
    if status == 2:   # found before the run was made: nothing written
        assert not (project / "runs").exists()
    else:
        s = summary(project / "runs" / "r")
        assert s["status"] == "failed" and words in s["error"] and "plug-in" in s["error"], s
        assert "cell.py" in s["error"] and "in forward" in s["error"]


def test_a_plugin_task_that_exits_in_make_is_refused(project):
    (project / "task.py").write_text(
        "import sys\nfrom trainer.tasks import Key\nKEYS = {}\nMETRIC = 'mse'\n\n"
        "def make(cfg, rng):\n    sys.exit(0)\n")
    (project / "c.toml").write_text('[task]\nname = "task.py"\n[train]\nepochs = 1\n')
    result = invoke("--config", "c.toml", "--runs-dir", "runs", "--quiet")
    assert result.exit_code == 2 and "sys.exit(0)" in result.stderr and "make" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (project / "runs").exists()


def test_a_sweep_records_a_plugin_exit_as_failed_in_results_and_in_the_run(project):
    write(project, IN_FORWARD, "import sys; sys.exit(0)")
    (project / "s.toml").write_text('base = "c.toml"\n[sweep]\nseeds = [0]\n[sweep.params]\n'
                                    '"model.hidden" = [5]\n')
    result = invoke("sweep", "s.toml", "--workers", 1, "--runs-dir", "runs", "--name", "s",
                    "--quiet")
    assert result.exit_code == 1, result.output
    with open(project / "runs/s/results.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["status"] == "failed"
    s = summary(project / "runs/s" / row["run_dir"])
    assert s["status"] == "failed" and "sys.exit(0)" in s["error"]


def test_on_dask_a_plugin_exit_is_the_runs_failure_not_the_workers(project):
    """A Dask worker runs a task in a thread: the run comes back failed, the worker lives."""
    write(project, IN_FORWARD, "import sys; sys.exit(0)")
    from trainer.config import load as config
    from trainer.sweeps.worker import run_to_bytes
    cfg = config.load("c.toml")
    out = {}
    thread = threading.Thread(target=lambda: out.update(
        run_to_bytes(cfg.to_dict(), cfg.source, "r", False, cfg.sources())))
    thread.start()
    thread.join()
    assert out["summary"]["status"] == "failed" and "sys.exit(0)" in out["summary"]["error"]
    assert json.loads(out["files"]["summary.json"])["status"] == "failed"


CHDIR = [   # (id, where, code)
    ("os.chdir at import", AT_IMPORT, "import os; os.makedirs('elsewhere', exist_ok=True); "
                                      "os.chdir('elsewhere')"),
    ("os.chdir in forward", IN_FORWARD, "import os; os.makedirs('elsewhere', exist_ok=True); "
                                        "os.chdir('elsewhere')"),
]


@pytest.mark.parametrize("where,code", [c[1:] for c in CHDIR], ids=[c[0] for c in CHDIR])
def test_a_plugin_that_changes_directory_does_not_move_the_run(project, where, code):
    write(project, where, code)
    result = invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "r", "--quiet")
    assert result.exit_code == 0, result.output
    os.chdir(project)   # the plug-in moved the test's process too
    printed = result.stdout.strip().splitlines()[-1]
    run = (project / printed).resolve()
    assert run == (project / "runs" / "r").resolve()
    assert summary(run)["status"] == "completed"
    assert {"checkpoint.npz", "best.npz", "metrics.csv"} <= {p.name for p in run.iterdir()}
    assert not list((project / "elsewhere").rglob("*")) if (project / "elsewhere").exists() else True


SETERR = [   # (id, where, code)
    ("np.seterr(all='raise') at import", AT_IMPORT, "import numpy; numpy.seterr(all='raise')"),
    ("np.seterr(all='raise') in forward", IN_FORWARD, "np.seterr(all='raise')"),
]


@pytest.mark.parametrize("where,code", [c[1:] for c in SETERR], ids=[c[0] for c in SETERR])
def test_a_plugin_that_sets_numpys_error_state_does_not_fail_the_tools_code(project, where, code):
    import numpy as np
    before = np.geterr()
    write(project, where, code)
    # a token task: its softmax's exp underflows, which all='raise' turns into an error
    (project / "c.toml").write_text(TINY.format(check="false").replace(
        'name = "sine"\nlength = 200\nval_length = 50', 'name = "counting"')
        .replace("hidden = 6", "hidden = 6\nembed = 4"))
    try:
        result = invoke("--config", "c.toml", "--runs-dir", "runs", "--name", "r", "--quiet",
                        "--set", "optim.lr=5.0", "--set", "optim.clip=0")
        s = summary(project / "runs" / "r")
        assert s["status"] in ("completed", "diverged"), s.get("traceback")
        assert result.exit_code in (0, 3), result.output
    finally:
        after = np.geterr()
        np.seterr(**before)
    assert after == before   # the plug-in's setting did not leak out of the run either


def test_a_slow_plugin_loaded_by_two_threads_at_once_is_whole_in_both(tmp_path):
    """A Dask worker runs two runs in threads: the second never takes the module half run (a
    sweep's run failed with 'has no KEYS' now and then)."""
    from trainer.plugins import source
    path = tmp_path / "slow.py"
    path.write_text(f"# {tmp_path}\nimport time\ntime.sleep(0.3)\nKEYS = {{}}\n")
    modules = []
    threads = [threading.Thread(target=lambda: modules.append(  # whole as it is handed over
        hasattr(source.load_file("task", path)[0], "KEYS"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert modules == [True, True]
