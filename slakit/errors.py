"""One error hierarchy, and the Problem record every stage reports."""

from __future__ import annotations

from dataclasses import dataclass, field

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


class SlakitError(click.ClickException):
    """An error with a message meant for the user; the CLI prints it and exits."""

    exit_code = 1


class InputError(SlakitError):
    """The input has problems (exit 1)."""

    exit_code = 1


class UsageError(SlakitError):
    """The command was called wrongly: bad option, missing path, unknown revision (exit 2)."""

    exit_code = 2
