"""Regression tests for the defects the property tests found, each with its failing example
written out literally. Open defects are xfail(strict=True): when a fix lands the test passes,
pytest reports XPASS(strict) as a failure, and the marker comes off. Fixed defects guard the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import html5lib
import pytest

from conftest import ROOT, git, run

MINIMAL = (ROOT / "tests" / "cases" / "valid" / "minimal.yaml").read_text()

# The smallest agreement with a party of each id (draft, no signatures yet).
AGREEMENT = """\
id: regression
title: Regression agreement
kind: other
status: draft
version: 1
effective: 2026-01-01
term:
  review_cadence: annual
timezone: UTC
parties:
  - id: {party}
    name: Marketing
  - id: sales
    name: Sales
stakeholders:
  - id: sam
    name: Sam Lee
    role: {role}
    party: {party}
commitments:
  - id: mql-volume
    party: {party}
    title: Deliver 10 qualified leads a month
signoff:
  required:
    - id: marketing-lead
      role: {role}
      party: {party}
"""


def validate_json(path: Path) -> list[dict]:
    result = run("validate", "--format", "json", str(path))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["files"][0]["problems"]


# -- open defects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        ("title: Minimal agreement\n", ""),  # KeyError: 'title' (history.py)
        (
            "    party: marketing\n    title: Deliver",
            "    party: [marketing]\n    title: Deliver",
        ),  # TypeError (compare.py)
        (
            "term:\n  review_cadence: annual\n  last_review: 2026-01-01\n  next_review: 2027-01-01\n",
            "term: [annual]\n",
        ),  # AttributeError: 'list' object has no attribute 'get' (history.py)
    ],
)
def test_changelog_lists_a_committed_revision_with_wrong_fields(repo: Path, old: str, new: str) -> None:
    assert old in MINIMAL
    (repo / "sla").mkdir()
    (repo / "sla" / "minimal.yaml").write_text(MINIMAL)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "good")
    (repo / "sla" / "minimal.yaml").write_text(MINIMAL.replace(old, new, 1))
    git(repo, "commit", "-q", "-am", "bad")
    result = run("changelog", "--format", "json", cwd=repo)
    assert result.exit_code == 0
    commits = [c for q in json.loads(result.stdout)["quarters"] for a in q["agreements"] for c in a["commits"]]
    assert len(commits) == 2


def test_unknown_fields_are_each_located_on_their_own_line(tmp_path: Path) -> None:
    # Was: each unknown field located by a linear scan of its mapping, O(n^2) (2,000 took over a
    # second, a 1 MiB file of them half an hour). Now each mapping's keys are indexed once; this
    # checks every location is still right (speed is measured by the fuzz tests and bench/).
    path = tmp_path / "a.yaml"
    first = MINIMAL.count("\n") + 1
    path.write_text(MINIMAL + "".join(f"field{i}: 1\n" for i in range(2000)))  # 32 KB
    result = run("validate", str(path))
    assert result.exit_code == 1 and result.output.count("unknown field") == 2000
    for i in (0, 999, 1999):
        assert f"{path}:{first + i}:1: error[schema]: the agreement: unknown field 'field{i}'" in result.output


def _dangling(n: int) -> str:
    head, tail = MINIMAL.split("parties:")[0], "commitments:" + MINIMAL.split("commitments:")[1]
    return (
        head
        + "parties:\n  - {id: marketing, name: M}\n"
        + "".join(f"  - {{id: team-{i}, name: T{i}}}\n" for i in range(n))
        + "meetings:\n  - id: sync\n    title: Sync\n    cadence: weekly\n    duration: 1 hour\n    attendees:\n"
        + "".join(f"      - ghost-{i}\n" for i in range(n))
        + tail
    )


def test_dangling_reference_report_grows_linearly(tmp_path: Path) -> None:
    sizes = []
    for n in (100, 200):
        path = tmp_path / f"{n}.yaml"
        path.write_text(_dangling(n))
        result = run("validate", str(path))
        assert result.exit_code == 1 and result.output.count("error[ref]") == n
        sizes.append(len(result.output))
    assert sizes[1] <= 2.5 * sizes[0], sizes


# Was: reported at 1:1, with a message spanning two lines ('...not allowed' + '  in
# "<unicode string>", position 27'). Fixed: the reader's error is placed at the character.
def test_control_character_is_reported_on_its_own_line_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"id: x\ntitle: a\x01b\n")
    result = run("validate", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 2, lines  # the problem, then the summary
    assert lines[0].startswith(f"{path}:2:9: error[yaml]:"), lines[0]


# -- fixed defects (found by the property tests, fixed in 773dc7e and 8e5699f) ----------------------------


@pytest.mark.parametrize("party", ['"2026"', '"0"', '"true"', '"null"', '"0x1f"', '"1e5"'])
def test_sign_quotes_party_ids_that_yaml_reads_as_other_types(tmp_path: Path, party: str) -> None:
    # Was: the party was written unquoted, read back as a number, boolean or null, and sign refused
    # ("could not add the signature ... safely", exit 1). Fixed in 8e5699f.
    path = tmp_path / "a.yaml"
    path.write_text(AGREEMENT.format(party=party, role="Head of Marketing"))
    assert not [p for p in validate_json(path) if p["severity"] == "error"]
    result = run("sign", str(path), "--name", "Sam Lee", "--role", "Head of Marketing", "--date", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert not [p for p in validate_json(path) if p["severity"] == "error"]


def _render(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sla").mkdir()
    (tmp_path / "sla" / "a.yaml").write_text(text, encoding="utf-8")
    result = run("render", "sla", "--out", "out", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def test_meetings_without_a_communication_block_render(tmp_path: Path) -> None:
    # Was: UndefinedError: 'dict object' has no attribute 'feedback' (communication.md.j2:2).
    out = _render(
        tmp_path,
        MINIMAL + "meetings:\n  - id: weekly-sync\n    title: Weekly sync\n    cadence: weekly\n"
        "    duration: 30 minutes\n    attendees: [marketing, sales]\n",
    )
    assert "Weekly sync" in (out / "minimal.md").read_text()


def test_noncharacters_in_text_leave_the_page_valid_html(tmp_path: Path) -> None:
    # Was: the page held U+FDD0 and U+1FFFE raw; html5lib: "Invalid codepoint in stream".
    out = _render(
        tmp_path, MINIMAL.replace("title: Minimal agreement", 'title: "Minimal \\ufdd0 agreement \\U0001fffe"')
    )
    html5lib.HTMLParser(strict=True).parse((out / "minimal.html").read_text(encoding="utf-8"))


def test_index_cleans_titles_like_the_pages(tmp_path: Path) -> None:
    # Was: index.html and index.md printed U+202E and \x08 raw (the pages show U+FFFD).
    out = _render(tmp_path, MINIMAL.replace("title: Minimal agreement", 'title: "Invoice \\u202efdp.exe \\b"'))
    for name in ("index.html", "index.md"):
        text = (out / name).read_text(encoding="utf-8")
        assert "\u202e" not in text and "\x08" not in text, name
    html5lib.HTMLParser(strict=True).parse((out / "index.html").read_text(encoding="utf-8"))


def test_signing_in_a_second_role_keeps_one_signature_per_person(tmp_path: Path) -> None:
    # Was: exit 0, and a second "name: Sam Lee" signature made the file invalid (error[unique]).
    # Sam may sign in two roles: the member role, and the one the stakeholder list gives him.
    path = tmp_path / "a.yaml"
    stakeholder = "stakeholders:\n  - {id: sam, name: Sam Lee, role: Chief Marketing Officer, party: marketing}\n"
    path.write_text(MINIMAL.replace("commitments:\n", stakeholder + "commitments:\n", 1))
    result = run(
        "sign",
        str(path),
        "--name",
        "Sam Lee",
        "--role",
        "Chief Marketing Officer",
        "--party",
        "marketing",
        "--date",
        "2026-11-01",
    )
    assert result.exit_code == 0, result.output
    assert path.read_text().split("  signatures:")[1].count("name: Sam Lee") == 1
    assert not [p for p in validate_json(path) if p["severity"] == "error"]


@pytest.mark.parametrize("char", ["\\x7f", "\\x85", "\\x9b", "\\ufffe"])
def test_sign_accepts_roles_with_characters_yaml_cannot_hold_raw(tmp_path: Path, char: str) -> None:
    # Was: exit 1, "could not add the signature ... without breaking it" (json.dumps left them raw).
    path = tmp_path / "a.yaml"
    path.write_text(AGREEMENT.format(party="marketing", role=f'"Head of Marketing{char}"'))
    role = json.loads(f'"Head of Marketing{char.replace(chr(92) + "x", chr(92) + "u00")}"')
    result = run("sign", str(path), "--name", "Sam Lee", "--role", role, "--date", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert not [p for p in validate_json(path) if p["severity"] == "error"]


def test_many_plain_values_are_not_called_an_alias_bomb(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("id: x\nvalues: [" + ", ".join(["1"] * 210_000) + "]\n")
    result = run("validate", str(path))
    assert result.exit_code == 1 and "200,000 values" in result.output
    assert "alias" not in result.output, result.output
