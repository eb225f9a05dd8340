"""diff through the real CLI on real Git repositories built in each test."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, git, run, run_process

COMPANY_A = "sla/company-a-lead-management.yaml"


@pytest.fixture
def history(repo: Path) -> Path:
    """A repository whose first commit holds the three example agreements."""
    shutil.copytree(ROOT / "sla", repo / "sla")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Initial agreements")
    git(repo, "tag", "v1")
    return repo


def edit(repo: Path, path: str, old: str, new: str) -> None:
    file = repo / path
    text = file.read_text()
    assert old in text, f"{old!r} not in {path}"
    file.write_text(text.replace(old, new, 1))


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def diff_json(repo: Path, *args: str) -> tuple[int, dict]:
    result = run("diff", "--format", "json", *args, cwd=repo)
    return result.exit_code, json.loads(result.output)


def agreement(data: dict, ident: str) -> dict:
    return next(a for a in data["agreements"] if a["id"] == ident)


def test_value_change_is_labelled_and_judged_stricter(history: Path) -> None:
    edit(history, COMPANY_A, "response_time: 1 business hour", "response_time: 0.5 business hours")
    result = run("diff", cwd=history)
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("Comparing HEAD (")
    assert (
        "  ~ Sales commitments > Contact every marketing lead within one business hour > Follow-up > "
        "Response time: 1 business hour -> 0.5 business hours  [stricter for Sales]"
    ) in result.output.splitlines()
    _code, data = diff_json(history)
    change = agreement(data, "company-a-lead-management")["changes"][0]
    assert change == {
        "pointer": "/commitments/3/follow_up/response_time",
        "label": "Sales commitments > Contact every marketing lead within one business hour > Follow-up > Response time",
        "op": "changed",
        "old": "1 business hour",
        "new": "0.5 business hours",
        "effect": "stricter",
        "party": "sales",
    }
    assert data["from"] == "HEAD" and data["to"] is None and len(data["from_commit"]) == 40


def test_lower_lead_volume_is_looser_for_marketing(history: Path) -> None:
    edit(history, COMPANY_A, "count: 310", "count: 300")
    edit(history, COMPANY_A, "          value: 40 days", "          value: 42 days")
    commit(history, "Relax volume, slow the cycle target")
    _, data = diff_json(history, "v1", "HEAD")
    changes = {
        c["label"].split(" > ")[-1]: (c["old"], c["new"], c["effect"], c["party"])
        for c in agreement(data, "company-a-lead-management")["changes"]
        if not c["pointer"].startswith("/signoff")
    }
    assert changes == {"Leads": (310, 300, "looser", "marketing"), "Target": ("40 days", "42 days", "looser", "sales")}


def test_reordering_is_not_a_change(history: Path) -> None:
    text = (history / COMPANY_A).read_text()
    # Move the first lead source to the end of its list, and quote a date (same value).
    referral = text[text.index("        - id: referral") : text.index("        - id: content")]
    end = text.index("  - id: monthly-lead-volume")
    text = text[:end] + referral + text[end:]
    text = text.replace(referral, "", 1)
    (history / COMPANY_A).write_text(text.replace("effective: 2020-01-01", "effective: '2020-01-01'"))
    code, data = diff_json(history)
    assert code == 0
    assert agreement(data, "company-a-lead-management") == {
        "path": COMPANY_A,
        "id": "company-a-lead-management",
        "status": "unchanged",
        "changes": [],
        "version_not_raised": False,
    }
    _, moves = diff_json(history, "--show-moves")
    ops = [(c["op"], c["label"].split(" > ")[-1]) for c in agreement(moves, "company-a-lead-management")["changes"]]
    assert ops == [("moved", "Referral leads")]


def test_items_added_removed_and_renamed_ids(history: Path) -> None:
    edit(
        history,
        COMPANY_A,
        "        - id: web-sales-ready\n",
        "        - id: events\n          name: Event leads\n"
        "          value_per_lead: {amount: 1000, currency: USD}\n          planned: 0\n        - id: web-sales-ready\n",
    )
    edit(
        history,
        COMPANY_A,
        "  - id: close-rate\n    term: Close rate\n    meaning: Share of submitted proposals that end as won deals.\n",
        "",
    )
    edit(history, COMPANY_A, "  - id: crm-sales-tools\n", "  - id: crm-tools\n")
    result = run("diff", cwd=history)
    lines = [line.strip() for line in result.output.splitlines()]
    assert "- Definitions > Close rate: removed" in lines
    assert (
        "+ Marketing commitments > Deliver $550,000 of lead value every month > Lead value > Lead sources > Event leads: added"
        in lines
    )
    assert "- Sales commitments > Use the CRM tools, templates and content: removed" in lines
    assert "+ Sales commitments > Use the CRM tools, templates and content: added" in lines
    assert "sla/company-a-lead-management.yaml: changed (4 changes to the terms)" in lines
    assert "~ Sign-off > Signatures > Dana Whitfield > Terms signed: current -> stale" in lines


def test_whole_agreements_added_removed_and_renamed(history: Path) -> None:
    git(history, "mv", "sla/social-selling.yaml", "sla/social.yaml")
    git(history, "rm", "-q", "sla/buyer-journey-handoff.yaml")
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", history / "sla" / "minimal.yaml")
    commit(history, "Reorganise")
    code, data = diff_json(history, "v1", "HEAD")
    assert code == 0
    assert [(a["path"], a["status"], a.get("old_path")) for a in data["agreements"]] == [
        ("sla/buyer-journey-handoff.yaml", "removed", None),
        ("sla/company-a-lead-management.yaml", "unchanged", None),
        ("sla/minimal.yaml", "added", None),
        ("sla/social.yaml", "renamed", "sla/social-selling.yaml"),
        ("sla/two-way-street.yaml", "unchanged", None),
    ]


def test_broken_revision_is_a_problem_of_that_revision(history: Path) -> None:
    edit(history, COMPANY_A, "status: retired", "status: retired\nstatus: active")
    edit(history, "sla/social-selling.yaml", "version: 5", "version: 6")
    commit(history, "Broken commit")
    result = run_process("diff", "v1", "HEAD", cwd=history)
    assert result.returncode == 1
    assert (
        "HEAD:sla/company-a-lead-management.yaml:13:1: error[duplicate-key]: duplicate key 'status': "
        "it is already set on line 12"
    ) in result.stdout
    assert "sla/company-a-lead-management.yaml: broken" in result.stdout
    assert "~ Version: 5 -> 6" in result.stdout  # the others are still compared
    assert "Traceback" not in result.stderr


def test_redline_markdown_and_html(history: Path) -> None:
    edit(history, COMPANY_A, "response_time: 1 business hour", "response_time: 0.5 business hours")
    md = run("diff", "--format", "md", cwd=history).output
    assert (
        "| Sales commitments \\> Contact every marketing lead within one business hour \\> Follow-up \\> Response time "
        "| 1 business hour | 0.5 business hours | stricter for Sales |" in md
    )
    assert "| Sign-off \\> Signatures \\> Dana Whitfield \\> Terms signed | current | stale |  |" in md
    # The redline in tags GitHub shows (struck out, underlined), CriticMarkup on request.
    assert (
        "**Sales will make first contact within <del>1</del><ins>0.5</ins> business <del>hour</del><ins>hours</ins> with marketing"
        in md
    )
    assert "{--" not in md and "{++" not in md
    critic = run("diff", "--format", "md", "--critic", cwd=history).output
    assert (
        "**Sales will make first contact within {--1--}{++0.5++} business {--hour--}{++hours++} with marketing"
        in critic
    )
    assert "<del>" not in critic and "<ins>" not in critic
    assert "#### 1. Parties and stakeholders (unchanged)" in md
    assert "##### 6.2 Raise the close rate on submitted proposals to 50% (unchanged)" in md
    assert "Marketing will deliver" not in md  # unchanged sections are collapsed to their headings
    html = run("diff", "--format", "html", cwd=history).output
    assert (
        "<strong>Sales will make first contact within <del>1</del><ins>0.5</ins> business <del>hour</del><ins>hours</ins> with"
        in html
    )
    assert html.count("<del>") == html.count("</del>") >= 2  # the response time, the digest, stale signatures
    assert "default-src 'none'" in html


def test_redline_follows_moved_sections(history: Path) -> None:
    text = (history / COMPANY_A).read_text()
    block = text[text.index("  - id: pipeline-share\n") : text.index("  # Sales\n")]
    text = text.replace(block, "", 1).replace("  - id: monthly-lead-value\n", block + "  - id: monthly-lead-value\n", 1)
    (history / COMPANY_A).write_text(text)
    md = run("diff", "--format", "md", "--show-moves", cwd=history).output
    # Renumbered, not rewritten: every section is compared with itself.
    assert "{--" not in md and "{++" not in md
    assert "moved" in md


def test_two_files_outside_git(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    shutil.copy(ROOT / COMPANY_A, old)
    new.write_text(
        old.read_text()
        .replace("planned: 50\n        - id: web-sales-ready", "planned: 60\n        - id: web-sales-ready")
        .replace("total: {amount: 550000, currency: USD}", "total: {amount: 570000, currency: USD}")
    )
    result = run("diff", "--files", str(old), str(new), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (
        "~ Marketing commitments > Deliver $550,000 of lead value every month > Lead value > Total lead value: "
        "$550,000 -> $570,000  [stricter for Marketing]" in result.output
    )
    assert "> Lead sources > Webinar leads > Planned leads: 50 -> 60  [stricter for Marketing]" in result.output


def test_out_writes_only_that_file(history: Path, tmp_path: Path) -> None:
    edit(history, COMPANY_A, "count: 310", "count: 300")
    before = git(history, "status", "--porcelain")
    result = run("diff", "--format", "md", "--out", str(tmp_path / "report.md"), cwd=history)
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "report.md").read_text().startswith("## Agreement changes: HEAD (")
    assert git(history, "status", "--porcelain") == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["no-such-branch"], "unknown revision 'no-such-branch': Git knows no commit by that name."),
        (["--", "--output=x"], "unknown revision '--output=x'"),
        (["v1", "v1", "v1"], "at most two revisions can be compared, got 3"),
    ],
)
def test_bad_revisions_are_usage_errors(history: Path, args: list[str], message: str) -> None:
    result = run_process("diff", *args, cwd=history)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_option_like_revision_is_refused(history: Path) -> None:
    result = run_process("diff", "--output=x", cwd=history)
    assert result.returncode == 2
    assert not (history / "x").exists()


def test_path_outside_the_repository(history: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = run_process("diff", "HEAD", str(outside), cwd=history)
    assert result.returncode == 2
    assert f"path '{outside}' is outside the repository" in result.stderr


def test_not_a_repository(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sla", tmp_path / "sla")
    result = run_process("diff", cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.returncode == 2
    assert "is not inside a Git repository" in result.stderr


def test_shallow_clone_missing_the_revision(history: Path, tmp_path: Path) -> None:
    edit(history, COMPANY_A, "count: 310", "count: 300")
    commit(history, "Second")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{history}", str(clone)], check=True, capture_output=True
    )
    result = run_process("diff", "HEAD~1", "HEAD", cwd=clone)
    assert result.returncode == 2
    assert "The repository is a shallow clone" in result.stderr and "git fetch --unshallow" in result.stderr


def test_empty_repository(repo: Path) -> None:
    shutil.copytree(ROOT / "sla", repo / "sla")
    result = run_process("diff", cwd=repo)
    assert result.returncode == 2
    assert "the repository has no commits yet" in result.stderr


def test_untrusted_text_in_the_redline_stays_text(history: Path) -> None:
    edit(
        history,
        COMPANY_A,
        "title: Shorten the sales cycle to 35 days",
        'title: "<script>alert(1)</script> \\ue000 | x"',
    )
    html = run("diff", "--format", "html", cwd=history).output
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    redline = html.split('<div class="redline">')[1]
    assert "\ue000" not in redline and "\ufffd" in redline  # a marker character in the text cannot fake a mark
    assert html.count("<ins>") == html.count("</ins>") and html.count("<del>") == html.count("</del>")


def test_a_link_to_an_agreement_beside_it_is_the_same_agreement(repo: Path) -> None:
    """validate checks it once, under the file's own name; the diff agrees, with Git, which
    sees a link as no agreement (it reported a rename and a reused id, and exit 1)."""
    (repo / "sla").mkdir()
    shutil.copy(ROOT / "sla" / "two-way-street.yaml", repo / "sla" / "two-way-street.yaml")
    (repo / "sla" / "inner-link.yaml").symlink_to("two-way-street.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "an agreement and a link to it")
    checked = run("validate", "sla", cwd=repo)
    assert checked.exit_code == 0 and "1 agreement checked: all valid" in checked.output
    result = run("diff", cwd=repo)
    assert result.exit_code == 0, result.output
    assert "0 of 1 agreement differ" in result.output and "renamed" not in result.output


def test_a_file_named_follows_its_agreement_across_a_rename(history: Path) -> None:
    """Agreements are matched by id: naming a renamed file, by its new or its old name, shows
    the rename and its changes, not an agreement 'added' (or 'removed') with none."""
    git(history, "mv", COMPANY_A, "sla/company-a.yaml")
    edit(history, "sla/company-a.yaml", "response_time: 1 business hour", "response_time: 0.5 business hours")
    commit(history, "Shorter name, faster follow-up")
    expected = [("sla/company-a.yaml", "renamed", COMPANY_A)]
    for named in ("sla/company-a.yaml", COMPANY_A):
        code, data = diff_json(history, "v1", "HEAD", named)
        assert code == 0, named
        assert [(a["path"], a["status"], a.get("old_path")) for a in data["agreements"]] == expected, named
        (change,) = [c for c in data["agreements"][0]["changes"] if c["label"].endswith("Response time")]
        assert (change["old"], change["new"], change["effect"]) == ("1 business hour", "0.5 business hours", "stricter")
    # The same against the working tree, the rename not yet committed.
    git(history, "mv", "sla/company-a.yaml", "sla/company-a-2020.yaml")
    code, data = diff_json(history, "HEAD", "sla/company-a-2020.yaml")
    assert code == 0
    assert [(a["path"], a["status"], a.get("old_path")) for a in data["agreements"]] == [
        ("sla/company-a-2020.yaml", "renamed", "sla/company-a.yaml")
    ]
    assert data["agreements"][0]["changes"] == []
