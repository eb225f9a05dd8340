"""The only clock slakit reads: today's date, or SOURCE_DATE_EPOCH's for reproducible runs."""

from __future__ import annotations

import datetime as dt
import os

from ..errors import UsageError

# The years slakit works in, for every date an agreement states, every time an export holds and
# today's date: outside them a year is mistyped (0202 for 2020, 20-03-05 read as the year 20,
# 9999 written for "never"), and a plan laid out month by month would run for millennia.
FIRST_YEAR, LAST_YEAR = 1900, 2199


def today() -> dt.date:
    """Today's date, or the date of SOURCE_DATE_EPOCH when it is set (reproducible runs)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return dt.date.today()
    try:
        day = dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a timestamp (seconds since 1970-01-01)") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is {day}: give a date in the years {FIRST_YEAR} to {LAST_YEAR}")
    return day


def epoch_is_set() -> bool:
    """Whether SOURCE_DATE_EPOCH fixes the date (a whole number of seconds)."""
    return os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit()
