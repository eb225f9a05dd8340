"""Markdown: escaping untrusted text into it, and turning it into HTML with markdown-it.

Every value from a YAML file is escaped before it enters the Markdown (the Markdown
templates escape by default), and markdown-it renders with raw HTML switched off, so text
from a pull request can neither inject HTML nor change the document's structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:  # markdown-it is loaded when Markdown is first turned into HTML
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

from ..world.text import CONTROL as _CONTROL
from ..world.text import clean_text as clean_text  # the one cleaner, shared with Git metadata

# Inline markup characters, escaped wherever they appear.
_INLINE = re.compile(r"([\\`*_\[\]{}<>|~&])")
# Characters that only mean something at the start of a line (headings, quotes, lists, rules).
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)](?=\s|$))")
_BLANK_LINE = re.compile(r"\n\s*\n")
_HEADING_ID = re.compile(r"\s*\{#([a-z0-9][a-z0-9-]*)\}\s*$")


class MdText(Markup):
    """Markdown written by a template or by our own code: already safe, not escaped again."""


def escape(value: Any) -> MdText:
    """Plain text -> Markdown that shows exactly that text, on as many paragraphs as it has.

    Single line breaks become spaces (YAML folded text); blank lines separate paragraphs.
    """
    if isinstance(value, Markup):
        return MdText(value)
    return _escape_text("" if value is None else str(value))


def inline(value: Any) -> MdText:
    """Like `escape`, but always one line (table cells, headings, list items)."""
    if isinstance(value, Markup):
        return MdText(value)
    return MdText(" ".join(escape(value).split("\n\n")))


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
    # Agreements repeat names and figures many times; the cache makes each one cost once.
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = [
        " ".join(line.strip() for line in block.split("\n") if line.strip()) for block in _BLANK_LINE.split(text)
    ]
    return MdText("\n\n".join(_escape_line(p) for p in paragraphs if p))


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


_HEADING_ID_LINE = re.compile(r"^(#{1,6} .*?)[ \t]*\{#[a-z0-9][a-z0-9-]*\}[ \t]*$", re.MULTILINE)


def for_github(markdown: str) -> str:
    """GitHub-flavoured Markdown: headings without the `{#anchor}` attribute, which GitHub
    would show as text (it makes its own anchors from the heading text). Only an attribute
    our templates wrote can match: text from a file has its braces escaped."""
    return _HEADING_ID_LINE.sub(r"\1", markdown)


@dataclass(frozen=True)
class Heading:
    level: int
    anchor: str
    text: str


def _parser(remember: bool = True) -> MarkdownIt:
    # Only the constructs templates use; each rule left out is one less try on every line
    # (a fifth of the parsing time). Raw HTML stays off.
    from markdown_it import MarkdownIt

    md = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False})
    md.enable(
        [
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
    )
    if remember:
        md.core.ruler.at("inline", _inline)
        md.add_render_rule("rendered_inline", _rendered_inline)
    md.core.ruler.push("heading_ids", _heading_ids)
    if md.core.ruler.get_active_rules() != ["normalize", "block", "inline", "text_join", "heading_ids"]:
        # _inline renders inline text at once: a core rule after it would not see that text.
        raise RuntimeError("markdown-it's core rules changed; review _inline before upgrading")
    md.add_render_rule("th_open", _th_open)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


# Inline text -> its HTML. Table cells, list items and labels repeat within an agreement
# and across the agreements of a build; parsing inline text was half of turning a page into
# HTML. Inline HTML depends only on the text (no reference links, no typographer), so each
# text is parsed and rendered once. Bounded: cleared when full.
_INLINE_HTML: dict[str, str] = {}
_INLINE_HTML_MAX = 65536


def _inline(state: Any) -> None:
    """markdown-it's inline rule, with each text's HTML remembered (headings excepted: their
    `{#anchor}` is read from the parsed text and removed from it afterwards)."""
    md, tokens = state.md, state.tokens
    for i, token in enumerate(tokens):
        if token.type != "inline":
            continue
        if token.children is None:
            token.children = []
        if i and tokens[i - 1].type == "heading_open":
            md.inline.parse(token.content, md, state.env, token.children)
            continue
        html = _INLINE_HTML.get(token.content)
        if html is None:
            from markdown_it.rules_core.state_core import StateCore
            from markdown_it.rules_core.text_join import text_join
            from markdown_it.token import Token

            parsed = Token("inline", "", 0, content=token.content, children=[])
            md.inline.parse(token.content, md, state.env, parsed.children)
            text_join(StateCore("", md, state.env, [parsed]))  # the core rule that runs after this one
            html = md.renderer.renderInline(parsed.children, md.options, state.env)
            if len(_INLINE_HTML) >= _INLINE_HTML_MAX:
                _INLINE_HTML.clear()
            _INLINE_HTML[token.content] = html
        if html:
            token.children.append(type(token)("rendered_inline", "", 0, content=html))


def _rendered_inline(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return str(tokens[idx].content)


def _heading_ids(state: Any) -> None:
    """`## Title {#anchor}` -> <h2 id="anchor">Title</h2> (the Pandoc/kramdown convention)."""
    tokens: list[Token] = state.tokens
    for i, token in enumerate(tokens[:-1]):
        if token.type != "heading_open":
            continue
        content = tokens[i + 1]
        match = _HEADING_ID.search(content.content)
        if not match or not content.children:
            continue
        token.attrSet("id", match.group(1))
        content.content = content.content[: match.start()]
        last = content.children[-1]
        if last.type == "text":
            last.content = _HEADING_ID.sub("", last.content)


def _th_open(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("scope", "col")
    return str(renderer.renderToken(tokens, idx, options, env))


def _table_open(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    # A frame of its own: a table wider than a phone scrolls sideways instead of splitting words.
    return '<div class="table-wrap">\n' + str(renderer.renderToken(tokens, idx, options, env))


def _table_close(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return str(renderer.renderToken(tokens, idx, options, env)) + "</div>\n"


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    return _parser()


def to_html(markdown: str) -> tuple[str, list[Heading]]:
    """HTML for a Markdown text, and its headings (level, anchor, plain text) in order."""
    md = _md()
    tokens = md.parse(markdown)
    headings = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            plain = "".join(
                child.content for child in tokens[i + 1].children or [] if child.type in ("text", "code_inline")
            )
            headings.append(Heading(int(token.tag[1]), str(token.attrGet("id")), plain.strip()))
    return md.renderer.render(tokens, md.options, {}), headings


def inline_html(markdown: str) -> str:
    """HTML for one line of Markdown, read as inline text only ("1. Parties" is not a list)."""
    return str(_md().renderInline(markdown))
