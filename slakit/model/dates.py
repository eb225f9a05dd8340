"""Dates as agreements write them, months and quarters."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

# An agreement's dates fall in the years FIRST_YEAR to LAST_YEAR, as an export's times do (world/clock.py
# says why): the rules report a date outside them, and the model ignores it.
from ..world.clock import FIRST_YEAR as FIRST_YEAR
from ..world.clock import LAST_YEAR as LAST_YEAR

# The longest span, in months, the engine ever lays out month by month: every month of the
# years above, and a sales cycle at most (figures.MAX_DURATION_DAYS) beyond them, with room.
MAX_MONTHS = 12 * (LAST_YEAR - FIRST_YEAR + 1 + 20)


def read_date(value: Any) -> dt.date | None:
    """A YYYY-MM-DD text as a date in any year (None for anything else); see parse_date."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def in_range(day: dt.date) -> bool:
    """Whether a date falls in the years FIRST_YEAR to LAST_YEAR."""
    return FIRST_YEAR <= day.year <= LAST_YEAR


def parse_date(value: Any) -> dt.date | None:
    """A YYYY-MM-DD text in the years FIRST_YEAR to LAST_YEAR as a date (None for anything
    else: the rules report a date out of that range, and nothing works with it)."""
    day = read_date(value)
    return day if day is not None and in_range(day) else None


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


def month_number(day: dt.date) -> int:
    """Months since the start of the year 0: month_number(b) - month_number(a) months apart."""
    return day.year * 12 + day.month - 1


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of every month from `first`'s month to `last`'s, inclusive; ValueError
    when that is more than MAX_MONTHS (dates out of range reached the model)."""
    count = month_number(last) - month_number(first) + 1
    if count > MAX_MONTHS:
        raise ValueError(f"{first} to {last} is more than {MAX_MONTHS // 12} years of months")
    start = month_number(first)
    return [dt.date(n // 12, n % 12 + 1, 1) for n in range(start, start + max(count, 0))]


def quarter_of(day: dt.date, fy_start: int = 1) -> str:
    """The fiscal quarter of a day, as YYYY-Qn; a fiscal year not starting in January is
    named after the calendar year it ends in (FY starting Feb 2026 = 2027)."""
    shifted = (day.month - fy_start) % 12
    year = day.year if fy_start == 1 or day.month < fy_start else day.year + 1
    return f"{year}-Q{shifted // 3 + 1}"


MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quarter_start(quarter: str, fy_start: int = 1) -> dt.date:
    """The first day of a quarter named as quarter_of names it (YYYY-Qn of the fiscal year)."""
    year, n = (int(part) for part in quarter.split("-Q"))
    first_year = year if fy_start == 1 else year - 1  # a fiscal year is named after the year it ends in
    return add_months(dt.date(first_year, fy_start, 1), 3 * (n - 1))


def quarter_label(quarter: str, fy_start: int = 1) -> tuple[str, str]:
    """How people read a quarter: ("2026-Q3", "Jul-Sep 2026"), or for a fiscal year that does
    not start in January ("FY2026-Q2", "May-Jul 2025") and ("FY2026-Q4", "Nov 2025-Jan 2026")."""
    first = quarter_start(quarter, fy_start)
    last = add_months(first, 2)
    a, b = MONTH_ABBR[first.month - 1], MONTH_ABBR[last.month - 1]  # not %b: that follows the locale
    months = f"{a}-{b} {last.year}" if first.year == last.year else f"{a} {first.year}-{b} {last.year}"
    return ("FY" if fy_start != 1 else "") + quarter, months
