"""Provenance and reproducibility: summary.json records where a run ran (env), `train eval` shows
it, and the same config and seed in one environment give the same bits."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tiny_configs import TINY_SINE
from trainer.rundir import provenance
from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same tiny config trained twice in this process."""
    tmp = tmp_path_factory.mktemp("repro")
    cfg = tmp / "tiny.toml"
    cfg.write_text(TINY_SINE)
    paths = []
    for name in ("a", "b"):
        result = CliRunner().invoke(main, ["--config", str(cfg), "--quiet", "--runs-dir",
                                           str(tmp), "--name", name], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        paths.append(tmp / name)
    return paths


def test_same_config_and_seed_give_bit_identical_checkpoints(two_runs):
    a, b = (np.load(p / "checkpoint.npz", allow_pickle=False) for p in two_runs)
    with a, b:
        assert sorted(a.files) == sorted(b.files) and "rnn.Wx" in a.files
        for name in a.files:
            if name == "state":   # position and counters, JSON: equal but for the clock
                sa, sb = (json.loads(str(z[name])) for z in (a, b))
                for s in (sa, sb):
                    assert s["position"].pop("elapsed_s") > 0
                assert sa == sb
                continue
            assert a[name].dtype == b[name].dtype
            assert a[name].tobytes() == b[name].tobytes(), name   # bits, not approx


def test_summary_records_the_environment(two_runs):
    env = json.loads((two_runs[0] / "summary.json").read_text())["env"]
    import trainer
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["numpy"] == np.__version__ and env["package"] == trainer.__version__
    assert env["argv"] == list(sys.argv)
    assert env["platform"] and "cpu" in env
    blas = env["blas"]
    assert blas, "numpy's BLAS should be visible to threadpoolctl"
    for field in ("internal_api", "version", "architecture", "num_threads"):
        assert field in blas[0]
    assert blas[0]["num_threads"] == 1   # train.threads = 1 is in force while the run writes it
    if (ROOT / ".git").exists() and shutil.which("git"):
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        assert env["git"]["commit"] == head and isinstance(env["git"]["dirty"], bool)


def test_git_state_is_none_outside_a_checkout_or_without_git(tmp_path, monkeypatch):
    assert provenance.git_state(tmp_path) is None            # an installed copy: no .git
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))    # git missing
    assert provenance.git_state(tmp_path) is None


@pytest.mark.skipif(not shutil.which("git"), reason="needs git")
def test_git_state_sees_commit_and_dirt(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "f.py").write_text("x = 1\n")
    git("add", "f.py")
    git("commit", "-q", "-m", "one")
    state = provenance.git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "f.py").write_text("x = 2\n")
    assert provenance.git_state(tmp_path) == {"commit": state["commit"], "dirty": True}


def test_eval_shows_where_the_run_was_trained(two_runs):
    result = CliRunner().invoke(main, ["eval", str(two_runs[0])])
    assert result.exit_code == 0, result.output
    env = json.loads((two_runs[0] / "summary.json").read_text())["env"]
    out = result.stdout
    assert f"numpy {env['numpy']}" in out
    assert f"kernel {env['blas'][0]['architecture']}, threads 1" in out
    assert out.index("baseline:") < out.index("trained with")   # after the scores


def test_eval_of_a_run_without_env_still_works(two_runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(two_runs[0], old)
    summary = json.loads((old / "summary.json").read_text())
    del summary["env"]     # a run from before provenance
    (old / "summary.json").write_text(json.dumps(summary))
    result = CliRunner().invoke(main, ["eval", str(old)])
    assert result.exit_code == 0, result.output
    assert "trained with" not in result.stdout
