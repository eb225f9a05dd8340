"""Test oracles written from the README's definitions, not from the engine's code.

The tests may compare the engine with these, never with themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

# README, "Sign-off": the digest covers everything but the sign-off and the fields that are not
# terms (version, status, review dates, party members and rosters; list items share their list's path).
NOT_TERMS = {
    ("signoff",),
    ("version",),
    ("status",),
    ("term", "last_review"),
    ("term", "next_review"),
    ("parties", "members"),
    ("parties", "roster"),
}
CLOCK_MINUTES = {"minute": 1, "hour": 60, "day": 1440, "week": 10080, "month": 43200}
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?) (minute|hour|business hour|day|business day|week|month)s?$")


def _plain(number: Any) -> str:
    """A number without exponent or trailing zeros: 35.0 -> 35, 1e3 -> 1000."""
    text = format(Decimal(str(number)).normalize(), "f")
    return text


def _normal(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return {"amount": _plain(value["amount"]), "currency": value["currency"]}
        return {k: _normal(v, (*path, k)) for k, v in value.items() if (*path, k) not in NOT_TERMS}
    if isinstance(value, list):
        items = [_normal(v, path) for v in value]
        # Items with an id are matched by id, so order is not a term; other lists likewise.
        return sorted(
            items, key=lambda i: json.dumps(i["id"] if isinstance(i, dict) and "id" in i else i, sort_keys=True)
        )
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _plain(value)
    if isinstance(value, str) and (m := _PERCENT.match(value)):
        return f"{_plain(m.group(1))}%"
    if isinstance(value, str) and (m := _DURATION.match(value)):
        amount, unit = Decimal(m.group(1)), m.group(2)
        if unit in CLOCK_MINUTES:  # 24 hours is 1 day: clock time compares in minutes
            return f"{_plain(amount * CLOCK_MINUTES[unit])} minute"
        return f"{_plain(amount)} {unit}"
    return value


def digest_by_spec(data: dict[str, Any]) -> str:
    """sha256 of the terms in normal form, as the README defines the digest."""
    text = json.dumps(_normal(data, ()), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def magnitude_by_spec(value: Any) -> Decimal:
    """A figure's size for ordering figures of one kind: 35% -> 35, 45 days -> 64800 minutes,
    {amount: 5000} -> 5000, 3 -> 3."""
    if isinstance(value, dict):
        return Decimal(str(value["amount"]))
    if isinstance(value, str) and (m := _PERCENT.match(value)):
        return Decimal(m.group(1))
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return Decimal(m.group(1)) * CLOCK_MINUTES.get(m.group(2), 1)
    return Decimal(str(value))
