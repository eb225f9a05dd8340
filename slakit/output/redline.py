"""Redline: the rendered agreement text of two versions, compared word by word.

Sections are aligned by their anchors (section and commitment ids), so a moved or renumbered
section is compared with itself, not with whatever now stands in its place. Unchanged
sections collapse to their headings. Change marks never span a line break, a table cell
border or a list marker, so the marked-up Markdown keeps the structure of the agreement:
Markdown gets <del>old</del><ins>new</ins>, which GitHub shows struck out and underlined
(or CriticMarkup, {--old--}{++new++}, on request); HTML gets <del> and <ins>.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .markdown import inline_html, to_html

# Private-use characters mark changes through markdown-it; any in the text are replaced first.
DEL_OPEN, DEL_CLOSE, INS_OPEN, INS_CLOSE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKERS = re.compile("[\ue000-\ue003]")
_HEADING = re.compile(r"^(#{2,6}) (?:(\d+(?:\.\d+)*)\.? )?(.*?)(?: \{#([a-z0-9-]+)\})?$")
# Words keep their backslash escapes (\| \*) whole, so a change never splits an escape.
_TOKEN = re.compile(r"\n|[ \t]+|(?:\\.|[^\s|*\\])+|\||\*\*|\*|\\")
_STRUCTURE = re.compile(r"^(?:[-+*]|\d+[.)]|>)$")
_TABLE_RULE = re.compile(r"^:?-{3,}:?$")  # one cell of a table's header rule


@dataclass
class Section:
    anchor: str
    level: int
    number: str
    title: str
    body: str


@dataclass
class RedlineSection:
    status: str  # same | changed | added | removed
    level: int
    heading: str  # marked-up heading text (without the leading #s)
    body: str  # marked-up Markdown body (empty when unchanged)


def split_sections(markdown: str) -> list[Section]:
    """The body Markdown cut at every heading that carries an anchor."""
    markdown = _MARKERS.sub("\ufffd", markdown)
    sections = [Section("", 1, "", "", "")]
    for line in markdown.split("\n"):
        match = _HEADING.match(line)
        if match and match.group(4):
            hashes, number, title, anchor = match.groups()
            shown = f"{number}." if number and len(hashes) == 2 else number or ""  # as the agreement numbers them
            sections.append(Section(anchor, len(hashes), shown, title, ""))
        else:
            sections[-1].body += line + "\n"
    for section in sections:
        section.body = section.body.strip("\n")
    return [s for s in sections if s.anchor or s.body]


def align(old: list[Section], new: list[Section]) -> list[tuple[Section | None, Section | None]]:
    """Pairs in reading order: new order, with removed sections where they used to stand."""
    new_anchors = {s.anchor for s in new}
    old_index = {s.anchor: i for i, s in enumerate(old)}
    pairs: list[tuple[Section | None, Section | None]] = []
    taken = 0
    for section in new:
        if section.anchor in old_index:
            i = old_index[section.anchor]
            for gone in old[taken:i]:
                if gone.anchor not in new_anchors:
                    pairs.append((gone, None))
            taken = max(taken, i + 1)
            pairs.append((old[i], section))
        else:
            pairs.append((None, section))
    pairs += [(gone, None) for gone in old[taken:] if gone.anchor not in new_anchors]
    return pairs


def redline(old_markdown: str, new_markdown: str) -> list[RedlineSection]:
    """The section-by-section redline of two rendered agreement bodies."""
    result = []
    for before, after in align(split_sections(old_markdown), split_sections(new_markdown)):
        if before is None and after is not None:
            result.append(
                RedlineSection("added", after.level, _numbered(after, _words("", after.title)), _words("", after.body))
            )
        elif after is None and before is not None:
            result.append(
                RedlineSection(
                    "removed", before.level, _numbered(before, _words(before.title, "")), _words(before.body, "")
                )
            )
        elif before is not None and after is not None:
            if before.title == after.title and before.body == after.body:
                result.append(RedlineSection("same", after.level, _title(after), ""))
            else:
                heading = _words(before.title, after.title)
                result.append(
                    RedlineSection("changed", after.level, _numbered(after, heading), _words(before.body, after.body))
                )
    # A section whose own text is unchanged but whose subsections changed is context, not "unchanged".
    for i, section in enumerate(result):
        if section.status == "same":
            for later in result[i + 1 :]:
                if later.level <= section.level:
                    break
                if later.status != "same":
                    section.status = "context"
                    break
    return result


def _numbered(section: Section, heading: str) -> str:
    return f"{section.number} {heading}" if section.number else heading


def _title(section: Section) -> str:
    return f"{section.number} {section.title}" if section.number else section.title


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


# Word-by-word alignment costs up to len(old) x len(new) token comparisons; above this, the
# texts are aligned line by line first (a definition, a table row), and words are compared
# only inside changed lines, so a large redline stays near-linear.
WORD_PAIRS_AT_MOST = 250_000


def _words(old: str, new: str, by_lines: bool = True) -> str:
    """Word diff of two Markdown texts, with change marks kept off structural tokens."""
    a, b = _tokens(old), _tokens(new)
    if len(a) * len(b) > WORD_PAIRS_AT_MOST:
        return _lines(old, new) if by_lines else _replaced(a, b)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in _merge_close(matcher.get_opcodes(), a):
        if op == "equal":
            out.extend(b[j1:j2])
            continue
        if op in ("delete", "replace"):
            out.append(_span(a[i1:i2], DEL_OPEN, DEL_CLOSE, keep_structure=op == "delete"))
        if op in ("insert", "replace"):
            out.append(_span(b[j1:j2], INS_OPEN, INS_CLOSE, keep_structure=True))
    return "".join(out)


def _lines(old: str, new: str) -> str:
    """The cheaper alignment of large texts: lines matched first, words inside changed lines."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out: list[str] = []
    # autojunk: lines repeated everywhere (blank ones, table rules) anchor nothing and would
    # make the alignment quadratic.
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=True).get_opcodes():
        if op == "equal":
            out.extend(b[j1:j2])
        elif i2 - i1 == j2 - j1:  # as many lines on each side: compare them pairwise
            out.extend(_words(x, y, by_lines=False) for x, y in zip(a[i1:i2], b[j1:j2]))
        else:
            out.append(_words("".join(a[i1:i2]), "".join(b[j1:j2]), by_lines=False))
    return "".join(out)


def _replaced(a: list[str], b: list[str]) -> str:
    """Too large to compare word by word even within lines: the old text struck, the new inserted."""
    return _span(a, DEL_OPEN, DEL_CLOSE, keep_structure=False) + _span(b, INS_OPEN, INS_CLOSE, keep_structure=True)


def _merge_close(
    opcodes: Sequence[tuple[str, int, int, int, int]], a: list[str]
) -> list[tuple[str, int, int, int, int]]:
    """Join changes separated only by a space, so "1 business hour" -> "30 minutes" reads as one."""
    merged: list[tuple[str, int, int, int, int]] = []
    for code in opcodes:
        if (
            len(merged) >= 2
            and code[0] != "equal"
            and merged[-1][0] == "equal"
            and merged[-2][0] != "equal"
            and all(t in (" ", "\t") for t in a[merged[-1][1] : merged[-1][2]])
        ):
            gap = merged.pop()
            first = merged.pop()
            merged.append(("replace", first[1], code[2], first[3], code[4]))
            del gap
        else:
            merged.append(code)
    return merged


def _span(tokens: list[str], start: str, end: str, keep_structure: bool) -> str:
    """Wrap runs of words; line breaks, cell borders, list markers and table rules stay outside.

    Structure from the old text is kept only for pure deletions (a deleted row stays a row);
    in a replacement the new text's structure stands.
    """
    out: list[str] = []
    run: list[str] = []
    line_start = True

    def flush() -> None:
        text = "".join(run)
        if text.strip():
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()) :]
            out.append(lead + start + text.strip() + end + trail)
        elif text:
            out.append(text if keep_structure else "")
        run.clear()

    for token in tokens:
        if token in ("\n", "|", "**", "*") or _TABLE_RULE.match(token) or (line_start and _STRUCTURE.match(token)):
            flush()
            if keep_structure:
                out.append(token)
        else:
            run.append(token)
        if token == "\n":
            line_start = True
        elif token.strip():
            line_start = False
    flush()
    return "".join(out)


def to_tags(text: str) -> str:
    """Change marks as <del> and <ins> in Markdown (GitHub renders them; the text around
    them is escaped Markdown, so these are the only tags in it)."""
    return (
        text.replace(DEL_OPEN, "<del>")
        .replace(DEL_CLOSE, "</del>")
        .replace(INS_OPEN, "<ins>")
        .replace(INS_CLOSE, "</ins>")
    )


def to_critic(text: str) -> str:
    """Change marks as CriticMarkup."""
    return text.replace(DEL_OPEN, "{--").replace(DEL_CLOSE, "--}").replace(INS_OPEN, "{++").replace(INS_CLOSE, "++}")


def to_html_marks(markdown: str, inline: bool = False) -> str:
    """Marked Markdown -> HTML with <del> and <ins> (the marks survive markdown-it as text)."""
    html = inline_html(markdown) if inline else to_html(markdown)[0]
    return (
        html.replace(DEL_OPEN, "<del>")
        .replace(DEL_CLOSE, "</del>")
        .replace(INS_OPEN, "<ins>")
        .replace(INS_CLOSE, "</ins>")
    )
