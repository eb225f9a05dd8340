"""The funnel: from the revenue goal, month by month, to the won deals, opportunities,
SQLs and MQLs it needs, and whether the committed lead volume and lead value cover them.

Rounding, stated once: every count is rounded up (`round_up`) at each stage, so a plan
never asks for fewer leads than the figures need. Rates and the sales cycle are those in
force on the last day of the month the deals close (a step is in force from its `by` date
on). The sales cycle runs from MQL to won deal and is counted in whole months of 30 days,
rounded up: leads for deals closing in May with a 45-day cycle are due in March.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from .dates import add_months, month_end, month_number, month_start, months_between
from .figures import (
    MAX_DURATION_DAYS,
    Duration,
    Money,
    Percentage,
    counted,
    parse_duration,
    parse_percent,
    round_money,
    round_up,
)
from .plans import RevenuePlan
from .targets import Target

STAGES = ("sql", "opportunity", "won")
STAGE_NAMES = {"mql": "MQLs", "sql": "SQLs", "opportunity": "opportunities", "won": "won deals"}
STAGE_NAME = {"mql": "MQL", "sql": "SQL", "opportunity": "opportunity", "won": "won deal"}  # one of each
DAYS_PER_MONTH = Decimal(30)
HUNDREDTH = Decimal("0.01")  # a committed figure per month is kept to it
PER_MONTH = {"month": Decimal(1), "quarter": Decimal(3), "year": Decimal(12)}  # periods a month divides
# What `--set` may change, and the figure each takes.
WHAT_IF = {
    "deal_size": "an amount such as 25000",
    "sql_rate": "a percentage such as 40%",
    "opportunity_rate": "a percentage such as 60%",
    "close_rate": "a percentage such as 40% (the won rate)",
    "marketing_share": "a percentage such as 60%",
    "sales_cycle": "a duration such as 40 days",
    "mqls": "a whole number of MQLs a month such as 310",
    "lead_value": "an amount a month such as 550000",
}
MIN_AMOUNT, MAX_AMOUNT = Decimal("0.01"), Decimal("1e15")


@dataclass(frozen=True)
class StageRate:
    """The share of the previous listed stage that reaches `stage`; `commitment` names the
    commitment whose target (and steps) it follows."""

    stage: str
    target: Target
    commitment: str | None = None

    def on(self, day: dt.date) -> Percentage:
        value = self.target.value_on(day)
        assert isinstance(value, Percentage)
        return value


@dataclass(frozen=True)
class Funnel:
    deal_size: Money
    rates: tuple[StageRate, ...]  # in stage order, ending with won
    marketing_share: Percentage
    sales_cycle: Target | None
    cycle_commitment: str | None
    lead_volume: str | None  # the commitment whose lead volume is compared
    lead_value: str | None

    @classmethod
    def from_data(cls, block: dict[str, Any], targets: dict[str, Target]) -> Funnel:
        """The typed funnel; `targets` maps commitment ids to their target (validated data)."""
        rates = []
        for stage in STAGES:
            written = block["conversion"].get(stage)
            if written is None:
                continue
            if isinstance(written, dict):
                rates.append(StageRate(stage, targets[written["commitment"]], written["commitment"]))
            else:
                pct = parse_percent(written)
                assert pct is not None, written
                rates.append(StageRate(stage, Target(stage, Percentage(pct), "higher")))
        cycle, cycle_commitment = block.get("sales_cycle"), None
        cycle_target = None
        if isinstance(cycle, dict):
            cycle_commitment = cycle["commitment"]
            cycle_target = targets[cycle_commitment]
        elif cycle is not None:
            duration = parse_duration(cycle)
            assert duration is not None, cycle
            cycle_target = Target("Sales cycle", duration, "lower")
        share = parse_percent(block.get("marketing_share")) if block.get("marketing_share") else Decimal(100)
        assert share is not None
        return cls(
            Money.from_data(block["deal_size"]),
            tuple(rates),
            Percentage(share),
            cycle_target,
            cycle_commitment,
            block.get("lead_volume"),
            block.get("lead_value"),
        )

    def rate(self, stage: str) -> StageRate | None:
        return next((r for r in self.rates if r.stage == stage), None)

    def lag(self, day: dt.date) -> int:
        """Whole months between the leads and the deals closing on `day` (30-day months, rounded up)."""
        if self.sales_cycle is None:
            return 0
        cycle = self.sales_cycle.value_on(day)
        assert isinstance(cycle, Duration)
        return round_up(cycle.days / DAYS_PER_MONTH)

    def cycle_on(self, day: dt.date) -> Duration | None:
        value = self.sales_cycle.value_on(day) if self.sales_cycle else None
        return value if isinstance(value, Duration) else None

    def max_lag(self) -> int:
        """The longest lag of any sales cycle in force; ValueError for one longer than
        MAX_DURATION_DAYS (the rules report it), so a plan never runs for centuries."""
        if self.sales_cycle is None:
            return 0
        values = [self.sales_cycle.value, self.sales_cycle.baseline] + [s.value for s in self.sales_cycle.steps]
        cycles = [v for v in values if isinstance(v, Duration)]
        if any(v.too_long for v in cycles):
            raise ValueError(f"a sales cycle is longer than {MAX_DURATION_DAYS:,} days")
        return max(round_up(v.days / DAYS_PER_MONTH) for v in cycles)

    def what_if(self, name: str, text: str) -> Funnel:
        """The funnel with one figure replaced for the whole plan (`--set close_rate=40%`);
        ValueError names what is accepted."""
        if name not in WHAT_IF or name in ("mqls", "lead_value"):
            raise ValueError(f"there is no figure {name!r} to set; use one of: {', '.join(WHAT_IF)}")
        wrong = ValueError(f"{name}={text!r}: expected {WHAT_IF[name]}")
        if name == "deal_size":
            return replace(self, deal_size=Money(amount(name, text), self.deal_size.currency))
        if name == "sales_cycle":
            duration = parse_duration(text.strip())
            if duration is None or duration.is_business:
                raise ValueError(f"{name}={text!r}: expected a duration in days, weeks or months such as 40 days")
            if duration.too_long:
                raise ValueError(
                    f"{name}={text!r}: a sales cycle is at most {MAX_DURATION_DAYS:,} days (ten years: "
                    "521 weeks, 121 months)"
                )
            return replace(self, sales_cycle=Target("Sales cycle", duration, "lower"), cycle_commitment=None)
        pct = parse_percent(text.strip())
        if pct is None or pct > 100 or (pct == 0 and name != "marketing_share"):
            raise wrong
        if name == "marketing_share":
            return replace(self, marketing_share=Percentage(pct))
        stage = {"sql_rate": "sql", "opportunity_rate": "opportunity", "close_rate": "won"}[name]
        fixed = StageRate(stage, Target(stage, Percentage(pct), "higher"))
        rates = {r.stage: r for r in self.rates} | {stage: fixed}
        return replace(self, rates=tuple(rates[s] for s in STAGES if s in rates))


def amount(name: str, text: str, whole: bool = False) -> Decimal:
    """A `--set` figure written as a plain number (25000, 25,000); ValueError otherwise."""
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or not MIN_AMOUNT <= value <= MAX_AMOUNT or (whole and value != int(value)):
        raise ValueError(f"{name}={text!r}: expected {WHAT_IF[name]}")
    return value


@dataclass(frozen=True)
class Closing:
    """The deals that must close in one month, worked back through the funnel."""

    month: dt.date
    revenue: Money
    marketing_revenue: Money  # revenue × marketing share, not rounded (the won count is)
    counts: dict[str, int]  # stage -> count: won, opportunity, sql, mql
    rates: dict[str, Percentage]
    lag: int
    cycle: Duration | None

    @property
    def lead_month(self) -> dt.date:
        return add_months(self.month, -self.lag)


@dataclass(frozen=True)
class PlanMonth:
    """One month of the term: the deals closing in it, and the leads due in it (its figures
    worked out once each: the changelog asks each version's plan twice)."""

    month: dt.date
    closing: Closing
    feeds: tuple[Closing, ...]  # the closings whose leads are due this month
    mqls_committed: Decimal | None
    lead_value_committed: Money | None

    @cached_property
    def mqls_required(self) -> int:
        return sum(c.counts["mql"] for c in self.feeds)

    @cached_property
    def lead_value_required(self) -> Money:
        currency = self.closing.revenue.currency
        return Money(round_money(sum((c.marketing_revenue.amount for c in self.feeds), Decimal(0))), currency)

    @cached_property
    def shortfall(self) -> int | None:
        """MQLs missing (0 when covered); None when no lead volume is committed."""
        if self.mqls_committed is None:
            return None
        return max(0, round_up(self.mqls_required - self.mqls_committed))

    @cached_property
    def value_shortfall(self) -> Money | None:
        if self.lead_value_committed is None:
            return None
        gap = self.lead_value_required.amount - self.lead_value_committed.amount
        return Money(max(Decimal(0), round_money(gap)), self.lead_value_committed.currency)

    @property
    def short(self) -> bool:
        return bool(self.shortfall) or bool(self.value_shortfall and self.value_shortfall.amount)


@dataclass(frozen=True)
class FunnelPlan:
    funnel: Funnel
    months: tuple[PlanMonth, ...]
    before_term: tuple[tuple[dt.date, tuple[Closing, ...]], ...]  # lead months before the term
    mqls_committed: Decimal | None
    lead_value_committed: Money | None

    @property
    def shortfalls(self) -> tuple[PlanMonth, ...]:
        return tuple(m for m in self.months if m.short)


def revenue_in(plan: RevenuePlan, month: dt.date, start: dt.date) -> Money:
    """Monthly revenue needed in `month`: the baseline until its month (`as_of`, else
    `start`), rising in equal monthly steps to the target by its month, then sustained."""
    base, goal = plan.baseline.monthly, plan.target.monthly
    first = month_start(plan.baseline.as_of or start)
    last = month_start(plan.target.by) if plan.target.by else first
    if month <= first:
        return base if last > first else goal
    if month >= last:
        return goal
    done, steps = month_number(month) - month_number(first), month_number(last) - month_number(first)
    return Money(round_money(base.amount + (goal.amount - base.amount) * done / steps), goal.currency)


def close(funnel: Funnel, revenue: Money, month: dt.date) -> Closing:
    """The deals, opportunities, SQLs and MQLs one month's revenue needs (rounded up at each stage)."""
    day = month_end(month)
    marketing = Money(revenue.amount * funnel.marketing_share.fraction, revenue.currency)
    count = round_up(marketing.amount / funnel.deal_size.amount)
    counts, rates = {"won": count}, {}
    listed = [rate.stage for rate in funnel.rates]
    for i in reversed(range(len(listed))):
        pct = funnel.rates[i].on(day)
        rates[listed[i]] = pct
        count = round_up(count / pct.fraction)
        counts[listed[i - 1] if i else "mql"] = count
    return Closing(month, revenue, marketing, counts, rates, funnel.lag(day), funnel.cycle_on(day))


def plan(
    funnel: Funnel,
    revenue: RevenuePlan,
    start: dt.date,
    end: dt.date,
    mqls_committed: Decimal | None,
    lead_value_committed: Money | None,
) -> FunnelPlan:
    """The month-by-month plan over the term `start`..`end`. Deals closing after the term
    (at the sustained target) count where their leads fall inside it."""
    term = months_between(start, end)
    closings = _closings(funnel, revenue, start, end)
    by_lead: dict[dt.date, list[Closing]] = {}
    for closing in closings:
        by_lead.setdefault(closing.lead_month, []).append(closing)
    months = tuple(
        PlanMonth(m, closings[i], tuple(by_lead.get(m, ())), mqls_committed, lead_value_committed)
        for i, m in enumerate(term)
    )
    before = tuple((m, tuple(by_lead[m])) for m in sorted(by_lead) if m < term[0])
    return FunnelPlan(funnel, months, before, mqls_committed, lead_value_committed)


_CLOSINGS: dict[str, list[Closing]] = {}


def _closings(funnel: Funnel, revenue: RevenuePlan, start: dt.date, end: dt.date) -> list[Closing]:
    """The closings from `start` to the last month whose leads fall in the term, worked out
    once per distinct funnel, revenue and term (versions of an agreement that change only
    what is committed share them). Keyed by `repr`, which tells 35% from 35.0%."""
    key = repr((funnel, revenue, start, end))
    known = _CLOSINGS.get(key)
    if known is None:
        horizon = months_between(start, add_months(month_start(end), funnel.max_lag()))
        if len(_CLOSINGS) >= 64:
            _CLOSINGS.clear()
        known = _CLOSINGS[key] = [close(funnel, revenue_in(revenue, m, start), m) for m in horizon]
    return known


def monthly(count: Decimal, per: str) -> Decimal | None:
    """A committed figure per `per` as a figure per month, to the hundredth (None for week
    and day, which do not divide a month). 70 a quarter is 23.33 a month: a third never
    ends, and a page would show 28 digits of it. A month's need is a whole count, and a
    third or a twelfth rounded to the hundredth never crosses a whole number, so what
    falls short is the same."""
    months = PER_MONTH.get(per)
    return (count / months).quantize(HUNDREDTH, rounding=ROUND_HALF_UP) if months else None


def term_end(effective: dt.date, end: dt.date | None) -> dt.date:
    """The last day the plan covers: the term's end, or twelve months for an open-ended agreement."""
    return end or add_months(effective, 12) - dt.timedelta(days=1)


def arithmetic(funnel: Funnel, closing: Closing) -> str:
    """One month's funnel written out, each stage rounded up: "$1,166,600 × 44% = $513,304;
    ÷ $20,000 = 26 won deals; ÷ 25% (close-rate) = 104 opportunities; ..."."""
    revenue = f"{closing.revenue}"
    if funnel.marketing_share.value != 100:
        revenue += f" × {funnel.marketing_share} = {closing.marketing_revenue.rounded()}"
    parts = [revenue, f"÷ {funnel.deal_size} = {counted(closing.counts['won'], 'won deal')}"]
    listed = [rate.stage for rate in funnel.rates]
    for i in reversed(range(len(listed))):
        rate = funnel.rates[i]
        source = f" ({rate.commitment})" if rate.commitment else ""
        before = listed[i - 1] if i else "mql"
        count = counted(closing.counts[before], STAGE_NAME[before], STAGE_NAMES[before])
        parts.append(f"÷ {closing.rates[rate.stage]}{source} = {count}")
    return "; ".join(parts)
