"""Business time over numpy arrays of epoch seconds: follow-up deadlines and response times.

A calendar's business time is a list of open intervals (one per business day, in the
calendar's zone, holidays left out). A moment's *position* is the business seconds between
the first interval and it; a moment outside business hours sits at the next opening. Then
a deadline is the moment whose position is the start's plus the time allowed, and the
business time between two moments is the difference of their positions.

After hours (a start before the day's opening or after its close):
- first-hour-next-business-day: the first business hour of the next opening;
- next-business-day: the close of the next business day;
- clock-runs: the allowed time counted on the wall clock from the start.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from ..model.calendar import Calendar
from ..model.figures import Duration

DAY = 86400


class BusinessClock:
    """The open intervals of `calendar` covering the epoch seconds `lo`..`hi` (with room after)."""

    def __init__(self, calendar: Calendar, lo: int, hi: int):
        zone = ZoneInfo(calendar.timezone)
        first = dt.datetime.fromtimestamp(lo, zone).date() - dt.timedelta(days=1)
        last = dt.datetime.fromtimestamp(hi, zone).date() + dt.timedelta(days=60)
        opens, closes = [], []
        day = first
        while day <= last:
            if calendar.is_business_day(day):
                opens.append(int(dt.datetime.combine(day, calendar.start, zone).timestamp()))
                closes.append(int(dt.datetime.combine(day, calendar.end, zone).timestamp()))
            day += dt.timedelta(days=1)
        self.opens = np.array(opens, dtype=np.int64)
        self.closes = np.array(closes, dtype=np.int64)
        lengths = self.closes - self.opens
        self.cum = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        self.cum_end = self.cum + lengths
        self.day_length = int(lengths.max()) if len(lengths) else 0

    def _interval(self, t: np.ndarray) -> np.ndarray:
        """Index of the first interval that closes after each moment (clamped to the last)."""
        out: np.ndarray = np.minimum(np.searchsorted(self.closes, t, side="right"), len(self.closes) - 1)
        return out

    def position(self, t: np.ndarray) -> np.ndarray:
        i = self._interval(t)
        out: np.ndarray = self.cum[i] + np.clip(t - self.opens[i], 0, self.closes[i] - self.opens[i])
        return out

    def moment(self, position: np.ndarray) -> np.ndarray:
        j = np.minimum(np.searchsorted(self.cum_end, position, side="left"), len(self.cum_end) - 1)
        out: np.ndarray = self.opens[j] + (position - self.cum[j])
        return out

    def after_hours(self, t: np.ndarray) -> np.ndarray:
        out: np.ndarray = t < self.opens[self._interval(t)]
        return out

    def deadlines(self, starts: np.ndarray, allowed: Duration, after_hours: str | None) -> np.ndarray:
        """The deadline of each start (epoch seconds)."""
        if not allowed.is_business:
            return starts + int(allowed.magnitude * 60)
        seconds = int(allowed.value * 3600) if allowed.unit == "business hour" else int(allowed.value * self.day_length)
        within = self.moment(self.position(starts) + seconds)
        outside = self.after_hours(starts)
        if after_hours == "first-hour-next-business-day":
            first_hour = self.moment(self.position(starts) + 3600)
            return np.where(outside, first_hour, within)
        if after_hours == "next-business-day":
            return np.where(outside, self.closes[self._interval(starts)], within)
        if after_hours == "clock-runs":
            return np.where(outside, starts + seconds, within)
        return within

    def seconds_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Business seconds from each `a` to each `b` (0 when `b` is not later)."""
        out: np.ndarray = np.maximum(self.position(b) - self.position(a), 0)
        return out


class WallClock:
    """Clock time for a follow-up without a business calendar."""

    def deadlines(self, starts: np.ndarray, allowed: Duration, after_hours: str | None) -> np.ndarray:
        hours = allowed.value * 8 if allowed.unit == "business day" else allowed.value
        minutes = allowed.magnitude if not allowed.is_business else hours * 60
        return starts + int(minutes * 60)

    def seconds_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(b - a, 0)
        return out
