"""A helper process that loads matplotlib while the caller trains, then draws the run's figures.

Importing matplotlib and drawing a first figure takes longer than training the
default config; `train` starts this helper first, so that cost runs on the other
core during training and only the drawing itself follows the last epoch. The
figures are independent jobs: the helper draws the first and forks once per
other job (each fork is as warm as the helper), so they are drawn side by side.
The helper is forked from the run's process (numpy and the package are loaded
already), ignores Ctrl-C (the run's process handles it) and exits when its pipe
closes: when the run finishes, or when its process dies, however it dies.
Where forking is not available, `start()` returns `Inline`, which draws in the
caller's process, one figure after the other, as sweeps and the Python API do.
"""
import multiprocessing
import os
import pickle
import signal
import threading


class Inline:
    """Draw in this process: each job `(fn, args)` is `fn(*args)`, in turn."""

    def run(self, jobs):
        for fn, args in jobs:
            fn(*args)

    def close(self):
        pass


class FigureProcess:
    """`run(jobs)` draws the jobs in the helper process, all at once, and returns when all are
    written; the first exception raised in any is raised here (the same exception, or a
    HelperError with its one-line text when it cannot be pickled). If the helper is gone, the
    jobs run in this process instead."""

    def __init__(self, ctx, warm=()):
        self._conn, child_end = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child_end, self._conn, warm), daemon=True,
                                 name="figures")
        # SIGINT blocked across the fork: the helper is born deaf to Ctrl-C (it unblocks once
        # it ignores it); here it is only held back, and delivered as soon as the fork is done
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        child_end.close()

    def run(self, jobs):
        try:
            self._conn.send(jobs)
            error = self._conn.recv()
        except (OSError, EOFError):  # the helper died: draw here
            return Inline().run(jobs)
        if error is not None:
            raise error

    def close(self):
        self._conn.close()       # the helper sees the end of its pipe and exits
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()


class HelperError(Exception):
    """An exception raised while drawing in the helper that could not be sent as it was."""


def start(warm=()):
    """A FigureProcess, or Inline where forking is unavailable or threads are already running
    (forking a threaded process can copy a held lock). warm: more modules the helper imports
    while it waits (a sweep's figures read their tables with pandas)."""
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return Inline()
    try:
        return FigureProcess(multiprocessing.get_context("fork"), warm)
    except OSError:  # no processes left, no memory: draw here
        return Inline()


def _serve(conn, parent_end, warm):
    parent_end.close()  # only the parent holds that end now: its death closes the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent's fork
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _warm_up(warm)
    while True:
        try:
            jobs = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # no atexit handlers or buffers of the parent's to run twice
        conn.send(_portable(_side_by_side(jobs)))


def _side_by_side(jobs):
    """Run jobs[1:] in forks of this process and jobs[0] here; the first exception, or None."""
    forks = []
    for fn, args in jobs[1:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the fork: one job, its error (if any) into the pipe, then out
            os.close(read_end)
            error = _attempt(fn, args)
            if error is not None:
                os.write(write_end, pickle.dumps(_portable(error)))
            os._exit(0)
        os.close(write_end)
        forks.append((pid, read_end))
    errors = [_attempt(*jobs[0])] if jobs else []
    for pid, read_end in forks:
        with os.fdopen(read_end, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        errors.append(pickle.loads(data) if data else
                      HelperError(f"a figure's process ended with status {status}") if status else None)
    return next((e for e in errors if e is not None), None)


def _attempt(fn, args):
    try:
        fn(*args)
        return None
    except Exception as e:  # noqa: BLE001 - handed to the caller, which decides
        return e


def _portable(error):
    """error itself if it survives pickling, else a HelperError with its first line."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any exception type may refuse pickling
        text = str(error).splitlines()[0] if str(error) else ""
        return HelperError(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def _warm_up(modules):
    """Import matplotlib's Agg figure (and `modules`) and draw a throwaway log-scale figure, as
    the run's figures will: fonts and glyphs are loaded and cached here, while the run trains,
    instead of after it."""
    import importlib

    import numpy as np
    for name in modules:
        importlib.import_module(name)

    from trainer.plots.style import figure, log_y
    fig, ax = figure((4, 3), margins=(0.6, 0.2, 0.5, 0.4, 0))
    ax.plot(np.arange(12), np.logspace(-10, 1, 12), label="warm")
    log_y(ax)
    ax.set(title="warm", xlabel="x", ylabel="y")
    ax.legend()
    fig.canvas.draw()
