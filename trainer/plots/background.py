"""A helper process that loads matplotlib while the caller trains, then draws the run's figures.

Importing matplotlib and loading its fonts takes longer than training the
default config; `train` starts this helper first, so that cost runs on the
other core during training and only the drawing itself follows the last epoch.
The helper is forked (it inherits numpy and the package already imported),
ignores Ctrl-C (the run's own process handles it) and exits when its pipe
closes: when the run finishes, or when its process dies, however it dies.
Where forking is not available, `start()` returns `Inline`, which draws in the
caller's process, as sweeps and the Python API always do.
"""
import multiprocessing
import os
import signal
import threading


class Inline:
    """Draw in this process: `call(fn, *args)` is `fn(*args)`."""

    def call(self, fn, *args):
        return fn(*args)

    def close(self):
        pass


class FigureProcess:
    """`call(fn, *args)` runs fn(*args) in the helper process and returns its result; an exception
    there is raised here with the same type name and message (one line). If the helper is gone,
    the call runs in this process instead."""

    def __init__(self, ctx):
        self._conn, child_end = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child_end, self._conn), daemon=True,
                                 name="figures")
        self._proc.start()
        child_end.close()

    def call(self, fn, *args):
        try:
            self._conn.send((fn, args))
            ok, value = self._conn.recv()
        except (OSError, EOFError):  # the helper died: draw here
            return fn(*args)
        if ok:
            return value
        raise HelperError(value)

    def close(self):
        self._conn.close()       # the helper sees the end of its pipe and exits
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()


class HelperError(Exception):
    """An exception raised while drawing in the helper, as one line 'Type: message'."""


def start():
    """A FigureProcess, or Inline where forking is unavailable or threads are already running
    (forking a threaded process can copy a held lock)."""
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return Inline()
    try:
        return FigureProcess(multiprocessing.get_context("fork"))
    except OSError:  # no processes left, no memory: draw here
        return Inline()


def _serve(conn, parent_end):
    parent_end.close()  # only the parent holds that end: its death closes the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _warm_up()
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # no atexit handlers or buffers of the parent's to run twice
        try:
            conn.send((True, fn(*args)))
        except Exception as e:  # noqa: BLE001 - reported to the caller, which decides
            conn.send((False, f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__))


def _warm_up():
    """Import matplotlib's Agg figure and load its default font, as the first figure would."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(1, 1))
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, "0.1")
    fig.canvas.draw()
