"""Sweeps pin every plug-in they train (the base config's and each swept value's) by the sha256
of its source: running a sweep again after one was edited is refused in one line naming the
plug-in, both sha256 and the runs it would mix, and nothing is written; `train table` never
pools runs whose plug-in sources differ (it splits the group and says why)."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

BASE = """\
[task]
name = "{task}"
length = 300
val_length = 60
[model]
hidden = 5
[train]
epochs = 1
batch_size = 4
bptt = 10
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLES / "my_rnn.py", tmp_path / "my_rnn.py")
    (tmp_path / "sine.toml").write_text(BASE.format(task="sine"))
    # a plug-in task in the base config: the sine task under another name
    (tmp_path / "wave.py").write_text(
        "from rnn_trainer_datasets import sine\nKEYS = sine.KEYS\nMETRIC = sine.METRIC\n"
        "make = sine.make\n")
    (tmp_path / "wave.toml").write_text(BASE.format(task="wave.py"))
    return tmp_path


SWEEPS = [   # (id, base, [sweep.params] lines, the plug-in edited, its spec in the message)
    ("a swept cell", "sine.toml", '"model.cell" = ["my_rnn.py:MyRNN", "rnn"]', "my_rnn.py",
     "my_rnn.py:MyRNN"),
    ("the base config's task", "wave.toml", '"model.hidden" = [4, 5]', "wave.py", "wave.py"),
]


def sweep_file(project, base, params, seeds):
    path = project / "s.toml"
    path.write_text(f'base = "{base}"\n[sweep]\nseeds = {seeds}\n[sweep.params]\n{params}\n')
    return path


@pytest.mark.parametrize("base,params,edited,spec", [s[1:] for s in SWEEPS], ids=[s[0] for s in SWEEPS])
def test_a_sweep_run_again_with_a_changed_plugin_is_refused_naming_it(project, base, params,
                                                                      edited, spec):
    path = sweep_file(project, base, params, "[0, 1]")
    first = invoke("sweep", path, "--workers", 1, "--runs-dir", "runs", "--name", "s", "--quiet")
    assert first.exit_code == 0, first.output
    sweep_dir = project / "runs" / "s"
    pins = json.loads((sweep_dir / "plugins.json").read_text())["pins"]
    assert {"spec": spec, "sha256": sha(project / edited)}.items() <= \
        next(p for p in pins if p["spec"] == spec).items()
    # the same command again: nothing to do, fine
    again = invoke("sweep", path, "--workers", 1, "--runs-dir", "runs", "--name", "s", "--quiet")
    assert again.exit_code == 0, again.output

    old = sha(project / edited)
    with open(project / edited, "a") as f:
        f.write("# one comment line\n")
    new = sha(project / edited)
    sweep_file(project, base, params, "[0, 1, 2]")   # and a seed more
    before = snapshot(sweep_dir)
    for args in (["--dry-run"], []):
        result = invoke("sweep", path, "--workers", 1, "--runs-dir", "runs", "--name", "s",
                        "--quiet", *args)
        assert result.exit_code == 2, result.output
        line, = result.stderr.splitlines()
        assert spec in line and old in line and new in line and "seed=0" in line, line
        assert "{" not in line   # no raw records
        assert snapshot(sweep_dir) == before   # nothing written, no seed 2 trained


def runs_of_two_sources(project):
    """Two seeds of one config, the plug-in cell edited between them."""
    for seed in (0, 1):
        result = invoke("--config", "sine.toml", "--runs-dir", "runs", "--name", f"r{seed}",
                        "--quiet", "--set", "model.cell=my_rnn.py:MyRNN", "--set",
                        f"train.seed={seed}")
        assert result.exit_code == 0, result.output
        with open(project / "my_rnn.py", "a") as f:
            f.write("# edited\n")


def test_table_never_pools_runs_of_different_plugin_sources(project):
    runs_of_two_sources(project)
    table = invoke("table", "runs", "--csv")
    assert table.exit_code == 0, table.output
    lines = table.stdout.strip().splitlines()
    assert len(lines) == 3, table.stdout   # a header and one row per source
    assert "different plug-in sources" in table.stderr + table.stdout
    from trainer.analysis.results_table import read
    t = read([project / "runs"])
    assert [len(g.finals) for g in t.groups] == [1, 1]
    assert any("never pooled" in n for n in t.notes)


def test_table_pools_runs_of_one_source_as_before(project):
    for seed in (0, 1):
        assert invoke("--config", "sine.toml", "--runs-dir", "runs", "--name", f"r{seed}", "--quiet",
                      "--set", "model.cell=my_rnn.py:MyRNN", "--set",
                      f"train.seed={seed}").exit_code == 0
    from trainer.analysis.results_table import read
    t = read([project / "runs"])
    assert [len(g.finals) for g in t.groups] == [2] and not t.notes
