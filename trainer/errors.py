"""The errors that mean bad input (exit status 2): each message is the one line to show.

Kept free of imports so the command line can catch them without loading the package.
"""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text):
    """Text as one line with no terminal control, as user input echoed in a message must be: every
    character str.isprintable() refuses (C0 and C1 controls, ESC, DEL, line and paragraph
    separators, format characters, surrogates of undecodable bytes) is shown escaped as repr()
    would show it (\\n, \\x0b, \\x1b, \\x85, \\u2028, \\udcff); the rest is kept as it is."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _NAMED.get(c) or _escape(c) for c in text)


def describe(error):
    """An exception as the one line a failed run's summary and a sweep's progress show:
    its type and the first line of its message, escaped as one_line does."""
    lines = str(error).splitlines()
    return one_line(f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__)


def _escape(c):
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def suggest(word, known, listing=False):
    """' (did you mean ...?)' for the one of `known` closest to `word`, else '' (or, with listing,
    '; known: ' and the known names): the one "did you mean" of every bad-input message."""
    import difflib
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    if close:
        return did_you_mean(close[0])
    return f"; known: {', '.join(known)}" if listing else ""


def did_you_mean(name):
    """The hint that names the close match `name` in a message."""
    return f" (did you mean {name!r}?)"


class BadInput(ValueError):
    """Input that cannot be used; str(error) is one line naming what is wrong and where."""

    def __init__(self, message):
        super().__init__(one_line(message))


class ConfigError(BadInput):
    """A config file, override or value that cannot be used."""


class RunDirError(BadInput):
    """A run directory that cannot be created or read."""


class CheckpointError(BadInput):
    """A checkpoint that does not fit the run's config."""


class Interrupted(KeyboardInterrupt):
    """A real Ctrl-C or SIGTERM, raised by the tool's own signal handler (a second signal: stop
    at once). Any other KeyboardInterrupt met where that handler is installed was raised by
    plug-in code."""


class PluginExit(Exception):
    """Plug-in code called sys.exit() or raised KeyboardInterrupt itself: the run fails naming
    it (it never ends the process, with status 0 or any other)."""


def guest_exit(error):
    """The phrase for a SystemExit or KeyboardInterrupt that plug-in code raised itself ("called
    sys.exit(0)"), or None: for any other exception, for the tool's own Interrupted, and for a
    KeyboardInterrupt that may be a real Ctrl-C (Python's own SIGINT handler, as under the
    Python API in the main thread; the command line and sweep workers install their own, which
    never raise a bare KeyboardInterrupt, and a Dask worker's thread gets no signals)."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    if isinstance(error, KeyboardInterrupt) and not isinstance(error, Interrupted):
        import signal
        import threading
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            return None
        return "raised KeyboardInterrupt (no Ctrl-C: plug-in code raised it)"
    return None
