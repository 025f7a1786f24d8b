"""What a sweep worker runs: one run's training, into its run directory or, for Dask, into bytes.

Both go through run.train, so a sweep's run directories are exactly what
`train` writes. This module imports nothing heavy at the top: a worker process
pins BLAS to one thread before numpy loads (see BLAS_ENV).
"""
import os
import signal
import tempfile
from pathlib import Path

# One BLAS thread per worker: the pool runs one training per core already.
BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}

# Per worker process, set once by init_worker: the pool's shared stop event and whether
# this process got SIGINT (a terminal's Ctrl-C reaches every process of the group).
_WORKER = {"stop": None, "signalled": False}


def init_worker(stop_event):
    """Pool initializer: remember the stop event; turn SIGINT into 'stop after this step'."""
    os.environ.update(BLAS_ENV)
    _WORKER["stop"] = stop_event
    _WORKER["signalled"] = False

    def on_sigint(signum, frame):
        _WORKER["signalled"] = True

    signal.signal(signal.SIGINT, on_sigint)


def should_stop():
    stop = _WORKER["stop"]
    return _WORKER["signalled"] or (stop is not None and stop.is_set())


def run_into(cfg_dict, source, run_path, figures=False):
    """Train one run into run_path (which must not exist); returns its summary.

    A run asked to stop before it starts is not created: {"status": "pending"}.
    Its figures are drawn only with figures=True (`train plot` draws them later).
    An exception inside training is caught and recorded as status 'failed'.
    """
    from trainer.rundir import RunDir
    if should_stop():
        return {"status": "pending"}
    run_path = Path(run_path)
    rd = RunDir.create(run_path.parent, run_path.name)
    return _train(cfg_dict, source, rd, should_stop, figures)


def run_to_bytes(cfg_dict, source, name, figures=False):
    """Train one run in a temporary directory; returns its summary and every file's bytes.

    For Dask workers, which need no filesystem shared with the client. Start them with
    one thread each (`dask worker ADDRESS --nworkers N --nthreads 1`): runs in threads of
    one process share its cores (the plots need no lock: they use no pyplot).
    """
    from trainer.rundir import RunDir
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        rd = RunDir.create(tmp, name)
        summary = _train(cfg_dict, source, rd, None, figures)
        files = {p.name: p.read_bytes() for p in sorted(rd.path.iterdir())
                 if p.is_file() and not p.name.startswith(".")}
    return {"summary": summary, "files": files}


def _train(cfg_dict, source, rd, stop, figures):
    from trainer import config, run
    try:
        cfg = config.from_dict(cfg_dict, source)
        return run.train(cfg, rd, should_stop=stop, figures=figures)
    except Exception as e:  # any failure of one run is recorded, never raised to the sweep
        summary = rd.read_summary() or {}
        summary.update(status="failed", error=f"{type(e).__name__}: {e}".splitlines()[0])
        rd.write_summary(summary)
        return summary
