"""The daily path: status, diff, changelog and messages say everything they know (issue 17).
Every test goes through the real CLI; "today" is 2026-11-16 (conftest.FIXED_EPOCH)."""

from __future__ import annotations

import json
import os
import pty
import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT, git, run, run_process

MINIMAL = (ROOT / "tests" / "cases" / "valid" / "minimal.yaml").read_text()


def _agreement(ident: str, **replace: str) -> str:
    text = MINIMAL.replace("id: minimal", f"id: {ident}", 1)
    for old, new in replace.items():
        text = text.replace(old.replace("_", " "), new, 1)
    return text


def test_status_shows_invalid_stale_and_due_soon_and_fails_on_invalid(repo: Path) -> None:
    sla = repo / "sla"
    sla.mkdir()
    (sla / "good.yaml").write_text(MINIMAL)  # signed, next review 2027-01-01: 46 days away
    (sla / "soon.yaml").write_text(_agreement("soon").replace("next_review: 2027-01-01", "next_review: 2026-11-30"))
    (sla / "late.yaml").write_text(_agreement("late").replace("next_review: 2027-01-01", "next_review: 2026-11-01"))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "Agreements", env={"GIT_COMMITTER_DATE": "2026-11-02T10:00:00Z"})
    (sla / "broken.yaml").write_text(_agreement("broken").replace("count: 10", "count: ten"))

    result = run_process("status", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert rows["minimal"].split("  ")[0:1] == ["minimal"]
    # Sam Lee signed without an SSH key: signed by all, and the state of that signature.
    assert rows["minimal"].rstrip().endswith("signed by all (1 unverified)")
    assert "2026-11-02" in rows["minimal"]
    # Changing the id changed the terms: Sam Lee's signature is stale, and says so.
    assert "awaiting 1 of 1 signature (1 stale)" in rows["soon"]
    assert rows["soon"].endswith("review due within 14 days")  # 2026-11-30 is 14 days after 2026-11-16
    assert rows["late"].endswith("review OVERDUE")
    assert "uncommitted" in rows["broken"]
    assert rows["broken"].endswith("INVALID (1 error: run `slakit validate sla/broken.yaml`)")
    assert "-  " not in result.stdout  # nothing shown as a bare dash

    data = json.loads(run_process("status", "--format", "json", cwd=repo).stdout)
    by_id = {row["id"]: row for row in data["agreements"]}
    assert (by_id["broken"]["valid"], by_id["broken"]["problems"]) == (False, 1)
    assert by_id["broken"]["next_review"] == "2027-01-01"  # still read from the invalid file
    assert (by_id["soon"]["due_soon"], by_id["late"]["overdue"], by_id["minimal"]["due_soon"]) == (True, True, False)

    (sla / "broken.yaml").unlink()
    assert run_process("status", cwd=repo).returncode == 0


def test_status_of_files_outside_the_current_repository(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(MINIMAL)
    result = run("status", str(tmp_path / "one.yaml"))  # run from the project's own repository
    assert result.exit_code == 0, result.output
    assert "not in Git" in result.output and "signed by all" in result.output


def _committed(repo: Path, text: str) -> Path:
    (repo / "sla").mkdir(exist_ok=True)
    path = repo / "sla" / "minimal.yaml"
    path.write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "Minimal agreement")
    return path


def test_diff_of_a_revision_that_breaks_a_rule_still_lists_its_changes(repo: Path) -> None:
    path = _committed(repo, MINIMAL)
    # Parses and fits the schema, but names a party that does not exist (rule `ref`),
    # and raises the lead count from 10 to 12 without raising the version.
    path.write_text(
        MINIMAL.replace("    party: marketing\n    title:", "    party: marketting\n    title:").replace(
            "count: 10", "count: 12"
        )
    )
    result = run_process("diff", cwd=repo)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[2] == "sla/minimal.yaml: changed (2 changes to the terms, 1 stricter)"
    assert lines[3].startswith("  sla/minimal.yaml:22:12: error[ref]: commitments[mql-volume].party: there is no party")
    assert lines[4] == "  ! the terms changed but the version did not go up (still 1): raise `version` in this revision"
    assert any(line.endswith("Lead volume > Leads: 10 -> 12  [stricter for marketting]") for line in lines)

    data = json.loads(run_process("diff", "--format", "json", cwd=repo).stdout)["agreements"][0]
    assert data["status"] == "changed" and data["version_not_raised"] is True
    assert [p["rule"] for p in data["problems"]] == ["ref"]
    assert ("/commitments/0/lead_volume/count", 10, 12) in [(c["pointer"], c["old"], c["new"]) for c in data["changes"]]

    md = run_process("diff", "--format", "md", cwd=repo).stdout
    assert "| changed, **version not raised**, **breaks rules** | 2 | 1 | 0 |" in md
    assert "This revision breaks these rules (its changes are listed below):" in md
    # A code span shows its text as it is: no Markdown escapes inside it.
    assert "- `sla/minimal.yaml:22:12: error[ref]: commitments[mql-volume].party:" in md
    assert "| 10 | 12 | stricter for marketting |" in md


def test_version_raised_is_not_flagged_and_unparsable_is_still_broken(repo: Path) -> None:
    path = _committed(repo, MINIMAL)
    path.write_text(MINIMAL.replace("count: 10", "count: 12").replace("version: 1", "version: 2"))
    data = json.loads(run_process("diff", "--format", "json", cwd=repo).stdout)["agreements"][0]
    assert (data["status"], data["version_not_raised"]) == ("changed", False)
    assert "version" not in run_process("diff", cwd=repo).stdout.split("\n", 1)[1]
    # Only a change of status or review dates (not terms): no flag either.
    path.write_text(MINIMAL.replace("next_review: 2027-01-01", "next_review: 2026-12-20"))
    data = json.loads(run_process("diff", "--format", "json", cwd=repo).stdout)["agreements"][0]
    assert data["version_not_raised"] is False and data["changes"]
    # A revision that does not parse cannot be compared: broken, its problem listed, no changes.
    path.write_text(MINIMAL + "id: twice\n")
    result = run_process("diff", "--format", "json", cwd=repo)
    data = json.loads(result.stdout)["agreements"][0]
    assert (result.returncode, data["status"], data["changes"]) == (1, "broken", [])
    assert data["problems"][0]["rule"] == "duplicate-key"


def test_mis_indentation_is_named_at_the_offending_line(tmp_path: Path) -> None:
    """Each file is the minimal agreement with one line mis-indented; the message says
    "indentation", on that line, at its first character, and names the column it belongs at."""
    cases = {
        # a key pushed one space right inside `term`
        "deeper.yaml": (
            MINIMAL.replace("  last_review: 2026-01-01", "   last_review: 2026-01-01"),
            "11:4: error[yaml]: indentation: line 11 is indented more than the key on line 10 above it "
            "(column 4, not 3)",
        ),
        # a key pulled one space left out of `term`
        "shallower.yaml": (
            MINIMAL.replace("  last_review: 2026-01-01", " last_review: 2026-01-01"),
            "11:2: error[yaml]: indentation: line 11 starts at column 2, but the mapping that starts at line 3 "
            "has its keys at column 1",
        ),
        # an item's key written at the column of the list's '-'
        "item.yaml": (
            MINIMAL.replace("  - id: marketing\n    name: Marketing", "  - id: marketing\n  name: Marketing"),
            "16:3: error[yaml]: indentation: line 16 starts at column 3, where the list's '-' marks are, but is "
            "not a list item: indent it to column 5 to belong to the item at line 15",
        ),
        # a second item one space off
        "dash.yaml": (
            MINIMAL.replace("  - id: sales", "   - id: sales"),
            "18:4: error[yaml]: indentation: line 18 starts at column 4, but the list that starts at line 15 "
            "has its items at column 3",
        ),
    }
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        result = run_process("validate", str(tmp_path / name))
        assert result.returncode == 1
        assert result.stdout.splitlines()[0].startswith(f"{tmp_path / name}:{expected}"), result.stdout
    # A colon inside a value on a correctly indented line keeps its own advice.
    (tmp_path / "colon.yaml").write_text(MINIMAL.replace("title: Minimal agreement", "title: Plan: leads"))
    out = run_process("validate", str(tmp_path / "colon.yaml")).stdout
    assert "4:12: error[yaml]: a ':' appears where a value was expected; quote the value" in out


def _at(when: str) -> dict[str, str]:
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


def _commit(repo: Path, message: str, when: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, env=_at(when))


@pytest.fixture
def fiscal_history(repo: Path) -> Path:
    """One agreement through a fiscal year starting in February: added unsigned, signed,
    tightened in a pull request, set active; its next review (1 September 2026) is overdue
    on 2026-11-16."""
    unsigned = MINIMAL[: MINIMAL.index("  signatures:")].replace("next_review: 2027-01-01", "next_review: 2026-09-01")
    (repo / "sla").mkdir()
    path = repo / "sla" / "minimal.yaml"
    path.write_text(unsigned)
    _commit(repo, "Add the minimal agreement", "2025-05-10T10:00:00+00:00")
    path.write_text(unsigned + MINIMAL[MINIMAL.index("  signatures:") :])
    _commit(repo, "Sam Lee signs", "2025-06-02T10:00:00+00:00")
    path.write_text(path.read_text().replace("count: 10", "count: 12"))
    _commit(repo, "Raise the lead count (#7)", "2025-07-15T10:00:00+00:00")
    path.write_text(path.read_text().replace("status: draft", "status: active"))
    _commit(repo, "Set active", "2025-08-01T10:00:00+00:00")
    git(repo, "tag", "review/minimal/FY2026-Q2")
    return repo


def test_changelog_fiscal_quarters_reviews_and_pull_requests(fiscal_history: Path) -> None:
    md = run("changelog", "--fiscal-year-start", "2", cwd=fiscal_history).output
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    # February to January: May-Jul 2025 is the second quarter of the year ending January 2026.
    assert headings == [
        "## FY2027-Q3 (Aug-Oct 2026)",
        "## FY2026-Q4 (Nov 2025-Jan 2026)",  # the last review, 1 January 2026
        "## FY2026-Q3 (Aug-Oct 2025)",
        "## FY2026-Q2 (May-Jul 2025)",
    ]
    q2 = md[md.index("## FY2026-Q2") :]
    assert "review completed (tag `review/minimal/FY2026-Q2`)" in q2
    assert "- Sign-off > Signatures: added (Sam Lee)" in q2.replace("\\>", ">")
    assert "Raise the lead count (#7) (" in q2 and "pull request #7" not in q2
    overdue = md[md.index("## FY2027-Q3") : md.index("## FY2026-Q4")]
    assert "**review overdue** (due 1 September 2026)" in overdue
    data = json.loads(run("changelog", "--fiscal-year-start", "2", "--format", "json", cwd=fiscal_history).output)
    assert [(q["quarter"], q["label"], q["months"]) for q in data["quarters"]] == [
        ("2027-Q3", "FY2027-Q3", "Aug-Oct 2026"),
        ("2026-Q4", "FY2026-Q4", "Nov 2025-Jan 2026"),
        ("2026-Q3", "FY2026-Q3", "Aug-Oct 2025"),
        ("2026-Q2", "FY2026-Q2", "May-Jul 2025"),
    ]
    assert data["quarters"][0]["agreements"][0]["reviews_overdue"] == ["2026-09-01"]
    assert data["quarters"][3]["agreements"][0]["review_tagged"] is True
    # Calendar quarters keep their plain names, with their months.
    calendar = run("changelog", cwd=fiscal_history).output
    assert "## 2025-Q2 (Apr-Jun 2025)" in calendar and "## 2025-Q3 (Jul-Sep 2025)" in calendar


def test_changelog_terms_only_leaves_out_status_and_signature_commits(fiscal_history: Path) -> None:
    data = json.loads(run("changelog", "--terms-only", "--format", "json", cwd=fiscal_history).output)
    subjects = [c["subject"] for q in data["quarters"] for a in q["agreements"] for c in a["commits"]]
    assert subjects == ["Raise the lead count (#7)", "Add the minimal agreement"]
    everything = json.loads(run("changelog", "--format", "json", cwd=fiscal_history).output)
    assert len([c for q in everything["quarters"] for a in q["agreements"] for c in a["commits"]]) == 4


def test_changelog_html_links_only_where_they_lead(fiscal_history: Path) -> None:
    standalone = fiscal_history / "changelog.html"
    assert run("changelog", "--format", "html", "--out", str(standalone), cwd=fiscal_history).exit_code == 0
    html = standalone.read_text()
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert all(h.startswith(("#", "https://")) or (fiscal_history / h).is_file() for h in hrefs), hrefs
    path = fiscal_history / "sla" / "minimal.yaml"  # active with a stale signature would not publish
    path.write_text(path.read_text().replace("status: active", "status: draft"))
    assert run("render", "--out", "dist", cwd=fiscal_history).exit_code == 0
    published = (fiscal_history / "dist" / "changelog.html").read_text()
    links = re.findall(r'href="([^"#]+)"', published)
    assert "index.html" in links and all((fiscal_history / "dist" / h).is_file() for h in links)


def on_terminal(cwd: Path, *args: str, colour: bool = True) -> str:
    """`slakit ARGS` run on a pseudo-terminal (as a person runs it); what it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.chdir(cwd)
        os.environ.pop("NO_COLOR", None)
        if not colour:
            os.environ["NO_COLOR"] = "1"
        os.execv(sys.executable, [sys.executable, str(ROOT / "cli.py"), *args])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out.decode().replace("\r\n", "\n")


# ANSI SGR codes click uses: 31 red, 32 green, 34 blue, 35 magenta; 33 yellow and 37 white are
# faint on a light or a dark terminal respectively, so neither may appear.
RED, MAGENTA, BLUE = "\x1b[31m", "\x1b[35m", "\x1b[34m"


def plain_weight(text: str) -> str:
    """The text with bold on/off codes dropped, so colours can be compared."""
    return text.replace("\x1b[1m", "").replace("\x1b[22m", "")


def test_colours_read_on_light_and_dark_terminals(repo: Path) -> None:
    path = _committed(repo, MINIMAL.replace("next_review: 2027-01-01", "next_review: 2026-11-01"))
    warnings = on_terminal(repo, "validate")
    assert f"{MAGENTA}warning\x1b[0m[review]" in plain_weight(warnings)
    rendered = on_terminal(repo, "render", "--out", "dist")
    warning_line = next(line for line in rendered.splitlines() if "[review]" in line)
    assert warning_line == next(line for line in warnings.splitlines() if "[review]" in line)  # as validate
    # Stricter and looser in different colours; errors red; never yellow or white.
    path.write_text(
        path.read_text()
        .replace("count: 10", "count: 12")
        .replace("  - id: sales\n    name: Sales\n", "  - id: sales\n    name: Sales\n  - id: ops\n    name: Ops\n")
        .replace("    party: marketing\n    title:", "    party: marketting\n    title:")
    )
    diff = on_terminal(repo, "diff")
    stricter = next(line for line in diff.splitlines() if "[stricter for" in line)
    assert f"{MAGENTA}[stricter for marketting]" in plain_weight(stricter)
    assert f"  {RED}sla/minimal.yaml:" in plain_weight(diff)
    for text in (warnings, rendered, diff, on_terminal(repo, "status")):
        assert "\x1b[33m" not in text and "\x1b[37m" not in text and "\x1b[97m" not in text
    path.write_text(MINIMAL.replace("count: 10", "count: 8").replace("version: 1", "version: 2"))
    looser = next(line for line in on_terminal(repo, "diff").splitlines() if "[looser for" in line)
    assert f"{BLUE}[looser for Marketing]" in plain_weight(looser)
    assert "\x1b[" not in on_terminal(repo, "diff", colour=False)  # NO_COLOR is respected


def test_changelog_on_a_terminal_is_plain_text(fiscal_history: Path) -> None:
    text = on_terminal(fiscal_history, "changelog", colour=False)
    assert text.startswith("Changelog of the agreements\n\n2026-Q3 (Jul-Sep 2026)\n")
    assert "      + Sign-off > Signatures: added (Sam Lee)\n" in text
    assert "      ~ Marketing commitments > Deliver 10 qualified leads a month > Lead volume > Leads: 10 -> 12" in text
    assert not any(mark in text for mark in ("\\>", "**", "##", "`"))  # no Markdown
    assert "review OVERDUE (due 1 September 2026)" in text


def test_a_field_titled_like_its_item_is_named_once(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text((ROOT / "tests" / "cases" / "invalid" / "review-overdue.yaml").read_text())
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text().replace("target: 3, per: week", "target: 4, per: week"))
    out = run_process("diff", "--files", str(old), str(new)).stdout
    assert "Marketing commitments > Posts > Target: 3 -> 4" in out
    assert "Target > Target" not in out
