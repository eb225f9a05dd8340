"""changelog and status through the real CLI, on repositories with a dated history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, git, run, run_process

A = "sla/company-a-lead-management.yaml"


def at(when: str) -> dict[str, str]:
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


def commit(repo: Path, message: str, when: str, author: str = "Test Author") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env={**at(when), "GIT_AUTHOR_NAME": author})


def edit(repo: Path, path: str, old: str, new: str) -> None:
    file = repo / path
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))


@pytest.fixture
def history(repo: Path) -> Path:
    """Five quarters of history: additions, tightening, formatting, a rename, a broken commit, a merge."""
    (repo / "sla").mkdir()
    shutil.copy(ROOT / A, repo / A)
    commit(repo, "Add the Company A agreement", "2025-12-20T10:00:00+00:00")
    edit(repo, A, "response_time: 1 business hour", "response_time: 0.5 business hours")
    commit(repo, "Faster follow-up (#12)", "2026-02-10T10:00:00+00:00", author="Dana Whitfield")
    edit(repo, A, "# --- About this agreement", "# --- About the agreement")  # comment only
    commit(repo, "Reword a comment", "2026-02-11T10:00:00+00:00")
    shutil.copy(ROOT / "sla" / "social-selling.yaml", repo / "sla" / "social-selling.yaml")
    commit(repo, "Add social selling", "2026-04-02T10:00:00+00:00")
    edit(repo, A, "count: 310", "count: 310\n      count: 300")  # duplicate key: broken
    commit(repo, "Oops", "2026-05-01T10:00:00+00:00")
    edit(repo, A, "count: 310\n      count: 300", "count: 300")
    commit(repo, "Fix the volume", "2026-05-02T10:00:00+00:00")
    git(repo, "mv", "sla/social-selling.yaml", "sla/social.yaml")
    commit(repo, "Shorter file name", "2026-07-15T10:00:00+00:00")
    # A branch merged with a merge commit: its change must be counted once.
    git(repo, "checkout", "-q", "-b", "feature")
    edit(repo, "sla/social.yaml", "version: 5", "version: 6")
    commit(repo, "Bump version", "2026-08-01T10:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "feature",
        "-m",
        "Merge pull request #31 from team/feature",
        env=at("2026-08-03T10:00:00+00:00"),
    )
    # Late on 30 September in New York is already the fourth quarter in UTC.
    edit(repo, A, "count: 300", "count: 305")
    commit(repo, "Late-night tweak", "2026-10-01T02:30:00+00:00")
    return repo


def changelog(repo: Path, *args: str) -> tuple[int, dict]:
    result = run("changelog", "--format", "json", *args, cwd=repo)
    return result.exit_code, json.loads(result.output) if result.exit_code == 0 else result.output


def commits_of(data: dict, quarter: str, ident: str) -> list[dict]:
    q = next(q for q in data["quarters"] if q["quarter"] == quarter)
    return next(a for a in q["agreements"] if a["id"] == ident)["commits"]


def test_quarters_newest_first_with_commits_and_changes(history: Path) -> None:
    code, data = changelog(history)
    assert code == 0
    assert [q["quarter"] for q in data["quarters"]] == [
        "2026-Q4",
        "2026-Q3",
        "2026-Q2",
        "2026-Q1",
        "2025-Q4",
        "2020-Q4",
    ]
    q1 = commits_of(data, "2026-Q1", "company-a-lead-management")
    assert [(c["subject"], c["kind"], c["pull_request"], c["author"]) for c in q1] == [
        ("Reword a comment", "no-change", None, "Test Author"),
        ("Faster follow-up (#12)", "changed", 12, "Dana Whitfield"),
    ]
    change = q1[1]["changes"][0]
    assert (change["label"].split(" > ")[-1], change["old"], change["new"], change["effect"]) == (
        "Response time",
        "1 business hour",
        "0.5 business hours",
        "stricter",
    )


def test_broken_revision_is_listed_and_the_thread_continues(history: Path) -> None:
    _, data = changelog(history)
    q2 = commits_of(data, "2026-Q2", "company-a-lead-management")
    assert [c["kind"] for c in q2] == ["changed", "broken"]
    assert "duplicate key 'count'" in q2[1]["problems"][0]["message"]
    # The fix is compared with the last good version (310), not with the broken one.
    assert [(c["old"], c["new"], c["effect"]) for c in q2[0]["changes"]] == [(310, 300, "looser")]


def test_renames_are_one_thread_and_merges_count_once(history: Path) -> None:
    _, data = changelog(history)
    q3 = commits_of(data, "2026-Q3", "social-selling")
    assert [(c["subject"], c["kind"]) for c in q3] == [
        ("Merge pull request #31 from team/feature", "changed"),
        ("Shorter file name", "renamed"),
    ]
    assert q3[0]["pull_request"] == 31
    assert [(c["label"], c["old"], c["new"]) for c in q3[0]["changes"]] == [("Version", 5, 6)]
    assert q3[1]["old_path"] == "sla/social-selling.yaml" and q3[1]["path"] == "sla/social.yaml"
    subjects = [c["subject"] for q in data["quarters"] for a in q["agreements"] for c in a["commits"]]
    assert "Bump version" not in subjects


def test_quarter_follows_the_agreements_time_zone(history: Path) -> None:
    _, data = changelog(history)
    # 2026-10-01 02:30 UTC is 30 September 22:30 in New York: still the third quarter.
    q3 = commits_of(data, "2026-Q3", "company-a-lead-management")
    assert [(c["subject"], c["date"]) for c in q3] == [("Late-night tweak", "2026-09-30")]


def test_fiscal_year_start(history: Path) -> None:
    _, data = changelog(history, "--fiscal-year-start", "2")
    # February 2026 opens fiscal 2027; December 2025 is the last quarter of fiscal 2026.
    assert [c["subject"] for c in commits_of(data, "2027-Q1", "company-a-lead-management")] == [
        "Reword a comment",
        "Faster follow-up (#12)",
    ]
    assert [c["subject"] for c in commits_of(data, "2026-Q4", "company-a-lead-management")] == [
        "Add the Company A agreement"
    ]


def test_terms_only_since_until_and_quarter(history: Path) -> None:
    _, data = changelog(history, "--terms-only", "--quarter", "2026-Q1")
    assert [q["quarter"] for q in data["quarters"]] == ["2026-Q1"]
    assert [c["subject"] for c in commits_of(data, "2026-Q1", "company-a-lead-management")] == [
        "Faster follow-up (#12)"
    ]
    _, data = changelog(history, "--since", "2026-04-01", "--until", "2026-06-30")
    subjects = [c["subject"] for q in data["quarters"] for a in q["agreements"] for c in a["commits"]]
    assert subjects == ["Fix the volume", "Oops", "Add social selling"]
    tag = git(history, "rev-list", "-1", "--before=2026-04-30", "HEAD").strip()
    _, data = changelog(history, "--since", tag)
    subjects = [c["subject"] for q in data["quarters"] for a in q["agreements"] for c in a["commits"]]
    assert "Add social selling" not in subjects and "Fix the volume" in subjects


def test_quarter_summary_and_reviews(history: Path) -> None:
    git(history, "tag", "review/company-a-lead-management/2026-Q1")
    md = run("changelog", cwd=history).output
    assert "## 2026-Q1 (Jan-Mar 2026)" in md
    assert (
        "- **Company A sales and marketing agreement 2020**: 1 change, 1 stricter, 0 looser; "
        "review completed (tag `review/company-a-lead-management/2026-Q1`)"
    ) in md
    assert (
        "- **Company A sales and marketing agreement 2020**: 0 changes, 0 stricter, 0 looser; reviewed 1 October 2020"
        in md
    )
    # The pull request is named once: the subject already says (#12).
    assert "#### 10 February 2026: Faster follow-up (#12) (" in md and ", Dana Whitfield)" in md
    assert "pull request #12" not in md
    assert "No change in terms." in md


def test_html_changelog(history: Path) -> None:
    html = run("changelog", "--format", "html", cwd=history).output
    assert html.count("<h1>") == 1 and "<h2>2026-Q4 (Oct-Dec 2026)</h2>" in html
    assert 'href="index.html"' not in html  # standalone: no neighbour to link to
    assert "stricter for Sales" in html


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "03/04/2026"], "--since '03/04/2026' is not a date written YYYY-MM-DD"),
        (["--until", "2026-13-45"], "--until '2026-13-45' is not a date written YYYY-MM-DD"),
        (["--since", "no-such-tag"], "unknown revision 'no-such-tag'"),
        (["--quarter", "Q3-2026"], "'Q3-2026' is not a quarter; write it like 2026-Q3"),
        (["--fiscal-year-start", "13"], "--fiscal-year-start must be a month number from 1 to 12"),
    ],
)
def test_bad_options_are_usage_errors(history: Path, args: list[str], message: str) -> None:
    result = run_process("changelog", *args, cwd=history)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_not_a_repository_and_no_commits(tmp_path: Path, repo: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_process("changelog", cwd=plain, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.returncode == 2 and "is not inside a Git repository" in result.stderr
    (repo / "sla").mkdir()
    result = run_process("changelog", cwd=repo)
    assert result.returncode == 2 and "the repository has no commits yet" in result.stderr


def test_shallow_clone_says_where_history_stops(history: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{history}", str(clone))
    result = run_process("changelog", cwd=clone)
    assert result.returncode == 2
    assert "the history is truncated at" in result.stderr and "git fetch --unshallow" in result.stderr


def test_render_publishes_the_changelog_and_links_it(history: Path) -> None:
    result = run("render", "--out", "dist", cwd=history)
    assert result.exit_code == 0, result.output
    assert (history / "dist" / "changelog.md").read_text().startswith("# Changelog of the agreements\n")
    assert '<a href="changelog.html">the changelog</a>' in (history / "dist" / "index.html").read_text()
    again = run("render", "--out", "dist", cwd=history)
    assert again.output.splitlines()[-1].startswith("0 rendered, 2 unchanged; 0 files written")


def test_status_table(history: Path) -> None:
    edit(history, "sla/social.yaml", "version: 6", "version: 7")
    result = run("status", cwd=history)
    lines = result.output.splitlines()
    assert lines[0].split() == ["Agreement", "Status", "Last", "change", "Next", "review", "Sign-off", "Attention"]
    assert lines[1].split() == [
        "company-a-lead-management",
        "retired",
        "2026-10-01",
        "2020-12-15",
        "not",
        "signed",
        "by",
        "all",
        "(retired)",
        "(3",
        "stale)",  # the history's last commits changed Company A's terms
    ]
    assert lines[2].split() == [
        "social-selling",
        "active",
        "uncommitted",
        "2026-12-01",
        "signed",
        "by",
        "all",
        "(3",
        "unverified)",  # this repository has no allowed_signers to check the SSH signatures with
    ]  # version is not a term
    data = json.loads(run("status", "--format", "json", cwd=history).output)
    assert [r["overdue"] for r in data["agreements"]] == [False, False]


def test_a_removed_agreement_has_no_review_due_after_its_removal(repo: Path) -> None:
    """An agreement deleted from sla/ is no longer reviewed: the changelog must not list
    the next review its last version named (2027-01-04) in a later quarter."""
    (repo / "sla").mkdir()
    shutil.copy(ROOT / "sla" / "buyer-journey-handoff.yaml", repo / "sla" / "handoff.yaml")
    commit(repo, "Add the handoff agreement", "2026-10-05T10:00:00+00:00")
    (repo / "sla" / "handoff.yaml").unlink()
    commit(repo, "Drop the handoff agreement", "2026-10-20T10:00:00+00:00")
    code, data = changelog(repo)
    assert code == 0
    assert [q["quarter"] for q in data["quarters"]] == ["2026-Q4"]
    (handoff,) = data["quarters"][0]["agreements"]
    assert handoff["reviews_due"] == [] and handoff["reviews_overdue"] == []
    assert [c["kind"] for c in handoff["commits"]] == ["removed", "added"]
    assert "2027-Q1" not in run("changelog", "--format", "md", cwd=repo).output


def test_commits_in_the_same_second_are_listed_newest_first(repo: Path) -> None:
    """Scripts and rebases make commits within one second: the history's order decides."""
    (repo / "sla").mkdir()
    shutil.copy(ROOT / A, repo / A)
    same = "2026-02-10T10:00:00+00:00"
    commit(repo, "First", same)
    edit(repo, A, "count: 310", "count: 300")
    commit(repo, "Second", same)
    edit(repo, A, "count: 300", "count: 290")
    commit(repo, "Third", same)
    code, data = changelog(repo)
    assert code == 0
    assert [c["subject"] for c in commits_of(data, "2026-Q1", "company-a-lead-management")] == [
        "Third",
        "Second",
        "First",
    ]
