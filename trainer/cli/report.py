"""The `train report` command, and the report folder's checks and writing that `train compare`
shares; the group in trainer/cli/__init__.py adds them.

Nothing heavy is imported at the top, so `train --help` stays fast.
"""
import shutil
from pathlib import Path

import click

from trainer.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, fail, warn_changed_plugins
from trainer.errors import BadInput, one_line
from trainer.reports.output import default_out

REPORT_EPILOG = """\b
Examples:
  train report runs/<sweep-id>                 # writes runs/<sweep-id>/report/report.html
  train report runs/a runs/b --out reports/ab  # any runs, side by side
  train report runs --open                     # every run under runs/, opened in a browser

\b
The folder holds report.html, plotly.min.js and img/ (task views); it works
offline from file://. Directories that are not runs are skipped with a note."""


def check_out(paths, out, option):
    """The report's output folder checked (trainer/reports/output.py), or one line."""
    from trainer.reports.output import check_out as check
    try:
        check(paths, out, option)
    except BadInput as e:
        fail(str(e))


def _refuse_one_unreadable_run(paths):
    """A single run named on the command line whose summary.json or config.toml cannot be
    read: one line and exit 2 (among several runs it is listed as unreadable instead)."""
    from trainer.rundir.collect import is_run, is_sweep
    from trainer.rundir.layout import RunDir
    if len(paths) == 1 and is_run(paths[0]) and not is_sweep(paths[0]):
        run_dir = RunDir(paths[0])
        problem = run_dir.read_flat_config()[1]
        summary = run_dir.read_summary() or {}
        if problem or summary.get("status") == "unreadable":
            fail(problem or summary["error"])


def write_report(paths, out, option, title=None):
    """Write the report folder or fail in one line; returns the page's path."""
    from trainer.reports.page import Report
    out = Path(out)
    if out.exists() and not out.is_dir():
        fail(f"{option}: {out} exists and is not a directory")
    report = Report(paths, out, title)
    from trainer.rundir.collect import find_runs, read_summary
    runs, notes, sweeps = find_runs(paths)
    if not runs and not sweeps:   # a sweep with no finished run yet gets its page ("no runs yet")
        fail("no runs to report: " + "; ".join(notes))
    for note in notes:
        click.echo(f"note: {one_line(note)}", err=True)   # notes name paths: escaped
    warn_changed_plugins([{"name": str(r), "plugins": read_summary(r).get("plugins")}
                          for r in runs], "were trained" if len(runs) > 1 else "was trained")
    new = not out.exists()
    try:
        page, _ = report.write()
    except OSError as e:
        if new:   # nothing partial left behind: a folder this call made goes again
            shutil.rmtree(out, ignore_errors=True)
        from trainer.rundir.safe_io import is_disk_full
        fail(f"{option}: cannot write the report into {out} ({e.strerror or e})"
             + ("; nothing was left there" if new else ""),
             EXIT_FAILED if is_disk_full(e) else EXIT_BAD_INPUT)
    return page


@click.command("report", epilog=REPORT_EPILOG)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--out", metavar="DIR", help="Folder for report.html (default: SWEEP/report for a "
                                           "sweep, else reports/report-<time>-<suffix>).")
@click.option("--open", "open_it", is_flag=True, help="Open the page in a web browser.")
def report_cmd(paths, out, open_it):
    """An HTML report of runs and sweeps: a sortable runs table, loss curves grouped by
    swept value, the sweep's final figures, parallel coordinates, which keys matter, and
    each run's config, summary, provenance and figures.

    PATH is a run directory, a sweep directory or any directory holding runs.
    """
    paths = [Path(p) for p in paths]
    option = f"--out {out}" if out else "the default report folder"
    if out:
        check_out(paths, out, option)
    _refuse_one_unreadable_run(paths)
    page = write_report(paths, out or default_out(paths), option)
    click.echo(one_line(page))
    if open_it:
        import webbrowser
        webbrowser.open(page.resolve().as_uri())
