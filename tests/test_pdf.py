"""The PDF (`render --pdf`, `make pdf`), read back as text with pypdf.

The oracles come from the PDF's own text, not from the engine that laid it out: the page a
section starts on is the page whose text has the heading as a line of its own, and the
contents must name that page; the footer is looked for on every page; the terms digest is
the one the example's current signatures recorded in the YAML.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import FIXED_EPOCH, ROOT, run, run_process

COMPANY_A = "company-a-lead-management"
# The digest Company A's two current signatures recorded (sla/company-a-lead-management.yaml).
COMPANY_A_TERMS = "2d72b5912f7ee1da18f9a1053eff461bf6dc0701aa6200f959090ec3df2d4a59"
COMPANY_A_SECTIONS = [
    "1. Parties and stakeholders",
    "2. Definitions",
    "3. Company goals",
    "4. How the figures are derived",
    "5. Marketing commitments",
    "6. Sales commitments",
    "7. Communication and meetings",
    "8. Conflict resolution",
    "9. Rewards",
    "10. Escalation",
    "11. Term and review",
    "12. Sign-off",
    "Appendix: terms digest",
]


def build(base: Path, out: str, *options: str, env: dict[str, str] | None = None) -> Path:
    """`cli.py render sla --out OUT --pdf ...` in `base` (a folder outside Git), as a process."""
    result = run_process("render", "sla", "--out", out, "--pdf", *options, cwd=base, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return base / out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pdf")
    shutil.copytree(ROOT / "sla", base / "sla")
    return build(base, "dist", env={"SOURCE_DATE_EPOCH": FIXED_EPOCH})


def pages(pdf: Path) -> list[list[str]]:
    """Each page's text as lines, whitespace runs collapsed."""
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    return [
        [" ".join(line.split()) for line in page.extract_text().splitlines() if line.strip()] for page in reader.pages
    ]


def contents(first_page: list[str]) -> dict[str, int]:
    """The contents on page 1: entry -> the page number it gives (after the dotted leader)."""
    entries = {}
    for line in first_page:
        match = re.fullmatch(r"(.+?) ?(?:\. ?){2,}(\d+)", line)
        if match:
            entries[match.group(1).strip()] = int(match.group(2))
    return entries


def starts(text: list[list[str]], heading: str) -> int:
    """The page (from 1) on which `heading` stands as a line of its own."""
    found = [n for n, lines in enumerate(text, 1) if heading in lines]
    assert found, f"{heading!r} is not a line on any page"
    return found[0]


def test_every_agreement_gets_a_pdf_and_the_index_links_it(site: Path) -> None:
    for ident in (COMPANY_A, "social-selling", "buyer-journey-handoff"):
        assert (site / f"{ident}.pdf").read_bytes().startswith(b"%PDF-")
        assert f'<a href="{ident}.pdf">PDF</a>' in (site / "index.html").read_text()
        assert f"([PDF]({ident}.pdf))" in (site / "index.md").read_text()


@pytest.mark.parametrize("ident", [COMPANY_A, "social-selling", "buyer-journey-handoff"])
def test_contents_page_numbers_match_where_sections_start(site: Path, ident: str) -> None:
    text = pages(site / f"{ident}.pdf")
    toc = contents(text[0])
    numbered = [entry for entry in toc if re.match(r"\d+\. |Appendix", entry)]
    assert len(numbered) >= 8, f"contents not found on page 1: {text[0]}"
    for entry in toc:
        assert toc[entry] == starts(text, entry), f"contents say {entry!r} is on page {toc[entry]}"
    if ident == COMPANY_A:
        assert numbered == COMPANY_A_SECTIONS
        # Subsections are listed and numbered too.
        assert toc["6.1 Contact every marketing lead within one business hour"] == starts(
            text, "6.1 Contact every marketing lead within one business hour"
        )


def test_bookmarks_point_at_the_sections(site: Path) -> None:
    reader = PdfReader(site / f"{COMPANY_A}.pdf")
    text = pages(site / f"{COMPANY_A}.pdf")

    def flatten(items: list) -> list:
        out = []
        for item in items:
            out += flatten(item) if isinstance(item, list) else [item]
        return out

    marks = {m.title: reader.get_destination_page_number(m) + 1 for m in flatten(reader.outline)}
    for heading in COMPANY_A_SECTIONS:
        assert marks.get(heading) == starts(text, heading), f"bookmark for {heading!r}"
    assert "Contents" not in marks


def test_footer_on_every_page(site: Path) -> None:
    text = pages(site / f"{COMPANY_A}.pdf")
    total = len(text)
    assert total >= 5  # an eleven-section agreement does not fit on a few pages
    for number, lines in enumerate(text, 1):
        joined = " ".join(lines)
        assert f"Company A sales and marketing agreement 2020, version 4 · terms {COMPANY_A_TERMS[:12]}" in joined, (
            f"page {number} has no footer: {lines[-3:]}"
        )
        assert f"Page {number} of {total}" in joined, f"page {number} is not numbered"


@pytest.mark.parametrize("ident", [COMPANY_A, "social-selling", "buyer-journey-handoff"])
def test_no_page_holds_only_a_footer(site: Path, ident: str) -> None:
    """A last page with nothing but the publication note (or a lone line) is wasted paper."""
    for number, lines in enumerate(pages(site / f"{ident}.pdf"), 1):
        body = [line for line in lines if "Page " not in line and "· terms " not in line]
        assert len(body) >= 3, f"{ident} page {number} holds only {body}"


def test_sign_off_heading_shares_its_page_with_the_signature_table(site: Path) -> None:
    for ident, signers in (
        (COMPANY_A, ["Chief Marketing Officer", "Chief Sales Officer"]),
        ("social-selling", ["Executive sponsor", "Sales program manager", "Marketing program manager"]),
        ("buyer-journey-handoff", []),
    ):
        text = pages(site / f"{ident}.pdf")
        heading = next(line for line in text[0] if re.match(r"\d+\. Sign-off", line)).split(" .")[0]
        heading = re.sub(r"[ .]+\d+$", "", heading)
        page = text[starts(text, heading) - 1]
        joined = " ".join(page)
        assert "Role Party Name Signature Date" in joined, f"{ident}: the signers' table is not on the heading's page"
        for role in signers:
            assert role in joined
        assert "Recorded signatures" in page


def test_full_digest_is_in_the_appendix_not_in_the_sign_off(site: Path) -> None:
    text = pages(site / f"{COMPANY_A}.pdf")
    appendix = text[starts(text, "Appendix: terms digest") - 1]
    assert f"sha256:{COMPANY_A_TERMS}" in appendix
    sign_off = " ".join(text[starts(text, "12. Sign-off") - 1])
    assert sign_off.count(COMPANY_A_TERMS) == sign_off.count(f"sha256:{COMPANY_A_TERMS}")  # only in the appendix


def test_commitments_read_as_undertakings_in_the_pdf(site: Path) -> None:
    joined = " ".join(" ".join(lines) for lines in pages(site / "social-selling.pdf"))
    assert "Sales will achieve at least 3 posts shared per rep each week." in joined
    assert "Target:" not in joined and "higher is better" not in joined


def test_two_builds_are_byte_identical(site: Path, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sla", tmp_path / "sla")
    again = build(tmp_path, "dist", env={"SOURCE_DATE_EPOCH": FIXED_EPOCH})
    for ident in (COMPANY_A, "social-selling", "buyer-journey-handoff"):
        assert (again / f"{ident}.pdf").read_bytes() == (site / f"{ident}.pdf").read_bytes(), ident


def test_dates_in_the_pdf_come_from_source_date_epoch_or_the_agreement(site: Path, tmp_path: Path) -> None:
    fixed = dt.datetime.fromtimestamp(int(FIXED_EPOCH), dt.UTC)
    meta = PdfReader(site / f"{COMPANY_A}.pdf").metadata
    assert meta.creation_date == meta.modification_date == fixed
    assert meta.title == "Company A sales and marketing agreement 2020"
    # Without SOURCE_DATE_EPOCH: the latest date in the agreement (its last review,
    # 1 October 2020, is later than its effective date and both signatures).
    shutil.copytree(ROOT / "sla", tmp_path / "sla")
    result = run_process("render", "sla", "--out", "dist", "--pdf", cwd=tmp_path, env={"SOURCE_DATE_EPOCH": ""})
    assert result.returncode == 0, result.stderr
    meta = PdfReader(tmp_path / "dist" / f"{COMPANY_A}.pdf").metadata
    assert meta.creation_date.date() == dt.date(2020, 10, 1)


@pytest.mark.parametrize("paper, size", [("a4", (595, 842)), ("letter", (612, 792))])
def test_paper_sizes(tmp_path: Path, paper: str, size: tuple[int, int]) -> None:
    (tmp_path / "sla").mkdir()
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla")
    out = build(tmp_path, "dist", "--paper", paper)
    reader = PdfReader(out / "minimal.pdf")
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == size


def test_a_build_without_pdf_removes_the_pdfs_it_no_longer_keeps_current(tmp_path: Path) -> None:
    (tmp_path / "sla").mkdir()
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla")
    out = build(tmp_path, "dist")
    assert (out / "minimal.pdf").is_file()
    result = run("render", str(tmp_path / "sla"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert not (out / "minimal.pdf").exists()
    assert "1 removed" in result.output
    assert "PDF" not in (out / "index.html").read_text()


def test_hostile_text_is_text_in_the_pdf_and_nothing_is_fetched(tmp_path: Path) -> None:
    (tmp_path / "sla").mkdir()
    text = (ROOT / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = f'<img src="{secret.as_uri()}"><style>@import "{secret.as_uri()}";</style>'
    text = text.replace("title: Minimal agreement", "title: '<b>Hostile</b> agreement'")
    text = text.replace("    lead_volume:\n", f"    text: '{hostile}'\n    lead_volume:\n")
    (tmp_path / "sla" / "minimal.yaml").write_text(text)
    out = build(tmp_path, "dist")
    text_by_page = pages(out / "minimal.pdf")
    joined = " ".join(" ".join(lines) for lines in text_by_page)
    assert all("<b>Hostile</b> agreement, version 1" in " ".join(lines) for lines in text_by_page)  # the footer
    assert f'<img src="{secret.as_uri()}">' in joined.replace(" ", "").replace("<imgsrc", "<img src")
    assert "TOP-SECRET-CONTENT" not in joined


def test_bad_paper_is_a_usage_error(tmp_path: Path) -> None:
    result = run("render", "sla", "--out", str(tmp_path / "out"), "--pdf", "--paper", "a5")
    assert result.exit_code == 2
    assert "'a5' is not one of 'a4', 'letter'" in result.output
