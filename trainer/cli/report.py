"""The `train report` and `train ls` commands; the group in trainer/cli/__init__.py adds them.

Nothing heavy is imported at the top, so `train --help` stays fast; `ls` reads only
summary.json and config.toml of each run (json and the TOML reader), so it lists hundreds of runs
in well under a second.
"""
import csv
import shutil
import sys
import time
from pathlib import Path

import click

from trainer.cli.common import fail
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
    from trainer.rundir.collect import find_runs
    runs, notes, sweeps = find_runs(paths)
    if not runs and not sweeps:   # a sweep with no finished run yet gets its page ("no runs yet")
        fail("no runs to report: " + "; ".join(notes))
    for note in notes:
        click.echo(f"note: {one_line(note)}", err=True)   # notes name paths: escaped
    from trainer.rundir.collect import read_summary
    _warn_changed_plugins([{"name": str(r), "plugins": read_summary(r).get("plugins")}
                           for r in runs], "were trained" if len(runs) > 1 else "was trained")
    new = not out.exists()
    try:
        page, _ = report.write()
    except OSError as e:
        if new:   # nothing partial left behind: a folder this call made goes again
            import shutil
            shutil.rmtree(out, ignore_errors=True)
        from trainer.cli.common import EXIT_FAILED
        from trainer.rundir.safe_io import is_disk_full
        fail(f"{option}: cannot write the report into {out} ({e.strerror or e})"
             + ("; nothing was left there" if new else ""), EXIT_FAILED if is_disk_full(e) else 2)
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


LS_EPILOG = """\b
Examples:
  train ls                                 # runs and sweeps under runs/
  train ls runs --sort val --where task=counting
  train ls runs/<sweep-id>                 # the sweep's runs, one line each
  train ls --expand --csv > runs.csv

\b
Columns: name, status, task, cell, steps, the final val metric / the
baseline's, wall (training seconds), age (since the last update). Sort or
filter by a column or by any config key (train.bptt) or final figure (val_loss)."""
COLUMNS = ("name", "status", "task", "cell", "steps", "val", "wall", "age")


@click.command("ls", epilog=LS_EPILOG)
@click.argument("directory", default="runs", metavar="[DIR]")
@click.option("--sort", "sort_key", metavar="KEY", help="Sort by a column or key (default: age, "
                                                        "newest last).")
@click.option("--where", multiple=True, metavar="KEY=VALUE", help="Keep rows whose KEY equals "
                                                                  "VALUE (repeatable).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with every column, unabridged.")
@click.option("--expand", is_flag=True, help="A line per run of each sweep (a sweep is one line).")
def ls_cmd(directory, sort_key, where, as_csv, expand):
    """List runs and sweeps: one line per run (a sweep is one line with its run count)."""
    from trainer.rundir.collect import is_run, is_sweep
    root = Path(directory)
    if directory == "runs" and not root.exists():  # nothing trained here yet
        click.echo("no runs (no runs/ directory here)")
        return
    if not root.is_dir():
        fail(f"{directory}: {'no such directory' if not root.exists() else 'not a directory'}")
    conds = []
    for text in where:
        if "=" not in text:
            fail(f"--where {text}: expected KEY=VALUE")
        conds.append(text.split("=", 1))
    entries, swept = [], []   # swept: the run rows a sweep's one line stands for
    if is_sweep(root) or is_run(root):
        expand = expand or is_sweep(root)
        tops = [root] if is_run(root) else []
        subs = sorted(d for d in root.iterdir() if d.is_dir() and is_run(d)) if is_sweep(root) else []
        entries += [_run_row(d, d.name) for d in tops + subs]
        if tops and not subs and entries[0].get("error"):   # the one run named is unreadable
            fail(entries[0]["error"])
    else:
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
            if is_sweep(d):
                runs = sorted(r for r in d.iterdir() if r.is_dir() and is_run(r))
                rows = [_run_row(r, f"{d.name}/{r.name}") for r in runs]
                entries += rows if expand else [_sweep_row(d, rows)]
                swept += [] if expand else rows
            elif is_run(d):
                entries.append(_run_row(d, d.name))
    every = [e for e in entries if "plugins" in e] + swept   # each run row, a sweep's too
    _warn_changed_plugins(every, "were trained" if len(every) > 1 else "was trained")
    for key, value in conds:
        entries = [e for e in entries if _matches(_get(e, key), value)]
    if sort_key:
        entries.sort(key=lambda e: _order(_get(e, sort_key)))
    else:
        entries.sort(key=lambda e: -(e["age"] if e["age"] is not None else 1e18))
    if as_csv:
        _write_csv(entries)
    else:
        _print(entries)


def _warn_changed_plugins(rows, what):
    """A `warning:` line per plug-in whose source changed since runs among `rows` recorded it
    (the listing goes on, as recorded): both sha256 and the runs."""
    from trainer.plugins.pinning import changed, warnings
    changes = {}
    for row in rows:
        for change in changed(row.get("plugins")):
            changes.setdefault(change, []).append(row["name"])
    for line in warnings(changes, what):
        click.echo(one_line(line), err=True)


def _run_row(path, name):
    from trainer.rundir.collect import read_summary
    from trainer.rundir.layout import CONFIG, SUMMARY, RunDir
    summary = read_summary(path)

    flat, problem = RunDir(path).read_flat_config()
    if problem:
        summary = {"status": "unreadable", "error": problem}
    metric = summary.get("metric")
    final, base = summary.get("final") or {}, summary.get("baseline") or {}
    try:
        age = time.time() - max((path / n).stat().st_mtime for n in (SUMMARY, CONFIG)
                                if (path / n).exists())
    except ValueError:
        age = None
    return {"name": name, "path": str(path), "status": summary.get("status", "no summary"),
            "error": summary.get("error") if summary.get("status") == "unreadable" else None,
            "task": _text(flat.get("task.name", "")), "cell": _text(flat.get("model.cell", "")),
            "steps": summary.get("steps"), "metric": metric,
            "val": final.get(f"val_{metric}") if metric else None,
            "baseline": base.get(f"val_{metric}") if metric else None,
            "wall": summary.get("wall_s"), "age": age, "runs": 1, "flat": flat, "final": final,
            "beats_baseline": summary.get("beats_baseline"), "target": summary.get("target"),
            "plugins": summary.get("plugins")}


def _text(value):
    """A config value shown as a column: text (a hand-edited `task.name = [1]` too)."""
    return value if isinstance(value, str) else str(value)


def _sweep_row(path, rows):
    from collections import Counter
    counts = Counter(r["status"] for r in rows)
    done = [r for r in rows if r["val"] is not None]
    metric = next((r["metric"] for r in rows if r["metric"]), None)
    higher = metric not in (None, "mse")
    best = (max if higher else min)(done, key=lambda r: r["val"]) if done else None
    ages = [r["age"] for r in rows if r["age"] is not None]
    walls = [r["wall"] for r in rows if r["wall"] is not None]
    one = lambda k: rows[0][k] if rows and len({r[k] for r in rows}) == 1 else "*"  # noqa: E731
    status = f"{counts.get('completed', 0)}/{len(rows)} done" if counts.get("completed", 0) < len(rows) \
        else f"{len(rows)} runs"
    return {"name": path.name + "/", "path": str(path), "status": status, "task": one("task"),
            "cell": one("cell"), "steps": sum(r["steps"] or 0 for r in rows), "metric": metric,
            "val": best["val"] if best else None, "baseline": best["baseline"] if best else None,
            "wall": sum(walls) if walls else None, "age": min(ages) if ages else None,
            "runs": len(rows), "flat": {}, "final": {}, "counts": dict(counts)}


def _get(e, key):
    if key in e and key not in ("flat", "final"):
        return e[key]
    if key in e["final"]:
        return e["final"][key]
    return e["flat"].get(key)


def _matches(value, text):
    if value is None:
        return text == ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return str(value).lower() == text.lower()


def _order(value):
    if value is None:
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _num(v, width):
    if v is None:
        return "-"
    text = f"{v:.3g}"
    return text if len(text) <= width else f"{v:.1e}"


def _age(seconds):
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _cut(text, width):
    """Shorten in the middle, keeping the start and the end (a run id's suffix)."""
    return text if len(text) <= width else text[:width - 6] + "…" + text[-5:]


def _print(entries):
    """The table, every run-derived string escaped (no escape sequence from a run's name or
    files reaches the terminal), then a note per unreadable run."""
    if not entries:
        click.echo("no runs")
        return
    entries = [dict(e, name=one_line(e["name"]), status=one_line(e["status"]), task=one_line(e["task"]),
                    cell=one_line(e["cell"])) for e in entries]
    values = _values(entries)
    cells = [[e["status"], str(e["task"]), str(e["cell"]), "-" if e["steps"] is None else str(e["steps"]),
              f"{_num(e['val'], 7)}/{_num(e['baseline'], 7)}", _num(e["wall"], 6), _age(e["age"]), v]
             for e, v in zip(entries, values)]
    heads = ["status", "task", "cell", "steps", "val/baseline", "wall_s", "age", "values"]
    if not any(values):
        heads, cells = heads[:-1], [c[:-1] for c in cells]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    rest = sum(widths) + 2 * len(widths)
    longest = max(len(e["name"]) for e in entries)
    columns = terminal_columns()   # on a terminal, names are cut to fit; piped, printed whole
    name_w = max(12, min(longest, columns - 1 - rest)) if columns else max(4, longest)
    right = {3, 4, 5, 6}
    line = lambda name, row: (f"{name:<{name_w}}  " + "  ".join(  # noqa: E731
        f"{v:>{w}}" if i in right else f"{v:<{w}}" for i, (v, w) in enumerate(zip(row, widths)))).rstrip()
    click.echo(line("name", heads))
    for e, c in zip(entries, cells):
        click.echo(line(_cut(e["name"], name_w), c))
    for e in entries:
        if e.get("error"):
            click.echo(f"note: {e['name']} is unreadable: {one_line(e['error'])}", err=True)


def terminal_columns():
    """The terminal's width when standard output is one, else 0 (no width to fit)."""
    return shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 0


def _values(entries):
    """Each run's config values that differ between the runs listed (a sweep's swept keys and
    seed), as "bptt=8 seed=1"; empty strings when no key differs."""
    from trainer.rundir.collect import differing_keys
    from trainer.sweeps.spec import short_names
    flats = [e["flat"] for e in entries]
    keys = [k for k in differing_keys([f for f in flats if f])
            if k not in ("task.name", "model.cell")]
    if len({str(f.get("train.seed")) for f in flats if f}) > 1 and "train.seed" not in keys:
        keys.append("train.seed")
    short = short_names([k for k in keys if k != "train.seed"])
    short["train.seed"] = "seed"
    return [" ".join(one_line(f"{short[k]}={f[k]}") for k in keys if k in f) for f in flats]


def _write_csv(entries):
    """Every column; text escaped as in the table, so the CSV is safe to print too."""
    w = csv.writer(sys.stdout, lineterminator="\n")
    from trainer.rundir.collect import differing_keys
    flats = [e["flat"] for e in entries if e["runs"] == 1]
    keys = [k for k in differing_keys(flats) if k not in ("task.name", "model.cell")]  # by name
    if len({str(f.get("train.seed")) for f in flats}) > 1:
        keys.append("train.seed")
    w.writerow(["name", "path", "status", "task", "cell", "runs", "steps", "metric", "val",
                "baseline", "beats_baseline", "target_epoch", "target_step", "wall_s", "age_s", *keys])
    for e in entries:
        target = e.get("target") or {}
        w.writerow([one_line(e["name"]), one_line(e["path"]), one_line(e["status"]), one_line(e["task"]),
                    one_line(e["cell"]), e["runs"], e["steps"], one_line(e["metric"] or ""),
                    _cell(e["val"]), _cell(e["baseline"]), _cell(e.get("beats_baseline")),
                    _cell(target.get("epoch")), _cell(target.get("step")), _cell(e["wall"]),
                    "" if e["age"] is None else round(e["age"], 1),
                    *(_cell(e["flat"].get(k)) for k in keys)])


def _cell(v):
    return "" if v is None else one_line(v) if isinstance(v, str) else v
