"""Figures as the agreement writes them (35%, 24 hours, {amount, currency}) and as typed values.

Every derived figure (a monthly run rate, a lead-value subtotal) is rounded by one rule,
`round_money`, so messages and pages always show the same number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal
from functools import lru_cache
from typing import Any

_DURATION = re.compile(r"^(\d+(?:\.\d+)?) (minute|hour|business hour|day|business day|week|month)s?\Z")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%\Z")

# Units that convert into each other; business time depends on a calendar, so it only
# compares with itself.
_MINUTES = {"minute": 1, "hour": 60, "day": 1440, "week": 10080, "month": 43200}
# The longest duration an agreement may state: ten years (521 weeks, 121 months of 30 days,
# 87,600 hours; business days and hours count as days and hours). A sales cycle or response
# time beyond it is a typing mistake, and a plan would lay out its months for centuries.
MAX_DURATION_DAYS = 3650

CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}
PERIODS = ("day", "week", "month", "quarter", "year")


def round_money(amount: Decimal) -> Decimal:
    """The one rounding rule for derived money: to whole units, halves away from zero
    ($150 / 12 = $12.50 -> $13)."""
    return round_half_up(amount)


def round_half_up(value: Decimal, step: Decimal = Decimal(1)) -> Decimal:
    """The one rounding rule, to `step` (1, 0.1, ...): halves away from zero (52.5 -> 53)."""
    return value.quantize(step, rounding=ROUND_HALF_UP, context=_wide(value, step))


def _wide(value: Decimal, step: Decimal = Decimal(1)) -> Context:
    """A context precise enough to hold `value` in units of `step`: the default 28 digits
    cannot, for an amount such as 1e30, and quantize would raise."""
    digits = value.adjusted() + 2 - step.as_tuple().exponent if value.is_finite() else 0  # type: ignore[operator]
    return Context(prec=max(28, digits))


def round_up(value: Decimal) -> int:
    """The one rounding rule for derived counts (leads, deals): up to a whole number."""
    return int(value.to_integral_value(rounding=ROUND_CEILING, context=_wide(value)))


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def from_data(cls, value: dict[str, Any]) -> Money:
        return cls(Decimal(str(value["amount"])), str(value["currency"]))

    def rounded(self) -> Money:
        return Money(round_money(self.amount), self.currency)

    def times(self, factor: int | Decimal) -> Money:
        return Money(self.amount * factor, self.currency)

    def plus(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def as_data(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}

    def __str__(self) -> str:
        return _money_text(self.amount if type(self.amount) is Decimal else Decimal(str(self.amount)), self.currency)


@dataclass(frozen=True)
class Percentage:
    value: Decimal  # 35 for 35%

    @property
    def fraction(self) -> Decimal:
        return self.value / 100

    def __str__(self) -> str:
        return f"{number(self.value)}%"


@dataclass(frozen=True)
class Duration:
    value: Decimal
    unit: str  # minute | hour | business hour | day | business day | week | month

    @property
    def family(self) -> str:
        """clock, business hour or business day: durations only convert within a family."""
        return self.unit if self.unit.startswith("business") else "clock"

    @property
    def is_business(self) -> bool:
        return self.unit.startswith("business")

    @property
    def magnitude(self) -> Decimal:
        """Minutes for clock time; the count itself for business units."""
        return self.value * _MINUTES.get(self.unit, 1)

    @property
    def days(self) -> Decimal:
        """Clock days (a 45 days sales cycle); business days count as days."""
        return self.value if self.unit in ("day", "business day") else self.magnitude / 1440

    @property
    def too_long(self) -> bool:
        """Longer than MAX_DURATION_DAYS (business hours counted as hours)."""
        hours = self.value if self.unit == "business hour" else None
        return (hours / 24 if hours is not None else self.days) > MAX_DURATION_DAYS

    def __str__(self) -> str:
        plural = "" if self.value == 1 else "s"
        return f"{number(self.value)} {self.unit}{plural}"


Figure = Money | Percentage | Duration | Decimal


def parse_duration(text: Any) -> Duration | None:
    match = _DURATION.match(text) if isinstance(text, str) else None
    return Duration(Decimal(match.group(1)), match.group(2)) if match else None


def parse_percent(text: Any) -> Decimal | None:
    match = _PERCENT.match(text) if isinstance(text, str) else None
    return Decimal(match.group(1)) if match else None


def is_money(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("currency"), str)
        and isinstance(value.get("amount"), (int, float, Decimal))
        and not isinstance(value.get("amount"), bool)
    )


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def parse_figure(value: Any) -> Figure | None:
    """A typed figure for any value the schema calls a quantity (None for anything else)."""
    if (pct := parse_percent(value)) is not None:
        return Percentage(pct)
    if (duration := parse_duration(value)) is not None:
        return duration
    if is_money(value):
        return Money.from_data(value)
    if is_number(value):
        return Decimal(str(value))
    return None


def number(value: Any) -> str:
    """A number with thousands separators and no needless decimals: 1250000 -> 1,250,000."""
    if type(value) is int:  # most are counts, with nothing to normalise (a page shows a hundred)
        return _count(value)
    dec = value if type(value) is Decimal else Decimal(str(value))  # a Decimal's text gives it back
    if dec == dec.to_integral_value():
        return f"{int(dec):,}"
    return f"{dec.normalize():,f}"


@lru_cache(maxsize=4096)
def _count(value: int) -> str:
    # A funnel's pages write the same counts many times over; int formatting parses its spec each time.
    return f"{value:,}"


def counted(count: Any, one: str, many: str | None = None) -> str:
    """A count with its noun, singular for exactly 1: "1 won deal", "1,250 won deals"
    (`many` for a plural that is not `one` + "s": "opportunities")."""
    noun = one if Decimal(str(count)) == 1 else (many or one + "s")
    return f"{number(count)} {noun}"


def money(value: dict[str, Any]) -> str:
    """$550,000 for known signs, 550,000 CHF otherwise."""
    return _money_text(Decimal(str(value["amount"])), value["currency"])


def _money_text(amount: Decimal, currency: Any) -> str:
    text = number(amount) if amount == amount.to_integral_value() else f"{amount:,.2f}"
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{text}" if sign else f"{text} {currency}"


def kind_of(value: Any) -> str:
    """percent, duration:<family>, money:<currency>, number, or other."""
    if parse_percent(value) is not None:
        return "percent"
    duration = parse_duration(value)
    if duration is not None:
        return f"duration:{duration.family}"
    if is_money(value):
        return f"money:{value['currency']}"
    if is_number(value):
        return "number"
    return "other"


def magnitude(value: Any) -> Decimal | None:
    """A comparable number for a figure of any kind (None when it has none)."""
    if (pct := parse_percent(value)) is not None:
        return pct
    if (duration := parse_duration(value)) is not None:
        return duration.magnitude
    if is_money(value):
        return Decimal(str(value["amount"]))
    if is_number(value):
        return Decimal(str(value))
    return None


def figure(value: Any) -> str:
    """Any figure as people write it: 35%, 1 business hour, $5,000, 1,200."""
    if isinstance(value, (Money, Percentage, Duration)):
        return str(value)
    if is_money(value):
        return money(value)
    if (duration := parse_duration(value)) is not None:
        return str(duration)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        return number(value)
    return str(value)
