"""Dates outside the years 1900 to 2199 and durations over ten years: located errors[dates]
through every command, never a hang, a traceback or unbounded memory; and the engine's
month loops stay bounded on data that failed checking."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, git, run, run_process
from slakit.comparing.funnel import funnel_plan
from slakit.model.agreement import MALFORMED, Agreement
from slakit.model.dates import months_between
from slakit.world.load import load_file

TWO_WAY = ROOT / "sla" / "two-way-street.yaml"
OUTSIDE = "is outside the years 1900 to 2199; check the year"


def where(text: str, line_text: str) -> tuple[int, int]:
    """Line and column of the value on the line `line_text` (worked out from the text itself)."""
    lines = text.splitlines()
    number = lines.index(line_text) + 1
    return number, line_text.index(": ") + 3


# (name, [(line as written, line as edited)], [(edited line, field, message after the field)])
CASES = [
    (
        "end-in-9999",
        [("  end: 2027-06-30", "  end: 9999-12-31")],
        [("  end: 9999-12-31", "term.end", f"9999-12-31 {OUTSIDE}")],
    ),
    (
        "sales-cycle-of-centuries",
        [("    sales_cycle: 60 days", "    sales_cycle: 999999 weeks")],
        [
            (
                "    sales_cycle: 999999 weeks",
                "goals.funnel.sales_cycle",
                "999,999 weeks is longer than ten years (3,650 days); check the figure and its unit",
            )
        ],
    ),
    (
        "reviews-in-9999",
        [
            ("  last_review: 2026-10-01", "  last_review: 9999-12-20"),
            ("  next_review: 2027-01-04", "  next_review: 9999-12-31"),
        ],
        [
            ("  last_review: 9999-12-20", "term.last_review", f"9999-12-20 {OUTSIDE}"),
            ("  next_review: 9999-12-31", "term.next_review", f"9999-12-31 {OUTSIDE}"),
        ],
    ),
    (
        "year-1",
        [
            ("effective: 2026-07-01", "effective: 0001-01-01"),
            ("      as_of: 2026-07-01", "      as_of: 0001-01-01"),
            ("  last_review: 2026-10-01", "  last_review: 0001-02-01"),
            ("  next_review: 2027-01-04", "  next_review: 0001-03-01"),
        ],
        [
            ("effective: 0001-01-01", "effective", f"0001-01-01 {OUTSIDE}"),
            ("  last_review: 0001-02-01", "term.last_review", f"0001-02-01 {OUTSIDE}"),
            ("  next_review: 0001-03-01", "term.next_review", f"0001-03-01 {OUTSIDE}"),
            ("      as_of: 0001-01-01", "goals.revenue.baseline.as_of", f"0001-01-01 {OUTSIDE}"),
        ],
    ),
]


def edit(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        assert text.count(f"\n{old}\n") == 1, old
        text = text.replace(f"\n{old}\n", f"\n{new}\n")
    return text


@pytest.mark.parametrize("name, replacements, expected", CASES, ids=[c[0] for c in CASES])
def test_out_of_range_is_a_located_error_in_every_command(
    repo: Path, name: str, replacements: list[tuple[str, str]], expected: list[tuple[str, str, str]]
) -> None:
    (repo / "sla").mkdir()
    shutil.copy(TWO_WAY, repo / "sla" / "two-way-street.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Two-way agreement")
    file = repo / "sla" / "two-way-street.yaml"
    text = edit(file.read_text(), replacements)
    file.write_text(text)
    lines = []
    for line_text, field, message in expected:
        line, col = where(text, line_text)
        lines.append(f"sla/two-way-street.yaml:{line}:{col}: error[dates]: {field}: {message}")

    result = run_process("validate", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert [x for x in result.stdout.splitlines() if "error[" in x] == lines

    result = run_process("render", "--out", str(repo / "dist"), cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [x for x in result.stdout.splitlines() if "error[" in x] == lines
    assert "nothing in the output folder was changed" in result.stderr

    result = run_process("status", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"INVALID ({len(lines)} error{'s' if len(lines) > 1 else ''}" in result.stdout

    result = run_process("plan", "sla/two-way-street.yaml", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [x.removeprefix("Error: ") for x in result.stderr.splitlines() if "error[" in x] == lines

    result = run_process("diff", cwd=repo)  # HEAD against the edited file
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for line in lines:
        assert f"  {line}" in result.stdout.splitlines(), result.stdout

    git(repo, "commit", "-q", "-am", "Out of range")
    result = run_process("diff", "HEAD~1", "HEAD", cwd=repo)  # the bad version read from history
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for line in lines:
        assert f"  HEAD:{line}" in result.stdout.splitlines(), result.stdout
    result = run_process("changelog", cwd=repo)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "#### " in result.stdout and ": Out of range (" in result.stdout


@pytest.mark.parametrize(
    "value, ok",
    [
        ("99999999 days", False),
        ("100000 days", False),
        ("3651 days", False),
        ("522 weeks", False),  # 3,654 days
        ("122 months", False),  # 3,660 days of 30
        ("3650 days", True),
        ("521 weeks", True),  # 3,647 days
        ("121 months", True),  # 3,630 days
    ],
)
def test_plan_set_sales_cycle_is_bounded_by_ten_years(value: str, ok: bool) -> None:
    result = run_process("plan", str(TWO_WAY), "--set", f"sales_cycle={value}")
    assert "Traceback" not in result.stderr
    if ok:
        # 3,650 days are 122 months of 30 (rounded up): the first leads are due 122 months
        # before the term's first month, July 2026, in May 2016.
        assert result.returncode in (0, 1), result.stderr
        assert result.stderr == ""
    else:
        assert result.returncode == 2
        assert result.stderr == (
            f"Error: --set sales_cycle='{value}': a sales cycle is at most 3,650 days (ten years: 521 weeks, 121 months)\n"
        )


def test_the_longest_sales_cycle_plans_its_leads_ten_years_ahead() -> None:
    result = run_process("plan", str(TWO_WAY), "--set", "sales_cycle=3650 days", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    # 3,650 / 30 = 121.67, rounded up: leads 122 months before the deals of July 2026 (May 2016).
    assert '"lag_months": 122' in result.stdout
    assert '"2016-05"' in result.stdout


def test_a_source_date_epoch_outside_the_years_is_a_usage_error() -> None:
    result = run_process("validate", str(TWO_WAY), env={"SOURCE_DATE_EPOCH": "253402214400"})  # 9999-12-31
    assert result.returncode == 2
    assert result.stderr == (
        "Error: SOURCE_DATE_EPOCH='253402214400' is 9999-12-31: give a date in the years 1900 to 2199\n"
    )


def test_months_between_is_arithmetic_and_bounded() -> None:
    jan, feb, mar, apr = (dt.date(2026, m, 1) for m in (1, 2, 3, 4))
    assert months_between(dt.date(2026, 1, 31), dt.date(2026, 4, 1)) == [jan, feb, mar, apr]
    assert months_between(dt.date(2025, 12, 15), dt.date(2026, 1, 1)) == [dt.date(2025, 12, 1), jan]
    assert months_between(apr, jan) == []
    assert len(months_between(dt.date(1900, 1, 1), dt.date(2199, 12, 31))) == 300 * 12
    last = months_between(dt.date(9999, 1, 1), dt.date.max)
    assert len(last) == 12 and last[-1] == dt.date(9999, 12, 1)
    with pytest.raises(ValueError, match="years of months"):
        months_between(dt.date.min, dt.date.max)


def test_the_model_refuses_out_of_range_data_that_failed_checking() -> None:
    doc, problems = load_file(TWO_WAY, "two-way-street.yaml")
    assert doc is not None and not problems
    data = dict(doc.data)
    data["effective"] = "0001-01-01"
    with pytest.raises(MALFORMED):
        Agreement.from_data(data)
    assert funnel_plan(data) is None  # what diff and changelog ask of an old version
    data = dict(doc.data)
    data["goals"] = {**doc.data["goals"], "funnel": {**doc.data["goals"]["funnel"], "sales_cycle": "999999 weeks"}}
    with pytest.raises(ValueError, match="longer than 3,650 days"):
        Agreement.from_data(data).funnel_plan()
    assert funnel_plan(data) is None


DATED = ["effective: 2026-07-01", "  end: 2027-06-30", "  last_review: 2026-10-01", "      as_of: 2026-07-01"]
FIELDS = ["effective", "term.end", "term.last_review", "goals.revenue.baseline.as_of"]
UNITS = {"day": 1, "week": 7, "month": 30}


@settings(max_examples=int(os.environ.get("RANGE_EXAMPLES", "20")))
@given(
    days=st.lists(st.dates(), min_size=len(DATED), max_size=len(DATED)),
    cycle=st.integers(1, 10**15),
    unit=st.sampled_from(sorted(UNITS)),
)
def test_any_date_and_any_cycle_finish_with_a_located_error_or_none(
    tmp_path_factory: pytest.TempPathFactory, days: list[dt.date], cycle: int, unit: str
) -> None:
    text = TWO_WAY.read_text()
    for line, day in zip(DATED, days):
        text = text.replace(f"\n{line}\n", f"\n{line.split(': ')[0]}: {day.isoformat()}\n")
    text = text.replace(
        "\n    sales_cycle: 60 days\n", f"\n    sales_cycle: {cycle} {unit}{'s' if cycle > 1 else ''}\n"
    )
    path = tmp_path_factory.mktemp("range") / "a.yaml"
    path.write_text(text)
    result = run("validate", str(path))  # in-process: an exception fails the test
    assert result.exit_code in (0, 1)
    for field, day in zip(FIELDS, days):
        message = f"error[dates]: {field}: {day.isoformat()} {OUTSIDE}"
        assert (message in result.output) == (not 1900 <= day.year <= 2199), result.output
    too_long = cycle * UNITS[unit] > 3650
    assert ("error[dates]: goals.funnel.sales_cycle: " in result.output) == too_long
    for command in (("plan", str(path)), ("status", str(path))):
        result = run(*command)
        assert result.exit_code in (0, 1, 2), result.output


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
def test_score_as_of_outside_the_years_says_so(tmp_path: Path, day: str) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,mql_at\nL1,2026-07-02 10:00\n")
    result = run("score", str(TWO_WAY), "--leads", str(leads), "--as-of", day)
    assert result.exit_code == 2
    assert f"--as-of {day}: give a date in the years 1900 to 2199" in result.output


def test_changelog_since_outside_the_years_says_so(repo: Path) -> None:
    (repo / "sla").mkdir()
    shutil.copy(TWO_WAY, repo / "sla" / "two-way-street.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Two-way agreement")
    for option, day in (("--since", "0001-01-01"), ("--until", "9999-12-31")):
        result = run("changelog", option, day, cwd=repo)
        assert result.exit_code == 2
        assert f"{option} {day}: give a date in the years 1900 to 2199 (or a Git revision)" in result.output
