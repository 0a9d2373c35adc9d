"""One small exception hierarchy.

Tasks separate :class:`TransientError` (retry with backoff: the database or an HTTP peer was
briefly unreachable) from everything else (the run fails with its reason recorded and the chain
stops cleanly).
"""

from __future__ import annotations


class ModelwatchError(Exception):
    """Base of every error modelwatch raises on purpose."""


class ConfigError(ModelwatchError):
    """A setting (``MODELWATCH_*``) is missing or malformed."""


class SpecError(ModelwatchError):
    """A model spec is invalid. The message names the model, the field and what was expected."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "invalid model spec:\n" + "\n".join(f"  - {p}" for p in problems))


class IngestError(ModelwatchError):
    """A whole input cannot be read (unknown format, missing required column, unreadable file).

    Bad *rows* never raise: they are quarantined with their reason and the good rows are kept.
    """


class NotFound(ModelwatchError):
    """A model, version, run, alert or action that was asked for does not exist."""


class TransientError(ModelwatchError):
    """A failure worth retrying: a peer or the database was briefly unavailable."""


class StageError(ModelwatchError):
    """A check stage failed permanently; the reason is recorded on the check run."""


class Conflict(ModelwatchError):
    """The request does not fit the current state (e.g. acknowledging a resolved alert)."""


class PluginNotFound(ModelwatchError, KeyError):
    """A rule, channel, recovery action or registry adapter name that no module registers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
