"""The `train` command group: training a config, and the commands for runs, sweeps and reports.

The group imports the command modules (one per family) and never the reverse.
"""
import click

from trainer.cli import ls, plugins, report, runs, sweeps, table, tune
from trainer.cli.common import OneLineErrors, fail

EPILOG = """\b
Examples:
  train --config sine                  (a shipped config: train configs lists them)
  train --config configs/sine.toml
  train --config configs/counting.toml --set task.repeat=8 --set train.bptt=16
  train resume runs/<run-id>
  train resume runs/<run-id> --epochs 40
  train eval runs/<run-id> --checkpoint last --set task.val_length=5000
  train generate runs/<run-id> --steps 500
  train plot runs/<run-id> --steps 500
  train report runs/<sweep-id>
  train ls runs --sort val
  train table runs/<sweep-id>
  train tune study-copy-cells --workers 2 --confirm 5
  train gradcheck examples/my_rnn.py:MyRNN
  train tasks
  train configs

Exit status: 0 done, 1 a run failed (or a sweep's runs), 2 bad input, 3 training
diverged, 130 interrupted."""


class TrainGroup(OneLineErrors):
    """`train my.toml` is a config given where a command goes: say how to train it."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and self.get_command(ctx, name) is None and _looks_like_config(name):
            import shlex
            fail(f"train: no command {name!r}; to train a config: train --config "
                 f"{shlex.quote(name)}")
        return super().resolve_command(ctx, args)


def _looks_like_config(name):
    """A TOML file's name, an existing file, or the name of a shipped config (sine, counting)."""
    from pathlib import Path
    if name.endswith(".toml") or Path(name).is_file():
        return True
    from trainer.config import shipped
    return name in shipped.names()


@click.group(cls=TrainGroup, invoke_without_command=True, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="FILE", help="TOML config to train: a path (configs/sine.toml) or a shipped config's name (sine).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, typed like its default (repeatable): --set train.bptt=10")
@click.option("--name", help="Run directory name (default: config name, time and a random suffix).")
@click.option("--runs-dir", default="runs", show_default=True, metavar="DIR",
              help="Where run directories are created.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors and the run directory.")
@click.version_option(package_name="rnn-trainer", prog_name="train")
@click.pass_context
def main(ctx, config_path, overrides, name, runs_dir, quiet):
    """Train a recurrent network on a synthetic sequence task, in numpy.

    With --config, trains one run into `RUNS_DIR/<run-id>/` (config.toml,
    metrics.csv, summary.json, checkpoint.npz, plots) and prints that path.
    """
    if ctx.invoked_subcommand is not None:
        flags = {"config_path": "--config", "overrides": "--set", "name": "--name",
                 "runs_dir": "--runs-dir", "quiet": "--quiet"}
        given = [flag for p, flag in flags.items()
                 if ctx.get_parameter_source(p) != click.core.ParameterSource.DEFAULT]
        if given:
            fail(f"{' and '.join(given)} {'goes' if len(given) == 1 else 'go'} with training, not "
                 f"before '{ctx.invoked_subcommand}' (its own options come after it; see "
                 f"'train {ctx.invoked_subcommand} --help')")
        return
    runs.train_config(config_path, overrides, name, runs_dir, quiet)


for command in (runs.resume_cmd, runs.eval_cmd, runs.generate_cmd, runs.plot_cmd, sweeps.sweep_cmd,
                sweeps.compare_cmd, table.table_cmd, report.report_cmd, ls.ls_cmd, plugins.gradcheck_cmd,
                plugins.tasks_cmd, plugins.cells_cmd, plugins.configs_cmd, tune.tune_cmd):
    main.add_command(command)
