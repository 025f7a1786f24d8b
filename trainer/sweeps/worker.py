"""What a sweep worker runs: one run's training, into its run directory or, for Dask, into bytes.

Both start a run as `train` does (run.start, or training.resume for a run a killed sweep left),
so a sweep's run directories are exactly what `train` writes. This module imports nothing heavy
at the top: a worker process pins BLAS to one thread before numpy loads (see BLAS_ENV).
"""
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

# One BLAS thread per worker: the pool runs one training per core already.
BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}

PARENT_POLL_S = 0.5  # how often a worker checks that the sweep's process is still alive

# Per worker process, set once by init_worker: the pool's shared stop event, whether this
# process got SIGINT (a terminal's Ctrl-C reaches every process of the group), the queue
# it reports to and the run it has.
_WORKER = {"stop": None, "signalled": False, "events": None, "run": None}


def init_worker(stop_event, events=None, parent_pid=None):
    """Pool initializer: remember the stop event; turn SIGINT into 'stop after this step';
    exit when the sweep's process dies (no orphans training on); report on `events`
    (a SimpleQueue) this process's pid, each run it starts and, when the pool ends it with
    SIGTERM (another worker died), the run it had, so that run is not blamed."""
    os.environ.update(BLAS_ENV)
    _WORKER.update(stop=stop_event, signalled=False, events=events, run=None)

    def on_sigint(signum, frame):
        _WORKER["signalled"] = True

    def on_sigterm(signum, frame):
        if _WORKER["events"] is not None and _WORKER["run"] is not None:
            _WORKER["events"].put(("ended", _WORKER["run"], os.getpid()))
        os._exit(128 + signal.SIGTERM)  # as a SIGKILL would: the run resumes from its checkpoint

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigterm)
    if events is not None:
        events.put(("worker", None, os.getpid()))
    if parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True,
                         name="parent-watch").start()


def _exit_with_parent(parent_pid):
    """Once the sweep's process is gone this process is re-parented: leave at once."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def should_stop():
    stop = _WORKER["stop"]
    return _WORKER["signalled"] or (stop is not None and stop.is_set())


def run_into(cfg_dict, source, run_path, figures=False, objects=None):
    """Train one run into run_path; returns its summary.

    run_path must not exist, or hold an interrupted or killed run with a checkpoint:
    that run is resumed in place, as `train resume` does (same final numbers).
    A run asked to stop before it starts is not created: {"status": "pending"}.
    Its figures are drawn only with figures=True (`train plot` draws them later).
    A failure of the run, its config included, is recorded in run_path as status 'failed'.
    objects: the Python objects of a config made in this process (see config.from_dict).
    """
    from trainer.rundir.layout import CHECKPOINT
    if should_stop():
        return {"status": "pending"}
    run_path = Path(run_path)
    _WORKER["run"] = run_path.name
    if _WORKER["events"] is not None:
        _WORKER["events"].put(("started", run_path.name, os.getpid()))
    try:
        if (run_path / CHECKPOINT).is_file() and not run_path.is_symlink():
            return _resume(run_path, should_stop, figures, objects)
        return _train(cfg_dict, source, run_path, should_stop, figures, objects=objects)
    finally:
        _WORKER["run"] = None


def _painter(figures):
    """Who draws a run's figures: this process (figures=True), or nobody."""
    from trainer.plots.background import Inline
    return Inline() if figures else None


def _resume(run_path, stop, figures, objects=None):
    """Resume an interrupted sweep run as `train resume` does (training.resume)."""
    from trainer.rundir.layout import RunDir
    from trainer.training import resume
    run_dir = RunDir(run_path)
    try:
        run_dir = RunDir.open(run_path)
        parts = resume.prepare_resume(run_dir, objects=objects)
        run_dir.lock()
    except Exception as e:  # not resumable (changed by hand, held by another writer): recorded
        return run_dir.record_failure(e)
    try:
        return resume.resume(run_dir, parts, should_stop=stop, painter=_painter(figures))
    finally:
        run_dir.release()


def run_to_bytes(cfg_dict, source, name, figures=False, sources=None):
    """Train one run in a temporary directory; returns its summary and every file's bytes.

    For Dask workers, which need no filesystem shared with the client: `sources` ({sha256:
    text}, Config.sources()) carries the run's plug-in files, so no worker needs them. Start them with
    one thread each (`dask worker ADDRESS --nworkers N --nthreads 1`): runs in threads of
    one process share its cores (the plots need no lock: they use no pyplot).
    """
    from trainer.rundir.layout import PLUGINS
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        run_path = Path(tmp) / name
        summary = _train(cfg_dict, source, run_path, None, figures, sources)
        files = {p.name: p.read_bytes() for p in sorted(run_path.iterdir())
                 if p.is_file() and not p.name.startswith(".")}
        copies = run_path / PLUGINS   # the plug-ins' sources, as plugins/NAME
        if copies.is_dir() and not copies.is_symlink():
            files.update({f"{PLUGINS}/{p.name}": p.read_bytes() for p in sorted(copies.iterdir())
                          if p.is_file() and not p.is_symlink() and not p.name.startswith(".")})
    return {"summary": summary, "files": files}


def _train(cfg_dict, source, run_path, stop, figures, sources=None, objects=None):
    """A new run at run_path, started as `train` starts one (run.start). A run refused before
    its directory was made (its config, this machine's memory: a Dask worker's may differ from
    the client's) gets the directory, with the failure recorded; never raised to the sweep."""
    from trainer.config import load as config
    from trainer.rundir.layout import RunDir
    from trainer.training import run
    made = []
    try:
        cfg = config.from_dict(cfg_dict, source, sources=sources, objects=objects)
        return run.start(cfg, run_path.parent, run_path.name, on_created=made.append,
                         should_stop=stop, painter=_painter(figures))[1]
    except Exception as e:
        if not made:
            made.append(RunDir.create(run_path.parent, run_path.name))
        return made[0].record_failure(e)
    finally:
        for run_dir in made:
            run_dir.release()
