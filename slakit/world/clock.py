"""The only clock slakit reads: today's date, or SOURCE_DATE_EPOCH's for reproducible runs."""

from __future__ import annotations

import datetime as dt
import os

from ..errors import UsageError


def today() -> dt.date:
    """Today's date, or the date of SOURCE_DATE_EPOCH when it is set (reproducible runs)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return dt.date.today()
    try:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a timestamp (seconds since 1970-01-01)") from None


def epoch_is_set() -> bool:
    """Whether SOURCE_DATE_EPOCH fixes the date (a whole number of seconds)."""
    return os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit()
