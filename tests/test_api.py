"""best.npz, eval on changed data, generate, and the Python API (trainer.train, trainer.load_run)
end to end; the README's and docs/api.md's API examples run as written."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import trainer
import trainer.training.loop
import trainer.plots.run
from trainer.cli import main
from trainer.training.checkpoint import param_names
from trainer.model.evaluate import predict_stream

ROOT = Path(__file__).resolve().parents[1]
TINY = {"task": {"name": "sine", "length": 200, "val_length": 60},
        "model": {"hidden": 6}, "optim": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 3, "batch_size": 4, "bptt": 10}}
ORDER = ["rnn.Wx", "rnn.Wh", "rnn.b", "head.W", "head.b"]
NAMES = set(ORDER)


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def sine(tmp_path_factory):
    return trainer.train(TINY, overrides={"train.epochs": 2}, runs_dir=tmp_path_factory.mktemp("r"),
                         name="sine")


def test_best_npz_is_the_run_stopped_at_its_best_epoch(tmp_path, monkeypatch):
    figures = iter([3.0, 1.0, 2.0, 2.0, 2.0, 3.0, 1.0])
    monkeypatch.setattr(trainer.training.loop, "evaluate",
                        lambda m, t: dict.fromkeys(("val_loss", "val_mse"), next(figures)))
    notes = []
    monkeypatch.setattr(trainer.plots.run, "figure_jobs", lambda path, view, summary, note: notes.append(note) or [])
    run = trainer.train(TINY, {"train.epochs": 6, "train.early_stop": 3}, tmp_path, "early")
    s = run.summary
    assert s["status"] == "completed" and s["stopped_early"] and s["epochs_done"] == 5
    assert s["best"] == {"epoch": 2, "step": 10, "val_loss": 1.0, "val_mse": 1.0}
    assert notes == [" (best model, epoch 2)"]                  # the task view says so
    short = trainer.train(TINY, {"train.epochs": 2}, tmp_path, "short")
    assert not short.summary["stopped_early"]
    best, last = arrays(run.path / "best.npz"), arrays(short.path / "checkpoint.npz")
    assert NAMES | {"optim.t", "optim.m.rnn.Wx", "optim.v.head.b", "stream.batches"} <= set(best)
    assert best.keys() == last.keys()
    for k in best:
        if k != "state":    # parameters, optimizer state, streams, carried state: bit for bit
            assert best[k].dtype == last[k].dtype and np.array_equal(best[k], last[k]), k
    assert run.checkpoint == "best" and param_names(run.model) == sorted(NAMES, key=ORDER.index)
    assert all(np.array_equal(p, best[n]) for n, p in zip(ORDER, run.model.params))


def test_the_run_object(sine):
    assert sine.summary["status"] == "completed" and sine.config["train"]["epochs"] == 2
    m = sine.metrics
    assert list(m.columns[:6]) == ["step", "epoch", "split", "loss", "mse", "lr"]
    assert (m["split"] == "val").sum() == 2 and (m["lr"] == 0.02).all()
    again = trainer.load_run(sine.path)
    assert again.checkpoint == "best" and trainer.load_run(sine.path, "last").checkpoint == "last"
    xs = sine.task.val_x[:20]                                          # (20, 1)
    assert np.array_equal(sine.predict(xs), predict_stream(sine.model, xs))
    assert sine.predict(np.stack([xs, xs])).shape == (2, 20, 1)
    g = sine.generate(15)
    assert g.shape == (15, 1) and np.isfinite(g).all()
    assert np.array_equal(g, again.generate(15))


def test_bad_input_to_the_api_raises_one_line_and_writes_nothing(tmp_path):
    from trainer.errors import BadInput
    for overrides in ({"epochs": 3}, {"train.epochs": 0}, {"optim.schedule": "linear"},
                      {"train.monitor": "val_accuracy"}):
        with pytest.raises(BadInput) as e:
            trainer.train(TINY, overrides, runs_dir=tmp_path / "runs")
        assert "\n" not in str(e.value)
    assert not (tmp_path / "runs").exists()


def test_import_trainer_stays_light():
    code = ("import sys, trainer; heavy = [m for m in ('trainer.api.runs', 'numpy', 'pandas', "
            "'matplotlib') if m in sys.modules]; print(heavy); trainer.load_run")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_eval_checkpoints_and_changed_data(sine):
    best = cli("eval", sine.path)
    b = sine.summary["best"]
    assert best.exit_code == 0 and f"checkpoint  best (epoch {b['epoch']}, step {b['step']})" in best.stdout
    last = cli("eval", sine.path, "--checkpoint", "last")
    assert "checkpoint  last" in last.stdout
    longer = cli("eval", sine.path, "--set", "task.val_length=500", "--set", "train.seed=9")
    assert longer.exit_code == 0 and "data  task.val_length=500 train.seed=9" in longer.stdout
    assert val_loss(longer.stdout) != val_loss(best.stdout)          # other data, other figure
    assert (sine.path / "config.toml").read_text().count("val_length = 60") == 1  # run unchanged


def val_loss(text):
    return float(re.search(r"val_loss\s+(\S+)", text)[1])


def test_eval_anbn_on_longer_strings_and_generate_refuses_episodes(tmp_path):
    run = trainer.train(ROOT / "configs/anbn.toml", {"task.train_size": 40, "train.epochs": 1,
                                                    "train.batch_size": 20, "model.hidden": 4,
                                                    "task.n_test_max": 12}, tmp_path, "anbn")
    out = cli("eval", run.path, "--set", "task.n_test_max=30")
    assert out.exit_code == 0 and "val_long_string_accuracy" in out.stdout, out.output
    before = sorted(p.name for p in run.path.iterdir())
    out = cli("generate", run.path)
    assert out.exit_code == 2 and "independent episodes" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and sorted(p.name for p in run.path.iterdir()) == before


def test_generate_values_and_tokens(sine, tmp_path):
    out = cli("generate", sine.path, "--steps", 30, "--out", tmp_path / "g.csv")
    assert out.exit_code == 0, out.output
    lines = (tmp_path / "g.csv").read_text().splitlines()
    assert lines[0] == "step,value" and len(lines) == 31 and (tmp_path / "g.png").exists()
    assert [float(x.split(",")[1]) for x in lines[1:]] == sine.generate(30)[:, 0].tolist()
    counting = trainer.train(ROOT / "configs/counting.toml", {
        "task.length": 400, "task.val_length": 120, "train.epochs": 1, "train.batch_size": 4,
        "train.bptt": 10, "model.hidden": 8}, tmp_path, "counting")
    for temperature in ("0", "1.5"):
        out = cli("generate", counting.path, "--steps", 25, "--temperature", temperature)
        assert out.exit_code == 0, out.output
        printed, path = out.stdout.strip().splitlines()
        tokens = [int(t) for t in printed.split()]
        assert len(tokens) == 25 and all(0 <= t < 10 for t in tokens)
        assert Path(path).read_text().strip() == printed
    assert counting.generate(25).tolist() == [int(t) for t in
                                              cli("generate", counting.path, "--steps", 25).stdout.split()[:25]]


def to_old_format(run):
    """Rewrite checkpoint.npz as the first format wrote it: param_0..., one generator."""
    new = arrays(run / "checkpoint.npz")
    old = {f"param_{i}": new[k] for i, k in enumerate(ORDER)}
    old["rng_state"] = new["stream.batches"]
    old["rnn_h"] = new["carried.h"]
    state = json.loads(str(new["state"]))
    state["format"] = 1
    old["state"] = np.array(json.dumps(state))
    (run / "best.npz").unlink()
    np.savez(run / "checkpoint.npz", **old)


def test_an_old_unnamed_checkpoint_is_read_for_eval_and_refused_for_resume(sine, tmp_path):
    run = tmp_path / "old"
    shutil.copytree(sine.path, run)
    to_old_format(run)
    now = cli("eval", sine.path, "--checkpoint", "last")
    old = cli("eval", run)
    assert old.exit_code == 0 and val_loss(old.stdout) == val_loss(now.stdout)
    out = cli("resume", run, "--epochs", 3)
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "older version of the trainer (checkpoint format 1" in out.stderr


@pytest.mark.parametrize("page", ["README.md", "docs/api.md"])
def test_the_python_api_examples_run(page, tmp_path):
    text = (ROOT / page).read_text()
    section = text[text.index("# Python API"):]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "import trainer" in b]
    assert blocks
    for folder in ("configs", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for code in blocks:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}, timeout=180)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip()
    assert (tmp_path / "runs").is_dir()
