"""One config value checked against its Key: typed from --set text by the key's default, or
checked as TOML gave it; each problem one line naming the file and the key."""
import math

from trainer.errors import ConfigError


def from_text(src, where, spec, raw):
    """The text `raw` typed by its key's default, as --set types it (`where` names it in an
    error: --set TEXT)."""
    kind = type(spec.default)
    if kind is bool:
        if raw.lower() not in ("true", "false"):
            raise ConfigError(f"{src}: {where}: expected true or false, got {raw!r}")
        return raw.lower() == "true"
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ConfigError(f"{src}: {where}: expected {noun}, got {raw!r}") from None
    return unquote(raw)


def unquote(raw):
    """'sine' or "sine" as typed on a shell command line, without the quotes."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


def checked(src, where, spec, value):
    """`value` when it has the type of the key's default and is in its range (an integer taken
    for a float key becomes a float), else a one-line ConfigError naming `where`."""
    kind = type(spec.default)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{src}: {where}: expected true or false, got {show(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{src}: {where}: expected an integer, got {show(value)}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{src}: {where}: expected a number, got {show(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond any float
            value = math.inf
        if not math.isfinite(value):
            raise ConfigError(f"{src}: {where}: expected a finite number, got {value}")
    elif kind is str and not isinstance(value, str):
        raise ConfigError(f"{src}: {where}: expected a string, got {show(value)}")
    problem = spec.check(value)
    if problem:
        raise ConfigError(f"{src}: {where}: expected {problem}, got {show(value)}")
    return value


def show(value):
    """A value as an error message shows it, with its TOML type."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, int):
        return f"{value!r} (an integer)"
    return f"a {type(value).__name__}"
