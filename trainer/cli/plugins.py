"""The `train gradcheck`, `train tasks` and `train cells` commands: check a layer, list what can
be trained. The group in trainer/cli/__init__.py adds them."""
import click

from trainer.cli.common import fail
from trainer.errors import BadInput, one_line

EXIT_GRADIENT_FAILED = 1

GRADCHECK_EPILOG = """\b
Examples:
  train gradcheck rnn
  train gradcheck textbook-lstm
  train gradcheck examples/my_rnn.py:MyRNN
  train gradcheck mypackage.layers:MyGRU --hidden 5 --steps 6

\b
Exit status: 0 every check passed, 1 a check failed, 2 bad input (the spec
cannot be imported, lacks the layer API, or gives wrong shapes)."""


@click.command("gradcheck", epilog=GRADCHECK_EPILOG)
@click.argument("spec", metavar="SPEC")
@click.option("--hidden", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Hidden units H of the layer checked.")
@click.option("--inputs", type=click.IntRange(1, 64), default=3, show_default=True,
              help="Input size D.")
@click.option("--batch", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Batch size N (the batch-size check uses N + 1 too).")
@click.option("--steps", type=click.IntRange(2, 64), default=4, show_default=True,
              help="Time steps T.")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True,
              help="Seed of the weights, inputs and upstream gradient.")
def gradcheck_cmd(spec, hidden, inputs, batch, steps, seed):
    """Check a recurrent layer's gradients in float64 by finite differences: every parameter,
    dx and the gradient into the carried state (dh, dc), from a zero and a carried state;
    then the layer API (grads written in place, params left alone, float64 kept, the state
    carried only when stateful, a new batch size). When a check fails, the known mistakes are
    tested against the layer's numbers and the one that fits is named.

    SPEC is a cell as model.cell takes it: rnn, lstm, gru, textbook-rnn, textbook-lstm,
    textbook-gru, FILE.py:CLASS, module:CLASS or an entry point of group rnn_trainer.cells.
    """
    from trainer.api.runs import gradcheck
    try:
        result = gradcheck(spec, hidden=hidden, inputs=inputs, batch=batch, steps=steps, seed=seed)
    except BadInput as e:
        fail(f"gradcheck {spec}: {e}")
    where = ""
    found = result.cell.found
    if found is not None:
        where = f" ({found.origin} {found.file or found.target}, sha256 {(found.sha256 or '?')[:12]})"
    click.echo(one_line(f"gradcheck {spec}{where}: float64, N {batch}, T {steps}, D {inputs}, "
                        f"H {hidden}, {result.cell.gates} gate(s), seed {seed}"))
    for line in result.lines():
        click.echo(one_line(line))
    n, bad = len(result.rows), len(result.failed)
    click.echo(f"{'all ' + str(n) + ' checks passed' if not bad else f'{bad} of {n} checks FAILED'}"
               f" in {result.seconds:.2f} s")
    if bad:
        raise SystemExit(EXIT_GRADIENT_FAILED)


@click.command("tasks")
def tasks_cmd():
    """List the tasks task.name can name: the built-in ones and those installed packages add
    (entry points of group rnn_trainer.tasks), each with its keys and defaults. A FILE.py or a
    module is a task too (see docs/plugins.md).

    \b
    Example:
      train tasks
    """
    from trainer.plugins import tasks
    for name, origin, keys in tasks.available():
        click.echo(one_line(f"{name}  ({origin})"))
        for key, spec in keys.items():
            click.echo(one_line(f"    task.{key} = {spec.default!r}: {spec.help}"))


@click.command("cells")
def cells_cmd():
    """List the cells model.cell can name: the built-in ones and those installed packages add
    (entry points of group rnn_trainer.cells), with their gates. A FILE.py:CLASS or a
    module:CLASS is a cell too; check one with train gradcheck.

    \b
    Example:
      train cells
    """
    from trainer.plugins import cells
    for name, origin, gates in cells.available():
        click.echo(one_line(f"{name:<14} gates {gates if gates else '?'}  {origin}"))


@click.command("configs")
def configs_cmd():
    """List the configs shipped with the package, one line each: its name (what --config,
    train sweep and trainer.train take, from any folder), run or sweep, the task, the cell and
    what it shows. A path that exists wins over a shipped name.

    \b
    Examples:
      train configs
      train --config sine
      train sweep sweep-cell-bptt --workers 2
    """
    from trainer.config import shipped
    rows = [shipped.describe(name) for name in shipped.names()]
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(one_line(f"{r['name']:<{width}}  {r['kind']:<5}  {r['task']:<14} "
                            f"{r['cell']:<14} {r['about']}"))
