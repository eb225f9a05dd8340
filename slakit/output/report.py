"""Reporters: one validation result printed as text, JSON or GitHub annotations."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..errors import ERROR, WARNING, Problem

if TYPE_CHECKING:  # for the annotations only: printing a message needs no validator
    from ..checking.validate import Report

# Readable on light and dark terminals alike: no white, and no yellow (faint on white).
_COLOURS = {ERROR: "red", WARNING: "magenta"}
# Control characters and bidirectional overrides from a file must not reach a terminal raw:
# an ESC could restyle or retitle it, a U+202E reverse what people read.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe for a terminal: unprintable characters shown as \\xNN / \\uNNNN escapes.
    Apply it before adding colour, never after."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def use_colour(stream_is_tty: bool) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream_is_tty and not os.environ.get("NO_COLOR")


def problem_line(problem: Problem, colour: bool = False) -> str:
    """One problem as a line for a terminal, its severity coloured when `colour`."""
    line = printable(problem.format())
    if colour:
        head, _sep, rest = line.partition(f"{problem.severity}[")
        line = head + click.style(problem.severity, fg=_COLOURS[problem.severity], bold=True) + "[" + rest
    return line


def text(report: Report, colour: bool = False) -> str:
    lines = [problem_line(problem, colour) for problem in report.problems]
    errors, warnings = report.count(ERROR), report.count(WARNING)
    files = len(report.files)
    noun = "agreement" if files == 1 else "agreements"
    if not errors and not warnings:
        lines.append(f"{files} {noun} checked: all valid")
    else:
        failing = sum(not f.ok for f in report.files)
        parts = ([f"{errors} error{'s' * (errors != 1)}"] if errors else []) + (
            [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
        )
        lines.append(f"{files} {noun} checked: {', '.join(parts)}" + (f" ({failing} invalid)" if failing else ""))
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    files = [
        {
            "path": result.path,
            "ok": result.ok,
            "problems": [p.as_json() for p in sorted(result.problems)],
        }
        for result in sorted(report.files, key=lambda r: r.path)
    ]
    return json.dumps({"files": files}, indent=2, ensure_ascii=False) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    """GitHub Actions workflow commands: one ::error/::warning annotation per problem."""
    out = []
    for p in report.problems:
        props = f"file={_escape_property(p.path)},line={p.line},col={p.column},title={_escape_property(p.rule)}"
        out.append(f"::{p.severity} {props}::{_escape_data(p.message)}")
    return "\n".join(out) + ("\n" if out else "")


FORMATS: dict[str, Callable[..., str]] = {"text": text, "json": as_json, "github": github}
