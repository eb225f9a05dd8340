"""Dates as agreements write them, months and quarters."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any


def parse_date(value: Any) -> dt.date | None:
    """A YYYY-MM-DD text as a date (None for anything else)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28/29),
    and to the calendar's ends (9999-12-31, 0001-01-01): no date lies beyond them."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if year > dt.MAXYEAR:
        return dt.date.max
    if year < dt.MINYEAR:
        return dt.date.min
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of every month from `first`'s month to `last`'s, inclusive."""
    out, day = [], month_start(first)
    while day <= last:
        out.append(day)
        day = add_months(day, 1)
    return out


def quarter_of(day: dt.date, fy_start: int = 1) -> str:
    """The fiscal quarter of a day, as YYYY-Qn; a fiscal year not starting in January is
    named after the calendar year it ends in (FY starting Feb 2026 = 2027)."""
    shifted = (day.month - fy_start) % 12
    year = day.year if fy_start == 1 or day.month < fy_start else day.year + 1
    return f"{year}-Q{shifted // 3 + 1}"
