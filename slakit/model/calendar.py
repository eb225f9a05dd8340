"""Business-hours calendars: the time zone, working days and hours, and holidays that
response commitments are timed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .dates import parse_date

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Calendar:
    id: str
    name: str
    timezone: str
    days: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time
    holidays: frozenset[dt.date]

    @classmethod
    def from_data(cls, data: dict[str, Any], default_timezone: str) -> Calendar:
        hours = data["hours"]
        holidays = frozenset(d for d in (parse_date(h["date"]) for h in data.get("holidays") or []) if d)
        return cls(
            data["id"],
            data["name"],
            data.get("timezone") or default_timezone,
            frozenset(DAYS.index(d) for d in data["days"]),
            dt.time.fromisoformat(hours["start"]),
            dt.time.fromisoformat(hours["end"]),
            holidays,
        )

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() in self.days and day not in self.holidays
