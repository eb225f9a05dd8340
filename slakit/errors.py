"""One error hierarchy, and the Problem record every stage reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

ERROR = "error"
WARNING = "warning"

QUOTE_AT_MOST = 80  # characters of a value quoted in a message
MESSAGE_AT_MOST = 4000  # characters of any message: a safety net under every quote


def shown(value: Any, limit: int = QUOTE_AT_MOST) -> str:
    """A value quoted in a message (its repr), cut to `limit` characters: a message must
    never carry a whole file (a symlink to a secret, a megabyte-long id) into a CI log."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about one file, located at a 1-based line and column."""

    path: str
    line: int
    column: int
    severity: str = field(compare=False)
    rule: str = field(compare=False)
    message: str = field(compare=False)
    pointer: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.message) > MESSAGE_AT_MOST:
            object.__setattr__(self, "message", self.message[: MESSAGE_AT_MOST - 3] + "...")
        if len(self.pointer) > MESSAGE_AT_MOST:
            object.__setattr__(self, "pointer", self.pointer[:MESSAGE_AT_MOST])

    def format(self) -> str:
        """One line, whatever the path or message hold (a line break cannot forge a second one)."""
        text = f"{self.path}:{self.line}:{self.column}: {self.severity}[{self.rule}]: {self.message}"
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def as_json(self) -> dict[str, Any]:
        """The one JSON shape of a problem, in validate, diff and changelog output alike."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "pointer": self.pointer,
        }

    def as_error(self) -> Problem:
        """The same problem as an error (--strict)."""
        if self.severity == ERROR:
            return self
        return Problem(self.path, self.line, self.column, ERROR, self.rule, self.message, self.pointer)


class SlakitError(click.ClickException):
    """An error with a message meant for the user; the CLI prints it and exits."""

    exit_code = 1


class InputError(SlakitError):
    """The input has problems (exit 1)."""

    exit_code = 1


class GitError(SlakitError):
    """A git command failed on a repository that exists (a corrupt object, a crash): exit 1,
    the input could not be read. Naming a revision that does not exist is a UsageError."""

    exit_code = 1


class UsageError(SlakitError):
    """The command was called wrongly: bad option, missing path, unknown revision (exit 2)."""

    exit_code = 2


class WriteError(UsageError):
    """An output cannot be written (read-only folder, missing parent, full disk): exit 2,
    whichever command hits it."""
