"""The figure helper process: draws jobs side by side, hands exceptions back, ignores Ctrl-C,
and never outlives the process that started it."""
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from trainer.plots import background

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="the helper is forked; elsewhere figures are drawn inline")
ROOT = Path(__file__).resolve().parents[1]


def _write_pid(path):
    Path(path).write_text(str(os.getpid()))


def _meet(path, others, timeout=30):
    """Arrive (write path), then wait until every job in `others` has arrived too: jobs drawn
    side by side all get past this; jobs drawn one after another never do (the first waits for
    the others, which have not started, and fails after `timeout`)."""
    Path(path).write_text(str(os.getpid()))
    deadline = time.monotonic() + timeout
    while not all(Path(p).exists() for p in others):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path}: the other jobs never started: jobs run in turn")
        time.sleep(0.005)


def _fail(message):
    raise ValueError(message)


@pytest.fixture
def helper():
    # made directly: earlier tests in this process may leave threads running, and then
    # start() rightly draws inline
    h = background.FigureProcess(multiprocessing.get_context("fork"))
    yield h
    h.close()


def test_the_helper_draws_every_job_in_its_own_process_side_by_side(helper, tmp_path):
    """Every job waits at a rendezvous for all the others: the run returns only if the three
    were running at the same time, each in a process of its own (no timing measured)."""
    paths = [tmp_path / f"{i}.txt" for i in range(3)]
    helper.run([(_meet, (p, paths)) for p in paths])
    pids = {int(p.read_text()) for p in paths}
    assert len(pids) == 3 and os.getpid() not in pids
    assert helper._proc.pid in pids    # the helper draws the first job, forks for the others
    for p in paths:                    # and it goes on doing so
        p.unlink()
    helper.run([(_meet, (p, paths)) for p in paths])
    assert len({int(p.read_text()) for p in paths} | pids) == 5


def test_drawn_in_turn_the_rendezvous_fails(tmp_path):
    """The check above can fail: Inline draws in turn, and the first job gives up waiting."""
    paths = [tmp_path / f"{i}.txt" for i in range(2)]
    with pytest.raises(TimeoutError, match="jobs run in turn"):
        background.Inline().run([(_meet, (p, paths, 0.2)) for p in paths])


def test_an_exception_in_any_job_is_raised_here_as_it_was(helper, tmp_path):
    with pytest.raises(ValueError, match="^the second figure broke$"):
        helper.run([(_write_pid, (tmp_path / "a",)), (_fail, ("the second figure broke",))])
    assert (tmp_path / "a").exists()  # the other jobs still ran
    helper.run([(_write_pid, (tmp_path / "b",))])  # and the helper goes on serving
    assert (tmp_path / "b").exists()


def test_the_helper_ignores_ctrl_c(helper, tmp_path):
    pid = helper._proc.pid
    helper.run([(_write_pid, (tmp_path / "before",))])   # warmed up and serving
    os.kill(pid, signal.SIGINT)
    # a round trip through the helper: it has run since the signal was sent, so it is
    # delivered by now; a helper killed by it would leave this job to be drawn here instead
    helper.run([(_write_pid, (tmp_path / "after",))])
    assert int((tmp_path / "after").read_text()) == pid
    assert helper._proc.is_alive() and helper._proc.exitcode is None


def test_the_helper_exits_when_the_process_that_started_it_dies(tmp_path):
    script = ("import os, sys; sys.path.insert(0, sys.argv[1]); from trainer.plots import background; "
              "h = background.start(); print(h._proc.pid, flush=True); os._exit(0)")  # dies as by SIGKILL
    out = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    pid = int(out.split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid), "the helper outlived its parent"


def test_with_threads_already_running_figures_are_drawn_inline(tmp_path):
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        h = background.start()
    finally:
        stop.set()
        worker.join()
    assert isinstance(h, background.Inline)
    h.run([(_write_pid, (tmp_path / "x",))])
    assert int((tmp_path / "x").read_text()) == os.getpid()


def _alive(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; its parent (init) reaps it
