"""The `train ls` command: runs and sweeps listed one line each (trainer/reports/listing.py
reads them), as an aligned table fitted to the terminal or as CSV; every run-derived string is
escaped for the terminal. The group in trainer/cli/__init__.py adds it.
"""
import csv
import shutil
import sys
from pathlib import Path

import click

from trainer.cli.common import fail, warn_changed_plugins
from trainer.errors import one_line

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
    from trainer.reports.listing import listing, select
    root = Path(directory)
    if directory == "runs" and not root.exists():  # nothing trained here yet
        click.echo("no runs (no runs/ directory here)")
        return
    if not root.is_dir():
        fail(f"{directory}: {'no such directory' if not root.exists() else 'not a directory'}")
    conditions = []
    for text in where:
        if "=" not in text:
            fail(f"--where {text}: expected KEY=VALUE")
        conditions.append(text.split("=", 1))
    found = listing(root, expand)
    if found.lone_run and found.rows[0].get("error"):   # the one run named is unreadable
        fail(found.rows[0]["error"])
    every = [e for e in found.rows if "plugins" in e] + found.swept   # each run row, a sweep's too
    warn_changed_plugins(every, "were trained" if len(every) > 1 else "was trained")
    entries = select(found.rows, conditions, sort_key)
    if as_csv:
        _write_csv(entries)
    else:
        _print(entries)


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
