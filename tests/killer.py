"""Run `train ...` in this process, killing or signalling it at a chosen point (for test_resume).

    python killer.py POINT N train-args...

POINT is where the N-th event of its kind happens:
  step             SIGKILL right after the N-th training step
  checkpoint-half  SIGKILL with the N-th checkpoint's temporary file half written
  checkpoint-done  SIGKILL right after the N-th checkpoint was renamed into place

Checkpoints land in the background; here every one has landed before training goes on, so
that a kill after a given step always finds the same checkpoint on disk.
  row-torn         SIGKILL with half of the N-th metrics row written and flushed
  sigint, sigterm  send that signal to itself after the N-th step (the run stops cleanly)
  sigint-twice     two SIGINTs after the N-th step (the run stops at once)
  pause            after the N-th step, print "paused after step N" to stderr and wait there
                   until a SIGINT or SIGTERM arrives from outside (then the run goes on, and
                   stops cleanly as the signal asks): a real signal at a known step
  probe            SIGKILL in the N-th gradient-reach probe (the 2nd is a run's finishing step)
  plots            SIGKILL while drawing the finished run's figures (N unused)
"""
import io
import os
import signal
import sys
import time

from trainer.rundir import layout, safe_io, writers
from trainer.cli import main
from trainer.training.progress import Progress
from trainer.training.loop import Step

point, n, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
count = 0


def nth():
    global count
    count += 1
    return count == n


def kill():
    os.kill(os.getpid(), signal.SIGKILL)


submit = writers.CheckpointWriter.submit


def submit_and_land(self, arrays, *args, **kwargs):
    submit(self, arrays, *args, **kwargs)
    self.wait()


writers.CheckpointWriter.submit = submit_and_land


if point in ("step", "sigint", "sigterm", "sigint-twice", "pause"):
    shown = Progress.__call__

    def progress(self, event):
        shown(self, event)
        if isinstance(event, Step) and event.step == n:
            if point == "step":
                kill()
            if point == "pause":
                stop = signal.getsignal(signal.SIGTERM).__self__   # the command's StopFlag
                print(f"paused after step {n}", file=sys.stderr, flush=True)
                deadline = time.monotonic() + 300
                while not stop.requested:   # set by the signal's handler, whenever it came
                    if time.monotonic() > deadline:
                        sys.exit("killer.py: no signal came")
                    time.sleep(0.01)
                return
            sig = signal.SIGTERM if point == "sigterm" else signal.SIGINT
            os.kill(os.getpid(), sig)
            if point == "sigint-twice":
                os.kill(os.getpid(), sig)

    Progress.__call__ = progress
elif point == "checkpoint-half":
    atomic_write = writers.atomic_write

    def half(path, write, durable=True):
        if path.name == layout.CHECKPOINT and nth():
            buffer = io.BytesIO()
            write(buffer)
            data = buffer.getvalue()
            with open(path.parent / f".{path.name}-killed", "wb") as f:  # as mkstemp names it
                f.write(data[: len(data) // 2])
                f.flush()
                os.fsync(f.fileno())
            kill()
        atomic_write(path, write, durable)

    writers.atomic_write = half
elif point == "checkpoint-done":
    replace = safe_io.os.replace

    def done(src, dst):
        replace(src, dst)
        if str(dst).endswith("checkpoint.npz") and nth():
            kill()

    safe_io.os.replace = done
elif point == "row-torn":
    write = writers.MetricsWriter.write

    def torn(self, row):
        if nth():
            self._f.write("99,9,train,0.5")
            self._f.flush()
            kill()
        write(self, row)

    writers.MetricsWriter.write = torn
elif point == "probe":
    from trainer.training import recorder
    probe = recorder.probe_gradient_reach

    def probe_then_kill(*a):
        if nth():
            kill()
        probe(*a)

    recorder.probe_gradient_reach = probe_then_kill
elif point == "plots":
    import trainer.plots.run as plots_run

    def draw_and_die(*a, **k):
        kill()

    plots_run.figure_jobs = draw_and_die
else:
    sys.exit(f"unknown point {point}")

main(args, prog_name="train")
