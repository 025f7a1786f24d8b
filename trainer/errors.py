"""The errors that mean bad input (exit status 2): each message is the one line to show.

Kept free of imports so the command line can catch them without loading the package.
"""


def one_line(text):
    """Text with line breaks escaped, as user input echoed in a one-line message must be."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


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
