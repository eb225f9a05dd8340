"""Regression tests: each guards a defect found by trying the toolkit as a new user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, git, run, run_process

CASES = ROOT / "tests" / "cases"
MINIMAL = (CASES / "valid" / "minimal.yaml").read_text()
A = "sla/company-a-lead-management.yaml"


def folder_with(tmp_path: Path, **files: str) -> Path:
    sla = tmp_path / "sla"
    sla.mkdir(exist_ok=True)
    for name, text in files.items():
        (sla / f"{name}.yaml").write_text(text)
    return sla


def test_strict_rebuild_does_not_trust_a_lenient_cache(tmp_path: Path) -> None:
    sla = folder_with(tmp_path)
    shutil.copy(CASES / "invalid" / "review-overdue.yaml", sla / "late.yaml")
    assert run("render", str(sla), "--out", str(tmp_path / "out")).exit_code == 0
    strict = run_process("render", str(sla), "--out", str(tmp_path / "out"), "--strict")
    assert strict.returncode == 1
    assert "error[review]" in strict.stdout


def test_cached_agreement_still_counts_in_the_duplicate_id_check(tmp_path: Path) -> None:
    sla = folder_with(tmp_path, b=MINIMAL)
    assert run("render", str(sla), "--out", str(tmp_path / "out")).exit_code == 0
    (sla / "a.yaml").write_text(MINIMAL)
    result = run_process("render", str(sla), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "error[unique]: agreement id 'minimal' is also used by" in result.stdout
    assert "2 agreements checked" in result.stdout


def test_index_date_outside_git_is_stable_across_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH")  # the date then comes from the agreements themselves
    shutil.copytree(ROOT / "sla", tmp_path / "sla")
    out = tmp_path / "out"
    run("render", "sla", "--out", str(out), cwd=tmp_path)
    first = (out / "index.md").read_text()
    second = run("render", "sla", "--out", str(out), cwd=tmp_path)
    assert "0 files written" in second.output
    path = tmp_path / "sla" / "company-a-lead-management.yaml"
    path.write_text(path.read_text().replace("version: 4", "version: 5"))
    run("render", "sla", "--out", str(out), cwd=tmp_path)
    assert (out / "index.md").read_text().splitlines()[2] == first.splitlines()[2]
    assert "1 January 1970" not in first


def test_manifest_cannot_make_the_build_delete_outside_files(tmp_path: Path) -> None:
    sla = folder_with(tmp_path, minimal=MINIMAL)
    out = tmp_path / "deep" / "out"
    run("render", str(sla), "--out", str(out))
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    manifest = json.loads((out / ".slakit-build.json").read_text())
    manifest["outputs"] += ["../../precious.txt", "/etc/hostname", "../x.md"]
    (out / ".slakit-build.json").write_text(json.dumps(manifest))
    result = run("render", str(sla), "--out", str(out))
    assert result.exit_code == 0 and precious.read_text() == "keep me"
    assert "0 removed" in result.output


def test_redline_keeps_escaped_table_pipes_whole(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    shutil.copy(ROOT / A, old)
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text().replace("role: Chief Marketing Officer", 'role: "CMO | *CEO* | X"'))
    md = run("diff", "--files", str(old), str(new), "--format", "md").output
    row = next(line for line in md.splitlines() if line.startswith("| Dana Whitfield |"))
    assert row.count(" | ") == md.splitlines()[md.splitlines().index(row) - 2].count(
        " | "
    )  # same columns as the header
    assert "<ins>CMO \\| \\*CEO\\* \\| X</ins>" in row


@pytest.mark.parametrize(
    "share, said",
    [
        ("100.5%", "100.5% is more than 100%; write a percentage from 0% to 100%, such as 35%"),
        ("150%", "150% is more than 100%; write a percentage from 0% to 100%, such as 35%"),
        ("-5%", "the text '-5%' is not a percentage (a percentage from 0% to 100%"),
    ],
)
def test_percentage_above_100_is_rejected(tmp_path: Path, share: str, said: str) -> None:
    text = MINIMAL.replace("    lead_volume:", f'    pipeline_share: {{share: "{share}"}}\n    lead_volume:')
    sla = folder_with(tmp_path, minimal=text)
    result = run("validate", str(sla))
    assert result.exit_code == 1 and f"pipeline_share.share: {said}" in result.output, result.output


def test_numbers_follow_yaml_1_2(tmp_path: Path) -> None:
    sla = folder_with(tmp_path, minimal=MINIMAL.replace("count: 10", "count: 012"))
    assert run("render", str(sla), "--out", str(tmp_path / "out")).exit_code == 0
    assert "Marketing will deliver at least 12 leads each month." in (tmp_path / "out" / "minimal.md").read_text()
    (sla / "minimal.yaml").write_text(MINIMAL.replace("count: 10", "count: 1_000"))
    result = run("validate", str(sla))
    assert "expected a whole number, but found the text '1_000'" in result.output


def test_unwritable_outputs_are_messages_not_tracebacks(tmp_path: Path) -> None:
    sla = folder_with(tmp_path, minimal=MINIMAL)
    (tmp_path / "afile").write_text("x")
    result = run_process("render", str(sla), "--out", str(tmp_path / "afile" / "sub"))
    # The same write failure has one exit code (2) whether the build or --out hits it.
    assert result.returncode == 2 and "cannot write to the output folder" in result.stderr
    result = run_process(
        "diff",
        "--files",
        str(sla / "minimal.yaml"),
        str(sla / "minimal.yaml"),
        "--out",
        str(tmp_path / "nodir" / "x.md"),
    )
    assert result.returncode == 2 and "cannot write" in result.stderr
    result = run_process("validate", str(sla), env={"SOURCE_DATE_EPOCH": "99999999999999"})
    assert result.returncode == 2 and "is not a timestamp" in result.stderr
    for r in (result,):
        assert "Traceback" not in r.stderr


def history(repo: Path) -> Path:
    shutil.copytree(ROOT / "sla", repo / "sla")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    return repo


def test_copied_agreement_is_a_duplicate_not_a_rename(repo: Path) -> None:
    history(repo)
    shutil.copy(repo / A, repo / "sla" / "copy.yml")
    result = run("diff", cwd=repo)
    assert result.exit_code == 1
    assert "renamed" not in result.output
    assert "error[unique]: agreement id 'company-a-lead-management' is also used by" in result.output


def test_deleted_file_can_be_named(repo: Path) -> None:
    history(repo)
    git(repo, "rm", "-q", "sla/social-selling.yaml")
    git(repo, "commit", "-q", "-m", "two")
    result = run("diff", "HEAD~1", "HEAD", "sla/social-selling.yaml", cwd=repo)
    assert result.exit_code == 0, result.output
    assert "sla/social-selling.yaml: removed" in result.output


def test_figures_compare_by_value_and_objects_declare_direction(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    shutil.copy(ROOT / A, old)
    new.write_text(
        old.read_text()
        .replace("within: 24 hours", "within: 1 day")
        .replace("annual: {amount: 15000000, currency: USD}", "annual: {amount: 16000000, currency: USD}")
        .replace("monthly: {amount: 1250000, currency: USD}", "monthly: {amount: 1333333, currency: USD}")
    )
    out = run("diff", "--files", str(old), str(new)).output
    assert "Shared within" not in out
    assert "Company goals > Revenue > Target > Annual revenue: $15,000,000 -> $16,000,000  [stricter]" in out


def test_terminal_control_characters_are_escaped(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    shutil.copy(ROOT / A, old)
    new.write_text(
        old.read_text().replace(
            "title: Company A sales and marketing agreement 2020",
            'title: "Evil \\e]0;pwned\\a \\e[8mhidden \\u202etxt"',
        )
    )
    out = run("diff", "--files", str(old), str(new)).output
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;pwned\\x07" in out


def test_bidi_overrides_do_not_reach_the_page(tmp_path: Path) -> None:
    sla = folder_with(tmp_path, minimal=MINIMAL.replace("title: Minimal agreement", 'title: "evil\\u202eexe.txt"'))
    assert run("render", str(sla), "--out", str(tmp_path / "out")).exit_code == 0
    html = (tmp_path / "out" / "minimal.html").read_text()
    assert "\u202e" not in html and "evil\ufffdexe.txt" in html


def test_redline_shows_context_headings_and_numbers_added_sections(repo: Path) -> None:
    history(repo)
    path = repo / A
    path.write_text(
        path.read_text()
        .replace("count: 310", "count: 300")
        .replace(
            "  - id: crm-sales-tools\n",
            "  - id: crm-sales-coaching\n    party: sales\n    title: Coach new reps\n  - id: crm-sales-tools\n",
        )
    )
    md = run("diff", "--format", "md", cwd=repo).output
    assert "#### 5. Marketing commitments\n" in md  # a changed subsection: not "(unchanged)"
    assert "##### 6.5 <ins>Coach new reps</ins> (added)" in md


def test_date_gaps(tmp_path: Path) -> None:
    unsigned = MINIMAL.split("  signatures:")[0]
    text = unsigned.replace("next_review: 2027-01-01", "next_review: 2027-01-01\n  end: 2026-12-31").replace(
        "signoff:\n  everyone: true\n  required:",
        "goals:\n  revenue:\n    baseline: {annual: {amount: 1, currency: USD}, as_of: 2030-01-01}\n"
        "    target: {annual: {amount: 2, currency: USD}}\nsignoff:\n  signatures:\n"
        "    - {name: Sam, role: Head of Marketing, party: marketing, date: 2099-01-01}\n  everyone: true\n  required:",
    )
    sla = folder_with(tmp_path, minimal=text)
    out = run("validate", str(sla)).output
    assert "warning[review]: term.next_review 2027-01-01 is after the agreement ends (2026-12-31)" in out
    assert "the baseline is measured on 2030-01-01, after the agreement ends" in out
    assert "signed on 2099-01-01, a date in the future" in out


def test_diff_skips_hidden_folders_like_validate(repo: Path) -> None:
    history(repo)
    (repo / "sla" / ".drafts").mkdir()
    (repo / "sla" / ".drafts" / "d.yaml").write_text(MINIMAL)
    result = run("diff", cwd=repo)
    assert ".drafts" not in result.output and result.exit_code == 0


@pytest.mark.parametrize(
    "old, new",
    [
        ("review_cadence: annual", "review_cadence: [annual]"),
        ("  - id: marketing\n    name: Marketing\n", "  - id: marketing\n    name: Marketing\n    leader: [x]\n"),
        ("- name: Sam Lee", "- name: [Sam, Lee]"),
        ("signoff:\n  everyone: true\n  required:", "stakeholders: 5\nsignoff:\n  everyone: true\n  required:"),
    ],
)
def test_wrong_types_in_id_and_enum_fields_are_reported_not_raised(tmp_path: Path, old: str, new: str) -> None:
    # Found by the property tests: a list where an id or an enum value belongs reached a dict lookup.
    assert old in MINIMAL
    sla = folder_with(tmp_path, minimal=MINIMAL.replace(old, new, 1))
    result = run_process("validate", str(sla), "--format", "json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert any(p["rule"] == "schema" for p in json.loads(result.stdout)["files"][0]["problems"])


def test_reverting_terms_makes_a_stale_signature_current_again(tmp_path: Path) -> None:
    # Found by the property tests: diff(b, a) must be the inverse of diff(a, b).
    signed, changed = tmp_path / "signed.yaml", tmp_path / "changed.yaml"
    signed.write_text(MINIMAL)
    changed.write_text(MINIMAL.replace("count: 10", "count: 11"))
    forward = run("diff", "--files", str(signed), str(changed)).output
    backward = run("diff", "--files", str(changed), str(signed)).output
    assert "~ Sign-off > Signatures > Sam Lee > Terms signed: current -> stale" in forward
    assert "~ Sign-off > Signatures > Sam Lee > Terms signed: stale -> current" in backward


# -- defects fixed with the domain model ------------------------------------------------------------

REVENUE = """
goals:
  revenue:
    baseline:
      annual: {amount: 150, currency: USD}
    target:
      annual: {amount: 300, currency: USD}
      monthly: {amount: 30, currency: USD}
"""


def test_run_rate_rounds_the_same_in_messages_and_pages(tmp_path: Path) -> None:
    # 150 / 12 = 12.50 and 300 / 12 = 25: both the page and the message round half up, to $13
    # (the message used to say $12 while the page said $13).
    wrong = REVENUE.replace(
        "      annual: {amount: 150, currency: USD}\n",
        "      annual: {amount: 150, currency: USD}\n      monthly: {amount: 20, currency: USD}\n",
    )
    sla = folder_with(tmp_path, minimal=MINIMAL + wrong)
    result = run("validate", str(sla))
    assert "the monthly run rate $20 does not match the annual $150 ÷ 12 = $13" in result.output
    sla = folder_with(tmp_path, minimal=MINIMAL + REVENUE.replace("      monthly: {amount: 30, currency: USD}\n", ""))
    result = run("render", str(sla), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "minimal.md").read_text()
    assert "| Baseline | $150 | $13 (computed) |" in page


def test_the_changelog_skips_hidden_folders_as_validate_does(repo: Path) -> None:
    (repo / "sla" / ".drafts").mkdir(parents=True)
    (repo / "sla" / "minimal.yaml").write_text(MINIMAL)
    (repo / "sla" / ".drafts" / "idea.yaml").write_text(MINIMAL.replace("id: minimal", "id: idea"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Agreements")
    assert "idea" not in run("validate", "sla", cwd=repo).output
    log = json.loads(run("changelog", "--format", "json", cwd=repo).output)
    ids = {a["id"] for q in log["quarters"] for a in q["agreements"]}
    assert ids == {"minimal"}
    diff = json.loads(run("diff", "--format", "json", "HEAD", "HEAD", cwd=repo).output)
    assert [a["id"] for a in diff["agreements"]] == ["minimal"]


def test_a_git_failure_is_not_a_usage_error(repo: Path) -> None:
    (repo / "sla").mkdir()
    (repo / "sla" / "minimal.yaml").write_text(MINIMAL)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Agreement")
    # Remove the blob from the object store: the repository is damaged, the call was right.
    blob = git(repo, "rev-parse", "HEAD:sla/minimal.yaml").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    result = run_process("diff", "HEAD", "HEAD", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    # The unreadable blob is that revision's problem (issue 16: history is read, not trusted).
    assert "Traceback" not in result.stderr
    assert f"HEAD:sla/minimal.yaml:1:1: error[git]: git cannot read object {blob}: {blob} missing" in result.stdout
