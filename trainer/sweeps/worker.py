"""What a sweep worker runs: one run's training, into its run directory or, for Dask, into bytes.

Both go through run.train, so a sweep's run directories are exactly what
`train` writes. This module imports nothing heavy at the top: a worker process
pins BLAS to one thread before numpy loads (see BLAS_ENV).
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
    An exception inside training is caught and recorded as status 'failed'.
    objects: the Python objects of a config made in this process (see config.from_dict).
    """
    from trainer.rundir.layout import CHECKPOINT, RunDir
    if should_stop():
        return {"status": "pending"}
    run_path = Path(run_path)
    _WORKER["run"] = run_path.name
    if _WORKER["events"] is not None:
        _WORKER["events"].put(("started", run_path.name, os.getpid()))
    try:
        if (run_path / CHECKPOINT).is_file() and not run_path.is_symlink():
            return _resume(run_path, should_stop, figures, objects)
        rd = RunDir.create(run_path.parent, run_path.name)
        return _train(cfg_dict, source, rd, should_stop, figures, objects=objects)
    finally:
        _WORKER["run"] = None


def _resume(run_path, stop, figures, objects=None):
    """Resume an interrupted sweep run through run.prepare_resume and run.resume."""
    from trainer.training import run
    from trainer.rundir.layout import RunDir
    rd = RunDir(run_path)
    try:
        rd = RunDir.open(run_path)
        setup, pos, rows = run.prepare_resume(rd, objects=objects)
        rd.lock()
    except Exception as e:  # not resumable (changed by hand, held by another writer): recorded
        return rd.record_failure(e)
    try:
        return run.resume(rd, setup, pos, rows, should_stop=stop, figures=figures)
    finally:
        rd.release()


def run_to_bytes(cfg_dict, source, name, figures=False, sources=None):
    """Train one run in a temporary directory; returns its summary and every file's bytes.

    For Dask workers, which need no filesystem shared with the client: `sources` ({sha256:
    text}, Config.sources()) carries the run's plug-in files, so no worker needs them. Start them with
    one thread each (`dask worker ADDRESS --nworkers N --nthreads 1`): runs in threads of
    one process share its cores (the plots need no lock: they use no pyplot).
    """
    from trainer.rundir.layout import PLUGINS, RunDir
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        rd = RunDir.create(tmp, name)
        summary = _train(cfg_dict, source, rd, None, figures, sources)
        files = {p.name: p.read_bytes() for p in sorted(rd.path.iterdir())
                 if p.is_file() and not p.name.startswith(".")}
        copies = rd.file(PLUGINS)   # the plug-ins' sources, as plugins/NAME
        if copies.is_dir() and not copies.is_symlink():
            files.update({f"{PLUGINS}/{p.name}": p.read_bytes() for p in sorted(copies.iterdir())
                          if p.is_file() and not p.is_symlink() and not p.name.startswith(".")})
    return {"summary": summary, "files": files}


def _train(cfg_dict, source, rd, stop, figures, sources=None, objects=None):
    from trainer.config import load as config
    from trainer.training import run
    from trainer.training.preflight import check_run
    try:
        cfg = config.from_dict(cfg_dict, source, sources=sources, objects=objects)
        check_run(cfg)  # this machine's memory: a Dask worker's may differ from the client's
        return run.train(cfg, rd, should_stop=stop, figures=figures)
    except Exception as e:  # any failure of one run is recorded, never raised to the sweep
        return rd.record_failure(e)
