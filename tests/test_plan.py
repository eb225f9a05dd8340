"""slakit plan through the real CLI. Every planned figure is worked out by hand below, stage
by stage, rounding up at each stage; none comes from the engine."""

from __future__ import annotations

import json
import math
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import ROOT, git, run, run_process

COMPANY_A = str(ROOT / "sla" / "company-a-lead-management.yaml")
TWO_WAY = str(ROOT / "sla" / "two-way-street.yaml")


def up(value: Decimal) -> int:
    return math.ceil(value)


def funnel(revenue: int, share: str, deal: int, rates: list[str]) -> list[int]:
    """By hand: revenue × share ÷ deal = won; then ÷ each rate from the last stage back."""
    counts = [up(Decimal(revenue) * Decimal(share) / deal)]
    for rate in rates:
        counts.append(up(counts[-1] / Decimal(rate)))
    return counts


def plan_json(*args: str) -> tuple[int, dict]:
    result = run("plan", *args, "--format", "json")
    return result.exit_code, json.loads(result.output)


def month(data: dict, ident: str) -> dict:
    return next(m for m in data["months"] if m["month"] == ident)


def test_company_a_plan_matches_the_figures_worked_out_by_hand() -> None:
    code, data = plan_json(COMPANY_A)
    assert code == 0
    assert data["agreement"] == "company-a-lead-management"
    # Revenue ramps from $833,000 (January) to $1,250,000 (June) in five equal steps of
    # (1,250,000 - 833,000) / 5 = 83,400, then holds.
    assert [m["revenue"] for m in data["months"]] == [833000, 916400, 999800, 1083200, 1166600] + [1250000] * 7
    # March: $999,800 × 44% = $439,912 ÷ $20,000 = 21.9956 -> 22 won; ÷ 25% (close rate
    # before its June step) = 88 opportunities; ÷ 70% = 125.7 -> 126 SQLs; ÷ 50% = 252 MQLs.
    march = month(data, "2020-03")
    assert (march["won"], march["opportunities"], march["sqls"], march["mqls_for_deals"]) == (22, 88, 126, 252)
    assert funnel(999800, "0.44", 20000, ["0.25", "0.70", "0.50"]) == [22, 88, 126, 252]
    # A 45-day cycle is 1.5 months of 30 days, rounded up to 2: March's 252 MQLs are due in January.
    assert month(data, "2020-01")["mqls_required"] == 252
    assert month(data, "2020-01")["feeds"] == ["2020-03"]
    # June: the 35% step is due by June 30, so it is in force for June's deals:
    # $1,250,000 × 44% = $550,000 ÷ $20,000 = 27.5 -> 28; ÷ 35% = 80; ÷ 70% = 114.3 -> 115; ÷ 50% = 230.
    june = month(data, "2020-06")
    assert (june["won"], june["opportunities"], june["sqls"], june["mqls_for_deals"]) == (28, 80, 115, 230)
    assert june["rates"]["won"] == "35%"
    # December: the 50% step: 28 ÷ 50% = 56; ÷ 70% = 80; ÷ 50% = 160, due in October.
    assert funnel(1250000, "0.44", 20000, ["0.50", "0.70", "0.50"]) == [28, 56, 80, 160]
    assert month(data, "2020-10")["mqls_required"] == 160
    # November's and December's leads feed January and February 2021 at the sustained target.
    assert month(data, "2020-12")["feeds"] == ["2021-02"]
    assert month(data, "2020-12")["mqls_required"] == 160
    # The most any month needs is March's 298 (for May: $1,166,600 × 44% = $513,304 -> 26 won,
    # 104, 148.6 -> 149, 298): under the 310 committed.
    assert funnel(1166600, "0.44", 20000, ["0.25", "0.70", "0.50"]) == [26, 104, 149, 298]
    assert max(m["mqls_required"] for m in data["months"]) == 298
    assert all(m["mqls_committed"] == 310 and m["shortfall"] == 0 for m in data["months"])
    # Lead value: from June on, 44% of $1,250,000 = $550,000, exactly the committed figure.
    assert month(data, "2020-04")["lead_value_required"] == 550000
    assert all(m["lead_value_shortfall"] == 0 for m in data["months"])
    # January's and February's deals need leads from before the term: 218 and 240 MQLs.
    assert funnel(833000, "0.44", 20000, ["0.25", "0.70", "0.50"])[-1] == 218
    assert data["before_term"] == [
        {"month": "2019-11", "mqls_required": 218, "feeds": ["2020-01"]},
        {"month": "2019-12", "mqls_required": 240, "feeds": ["2020-02"]},
    ]


def test_what_if_a_lower_close_rate_shows_every_short_month_and_exits_1() -> None:
    code, data = plan_json(COMPANY_A, "--set", "close_rate=20%")
    assert code == 1
    assert data["what_if"] == {"close_rate": "20%"} and data["covered"] is False
    # March at 20%: 22 won ÷ 20% = 110; ÷ 70% = 157.1 -> 158; ÷ 50% = 316, due January: 6 short.
    assert funnel(999800, "0.44", 20000, ["0.20", "0.70", "0.50"]) == [22, 110, 158, 316]
    assert (month(data, "2020-01")["mqls_required"], month(data, "2020-01")["shortfall"]) == (316, 6)
    # June on: 28 ÷ 20% = 140; 200; 400 -> 90 short in every month from April.
    assert funnel(1250000, "0.44", 20000, ["0.20", "0.70", "0.50"]) == [28, 140, 200, 400]
    assert [month(data, f"2020-{n:02d}")["shortfall"] for n in range(4, 13)] == [90] * 9
    text = run("plan", COMPANY_A, "--set", "close_rate=20%")
    assert text.exit_code == 1
    assert "What if: close_rate=20% (not in the file)." in text.output
    assert "  2020-01: 6 MQLs short (316 needed)" in text.output
    assert (
        "    deals closing in 2020-03: $999,800 × 44% = $439,912; ÷ $20,000 = 22 won deals; ÷ 20% = 110 "
        "opportunities; ÷ 70% = 158 SQLs; ÷ 50% = 316 MQLs"
    ) in text.output


def test_what_if_several_figures_and_the_committed_volume() -> None:
    # deal $25,000, 100% marketing, sales cycle 20 days (1 month), 200 MQLs committed:
    # June: $1,250,000 ÷ $25,000 = 50 won; ÷ 35% = 142.9 -> 143; ÷ 70% = 204.3 -> 205; ÷ 50% = 410.
    code, data = plan_json(
        COMPANY_A,
        "--set",
        "deal_size=25,000",
        "--set",
        "marketing_share=100%",
        "--set",
        "sales_cycle=20 days",
        "--set",
        "mqls=200",
    )
    assert code == 1
    assert funnel(1250000, "1", 25000, ["0.35", "0.70", "0.50"]) == [50, 143, 205, 410]
    may = month(data, "2020-05")
    assert may["feeds"] == ["2020-06"] and may["mqls_required"] == 410 and may["shortfall"] == 210
    assert may["mqls_committed"] == 200


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("close_rate=forty", "close_rate='forty': expected a percentage such as 40% (the won rate)"),
        ("close_rate=0%", "close_rate='0%': expected a percentage"),
        ("close_rate=140%", "close_rate='140%': expected a percentage"),
        ("deal_size=-5", "deal_size='-5': expected an amount such as 25000"),
        ("deal_size=1e999999999", "deal_size='1e999999999': expected an amount"),
        ("sales_cycle=2 business days", "expected a duration in days, weeks or months"),
        ("mqls=12.5", "mqls='12.5': expected a whole number of MQLs a month"),
        ("win_rate=40%", "there is no figure 'win_rate' to set; use one of: deal_size, sql_rate"),
        ("close_rate", "--set 'close_rate': write NAME=VALUE, such as close_rate=40%"),
    ],
)
def test_a_bad_what_if_is_a_usage_error_that_says_what_is_accepted(setting: str, message: str) -> None:
    result = run_process("plan", COMPANY_A, "--set", setting)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_plan_text_and_markdown_show_the_table_and_the_rounding_rule() -> None:
    text = run("plan", TWO_WAY)
    assert text.exit_code == 0
    lines = text.output.splitlines()
    assert lines[0] == "Funnel plan: Harbor Lane marketing and sales two-way agreement"
    # July 2026: $400,000 × 50% = $200,000 ÷ $25,000 = 8 won; ÷ 30% = 26.7 -> 27; ÷ 60% = 45;
    # MQLs due in July feed September (60 days = 2 months): $440,000 × 50% ÷ $25,000 = 8.8 -> 9;
    # ÷ 30% = 30; ÷ 60% = 50; ÷ 40% = 125.
    assert funnel(400000, "0.5", 25000, ["0.30", "0.60", "0.40"]) == [8, 27, 45, 113]
    assert funnel(440000, "0.5", 25000, ["0.30", "0.60", "0.40"]) == [9, 30, 50, 125]
    assert "2026-07  $400,000    8    27    45       125             150" in lines
    assert any(line.startswith("Revenue, won deals, opportunities and SQLs are those") for line in lines)
    assert "Counts are rounded" in text.output and "up at each stage" in text.output
    assert "Deals closing in 2026-07 need 113 MQLs in 2026-05, before the term." in lines
    assert lines[-1] == "The committed lead volume covers the funnel every month."
    md = run("plan", TWO_WAY, "--format", "md")
    assert md.exit_code == 0
    assert "| 2026-07 | $400,000 | 8 | 27 | 45 | 125 | 150 |  |" in md.output.splitlines()


def test_plan_is_byte_for_byte_the_same_on_every_run(tmp_path: Path) -> None:
    first = run("plan", COMPANY_A, "--format", "json", "--out", str(tmp_path / "a.json"))
    second = run("plan", COMPANY_A, "--format", "json", "--out", str(tmp_path / "b.json"))
    assert first.exit_code == second.exit_code == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


AGREEMENT = """\
id: lag-gap
title: A sales cycle that shortens
kind: lead-management
status: draft
version: 1
effective: 2026-01-01
term: {{end: 2026-06-30, review_cadence: annual}}
timezone: Europe/Berlin
parties:
  - {{id: marketing, name: Marketing}}
  - {{id: sales, name: Sales}}
goals:
  revenue:
    baseline: {{annual: {{amount: 1200000, currency: EUR}}}}
    target: {{annual: {{amount: 1200000, currency: EUR}}}}
  funnel:
    deal_size: {{amount: 10000, currency: EUR}}
    conversion: {{won: {won}}}
    sales_cycle: {{commitment: cycle}}
commitments:
  - id: mqls
    party: marketing
    title: MQLs
    lead_volume: {{count: {count}, per: quarter}}
  - id: cycle
    party: sales
    title: Cycle
    stepped_target:
      metric: Days from MQL to won
      better: lower
      baseline: 45 days
      steps:
        - {{id: spring, by: 2026-03-31, value: 25 days}}
signoff:
  required:
    - {{id: m, role: Head of marketing, party: marketing}}
"""


def test_a_shortening_cycle_leaves_a_month_without_leads_due_and_only_won_rate(tmp_path: Path) -> None:
    file = tmp_path / "lag.yaml"
    file.write_text(AGREEMENT.format(won="50%", count=60))
    code, data = plan_json(str(file))
    assert code == 0
    # €1,200,000 / 12 = €100,000 a month, all of it marketing's: ÷ €10,000 = 10 won; ÷ 50% = 20 MQLs
    # (no SQL or opportunity rate: those stages are not planned).
    assert all(
        (m["won"], m["opportunities"], m["sqls"], m["mqls_for_deals"]) == (10, None, None, 20) for m in data["months"]
    )
    # January and February close with the 45-day cycle (2 months); from March the 25-day step
    # (1 month) is in force. March's leads are due in February, February's in December, so
    # no deal needs leads delivered in January.
    assert [m["mqls_required"] for m in data["months"]] == [0, 20, 20, 20, 20, 20]
    assert month(data, "2026-01")["feeds"] == []
    # 60 a quarter is 20 a month: exactly enough.
    assert {m["mqls_committed"] for m in data["months"]} == {20}


def test_plan_refuses_an_agreement_it_cannot_plan(tmp_path: Path) -> None:
    no_funnel = run_process("plan", str(ROOT / "sla" / "social-selling.yaml"))
    assert no_funnel.returncode == 1
    assert "has no goals.funnel to plan" in no_funnel.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(AGREEMENT.format(won="0.5", count=60))
    result = run_process("plan", str(broken))
    assert result.returncode == 1
    assert (
        f"{broken}:18:23: error[schema]: goals.funnel.conversion.won: the number 0.5 is not a percentage"
        in result.stderr
    )
    assert "write 50%" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_process("plan", str(tmp_path / "nowhere.yaml"))
    assert missing.returncode == 2 and "no such agreement file" in missing.stderr


def test_a_short_funnel_is_a_validate_error_naming_month_figures_and_rate(tmp_path: Path) -> None:
    file = tmp_path / "short.yaml"
    file.write_text(AGREEMENT.format(won="40%", count=60))
    result = run("validate", str(file))
    assert result.exit_code == 1
    # 10 won ÷ 40% = 25 MQLs for every month's deals, against 20 a month (60 a quarter).
    assert (
        f"{file}:24:26: error[funnel]: commitments[mqls]: 20 MQLs a month fall short of the 25 the funnel needs "
        "in 2026-02 (deals closing in 2026-03: €100,000; ÷ €10,000 = 10 won deals; ÷ 40% = 25 MQLs)"
    ) in result.output


def test_a_quarterly_count_that_thirds_do_not_divide_reads_to_the_hundredth(tmp_path: Path) -> None:
    """Leads committed by the quarter are compared month by month: 70 a quarter is 23.33 a
    month (70 / 3 = 23.333...), written to the hundredth, never as a 28-digit fraction."""
    file = tmp_path / "thirds.yaml"
    file.write_text(AGREEMENT.format(won="40%", count=70))
    result = run("validate", str(file))
    assert result.exit_code == 1
    # 25 MQLs needed a month (as above) against 23.33: 1.67 short, 2 leads rounded up.
    assert "commitments[mqls]: 23.33 MQLs a month fall short of the 25 the funnel needs in 2026-02" in result.output
    assert "23.333" not in result.output
    code, data = plan_json(str(file))
    assert code == 1
    assert {m["mqls_committed"] for m in data["months"]} == {23.33}
    assert {m["shortfall"] for m in data["months"] if m["mqls_required"]} == {2}
    text = run("plan", str(file)).output
    assert "23.33" in text and "23.333" not in text
    md = run("plan", str(file), "--format", "md").output
    assert "| 23.33 |" in md and "23.333" not in md


def test_diff_and_changelog_say_when_a_change_breaks_the_funnel(repo: Path) -> None:
    (repo / "sla").mkdir()
    shutil.copy(TWO_WAY, repo / "sla" / "two-way-street.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Two-way agreement")
    file = repo / "sla" / "two-way-street.yaml"
    file.write_text(file.read_text().replace("count: 150", "count: 100"))
    result = run("diff", cwd=repo)
    # The new version breaks a rule (the funnel), so it is listed beside the changes: exit 1.
    assert result.exit_code == 1
    # The first short month is July 2026: its MQLs feed September, 125 of them (worked out above).
    note = "Breaks the funnel: MQLs 150 -> 100: below the 125 the funnel needs in July 2026 (short in 12 months)"
    assert f"  ! {note}" in result.output.splitlines()
    assert "error[funnel]: commitments[monthly-mqls]: 100 MQLs a month fall short of the 125" in result.output
    data = json.loads(run("diff", "--format", "json", cwd=repo).output)
    assert data["agreements"][0]["notes"] == [note]
    escaped = note.replace("->", "-\\>")  # Markdown escapes the > of the arrow
    assert f"**{escaped}**" in run("diff", "--format", "md", cwd=repo).output
    git(repo, "commit", "-q", "-am", "Halve the MQLs")
    log = json.loads(run("changelog", "--format", "json", cwd=repo).output)
    notes = [n for q in log["quarters"] for a in q["agreements"] for e in a["commits"] for n in e["notes"]]
    assert notes == [note]
    file.write_text(file.read_text().replace("count: 100", "count: 150"))
    mended = json.loads(run("diff", "--format", "json", cwd=repo).output)
    assert mended["agreements"][0]["notes"] == ["Mends the funnel: 150 MQLs a month now cover every month"]


def test_the_agreement_page_shows_how_the_figures_are_derived(tmp_path: Path) -> None:
    result = run("render", COMPANY_A, "--out", str(tmp_path / "dist"), "-q")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "dist" / "company-a-lead-management.md").read_text()
    assert "## 4. How the figures are derived" in md
    assert (
        "- **May 2020:** $1,166,600 × 44% = $513,304; ÷ $20,000 = 26 won deals; ÷ 25% (close-rate) = "
        "104 opportunities; ÷ 70% = 149 SQLs; ÷ 50% = 298 MQLs"
    ) in md
    assert "- **June to November 2020:** $1,250,000 × 44% = $550,000;" in md
    assert "| March 2020 | $999,800 | 22 | 88 | 126 | 298 | 310 |" in md
    html = (tmp_path / "dist" / "company-a-lead-management.html").read_text()
    assert 'id="funnel"' in html and "How the figures are derived" in html


def test_commitment_titles_in_the_funnel_section_stay_text(tmp_path: Path) -> None:
    source = (
        Path(COMPANY_A)
        .read_text()
        .replace(
            "title: Raise the close rate on submitted proposals to 50%",
            'title: "<script>alert(1)</script> close rate"',
        )
    )
    (tmp_path / "sla").mkdir()
    (tmp_path / "sla" / "a.yaml").write_text(source)
    result = run("render", str(tmp_path / "sla"), "--out", str(tmp_path / "dist"), "-q")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "dist" / "company-a-lead-management.html").read_text()
    assert "<script>alert(1)" not in html
    assert "as committed in “&lt;script&gt;alert(1)&lt;/script&gt; close rate”" in html


def test_one_of_a_stage_is_singular_in_the_arithmetic() -> None:
    settings = ["deal_size=250000", "close_rate=100%", "opportunity_rate=100%", "sql_rate=50%", "mqls=1"]
    result = run_process("plan", TWO_WAY, *(arg for s in settings for arg in ("--set", s)))
    assert result.returncode == 1, result.stderr
    # September's revenue is $440,000 (from $400,000 in July, +$20,000 a month); half of it
    # is $220,000, under one deal of $250,000: 1 deal, 1 opportunity, 1 SQL, 1 ÷ 50% = 2 MQLs.
    assert (
        "    deals closing in 2026-09: $440,000 × 50% = $220,000; ÷ $250,000 = 1 won deal; "
        "÷ 100% = 1 opportunity; ÷ 100% = 1 SQL; ÷ 50% = 2 MQLs"
    ) in result.stdout.splitlines()


def test_the_funnel_error_formats_large_counts_as_plan_does(tmp_path: Path) -> None:
    text = Path(TWO_WAY).read_text()
    old = "    deal_size: {amount: 25000, currency: USD}\n"
    assert old in text
    path = tmp_path / "a.yaml"
    path.write_text(text.replace(old, "    deal_size: {amount: 0.01, currency: USD}\n"))
    result = run("validate", str(path))
    assert result.exit_code == 1
    # September: $440,000 × 50% ÷ $0.01 = 22,000,000 deals; ÷ 30% = 73,333,334 (rounded up);
    # ÷ 60% = 122,222,224; ÷ 40% = 305,555,560 MQLs, due in July (a 60-day cycle: 2 months).
    assert (
        "150 MQLs a month fall short of the 305,555,560 the funnel needs in 2026-07 (deals closing in 2026-09: "
        "$440,000 × 50% = $220,000; ÷ $0.01 = 22,000,000 won deals; ÷ 30% = 73,333,334 opportunities; "
        "÷ 60% = 122,222,224 SQLs; ÷ 40% = 305,555,560 MQLs); also short in 2026-08 (319,444,448)"
    ) in result.output
