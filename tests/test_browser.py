"""The published HTML in a real browser: headless Chromium, driven over the DevTools Protocol.

The site is built for real (`python cli.py render sla --out DIR`) and every page is opened
from disk as a file:// URL. A page must load without console errors, uncaught exceptions,
error-level log entries or failed requests; it must make no request outside the output
folder; it must have the structure assistive technology relies on (a language, a title, one
<h1>, a <main> landmark, headings that never skip a level, header cells in every table,
unique ids, in-page links that land somewhere, images with alt text); and it must print to
PDF on A4 and Letter paper. A separate test renders an agreement full of hostile text and
checks that none of it becomes markup or runs.

One Chromium serves the whole module (see tests/browser.py); the module is skipped when
Chromium is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from browser import Browser, Page, find_chromium, pdf_page_count
from conftest import ROOT, run_process

if not find_chromium():
    pytest.skip("chromium not installed (apt-get install chromium); .ci/run installs it", allow_module_level=True)

MINIMAL = ROOT / "tests" / "cases" / "valid" / "minimal.yaml"


def agreement_ids(folder: Path) -> list[str]:
    """The `id:` of every agreement in `folder` (the name of its page)."""
    ids = []
    for path in sorted(folder.glob("*.yaml")):
        match = re.search(r"^id:\s*['\"]?([a-z0-9-]+)", path.read_text(encoding="utf-8"), re.MULTILINE)
        assert match, f"{path} has no top-level id"
        ids.append(match.group(1))
    return ids


PAGES = [f"{id_}.html" for id_ in agreement_ids(ROOT / "sla")] + ["index.html"]


def render(sla: Path | str, out: Path) -> Path:
    """`python cli.py render SLA --out OUT` from the repository root; returns OUT."""
    result = run_process("render", str(sla), "--out", str(out))
    assert result.returncode == 0, f"render exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return out


# -- checks: each returns a list of problems, one readable line each -------------------------


def settle(page: Page) -> None:
    """Let timers and the next two frames run, so late console errors are recorded too."""
    page.evaluate("new Promise(r => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 50))")


def load_problems(page: Page, out_dir: Path) -> list[str]:
    """Console errors, uncaught exceptions, error log entries, failed requests, dialogs, and
    every request that is not a data: URL or a file inside `out_dir`."""
    settle(page)
    problems = page.problems()
    root = out_dir.resolve()
    for url in page.requests:
        parsed = urlparse(url)
        if parsed.scheme == "data":
            continue
        if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
            if Path(unquote(parsed.path)).resolve().is_relative_to(root):
                continue
            problems.append(f"request for a file outside the output folder: {url}")
        else:
            problems.append(f"external request: {url}")
    return problems


STRUCTURE_JS = r"""
(() => {
  const text = el => (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 80);
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) ids[el.id] = (ids[el.id] || 0) + 1;
  return {
    lang: document.documentElement.getAttribute("lang"),
    title: document.title,
    h1: [...document.querySelectorAll("h1")].map(text),
    main: document.querySelectorAll("main").length,
    headings: [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
      .map(h => ({level: Number(h.tagName[1]), text: text(h)})),
    tablesWithoutTh: [...document.querySelectorAll("table")]
      .map((t, i) => ({index: i + 1, th: t.querySelectorAll("th").length,
                       caption: t.caption ? text(t.caption) : text(t).slice(0, 50)}))
      .filter(t => t.th === 0),
    duplicateIds: Object.keys(ids).filter(k => ids[k] > 1),
    brokenAnchors: [...document.querySelectorAll('a[href^="#"]')]
      .map(a => decodeURIComponent(a.getAttribute("href").slice(1)))
      .filter(id => id && !document.getElementById(id)),
    imagesWithoutAlt: [...document.querySelectorAll("img:not([alt])")].map(i => i.getAttribute("src")),
  };
})()
"""


def structure_problems(page: Page) -> list[str]:
    s = page.evaluate(STRUCTURE_JS)
    problems = []
    if not (s["lang"] or "").strip():
        problems.append("<html> has no lang attribute")
    if not s["title"].strip():
        problems.append("the document has no <title>")
    if len(s["h1"]) != 1:
        problems.append(f"expected exactly one <h1>, found {len(s['h1'])}: {s['h1']}")
    if s["main"] != 1:
        problems.append(f"expected exactly one <main> landmark, found {s['main']}")
    previous = 0
    for h in s["headings"]:
        if h["level"] > previous + 1:
            after = f"after an h{previous}" if previous else "as the first heading"
            problems.append(f"heading level skipped: h{h['level']} {h['text']!r} {after}")
        previous = h["level"]
    problems += [f"table {t['index']} ({t['caption']!r}) has no <th> header cells" for t in s["tablesWithoutTh"]]
    problems += [f"id {i!r} is used more than once" for i in s["duplicateIds"]]
    problems += [f"in-page link to #{i} has no target" for i in s["brokenAnchors"]]
    problems += [f"<img src={src!r}> has no alt attribute" for src in s["imagesWithoutAlt"]]
    return problems


def pdf_problems(page: Page, paper: str) -> list[str]:
    pdf = page.print_pdf(paper=paper)
    if not pdf.startswith(b"%PDF-"):
        return [f"{paper}: printToPDF did not return a PDF (starts with {pdf[:16]!r})"]
    if pdf_page_count(pdf) < 1:
        return [f"{paper}: the PDF has no pages"]
    return []


# Every word in a name or a header: a word is what lies between the places a line may break
# (spaces, hyphens, dashes, slashes). One that spans two line boxes was split mid-word.
SPLIT_WORDS_JS = r"""
(() => {
  const found = new Set();
  const scope = "th, td, h1, h2, h3, h4, dt, dd, nav a, li > strong, p > strong";
  for (const el of document.querySelectorAll(scope)) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const words = /[^\s\-\u2010-\u2014\/]{2,}/g;
      let m;
      while ((m = words.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
        if (lines.size > 1) found.add(`<${el.localName}> splits ${JSON.stringify(m[0])} in ${JSON.stringify(el.textContent.trim().slice(0, 70))}`);
      }
    }
  }
  return [...found];
})()
"""


def split_words(page: Page, width: int) -> list[str]:
    """Words split across lines in names and headers, with the page laid out `width` px wide."""
    page.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        return [f"{width}px: {problem}" for problem in page.evaluate(SPLIT_WORDS_JS)]
    finally:
        page.send("Emulation.clearDeviceMetricsOverride")


def report(name: str, problems: list[str]) -> str:
    return f"{name}:\n  " + "\n  ".join(problems)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example agreements under sla/, rendered once for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)  # the examples are dated for the real today
        return render("sla", tmp_path_factory.mktemp("site") / "dist")


@pytest.fixture(scope="module")
def opened(browser: Browser, site: Path):
    """open(name) -> the Page for site/name, opened once and shared by the module's tests."""
    pages: dict[str, Page] = {}

    def open_page(name: str) -> Page:
        if name not in pages:
            path = site / name
            assert path.is_file(), f"render did not write {name}; it wrote {sorted(p.name for p in site.glob('*'))}"
            pages[name] = browser.open(path.as_uri())
        return pages[name]

    yield open_page
    for page in pages.values():
        page.close()


# -- the published site -----------------------------------------------------------------------


def test_render_writes_a_page_per_agreement_and_an_index(site: Path) -> None:
    written = {p.name for p in site.glob("*.html")}
    assert set(PAGES) <= written, f"missing pages: {sorted(set(PAGES) - written)}"


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_and_offline(opened, site: Path, name: str) -> None:
    problems = load_problems(opened(name), site)
    assert not problems, report(name, problems)


@pytest.mark.parametrize("name", PAGES)
def test_page_structure_is_accessible(opened, name: str) -> None:
    problems = structure_problems(opened(name))
    assert not problems, report(name, problems)


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@pytest.mark.parametrize("name", PAGES)
def test_page_prints_to_pdf(opened, name: str, paper: str) -> None:
    problems = pdf_problems(opened(name), paper)
    assert not problems, report(name, problems)


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", PAGES)
def test_no_word_is_split_in_a_name_or_a_header(opened, name: str, width: int) -> None:
    """On a desktop and on a phone, table cells, headings and the title block break lines
    only between words; a table too wide for a phone scrolls in its own frame instead."""
    problems = split_words(opened(name), width)
    assert not problems, report(name, problems)


def test_every_other_page_passes_the_same_checks(browser: Browser, site: Path) -> None:
    """Pages beyond one per agreement and the index (in sub-folders too) get every check."""
    others = sorted(p for p in site.rglob("*.html") if p.relative_to(site).as_posix() not in PAGES)
    failures = []
    for path in others:
        with browser.open(path.as_uri()) as page:
            problems = (
                load_problems(page, site)
                + structure_problems(page)
                + pdf_problems(page, "A4")
                + pdf_problems(page, "Letter")
                + split_words(page, 1280)
                + split_words(page, 390)
            )
        if problems:
            failures.append(report(path.relative_to(site).as_posix(), problems))
    assert not failures, "\n".join(failures)


# -- hostile text -----------------------------------------------------------------------------

HOSTILE_TITLE = "<script>window.__pwned=1</script> Hostile agreement"
HOSTILE_PARTY = '<b onmouseover="window.__pwned=1">Marketing</b>'
HOSTILE_COMMITMENT = '<img src=x onerror="window.__pwned=1"> [click](javascript:window.__pwned=1)'
HOSTILE_TEXT = "\n\n".join(
    [
        "[click](javascript:window.__pwned=1)",
        "<script>window.__pwned=1</script>",
        '<a href="javascript:window.__pwned=1">link</a> <svg onload="window.__pwned=1"></svg>',
        '![x](x" onerror="window.__pwned=1) <javascript:window.__pwned=1>',
        '<iframe src="javascript:window.__pwned=1"></iframe>',
        "# not a heading",
    ]
)


def hostile_yaml() -> str:
    """minimal.yaml with hostile titles, party name and commitment text (JSON strings are
    valid YAML double-quoted scalars)."""
    text = MINIMAL.read_text(encoding="utf-8")
    replacements = {
        "id: minimal\n": "id: hostile\n",
        "title: Minimal agreement\n": f"title: {json.dumps(HOSTILE_TITLE)}\n",
        "    name: Marketing\n": f"    name: {json.dumps(HOSTILE_PARTY)}\n",
        "    title: Deliver 10 qualified leads a month\n": f"    title: {json.dumps(HOSTILE_COMMITMENT)}\n    text: {json.dumps(HOSTILE_TEXT)}\n",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{MINIMAL.name} no longer contains {old!r} exactly once"
        text = text.replace(old, new)
    return text


MARKUP_JS = r"""
(() => {
  const all = [...document.querySelectorAll("*")];
  return {
    pwned: typeof window.__pwned,
    scripts: document.scripts.length,
    images: document.images.length,
    embedded: document.querySelectorAll("svg, iframe, object, embed, frame").length,
    eventHandlers: all.flatMap(el => [...el.attributes].filter(a => /^on/i.test(a.name))
                                                    .map(a => `<${el.localName} ${a.name}>`)),
    javascriptUrls: all.flatMap(el => ["href", "src", "action", "formaction", "xlink:href"]
        .map(name => el.getAttribute(name)).filter(v => v && /^\s*javascript:/i.test(v))),
    text: document.body.innerText,
  };
})()
"""


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two renders: "clean" publishes minimal.yaml alone; "hostile" publishes minimal.yaml
    and a hostile copy of it, whose pages are compared with the clean ones."""
    base = tmp_path_factory.mktemp("hostile")
    for name in ("clean", "hostile"):
        (base / name / "sla").mkdir(parents=True)
        shutil.copy(MINIMAL, base / name / "sla" / "minimal.yaml")
    (base / "hostile" / "sla" / "hostile.yaml").write_text(hostile_yaml(), encoding="utf-8")
    return {name: render(base / name / "sla", base / name / "dist") for name in ("clean", "hostile")}


@pytest.mark.parametrize("name, clean_name", [("hostile.html", "minimal.html"), ("index.html", "index.html")])
def test_hostile_text_is_shown_as_text_and_never_runs(
    browser: Browser, sites: dict[str, Path], name: str, clean_name: str
) -> None:
    with browser.open((sites["clean"] / clean_name).as_uri()) as page:
        clean = page.evaluate(MARKUP_JS)
    with browser.open((sites["hostile"] / name).as_uri()) as page:
        problems = load_problems(page, sites["hostile"]) + structure_problems(page)
        hostile = page.evaluate(MARKUP_JS)
    assert hostile["pwned"] == "undefined", "hostile text ran as script"
    assert hostile["scripts"] == clean["scripts"], "hostile text added <script> elements"
    assert hostile["images"] == clean["images"], "hostile text added <img> elements"
    assert hostile["embedded"] == clean["embedded"], "hostile text added svg/iframe/object/embed elements"
    assert hostile["eventHandlers"] == clean["eventHandlers"], "hostile text added on* event handler attributes"
    assert hostile["javascriptUrls"] == [], "hostile text became javascript: URLs"
    assert not problems, report(name, problems)
    assert "<script>window.__pwned=1</script>" in hostile["text"]
    if name == "hostile.html":
        for shown in (
            "<img src=x onerror=",
            "[click](javascript:window.__pwned=1)",
            "<b onmouseover=",
            "<iframe src=",
            "# not a heading",
        ):
            assert shown in hostile["text"], f"{shown!r} is not shown as text"


# -- the checks themselves --------------------------------------------------------------------

BROKEN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title></title><link rel="stylesheet" href="style.css">
<script>console.error("boom")</script></head>
<body><h1>One</h1><h1 id="x">Two</h1><h3 id="x">Skipped a level</h3>
<a href="#nowhere">dangling</a><img src="missing.png"><img src="http://example.invalid/pixel.png" alt="">
<table><tr><td>no header</td></tr></table>
<script>setTimeout(() => { throw new Error("late") }, 0)</script></body></html>
"""

CLEAN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clean</title><link rel="stylesheet" href="style.css"></head>
<body><main><h1>One</h1><h2 id="a">Two</h2><h3>Three</h3><h2>Four</h2><a href="#a">to two</a>
<table><tr><th scope="col">h</th></tr><tr><td>1</td></tr></table></main></body></html>
"""


def test_the_checks_catch_a_broken_page_and_pass_a_clean_one(browser: Browser, tmp_path: Path) -> None:
    """Each check can fail: a hand-written page breaks every rule, a clean one breaks none."""
    (tmp_path / "style.css").write_text("body { font-family: serif }")
    (tmp_path / "broken.html").write_text(BROKEN_PAGE)
    (tmp_path / "clean.html").write_text(CLEAN_PAGE)
    (tmp_path / "site").mkdir()

    with browser.open((tmp_path / "broken.html").as_uri()) as page:
        found = "\n".join(load_problems(page, tmp_path / "site") + structure_problems(page))
    for expected in (
        "console.error: boom",
        "uncaught exception: Error: late",
        "net::ERR_FILE_NOT_FOUND",
        "external request: http://example.invalid/pixel.png",
        "request for a file outside the output folder",
        "no lang attribute",
        "no <title>",
        "exactly one <h1>, found 2",
        "exactly one <main> landmark",
        "heading level skipped: h3",
        "has no <th> header cells",
        "id 'x' is used more than once",
        "#nowhere has no target",
        "<img src='missing.png'> has no alt attribute",
    ):
        assert expected in found, f"{expected!r} not reported; reported:\n{found}"

    with browser.open((tmp_path / "clean.html").as_uri()) as page:
        assert load_problems(page, tmp_path) + structure_problems(page) == []
        assert pdf_problems(page, "A4") == pdf_problems(page, "Letter") == []
        assert page.requests == [(tmp_path / "clean.html").as_uri(), (tmp_path / "style.css").as_uri()]
        assert page.screenshot(tmp_path / "clean.png").startswith(b"\x89PNG")


def test_the_split_word_check_catches_a_split(browser: Browser, tmp_path: Path) -> None:
    """The old stylesheet's `overflow-wrap: anywhere` in a narrow cell splits a name mid-word."""
    page_html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body><main>'
        '<table style="width: 10rem"><tr><th>Version</th><td style="overflow-wrap: anywhere">Whitfield '
        "dana.whitfield@example.com</td></tr></table><h2>Ready-to-share posts</h2></main></body></html>"
    )
    (tmp_path / "split.html").write_text(page_html)
    with browser.open((tmp_path / "split.html").as_uri()) as page:
        problems = split_words(page, 390)
    assert any('splits "dana.whitfield@example.com"' in p for p in problems), problems
    assert not any("Version" in p or "Ready" in p for p in problems), problems


def test_screenshot_of_a_rendered_agreement(browser: Browser, site: Path) -> None:
    """The README's screenshot comes from here: `make screenshot` keeps it in docs/."""
    page = browser.open((site / "company-a-lead-management.html").as_uri())
    try:
        png = page.screenshot()
    finally:
        page.close()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    target = os.environ.get("SLAKIT_SCREENSHOT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_bytes(png)


def test_index_sorts_naturally_counts_and_filters_without_scripts(browser: Browser, tmp_path: Path) -> None:
    """Unit 2 before unit 10; counts by status; the status and kind filters are CSS only, so
    they work (and every row can be read) with JavaScript switched off."""
    sla = tmp_path / "sla"
    sla.mkdir()
    text = MINIMAL.read_text()
    for ident, title, status, kind in (
        ("u10", "Unit 10 agreement", "draft", "lead-management"),
        ("u2", "Unit 2 agreement", "draft", "social-selling"),
        ("u1", "unit 1 agreement", "retired", "lead-management"),
    ):
        (sla / f"{ident}.yaml").write_text(
            text.replace("id: minimal", f"id: {ident}", 1)
            .replace("title: Minimal agreement", f"title: {title}", 1)
            .replace("status: draft", f"status: {status}", 1)
            .replace("kind: lead-management", f"kind: {kind}", 1)
        )
    out = render(sla, tmp_path / "dist")
    md = (out / "index.md").read_text()
    assert "3 agreements: 2 draft, 1 retired." in md
    assert [line.split("](")[1].split(")")[0] for line in md.splitlines() if line.startswith("| [")] == [
        "u2.md",
        "u10.md",
        "u1.md",  # retired last
    ]
    with browser.open("about:blank") as page:
        page.send("Emulation.setScriptExecutionDisabled", {"value": True})
        page.navigate((out / "index.html").as_uri())
        assert page.evaluate("document.getElementById('as-of').textContent") != "today"  # no page script ran

        def visible() -> list[str]:
            return page.evaluate(
                "[...document.querySelectorAll('table.index tbody tr')]"
                ".filter(r => getComputedStyle(r).display !== 'none')"
                ".map(r => r.querySelector('a').textContent)"
            )

        assert visible() == ["Unit 2 agreement", "Unit 10 agreement", "unit 1 agreement"]
        labels = page.evaluate("[...document.querySelectorAll('.filters label')].map(l => l.textContent)")
        assert labels == [
            "All (3)", "Draft (2)", "Retired (1)", "All (3)", "Lead management (2)", "Social selling (1)",
        ]  # fmt: skip
        page.evaluate("document.querySelector('label[for=status-draft]').click()")  # what a user's click does
        assert visible() == ["Unit 2 agreement", "Unit 10 agreement"]
        page.evaluate("document.querySelector('label[for=kind-lead-management]').click()")
        assert visible() == ["Unit 10 agreement"]
        page.evaluate("document.querySelector('label[for=status-all]').click()")
        assert visible() == ["Unit 10 agreement", "unit 1 agreement"]
