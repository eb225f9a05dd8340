"""Plans whose totals are derived: lead value by source, and revenue per year and per month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .dates import parse_date
from .figures import Money, round_money


@dataclass(frozen=True)
class LeadValueRow:
    id: str
    name: str
    value_per_lead: Money
    planned: int

    @property
    def subtotal(self) -> Money:
        return self.value_per_lead.times(self.planned)


@dataclass(frozen=True)
class LeadValuePlan:
    """Value per lead and leads planned for each source; the total is their sum."""

    rows: tuple[LeadValueRow, ...]
    stated_total: Money
    per: str

    @classmethod
    def from_data(cls, block: dict[str, Any]) -> LeadValuePlan:
        rows = tuple(
            LeadValueRow(s["id"], s["name"], Money.from_data(s["value_per_lead"]), int(s["planned"]))
            for s in block["sources"]
        )
        return cls(rows, Money.from_data(block["total"]), block["per"])

    @property
    def planned(self) -> int:
        return sum(row.planned for row in self.rows)

    @property
    def total(self) -> Money:
        """The sum of the subtotals (in the stated total's currency; rules check they agree)."""
        return Money(sum((row.subtotal.amount for row in self.rows), Decimal(0)), self.stated_total.currency)

    def source(self, ident: str) -> LeadValueRow | None:
        return next((row for row in self.rows if row.id == ident), None)


@dataclass(frozen=True)
class RevenuePoint:
    """A revenue figure: annual, with a monthly run rate stated or derived as annual / 12."""

    annual: Money
    stated_monthly: Money | None = None
    as_of: dt.date | None = None
    by: dt.date | None = None
    sustain_until: dt.date | None = None

    @classmethod
    def from_data(cls, point: dict[str, Any]) -> RevenuePoint:
        return cls(
            Money.from_data(point["annual"]),
            Money.from_data(point["monthly"]) if isinstance(point.get("monthly"), dict) else None,
            parse_date(point.get("as_of")),
            parse_date(point.get("by")),
            parse_date(point.get("sustain_until")),
        )

    @property
    def exact_monthly(self) -> Money:
        return Money(self.annual.amount / 12, self.annual.currency)

    @property
    def derived_monthly(self) -> Money:
        """annual / 12, rounded by the one rule for derived money."""
        return Money(round_money(self.annual.amount / 12), self.annual.currency)

    @property
    def monthly(self) -> Money:
        return self.stated_monthly or self.derived_monthly

    @property
    def monthly_computed(self) -> bool:
        return self.stated_monthly is None


@dataclass(frozen=True)
class RevenuePlan:
    baseline: RevenuePoint
    target: RevenuePoint

    @classmethod
    def from_data(cls, block: dict[str, Any]) -> RevenuePlan:
        return cls(RevenuePoint.from_data(block["baseline"]), RevenuePoint.from_data(block["target"]))
