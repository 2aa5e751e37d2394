"""The one exception family latentloop raises for bad input.

The CLI turns any `LatentloopError` into a single `error: ...` line and a non-zero exit, so
messages must name the offending thing (key, file, puzzle) and read well on their own.
"""


class LatentloopError(Exception):
    """Base class: a problem with the user's input, never a bug."""


class ConfigError(LatentloopError):
    """Unknown key, wrong type or impossible combination in a config or override."""


class PuzzleError(LatentloopError):
    """A malformed puzzle: wrong length, illegal characters, wrong grid size, contradictions."""


class DatasetError(LatentloopError):
    """A dataset directory that is missing files, fields, or has corrupt arrays."""


class CheckpointError(LatentloopError):
    """A checkpoint or run directory that cannot be read or does not match the config."""
