"""The progress of one run, from its events: a tqdm bar with the live loss, or a line per
epoch. The command line and the Python API (in a notebook) show it; nothing else prints."""
import sys

import click


def in_notebook():
    """True inside a Jupyter kernel (a notebook, Colab), where progress shows by default."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def notebook_bar():
    """tqdm's notebook widget where ipywidgets is installed (Jupyter, Colab), else its text bar
    on stderr (a notebook shows that too)."""
    import importlib.util
    if in_notebook() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm
        return tqdm
    return _terminal_bar()


def _terminal_bar():
    from tqdm import tqdm
    return tqdm


class Progress:
    """A tqdm bar with the epoch and the live loss on a terminal (or, with bar="auto", a
    notebook's widget where there is one); plain lines per epoch otherwise (lines=False: none);
    or nothing (quiet). The bar stops with the last epoch, so its time is the training time
    the closing line gives (not the final probes and plots)."""

    def __init__(self, quiet, bar=None, lines=True):
        from trainer.training.loop import EpochEnd, Start, Step
        self.quiet, self.metric = quiet, None   # the task's metric, told by the Start event
        self.kinds = (Start, Step, EpochEnd)
        self.bar = None
        self.total = self.epochs = 0
        self.tqdm = None
        self.lines = lines and not quiet
        if not quiet and (bar == "auto" or sys.stderr.isatty()):
            self.tqdm = notebook_bar() if bar == "auto" else _terminal_bar()
            self.tqdm.get_lock()  # its first call takes milliseconds: before the run's clock

    def __call__(self, event):
        if self.quiet:
            return
        Start, Step, EpochEnd = self.kinds
        if isinstance(event, Step):
            if self.bar is not None:
                self.bar.update(1)
                if event.step % 5 == 0 or event.step == self.total:
                    self.bar.set_postfix(loss=f"{event.loss:.4g}", refresh=False)
        elif isinstance(event, Start):
            self.total, self.metric, self.epochs = event.total_steps, event.metric, event.epochs
            if self.tqdm is not None:
                per_epoch = event.total_steps // max(event.epochs, 1)
                self.bar = self.tqdm(total=event.total_steps, initial=event.step, unit="step",
                                     dynamic_ncols=True, file=sys.stderr,
                                     desc=self._epoch(event.step // max(per_epoch, 1) + 1))
                self.bar.start_t -= event.elapsed_s  # a resumed run's time so far, as wall_s counts
        elif isinstance(event, EpochEnd):
            figures = self.figures(event)
            if self.bar is not None:
                last = event.stopping or event.epoch >= self.epochs
                self.bar.set_description(self._epoch(min(event.epoch + 1, self.epochs), event.epoch)
                                         + " " + figures, refresh=False)
                if last:
                    self.close()
            elif self.lines:
                click.echo(f"epoch {event.epoch}: {figures}", err=True)

    def _epoch(self, running, done=None):
        return f"epoch {done if done is not None and done >= self.epochs else running}/{self.epochs}"

    def figures(self, event):
        """val_loss, the task's metric and anbn's val_long_string_accuracy (when there)."""
        out = f"val_loss {event.val_loss:.4g}  val_{self.metric} {event.val_metric:.4g}"
        long = event.scores.get(f"val_long_{self.metric}")
        return out + (f"  val_long_{self.metric} {long:.4g}" if long is not None else "")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
