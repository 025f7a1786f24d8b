"""How a training command ends: the run's outcome in a few lines, and its exit status.

`train` and `train resume` hand their run to `run_and_report`, which shows its progress, lets
the figure helper draw, prints the outcome (or one line for what went wrong) and exits with
the status's code.
"""
import sys

import click

from trainer.cli.common import (EXIT_DIVERGED, EXIT_FAILED, EXIT_INTERRUPTED, disk_full, fail)
from trainer.errors import BadInput
from trainer.training.progress import Progress


def run_and_report(quiet, stop, work, run_dir=None, runs_dir=None):
    """Run `work(hooks, on_created)` (hooks: the keywords of run.Hooks; on_created(run_dir):
    the run directory `work` makes, when it is not `run_dir`) with a progress display, the
    caller's stop flag and a helper process that loads matplotlib meanwhile and draws the
    figures; print the outcome and exit with the status's code. Bad input raised before the
    run directory exists is one line, exit 2."""
    from trainer.plots import background
    painter = background.start()
    progress = Progress(quiet)
    made = [run_dir] if run_dir is not None else []

    def created(new):
        made.append(new)
        click.get_current_context().call_on_close(new.release)  # sys.exit keeps it alive

    try:
        summary = work({"on_event": progress, "should_stop": stop, "painter": painter}, created)
    except BaseException as e:
        painter.close()
        progress.close()
        _report_error(e, made[0] if made else None, runs_dir)
        raise
    painter.close()
    progress.close()
    _report(summary, made[0], quiet)


def _report_error(e, run_dir, runs_dir):
    """Exit with one line for what a run raised instead of returning its summary: bad input or
    a disk that failed before its directory was made, a second Ctrl-C (out at once, files as
    they were), a disk that failed where no run summary could record it."""
    if run_dir is None:
        if isinstance(e, BadInput):
            fail(str(e))
        if isinstance(e, OSError):
            disk_full(e)
            fail(f"--runs-dir {runs_dir}: cannot create a run directory there ({e.strerror or e})")
    elif isinstance(e, KeyboardInterrupt):
        _mark_interrupted(run_dir)
        click.echo(f"stopped at once; resume from the last checkpoint with: train resume "
                   f"{run_dir.path}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    elif isinstance(e, OSError):
        click.echo(str(run_dir.path))
        fail(f"{run_dir.path}: {e.strerror or e}" + (f" ({e.filename})" if e.filename else "")
             + f"; free space, then: train resume {run_dir.path}", EXIT_FAILED)


def _report(summary, run_dir, quiet):
    """Print a run's outcome and exit with its status's code (0 when it completed)."""
    status = summary["status"]
    if status == "failed":
        from trainer.rundir.layout import SUMMARY
        click.echo(str(run_dir.path))
        click.echo(f"error: the run failed ({summary['error']}); the traceback is in "
                   f"{run_dir.file(SUMMARY)}", err=True)
        sys.exit(EXIT_FAILED)
    if not quiet and status != "diverged":  # divergence: one message, the error below
        click.echo(_describe(summary), err=True)
    if status == "completed" and summary.get("beats_baseline") is False:
        click.echo(f"warning: {_short_of_baseline(summary)}", err=True)
    if summary.get("plot_error"):
        click.echo(f"warning: the figures were not drawn ({summary['plot_error']}); draw them "
                   f"with: train plot {run_dir.path}", err=True)
    click.echo(str(run_dir.path))
    if status == "diverged":
        from trainer.rundir.layout import CHECKPOINT
        kept = ("the last good checkpoint is kept" if run_dir.file(CHECKPOINT).exists()
                else "before its first checkpoint")
        click.echo(f"error: training diverged at step {summary.get('diverged_at_step')} (non-finite "
                   f"{summary.get('diverged_what', 'loss')}), {kept}; try a lower optim.lr or set "
                   "optim.clip", err=True)
        sys.exit(EXIT_DIVERGED)
    if status == "interrupted":
        click.echo(f"interrupted after step {summary['steps']}, checkpoint saved; continue with: "
                   f"train resume {run_dir.path}", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _mark_interrupted(run_dir):
    summary = run_dir.read_summary()
    if summary and summary.get("status") == "running":
        summary["status"] = "interrupted"
        run_dir.write_summary(summary)


def _describe(summary):
    f, b, m = summary["final"], summary["baseline"], summary["metric"]
    parts = [f"{summary['status']} after {summary['steps']} steps in {summary['wall_s']:.1f}s"]
    if f.get("val_loss") is not None:
        parts.append(f"val_loss {f['val_loss']:.4g} (baseline {b['val_loss']:.4g})")
        if m != "mse":
            parts.append(f"val_{m} {f[f'val_{m}']:.4f} (baseline {b[f'val_{m}']:.4f})")
        long = f"val_long_{m}"
        if f.get(long) is not None:
            base = f" (baseline {b[long]:.4f})" if b.get(long) is not None else ""
            parts.append(f"{long} {f[long]:.4f}{base}")
    return ": ".join(parts[:1]) + ("; " + "; ".join(parts[1:]) if len(parts) > 1 else "")


def _short_of_baseline(summary):
    """The warning of a run that ended at or behind its task's trivial baseline."""
    m = summary["metric"]
    value, base = summary["final"][f"val_{m}"], summary["baseline"][f"val_{m}"]
    return (f"val_{m} {value:.4g} does not beat the baseline's {base:.4g} "
            f"({summary.get('baseline_name') or 'the trivial predictor'})")
