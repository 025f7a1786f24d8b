"""A sweep through a dask.distributed LocalCluster on loopback: runs come back as bytes."""
import csv
import faulthandler
import json
import logging
import sys

import pytest
from click.testing import CliRunner

from trainer.cli import main
from tiny_configs import TINY_SINE

pytest.importorskip("distributed")

BASE = TINY_SINE
HANG_LIMIT_S = 120  # a hung cluster fails the test run instead of stalling CI


@pytest.fixture
def cluster():
    from distributed import LocalCluster
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True, file=sys.stderr)
    try:
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                          dashboard_address=":0", worker_dashboard_address=":0",
                          silence_logs=logging.ERROR) as c:
            yield c
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_a_sweep_runs_on_a_dask_cluster_and_the_client_writes_the_run_directories(tmp_path, cluster):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "sweep-dask.toml"
    path.write_text('base = "base.toml"\n[sweep]\nseeds = [0, 1]\n'
                    '[sweep.params]\n"train.bptt" = [5, 10]\n"model.hidden" = [8, 1000000000000]\n')
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", cluster.scheduler_address,
                                       "--runs-dir", str(runs), "--name", "d", "--run-figures"],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the runs that cannot allocate their weights fail
    with open(runs / "d" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8
    for r in rows:
        assert r["status"] == ("completed" if r["model.hidden"] == "8" else "failed"), r
        files = {p.name for p in (runs / "d" / r["run_dir"]).iterdir()}
        if r["status"] == "completed":
            assert files >= {"config.toml", "metrics.csv", "summary.json", "checkpoint.npz",
                             "loss_curves.png", "task_view.png"}
            summary = json.loads((runs / "d" / r["run_dir"] / "summary.json").read_text())
            assert summary["final"]["val_loss"] == float(r["val_loss"])
        else:
            assert "summary.json" in files and "checkpoint.npz" not in files
    assert not list((runs / "d").glob(".*partial*"))
    assert (runs / "d" / "loss_curves.png").is_file()

    # run again: everything finished is skipped, the failed runs are tried again
    again = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", cluster.scheduler_address,
                                      "--runs-dir", str(runs), "--name", "d"], catch_exceptions=False)
    assert "4 already done, 4 to run" in again.stderr


def test_an_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    from trainer.sweep import dask_cluster as sweep_dask
    monkeypatch.setattr(sweep_dask, "CONNECT_TIMEOUT_S", 1)
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "s.toml"
    path.write_text('base = "base.toml"\n')
    result = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", "tcp://127.0.0.1:9",
                                       "--runs-dir", str(tmp_path / "runs"), "--name", "x"])
    assert result.exit_code == 2, result.output
    assert "cannot connect to a Dask scheduler" in result.stderr
    assert result.stderr.count("\n") == 1
