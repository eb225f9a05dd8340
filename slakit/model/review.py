"""When an agreement is reviewed: the next review (stated or computed from the cadence)
and whether it is overdue. A retired agreement is never overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .dates import add_months, parse_date

CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
DUE_SOON_DAYS = 14


@dataclass(frozen=True)
class ReviewSchedule:
    cadence: str | None
    effective: dt.date | None
    last_review: dt.date | None
    stated_next: dt.date | None
    end: dt.date | None
    retired: bool

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ReviewSchedule:
        """Read defensively: the checking rules use it on documents that may have schema errors."""
        term = data.get("term") if isinstance(data.get("term"), dict) else {}
        assert isinstance(term, dict)
        cadence = term.get("review_cadence")
        return cls(
            cadence if isinstance(cadence, str) and cadence in CADENCE_MONTHS else None,
            parse_date(data.get("effective")),
            parse_date(term.get("last_review")),
            parse_date(term.get("next_review")),
            parse_date(term.get("end")),
            data.get("status") == "retired",
        )

    @property
    def cadence_due(self) -> dt.date | None:
        """The review the cadence calls for: a cadence after the last review (or the effective date)."""
        start = self.last_review or self.effective
        if self.cadence is None or start is None:
            return None
        return add_months(start, CADENCE_MONTHS[self.cadence])

    @property
    def next_review(self) -> dt.date | None:
        """The next review date: stated, or computed from the last review and the cadence."""
        return self.stated_next or self.cadence_due

    @property
    def computed(self) -> bool:
        """Whether the next review was computed (not stated in the file)."""
        return self.stated_next is None

    def overdue(self, on: dt.date) -> bool:
        upcoming = self.next_review
        return bool(upcoming and upcoming < on and not self.retired)

    def due_soon(self, on: dt.date, days: int = DUE_SOON_DAYS) -> bool:
        """Due within `days` days of `on` (and not yet overdue)."""
        upcoming = self.next_review
        return bool(upcoming and not self.retired and on <= upcoming <= on + dt.timedelta(days=days))
