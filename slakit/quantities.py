"""Typed figures written as text in the YAML (35%, 24 hours) and how people read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_DURATION = re.compile(r"^(\d+(?:\.\d+)?) (minute|hour|business hour|day|business day|week|month)s?$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")

# Units that convert into each other; business time depends on a calendar, so it only
# compares with itself.
_MINUTES = {"minute": 1, "hour": 60, "day": 1440, "week": 10080, "month": 43200}

CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


@dataclass(frozen=True)
class Duration:
    value: Decimal
    unit: str

    @property
    def family(self) -> str:
        return self.unit if self.unit.startswith("business") else "clock"

    @property
    def magnitude(self) -> Decimal:
        return self.value * _MINUTES.get(self.unit, 1)

    def __str__(self) -> str:
        plural = "" if self.value == 1 else "s"
        return f"{number(self.value)} {self.unit}{plural}"


def parse_duration(text: Any) -> Duration | None:
    match = _DURATION.match(text) if isinstance(text, str) else None
    return Duration(Decimal(match.group(1)), match.group(2)) if match else None


def parse_percent(text: Any) -> Decimal | None:
    match = _PERCENT.match(text) if isinstance(text, str) else None
    return Decimal(match.group(1)) if match else None


def is_money(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("currency"), str)
            and isinstance(value.get("amount"), (int, float)) and not isinstance(value.get("amount"), bool))


def number(value: Any) -> str:
    """A number with thousands separators and no needless decimals: 1250000 -> 1,250,000."""
    dec = Decimal(str(value))
    if dec == dec.to_integral_value():
        return f"{int(dec):,}"
    return f"{dec.normalize():,f}"


def money(value: dict[str, Any]) -> str:
    """$550,000 for known signs, 550,000 CHF otherwise."""
    amount = Decimal(str(value["amount"]))
    text = number(amount) if amount == amount.to_integral_value() else f"{amount:,.2f}"
    sign = CURRENCY_SIGNS.get(value["currency"])
    return f"{sign}{text}" if sign else f"{text} {value['currency']}"


def kind_of(value: Any) -> str:
    """percent, duration:<family>, money:<currency>, number, or other."""
    if parse_percent(value) is not None:
        return "percent"
    duration = parse_duration(value)
    if duration is not None:
        return f"duration:{duration.family}"
    if is_money(value):
        return f"money:{value['currency']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
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
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return None


def figure(value: Any) -> str:
    """Any figure as people write it: 35%, 1 business hour, $5,000, 1,200."""
    if is_money(value):
        return money(value)
    if (duration := parse_duration(value)) is not None:
        return str(duration)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return number(value)
    return str(value)
