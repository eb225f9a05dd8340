"""Whether a change breaks the funnel: the committed MQLs or lead value no longer cover what
the funnel needs in some month (or cover it again)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..model.agreement import MALFORMED, Agreement
from ..model.figures import number
from ..model.funnel import FunnelPlan, PlanMonth


def funnel_plan(data: dict[str, Any] | None) -> FunnelPlan | None:
    """The funnel plan of one version, or None when it has none or cannot be worked out
    (history reads versions that were never validated)."""
    if not isinstance(data, dict):
        return None
    goals = data.get("goals")
    if not isinstance(goals, dict) or not isinstance(goals.get("funnel"), dict):
        return None
    try:
        return Agreement.from_data(data).funnel_plan()
    except MALFORMED:
        return None


def _month(m: PlanMonth) -> str:
    return f"{m.month:%B %Y}"


def funnel_notes(
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    plan_of: Callable[[dict[str, Any] | None], FunnelPlan | None] = funnel_plan,
) -> list[str]:
    """One sentence per way the change breaks the funnel, or mends it:
    "MQLs 120 -> 60: below the 118 the funnel needs in March 2026". `plan_of` works out a
    version's plan (the history passes one that remembers each version's)."""
    before, after = plan_of(old), plan_of(new)
    if after is None:
        return []
    notes = []
    short = [m for m in after.months if m.shortfall]
    was_short = before is not None and any(m.shortfall for m in before.months)
    if short and (not was_short or (before is not None and before.mqls_committed != after.mqls_committed)):
        first = short[0]
        committed = number(after.mqls_committed)
        if before is not None and before.mqls_committed is not None and before.mqls_committed != after.mqls_committed:
            committed = f"{number(before.mqls_committed)} -> {committed}"
        more = f" (short in {len(short)} months)" if len(short) > 1 else ""
        notes.append(
            f"Breaks the funnel: MQLs {committed}: below the {number(first.mqls_required)} the funnel needs "
            f"in {_month(first)}{more}"
        )
    elif was_short and not short and after.mqls_committed is not None:
        notes.append(f"Mends the funnel: {number(after.mqls_committed)} MQLs a month now cover every month")
    value_short = [m for m in after.months if m.value_shortfall and m.value_shortfall.amount]
    value_was_short = before is not None and any(m.value_shortfall and m.value_shortfall.amount for m in before.months)
    if value_short and (
        not value_was_short or (before is not None and before.lead_value_committed != after.lead_value_committed)
    ):
        first = value_short[0]
        committed = str(after.lead_value_committed)
        if before is not None and before.lead_value_committed not in (None, after.lead_value_committed):
            committed = f"{before.lead_value_committed} -> {committed}"
        notes.append(
            f"Breaks the funnel: lead value {committed}: below the {first.lead_value_required} the funnel "
            f"needs in {_month(first)}"
        )
    elif value_was_short and not value_short and after.lead_value_committed is not None:
        notes.append(f"Mends the funnel: {after.lead_value_committed} of lead value now covers every month")
    return notes
