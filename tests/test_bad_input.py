"""Every kind of bad input: exit 2, one line on stderr, no traceback, nothing created or changed."""
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
SINE = str(ROOT / "configs/sine.toml")
TINY = ["--set", "task.length=200", "--set", "task.val_length=50", "--set", "train.epochs=1",
        "--set", "train.batch_size=4", "--set", "train.bptt=10", "--set", "model.hidden=4"]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("good")
    result = CliRunner().invoke(main, ["--config", SINE, "--quiet", "--runs-dir", str(runs),
                                       "--name", "done", *TINY])
    assert result.exit_code == 0
    return runs / "done"


def snapshot(root):
    """Every path with its size and time; not the .lock, which a refused writer takes too."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.name != ".lock"}


def config(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return str(p)


def sweep(tmp_path, params, method='"grid"', seeds="[0]"):
    """A sweep file over configs/sine.toml with these [sweep.params] lines."""
    return config(tmp_path, f'base = "{SINE}"\n[sweep]\nmethod = {method}\nseeds = {seeds}\n'
                            f'[sweep.params]\n{params}\n')


def run_dir_with(tmp_path, good_run, change):
    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    change(run)
    return str(run)


def truncate_checkpoint(run):
    data = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(data[: len(data) // 2])


def garbage_checkpoint(run):
    (run / "checkpoint.npz").write_bytes(b"not a zip file at all")


def foreign_npz(run):
    import numpy as np
    np.savez(run / "checkpoint.npz", weights=np.zeros(3))


def other_hidden_size(run):
    p = run / "config.toml"
    p.write_text(p.read_text().replace("hidden = 4", "hidden = 5"))


def garbage_best(run):
    (run / "best.npz").write_bytes(b"not a zip file at all")


def no_checkpoints(run):
    (run / "checkpoint.npz").unlink()
    (run / "best.npz").unlink()


def diverged_at_once(run):  # what a run that diverged before its first checkpoint leaves
    import json
    (run / "checkpoint.npz").unlink()
    (run / "best.npz").unlink()
    summary = json.loads((run / "summary.json").read_text())
    summary.update(status="diverged", steps=1, diverged_at_step=2, diverged_what="loss", best=None)
    (run / "summary.json").write_text(json.dumps(summary))


def no_best(run):
    (run / "best.npz").unlink()


def unfinished(run):  # a resumable run whose config was then broken by hand
    p = run / "config.toml"
    p.write_text(p.read_text().replace("bptt = 10", "bptt = \"ten\""))


def fifo(tmp_path):
    p = tmp_path / "fifo.toml"
    os.mkfifo(p)
    return str(p)


BIG = "# " + "x" * (1 << 20) + "\n"             # a comment just over the 1 MiB limit
DEEP = "[task]\nx = " + "[" * 500 + "]" * 500 + "\n"  # would exhaust the parser's recursion


def run_config(text):
    return lambda run: (run / "config.toml").write_text(text)


def fifo_run_config(run):
    (run / "config.toml").unlink()
    os.mkfifo(run / "config.toml")


def sweep_file(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return str(p)


CASES = {
    # config files
    "malformed toml": (lambda t, g: ["--config", config(t, "[train\nbptt = 3\n")], "line 1"),
    "unknown section": (lambda t, g: ["--config", config(t, "[trian]\n")], "did you mean 'train'"),
    "unknown key": (lambda t, g: ["--config", config(t, "[train]\nepoch = 3\n")],
                    "did you mean 'train.epochs'"),
    "string for number": (lambda t, g: ["--config", config(t, '[optim]\nlr = "0.1"\n')], "optim.lr"),
    "float for int": (lambda t, g: ["--config", config(t, "[train]\nepochs = 2.5\n")], "train.epochs"),
    "bool for number": (lambda t, g: ["--config", config(t, "[optim]\nlr = true\n")], "optim.lr"),
    "zero size": (lambda t, g: ["--config", config(t, "[model]\nhidden = 0\n")], "model.hidden"),
    "negative rate": (lambda t, g: ["--config", config(t, "[optim]\nlr = -0.1\n")], "optim.lr"),
    "zero batch": (lambda t, g: ["--config", config(t, "[train]\nbatch_size = 0\n")], "batch_size"),
    "bptt too large": (lambda t, g: ["--config", config(t, "[train]\nbptt = 251\n")], "does not fit"),
    "batch too large": (lambda t, g: ["--config", config(t, "[train]\nbatch_size = 5000\n")],
                        "does not fit"),
    "unknown task": (lambda t, g: ["--config", config(t, '[task]\nname = "sines"\n')], "unknown task"),
    "unknown cell": (lambda t, g: ["--config", config(t, '[model]\ncell = "lstmm"\n')], "model.cell"),
    "unknown optimizer": (lambda t, g: ["--config", config(t, '[optim]\nname = "sgdd"\n')],
                          "optim.name"),
    "nan": (lambda t, g: ["--config", config(t, "[optim]\nlr = nan\n")], "finite"),
    "inf": (lambda t, g: ["--config", config(t, "[task]\nnoise = inf\n")], "finite"),
    "binary file": (lambda t, g: ["--config", str(Path(g) / "checkpoint.npz")], "UTF-8"),
    "number beyond a float": (lambda t, g: ["--config", config(t, "[optim]\nlr = 1" + "0" * 400)],
                              "optim.lr: expected a finite number"),
    "number too long to read": (lambda t, g: ["--config", config(t, "[train]\nepochs = " + "9" * 5000)],
                                "malformed TOML"),
    # input files: only regular files, at most 1 MiB, nested at most 32 deep
    "config is a fifo": (lambda t, g: ["--config", fifo(t)], "is not a regular file"),
    "config is a device": (lambda t, g: ["--config", "/dev/zero"], "is not a regular file"),
    "config too large": (lambda t, g: ["--config", config(t, BIG)], "larger than 1024 KiB"),
    "config nested too deep": (lambda t, g: ["--config", config(t, DEEP)], "nested deeper than 32"),
    "sweep file is a fifo": (lambda t, g: ["sweep", fifo(t), "--runs-dir", str(t / "runs")],
                             "is not a regular file"),
    "sweep file too large": (lambda t, g: ["sweep", sweep_file(t, BIG), "--runs-dir",
                                           str(t / "runs")], "larger than 1024 KiB"),
    "sweep base a device": (lambda t, g: ["sweep", sweep_file(t, 'base = "/dev/zero"\n'),
                                          "--runs-dir", str(t / "runs")],
                            "/dev/zero: is not a regular file"),
    "resume run config too deep": (lambda t, g: ["resume", run_dir_with(t, g, run_config(DEEP)),
                                                 "--epochs", "3"], "nested deeper than 32"),
    "eval run config too large": (lambda t, g: ["eval", run_dir_with(t, g, run_config(BIG))],
                                  "larger than 1024 KiB"),
    "plot run config too large": (lambda t, g: ["plot", run_dir_with(t, g, run_config(BIG))],
                                  "larger than 1024 KiB"),
    "eval run config is a fifo": (lambda t, g: ["eval", run_dir_with(t, g, fifo_run_config)],
                                  "config.toml"),
    # schedules and early stopping
    "unknown schedule": (lambda t, g: ["--config", SINE, "--set", "optim.schedule=linear"],
                         "--set optim.schedule=linear: expected one of"),
    "decay of one": (lambda t, g: ["--config", SINE, "--set", "optim.decay=1"],
                     "optim.decay=1: expected a number > 0 and < 1"),
    "decay above one": (lambda t, g: ["--config", SINE, "--set", "optim.decay=1.5"], "optim.decay"),
    "decay of zero": (lambda t, g: ["--config", SINE, "--set", "optim.decay=0"], "optim.decay"),
    "min_lr above lr": (lambda t, g: ["--config", SINE, "--set", "optim.min_lr=0.5"],
                        "optim.min_lr: expected at most optim.lr"),
    "sine noise whose squares overflow": (lambda t, g: ["--config", SINE, "--set", "task.noise=1e300"],
                                         "task.noise=1e300: expected a number <= 1e+06"),
    "warmup longer than the run": (lambda t, g: ["--config", SINE, "--set", "optim.warmup=1601"],
                                   "optim.warmup: 1601 steps is longer than the run (1600 steps"),
    "monitor the task lacks": (lambda t, g: ["--config", SINE, "--set", "train.monitor=val_accuracy"],
                               "train.monitor: expected one of 'val_loss', 'val_mse'"),
    "early_stop negative": (lambda t, g: ["--config", SINE, "--set", "train.early_stop=-1"],
                            "train.early_stop"),
    "decay_every zero": (lambda t, g: ["--config", SINE, "--set", "optim.decay_every=0"],
                         "optim.decay_every"),
    # command line
    "unknown option": (lambda t, g: ["--config", SINE, "--epochs", "3"], "No such option"),
    "set without =": (lambda t, g: ["--config", SINE, "--set", "train.bptt"], "KEY=VALUE"),
    "set unknown path": (lambda t, g: ["--config", SINE, "--set", "train.x.y=1"], "section.key"),
    "set unknown key": (lambda t, g: ["--config", SINE, "--set", "model.hiden=3"],
                        "did you mean 'model.hidden'"),
    "set task name keeps the old task's keys": (
        lambda t, g: ["--config", SINE, "--set", "task.name=counting"],
        "unknown key 'task.period': a key of task 'sine', not of 'counting' (its keys: task.vocab"),
    "set a synonym": (lambda t, g: ["--config", SINE, "--set", "optim.learning_rate=0.1"],
                      "unknown key 'optim.learning_rate' (did you mean 'optim.lr'?)"),
    "sweep file as config": (lambda t, g: ["--config", str(ROOT / "configs/sweep-bptt.toml")],
                             "a sweep file (it has a 'base' key), not a run config; run it with: "
                             "train sweep"),
    "set bad value": (lambda t, g: ["--config", SINE, "--set", "train.epochs=many"], "integer"),
    "missing config": (lambda t, g: ["--config", str(t / "none.toml")], "no such config file"),
    "directory as config": (lambda t, g: ["--config", str(t)], "is a directory"),
    "no config": (lambda t, g: [], "missing option '--config'"),
    "unknown command": (lambda t, g: ["resum", "x"], "No such command"),
    "training option before a command": (lambda t, g: ["--quiet", "eval", str(g)],
                                         "--quiet goes with training, not before 'eval'"),
    "sweep runs dir under a file": (lambda t, g: ["sweep", str(ROOT / "configs/sweep-bptt.toml"),
                                                  "--runs-dir", str(Path(g) / "summary.json" / "x")],
                                    "--runs-dir"),
    "sweep scheduler not an address": (lambda t, g: ["sweep", str(ROOT / "configs/sweep-bptt.toml"),
                                                     "--scheduler", "notanaddress", "--runs-dir",
                                                     str(t / "runs")], "expected a scheduler address"),
    "sweep key not quoted": (lambda t, g: ["sweep", config(t, 'base = "' + SINE + '"\n[sweep]\n'
                                                          'seeds = [0]\n[sweep.params]\n'
                                                          'train.bptt = [4, 8]\n'),
                                           "--runs-dir", str(t / "runs")], "in quotes"),
    "sweep grid num 1e9": (lambda t, g: ["sweep", sweep(t, '"optim.lr" = {min = 0.01, max = 0.1, '
                                                       'num = 1000000000}'), "--runs-dir", str(t / "r")],
                           "the sweep would have 1,000,000,000 runs (1,000,000,000 values of optim.lr"),
    "sweep grid num beyond int64": (lambda t, g: ["sweep", sweep(t, '"optim.lr" = {min = 0.01, max = 0.1, '
                                                                'num = 99999999999999999999}'),
                                                  "--runs-dir", str(t / "r")],
                                    "more than the limit of 10,000 runs"),
    "sweep grid product over the limit": (lambda t, g: ["sweep", sweep(t, '"optim.lr" = {min = 0.01, max = '
                                                                      '0.1, num = 1000}\n"optim.clip" = '
                                                                      '{min = 0.1, max = 1.0, num = 1000}'),
                                                        "--dry-run", "--runs-dir", str(t / "r")],
                                          "1,000,000 runs (1,000 values of optim.lr x 1,000 values"),
    "sweep seeds x values over the limit": (lambda t, g: ["sweep", sweep(t, '"optim.lr" = {min = 0.01, max = '
                                                                        '0.1, num = 5001}', seeds="[0, 1]"),
                                                          "--dry-run", "--runs-dir", str(t / "r")],
                                            "10,002 runs (5,001 values of optim.lr x 2 seeds)"),
    "sweep random n over the limit": (lambda t, g: ["sweep", sweep(t, '"optim.lr" = {min = 0.01, max = 0.1}',
                                                                   method='"random"\nn = 10001'),
                                                    "--runs-dir", str(t / "r")], "10,001 runs (n = 10001"),
    "sweep random int range to 1e300": (lambda t, g: ["sweep", sweep(t, '"train.epochs" = {min = 1, '
                                                                     'max = 1e300}', method='"random"\nn = 3'),
                                                      "--runs-dir", str(t / "r")],
                                        "sweep.params.train.epochs: an integer range must lie within"),
    "compare out under a file": (lambda t, g: ["compare", str(g), "--out",
                                               str(Path(g) / "summary.json" / "x")], "--out"),
    # run names and places
    "name with slash": (lambda t, g: ["--config", SINE, "--name", "a/b"], "--name"),
    "name with ..": (lambda t, g: ["--config", SINE, "--name", ".."], "--name"),
    "name with dots": (lambda t, g: ["--config", SINE, "--name", "a..b"], "--name"),
    "name unsafe char": (lambda t, g: ["--config", SINE, "--name", "a b*"], "--name"),
    "name exists": (lambda t, g: ["--config", SINE, "--name", "done", "--runs-dir",
                                  str(Path(g).parent)], "already exists"),
    "runs dir is a file": (lambda t, g: ["--config", SINE, "--runs-dir", str(Path(g) / "summary.json")],
                           "not a directory"),
    "runs dir under a file": (lambda t, g: ["--config", SINE, "--runs-dir",
                                            str(Path(g) / "summary.json" / "runs")], "--runs-dir"),
    # resume
    "resume not a run": (lambda t, g: ["resume", str(t)], "not a run directory"),
    "resume missing dir": (lambda t, g: ["resume", str(t / "nope")], "not a run directory"),
    "resume truncated checkpoint": (lambda t, g: ["resume", run_dir_with(t, g, truncate_checkpoint),
                                                  "--epochs", "3"], "unreadable checkpoint"),
    "resume garbage checkpoint": (lambda t, g: ["resume", run_dir_with(t, g, garbage_checkpoint),
                                                "--epochs", "3"], "unreadable checkpoint"),
    "resume foreign checkpoint": (lambda t, g: ["resume", run_dir_with(t, g, foreign_npz),
                                                "--epochs", "3"], "not a checkpoint of this trainer"),
    "resume shape mismatch": (lambda t, g: ["resume", run_dir_with(t, g, other_hidden_size),
                                            "--epochs", "3"], "model.hidden (4 -> 5)"),
    "resume broken config": (lambda t, g: ["resume", run_dir_with(t, g, unfinished)], "train.bptt"),
    "resume fewer epochs": (lambda t, g: ["resume", run_dir_with(t, g, lambda r: None),
                                          "--epochs", "0"], "--epochs"),
    "eval not a run": (lambda t, g: ["eval", str(t)], "not a run directory"),
    "eval bad checkpoint": (lambda t, g: ["eval", run_dir_with(t, g, garbage_checkpoint),
                                          "--checkpoint", "last"], "unreadable checkpoint"),
    "eval bad best checkpoint": (lambda t, g: ["eval", run_dir_with(t, g, garbage_best)],
                                 "best.npz: unreadable checkpoint"),
    "eval best missing": (lambda t, g: ["eval", run_dir_with(t, g, no_best), "--checkpoint", "best"],
                          "no best checkpoint"),
    "eval set model key": (lambda t, g: ["eval", str(g), "--set", "model.hidden=8"],
                           "--set model.hidden=8: only the data can change"),
    "eval set optim key": (lambda t, g: ["eval", str(g), "--set", "optim.lr=0.5"],
                           "only the data can change"),
    "eval set task name": (lambda t, g: ["eval", str(g), "--set", "task.name=counting"],
                           "only the data can change"),
    "eval set bad task value": (lambda t, g: ["eval", str(g), "--set", "task.val_length=1"],
                                "task.val_length"),
    "eval unknown checkpoint": (lambda t, g: ["eval", str(g), "--checkpoint", "first"],
                                "--checkpoint"),
    "generate no checkpoint": (lambda t, g: ["generate", run_dir_with(t, g, no_checkpoints)],
                               "no checkpoint"),
    "eval diverged before a checkpoint": (lambda t, g: ["eval", run_dir_with(t, g, diverged_at_once)],
                                          "the run diverged at step 2 before its first "
                                          "checkpoint: no model was saved"),
    "plot diverged before a checkpoint": (lambda t, g: ["plot", run_dir_with(t, g, diverged_at_once)],
                                          "diverged at step 2 before its first checkpoint"),
    "generate diverged before a checkpoint": (
        lambda t, g: ["generate", run_dir_with(t, g, diverged_at_once)],
        "diverged at step 2 before its first checkpoint"),
    "generate zero steps": (lambda t, g: ["generate", str(g), "--steps", "0"], "--steps"),
    "generate negative temperature": (lambda t, g: ["generate", str(g), "--temperature", "-1"],
                                      "--temperature"),
    "generate not a run": (lambda t, g: ["generate", str(t)], "not a run directory"),
    "plot not a run": (lambda t, g: ["plot", str(t)], "not a run directory"),
    "plot bad steps": (lambda t, g: ["plot", str(g), "--steps", "-5"], "--steps"),
    # huge but well-typed values: bounded, refused before anything is made
    "hidden 10^23": (lambda t, g: ["--config", SINE, "--set", "model.hidden=" + "1" + "0" * 23],
                     "model.hidden"),
    "task length 4e12": (lambda t, g: ["--config", SINE, "--set", "task.length=4000000000000"],
                         "task.length"),
    "threads 1e20": (lambda t, g: ["--config", SINE, "--set", "train.threads=" + "1" + "0" * 20],
                     "train.threads"),
    "plot GOOD BAD redraws nothing": (lambda t, g: ["plot", str(g), str(t)], "not a run directory"),
    # echoed input is escaped: these split a line for str.splitlines() and for terminals
    "--set with a vertical tab": (lambda t, g: ["--config", SINE, "--set", "task.len\vgth=3"],
                                  "task.len\\x0bgth"),
    "--set with NEL": (lambda t, g: ["--config", SINE, "--set", "task.len\x85gth=3"],
                       "task.len\\x85gth"),
    "--set with a line separator": (lambda t, g: ["--config", SINE, "--set", "task.len\u2028gth=3"],
                                    "task.len\\u2028gth"),
    "--set with an escape sequence": (lambda t, g: ["--config", SINE, "--set",
                                                    "task.\x1b[31mred=3"], "task.\\x1b[31mred"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(tmp_path, good_run, case):
    make_args, expected = CASES[case]
    args = make_args(tmp_path, good_run)
    if "--runs-dir" not in args and args and args[0] == "--config":
        args = [*args, "--runs-dir", str(tmp_path / "runs")]
    before, good_before = snapshot(tmp_path), snapshot(good_run)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert lines[0].isprintable(), lines[0]  # no control character reaches the terminal
    assert "Traceback" not in result.output and result.stdout == ""
    assert snapshot(tmp_path) == before
    assert snapshot(good_run) == good_before


def test_a_bad_scheduler_address_is_refused_the_same_without_the_dask_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed -> ImportError
    args = ["sweep", str(ROOT / "configs/sweep-bptt.toml"), "--scheduler", "notanaddress",
            "--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "expected a scheduler address" in lines[0], result.stderr
    assert not (tmp_path / "runs").exists()


def _limit_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))


def test_a_run_whose_arrays_would_not_fit_in_memory_is_refused_before_anything_is_made(tmp_path):
    """Valid sizes that need more memory than there is (16384 hidden units: about 5 GiB, under
    `ulimit -v` 3 GiB): exit 2, one line with the estimate, no run directory (it used to fail
    in a run directory, exit 1)."""
    import subprocess
    proc = subprocess.run([sys.executable, "-m", "trainer", "--config", SINE, "--runs-dir",
                           str(tmp_path / "runs"), "--set", "model.hidden=16384"],
                          capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    line, = proc.stderr.strip().splitlines()
    assert "would need about 5.4 GiB of memory" in line and "model.hidden" in line   # SGD + momentum
    assert not (tmp_path / "runs").exists()


def test_compare_lists_a_run_whose_config_is_too_deep_as_unreadable_and_goes_on(tmp_path, good_run):
    """Issue 22: one unreadable run among several is listed as such with the reason; the
    others are compared (before, the whole compare stopped)."""
    bad = run_dir_with(tmp_path, good_run, run_config(DEEP))
    result = CliRunner().invoke(main, ["compare", bad, str(good_run), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert "unreadable" in result.stderr and "nested deeper than 32" in result.stderr
    rows = (tmp_path / "cmp" / "results.csv").read_text().splitlines()
    assert len(rows) == 3 and any(",unreadable," in r for r in rows) and any(",completed," in r for r in rows)
