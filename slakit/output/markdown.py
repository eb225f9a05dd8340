"""Markdown: escaping untrusted text into it, and turning it into HTML with markdown-it.

Every value from a YAML file is escaped before it enters the Markdown (the Markdown
templates escape by default), and markdown-it renders with raw HTML switched off, so text
from a pull request can neither inject HTML nor change the document's structure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any, NamedTuple

from markupsafe import Markup

if TYPE_CHECKING:  # markdown-it is loaded when Markdown is first turned into HTML
    import markdown_it_pyrs
    from markdown_it import MarkdownIt

from ..world.text import CONTROL as _CONTROL
from ..world.text import clean_text as clean_text  # the one cleaner, shared with Git metadata

# Inline markup characters, escaped wherever they appear.
_INLINE = re.compile(r"([\\`*_\[\]{}<>|~&])")
# Characters that only mean something at the start of a line (headings, quotes, lists, rules).
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)](?=\s|$))")
_BLANK_LINE = re.compile(r"\n\s*\n")


class MdText(Markup):
    """Markdown written by a template or by our own code: already safe, not escaped again."""


def escape(value: Any) -> MdText:
    """Plain text -> Markdown that shows exactly that text, on as many paragraphs as it has.

    Single line breaks become spaces (YAML folded text); blank lines separate paragraphs.
    """
    if isinstance(value, Markup):
        return value if type(value) is MdText else MdText(value)
    return _escape_text("" if value is None else str(value))


def escaped(value: Any) -> str:
    """`escape(value)` as a plain str: what a Markdown template writes for `{{ value }}` (its
    finalize), which Jinja would copy out of an MdText into a str on every output."""
    if isinstance(value, Markup):
        return value
    return _escaped_text("" if value is None else str(value))


def inline(value: Any) -> MdText:
    """Like `escape`, but always one line (table cells, headings, list items)."""
    if isinstance(value, Markup):
        return value if type(value) is MdText else MdText(value)
    return _inline_text("" if value is None else str(value))


@lru_cache(maxsize=32768)
def _inline_text(text: str) -> MdText:
    escaped = _escape_text(text)
    return MdText(" ".join(str.split(escaped, "\n\n"))) if "\n" in escaped else escaped


def code(value: Any) -> MdText:
    """Text as a Markdown code span, shown exactly (backslashes in a code span are literal,
    so it is fenced with more backticks than it contains instead of being escaped)."""
    text = " ".join(_CONTROL.sub(" ", clean_text(str(value))).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return MdText(f"{fence}{pad}{text}{pad}{fence}")


@lru_cache(maxsize=32768)
def _escape_text(text: str) -> MdText:
    return MdText(_escaped_text(text))


@lru_cache(maxsize=32768)
def _escaped_text(text: str) -> str:
    # Agreements repeat names and figures many times; the cache makes each one cost once.
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = [
        " ".join(line.strip() for line in block.split("\n") if line.strip()) for block in _BLANK_LINE.split(text)
    ]
    return "\n\n".join(_escape_line(p) for p in paragraphs if p)


def _escape_line(text: str) -> str:
    text = _CONTROL.sub(" ", text)
    text = _INLINE.sub(r"\\\1", text)
    # A leading "#", "-", "1." or "> " would start a heading, list or quote.
    return _LINE_START.sub(
        lambda m: (
            m.group(1) + "\\" + m.group(2)
            if not m.group(2)[0].isdigit()
            else m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1]
        ),
        text,
    )


# The anchor a template writes at the end of a heading line. Text from a file cannot
# match: its braces are escaped ("\\{").
_ANCHORED_HEADING = re.compile(r"^(#{1,6}[ \t].*?)[ \t]*\{#([a-z0-9][a-z0-9-]*)\}[ \t]*$", re.MULTILINE)
# The same on every line but the first, found from the line break before it: a pattern that
# starts with a plain character is searched for three times as fast as one that starts at "^".
_LATER_HEADING = re.compile(r"\n" + _ANCHORED_HEADING.pattern[1:], re.MULTILINE)


def _cut_headings(markdown: str) -> list[str]:
    """`markdown` cut around its anchored heading lines: text, heading, anchor, text, heading,
    anchor, ..., text (the heading without its `{#anchor}`), as `_ANCHORED_HEADING` finds them.
    One search serves both the GitHub Markdown and the HTML of a page."""
    parts: list[str] = []
    at = 0
    first = _ANCHORED_HEADING.match(markdown)
    if first is not None:
        parts += ("", first[1], first[2])
        at = first.end()
    for match in _LATER_HEADING.finditer(markdown, at):
        parts += (markdown[at : match.start() + 1], match[1], match[2])
        at = match.end()
    parts.append(markdown[at:])
    return parts


def _without_anchors(parts: list[str]) -> str:
    """The Markdown cut by `_cut_headings`, each heading without its anchor (for GitHub)."""
    pieces = parts.copy()
    pieces[2::3] = [""] * (len(parts) // 3)
    return "".join(pieces)


def _marked(parts: list[str]) -> str:
    """The Markdown cut by `_cut_headings`, each heading's anchor after it between two marks."""
    pieces = parts.copy()
    pieces[2::3] = [_MARK + anchor + _MARK for anchor in parts[2::3]]
    return "".join(pieces)


def for_github(markdown: str) -> str:
    """GitHub-flavoured Markdown: headings without the `{#anchor}` attribute, which GitHub
    would show as text (it makes its own anchors from the heading text). Only an attribute
    our templates wrote can match: text from a file has its braces escaped."""
    return _without_anchors(_cut_headings(markdown))


class Heading(NamedTuple):  # a tuple: made for every heading of every page, in one call
    level: int
    anchor: str
    text: str


# A heading's anchor is put through the engine as this noncharacter around it: one cannot
# survive `clean_text`, so the marker is ours alone.
_MARK = "\ufdd0"
# A line the engine wrote for a heading (the only kind of line that can start with "<h").
_HEADING_LINE = re.compile(r"<h([1-6])>(.*)</h\1>")
_TH = re.compile(r'<th( style="[^"]*")?>')
_TAG = re.compile(r"<[^>]*>")

# Only the constructs templates use. Raw HTML stays off: "zero" has no html rules.
_RULES: list[Any] = [  # plugin names (markdown-it-pyrs types them as literals)
    "paragraph",
    "heading",
    "list",
    "table",
    "hr",
    "blockquote",
    "emphasis",
    "strikethrough",
    "escape",
    "newline",
    "backticks",
    "link",
    "entity",
]


# markdown-it-pyrs 0.4 panics on an unescaped "[" followed by a backtick that is never
# closed ("[ `"). Templates write neither (text from files is escaped), but a text that has
# both goes to markdown-it-py, whose pages are the same.
def _link_bracket(text: str) -> bool:
    """Whether the text has a "[" that no backslash escapes."""
    at = text.find("[")
    while at >= 0:
        start = at
        while start and text[start - 1] == "\\":
            start -= 1
        if (at - start) % 2 == 0:
            return True
        at = text.find("[", at + 1)
    return False


@lru_cache(maxsize=1)
def _fast() -> markdown_it_pyrs.MarkdownIt | None:
    # markdown-it's Rust port, by markdown-it-py's maintainer: the same CommonMark and tables,
    # byte for byte on what templates write (tests/test_markdown_engine.py holds it to
    # markdown-it-py), and ten times faster; turning pages into HTML was most of a build.
    try:
        from markdown_it_pyrs import MarkdownIt
    except ImportError:  # no wheel for this Python (3.13 on): markdown-it-py makes the same pages
        return None
    md = MarkdownIt("zero")
    md.enable_many(_RULES)
    return md


@lru_cache(maxsize=1)
def _reference() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False}).enable(_RULES)


def _render(markdown: str) -> str:
    fast = _fast()
    if fast is None or ("`" in markdown and _link_bracket(markdown)):
        return str(_reference().render(markdown))
    html = str(fast.render(markdown, xhtml=False))
    # The one difference in what templates can write: an empty quote.
    return html.replace("<blockquote>\n</blockquote>", "<blockquote></blockquote>") if "<blockquote>" in html else html


def to_html(markdown: str) -> tuple[str, list[Heading]]:
    """HTML for a Markdown text, and its headings with an anchor (level, anchor, plain text)
    in order. `## Title {#anchor}` gives <h2 id="anchor">Title</h2> (the Pandoc/kramdown
    convention); tables get a frame of their own, so a table wider than a phone scrolls
    sideways instead of splitting words, and column headers say they are."""
    return _html(_cut_headings(markdown))


def for_github_and_html(markdown: str) -> tuple[str, str, list[Heading]]:
    """`for_github(markdown)` and `to_html(markdown)` at once: a page's Markdown file and its
    HTML come from the same body, whose headings are found once for both."""
    parts = _cut_headings(markdown)
    html, headings = _html(parts)
    return _without_anchors(parts), html, headings


def _html(parts: list[str]) -> tuple[str, list[Heading]]:
    html = _render(_marked(parts))
    headings: list[Heading] = []
    html = _anchor_headings(html, headings)
    return _frame_tables(html), headings


def _frame_tables(html: str) -> str:
    """Each table in a frame of its own, its column headers scoped: table by table, only the
    head of each searched for header cells."""
    out: list[str] = []
    done = 0
    at = html.find("<table>\n")
    while at >= 0:
        head_end = html.find("</thead>\n", at)
        end = html.find("</table>\n", at)
        if end < 0 or head_end > end:  # not what the engine writes: the whole page, as it is
            return _frame_all_tables(html)
        head = html[at:head_end] if head_end >= 0 else html[at:end]
        out += (html[done:at], '<div class="table-wrap">\n', _scope_headers(head), html[at + len(head) : end])
        out.append("</table>\n</div>\n")
        done = end + len("</table>\n")
        at = html.find("<table>\n", done)
    if not out:
        return html
    out.append(html[done:])
    return "".join(out)


def _frame_all_tables(html: str) -> str:
    html = html.replace("<table>\n", '<div class="table-wrap">\n<table>\n')
    html = html.replace("</table>\n", "</table>\n</div>\n")
    return _TH.sub(r'<th\1 scope="col">', html)  # an unmatched group gives ""


# The header cells the engine writes: as they are, or aligned.
_HEADER_CELLS = (
    "<th>",
    '<th style="text-align:left">',
    '<th style="text-align:center">',
    '<th style="text-align:right">',
)


def _scope_headers(head: str) -> str:
    """`<th scope="col">` for each header cell in a table's head."""
    scoped = head
    for cell in _HEADER_CELLS:
        if cell in scoped:
            scoped = scoped.replace(cell, cell[:-1] + ' scope="col">')
    if scoped.count(' scope="col">') != head.count("<th") - head.count("<thead"):
        return _TH.sub(r'<th\1 scope="col">', head)  # a cell of another form: the pattern takes any
    return scoped


def _anchor_headings(html: str, headings: list[Heading]) -> str:
    """`html` with each heading line that carries a marked anchor given it as its id (the
    marks removed), the headings appended to `headings`. The engine writes a heading on a line
    of its own, `<h2>...</h2>`, and a mark only where a heading was marked: the lines are
    found from the marks, without searching the whole page for headings."""
    out: list[str] = []
    done = 0
    at = html.find(_MARK)
    while at >= 0:
        start = html.rfind("\n", 0, at) + 1
        end = html.find("\n", at)
        if end < 0:
            break
        line = _HEADING_LINE.fullmatch(html, start, end)
        if line is not None:
            level, inner = line.group(1), line.group(2)
            text, mark, rest = inner.partition(_MARK)
            anchor = rest[:-1] if mark and rest.endswith(_MARK) and _MARK not in rest[:-1] else ""
            if anchor:
                text = text.rstrip(" \t")
                plain = _TAG.sub("", text) if "<" in text else text
                headings.append(Heading(int(level), anchor, (html_unescape(plain) if "&" in plain else plain).strip()))
                out += (html[done:start], f'<h{level} id="{anchor}">{text}</h{level}>')
                done = end
        at = html.find(_MARK, end)
    if not out:
        return html
    out.append(html[done:])
    return "".join(out)


def inline_html(markdown: str) -> str:
    """HTML for one line of Markdown, read as inline text only ("1. Parties" is not a list)."""
    return str(_reference().renderInline(markdown))
