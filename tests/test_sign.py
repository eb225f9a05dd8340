"""Sign-off: signatures bound to the terms, through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, git, run, run_process

SOCIAL = ROOT / "sla" / "social-selling.yaml"

ODD = """\
# yaml-language-server: $schema=../schema/sla.schema.json
# An agreement with comments and unusual formatting that signing must not disturb.
id:   odd-format          # extra spaces before the value
title: 'Odd formatting: kept as written'
kind: lead-management
status: draft
version: "7"
effective: 2026-01-01
term: {review_cadence: annual, last_review: 2026-01-01, next_review: 2027-01-01}
timezone: UTC
parties:
- id: marketing      # a sequence at the key's indentation
  name: Marketing
- {id: sales, name: Sales}
stakeholders:
- {id: ana, name: Ana Ruiz, role: Head of Marketing, party: marketing}
- {id: ben, name: "Ben O'Hara", role: Head of Sales, party: sales}
commitments:
- id: mql-volume
  party: marketing
  title: >-
    Deliver ten qualified
    leads a month
  lead_volume: {count: 10, per: month}
signoff:
    # signers, indented by four
    required:
        -   id: marketing-lead
            role: Head of Marketing
            party: marketing
        -   id: sales-lead
            role: Head of Sales
            party: sales
    everyone: false
# a trailing comment
"""


@pytest.fixture
def odd(tmp_path: Path) -> Path:
    path = tmp_path / "sla" / "odd.yaml"
    path.parent.mkdir()
    path.write_text(ODD)
    return path


WHO = {"GIT_COMMITTER_NAME": "Rita Ops", "GIT_COMMITTER_EMAIL": "rita.ops@example.com"}


def sign(path: Path, *args: str, cwd: Path | None = None):
    """`sign` as a real process, run by Rita from revenue operations (her Git identity)."""
    return run_process("sign", str(path), *args, cwd=cwd, env=WHO)


def added_lines(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`, given that nothing else may change."""
    b, a = before.splitlines(), after.splitlines()
    start = next((i for i, (x, y) in enumerate(zip(b, a)) if x != y), len(b))
    tail = len(b) - start
    assert a[:start] == b[:start] and a[len(a) - tail :] == b[start:], "lines other than the signature changed"
    return a[start : len(a) - tail]


def test_sign_adds_only_the_signature_lines(odd: Path) -> None:
    result = sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-03-01")
    assert result.returncode == 0, result.stderr
    lines = added_lines(ODD, odd.read_text())
    assert lines[:5] == [
        "    signatures:",
        "      - name: Ana Ruiz",
        "        role: Head of Marketing",
        "        party: marketing",
        "        date: 2026-03-01",
    ]
    assert lines[5].startswith("        terms: sha256:")
    assert lines[6:] == ["        recorded_by: Rita Ops <rita.ops@example.com>"]  # who ran it
    # A second signer goes after the first, in the same list; the party comes from the stakeholder.
    before = odd.read_text()
    assert sign(odd, "--name", "Ben O'Hara", "--role", "Head of Sales", "--date", "2026-03-02").returncode == 0
    lines = added_lines(before, odd.read_text())
    assert lines[:3] == ["      - name: Ben O'Hara", "        role: Head of Sales", "        party: sales"]
    data = json.loads(run("validate", "--format", "json", str(odd)).output)
    assert data["files"][0]["problems"] == []


def test_signing_twice_for_the_same_terms_changes_nothing(odd: Path) -> None:
    sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-03-01")
    before = odd.read_bytes()
    result = sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing")
    assert result.returncode == 0
    assert "already signed these terms on 2026-03-01" in result.stdout
    assert odd.read_bytes() == before


def test_digest_ignores_formatting_and_follows_terms(odd: Path) -> None:
    sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-03-01")
    signed = odd.read_text()
    # Reformat, reorder keys and list items, restate figures, bump version and status: still current.
    reformatted = (
        signed.replace("id:   odd-format          # extra spaces before the value", "id: odd-format")
        .replace("lead_volume: {count: 10, per: month}", "lead_volume:\n    per: month\n    count: 10")
        .replace('version: "7"', 'version: "8"')
        .replace("status: draft", "status: active")
        .replace("- {id: sales, name: Sales}\n", "")
        .replace("parties:\n", "parties:\n- {name: Sales, id: sales}\n")
    )
    odd.write_text(reformatted)
    out = run("validate", str(odd)).output
    assert "stale" not in out
    # Any change of meaning makes it stale.
    odd.write_text(reformatted.replace("count: 10", "count: 11"))
    out = run("validate", "--format", "json", str(odd)).output
    messages = [p["message"] for p in json.loads(out)["files"][0]["problems"]]
    assert any(
        "Ana Ruiz signed earlier terms; the terms have changed since, so the signature is stale" in m for m in messages
    )


def test_missing_signatures_are_quiet_for_drafts_and_fail_active_agreements_only_when_enforced(odd: Path) -> None:
    # A draft awaits its signatures: that is its state (status says so), not a warning on every run.
    result = run("validate", str(odd))
    assert result.exit_code == 0
    assert "signature" not in result.output and result.output.endswith("all valid\n")
    assert run("validate", "--strict", str(odd)).exit_code == 0
    assert "awaiting 2 of 2 signatures" in run("status", "sla", cwd=odd.parent.parent).output
    # An active agreement awaiting signatures is normal while it is amended: a warning,
    # an error only when the sign-off is enforced (the merge to main).
    odd.write_text(ODD.replace("status: draft", "status: active"))
    result = run("validate", str(odd))
    assert result.exit_code == 0 and "warning[signoff]" in result.output
    result = run("validate", "--enforce-signoff", str(odd))
    assert result.exit_code == 1
    assert "error[signoff]: signoff.required[sales-lead]: no current signature from Head of Sales" in result.output
    result = run_process("validate", str(odd), env={"SLAKIT_ENFORCE_SIGNOFF": "1"})
    assert result.returncode == 1 and "error[signoff]" in result.stdout
    # A draft is not enforced: it is still being written.
    odd.write_text(ODD)
    assert run("validate", "--enforce-signoff", str(odd)).exit_code == 0


def test_signature_by_a_stranger_is_an_error(odd: Path) -> None:
    odd.write_text(
        ODD.replace(
            "    everyone: false",
            "    everyone: false\n    signatures:\n"
            "    - {name: Mallory, role: Head of Sales, party: sales, date: 2026-02-01}",
        )
    )
    result = run("validate", str(odd))
    assert "error[signature]: signoff.signatures[Mallory]: 'Mallory' is not listed in this agreement" in result.output
    assert "records no terms digest" in result.output
    # everyone: true does not open the door to strangers any more.
    odd.write_text(odd.read_text().replace("everyone: false", "everyone: true"))
    result = run("validate", str(odd))
    assert result.exit_code == 1 and "'Mallory' is not listed in this agreement" in result.output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--name", "Ana Ruiz", "--role", "Head of Marketing", "--party", "finance"], 2, "unknown party 'finance'"),
        (
            ["--name", "Ana Ruiz", "--role", "Chief Cook"],
            2,
            "unknown role 'Chief Cook' for Ana Ruiz (party 'marketing'); the agreement gives them: Head of Marketing",
        ),
        (["--name", "Ana Ruiz", "--role", "Head of Sales"], 2, "unknown role 'Head of Sales' for Ana Ruiz"),
        (["--name", "Zed", "--role", "Head of Sales"], 2, "'Zed' is not listed in this agreement, so may not sign"),
        (
            ["--name", "Ana Ruis", "--role", "Head of Marketing"],
            2,
            "'Ana Ruis' is not listed in this agreement (did you mean 'Ana Ruiz'?), so may not sign",
        ),
        (
            ["--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2025-12-31"],
            2,
            "would be older than the agreement: its first version took effect on 2026-01-01",
        ),
        (["--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2099-01-01"], 2, "is in the future"),
        (
            ["--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "01/03/2026"],
            2,
            "is not a date written YYYY-MM-DD",
        ),
        (
            ["--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "0001-01-01"],
            2,
            "--date 0001-01-01: give a date in the years 1900 to 2199",
        ),
        (
            ["--name", "Ana Ruiz", "--role", "Head of Marketing", "--party", "sales"],
            2,
            "Ana Ruiz belongs to party 'marketing'",
        ),
    ],
)
def test_bad_signing_requests_leave_the_file_unchanged(odd: Path, args: list[str], code: int, message: str) -> None:
    before = odd.read_bytes()
    result = sign(odd, *args)
    assert result.returncode == code
    assert message in result.stderr and "Traceback" not in result.stderr
    assert odd.read_bytes() == before


@pytest.mark.parametrize(
    "breakage",
    [
        ("lead_volume: {count: 10, per: month}", "lead_volume: {count: ten, per: month}"),
        ("    everyone: false", "    everyone: false\n    signatures: {name: Ana}"),
        ("    everyone: false", "    everyone: false\n    signatures:\n    - just a string"),
    ],
)
def test_signing_a_file_that_does_not_validate_is_refused(odd: Path, breakage: tuple[str, str]) -> None:
    odd.write_text(ODD.replace(*breakage))
    before = odd.read_bytes()
    result = sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing")
    assert result.returncode == 1
    assert "has problems; fix them before signing (the file was not changed)" in result.stderr
    assert odd.read_bytes() == before


def test_resigning_new_terms_replaces_the_stale_signature(odd: Path) -> None:
    sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-03-01")
    odd.write_text(odd.read_text().replace("count: 10", "count: 12"))
    before = odd.read_text()
    assert sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-03-05").returncode == 0
    after = odd.read_text()
    assert after.count("- name: Ana Ruiz") == 1 and "date: 2026-03-05" in after and "date: 2026-03-01" not in after
    assert len(after.splitlines()) == len(before.splitlines())
    assert "stale" not in run("validate", str(odd)).output


def test_rendered_sign_off_shows_who_signed_which_terms(odd: Path, tmp_path: Path) -> None:
    sign(odd, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-03-01")
    assert run("render", str(odd.parent), "--out", str(tmp_path / "out")).exit_code == 0
    md = (tmp_path / "out" / "odd-format.md").read_text()
    assert "| Draft | 7 | 1 January 2026 | 1 January 2027 | awaiting 1 of 2 signatures |" in md
    assert "| Head of Marketing | Marketing | Ana Ruiz | Signed these terms | 1 March 2026 |" in md
    assert "| Head of Sales | Sales |  |  |  |" in md  # left blank, to be signed by hand
    assert "| Ana Ruiz | Head of Marketing | Marketing | 1 March 2026 | unverified; recorded by Rita Ops |" in md
    html = (tmp_path / "out" / "odd-format.html").read_text()
    assert '<dt>Sign-off</dt><dd><a href="#sign-off">Awaiting 1 of 2 signatures</a></dd>' in html
    assert 'class="banner"' not in html  # a draft awaiting signatures is not an amendment
    index = (tmp_path / "out" / "index.md").read_text()
    assert "| awaiting 1 of 2 signatures |" in index


def test_diff_and_changelog_report_signatures_added_and_made_stale(repo: Path) -> None:
    (repo / "sla").mkdir()
    shutil.copy(SOCIAL, repo / "sla" / "social-selling.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Signed agreement")
    path = repo / "sla" / "social-selling.yaml"
    path.write_text(path.read_text().replace("target: 5\n", "target: 4\n", 1))
    out = run("diff", cwd=repo).output
    assert "~ Sign-off > Signatures > Fiona McBride > Terms signed: current -> stale" in out
    git(repo, "commit", "-q", "-am", "Fewer posts")
    md = run("changelog", cwd=repo).output
    assert "Sign-off \\> Signatures \\> Priya Raman \\> Terms signed: current -\\> stale" in md
    result = sign(
        Path("sla/social-selling.yaml"), "--name", "Priya Raman", "--role", "Marketing program manager", cwd=repo
    )
    assert result.returncode == 0, result.stderr
    out = run("diff", cwd=repo).output
    assert "Sign-off > Signatures > Priya Raman > Date: 13 November 2026 -> 16 November 2026" in out
    assert "Sign-off > Signatures > Priya Raman > SSH signature: removed" in out  # signed again without a key


def test_sign_keeps_unicode_line_separators_in_a_role(odd: Path) -> None:
    # Found by the property tests: a role holding U+2028/U+2029 was written raw into a quoted
    # scalar, which YAML folds like a line break, so the signature no longer matched.
    role = "Head of\u2028Marketing\u2029"
    odd.write_text(ODD.replace("role: Head of Marketing", 'role: "Head of\\LMarketing\\P"'))
    result = sign(odd, "--name", "Ana Ruiz", "--role", role, "--date", "2026-03-01")
    assert result.returncode == 0, result.stderr
    assert '        role: "Head of\\u2028Marketing\\u2029"\n' in odd.read_text()
