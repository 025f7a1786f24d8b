"""The `train table` command: a sweep's results as one row per group, with uncertainty."""
import csv
import sys
from pathlib import Path

import click

from trainer.cli.common import fail

TABLE_EPILOG = """\b
Examples:
  train table runs/<sweep-id>                     # grouped by the swept keys
  train table runs/<sweep-id> --by model.cell     # one row per cell, every other key pooled
  train table runs/<sweep-id> --within task.span  # rnn against lstm at each span, apart
  train table runs/a runs/b --markdown            # any sweeps or runs, as a Markdown table
  train table runs/<sweep-id> --csv > table.csv   # the numbers, unformatted
  train table runs/<anbn-sweep> --figure val_long_string_accuracy   # beyond the training range

\b
Per group: runs, the final val metric's (or --figure's) mean, min-max and 95% bootstrap
confidence interval of the mean (seeded: reproducible), how many runs beat
the task's baseline, the best epoch's metric, the probability that a run of
the group beats a run of the best group (ties count half), and with
train.target set, how many reached it and the median epochs and training
sequences (episode tasks) or steps (streams) to it. Then a sentence for each
group whose interval overlaps the best's."""


@click.command("table", epilog=TABLE_EPILOG)
@click.argument("paths", nargs=-1, required=True, metavar="SWEEP_OR_RUNS...")
@click.option("--by", metavar="KEY,...", help="Group by these config keys (default: the swept keys, "
                                              "or the keys that differ between the runs).")
@click.option("--within", metavar="KEY,...", help="Compare the groups inside each value of these "
              "keys (its own best, P(better than best) and sentences), not one best over all.")
@click.option("--markdown", is_flag=True, help="A Markdown table (for a README or an issue).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV of the numbers, one row per group.")
@click.option("--figure", metavar="FIGURE", help="The validation figure to table (a key of "
              "summary.json's final, e.g. val_long_string_accuracy; default: val_<metric>).")
def table_cmd(paths, by, within, markdown, as_csv, figure):
    """The results table of sweeps or runs: one row per group of seeds, with uncertainty."""
    from trainer.analysis import results_table, table_text
    from trainer.errors import one_line
    if markdown and as_csv:
        fail("--markdown and --csv: choose one")
    for p in paths:
        if not Path(p).is_dir():
            fail(f"{p}: {'no such directory' if not Path(p).exists() else 'not a directory'}")
    keys = [k.strip() for k in by.split(",") if k.strip()] if by else None
    if by is not None and not keys:
        fail("--by: expected config keys, e.g. --by model.cell,train.bptt")
    inside = [k.strip() for k in within.split(",") if k.strip()] if within else []
    if within is not None and not inside:
        fail("--within: expected config keys, e.g. --within task.span")
    if figure is not None and not (figure.startswith("val_") and figure[4:].isidentifier()):
        fail(f"--figure {figure!r}: expected a validation figure such as val_loss or "
             "val_long_string_accuracy")
    table = results_table.read([Path(p) for p in paths], keys, figure, inside)
    if not table.groups:   # the notes are the reason: said once, in the one error line
        fail("no runs to table: " + ("; ".join(table.notes) or "none found"))
    for note in table.notes:
        click.echo(f"note: {one_line(note)}", err=True)
    for option, given in (("--by", keys or []), ("--within", inside)):
        unknown = [k for k in given if all(g.values[k] is None for g in table.groups)]
        if unknown:
            fail(f"{option} {unknown[0]}: no run's config has this key (keys look like train.bptt)")
    if as_csv:
        header, rows = results_table.as_csv_rows(table)
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow([one_line(h) for h in header])
        w.writerows([[one_line(v) if isinstance(v, str) else v for v in r] for r in rows])
        return
    text, said = table_text.as_text(table, markdown=markdown)
    for line in text.splitlines():   # a metric's or a swept key's name is run-file text
        click.echo(one_line(line))
    click.echo("")
    for line in said:
        click.echo(one_line(("- " if markdown else "") + line))
