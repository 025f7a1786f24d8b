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
        _standard_fds()
        try:
            out = super().main(args, prog_name, standalone_mode=False, **extra)
            sys.stdout.flush()   # what is buffered still has to reach a full disk
            return out
        except OSError as e:
            if e.filename is not None or e.errno not in OUTPUT_ERRORS:
                raise
            _output_lost(e)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "train"
            fail(f"{where}: {e.format_message()} (see '{where} --help')")
        except click.ClickException as e:
            fail(e.format_message())
        except click.Abort:
            sys.exit(EXIT_INTERRUPTED)


# write errors of the standard output itself (`> file` on a full disk, a closed or gone pipe's
# reader is SIGPIPE's business): one line, exit 1, instead of a traceback
OUTPUT_ERRORS = {28, 122, 5}   # ENOSPC, EDQUOT, EIO


def _output_lost(error):
    import os
    try:   # nothing more to the broken output, not even at the interpreter's exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    click.echo(f"error: cannot write the output: {error.strerror or error}", err=True)
    sys.exit(EXIT_FAILED)


def _standard_fds():
    """Started with stdin, stdout or stderr closed (`2>&-`), the next file opened would take its
    number (the run's lock, a checkpoint), be written to as stderr and be inherited by helper
    processes, which can then hang and outlive the command. Each closed one is opened on
    /dev/null first."""
    import os
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    for name, fd, mode in (("stdin", 0, "r"), ("stdout", 1, "w"), ("stderr", 2, "w")):
        if getattr(sys, name) is None:   # Python leaves it None when the fd was closed at start
            setattr(sys, name, open(fd, mode, closefd=False))


def make_dir(path, option):
    """mkdir -p, or the one-line bad-input error naming the option that gave the path."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"{option}: cannot create {path} ({e.strerror or e})")


def hold_dir(path, option):
    """Make `path` (mkdir -p) and hold its lock (rundir.safe_io.Lock) until the command ends:
    one sweep or study writing it; one line naming `option` or the holder otherwise."""
    from trainer.errors import BadInput
    from trainer.rundir.safe_io import Lock
    make_dir(path, option)
    try:
        held = Lock(path)
    except BadInput as e:
        fail(str(e))
    click.get_current_context().call_on_close(held.release)


def dask_client(address):
    """A client of the Dask scheduler at `address` (ConfigError in one line otherwise), its
    loggers silenced: the command says in one line what a lost scheduler means."""
    from trainer.sweeps.dask_cluster import connect, quiet_logs
    client = connect(address)
    quiet_logs()
    return client


def disk_full(error):
    """A full disk (or quota) is no bad input: one line, exit 1 (else return, for the caller)."""
    from trainer.rundir.safe_io import is_disk_full
    if is_disk_full(error):
        fail(f"{error.filename or 'disk'}: {error.strerror or error}; nothing was created",
             EXIT_FAILED)


def warn_changed_plugins(rows, what):
    """A `warning:` line per plug-in whose source changed since runs among `rows` recorded it
    (the listing goes on, as recorded): both sha256 and the runs."""
    from trainer.plugins.pinning import changed, warnings
    changes = {}
    for row in rows:
        for change in changed(row.get("plugins")):
            changes.setdefault(change, []).append(row["name"])
    for line in warnings(changes, what):
        click.echo(one_line(line), err=True)
