"""diff of a version that breaks rules, in every format, through the real CLI on real Git
repositories: its changes and problems are listed, its redline is given where its text can be
rendered and said to be missing where it cannot, and the exit code is 1; never a traceback, and
never a template blamed for a problem in the data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import ROOT, git, run, run_process

COMPANY_A = "sla/company-a-lead-management.yaml"
FORMATS = ("text", "json", "md", "html")


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()[:7]


def _place(text: str, line_text: str, value: str) -> tuple[int, int]:
    """Line and column (1-based) of `value` on the one line that is exactly `line_text`."""
    lines = text.splitlines()
    assert lines.count(line_text) == 1, line_text
    number = lines.index(line_text) + 1
    return number, line_text.index(value) + 1


def _diff(repo: Path, *args: str) -> dict[str, object]:
    """`diff` in each format, as a real process (a traceback would show on stderr)."""
    outputs = {}
    for fmt in FORMATS:
        result = run_process("diff", *args, "--format", fmt, cwd=repo)
        assert "Traceback" not in result.stderr, result.stderr
        assert "error[template]" not in result.stdout + result.stderr, (fmt, result.stderr)
        assert result.returncode == 1, (fmt, result.stdout, result.stderr)
        outputs[fmt] = result.stdout
    return outputs


def _two_commitments_one_id(repo: Path) -> tuple[str, str, str]:
    """Company A's agreement, then the same with commitment `sales-cycle` renamed `close-rate`
    (an id used twice, and the funnel's reference to sales-cycle left dangling)."""
    (repo / "sla").mkdir()
    shutil.copy(ROOT / COMPANY_A, repo / COMPANY_A)
    before = _commit(repo, "Company A")
    text = (repo / COMPANY_A).read_text()
    assert text.count("  - id: sales-cycle\n") == 1
    (repo / COMPANY_A).write_text(text.replace("  - id: sales-cycle\n", "  - id: close-rate\n"))
    after = _commit(repo, "Rename sales-cycle")
    return before, after, text


def test_an_id_used_twice_and_a_dangling_reference(repo: Path) -> None:
    before, after, text = _two_commitments_one_id(repo)
    twice, column = _place(text, "  - id: sales-cycle", "sales-cycle")  # the value, where the new id stands
    lines = text.splitlines()
    # The commitment close-rate (a definition has that id too, before the commitments).
    [first] = [n for n, line in enumerate(lines, 1) if line == "  - id: close-rate" and n > lines.index("commitments:")]
    dangling = _place(text, "    sales_cycle: {commitment: sales-cycle}", "sales-cycle")
    unique = (
        f"HEAD:{COMPANY_A}:{twice}:{column}: error[unique]: id 'close-rate' is used twice in commitments: "
        f"first on line {first}; each item needs its own id"
    )
    ref = f"HEAD:{COMPANY_A}:{dangling[0]}:{dangling[1]}: error[ref]: goals.funnel.sales_cycle.commitment: "
    out = _diff(repo, "HEAD~1", "HEAD")

    text_lines = str(out["text"]).splitlines()
    assert text_lines[0] == f"Comparing HEAD~1 ({before}) with HEAD ({after}): 1 of 1 agreement differs"
    assert text_lines[2] == f"{COMPANY_A}: changed (2 changes to the terms)"
    assert "  " + unique in text_lines
    assert any(line.startswith("  " + ref + "there is no commitment with id 'sales-cycle'") for line in text_lines)
    # The second commitment given the id close-rate is an addition; close-rate itself is untouched.
    assert "  - Sales commitments > Shorten the sales cycle to 35 days: removed" in text_lines
    assert "  + Sales commitments > Shorten the sales cycle to 35 days: added" in text_lines
    assert not any("Raise the close rate" in line for line in text_lines)

    [agreement] = json.loads(str(out["json"]))["agreements"]
    assert agreement["status"] == "changed"
    assert [(c["op"], c["pointer"]) for c in agreement["changes"] if c["op"] != "changed"] == [
        ("removed", "/commitments/5"),
        ("added", "/commitments/5"),
    ]
    assert {(p["rule"], p["line"]) for p in agreement["problems"]} >= {("unique", twice), ("ref", dangling[0])}

    md = str(out["md"])
    assert "| Company A sales and marketing agreement 2020 (`sla/company-a-lead-management.yaml`) | changed, " in md
    assert "**breaks rules** | 2 | 0 | 0 |" in md
    assert f"- `{unique}`" in md
    assert "| Sales commitments \\> Shorten the sales cycle to 35 days (removed) |" in md
    assert "| Sales commitments \\> Shorten the sales cycle to 35 days (added) |" in md
    assert (
        f"\nNo redline: the text of HEAD ({after}) cannot be rendered, as that version breaks rules (listed above).\n"
        in md
    )
    assert "<summary>Redline</summary>" not in md
    assert "\nThis revision breaks these rules (its changes are listed below):\n" in md

    html = str(out["html"])
    assert f"<li><code>{unique.replace(chr(39), '&#39;')}</code></li>" in html
    assert (
        f'<p class="no-redline"><em>No redline: the text of HEAD ({after}) cannot be rendered, '
        "as that version breaks rules (listed above).</em></p>" in html
    )
    assert "<h3>Redline</h3>" not in html
    assert "Shorten the sales cycle to 35 days <em>(added)</em>" in html


def test_the_older_side_breaking_rules_is_named(repo: Path) -> None:
    """Backwards, the version that breaks rules is the older one, and the note names it."""
    before, _, _ = _two_commitments_one_id(repo)
    out = _diff(repo, "HEAD", "HEAD~1")
    assert "  + Sales commitments > Shorten the sales cycle to 35 days: added" in str(out["text"])
    after = git(repo, "rev-parse", "--short=7", "HEAD").strip()
    assert f"No redline: the text of HEAD ({after}) cannot be rendered, as that version breaks rules" in str(out["md"])
    assert before not in str(out["md"]).split("No redline:")[1]
    # The summary says which side breaks rules: a change that mends a broken base is not blamed.
    assert f", **HEAD ({after}) breaks rules** | 2 |" in str(out["md"])
    assert f'<strong class="overdue">HEAD ({after}) breaks rules</strong></td>' in str(out["html"])


def test_both_sides_break_rules_and_a_reference_stops_the_text(repo: Path) -> None:
    """tests/cases/invalid/refs.yaml (a penalty applies to a commitment that does not exist)
    committed, then its title edited: the title change is listed and no template is blamed."""
    (repo / "sla").mkdir()
    text = (ROOT / "tests" / "cases" / "invalid" / "refs.yaml").read_text()
    (repo / "sla" / "refs.yaml").write_text(text)
    before = _commit(repo, "refs")
    (repo / "sla" / "refs.yaml").write_text(text.replace("title: References\n", "title: References, revised\n"))
    after = _commit(repo, "retitle")
    line, column = _place(
        text, "  - {id: late, title: Late, applies_to: follow-upp, when: Late, consequence: Talk}", "follow-upp"
    )
    penalty = (
        f"sla/refs.yaml:{line}:{column}: error[ref]: penalties[late].applies_to: "
        "there is no commitment with id 'follow-upp' (did you mean 'follow-up'?); known ids: follow-up, volume"
    )
    out = _diff(repo, "HEAD~1", "HEAD")

    text_lines = str(out["text"]).splitlines()
    assert text_lines[2] == "sla/refs.yaml: changed (1 change to the terms)"
    assert f"  HEAD~1:{penalty}" in text_lines and f"  HEAD:{penalty}" in text_lines
    assert "  ~ Title: References -> References, revised" in text_lines

    [agreement] = json.loads(str(out["json"]))["agreements"]
    assert [(c["pointer"], c["old"], c["new"]) for c in agreement["changes"]] == [
        ("/title", "References", "References, revised")
    ]
    assert len(agreement["problems"]) == 18  # the file's nine problems, on each side

    md = str(out["md"])
    assert "\nBoth revisions break these rules (their changes are listed below):\n" in md
    assert f"- `HEAD~1:{penalty}`" in md and f"- `HEAD:{penalty}`" in md
    assert "| Title | References | References, revised |  |" in md
    assert (
        f"No redline: the text of HEAD\\~1 ({before}) and of HEAD ({after}) cannot be rendered, "
        "as those versions break rules (listed above).\n" in md
    )
    html = str(out["html"])
    assert '<p class="overdue">Both revisions break these rules (their changes are listed below):</p>' in html
    assert '<tr class="op-changed"><td>Title</td><td>References</td><td>References, revised</td>' in html
    assert f"No redline: the text of HEAD~1 ({before}) and of HEAD ({after}) cannot be rendered" in html


def test_a_version_that_breaks_rules_but_renders_keeps_its_redline(repo: Path) -> None:
    """A meeting attendee that does not exist and a lead volume below the funnel's needs: both
    rules broken, the text still renders, and the redline shows both changes."""
    (repo / "sla").mkdir()
    text = (ROOT / COMPANY_A).read_text()
    (repo / COMPANY_A).write_text(text)
    _commit(repo, "Company A")
    assert text.count("count: 310\n") == 1 and text.count("attendees: [marketing, sales]\n") == 1
    edited = text.replace("count: 310\n", "count: 100\n").replace(
        "attendees: [marketing, sales]\n", "attendees: [marketing, salez]\n"
    )
    (repo / COMPANY_A).write_text(edited)
    _commit(repo, "fewer leads, a typo")
    line, column = _place(edited, "    attendees: [marketing, salez]", "salez")
    out = _diff(repo, "HEAD~1", "HEAD")
    md, html = str(out["md"]), str(out["html"])
    assert f"- `HEAD:{COMPANY_A}:{line}:{column}: error[ref]: meetings[monthly-joint].attendees[2]: " in md
    assert "No redline" not in md and "No redline" not in html
    assert "<summary>Redline</summary>" in md and "<h3>Redline</h3>" in html
    assert (
        "| Monthly all-hands of marketing and sales | Monthly | 60 minutes | all of Marketing; <del>all of Sales</del><ins>salez</ins> |"
        in md
    )
    assert "<td>all of Marketing; <del>all of Sales</del><ins>salez</ins></td>" in html
    assert "<del>310</del><ins>100</ins>" in md


def test_an_agreement_added_in_the_working_tree_that_breaks_rules(repo: Path) -> None:
    """No older side: the added version is the one named, as the working tree."""
    (repo / "sla").mkdir()
    shutil.copy(ROOT / COMPANY_A, repo / COMPANY_A)
    _commit(repo, "Company A")
    shutil.copy(ROOT / "tests" / "cases" / "invalid" / "refs.yaml", repo / "sla" / "refs.yaml")
    result = run("diff", "--format", "md", cwd=repo)
    assert result.exit_code == 1, result.output
    assert "| References (`sla/refs.yaml`) | added, **breaks rules** | 0 | 0 | 0 |" in result.stdout
    assert (
        "No redline: the text of working tree cannot be rendered, as that version breaks rules (listed above)."
        in result.stdout
    )


def test_two_files_one_of_which_breaks_rules(tmp_path: Path) -> None:
    """--files names the file whose text cannot be rendered."""
    text = (ROOT / COMPANY_A).read_text()
    (tmp_path / "old.yaml").write_text(text)
    (tmp_path / "new.yaml").write_text(text.replace("  - id: sales-cycle\n", "  - id: close-rate\n"))
    result = run("diff", "--files", "old.yaml", "new.yaml", "--format", "html", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "No redline: the text of new.yaml cannot be rendered, as that version breaks rules" in result.stdout


def test_a_template_bug_is_still_reported_as_one(repo: Path, tmp_path: Path) -> None:
    """A version with no problems that a template of the user's cannot render: the template is
    named (exit 1), even when the other version breaks rules."""
    _two_commitments_one_id(repo)
    templates = tmp_path / "mine"
    (templates / "sections").mkdir(parents=True)
    (templates / "sections" / "term.md.j2").write_text("{{ data.term.no_such_field }}\n")
    result = run_process("diff", "HEAD~1", "HEAD", "--format", "md", "--templates", str(templates), cwd=repo)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{templates}/sections/term.md.j2:1: error[template]: UndefinedError:" in result.stderr
    assert "no_such_field" in result.stderr
