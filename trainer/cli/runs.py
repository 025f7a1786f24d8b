"""Commands for one run: train a config, resume, evaluate, generate and re-plot runs. Owns
their output."""
from pathlib import Path

import click

from trainer.cli.common import StopFlag, fail
from trainer.cli.outcome import run_and_report
from trainer.errors import BadInput


def train_config(config_path, overrides, name, runs_dir, quiet):
    """Train one run from a config file into a new run directory; exit with its status's code."""
    if not config_path:
        fail("train: missing option '--config' (or a command such as 'resume'; see 'train --help')")
    with StopFlag() as stop:  # from the first moment: a signal during the setup stops the run too
        from trainer.config import load as config_mod
        from trainer.training import run
        try:
            cfg = config_mod.load(config_path, overrides)
        except BadInput as e:
            fail(str(e))
        run_and_report(quiet, stop, lambda hooks, created: run.start(
            cfg, runs_dir, name, on_created=created, **hooks)[1], runs_dir=runs_dir)


def _load_run(path, which=None, overrides=()):
    """run.load, with bad input turned into the one-line error; a plug-in changed since the run
    was made is used as it is now, with a one-line warning naming both sources' sha256."""
    from trainer.training import run
    try:
        changed = []
        loaded = run.load(path, which, overrides, changed_plugins=changed)
    except BadInput as e:
        fail(str(e))
    for line in changed_plugin_warnings(loaded[0], changed):
        click.echo(line, err=True)
    return loaded


def changed_plugin_warnings(directory, changed):
    """One `warning:` line per plug-in changed since the run was made: the sha256 it trained
    with, the one used now, and where the run keeps its copy of the old source."""
    from trainer.errors import one_line
    from trainer.rundir.layout import PLUGINS
    folder = directory.file(PLUGINS)
    out = []
    for kind, spec, old, new in changed:
        copies = sorted(folder.glob(f"{kind}-*-{old[:12]}.py")) \
            if folder.is_dir() and not folder.is_symlink() else []
        shown = directory.path / PLUGINS / copies[0].name if copies else None
        kept = f"; the source it trained with is kept in {shown}" if copies else ""
        out.append(one_line(f"warning: the {kind} plug-in {spec} has changed since "
                            f"{directory.path} was trained (sha256 {old} -> {new}): using the "
                            f"source as it is now{kept}"))
    return out


CHECKPOINT_OPTION = click.option(
    "--checkpoint", "which", type=click.Choice(["best", "last"]), default=None,
    help="best.npz (the default when the run has one) or checkpoint.npz (the last).")


@click.command("resume")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--epochs", type=click.IntRange(1, None), default=None,
              help="Train to this many epochs in all (extends a finished run).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors and the run directory.")
@click.option("--accept-changed-plugin", is_flag=True,
              help="Resume even though a plug-in's source changed since the run was made; "
                   "the run records the new sha256 (config.toml, summary.json) and keeps a copy.")
def resume_cmd(run_dir, epochs, quiet, accept_changed_plugin):
    """Continue an interrupted or killed run from its last checkpoint, as if it had never
    stopped (same final numbers), or extend a finished one with --epochs.

    Rows of metrics.csv written after the checkpoint are dropped and re-done.

    \b
    Examples:
      train resume runs/long
      train resume runs/long --epochs 300
      train resume runs/long --accept-changed-plugin
    """
    with StopFlag() as stop:
        from trainer.rundir.layout import RunDir
        from trainer.training import resume
        try:
            directory = RunDir.open(run_dir).lock()  # the one writer, before anything is read
            click.get_current_context().call_on_close(directory.release)
            parts = resume.prepare_resume(directory, epochs,
                                          accept_changed_plugin=accept_changed_plugin)
        except resume.NothingToResume as e:
            click.echo(str(e), err=True)
            click.echo(str(RunDir(run_dir).path))
            return
        except BadInput as e:
            fail(str(e))
        for line in changed_plugin_warnings(directory, parts.changed_plugins):   # accepted: said
            click.echo(line.replace("using the source as it is now", "resuming with the source "
                                    "as it is now (recorded in the run)"), err=True)
        pos = parts.position
        if not quiet:
            click.echo(f"resuming {directory.path} at step {pos.step} (epoch {pos.epoch + 1}, "
                       f"window {pos.window + 1})", err=True)
        run_and_report(quiet, stop,
                       lambda hooks, _created: resume.resume(directory, parts, **hooks),
                        run_dir=directory)


@click.command("eval")
@click.argument("run_dir", metavar="RUN_DIR")
@CHECKPOINT_OPTION
@click.option("--set", "overrides", multiple=True, metavar="task.KEY=VALUE",
              help="Evaluate on changed data: a task key, or train.seed for new data (repeatable).")
def eval_cmd(run_dir, which, overrides):
    """Evaluate a run's best (or last) checkpoint on its validation data, beside the task's
    baseline; with --set, on changed data. Model and optimizer keys are the run's own.

    \b
    Examples:
      train eval runs/sine-20261121-120000-ab12
      train eval runs/sine-20261121-120000-ab12 --checkpoint last --set task.val_length=5000
      train eval runs/anbn-20261121-120000-ab12 --set task.n_test_max=40
      train eval runs/sine-20261121-120000-ab12 --set train.seed=7
    """
    from trainer.errors import one_line
    from trainer.model.evaluate import evaluate
    directory, parts, which = _load_run(run_dir, which, overrides)
    task = parts.task
    scores = evaluate(parts.model, task)
    b = task.baseline
    width = max(len(k) for k in scores) + 2
    click.echo(f"run  {directory.path}")
    best = (directory.read_summary() or {}).get("best") if which == "best" else None
    click.echo(f"checkpoint  {which}" + (f" (epoch {best['epoch']}, step {best['step']})"
                                         if best else ""))
    for line in plugin_lines(directory.read_summary() or {}):
        click.echo(line)
    for kind, spec, old, new in parts.changed_plugins:   # the source this evaluation ran
        click.echo(one_line(f"{kind}  {spec}: evaluated with its source as it is now, sha256 {new} "
                            f"(changed since training with {old})"))
    if overrides:
        click.echo(f"data  {' '.join(overrides)}")
    click.echo(f"{'':<{width}}{'model':>12}{'baseline':>12}")
    for key, value in scores.items():
        base = f"{b[key]:>12.6g}" if key in b else f"{'':>12}"
        click.echo(f"{key:<{width}}{value:>12.6g}{base}")
    click.echo(f"baseline: {task.baseline_name}")
    from trainer.rundir.provenance import describe
    env = (directory.read_summary() or {}).get("env")   # where it trained
    for i, line in enumerate(describe(env)):
        click.echo(one_line(f"{'trained with' if i == 0 else '':<14}{line}"))   # read back: escaped


def plugin_lines(summary):
    """A line per plug-in a run trained with: its spec, where it was found, its source's digest
    (summary.json is read back: anything but strings is left out, and all is escaped)."""
    from trainer.errors import one_line
    records = summary.get("plugins")
    out = []
    for kind, r in (records.items() if isinstance(records, dict) else ()):
        if not isinstance(r, dict) or not all(isinstance(r.get(k, ""), str)
                                              for k in ("spec", "origin", "file", "module", "sha256")):
            continue
        where = r.get("file") or r.get("module") or "?"
        checked = "" if kind != "cell" or r.get("checked", True) is True else ", trained unchecked"
        out.append(one_line(f"{kind}  {r.get('spec')} (plug-in: {r.get('origin')} {where}, sha256 "
                            f"{r.get('sha256', '')[:12]}{checked})"))
    return out


@click.command("generate")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--steps", type=click.IntRange(1, 1000000), default=200, show_default=True,
              help="Steps to generate after the validation prefix.")
@CHECKPOINT_OPTION
@click.option("--temperature", type=click.FloatRange(0, None), default=0.0, show_default=True,
              help="Token tasks: sample from softmax(logits / T); 0 takes the argmax.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Where to write (default: RUN_DIR/generated.csv for values, .txt for tokens).")
def generate_cmd(run_dir, steps, which, temperature, out):
    """Let a run's model continue its validation stream, fed its own outputs.

    Value tasks (sine) write a CSV of the generated values and a PNG beside it;
    token tasks (counting) print the sequence and write it as text. Episode tasks
    have no stream to continue: use 'train eval'.

    \b
    Examples:
      train generate runs/sine-20261121-120000-ab12 --steps 500
      train generate runs/counting-20261121-120000-ab12 --temperature 1.0 --out sample.txt
    """
    import math
    from trainer.model.evaluate import generate
    if not math.isfinite(temperature):   # click's range lets NaN through; sampling would fail on it
        fail(f"--temperature {temperature}: expected a finite number >= 0 (0: the most likely token)")
    directory, parts, which = _load_run(run_dir, which)
    task = parts.task
    if out is None or _inside(Path(out), directory.path):   # writing into the run: its one writer
        try:
            directory.lock()
            click.get_current_context().call_on_close(directory.release)
        except BadInput as e:
            fail(str(e))
    try:
        seq = generate(parts.model, task, steps, temperature, parts.streams["sample"])
    except BadInput as e:
        fail(str(e))
    if task.input_tokens:
        path = Path(out) if out else directory.file("generated.txt")
        text = " ".join(str(int(t)) for t in seq)
        _write(path, text + "\n")
        click.echo(text)
        click.echo(str(path))
        return
    path = Path(out) if out else directory.file("generated.csv")
    cols = ",".join(f"value_{j}" for j in range(seq.shape[1])) if seq.shape[1] > 1 else "value"
    lines = [f"step,{cols}"] + [f"{i + 1}," + ",".join(repr(float(v)) for v in row)
                                for i, row in enumerate(seq)]
    _write(path, "\n".join(lines) + "\n")
    from trainer.model.evaluate import predict_stream
    from trainer.plots.run import plot_values
    warm = min(100, len(task.val_x) // 2)
    span = min(warm + steps, len(task.val_x))
    png = path.with_suffix(".png")
    plot_values(task.val_y[:span, 0], predict_stream(parts.model, task.val_x[:span])[:, 0],
                seq[:, 0], warm - 1, f"{task.name}: {steps} generated steps ({which} model)", png)
    click.echo(str(path))
    click.echo(str(png))


def _inside(path, folder):
    try:
        return path.resolve().is_relative_to(Path(folder).resolve())
    except OSError:
        return False


def _write(path, text):
    """Replace the file atomically; a symbolic link at `path` is replaced, never written through."""
    from trainer.rundir.safe_io import atomic_write
    data = text.encode()
    try:
        atomic_write(path, lambda f: f.write(data), durable=False)
    except OSError as e:
        fail(f"--out {path}: cannot write ({e.strerror or e})")


@click.command("plot")
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR...")
@click.option("--steps", type=click.IntRange(1, 100000), default=None,
              help="Steps to show: free-running generation for value tasks, tokens otherwise.")
def plot_cmd(run_dirs, steps):
    """Re-draw the plots of one or more runs from their files.

    \b
    Example:
      train plot runs/sine-20261121-120000-ab12 --steps 600
    """
    from trainer.model.evaluate import task_view
    from trainer.plots.run import draw_run
    loaded = []
    for path in run_dirs:  # every run checked and locked before any is redrawn
        directory, parts, which = _load_run(path)
        try:
            directory.lock()  # no train or resume writing the run meanwhile
            click.get_current_context().call_on_close(directory.release)
        except BadInput as e:
            fail(str(e))
        loaded.append((directory, parts, which))
    for directory, parts, which in loaded:
        summary = directory.read_summary() or {}
        best = summary.get("best") if which == "best" else None
        note = f" (best model, epoch {best['epoch']})" if best else ""
        view = task_view(parts.model, parts.task, steps)
        for p in draw_run(directory.path, view, summary, note=note):
            click.echo(str(p))
        if summary.pop("plot_error", None):  # drawn now: the summary stops saying otherwise
            directory.write_summary(summary)
