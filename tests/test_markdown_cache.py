"""Pages made with remembered inline HTML are the pages markdown-it makes on its own.

`to_html` renders each inline text once and reuses its HTML; the oracle is the same
markdown-it set-up without that memory, on raw Markdown (escaped, hostile text placed in
tables, lists, quotes, emphasis and headings) and on every example's page body. Each text
is converted twice, so the second conversion reads what the first remembered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies as S
from conftest import ROOT
from slakit.model.agreement import Agreement
from slakit.output.markdown import _parser, escape, to_html
from slakit.output.render import Renderer
from slakit.world.load import load_file

PLAIN = _parser(remember=False)

RAW = [
    "#smarketing",
    "\\#smarketing",
    "**bold** and _em_ and ~~gone~~",
    "`code` and ``two `ticks``",
    "[a link](https://example.com) and [bad](javascript:alert(1))",
    "&amp; &copy; &#35; &bogus;",
    "a  \nhard break",
    "<b>raw</b>",
    "x | y",
    "\\",
    "",
]


def plain_html(markdown: str) -> str:
    return PLAIN.renderer.render(PLAIN.parse(markdown), PLAIN.options, {})


def document(cells: list[str], paragraph: str) -> str:
    rows = "\n".join(f"| {c} | {c} |" for c in cells)
    items = "\n".join(f"- {c}" for c in cells)
    return (
        f"## Heading {cells[0]} {{#heading}}\n\n{paragraph}\n\n| A | B |\n|---|---|\n{rows}\n\n{items}\n\n"
        f"> {paragraph}\n\n### {cells[-1]} {{#sub}}\n\n1. {cells[0]}\n2. *{cells[-1]}*\n"
    )


@given(
    cells=st.lists(st.one_of(S.lines(), st.sampled_from(RAW), S.lines().map(escape)), min_size=1, max_size=6),
    paragraph=st.one_of(S.texts(), st.sampled_from(RAW), S.texts().map(escape)),
)
def test_remembered_inline_html_is_what_markdown_it_makes(cells: list[str], paragraph: str) -> None:
    markdown = document(cells, paragraph)
    first, headings = to_html(markdown)
    assert first == plain_html(markdown)
    assert to_html(markdown) == (first, headings)  # now from memory
    assert [h.anchor for h in headings] == ["heading", "sub"]


@pytest.mark.parametrize("example", sorted((ROOT / "sla").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_page_body_is_unchanged(example: Path) -> None:
    doc, _ = load_file(example)
    assert doc is not None
    body = Renderer().body(doc.data, Agreement.from_data(doc.data))
    assert to_html(body)[0] == plain_html(body)
    assert to_html(body)[0] == plain_html(body)


@pytest.mark.parametrize("text", RAW)
def test_markdown_constructs_in_every_place(text: str) -> None:
    markdown = document([text, "plain", text], text or "empty")
    assert to_html(markdown)[0] == plain_html(markdown)
    assert to_html(markdown)[0] == plain_html(markdown)
