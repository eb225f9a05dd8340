"""The changelog as people and machines read it: Markdown, a standalone HTML page, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..comparing.history import History, QuarterGroup
from ..model.agreement import party_names


def as_json(groups: list[QuarterGroup]) -> str:
    out = []
    for g in groups:
        agreements = []
        for a in g.agreements:
            agreements.append(
                {
                    "id": a["id"],
                    "title": a["title"],
                    "path": a["path"],
                    "summary": a["summary"],
                    "reviews_held": [d.isoformat() for d in a["reviews_held"]],
                    "reviews_due": [d.isoformat() for d in a["reviews_due"]],
                    "reviews_overdue": [d.isoformat() for d in a["reviews_overdue"]],
                    "review_tagged": a["review_tagged"],
                    "commits": [
                        {
                            "sha": e.commit.sha,
                            "date": e.local_date.isoformat(),
                            "author": e.commit.author,
                            "subject": e.commit.subject,
                            "pull_request": e.commit.pull_request,
                            "note": e.commit.problem,
                            "kind": e.kind,
                            "path": e.path,
                            "old_path": e.old_path,
                            "changes": [c.as_json() for c in e.changes if c.op != "moved"],
                            "problems": [p.as_json() for p in e.problems],
                            "notes": e.notes,
                        }
                        for e in a["entries"]
                    ],
                }
            )
        out.append({"quarter": g.quarter, "label": g.label, "months": g.months, "agreements": agreements})
    return indented_json({"quarters": out}) + "\n"


_ESCAPE = json.encoder.encode_basestring  # json's own, in C: text as ensure_ascii=False writes it
_INDENT = [""]  # indentation by level, grown as needed
_FLOATS = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def indented_json(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False, default=str)`, byte for byte, in a
    quarter of the time: json's own encoder goes through a generator per value once indented."""
    parts: list[str] = []
    _encode(value, 0, parts)
    return "".join(parts)


def _encode(value: Any, level: int, parts: list[str]) -> None:
    kind = type(value)
    if kind is str:
        parts.append(_ESCAPE(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif kind is int:
        parts.append(int.__repr__(value))
    elif kind is float:
        parts.append(_float(value))
    elif kind is dict:
        if not value:
            parts.append("{}")
            return
        inner = _indent(level + 1)
        first = True
        for key, item in value.items():
            parts.append("{\n" + inner if first else ",\n" + inner)
            first = False
            parts.append(_ESCAPE(_key(key)) + ": ")
            _encode(item, level + 1, parts)
        parts.append("\n" + _indent(level) + "}")
    elif kind is list or kind is tuple:
        if not value:
            parts.append("[]")
            return
        inner = _indent(level + 1)
        parts.append("[\n" + inner)
        for i, item in enumerate(value):
            if i:
                parts.append(",\n" + inner)
            _encode(item, level + 1, parts)
        parts.append("\n" + _indent(level) + "]")
    elif isinstance(value, str):  # subclasses, in the order json tries them
        parts.append(_ESCAPE(value))
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_float(value))
    elif isinstance(value, (list, tuple)):
        _encode(list(value), level, parts)
    elif isinstance(value, dict):
        _encode(dict(value), level, parts)
    else:
        _encode(str(value), level, parts)  # default=str


def _indent(level: int) -> str:
    while len(_INDENT) <= level:
        _INDENT.append(_INDENT[-1] + "  ")
    return _INDENT[level]


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    return _FLOATS.get(value) or float.__repr__(value)


def _key(key: Any) -> str:
    """A mapping key as json writes it (text; numbers, true, false and null spelled out)."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return _float(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def document(
    groups: list[QuarterGroup], history: History, fmt: str, templates: Path | None = None, index_link: bool = False
) -> str:
    """The changelog as Markdown, or as a standalone HTML page (`index_link`: published beside
    the index, which it links to; a page written anywhere else has no such neighbour)."""
    from .diff import change_line, effect_text  # the page's libraries: the JSON needs none of them
    from .markdown import MdText, to_html
    from .render import Renderer, tidy

    renderer = Renderer(templates)
    names = _names(history)
    markdown = tidy(
        renderer.template(
            renderer.markdown_env,
            "changelog.md.j2",
            groups=groups,
            line=change_line,
            effect=lambda c, key=None: effect_text(c, names.get(key, {})),
        )
    )
    if fmt == "md":
        return markdown
    body, _ = to_html(markdown.split("\n", 1)[1])  # the page's own header carries the title
    return renderer.template(
        renderer.html_env, "changelog.html.j2", body=MdText(body), style=renderer.style(), index_link=index_link
    )


def _names(history: History) -> dict[str, dict[str, str]]:
    return {key: party_names(thread.data) for key, thread in history.threads.items()}


def as_text(groups: list[QuarterGroup], history: History, colour: bool = False) -> str:
    """The changelog for a terminal: plain lines, indented, no Markdown."""
    from .diff import EFFECT_COLOURS, SIGNS, change_line, effect_text
    from .present import long_date
    from .report import printable

    def paint(text: str, fg: str | None = None, bold: bool = False) -> str:
        text = printable(text)  # text from files and commits is made safe before any colour
        return click.style(text, fg=fg, bold=bold) if colour and (fg or bold) else text

    def dates(days: list[Any]) -> str:
        return ", ".join(long_date(d) for d in days)

    names = _names(history)
    lines = [paint("Changelog of the agreements", bold=True)]
    if not groups:
        lines += ["", "No changes to the agreements in this period."]
    for g in groups:
        lines += ["", paint(f"{g.label} ({g.months})", bold=True)]
        for a in g.agreements:
            s = a["summary"]
            notes = [
                f"{s['changes']} change{'s' * (s['changes'] != 1)} to the terms, {s['stricter']} stricter, {s['looser']} looser"
            ]
            if a["reviews_held"]:
                notes.append(f"reviewed {dates(a['reviews_held'])}")
            if a["review_tagged"]:
                notes.append(f"review completed (tag review/{a['id']}/{g.label})")
            if a["reviews_due"]:
                notes.append(f"review due {dates(a['reviews_due'])}")
            line = f"  {a['title']}: " + "; ".join(notes)
            if a["reviews_overdue"]:
                line = paint(line) + "; " + paint(f"review OVERDUE (due {dates(a['reviews_overdue'])})", "red", True)
            else:
                line = paint(line)
            lines.append(line)
        for a in g.agreements:
            if not a["entries"]:
                continue
            lines += ["", paint(f"  {a['title']} ({a['path']})", bold=True)]
            for e in a["entries"]:
                pr = e.commit.pull_request
                pr_note = f", pull request #{pr}" if pr and f"#{pr}" not in e.commit.subject else ""
                lines.append(
                    paint(
                        f"    {long_date(e.local_date)}: {e.commit.subject} ({e.commit.short}{pr_note}, {e.commit.author})"
                    )
                )
                if e.kind == "added":
                    lines.append(paint(f"      agreement added as {e.path}", "green"))
                elif e.kind == "removed":
                    lines.append(paint("      agreement removed", "red"))
                elif e.kind == "broken":
                    lines.append(paint("      this revision does not parse; the next good revision continues:", "red"))
                    lines += [paint(f"        {p.format()}", "red") for p in e.problems]
                elif e.kind == "no-change":
                    lines.append("      no change in terms")
                else:
                    if e.kind == "renamed":
                        lines.append(f"      moved from {printable(e.old_path or '')} to {printable(e.path)}")
                    for c in e.changes:
                        if c.op == "moved":
                            continue
                        text = paint(f"      {SIGNS[c.op]} {change_line(c)}")
                        if c.effect:
                            effect = effect_text(c, names.get(e.key, {}))
                            text += "  " + paint(f"[{effect}]", EFFECT_COLOURS.get(c.effect), True)
                        lines.append(text)
    return "\n".join(lines) + "\n"
