"""Unit tests of the model's pure functions, with every expected figure worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from slakit.model.agreement import Agreement
from slakit.model.dates import add_months, months_between, parse_date, quarter_of
from slakit.model.figures import Duration, Money, Percentage, number, parse_figure, round_money, round_up
from slakit.model.plans import LeadValuePlan, RevenuePoint
from slakit.model.review import ReviewSchedule
from slakit.model.targets import Step, Target
from slakit.model.terms import canonical, remembering_digests, signature_state, terms_digest
from slakit.world.load import load_file

D = dt.date


# -- figures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("12.5", 13), ("13.5", 14), ("12.49", 12), ("0.5", 1), ("833333.333", 833333), ("1250000", 1250000)],
)
def test_money_rounds_half_up_to_whole_units(amount: str, expected: int) -> None:
    assert round_money(Decimal(amount)) == Decimal(expected)


def test_the_run_rate_of_150_a_year_is_13_a_month_on_pages_and_in_messages() -> None:
    # 150 / 12 = 12.5: half-up gives 13 (half-even would give 12, the old disagreement).
    point = RevenuePoint(Money(Decimal(150), "USD"))
    assert point.monthly == Money(Decimal(13), "USD")
    assert point.monthly_computed
    assert str(point.derived_monthly) == "$13"


def test_a_stated_monthly_figure_wins_over_the_derived_one() -> None:
    point = RevenuePoint(Money(Decimal(10_000_000), "USD"), Money(Decimal(833_000), "USD"))
    assert point.monthly == Money(Decimal(833_000), "USD")
    assert not point.monthly_computed
    assert point.derived_monthly == Money(Decimal(833_333), "USD")


@pytest.mark.parametrize(("value", "expected"), [("2.1", 3), ("3", 3), ("0.0001", 1), ("0", 0)])
def test_counts_round_up(value: str, expected: int) -> None:
    assert round_up(Decimal(value)) == expected


def test_figures_parse_to_their_types() -> None:
    assert parse_figure("35%") == Percentage(Decimal(35))
    assert parse_figure("1 business hour") == Duration(Decimal(1), "business hour")
    assert parse_figure("45 days") == Duration(Decimal(45), "day")
    assert parse_figure({"amount": 5000, "currency": "USD"}) == Money(Decimal(5000), "USD")
    assert parse_figure(3) == Decimal(3)
    assert parse_figure("soon") is None
    assert parse_figure(True) is None


def test_durations_know_their_family_and_size() -> None:
    assert Duration(Decimal(24), "hour").magnitude == 1440
    assert Duration(Decimal(1), "day").magnitude == 1440
    assert Duration(Decimal(2), "business hour").family == "business hour"
    assert Duration(Decimal(2), "week").family == "clock"
    assert Duration(Decimal(45), "day").days == 45
    assert str(Duration(Decimal(1), "business hour")) == "1 business hour"
    assert str(Duration(Decimal("1.5"), "hour")) == "1.5 hours"


def test_money_formats_with_sign_or_code() -> None:
    assert str(Money(Decimal(550000), "USD")) == "$550,000"
    assert str(Money(Decimal("1234.5"), "EUR")) == "€1,234.50"
    assert str(Money(Decimal(10), "CHF")) == "10 CHF"


def test_money_of_two_currencies_does_not_add() -> None:
    with pytest.raises(ValueError):
        Money(Decimal(1), "USD").plus(Money(Decimal(1), "EUR"))


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2026, 11, 15), 3, D(2027, 2, 15)),
        (D(2026, 12, 31), 12, D(2027, 12, 31)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "fy_start", "expected"),
    [
        (D(2026, 1, 1), 1, "2026-Q1"),
        (D(2026, 3, 31), 1, "2026-Q1"),
        (D(2026, 4, 1), 1, "2026-Q2"),
        (D(2026, 12, 31), 1, "2026-Q4"),
        # A fiscal year starting in February is named after the year it ends in.
        (D(2026, 2, 1), 2, "2027-Q1"),
        (D(2026, 4, 30), 2, "2027-Q1"),
        (D(2026, 5, 1), 2, "2027-Q2"),
        (D(2026, 1, 31), 2, "2026-Q4"),
        (D(2026, 7, 1), 7, "2027-Q1"),
        (D(2026, 6, 30), 7, "2026-Q4"),
    ],
)
def test_quarters(day: dt.date, fy_start: int, expected: str) -> None:
    assert quarter_of(day, fy_start) == expected


def test_months_between_lists_first_days_inclusive() -> None:
    assert months_between(D(2026, 11, 15), D(2027, 2, 1)) == [
        D(2026, 11, 1),
        D(2026, 12, 1),
        D(2027, 1, 1),
        D(2027, 2, 1),
    ]


def test_parse_date_accepts_only_iso_days() -> None:
    assert parse_date("2026-02-28") == D(2026, 2, 28)
    assert parse_date("2026-02-30") is None
    assert parse_date("2026-2-3") is None
    assert parse_date(20260228) is None


# -- review schedule -------------------------------------------------------------------------------


def schedule(**term: str) -> ReviewSchedule:
    data = {"effective": "2026-01-15", "status": term.pop("status", "active"), "term": term}
    return ReviewSchedule.from_data(data)


def test_next_review_is_computed_from_the_last_review_and_the_cadence() -> None:
    review = schedule(review_cadence="quarterly", last_review="2026-08-31")
    assert review.next_review == D(2026, 11, 30)
    assert review.computed


def test_next_review_falls_back_to_the_effective_date() -> None:
    assert schedule(review_cadence="semiannual").next_review == D(2026, 7, 15)


def test_a_stated_next_review_wins() -> None:
    review = schedule(review_cadence="monthly", last_review="2026-03-01", next_review="2026-03-20")
    assert review.next_review == D(2026, 3, 20)
    assert not review.computed


def test_overdue_the_day_after_and_never_when_retired() -> None:
    review = schedule(review_cadence="annual", next_review="2026-06-30")
    assert not review.overdue(D(2026, 6, 30))
    assert review.overdue(D(2026, 7, 1))
    assert not schedule(review_cadence="annual", next_review="2026-06-30", status="retired").overdue(D(2027, 1, 1))


def test_due_soon_within_fourteen_days() -> None:
    review = schedule(review_cadence="annual", next_review="2026-06-30")
    assert review.due_soon(D(2026, 6, 16))
    assert not review.due_soon(D(2026, 6, 15))
    assert not review.due_soon(D(2026, 7, 1))  # overdue, not "due soon"


def test_a_schedule_reads_broken_data_without_raising() -> None:
    review = ReviewSchedule.from_data({"term": ["not", "a", "mapping"], "effective": 5})
    assert review.next_review is None
    assert not review.overdue(D(2030, 1, 1))


# -- targets -------------------------------------------------------------------------------------


def close_rate() -> Target:
    return Target(
        "Close rate",
        Percentage(Decimal(50)),
        "higher",
        baseline=Percentage(Decimal(25)),
        steps=(
            Step("mid-year", D(2020, 6, 30), Percentage(Decimal(35))),
            Step("year-end", D(2020, 12, 31), Percentage(Decimal(50))),
        ),
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2020, 1, 1), 25),
        (D(2020, 6, 29), 25),
        (D(2020, 6, 30), 35),
        (D(2020, 12, 30), 35),
        (D(2020, 12, 31), 50),
        (D(2021, 6, 1), 50),
    ],
)
def test_a_step_is_in_force_from_its_date(day: dt.date, expected: int) -> None:
    assert close_rate().value_on(day) == Percentage(Decimal(expected))


def test_direction_decides_what_meets_a_target() -> None:
    assert close_rate().is_met(Decimal(36), D(2020, 7, 1))
    assert not close_rate().is_met(Decimal(34), D(2020, 7, 1))
    cycle = Target("Sales cycle", Duration(Decimal(40), "day"), "lower")
    assert cycle.is_met(Decimal(40 * 1440), D(2020, 7, 1))  # durations compare in minutes
    assert not cycle.is_met(Decimal(41 * 1440), D(2020, 7, 1))
    assert cycle.stricter(Decimal(45), Decimal(40))
    assert not close_rate().stricter(Decimal(50), Decimal(40))


def test_stepped_targets_sort_their_steps_by_date() -> None:
    target = Target.stepped(
        {
            "metric": "Cycle",
            "better": "lower",
            "baseline": "45 days",
            "steps": [
                {"id": "b", "by": "2020-12-31", "value": "35 days"},
                {"id": "a", "by": "2020-06-30", "value": "40 days"},
            ],
        }
    )
    assert [s.id for s in target.steps] == ["a", "b"]
    assert target.value == Duration(Decimal(35), "day")


# -- plans -----------------------------------------------------------------------------------------


def test_lead_value_total_is_the_sum_of_value_times_planned() -> None:
    # Company A: 10 x 5,000 + 200 x 1,000 + 50 x 2,000 + 50 x 4,000 = 550,000, 310 leads.
    block = {
        "total": {"amount": 550000, "currency": "USD"},
        "per": "month",
        "sources": [
            {
                "id": "referral",
                "name": "Referral",
                "value_per_lead": {"amount": 5000, "currency": "USD"},
                "planned": 10,
            },
            {"id": "content", "name": "Content", "value_per_lead": {"amount": 1000, "currency": "USD"}, "planned": 200},
            {"id": "webinar", "name": "Webinar", "value_per_lead": {"amount": 2000, "currency": "USD"}, "planned": 50},
            {"id": "web", "name": "Web", "value_per_lead": {"amount": 4000, "currency": "USD"}, "planned": 50},
        ],
    }
    plan = LeadValuePlan.from_data(block)
    assert plan.total == Money(Decimal(550000), "USD")
    assert plan.planned == 310
    assert plan.source("webinar") is not None and plan.source("webinar").subtotal == Money(Decimal(100000), "USD")  # type: ignore[union-attr]


# -- terms ---------------------------------------------------------------------------------------


def test_canonical_terms_ignore_order_spelling_and_non_terms() -> None:
    a = {
        "id": "x",
        "status": "draft",
        "version": 1,
        "commitments": [{"id": "b", "target": "35%"}, {"id": "a", "within": "24 hours"}],
    }
    b = {
        "version": 7,
        "status": "active",
        "commitments": [{"within": "1 day", "id": "a"}, {"target": "35.0%", "id": "b"}],
        "id": "x",
    }
    assert canonical(a) == canonical(b)
    assert terms_digest(a) == terms_digest(b)
    assert terms_digest(a) != terms_digest(
        {**a, "commitments": [{"id": "b", "target": "36%"}, {"id": "a", "within": "24 hours"}]}
    )


def test_the_digest_is_sha256_of_the_canonical_json() -> None:
    import hashlib
    import json

    data = {"id": "x", "title": "T"}
    # Written out by hand: sorted keys, no spaces, UTF-8.
    expected = (
        "sha256:" + hashlib.sha256(json.dumps({"id": "x", "title": "T"}, separators=(",", ":")).encode()).hexdigest()
    )
    assert terms_digest(data) == expected


# -- the agreement ---------------------------------------------------------------------------------


def test_company_a_reads_as_a_typed_agreement() -> None:
    doc, problems = load_file(ROOT / "sla" / "company-a-lead-management.yaml")
    assert doc is not None, problems
    agreement = Agreement.from_data(doc.data)
    assert agreement.effective == D(2020, 1, 1)
    assert agreement.party_name("sales") == "Sales"
    assert agreement.who("dana-whitfield") == "Dana Whitfield (Chief Marketing Officer)"
    assert agreement.who("marketing") == "all of Marketing"
    value = agreement.commitment("monthly-lead-value")
    assert value is not None and value.kind == "lead_value" and value.lead_value is not None
    assert value.lead_value.total == Money(Decimal(550000), "USD")
    follow_up = agreement.commitment("lead-follow-up")
    assert follow_up is not None and follow_up.follow_up is not None
    assert follow_up.follow_up.response_time == Duration(Decimal(1), "business hour")
    calendar = agreement.calendar(follow_up.follow_up.calendar)
    assert calendar is not None and D(2020, 11, 26) in calendar.holidays
    rate = agreement.commitment("close-rate")
    assert rate is not None and rate.target is not None
    assert rate.target.value_on(D(2020, 7, 15)) == Percentage(Decimal(35))
    assert agreement.revenue is not None and agreement.revenue.target.monthly == Money(Decimal(1250000), "USD")
    assert [s.after for s in agreement.escalation] == [Duration(Decimal(n), "day") for n in (30, 60, 90)]
    assert agreement.review.next_review == D(2020, 12, 15)
    assert agreement.signoff.complete


def test_the_engine_digest_matches_the_readme_definition() -> None:
    """The property tests sign generated agreements with the oracle's digest; this ties the
    oracle and the engine together on every example agreement."""
    from oracles import digest_by_spec

    for path in sorted((ROOT / "sla").glob("*.yaml")):
        doc, _ = load_file(path)
        assert doc is not None
        assert terms_digest(doc.data) == digest_by_spec(doc.data), path.name


def test_counted_is_singular_for_exactly_one() -> None:
    from decimal import Decimal

    from slakit.model.figures import counted

    assert counted(1, "won deal") == "1 won deal"
    assert counted(Decimal("1.0"), "lead") == "1 lead"
    assert counted(0, "lead") == "0 leads"
    assert counted(1250, "won deal") == "1,250 won deals"
    assert counted(1, "opportunity", "opportunities") == "1 opportunity"
    assert counted(2, "opportunity", "opportunities") == "2 opportunities"


def grouped(value: int | Decimal | str) -> str:
    """Thousands grouped by hand: the digits in threes from the right, trailing zeros of the
    fraction dropped."""
    plain = format(abs(Decimal(str(value))), "f")
    whole, _, fraction = plain.partition(".")
    groups = [whole[max(0, end - 3) : end] for end in range(len(whole), 0, -3)]
    fraction = fraction.rstrip("0")
    sign = "-" if Decimal(str(value)) < 0 and (whole.strip("0") or fraction) else ""
    return sign + ",".join(reversed(groups)) + (f".{fraction}" if fraction else "")


@given(
    st.one_of(
        st.integers(-(10**15), 10**15),
        st.decimals(-(10**12), 10**12, allow_nan=False, places=4),
        st.integers(-(10**9), 10**9).map(str),
    )
)
def test_number_groups_thousands_and_drops_needless_decimals(value: int | Decimal | str) -> None:
    assert number(value) == grouped(value)


def test_number_examples() -> None:
    assert [number(v) for v in (0, 7, 1250000, -1234, Decimal("1250000.50"), Decimal("2E+3"), "-0.0", 12.5)] == [
        "0",
        "7",
        "1,250,000",
        "-1,234",
        "1,250,000.5",
        "2,000",
        "0",
        "12.5",
    ]


def test_the_pages_use_the_funnel_plan_the_checks_worked_out() -> None:
    """The build's agreement carries the sign-off found outside the file: a copy, which keeps
    the plan the funnel rule worked out (and its months' figures) rather than working it out
    again; a what-if plan is worked out anew each time."""
    doc, _ = load_file(ROOT / "sla" / "company-a-lead-management.yaml")
    assert doc is not None
    data = doc.data
    with remembering_digests():
        checked = Agreement.from_data(data)
        plan = checked.funnel_plan()
        assert plan is not None
        signed = Agreement.from_data(data, {}, {})
        assert signed is not checked
        assert signed.funnel_plan() is plan
        what_if = signed.funnel_plan({"close_rate": "40%"})
        assert what_if is not None and what_if is not plan
        assert {m.closing.rates["won"] for m in what_if.months} == {Percentage(Decimal(40))}
        assert signed.funnel_plan({"close_rate": "40%"}) is not what_if
    # Outside the scope nothing is shared between two agreements built from the same data.
    assert Agreement.from_data(data).funnel_plan() is not plan


def test_the_pages_show_the_sign_off_state_the_checks_worked_out() -> None:
    """Inside the scope, the state for the same data, rosters and checks (the sign-off rule's,
    then the build's agreement) is worked out once; other rosters get their own."""
    doc, _ = load_file(ROOT / "sla" / "company-a-lead-management.yaml")
    assert doc is not None
    rosters: dict[str, list[dict[str, str]]] = {}
    checks: dict[int, Any] = {}
    with remembering_digests():
        state = signature_state(doc.data, rosters, checks)
        assert signature_state(doc.data, rosters, checks) is state
        assert Agreement.from_data(doc.data, rosters, checks).signoff is state
        other = signature_state(doc.data, {}, checks)
        assert other is not state and other == state
    assert signature_state(doc.data, rosters, checks) is not state
