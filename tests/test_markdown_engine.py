"""The pages the build makes with markdown-it's Rust port are the pages markdown-it-py makes.

`to_html` renders with markdown-it-pyrs and adds heading anchors, table frames and column
scopes by editing its HTML. The oracle is markdown-it-py, with those three added on its token
stream instead (the way the build did it before): on every example's body, on the bodies of
generated agreements (hostile text in every field), and on Markdown with hostile text placed
in every construct the templates write. Each page is compared byte for byte, with its list
of headings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

import strategies as S
from conftest import ROOT
from slakit.model.agreement import Agreement
from slakit.output import markdown
from slakit.output.markdown import Heading, code, escape, inline, to_html
from slakit.output.render import Renderer
from slakit.world.load import load_bytes, load_file

RULES = ["heading", "list", "table", "hr", "blockquote", "emphasis", "strikethrough", "escape", "newline"]
RULES += ["backticks", "link", "entity"]
ANCHOR = re.compile(r"\s*\{#([a-z0-9][a-z0-9-]*)\}\s*$")


def _th_open(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("scope", "col")
    return str(renderer.renderToken(tokens, idx, options, env))


def _table_open(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    return '<div class="table-wrap">\n' + str(renderer.renderToken(tokens, idx, options, env))


def _table_close(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    return str(renderer.renderToken(tokens, idx, options, env)) + "</div>\n"


ORACLE = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False}).enable(RULES)
ORACLE.add_render_rule("th_open", _th_open)
ORACLE.add_render_rule("table_open", _table_open)
ORACLE.add_render_rule("table_close", _table_close)


def oracle(markdown: str) -> tuple[str, list[Heading]]:
    tokens = ORACLE.parse(markdown)
    headings = []
    for i, token in enumerate(tokens[:-1]):
        content = tokens[i + 1]
        match = ANCHOR.search(content.content) if token.type == "heading_open" else None
        if not match or not content.children:
            continue
        token.attrSet("id", match.group(1))
        last = content.children[-1]
        if last.type == "text":
            last.content = ANCHOR.sub("", last.content)
        plain = "".join(c.content for c in content.children if c.type in ("text", "code_inline")).strip()
        headings.append(Heading(int(token.tag[1]), match.group(1), plain))
    return ORACLE.renderer.render(tokens, ORACLE.options, {}), headings


RAW = [
    "#smarketing",
    "\\#smarketing",
    "**bold** and _em_ and ~~gone~~",
    "`code` and ``two `ticks``",
    "[a link](https://example.com) and [bad](javascript:alert(1))",
    "[ `unclosed",  # markdown-it-pyrs 0.4 panics on this one: the reference engine takes it
    "&amp; &copy; &#35; &bogus; &#0;",
    "a  \nhard break",
    "<b>raw</b>",
    "x | y",
    "\\",
    "a\u00a0b",
    "",
]
# Unicode spaces at the edges of a line: the two engines trim them differently, and escaping
# trims them first, so they are tried escaped only.
EDGES = ["\u00a0nbsp\u00a0", "\u3000wide\u3000", "\u2003em"]


def document(cells: list[str], paragraph: str) -> str:
    rows = "\n".join(f"| {c} | {c} |" for c in cells)
    items = "\n".join(f"- **{c}**: {c}" for c in cells)
    return (
        f"## 1. Heading {cells[0]} {{#heading}}\n\n{paragraph}\n\n| A | B |\n|---|--:|\n{rows}\n\n{items}\n\n"
        f"> **{paragraph}**\n\n### {cells[-1]} {{#sub}}\n\n1. {cells[0]}\n2. *{cells[-1]}*\n\n---\n\n"
        f"- {code(cells[0])}\n\n{paragraph}  \nline two\n"
    )


@settings(max_examples=S.examples(3))
@given(
    cells=st.lists(st.one_of(S.lines(), st.sampled_from(RAW + EDGES), S.lines().map(inline)), min_size=1, max_size=6),
    paragraph=st.one_of(S.texts(), st.sampled_from(RAW + EDGES), S.texts().map(escape)),
)
def test_hostile_text_in_every_construct(cells: list[str], paragraph: str) -> None:
    markdown = document([inline(c) for c in cells], escape(paragraph))
    html, headings = to_html(markdown)
    assert (html, headings) == oracle(markdown)
    assert [h.anchor for h in headings] == ["heading", "sub"]


@pytest.mark.parametrize("text", RAW)
def test_raw_markdown_in_every_construct(text: str) -> None:
    """Markdown written as is (as a custom template could), not escaped."""
    markdown = document([text, "plain", text], text or "empty")
    assert to_html(markdown) == oracle(markdown)


@pytest.mark.parametrize("example", sorted((ROOT / "sla").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_page_body(example: Path) -> None:
    doc, _ = load_file(example)
    assert doc is not None
    body = Renderer().body(doc.data, Agreement.from_data(doc.data))
    html, headings = to_html(body)
    assert (html, headings) == oracle(body)
    assert len(headings) >= 10 and '<div class="table-wrap">' in html


@settings(max_examples=S.examples(2))
@given(data=S.agreements())
def test_generated_agreement_bodies(data: dict[str, Any]) -> None:
    doc, problems = load_bytes(S.to_yaml(data).encode(), "a.yaml")
    assert doc is not None, problems
    body = Renderer().body(doc.data, Agreement.from_data(doc.data))
    assert to_html(body) == oracle(body)


@pytest.mark.parametrize("example", sorted((ROOT / "sla").glob("*.yaml")), ids=lambda p: p.stem)
def test_without_the_rust_port_the_pages_are_the_same(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where markdown-it-pyrs has no wheel (Python 3.13 on), markdown-it-py makes the pages."""
    doc, _ = load_file(example)
    assert doc is not None
    body = Renderer().body(doc.data, Agreement.from_data(doc.data))
    fast = to_html(body)
    monkeypatch.setattr(markdown, "_fast", lambda: None)
    assert to_html(body) == fast == oracle(body)


def test_the_text_that_crashes_the_rust_port_gets_a_page() -> None:
    html, headings = to_html("## Title [ `x {#title}\n\n[ `unclosed\n")
    assert html == '<h2 id="title">Title [ `x</h2>\n<p>[ `unclosed</p>\n'
    assert headings == [Heading(2, "title", "Title [ `x")]


HEADING_PIECES = ["#", "##", "#######", " ", "\t", "x", "{#a-1}", "{#ok}", "{#}", "{#A}", "\\{#b}", "\r", "}", "{#"]
HEADING_LINE = re.compile(r"(#{1,6}[ \t].*?)[ \t]*\{#([a-z0-9][a-z0-9-]*)\}[ \t]*")


def heading_oracle(text: str, anchored: str) -> str:
    """Line by line: a whole line that is an anchored heading becomes `anchored` with its
    text and anchor put in ({0}, {1}); every other line stays as it is."""
    lines = text.split("\n")
    return "\n".join(anchored.format(*m.groups()) if (m := HEADING_LINE.fullmatch(line)) else line for line in lines)


@settings(max_examples=S.examples(10))
@given(st.lists(st.lists(st.sampled_from(HEADING_PIECES), max_size=6).map("".join), max_size=6).map("\n".join))
def test_heading_anchors_are_found_on_every_line(text: str) -> None:
    """The anchors come off the first line, the last and every one between, and nothing else."""
    assert markdown.for_github(text) == heading_oracle(text, "{0}")
    mark = markdown._MARK
    assert markdown._marked(markdown._cut_headings(text)) == heading_oracle(text, f"{{0}}{mark}{{1}}{mark}")


def test_table_frames_by_hand() -> None:
    """Each table framed and each header cell scoped, whatever form a cell takes (the engine
    writes plain or aligned ones; another form goes through the general pattern)."""
    table = "<table>\n<thead>\n<tr>\n{cells}</tr>\n</thead>\n<tbody>\n<tr>\n<td>x</td>\n</tr>\n</tbody>\n</table>\n"
    cells = '<th>A</th>\n<th style="text-align:right">B</th>\n'
    odd = '<th style="width:1em">C</th>\n'
    html = "<p>before</p>\n" + table.format(cells=cells) + "<p>between</p>\n" + table.format(cells=cells + odd)
    framed = '<th scope="col">A</th>\n<th style="text-align:right" scope="col">B</th>\n'
    odd_framed = '<th style="width:1em" scope="col">C</th>\n'
    wrap = '<div class="table-wrap">\n{table}</div>\n'
    assert markdown._frame_tables(html) == (
        "<p>before</p>\n"
        + wrap.format(table=table.format(cells=framed))
        + "<p>between</p>\n"
        + wrap.format(table=table.format(cells=framed + odd_framed))
    )
    assert markdown._frame_tables("<p>no table</p>\n") == "<p>no table</p>\n"
