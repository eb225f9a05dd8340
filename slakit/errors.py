"""One error hierarchy, and the Problem record every stage reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

ERROR = "error"
WARNING = "warning"


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

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}[{self.rule}]: {self.message}"

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
