"""The diff as people and machines read it: text, JSON, and the Markdown or HTML report with its redline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..comparing.compare import Change
from ..model.agreement import MALFORMED
from .markdown import MdText
from .present import display
from .redline import redline, to_critic, to_html_marks, to_tags
from .render import Renderer, TemplateError, tidy
from .report import printable

if TYPE_CHECKING:  # the comparison's module brings the validator, which no output needs
    from ..comparing.diff import AgreementDiff, DiffResult


def effect_text(change: Change, parties: dict[str, str]) -> str:
    if not change.effect:
        return ""
    party = parties.get(change.party or "", change.party)
    return f"{change.effect} for {party}" if party else change.effect


def change_line(change: Change) -> str:
    """One change as a sentence: "label: old -> new", "label: added", ..."""
    if change.op == "changed":
        return f"{change.label}: {display(change.old, change.path)} -> {display(change.new, change.path)}"
    if change.op == "moved":
        return f"{change.label}: moved" + (
            f" from position {change.old} to {change.new}" if isinstance(change.old, int) else ""
        )
    value = change.new if change.op == "added" else change.old
    names = (
        [v["name"] for v in value if isinstance(v, dict) and isinstance(v.get("name"), str)]
        if isinstance(value, list)
        else []
    )
    return f"{change.label}: {change.op}" + (f" ({', '.join(names)})" if names else "")


def version_note(a: AgreementDiff) -> str:
    """The flag on an agreement whose terms changed while its version stayed."""
    old = (a.old_data or {}).get("version")
    new = (a.new_data or {}).get("version")
    was = f"still {new}" if old == new else f"{old} -> {new}"
    return f"! the terms changed but the version did not go up ({was}): raise `version` in this revision"


def as_json(result: DiffResult) -> str:
    agreements = []
    for a in result.agreements:
        entry: dict[str, Any] = {
            "path": a.path,
            "id": a.id,
            "status": a.status,
            "changes": [c.as_json() for c in a.visible(result.show_moves)],
        }
        if a.old_path and a.old_path != a.path:
            entry["old_path"] = a.old_path
        if a.problems:
            entry["problems"] = [p.as_json() for p in a.problems]
        if a.notes:
            entry["notes"] = a.notes
        entry["version_not_raised"] = a.version_not_raised
        agreements.append(entry)
    sides = {
        "from": result.old.revision,
        "to": result.new.revision,
        "from_commit": result.old.commit,
        "to_commit": result.new.commit,
    }
    return json.dumps({**sides, "agreements": agreements}, indent=2, ensure_ascii=False, default=str) + "\n"


SIGNS = {"added": "+", "removed": "-", "changed": "~", "moved": ">"}
# Colours that read on light and dark terminals alike (no white, no yellow); a change of
# value keeps the terminal's own colour so that stricter and looser stand out.
_COLOURS = {"added": "green", "removed": "red", "changed": "", "moved": "blue"}
EFFECT_COLOURS = {"stricter": "magenta", "looser": "blue"}


def as_text(result: DiffResult, colour: bool) -> str:
    def paint(text: str, fg: str, bold: bool = False) -> str:
        text = printable(text)  # text from the files is made safe before any colour is added
        # No white: unreadable on a light terminal; the terminal's own colour instead.
        return click.style(text, fg=fg or None, bold=bold) if colour and (fg or bold) else text

    changed = [a for a in result.agreements if a.status != "unchanged"]
    total = len(result.agreements)
    lines = [
        printable(
            f"Comparing {result.old_label} with {result.new_label}: {len(changed)} of {total} "
            f"agreement{'s' * (total != 1)} {'differs' if len(changed) == 1 else 'differ'}"
        )
    ]
    for a in result.agreements:
        if a.status == "unchanged" and not a.problems:
            continue
        visible = a.visible(result.show_moves)
        where = f"{a.old_path} -> {a.path}" if a.status == "renamed" else a.path
        tally = ""
        if visible:
            terms = a.term_changes()
            tally = f" ({terms} change{'s' * (terms != 1)} to the terms" if terms else " (no change to the terms"
            tally += "".join(f", {a.count(e)} {e}" for e in ("stricter", "looser") if a.count(e)) + ")"
        lines.append("")
        lines.append(paint(f"{where}: {a.status}", "red" if a.status == "broken" else "", bold=True) + paint(tally, ""))
        for problem in a.problems:
            lines.append("  " + paint(problem.format(), "red" if problem.severity == "error" else "magenta"))
        if a.version_not_raised:
            lines.append("  " + paint(version_note(a), "red", bold=True))
        parties = a.parties
        for change in visible:
            effect = effect_text(change, parties)
            line = paint(f"  {SIGNS[change.op]} {change_line(change)}", _COLOURS[change.op])
            if effect:
                line += "  " + paint(f"[{effect}]", EFFECT_COLOURS.get(change.effect or "", ""), bold=True)
            lines.append(line)
        for note in a.notes:
            lines.append("  " + paint(f"! {note}", "red", bold=True))
    return "\n".join(lines) + "\n"


def document(result: DiffResult, fmt: str, templates: Path | None = None, critic: bool = False) -> str:
    """The md or html report: a summary table of changes, then the redline (in Markdown
    marked with <del>/<ins>, or with CriticMarkup when `critic`)."""
    renderer = Renderer(templates)
    marks = to_critic if critic else to_tags
    attach_redlines(result, renderer)
    rows = []
    for a in result.agreements:
        parties = a.parties
        rows.append(
            {
                "diff": a,
                "changes": [
                    {
                        "change": c,
                        "line": change_line(c),
                        "label": c.label,
                        "old": display(c.old, c.path) if c.op == "changed" else "",
                        "new": display(c.new, c.path) if c.op == "changed" else "",
                        "effect": effect_text(c, parties),
                    }
                    for c in a.visible(result.show_moves)
                ],
                "sections": [
                    {
                        "status": s.status,
                        "level": s.level,
                        "heading": MdText(marks(s.heading) if fmt == "md" else to_html_marks(s.heading, inline=True)),
                        "body": MdText(marks(s.body) if fmt == "md" else to_html_marks(s.body)),
                    }
                    for s in a.redline or []
                ],
            }
        )
    context = {"result": result, "rows": rows}
    if fmt == "md":
        return tidy(renderer.template(renderer.markdown_env, "diff.md.j2", **context))
    return renderer.template(renderer.html_env, "diff.html.j2", style=renderer.style(), **context)


def attach_redlines(result: DiffResult, renderer: Renderer) -> None:
    """The word-by-word redline of each agreement that changed, from its rendered text; where
    a version that breaks rules cannot be rendered, why there is none."""
    for a in result.agreements:
        if a.status in ("broken", "unchanged"):
            continue
        # A version that breaks rules is rendered in full, as before; its text may not render
        # at all (a reference that does not resolve), and then the report says so.
        quick = not a.problems and _built_in_commitments(renderer)
        same = unchanged_commitments(a.old_data, a.new_data) if quick else frozenset()
        sides = (
            (a.old_data, a.old_breaks_rules, result.old_label),
            (a.new_data, a.new_breaks_rules, result.new_label),
        )
        texts, unrendered = _bodies(renderer, sides, same)
        if unrendered:
            a.no_redline = no_redline(unrendered)
            continue
        sections = redline(*texts)
        if same and any(UNCHANGED in s.heading + s.body for s in sections if s.status not in ("same", "context")):
            # A text left out would show: it cannot (each section keeps its heading and
            # anchor), but were it to, the redline is made again from the whole text.
            texts, _ = _bodies(renderer, sides, frozenset())
            sections = redline(*texts)
        a.redline = sections if any(s.status != "same" for s in sections) else None


def no_redline(labels: list[str]) -> str:
    """Why an agreement has no redline: the versions (by their sides' labels) whose text
    could not be rendered, each of which breaks rules."""
    if len(labels) == 1:
        return f"No redline: the text of {labels[0]} cannot be rendered, as that version breaks rules (listed above)."
    named = " and of ".join(labels)
    return f"No redline: the text of {named} cannot be rendered, as those versions break rules (listed above)."


# What the commitments template writes in place of the text of a commitment left out: a
# comment no agreement text can produce (text from YAML is escaped).
UNCHANGED = "<!-- unchanged -->"
# The parts of an agreement besides the commitment itself that a commitment's text reads.
_SHARED = ("parties", "definitions", "calendars", "timezone")


# What rendering a version that breaks rules may raise: a template that met data it cannot
# take, or the model (built from data that did not pass) looking up what is not there.
_UNRENDERABLE: tuple[type[Exception], ...] = (TemplateError, *MALFORMED)


def _bodies(
    renderer: Renderer, sides: tuple[tuple[dict[str, Any] | None, bool, str], ...], same: frozenset[str]
) -> tuple[list[str], list[str]]:
    """Each side's body ("" for a side without the agreement), and the labels of the sides
    that break rules and could not be rendered. The model and the templates trust data that
    passed checking, so a version that breaks rules may stop either; for a version with no
    problems, a failure is a bug in a template and is reported as one."""
    texts, unrendered = [], []
    for data, breaks_rules, label in sides:
        try:
            texts.append(_body(renderer, data, same) if data else "")
        except _UNRENDERABLE:
            if not breaks_rules:
                raise
            unrendered.append(label)
    return texts, unrendered


def _body(renderer: Renderer, data: dict[str, Any], same: frozenset[str]) -> str:
    """The agreement's body as `Renderer.body` gives it, the text of the commitments in
    `same` left out (their headings stay)."""
    if not same:
        return renderer.body(data)
    context = renderer.context(data)
    return tidy(renderer.template(renderer.markdown_env, "body.md.j2", unchanged_commitments=same, **context))


def _built_in_commitments(renderer: Renderer) -> bool:
    """Whether the body and its commitments are written by the built-in templates (whose
    inputs `unchanged_commitments` knows), not by a folder of the user's."""
    return not any(
        (Path(folder) / name).exists()
        for folder in renderer.search[:-1]
        for name in ("body.md.j2", "sections/commitments.md.j2")
    )


def unchanged_commitments(old: dict[str, Any] | None, new: dict[str, Any] | None) -> frozenset[str]:
    """The commitments whose text in the redline is known to be the same on both sides, so
    neither side needs to render it: the built-in template writes a commitment's text from
    the commitment itself, the party names, the definitions and the calendars (with the
    agreement's time zone), so a commitment equal on both sides, with an id no other
    commitment shares (a page looks commitments up by id), is written alike when those are
    equal too. Each section still gets its heading, so sections align as before."""
    if not old or not new or any(old.get(key) != new.get(key) for key in _SHARED):
        return frozenset()
    before, after = _by_id(old), _by_id(new)
    return frozenset(ident for ident, c in after.items() if c is not None and before.get(ident) == c)


def _by_id(data: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Commitments by id; None for an id that more than one carries."""
    found: dict[str, dict[str, Any] | None] = {}
    for c in data.get("commitments") or []:
        ident = c.get("id") if isinstance(c, dict) else None
        if isinstance(ident, str):
            found[ident] = None if ident in found else c
    return found
