"""A sweep through a dask.distributed LocalCluster on loopback: runs come back as bytes."""
import contextlib
import csv
import faulthandler
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main
from tiny_configs import TINY_SINE

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # each test starts a cluster of processes

BASE = TINY_SINE
HANG_LIMIT_S = 120  # a hung cluster fails the test run instead of stalling CI


MEMORY_LIMIT = 3 << 30  # the worker's `ulimit -v`: a run whose arrays need more is refused there


def _limit_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, resource.getrlimit(resource.RLIMIT_AS)[1]))


@contextlib.contextmanager
def _processes(nthreads, preexec_fn=None):
    """A `dask scheduler` on loopback and one `dask worker` process, as real processes;
    yields (the scheduler's address, its process)."""
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True, file=sys.stderr)
    scheduler, line = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                              "0", "--no-dashboard"], "Scheduler at:")
    address = line.split("Scheduler at:")[1].split()[0]
    worker = None
    try:
        worker, _ = _start(["distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads",
                            str(nthreads), "--no-dashboard"], "Starting established connection",
                           preexec_fn=preexec_fn)
        yield address, scheduler
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.kill()
                proc.wait()
                proc.reader.join(timeout=5)  # at the end of the pipe now the process is gone
                proc.stderr.close()          # or it is left to the garbage collector, unclosed
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def cluster():
    """A scheduler and one worker process (two threads) under a 3 GiB address-space limit."""
    with _processes(2, _limit_memory) as (address, _):
        yield address


def _start(args, ready, preexec_fn=None):
    """A `python -m ...` process; waits until its stderr has printed a line with `ready` and
    returns (process, that line); its further output goes on being read (and dropped)."""
    import subprocess
    import threading
    proc = subprocess.Popen([sys.executable, "-m", *args], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, preexec_fn=preexec_fn)
    for line in proc.stderr:
        if ready in line:
            proc.reader = threading.Thread(target=proc.stderr.read, daemon=True)
            proc.reader.start()
            return proc, line
    raise AssertionError(f"{args[0]} did not start")


def test_a_sweep_runs_on_a_dask_cluster_and_the_client_writes_the_run_directories(tmp_path, cluster):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "sweep-dask.toml"
    path.write_text('base = "base.toml"\n[sweep]\nseeds = [0, 1]\n'
                    '[sweep.params]\n"train.bptt" = [5, 10]\n"model.hidden" = [8, 16384]\n')
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", cluster,
                                       "--runs-dir", str(runs), "--name", "d", "--run-figures"],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the runs too big for the worker's memory fail
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
            summary = json.loads((runs / "d" / r["run_dir"] / "summary.json").read_text())
            assert "of memory for its arrays" in summary["error"]
    assert not list((runs / "d").glob(".*partial*"))
    assert (runs / "d" / "loss_curves.png").is_file()

    # run again: everything finished is skipped, the failed runs are tried again
    again = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", cluster,
                                      "--runs-dir", str(runs), "--name", "d"], catch_exceptions=False)
    assert "4 already done, 4 to run" in again.stderr


def test_an_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    from trainer.sweeps import dask_cluster as sweep_dask
    monkeypatch.setattr(sweep_dask, "CONNECT_TIMEOUT_S", 1)
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "s.toml"
    path.write_text('base = "base.toml"\n')
    result = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", "tcp://127.0.0.1:9",
                                       "--runs-dir", str(tmp_path / "runs"), "--name", "x"])
    assert result.exit_code == 2, result.output
    assert "cannot connect to a Dask scheduler" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("speaks", [None, b"HTTP/1.0 200 OK\r\n\r\nhello there, not dask\r\n"],
                         ids=["silent", "speaks"])
def test_a_server_that_does_not_answer_as_dask_is_refused_within_the_timeout(tmp_path, monkeypatch,
                                                                            speaks):
    """Something listening that is not a Dask scheduler (a web server waits for a request and
    says nothing; another speaks, but not Dask): exit 2, one line, within the connect timeout
    (it hung over 400 s)."""
    import socket
    import threading
    import time
    from trainer.sweeps import dask_cluster as sweep_dask
    monkeypatch.setattr(sweep_dask, "CONNECT_TIMEOUT_S", 1)
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        conn, _ = server.accept()
        accepted.append(conn)
        if speaks:
            conn.sendall(speaks)

    threading.Thread(target=serve, daemon=True).start()
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "s.toml"
    path.write_text('base = "base.toml"\n')
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    start = time.monotonic()
    try:
        result = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", address,
                                           "--runs-dir", str(tmp_path / "runs"), "--name", "x"])
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    assert time.monotonic() - start < 10
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert address in line and ("no answer as a Dask scheduler" in line if speaks is None
                                else "not as a Dask scheduler" in line)
    assert not (tmp_path / "runs").exists()



def test_losing_the_scheduler_stops_the_sweep_in_one_line_and_the_rest_stays_pending(tmp_path):
    """The scheduler killed mid-sweep: one line saying what is done and what is left, exit 1,
    runs not written stay pending (not failed), and the same sweep finishes them (here,
    locally)."""
    import subprocess
    import time
    with _processes(1) as (address, scheduler):
        (tmp_path / "base.toml").write_text(BASE.replace("epochs = 1", "epochs = 6"))
        path = tmp_path / "s.toml"
        path.write_text('base = "base.toml"\n[sweep]\nseeds = [0, 1, 2, 3, 4, 5]\n')
        runs = tmp_path / "runs"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        sweep = subprocess.Popen([sys.executable, "-m", "trainer", "sweep", str(path), "--scheduler",
                                  address, "--runs-dir", str(runs), "--name", "d", "--quiet"],
                                 stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                 env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(runs.glob("d/seed=*/summary.json")):
            time.sleep(0.02)
        scheduler.kill()
        _, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"error: lost the Dask scheduler at {address}: ") and "left" in line
    with open(runs / "d" / "results.csv", newline="") as f:
        statuses = [r["status"] for r in csv.DictReader(f)]
    assert "completed" in statuses and "pending" in statuses and "failed" not in statuses
    again = CliRunner().invoke(main, ["sweep", str(path), "--runs-dir", str(runs), "--name", "d",
                                      "--quiet"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    with open(runs / "d" / "results.csv", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["completed"] * 6


PLUGIN_BASE = TINY_SINE.replace('name = "sine"\nlength = 200\nval_length = 50',
                                'name = "delayed_recall.py"\nlength = 400\nval_length = 100')


def test_a_plug_in_task_sweeps_on_dask_and_its_source_travels_with_the_run(tmp_path, cluster):
    """A sweep over a plug-in task's key on a cluster; and a run whose plug-in file the worker
    cannot see (its recorded path does not exist) trains from the source sent with it."""
    import shutil
    examples = Path(__file__).resolve().parents[1] / "examples"
    shutil.copy(examples / "delayed_recall.py", tmp_path / "delayed_recall.py")
    (tmp_path / "base.toml").write_text(PLUGIN_BASE)
    path = tmp_path / "sweep.toml"
    path.write_text('base = "base.toml"\n[sweep]\nseeds = [0]\n[sweep.params]\n'
                    '"task.delay" = [1, 2]\n')
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["sweep", str(path), "--scheduler", cluster, "--runs-dir",
                                       str(runs), "--name", "p", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with open(runs / "p" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["task.delay"], r["status"]) for r in rows] == [("1", "completed"), ("2", "completed")]

    from distributed import Client
    from trainer.config.load import load
    from trainer.sweeps.worker import run_to_bytes
    cfg = load(tmp_path / "base.toml")
    data = cfg.to_dict()
    data["plugins"]["task"]["file"] = str(tmp_path / "gone" / "delayed_recall.py")
    with Client(cluster, set_as_default=False) as client:
        out = client.submit(run_to_bytes, data, cfg.source, "moved", False, cfg.sources(),
                            pure=False).result(timeout=120)
        missing = client.submit(run_to_bytes, data, cfg.source, "missing", False, None,
                                pure=False).result(timeout=120)
    assert out["summary"]["status"] == "completed", out["summary"].get("error")
    assert out["summary"]["plugins"]["task"]["sha256"] == cfg.plugins["task"]["sha256"]
    assert missing["summary"]["status"] == "failed"
    assert "no such file" in missing["summary"]["error"]
