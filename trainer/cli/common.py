"""What every command shares: exit codes, the one-line error, Ctrl-C handling, click's errors in one line."""
import signal
import sys

import click

from trainer.errors import Interrupted, one_line

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130


def fail(message, code=EXIT_BAD_INPUT):
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(code)


class StopFlag:
    """SIGINT/SIGTERM: the first asks the run to stop after its current step; a second stops at once."""

    def __init__(self):
        self.requested = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum, frame):
        if self.requested:
            raise Interrupted   # a KeyboardInterrupt the tool knows for a real signal
        self.requested = True

    def __call__(self):
        return self.requested


class OneLineErrors(click.Group):
    """Click prints usage errors over several lines; here every bad input is one line, exit 2."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            return super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "train"
            fail(f"{where}: {e.format_message()} (see '{where} --help')")
        except click.ClickException as e:
            fail(e.format_message())
        except click.Abort:
            sys.exit(EXIT_INTERRUPTED)


def make_dir(path, option):
    """mkdir -p, or the one-line bad-input error naming the option that gave the path."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"{option}: cannot create {path} ({e.strerror or e})")


def disk_full(error):
    """A full disk (or quota) is no bad input: one line, exit 1 (else return, for the caller)."""
    from trainer.rundir import is_disk_full
    if is_disk_full(error):
        fail(f"{error.filename or 'disk'}: {error.strerror or error}; nothing was created",
             EXIT_FAILED)
