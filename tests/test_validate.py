"""Validation through the real CLI, over folders of valid and invalid example files.

Each invalid file lists, in `# expect: LINE:COL SEVERITY[RULE]: text` comments, every
problem it must produce; the test fails on a missing or an unexpected problem.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run, run_process

CASES = ROOT / "tests" / "cases"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (error|warning)\[([a-z-]+)\]: (.+)$", re.MULTILINE)


def problems_of(*paths: str, extra: tuple[str, ...] = ()) -> tuple[int, list[dict]]:
    result = run("validate", "--format", "json", *extra, *paths)
    files = json.loads(result.output)["files"]
    return result.exit_code, [p for f in files for p in f["problems"]]


@pytest.mark.parametrize("case", sorted((CASES / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_cases_have_no_problems(case: Path) -> None:
    code, problems = problems_of(str(case))
    assert problems == []
    assert code == 0


@pytest.mark.parametrize("case", sorted((CASES / "invalid").glob("*.yaml")), ids=lambda p: p.stem)
def test_invalid_cases_report_exactly_what_they_expect(case: Path) -> None:
    expected = EXPECT.findall(case.read_bytes().decode("utf-8", "replace"))
    assert expected, f"{case.name} states no expectations"
    code, problems = problems_of(str(case))
    unmatched = list(problems)
    for line, col, severity, rule, text in expected:
        hit = next(
            (
                p
                for p in unmatched
                if (p["line"], p["column"], p["severity"], p["rule"]) == (int(line), int(col), severity, rule)
                and text in p["message"]
            ),
            None,
        )
        assert hit, f"expected {line}:{col} {severity}[{rule}]: {text}\n got: {json.dumps(problems, indent=1)}"
        unmatched.remove(hit)
    assert unmatched == [], f"unexpected problems: {unmatched}"
    assert code == (1 if any(e[2] == "error" for e in expected) else 0)


def test_example_agreements_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH")  # the examples are dated for the real today
    code, problems = problems_of("sla")
    assert [p for p in problems if p["severity"] == "error"] == []
    assert code == 0


def test_example_agreements_declare_the_schema_for_editors() -> None:
    for path in sorted((ROOT / "sla").glob("*.yaml")):
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../schema/sla.schema.json"


def test_text_format_is_path_line_col_severity_rule_message() -> None:
    case = CASES / "invalid" / "refs.yaml"
    result = run("validate", str(case))
    lines = result.output.splitlines()
    assert lines[0] == (
        f"{case}:10:79: error[calendar]: calendars[office].hours: the business day ends at 09:00, "
        "not after it starts at 17:00"
    )
    assert lines[-1] == "1 agreement checked: 9 errors (1 invalid)"
    assert "\x1b[" not in result.output  # not a terminal: no colour
    assert result.exit_code == 1


def test_all_files_are_reported_in_one_run_sorted_by_path_and_line(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yaml"):
        shutil.copy(CASES / "invalid" / "duplicate-keys.yaml", tmp_path / name)
    shutil.copy(CASES / "valid" / "minimal.yaml", tmp_path / "c.yaml")
    result = run("validate", str(tmp_path))
    located = [line.split(": ")[0] for line in result.output.splitlines()[:-1]]
    assert located == [
        f"{tmp_path}/a.yaml:3:1",
        f"{tmp_path}/a.yaml:7:5",
        f"{tmp_path}/b.yaml:3:1",
        f"{tmp_path}/b.yaml:7:5",
    ]
    assert result.output.splitlines()[-1] == "3 agreements checked: 4 errors (2 invalid)"


def test_json_format_shape() -> None:
    result = run(
        "validate", "--format", "json", str(CASES / "invalid" / "tabs.yaml"), str(CASES / "valid" / "minimal.yaml")
    )
    data = json.loads(result.output)
    assert [(f["path"], f["ok"]) for f in data["files"]] == [
        (str(CASES / "invalid" / "tabs.yaml"), False),
        (str(CASES / "valid" / "minimal.yaml"), True),
    ]
    assert data["files"][0]["problems"] == [
        {
            "path": str(CASES / "invalid" / "tabs.yaml"),
            "severity": "error",
            "rule": "yaml",
            "line": 3,
            "column": 1,
            "pointer": "",
            "message": "a tab character is used for indentation; YAML needs spaces",
        }
    ]


def test_json_pointer_names_the_offending_value() -> None:
    _, problems = problems_of(str(CASES / "invalid" / "schema-errors.yaml"))
    pointers = {p["pointer"] for p in problems}
    assert "/commitments/0/lead_volume/count" in pointers
    assert "/timezon" in pointers


def test_github_format_annotates_lines() -> None:
    result = run("validate", "--format", "github", str(CASES / "invalid" / "duplicate-keys.yaml"))
    first = result.output.splitlines()[0]
    assert first == (
        f"::error file={CASES}/invalid/duplicate-keys.yaml,line=3,col=1,title=duplicate-key::"
        "duplicate key 'id': it is already set on line 1; keep one and delete the other"
    )
    assert result.exit_code == 1


def test_strict_turns_warnings_into_errors() -> None:
    case = str(CASES / "invalid" / "review-overdue.yaml")
    assert run("validate", case).exit_code == 0
    strict = run("validate", "--strict", "--format", "json", case)
    assert strict.exit_code == 1
    assert {p["severity"] for p in json.loads(strict.output)["files"][0]["problems"]} == {"error"}


def test_review_warning_depends_on_today(monkeypatch: pytest.MonkeyPatch) -> None:
    case = str(CASES / "invalid" / "review-overdue.yaml")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1777593600")  # 2026-05-01: due today, not overdue
    _, problems = problems_of(case)
    assert [p["message"] for p in problems if "days ago" in p["message"]] == []


def test_missing_path_is_a_usage_error() -> None:
    result = run("validate", "no/such/file.yaml")
    assert result.exit_code == 2
    assert "path 'no/such/file.yaml' does not exist" in result.output


def test_folder_without_agreements_is_a_usage_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "no agreements (*.yaml, *.yml) found" in result.output


def test_unknown_option_is_a_usage_error() -> None:
    result = run("validate", "--no-such-option")
    assert result.exit_code == 2


def test_same_agreement_id_in_two_files(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        shutil.copy(CASES / "valid" / "minimal.yaml", tmp_path / name)
    result = run("validate", str(tmp_path))
    assert (
        f"{tmp_path}/two.yaml:3:5: error[unique]: agreement id 'minimal' is also used by {tmp_path}/one.yaml"
        in result.output
    )
    assert result.exit_code == 1


def test_oversized_file_is_refused_without_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("id: big\nnotes: |\n" + ("  " + "x" * 98 + "\n") * 11_000)
    result = run("validate", str(big))
    assert (
        f"{big}:1:1: error[size]: the file is 1,111,017 bytes; agreements are limited to 1,048,576 bytes"
        in result.output
    )


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        "- " * 100_000 + "x",
        "a:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(1, 200)) + " " * 400 + "v: 1\n",
    ],
)
def test_deep_nesting_is_refused_without_crashing(tmp_path: Path, text: str) -> None:
    """libyaml's composer recurses on the C stack: nesting this deep would crash the process
    (a segfault has exit code -11), so it must be refused before composing, with one message."""
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    result = run_process("validate", str(path))
    assert result.returncode == 1, (result.returncode, result.stderr[-500:])
    assert "nested more than 64 levels deep" in result.stdout
    assert "Traceback" not in result.stderr


def test_real_process_reports_without_traceback() -> None:
    result = run_process("validate", str(CASES / "invalid"), "--format", "text")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith(
        f"{len(list((CASES / 'invalid').glob('*.yaml')))} agreements checked"
    )
