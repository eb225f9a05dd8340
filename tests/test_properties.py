"""Property-based tests: generated agreements through the real CLI.

Each property is checked on agreements built by tests/strategies.py: valid ones (with
hostile text in every text field), written in many YAML styles, their revisions, and
invalid mutations of them. The default profile runs a few derandomized examples per
property; `HYPOTHESIS_PROFILE=fuzz` runs twenty times as many random ones.

Properties that a known engine defect breaks are marked xfail(strict=True) with the
defect in the reason; tests/test_property_regressions.py holds the minimal failing
example of each, written out literally. Defects found here and fixed since keep their
failing example as an @example(...).via("discovered failure; fixed in <commit>").
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from markdown_it import MarkdownIt

import strategies as S
from conftest import git, run

SCHEMA_VALIDATOR = Draft202012Validator(S.SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


# -- helpers ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A fresh folder outside any Git repository (so render writes no changelog)."""
    with tempfile.TemporaryDirectory(prefix="slakit-prop-") as tmp:
        yield Path(tmp)


def write(path: Path, data: Any, style: S.Style = S.DEFAULT) -> bytes:
    raw = S.to_yaml(data, style).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return raw


_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def file_lines(raw: bytes) -> list[str]:
    """The file's lines as YAML counts them (CR, LF, CRLF, NEL, LS, PS end a line)."""
    text = raw.decode("utf-8", errors="replace")
    return _BREAK.split(text[1:] if text.startswith("\ufeff") else text)


def validate_json(*paths: Path, strict: bool = False) -> tuple[int, dict[str, Any]]:
    """`validate --format json` through the CLI; it must not raise and must exit 0 or 1."""
    result = run("validate", "--format", "json", *(["--strict"] if strict else []), *map(str, paths))
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def assert_located(problem: dict[str, Any], raw: bytes) -> None:
    """A problem's line and column are inside the file."""
    lines_ = file_lines(raw)
    line, column = problem["line"], problem["column"]
    assert isinstance(line, int) and isinstance(column, int), problem
    assert 1 <= line <= len(lines_) + 1, (problem, len(lines_))
    assert column >= 1, problem
    if problem["rule"] != "encoding" and line <= len(lines_):
        assert column <= len(lines_[line - 1]) + 1, (problem, lines_[line - 1][:200])


def resolve(data: Any, pointer: str) -> bool:
    """Whether a JSON Pointer names a place in `data` (the empty pointer is the whole document)."""
    node = data
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


# -- validate: never raises, every problem located inside the file ------------------------------------


@settings(max_examples=S.examples(1.5))
@given(data=S.agreements(), style=S.styles, choice=st.data())
def test_validate_locates_every_problem_of_a_mutated_agreement(
    data: dict[str, Any], style: S.Style, choice: st.DataObject
) -> None:
    """validate exits 0/1 without a traceback; each problem is inside the file and its pointer
    names a place in the document; an invalid mutation is reported by the rule that owns it, where
    it was made; whatever the JSON Schema itself rejects, validate rejects too."""
    mutation = choice.draw(S.mutations(data))
    with workdir() as tmp:
        raw = write(tmp / "a.yaml", mutation.data, style)
        code, report = validate_json(tmp / "a.yaml")
    [result] = report["files"]
    assert result["ok"] == (code == 0)
    for problem in result["problems"]:
        assert_located(problem, raw)
        assert resolve(mutation.data, problem["pointer"]), problem
        assert "\n" not in problem["message"], problem
    errors = [p for p in result["problems"] if p["severity"] == "error"]
    if not SCHEMA_VALIDATOR.is_valid(mutation.data):
        assert errors, f"the schema rejects this {mutation.kind} mutation, validate accepts it"
    if mutation.rule:
        assert any(p["rule"] == mutation.rule for p in errors), (mutation.kind, errors)
    if mutation.at is not None:
        assert any(p["rule"] == mutation.rule and p["pointer"] == S.pointer(mutation.at) for p in errors), (
            mutation.kind,
            S.pointer(mutation.at),
            errors,
        )


@settings(max_examples=S.examples(1))
@given(data=S.agreements(), style=S.styles)
def test_every_generated_agreement_is_valid_and_reads_back(data: dict[str, Any], style: S.Style) -> None:
    """The generator's promise, checked through the CLI: the YAML loads back to the same data and
    validate finds no error (warnings such as an overdue review may remain)."""
    from slakit.world.load import load_bytes

    text = S.to_yaml(data, style)
    doc, problems = load_bytes(text.encode(), "a.yaml")
    assert doc is not None and doc.data == data, problems
    with workdir() as tmp:
        raw = write(tmp / "a.yaml", data, style)
        code, report = validate_json(tmp / "a.yaml")
    errors = [p for p in report["files"][0]["problems"] if p["severity"] == "error"]
    assert code == 0 and not errors, errors
    for problem in report["files"][0]["problems"]:
        assert_located(problem, raw)


WRONG_TYPES = st.sampled_from([["x"], {"a": 1}, 1.5, True])

# review_cadence: [annual]: found by this property (validate raised TypeError: unhashable type),
# fixed in 356f284 (tests/test_regressions.py::test_wrong_types_in_id_and_enum_fields_are_reported_not_raised).
_CADENCE_LIST = {
    "id": "x",
    "title": "X",
    "kind": "other",
    "status": "draft",
    "version": 1,
    "effective": "2026-01-01",
    "term": {"review_cadence": ["annual"]},
    "timezone": "UTC",
    "parties": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
    "commitments": [{"id": "c", "party": "a", "title": "C"}],
    "signoff": {"required": [{"id": "r", "role": "R", "party": "a"}]},
}


@settings(max_examples=S.examples(1.5))
@example(data=_CADENCE_LIST, choice=None, wrong=["annual"]).via("discovered failure; fixed in 356f284")
@given(data=S.agreements(small=True), choice=st.data(), wrong=WRONG_TYPES)
def test_validate_never_raises_on_values_of_the_wrong_type(data: dict[str, Any], choice: Any, wrong: Any) -> None:
    """Any value replaced by a list, a mapping, a number or true: validate reports it (exit 1) and
    never raises."""
    new = copy.deepcopy(data)
    if choice is not None:
        S.put(new, choice.draw(st.sampled_from(S.all_paths(new))), wrong)
    with workdir() as tmp:
        raw = write(tmp / "a.yaml", new)
        _code, report = validate_json(tmp / "a.yaml")
    for problem in report["files"][0]["problems"]:
        assert_located(problem, raw)


# -- render: every valid agreement renders; no markup from YAML; sections survive -------------------

ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "a",
    "header",
    "p",
    "h1",
    "h2",
    "h3",
    "dl",
    "div",
    "dt",
    "dd",
    "span",
    "time",
    "small",
    "nav",
    "ol",
    "ul",
    "li",
    "main",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "strong",
    "em",
    "code",
    "footer",
}
ALLOWED_ATTRIBUTES = {
    "role",
    "lang",
    "charset",
    "name",
    "content",
    "http-equiv",
    "class",
    "href",
    "id",
    "datetime",
    "aria-labelledby",
    "scope",
    "style",
}
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Unicode noncharacters: the HTML standard makes each a parse error ("noncharacter-in-input-stream").
NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
    + "]"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def shown(text: str) -> str:
    """Text from a file as the page shows it: control characters, bidirectional overrides and
    noncharacters made visible as U+FFFD, whitespace collapsed."""
    text = NONCHARACTER.sub("\ufffd", _BIDI.sub("\ufffd", text))
    if _CONTROL.search(text.replace("\n", "").replace("\t", "")):
        text = _CONTROL.sub("\ufffd", text)
    return " ".join(text.split())


def _duration_words(text: str) -> str:
    number, unit = re.match(r"^(\d+) (.+?)s?$", text).groups()  # type: ignore[union-attr]
    return f"{int(number):,} {unit}{'' if int(number) == 1 else 's'}"


def expected_headings(data: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    """(level, anchor, text) of every heading the agreement's page has, in order (README: the
    numbered sections in reading order, anchors #commitments-<party> and #commitment-<id>)."""
    out: list[tuple[int, str | None, str]] = []
    number = 0

    def section(title: str, anchor: str) -> None:
        nonlocal number
        number += 1
        out.append((2, anchor, f"{number}. {title}"))

    section("Parties and stakeholders", "parties")
    if data.get("stakeholders"):
        out.append((3, "stakeholders", "Stakeholders"))
    if data.get("definitions"):
        section("Definitions", "definitions")
    if data.get("goals"):
        section("Company goals", "goals")
    for party in data["parties"]:
        owed = [c for c in data["commitments"] if c["party"] == party["id"]]
        if owed:
            section(f"{shown(party['name'])} commitments", f"commitments-{party['id']}")
            out += [(3, f"commitment-{c['id']}", f"{number}.{i} {shown(c['title'])}") for i, c in enumerate(owed, 1)]
    if data.get("communication") or data.get("meetings"):
        section("Communication and meetings", "communication")
        out += [
            (3, f"meeting-{m['id']}", shown(m["title"]))
            for m in data.get("meetings", [])
            if m.get("purpose") or m.get("agenda")
        ]
    if data.get("conflict_resolution"):
        section("Conflict resolution", "conflict-resolution")
    if data.get("rewards"):
        section("Rewards", "rewards")
    if data.get("escalation") or data.get("penalties"):
        section("Escalation and penalties" if data.get("penalties") else "Escalation", "escalation")
        out += [
            (3, f"escalation-{s['id']}", f"After {_duration_words(s['after'])} of missed goals")
            for s in data.get("escalation", [])
        ]
        if data.get("penalties"):
            out.append((3, "penalties", "Penalties"))
    section("Term and review", "term")
    section("Sign-off", "sign-off")
    out.append((3, "signatures", "Recorded signatures"))
    out.append((2, "terms-digest", "Appendix: terms digest"))
    return out


_HEADING_ID = re.compile(r"\s*\{#([a-z0-9][a-z0-9-]*)\}\s*$")


def markdown_headings(markdown: str) -> list[tuple[int, str | None, str]]:
    """Headings of a Markdown file as a stock CommonMark parser reads them, with {#anchor} ids.
    Raw HTML is switched on here, so any HTML in the file would show up as html tokens."""
    tokens = MarkdownIt("commonmark", {"html": True}).parse(markdown)
    found = []
    for i, token in enumerate(tokens):
        assert token.type not in ("html_block", "html_inline"), token
        for child in token.children or []:
            assert child.type not in ("html_inline", "image", "link_open"), (child.type, child.content)
        if token.type == "heading_open":
            inline = tokens[i + 1]
            text = "".join(
                c.content if c.type in ("text", "code_inline", "text_special") else " " for c in inline.children or []
            )
            match = _HEADING_ID.search(inline.content)  # in the source: an escaped \\{#x\\} is text
            if match:
                text = _HEADING_ID.sub("", text)
            found.append((int(token.tag[1]), match.group(1) if match else None, " ".join(text.split())))
    return found


def check_page(page: str, data: dict[str, Any]) -> None:
    """The page parses as HTML without an error, holds no element or attribute that came from
    the YAML, and its headings are the agreement's sections with their anchors."""
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    ids = []
    for element in tree.iter():
        assert element.tag in ALLOWED_TAGS, f"<{element.tag}> in the page"
        for name, value in element.attrib.items():
            assert name in ALLOWED_ATTRIBUTES and not name.startswith("on"), (element.tag, name, value)
            if name == "href":
                assert value.startswith("#"), value
            if name == "style":
                assert re.fullmatch(r"text-align:(left|right|center)", value), value
            if name == "id":
                ids.append(value)
    assert len(ids) == len(set(ids)), "an id is used twice"
    assert {a.get("href")[1:] for a in tree.iter("a")} <= set(ids), "a link to an anchor that does not exist"
    expected = expected_headings(data)
    main = tree.find(".//main")
    headings = [
        (int(h.tag[1]), h.get("id"), " ".join("".join(h.itertext()).split()))
        for h in main.iter()
        if h.tag in ("h1", "h2", "h3")
    ]
    assert headings == expected[0:], (headings, expected)
    assert " ".join("".join(tree.find(".//h1").itertext()).split()) == shown(data["title"])
    assert " ".join((tree.find(".//title").text or "").split()) == shown(data["title"])
    toc = [a.get("href")[1:] for a in tree.find(".//nav").iter("a")]
    assert toc == [anchor for level, anchor, _ in expected], (toc, expected)


@settings(max_examples=S.examples(1))
@given(data=S.agreements(), style=S.styles)
def test_every_valid_agreement_renders_safely(data: dict[str, Any], style: S.Style) -> None:
    """render succeeds; the HTML parses (html5lib, strict) and holds nothing from the YAML as markup
    (hostile text is in every text field); the Markdown re-parses to the same sections, anchors and
    titles, with no raw HTML, link or image in it."""
    with workdir() as tmp:
        write(tmp / "sla" / "a.yaml", data, style)
        result = run("render", "sla", "--out", "out", cwd=tmp)
        assert result.exit_code == 0, result.output
        markdown = (tmp / "out" / f"{data['id']}.md").read_text(encoding="utf-8")
        page = (tmp / "out" / f"{data['id']}.html").read_text(encoding="utf-8")
        index = (tmp / "out" / "index.html").read_text(encoding="utf-8")
    check_page(page, data)
    headings = markdown_headings(markdown)
    assert headings[0] == (1, None, shown(data["title"]))
    # GitHub-flavoured: the same headings, without {#anchor} attributes (GitHub makes its own).
    assert headings[1:] == [(level, None, text) for level, _, text in expected_headings(data)]
    index_tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(index)
    assert not {e.tag for e in index_tree.iter()} & (S.MARKER_TAGS - {"script"})
    assert len(list(index_tree.iter("script"))) == 1  # the template's own
    assert not {name for e in index_tree.iter() for name in e.attrib} & {"onerror", "onload", "data-x", "src"}


def render_one(data: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
    """Render one agreement; the exit code, the output, and the files written (by name)."""
    with workdir() as tmp:
        write(tmp / "sla" / "a.yaml", data)
        result = run("render", "sla", "--out", "out", cwd=tmp)
        files = (
            {p.name: p.read_text(encoding="utf-8") for p in (tmp / "out").glob("*.*")} if result.exit_code == 0 else {}
        )
    return result.exit_code, result.output, files


def _minimal(**changes: Any) -> dict[str, Any]:
    data = {
        "id": "x",
        "title": "X",
        "kind": "other",
        "status": "draft",
        "version": 1,
        "effective": "2026-01-01",
        "term": {"review_cadence": "annual"},
        "timezone": "UTC",
        "parties": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
        "commitments": [{"id": "c", "party": "a", "title": "C"}],
        "signoff": {"required": [{"id": "r", "role": "R", "party": "a"}]},
    }
    data.update(changes)
    return data


@settings(max_examples=S.examples(0.25))
@example(
    data=_minimal(
        meetings=[
            {"id": "sync", "title": "Sync", "cadence": "weekly", "duration": "30 minutes", "attendees": ["a", "b"]}
        ]
    ),
    title="Sync",
    empty=False,
).via("discovered failure; fixed in 773dc7e")
@given(data=S.agreements(small=True, status="draft"), title=S.lines(), empty=st.booleans())
def test_agreement_with_meetings_but_no_communication_renders(data: dict[str, Any], title: str, empty: bool) -> None:
    """Found by test_every_valid_agreement_renders_safely (UndefinedError in communication.md.j2),
    fixed in 773dc7e: meetings with no communication block, or an empty one."""
    data = {k: v for k, v in data.items() if k != "communication"}
    if not data.get("meetings"):
        data["meetings"] = [
            {
                "id": "sync",
                "title": title,
                "cadence": "weekly",
                "duration": "30 minutes",
                "attendees": [data["parties"][0]["id"]],
            }
        ]
    if empty:
        data["communication"] = {}
    code, output, files = render_one(data)
    assert code == 0, output
    check_page(files[f"{data['id']}.html"], data)


@settings(max_examples=S.examples(0.25))
@example(title="Lead \ufdd0 management").via("discovered failure; fixed in 773dc7e")
@given(title=st.tuples(st.sampled_from(S.NAME_WORDS), st.text(min_size=1, max_size=5)).map(" ".join).map(S._fix_line))
def test_pages_are_valid_html_whatever_the_text(title: str) -> None:
    """Found by test_every_valid_agreement_renders_safely: Unicode noncharacters reached the page
    raw (html5lib: 'Invalid codepoint in stream'); fixed in 773dc7e."""
    data = _minimal(title=title)
    code, output, files = render_one(data)
    assert code == 0, output
    check_page(files["x.html"], data)


@settings(max_examples=S.examples(0.25))
@example(title="Invoice \u202efdp.exe").via("discovered failure; fixed in 773dc7e")
@given(title=S.lines())
def test_index_shows_titles_as_the_pages_do(title: str) -> None:
    """Found by test_every_valid_agreement_renders_safely: the index printed titles raw (control
    characters, U+202E) where the pages show U+FFFD; fixed in 773dc7e."""
    code, output, files = render_one(_minimal(title=title))
    assert code == 0, output
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(files["index.html"])
    [link] = [a for a in tree.iter("a") if a.get("href") == "x.html"]
    assert " ".join("".join(link.itertext()).split()) == shown(title)
    assert not _BIDI.search(files["index.md"]) and not _CONTROL.search(files["index.md"].replace("\n", ""))


# -- diff: empty for the same agreement, symmetric, blind to order and formatting -------------------


def diff_json(old: Path, new: Path, *extra: str) -> dict[str, Any]:
    result = run("diff", "--files", str(old), str(new), "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    [agreement] = json.loads(result.stdout)["agreements"]
    return agreement


@settings(max_examples=S.examples(1))
@given(data=S.agreements(), style=S.styles, other=S.styles, seed=st.integers(0, 2**32))
def test_diff_ignores_order_and_formatting(data: dict[str, Any], style: S.Style, other: S.Style, seed: int) -> None:
    """diff(a, a) is empty, and so is diff(a, a') where a' has every id-keyed list shuffled and is
    written in another YAML style; with --show-moves the only changes are moves."""
    with workdir() as tmp:
        write(tmp / "a.yaml", data, style)
        write(tmp / "b.yaml", S.reorder_keyed(data, seed), other)
        same = diff_json(tmp / "a.yaml", tmp / "a.yaml")
        shuffled = diff_json(tmp / "a.yaml", tmp / "b.yaml")
        moves = diff_json(tmp / "a.yaml", tmp / "b.yaml", "--show-moves")
    assert same["status"] == "unchanged" and same["changes"] == [], same
    assert shuffled["status"] == "unchanged" and shuffled["changes"] == [], shuffled
    assert {c["op"] for c in moves["changes"]} <= {"moved"}, moves["changes"]


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _item_key(item: Any, index: int) -> tuple[str, Any]:
    if isinstance(item, dict) and "id" in item:
        return ("id", item["id"])
    if isinstance(item, dict) and "name" in item:
        return ("name", item["name"])
    if not isinstance(item, (dict, list)):
        return ("value", json.dumps(item))
    return ("index", index)


def _find(node: Any, key: tuple[str, Any], index: int) -> Any:
    if not isinstance(node, list):
        return None
    kind, value = key
    for item in node:
        if kind in ("id", "name") and isinstance(item, dict) and item.get(kind) == value:
            return item
        if kind == "value" and not isinstance(item, (dict, list)) and json.dumps(item) == value:
            return item
    return node[index] if kind == "index" and index < len(node) else None


def semantic_path(pointer: str, op: str, old: Any, new: Any) -> tuple[Any, ...]:
    """A change's place with list positions replaced by the items' ids, so the same place has the
    same name in both directions. The pointer's indexes are the new version's, except the last one
    of a removal, which is the old version's."""
    out: list[Any] = []
    a, b = old, new
    tokens = _tokens(pointer)
    for n, token in enumerate(tokens):
        side = a if (n == len(tokens) - 1 and op == "removed") else b
        if isinstance(side, list) and token.isdigit():
            index = int(token)
            key = _item_key(side[index], index)
            out.append(key)
            a, b = _find(a, key, index), _find(b, key, index)
        else:
            out.append(token)
            a = a.get(token) if isinstance(a, dict) else None
            b = b.get(token) if isinstance(b, dict) else None
    return tuple(out)


_SWAP = {
    "added": "removed",
    "removed": "added",
    "changed": "changed",
    "stricter": "looser",
    "looser": "stricter",
    None: None,
}


def _is_signature_state(change: dict[str, Any]) -> bool:
    return change["pointer"].endswith("/terms") and {change["old"], change["new"]} == {"current", "stale"}


def normalised(changes: list[dict[str, Any]], old: Any, new: Any, reverse: bool, context: bool) -> Counter:
    out: Counter = Counter()
    for c in changes:
        path = semantic_path(c["pointer"], c["op"], old, new)
        op, before, after, effect = c["op"], c["old"], c["new"], c["effect"]
        if reverse:
            op, before, after, effect = _SWAP[op], after, before, _SWAP[effect]
        key: tuple[Any, ...] = (path, op, json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True))
        if context:
            key += (effect, c["party"])
        out[key] += 1
    return out


@settings(max_examples=S.examples(1))
@given(data=S.agreements(), choice=st.data(), style=S.styles, other=S.styles)
def test_diff_backwards_is_the_inverse_of_diff_forwards(
    data: dict[str, Any], choice: st.DataObject, style: S.Style, other: S.Style
) -> None:
    """diff(b, a) is diff(a, b) inverted: added <-> removed, old and new swapped, stricter <-> looser,
    for the same party (revisions that keep each commitment's party and each target's direction),
    signature states included (current -> stale one way, stale -> current the other)."""
    revised = choice.draw(S.revisions(data))
    with workdir() as tmp:
        write(tmp / "a.yaml", data, style)
        write(tmp / "b.yaml", revised, other)
        forward = diff_json(tmp / "a.yaml", tmp / "b.yaml")
        backward = diff_json(tmp / "b.yaml", tmp / "a.yaml")
    assert normalised(forward["changes"], data, revised, True, True) == normalised(
        backward["changes"], revised, data, False, True
    )
    assert (forward["status"] == "unchanged") == (backward["status"] == "unchanged")


@settings(max_examples=S.examples(0.5))
@given(a=S.agreements(small=True), b=S.agreements(small=True))
def test_diff_of_two_unrelated_agreements_inverts(a: dict[str, Any], b: dict[str, Any]) -> None:
    """The inverse holds for any two agreements compared as versions of one (diff --files), as far
    as places, operations and values go (effects are judged in each new version's own context)."""
    with workdir() as tmp:
        write(tmp / "a.yaml", a)
        write(tmp / "b.yaml", b)
        forward = diff_json(tmp / "a.yaml", tmp / "b.yaml")
        backward = diff_json(tmp / "b.yaml", tmp / "a.yaml")
    # --files compares the two as one agreement: the old side takes the new side's id.
    a_as_b, b_as_a = {**a, "id": b["id"]}, {**b, "id": a["id"]}
    assert normalised(forward["changes"], a_as_b, b, True, False) == normalised(
        backward["changes"], b_as_a, a, False, False
    )


# Found by this property (diff reported current -> stale, never stale -> current), fixed in 356f284
# (tests/test_regressions.py::test_reverting_terms_makes_a_stale_signature_current_again).
def _signed_draft() -> tuple[dict[str, Any], dict[str, Any]]:
    from slakit.model.terms import terms_digest

    old = copy.deepcopy(_CADENCE_LIST)
    old["term"] = {"review_cadence": "annual"}
    old["signoff"] = {"everyone": True, "required": [{"id": "r", "role": "R", "party": "a"}]}
    old["signoff"]["signatures"] = [
        {"name": "Sam", "role": "R", "party": "a", "date": "2026-01-02", "terms": terms_digest(old)}
    ]
    new = copy.deepcopy(old)
    new["commitments"][0]["title"] = "C2"
    return old, new


@settings(max_examples=S.examples(0.5))
@example(pair=_signed_draft()).via("discovered failure; fixed in 356f284")
@given(pair=S.agreements(status="draft").flatmap(lambda a: st.tuples(st.just(a), S.revisions(a))))
def test_diff_reports_signatures_made_current_again(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Whatever diff(a, b) says about a signature's state (current -> stale), diff(b, a) says the
    inverse (stale -> current)."""
    a, b = pair
    with workdir() as tmp:
        write(tmp / "a.yaml", a)
        write(tmp / "b.yaml", b)
        forward = [c for c in diff_json(tmp / "a.yaml", tmp / "b.yaml")["changes"] if _is_signature_state(c)]
        backward = [c for c in diff_json(tmp / "b.yaml", tmp / "a.yaml")["changes"] if _is_signature_state(c)]
    assert sorted((c["label"], c["new"], c["old"]) for c in forward) == sorted(
        (c["label"], c["old"], c["new"]) for c in backward
    )


DIFF_FORMATS = ("text", "json", "md", "html")


@settings(max_examples=S.examples(0.5))
@given(data=S.agreements(small=True), choice=st.data())
def test_diff_against_a_mutation_never_raises_in_any_format(data: dict[str, Any], choice: st.DataObject) -> None:
    """README: a revision that breaks rules is still compared, one that breaks the schema is
    `broken`. The diff of a valid revision against any mutation of it, in every format, exits 1
    exactly when validate rejects the mutation, names each problem at its place, and never raises
    nor blames a template: a redline that cannot be rendered is said to be missing. The changelog
    of the two revisions, in every format, is written (exit 0) and lists the mutation's commit."""
    mutation = choice.draw(S.mutations(data))
    with workdir() as tmp:
        repo = tmp / "repo"
        write(repo / "sla" / "a.yaml", data)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "valid")
        write(repo / "sla" / "a.yaml", mutation.data)
        git(repo, "commit", "-qam", "mutated")
        invalid = run("validate", "sla/a.yaml", cwd=repo).exit_code != 0
        results = {fmt: run("diff", "HEAD~1", "HEAD", "--format", fmt, cwd=repo) for fmt in DIFF_FORMATS}
        # The changelog reads the same two revisions: a log, whatever they hold.
        for fmt in DIFF_FORMATS:
            logged = run("changelog", "--format", fmt, "--no-cache", cwd=repo)
            assert logged.exit_code == 0 and "error[template]" not in logged.output, (fmt, logged.output)
            assert "mutated" in logged.stdout, fmt
    for fmt, result in results.items():
        assert result.exit_code == (1 if invalid else 0), (fmt, result.output)
        assert "error[template]" not in result.output, (fmt, result.output)
    [agreement] = json.loads(results["json"].stdout)["agreements"]
    problems = agreement.get("problems", [])
    assert bool(problems) == invalid, problems
    assert all(p["path"] == "HEAD:sla/a.yaml" and p["severity"] == "error" for p in problems), problems
    for p in problems:
        where = f"HEAD:sla/a.yaml:{p['line']}:{p['column']}: error[{p['rule']}]:"
        assert "  " + where in results["text"].stdout, where
        assert "- `" + where in results["md"].stdout, where
        assert "<li><code>" + where in results["html"].stdout, where
    for fmt in ("md", "html"):
        missing = "No redline: the text of HEAD (" in results[fmt].stdout
        # Only a version that breaks rules may lack its redline; a broken one has none to lack.
        assert not missing or (invalid and agreement["status"] != "broken"), (fmt, agreement["status"])


# -- changelog: the concatenation of the diffs of consecutive revisions -----------------------------


@st.composite
def histories(draw: Any) -> list[tuple[dict[str, Any], S.Style]]:
    """An agreement and two to four later versions (some only reformatted), each with its style."""
    data = draw(S.agreements(small=True))
    versions = [(data, draw(S.styles))]
    for _ in range(draw(st.integers(2, 4))):
        previous = versions[-1][0]
        following = previous if draw(st.integers(0, 3)) == 0 else draw(S.revisions(previous))
        versions.append((following, draw(S.styles)))
    return versions


@settings(max_examples=S.examples(0.25))
@given(versions=histories())
def test_changelog_is_the_diffs_of_consecutive_revisions(versions: list[tuple[dict[str, Any], S.Style]]) -> None:
    """Build a real repository, one commit per version; every commit in `changelog --format json`
    carries exactly the changes of `diff PREVIOUS COMMIT --format json`, in order."""
    with workdir() as tmp:
        repo = tmp / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        shas = []
        for i, (data, style) in enumerate(versions):
            write(repo / "sla" / "agreement.yaml", data, style)
            git(repo, "add", "-A")
            when = f"2026-0{1 + i}-1{i}T10:00:00+00:00"
            git(
                repo,
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                f"revision {i}",
                env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when},
            )
            shas.append(git(repo, "rev-parse", "HEAD").strip())
        log = run("changelog", "--format", "json", cwd=repo)
        assert log.exit_code == 0, log.output
        commits = {
            c["sha"]: c for q in json.loads(log.stdout)["quarters"] for a in q["agreements"] for c in a["commits"]
        }
        diffs = []
        for before, after in itertools.pairwise(shas):
            result = run("diff", before, after, "--format", "json", cwd=repo)
            assert result.exit_code == 0, result.output
            diffs.append(json.loads(result.stdout)["agreements"])
    assert commits[shas[0]]["kind"] == "added"
    for sha, agreements in zip(shas[1:], diffs):
        if sha not in commits:  # a commit that changed nothing in sla/ (same bytes) is not listed
            assert all(a["status"] == "unchanged" for a in agreements)
            continue
        [agreement] = agreements
        entry = commits[sha]
        assert entry["changes"] == agreement["changes"], sha
        assert entry["kind"] == {"changed": "changed", "unchanged": "no-change"}[agreement["status"]]
        assert entry["problems"] == []


_TERM_LIST = S.to_yaml(_minimal(term=[1])).encode()


@st.composite
def broken_histories(draw: Any) -> list[bytes]:
    """An agreement's revisions as committed, some invalid (a mutation), some not YAML at all."""
    data = draw(S.agreements(small=True, status="draft"))
    versions = [S.to_yaml(data).encode()]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["mutation", "mutation", "garbage", "revision"]))
        if kind == "mutation":
            versions.append(S.to_yaml(draw(S.mutations(data)).data, draw(S.styles)).encode())
        elif kind == "garbage":
            versions.append(draw(st.sampled_from([b"id: [\n", b"\xff\xfe", b"", b"- a\n- b\n", b"id: x\n"])))
        else:
            data = draw(S.revisions(data))
            versions.append(S.to_yaml(data).encode())
    return versions


@settings(max_examples=S.examples(0.25))
@example(versions=[S.to_yaml(_minimal()).encode(), _TERM_LIST]).via("discovered failure")
@given(versions=broken_histories())
def test_changelog_lists_broken_revisions_and_never_raises(versions: list[bytes]) -> None:
    """README: 'A revision that does not parse is listed with its messages, and the thread resumes
    at the next good revision.' Whatever was committed, changelog exits 0 and lists each commit."""
    with workdir() as tmp:
        repo = tmp / "repo"
        (repo / "sla").mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        for i, raw in enumerate(versions):
            (repo / "sla" / "agreement.yaml").write_bytes(raw)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "--allow-empty", "-m", f"revision {i}")
        result = run("changelog", "--format", "json", cwd=repo)
    assert result.exit_code == 0, result.output
    kinds = [c["kind"] for q in json.loads(result.stdout)["quarters"] for a in q["agreements"] for c in a["commits"]]
    assert set(kinds) <= {"added", "changed", "renamed", "removed", "no-change", "broken"}


@settings(max_examples=S.examples(0.5))
@given(data=S.agreements(small=True), choice=st.data())
def test_status_never_raises(data: dict[str, Any], choice: st.DataObject) -> None:
    """`status` over a folder of one valid and one mutated agreement: a table, and exit 1
    exactly when an agreement is invalid (as `validate` judges it)."""
    mutation = choice.draw(S.mutations(data))
    with workdir() as tmp:
        write(tmp / "sla" / "a.yaml", data)
        write(tmp / "sla" / "b.yaml", mutation.data)
        invalid = run("validate", "sla", cwd=tmp).exit_code != 0
        for fmt in ("text", "json"):
            result = run("status", "--format", fmt, cwd=tmp)
            assert result.exit_code == (1 if invalid else 0), result.output
            assert "Traceback" not in result.output


# -- sign: a signature survives reformatting, and goes stale when a term changes --------------------

TERM_EDITS = ["commitment-title", "timezone", "summary", "party-name", "definition"]
NON_TERM_EDITS = ["status", "version", "last-review"]


def _edit(data: dict[str, Any], edit: str) -> dict[str, Any]:
    new = copy.deepcopy(data)
    if edit == "commitment-title":
        new["commitments"][0]["title"] = S._fix_line(new["commitments"][0]["title"] + " (revised)")
        if new["commitments"][0]["title"] == data["commitments"][0]["title"]:
            new["commitments"][0]["title"] = "Revised commitment"
    elif edit == "timezone":
        new["timezone"] = next(z for z in S.TIMEZONES if z != data["timezone"])
    elif edit == "summary":
        new["summary"] = "A new purpose." if data.get("summary") != "A new purpose." else "Another purpose."
    elif edit == "party-name":
        new["parties"][0]["name"] = "Renamed team" if data["parties"][0]["name"] != "Renamed team" else "Other team"
    elif edit == "definition":
        new.setdefault("definitions", []).append({"id": "zz-new-term", "term": "New term", "meaning": "Something."})
    elif edit == "status":
        new["status"] = "retired" if data["status"] != "retired" else "draft"
    elif edit == "version":
        new["version"] = "v-next"
    elif edit == "last-review":
        new["term"] = {k: v for k, v in data["term"].items() if k not in ("last_review", "next_review")}
    return new


@st.composite
def signings(draw: Any, again: bool = False) -> tuple[dict[str, Any], str, str, str | None]:
    """An agreement, and someone who may sign it: a stakeholder in their own role, or (with
    `everyone: true`) a member of a party named nowhere else, in a required signer's role. With
    `again`, also people who already signed (in another role: test_sign_never_leaves_an_invalid_file)."""
    data = draw(S.agreements(status=draw(st.sampled_from(["draft", "active"]))))
    everyone = data["signoff"].get("everyone") is True
    people = data.get("stakeholders", [])
    signed = {s["name"] for s in data["signoff"].get("signatures", [])}
    candidates = [("stakeholder", p) for p in people if again or p["name"] not in signed]
    if everyone:
        candidates.append(("outsider", None))
    assume(candidates)
    kind, person = draw(st.sampled_from(candidates))
    if kind == "stakeholder":
        party = person["party"] if draw(st.booleans()) else None
        return data, person["name"], person["role"], party
    signer = draw(st.sampled_from(data["signoff"]["required"]))
    party = next(p for p in data["parties"] if p["id"] == signer["party"])
    member = {"name": "Ada Outsider-Lovelace", "email": "ada@example.com", "role": signer["role"]}
    party["members"] = [*party.get("members", []), member]  # only listed people sign
    return data, "Ada Outsider-Lovelace", signer["role"], signer["party"]


def _signature_current(path: Path, name: str) -> bool:
    from slakit.model.terms import signature_state
    from slakit.world.load import load_bytes

    doc, problems = load_bytes(path.read_bytes(), str(path))
    assert doc is not None, problems
    [state] = [s for s in signature_state(doc.data).signatures if s.name == name]
    return state.current


@settings(max_examples=S.examples(1))
@given(
    signing=signings(),
    style=S.styles.filter(lambda s: not s.flow),
    other=S.styles,
    term_edit=st.sampled_from(TERM_EDITS),
    other_edit=st.sampled_from(NON_TERM_EDITS),
    seed=st.integers(0, 2**32),
)
def test_signature_survives_reformatting_and_goes_stale_when_terms_change(
    signing: tuple[dict[str, Any], str, str, str | None],
    style: S.Style,
    other: S.Style,
    term_edit: str,
    other_edit: str,
    seed: int,
) -> None:
    """sign adds a current signature and only its lines; the file still validates. Rewritten in
    another style with every id-keyed list shuffled, or with only non-terms changed (status,
    version, review dates), the signature stays current; after a change of terms it is stale and
    validate says so."""
    from slakit.world.load import load_bytes

    data, name, role, party = signing
    # signed on the day it took effect or later (a signature may not predate the agreement), by today
    day = max(data["effective"], "2026-11-01")
    assume(day <= S.TODAY.isoformat())
    with workdir() as tmp:
        path = tmp / "a.yaml"
        before = write(path, data, style)
        args = ["sign", str(path), "--name", name, "--role", role, "--date", day]
        result = run(*args, *(["--party", party] if party else []))
        assert result.exit_code == 0, result.output
        after = path.read_bytes()
        old_lines = before.decode().splitlines()
        new_lines = after.decode().splitlines()
        kept = iter(new_lines)
        assert all(
            any(line == other_line for other_line in kept)
            for line in old_lines
            if not line.lstrip().startswith("signatures:")
        ), "sign changed a line it did not own"
        assert _signature_current(path, name)
        _code, report = validate_json(path)
        errors = [
            p
            for p in report["files"][0]["problems"]
            if p["severity"] == "error" and p["rule"] not in ("signature", "signoff")
        ]
        assert not errors, errors
        signed = load_bytes(after, "a.yaml")[0].data  # type: ignore[union-attr]

        write(path, S.reorder_keyed(signed, seed), other)
        assert _signature_current(path, name)
        write(path, _edit(signed, other_edit), other)
        assert _signature_current(path, name)

        changed = _edit(signed, term_edit)
        write(path, changed, style)
        assert not _signature_current(path, name)
        if changed["status"] != "retired":
            _code, report = validate_json(path)
            index = [s["name"] for s in changed["signoff"]["signatures"]].index(name)
            stale = [
                p
                for p in report["files"][0]["problems"]
                if p["rule"] == "signoff" and p["pointer"] == f"/signoff/signatures/{index}/terms"
            ]
            assert stale and "signed earlier terms" in stale[0]["message"], report


# -- render: a failed build never modifies the output folder -----------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]] | None:
    if not folder.exists():
        return None
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@settings(max_examples=S.examples(0.5))
@given(
    data=S.agreements(small=True),
    other=S.agreements(small=True),
    choice=st.data(),
    prior=st.sampled_from(["built", "empty", "missing", "foreign"]),
)
def test_failed_build_leaves_the_output_folder_alone(
    data: dict[str, Any], other: dict[str, Any], choice: st.DataObject, prior: str
) -> None:
    """With one invalid agreement among valid ones (or warnings under --strict), render exits 1 and
    the output folder is exactly as before: same files, bytes and modification times (or absent)."""
    from slakit.checking.validate import check_source
    from slakit.world.load import load_bytes

    assume(other["id"] != data["id"])
    mutation = choice.draw(S.mutations(data))
    checked = check_source(load_bytes(S.to_yaml(mutation.data).encode(), "a.yaml"), "a.yaml", S.TODAY, {})
    strict = checked.ok
    assume(not checked.ok or any(p.severity == "warning" for p in checked.problems))
    with workdir() as tmp:
        write(tmp / "sla" / "a.yaml", data)
        write(tmp / "sla" / "b.yaml", other)
        out = tmp / "out"
        if prior == "built":
            assert run("render", "sla", "--out", "out", cwd=tmp).exit_code == 0
        elif prior in ("empty", "foreign"):
            out.mkdir()
            if prior == "foreign":
                (out / "notes.txt").write_text("mine")
                (out / "a.html").write_text("<p>older page</p>")
        before = snapshot(out)
        write(tmp / "sla" / "a.yaml", mutation.data)
        result = run("render", "sla", "--out", "out", *(["--strict"] if strict else []), cwd=tmp)
        assert result.exit_code == 1, result.output
        assert snapshot(out) == before


def _sign_and_validate(
    data: dict[str, Any], name: str, role: str, party: str | None
) -> tuple[Any, list[dict[str, Any]]]:
    with workdir() as tmp:
        path = tmp / "a.yaml"
        write(path, data)
        result = run(
            "sign",
            str(path),
            "--name",
            name,
            "--role",
            role,
            "--date",
            "2026-11-01",
            *(["--party", party] if party else []),
        )
        _code, report = validate_json(path)
    errors = [p for p in report["files"][0]["problems"] if p["severity"] == "error" and p["rule"] != "signature"]
    return result, errors


_SIGNED_ONCE = _minimal(stakeholders=[{"id": "sam", "name": "Sam Lee", "role": "Head of Marketing", "party": "a"}])
_SIGNED_ONCE["signoff"] = {
    "required": [
        {"id": "r", "role": "Head of Marketing", "party": "a"},
        {"id": "s", "role": "Budget owner", "party": "a"},
    ],
    "signatures": [
        {
            "name": "Sam Lee",
            "role": "Head of Marketing",
            "party": "a",
            "date": "2026-01-02",
            "terms": "sha256:" + "0" * 64,
        }
    ],
}


@settings(max_examples=S.examples(0.5))
@example(signing=(_SIGNED_ONCE, "Sam Lee", "Budget owner", "a")).via("discovered failure; fixed in 773dc7e")
@given(signing=signings(again=True))
def test_sign_never_leaves_an_invalid_file(signing: tuple[dict[str, Any], str, str, str | None]) -> None:
    """Whoever signs, a successful sign leaves a file without errors (other than missing signatures).
    Found: a person who had signed in one role and signed in another got a second signature with the
    same name (error[unique]); fixed in 773dc7e (one signature per person)."""
    data, name, role, party = signing
    result, errors = _sign_and_validate(data, name, role, party)
    assert result.exit_code in (0, 2), result.output
    assert not (result.exit_code == 0 and errors), errors


@settings(max_examples=S.examples(0.5))
@example(party="2026", role="Head of Marketing").via("discovered failure; fixed in 8e5699f")
@example(party="a", role="Head of Marketing\x7f").via("discovered failure; fixed in 773dc7e")
@given(
    party=S.slugs,
    role=st.builds(
        lambda a, c, b: S._fix_line(a + c + b)[-200:],
        S.lines(),
        st.sampled_from(["", "\x7f", "\x85", "\x9b", "\ufffe"]),
        st.sampled_from(["", " team"]),
    ),
)
def test_sign_accepts_every_signer_validate_accepts(party: str, role: str) -> None:
    """Found by test_signature_survives_reformatting_and_goes_stale_when_terms_change. Names and
    roles with DEL, C1 controls or U+FFFE were refused too (json.dumps left them raw): fixed in 773dc7e."""
    data = _minimal(
        stakeholders=[{"id": "sam", "name": "Sam Lee", "role": role, "party": party}],
        parties=[{"id": party, "name": "A"}, {"id": party + "-other", "name": "B"}],
        commitments=[{"id": "c", "party": party, "title": "C"}],
    )
    data["signoff"] = {"required": [{"id": "r", "role": role, "party": party}]}
    result, errors = _sign_and_validate(data, "Sam Lee", role, party)
    assert result.exit_code == 0, result.output
    assert not errors


def _unsafe(ch: str) -> bool:
    """A character no page, terminal or report shows as itself (worked out from the code
    points: C0 and C1 controls but tab and line feed, line and paragraph separators,
    bidirectional overrides and isolates, noncharacters)."""
    code = ord(ch)
    return (
        (code < 0x20 and ch not in "\t\n")
        or 0x7F <= code <= 0x9F
        or code in (0x2028, 0x2029)
        or 0x202A <= code <= 0x202E
        or 0x2066 <= code <= 0x2069
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
    )


_AWKWARD = "\t\n\r\x00\x1b\x7f\x85\x9f\u2028\u2029\u202a\u202e\u2066\u2069\ufdd0\ufdef\ufffe\uffff\U0001fffe\U0010ffff"


@given(st.text(st.one_of(st.characters(codec="ascii"), st.sampled_from(_AWKWARD), st.characters())))
@example("plain ASCII text, printable only")
@example("two\nlines\tand a tab")
def test_clean_text_replaces_exactly_the_unsafe_characters(text: str) -> None:
    """clean_text's shortcut for printable ASCII text must agree with the character rule."""
    from slakit.world.text import clean_text

    assert clean_text(text) == "".join("\ufffd" if _unsafe(ch) else ch for ch in text)
