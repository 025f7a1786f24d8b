"""What a config key may hold: its default (which fixes its type), its range and its meaning."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """One config key. The default's type is the key's type; int keys refuse floats and bools."""

    default: object
    help: str
    min: float | None = None
    max: float | None = None
    above: float | None = None     # strict lower bound
    choices: tuple | None = None

    def check(self, value):
        """Return None if value is in range, else what was expected, as a phrase."""
        if self.choices is not None and value not in self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.above is not None and not value > self.above:
            return f"a number > {self.above:g}"
        if self.min is not None and value < self.min:
            return f"a number >= {self.min:g}" + (f" and <= {self.max:g}" if self.max is not None else "")
        if self.max is not None and value > self.max:
            return f"a number <= {self.max:g}"
        return None

    def describe_range(self):
        """The allowed values, for the README's config table and --help."""
        if self.choices is not None:
            return ", ".join(str(c) for c in self.choices)
        parts = []
        if self.above is not None:
            parts.append(f"> {self.above:g}")
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return ", ".join(parts) or "any"
