"""The funnel plan as text (terminals), Markdown and JSON."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from decimal import Decimal

from ..model.agreement import Agreement
from ..model.figures import number
from ..model.funnel import FunnelPlan, PlanMonth, arithmetic
from ..model.targets import Target
from .markdown import inline
from .present import funnel_rates
from .report import printable

ROUNDING = (
    "Revenue, won deals, opportunities and SQLs are those of the deals closing in the month; MQLs due are the "
    "leads to deliver in the month for the deals that close a sales cycle later. Counts are rounded up at each stage; rates and the sales cycle are those in force on the last day "
    "of the month the deals close; the sales cycle is counted in whole months of 30 days, rounded up, "
    "and MQLs are due that many months before their deals close."
)
COLUMNS = ("Month", "Revenue", "Won", "Opps", "SQLs", "MQLs due", "MQLs committed", "MQLs short")


def _opt(value: int | None) -> str:
    return "-" if value is None else number(value)


def _row(month: PlanMonth) -> tuple[str, ...]:
    closing = month.closing
    return (
        f"{month.month:%Y-%m}",
        str(closing.revenue),
        number(closing.counts["won"]),
        _opt(closing.counts.get("opportunity")),
        _opt(closing.counts.get("sql")),
        number(month.mqls_required),
        "-" if month.mqls_committed is None else number(month.mqls_committed),
        "-" if month.shortfall is None else (number(month.shortfall) if month.shortfall else ""),
    )


def _steps(target: Target) -> str:
    """A figure with its steps: 25%, 35% from 2020-06-30, 50% from 2020-12-31."""
    if not target.steps:
        return str(target.value)
    first = f"{target.baseline}, " if target.baseline is not None else ""
    return first + ", ".join(f"{step.value} from {step.by}" for step in target.steps)


def _settings(plan: FunnelPlan, what_if: dict[str, str]) -> list[str]:
    funnel = plan.funnel
    rates = "; ".join(
        f"{r['label']} " + _steps(r["value"]) + (f" as committed in {r['commitment']}" if r["commitment"] else "")
        for r in funnel_rates(funnel)
    )
    lines = [f"Deal size {funnel.deal_size}; marketing-sourced share {funnel.marketing_share}.", f"{rates}."]
    if funnel.sales_cycle is not None:
        source = f" as committed in {funnel.cycle_commitment}" if funnel.cycle_commitment else ""
        lines.append(f"Sales cycle {_steps(funnel.sales_cycle)}{source}.")
    if what_if:
        lines.append("What if: " + ", ".join(f"{k}={v}" for k, v in what_if.items()) + " (not in the file).")
    return lines


def text(agreement: Agreement, plan: FunnelPlan, what_if: dict[str, str]) -> str:
    """A table for the terminal, then every short month with its arithmetic."""
    rows = [COLUMNS] + [_row(m) for m in plan.months]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    out = [f"Funnel plan: {agreement.title}", *_settings(plan, what_if), ""]
    out += [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows
    ]
    out += ["", *textwrap.wrap(ROUNDING, 100)]
    out += _before(plan)
    out += [""] + _verdict(plan)
    return printable("\n".join(out)) + "\n"


def _before(plan: FunnelPlan) -> list[str]:
    return [
        f"Deals closing in {', '.join(f'{c.month:%Y-%m}' for c in feeds)} need "
        f"{number(sum(c.counts['mql'] for c in feeds))} MQLs in {month:%Y-%m}, before the term."
        for month, feeds in plan.before_term
    ]


def _verdict(plan: FunnelPlan) -> list[str]:
    if not plan.shortfalls:
        committed = [
            name
            for name, figure in (("lead volume", plan.mqls_committed), ("lead value", plan.lead_value_committed))
            if figure is not None
        ]
        if not committed:
            return ["No lead volume or lead value is committed to compare with the funnel."]
        return [
            f"The committed {' and '.join(committed)} cover{'s' if len(committed) == 1 else ''} the funnel every month."
        ]
    lines = [f"Short in {len(plan.shortfalls)} month{'s' if len(plan.shortfalls) != 1 else ''}:"]
    for month in plan.shortfalls:
        gaps = []
        if month.shortfall:
            gaps.append(f"{number(month.shortfall)} MQLs short ({number(month.mqls_required)} needed)")
        if month.value_shortfall and month.value_shortfall.amount:
            gaps.append(f"{month.value_shortfall} of lead value short ({month.lead_value_required} needed)")
        lines.append(f"  {month.month:%Y-%m}: {' and '.join(gaps)}")
        for closing in month.feeds:
            lines.append(f"    deals closing in {closing.month:%Y-%m}: {arithmetic(plan.funnel, closing)}")
    return lines


def markdown(agreement: Agreement, plan: FunnelPlan, what_if: dict[str, str]) -> str:
    """A Markdown table (a pull-request comment or a page)."""
    out = [f"# Funnel plan: {_md(agreement.title)}", "", *[_md(x) for x in _settings(plan, what_if)], ""]
    out += ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    out += ["| " + " | ".join(_md(c) for c in _row(m)) + " |" for m in plan.months]
    out += ["", ROUNDING, *_before(plan), "", *[_md(x) for x in _verdict(plan)]]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Text from the agreement, made inert in Markdown (no HTML, no table breaks)."""
    return str(inline(text))


def _num(value: Decimal) -> int | float:
    """A figure for JSON: a whole number stays whole (400000, not 400000.0)."""
    return int(value) if value == value.to_integral_value() else float(value)


def as_json(agreement: Agreement, plan: FunnelPlan, what_if: dict[str, str]) -> str:
    """The plan for machines (documented in the README)."""
    funnel = plan.funnel
    months = []
    for m in plan.months:
        c = m.closing
        months.append(
            {
                "month": f"{m.month:%Y-%m}",
                "revenue": _num(c.revenue.amount),
                "marketing_revenue": _num(c.marketing_revenue.rounded().amount),
                "won": c.counts["won"],
                "opportunities": c.counts.get("opportunity"),
                "sqls": c.counts.get("sql"),
                "mqls_for_deals": c.counts["mql"],
                "rates": {stage: str(rate) for stage, rate in c.rates.items()},
                "sales_cycle": str(c.cycle) if c.cycle else None,
                "lag_months": c.lag,
                "mqls_required": m.mqls_required,
                "feeds": [f"{f.month:%Y-%m}" for f in m.feeds],
                "mqls_committed": None if m.mqls_committed is None else _num(m.mqls_committed),
                "shortfall": m.shortfall,
                "lead_value_required": _num(m.lead_value_required.amount),
                "lead_value_committed": _num(m.lead_value_committed.amount) if m.lead_value_committed else None,
                "lead_value_shortfall": _num(m.value_shortfall.amount) if m.value_shortfall else None,
            }
        )
    doc = {
        "agreement": agreement.id,
        "currency": funnel.deal_size.currency,
        "deal_size": _num(funnel.deal_size.amount),
        "marketing_share": str(funnel.marketing_share),
        "what_if": what_if,
        "covered": not plan.shortfalls,
        "months": months,
        "before_term": [
            {
                "month": f"{month:%Y-%m}",
                "mqls_required": sum(c.counts["mql"] for c in feeds),
                "feeds": [f"{c.month:%Y-%m}" for c in feeds],
            }
            for month, feeds in plan.before_term
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


FORMATS: dict[str, Callable[[Agreement, FunnelPlan, dict[str, str]], str]] = {
    "text": text,
    "md": markdown,
    "json": as_json,
}
