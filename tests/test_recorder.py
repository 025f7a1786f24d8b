"""The recorder's order of writes: best.npz lands before the checkpoint that records it, so a
run stopped between the two (killed, or a write that failed) never leaves a checkpoint whose best
epoch best.npz does not hold, and its resume ends with the uninterrupted run's best.npz."""
import errno
import json
import os

import numpy as np
from click.testing import CliRunner

from tiny_configs import TINY_SINE
from trainer.cli import main

CONFIG = TINY_SINE.replace("epochs = 1", "epochs = 4") + "seed = 3\n"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def state(path):
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["state"])), {k: z[k] for k in z.files if k.startswith("rnn.")}


def test_a_best_npz_that_never_lands_leaves_the_checkpoint_before_it(tmp_path, monkeypatch):
    (tmp_path / "c.toml").write_text(CONFIG)
    assert invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "ref",
                  "--quiet").exit_code == 0
    ref = json.loads((tmp_path / "ref" / "summary.json").read_text())
    assert ref["best"]["epoch"] >= 2   # the run improves after its first epoch

    replace, seen = os.replace, []

    def second_best_fails(src, dst):   # the second best.npz never lands, as under a kill
        if str(dst).endswith("best.npz"):
            seen.append(dst)
            if len(seen) == 2:
                os.unlink(src)
                raise OSError(errno.EIO, "Input/output error", str(dst))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", second_best_fails)
    result = invoke("--config", tmp_path / "c.toml", "--runs-dir", tmp_path, "--name", "r",
                    "--quiet")
    monkeypatch.undo()
    assert result.exit_code == 1, result.output   # recorded as failed
    run = tmp_path / "r"
    last, _ = state(run / "checkpoint.npz")
    best, _ = state(run / "best.npz")
    # the checkpoint on disk names as its best the epoch best.npz holds
    assert last["position"]["best"]["epoch"] == best["position"]["epoch"] == 1

    assert invoke("resume", run, "--quiet").exit_code == 0
    done = json.loads((run / "summary.json").read_text())
    assert done["status"] == "completed" and done["best"] == ref["best"]
    got, want = state(run / "best.npz")[1], state(tmp_path / "ref" / "best.npz")[1]
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), name


def test_the_command_the_api_and_a_sweep_worker_start_a_run_through_one_call(tmp_path,
                                                                             monkeypatch):
    """run.start (checks, a new run directory, training) is the one way a run begins."""
    import trainer
    from trainer.config.load import load
    from trainer.sweeps.worker import run_into
    from trainer.training import run
    start, started = run.start, []

    def counted(cfg, runs_dir, name=None, **kwargs):
        started.append(name)
        return start(cfg, runs_dir, name, **kwargs)

    monkeypatch.setattr(run, "start", counted)
    config = tmp_path / "c.toml"
    config.write_text(TINY_SINE)
    assert invoke("--config", config, "--runs-dir", tmp_path, "--name", "cli", "--quiet"
                  ).exit_code == 0
    assert trainer.train(str(config), runs_dir=tmp_path, name="api").summary["status"] == \
        "completed"
    cfg = load(config)
    assert run_into(cfg.to_dict(), cfg.source, tmp_path / "sweep")["status"] == "completed"
    assert started == ["cli", "api", "sweep"]
    rows = {n: (tmp_path / n / "metrics.csv").read_text().splitlines() for n in started}
    numbers = {n: [line.rsplit(",", 1)[0] for line in r] for n, r in rows.items()}   # no elapsed_s
    assert numbers["cli"] == numbers["api"] == numbers["sweep"]
