"""TOML in and out: the one reader of configs, sweep files and run directories' TOML files, and
the one writer (tomli-w).

The reader refuses, as a one-line ConfigError and before parsing, anything that is not a
regular file (a FIFO would hang, /dev/zero would never end), files over MAX_BYTES, and
arrays or inline tables nested deeper than MAX_DEPTH (deeper nesting would exhaust
Python's recursion in the parser); tables nested deeper by dotted keys are refused after.
"""
import os
import stat
import tomllib
from pathlib import Path

from trainer.errors import ConfigError

MAX_BYTES = 1 << 20   # 1 MiB: a config or sweep file is a few hundred bytes
MAX_DEPTH = 32        # nested arrays, inline tables and tables


def read(path, kind="config"):
    """The TOML file at `path` as a dict; `kind` names it in errors ("config", "sweep")."""
    path = Path(path)
    if "\0" in str(path):   # os.stat would raise ValueError: no file can be named so
        raise ConfigError(f"{str(path)!r}: a path cannot hold a NUL byte")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {kind} file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{path}: is a directory, expected a TOML {kind} file")
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: is not a regular file (a pipe, device or socket), expected "
                          f"a TOML {kind} file")
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening it cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ConfigError(f"{path}: is not a regular file, expected a TOML {kind} file")
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} KiB, too large for a TOML "
                          f"{kind} file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    return loads(text, path)


def loads(text, where="<toml>"):
    """Parse TOML text within the nesting limit; errors are one-line ConfigErrors naming `where`."""
    if _bracket_depth(text) > MAX_DEPTH:
        raise ConfigError(f"{where}: arrays or tables nested deeper than {MAX_DEPTH} levels")
    try:
        data = tomllib.loads(text)
    except ValueError as e:  # TOMLDecodeError, or a number too long for Python to convert
        raise ConfigError(f"{where}: malformed TOML: {e}") from None
    if _too_deep(data, MAX_DEPTH):
        raise ConfigError(f"{where}: arrays or tables nested deeper than {MAX_DEPTH} levels")
    return data


def dumps(data):
    """{section: {key: value}} as TOML text (keys with dots quoted); loads() gives it back."""
    import tomli_w
    return tomli_w.dumps(data)


def dumps_in_order(table):
    """The lines `key = value` of one flat table, in its order, dicts of scalars as inline
    tables (tomli-w would write them as sub-tables after the other keys, losing the order)."""
    lines = []
    for key, value in table.items():
        if isinstance(value, dict):
            inner = ", ".join(_line(k, v) for k, v in value.items())
            lines.append(f"{_line(key, 0)[:-len(' = 0')]} = {{ {inner} }}")
        else:
            lines.append(_line(key, value))
    return "".join(line + "\n" for line in lines)


def _line(key, value):
    import tomli_w
    return tomli_w.dumps({key: value}).rstrip("\n")


def _bracket_depth(text):
    """The deepest nesting of [ and { outside strings and comments (table headers count 1-2)."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
        elif c == "#":
            i = _find(text, "\n", i)
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i = _string_end(text, i + len(quote), quote)
            continue
        i += 1
    return deepest


def _string_end(text, i, quote):
    """The index after the string's closing quote (escapes skipped in basic strings)."""
    basic = quote[0] == '"'
    while i < len(text):
        if basic and text[i] == "\\":
            i += 2
        elif text.startswith(quote, i):
            return i + len(quote)
        elif len(quote) == 1 and text[i] == "\n":  # unterminated: the parser will say so
            return i
        else:
            i += 1
    return i


def _find(text, what, i):
    j = text.find(what, i)
    return len(text) if j < 0 else j


def _too_deep(value, limit):
    """Whether dicts and lists nest more than `limit` levels (stops looking at the limit)."""
    if limit < 0:
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_too_deep(v, limit - 1) for v in children if isinstance(v, (dict, list)))
