"""Business-hours calendars: the time zone, working days and hours, and holidays that
response commitments are timed in, and the arithmetic of business time over them.

Semantics (the README's "Business hours and response deadlines" says the same for users):

- An instant is *business time* when, read as wall-clock time in the calendar's zone, it
  falls on a business day (a weekday in `days` that is not a holiday) and
  `start <= wall time < end`. Business days and holidays are local dates.
- Daylight saving follows from that definition. A business day 00:00-08:00 on a
  spring-forward day lasts 7 hours; an opening at a wall time that does not exist that day
  (in the gap) opens at the first instant whose wall time is at or after it; a wall time
  that occurs twice (the autumn fold) counts twice when it is inside business hours.
- Business time between a and b is the measure of the business instants in [a, b); it is
  zero when b <= a (never negative).
- A deadline for an allowed time in business units (business hours of 60 minutes, business
  days of `end - start` each, whatever the length of the days they are spent in) is the
  earliest instant t >= start with business_time_between(start, t) == allowed. A lead that
  arrives outside business hours therefore waits for the next opening.
- In clock units (minute, hour, day, week; a month is 30 days) the deadline is the start
  plus the allowed elapsed time; the calendar and the after-hours rule do not apply.
- The after-hours rule applies to business units when the start is not business time, and
  only ever gives more time than the business-time rule, never less (the later of the two
  deadlines applies):
  `first-hour-next-business-day`: the first business hour of the next business period
  (its opening + 60 business minutes, or that day's close when the day is shorter);
  `next-business-day`: the close of the business day whose hours come next (a lead at
  07:00 before a 09:00 opening is due at that day's close; one at 18:00 the next day's);
  `clock-runs`: the allowed time is counted as elapsed time from the start (a business
  hour = 60 minutes, a business day = `end - start`);
  none: the business-time rule.
- Allowed times are counted in whole seconds (a fraction of a second rounds up).

Instants are timezone-aware datetimes (naive ones raise ValueError: the caller decides
their zone). The vectorised methods take and return numpy arrays of epoch seconds (UTC);
`MISSING` (the int64 value of NaT, so a `datetime64[s]` array viewed as int64 carries it)
marks a missing instant and gives a missing result. Both sets of methods run the same code
over one table of business intervals (opens, closes, cumulative business time), built for
the span the data needs with zoneinfo, so they agree exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..world.zones import offset_segments
from .dates import parse_date
from .figures import Duration

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Int64s = npt.NDArray[np.int64]
else:

    class _Numpy:
        """numpy, imported at its first use: building an agreement's calendars needs none of
        it, and importing it is a third of what a small changelog or diff costs. The first
        use puts the module itself in its place."""

        def __getattr__(self, name: str) -> Any:
            import numpy

            globals()["np"] = numpy
            return getattr(numpy, name)

    np = _Numpy()

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AFTER_HOURS = ("first-hour-next-business-day", "next-business-day", "clock-runs")
MISSING = -(2**63)  # the int64 value of NaT (np.iinfo(np.int64).min)
MAX_SPAN_YEARS = 50

_US = 1_000_000  # the tables count in microseconds, so datetimes keep their precision
_DAY = 86_400
_DAY_US = _DAY * _US
_HOUR_US = 3_600 * _US
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY = dt.date(1970, 1, 1).weekday()
# Instants a calendar counts: a year inside datetime's range on either side, for the margins.
_FIRST_DAY = dt.date(2, 1, 1).toordinal() - _EPOCH_ORDINAL
_LAST_DAY = dt.date(9998, 12, 31).toordinal() - _EPOCH_ORDINAL
_MAX_SPAN_DAYS = round(MAX_SPAN_YEARS * 365.25)


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

    @property
    def day_length(self) -> dt.timedelta:
        """One business day: end - start (as written, whatever daylight saving does)."""
        return dt.timedelta(seconds=_seconds_of(self.end) - _seconds_of(self.start))

    def allowed_seconds(self, allowed: Duration) -> int:
        """An allowed time in whole seconds (business units in business seconds), rounded up."""
        if allowed.value < 0:
            raise ValueError(f"a response time cannot be negative: {allowed}")
        if allowed.unit == "business hour":
            seconds = allowed.value * 3_600
        elif allowed.unit == "business day":
            seconds = allowed.value * self._checked_day_seconds()
        else:
            seconds = allowed.magnitude * 60
        if seconds > Decimal(_MAX_SPAN_DAYS * 4 * _DAY):  # far beyond any span a table may have
            raise ValueError(f"a response time of {allowed} is longer than any calendar can count")
        return int(seconds.to_integral_value(rounding=ROUND_CEILING))

    def after_hours_rule_applies(self, allowed: Duration, after_hours: str | None) -> bool:
        """Whether the after-hours rule decides a late lead's deadline: it gives at least
        the time `allowed` counted from the next opening (the later of the two applies;
        `clock-runs` replaces that count). Clock units take no rule."""
        if after_hours not in AFTER_HOURS or not allowed.is_business:
            return False
        if after_hours == "clock-runs":
            return True
        try:
            day = self._checked_day_seconds()
            allowed_seconds = self.allowed_seconds(allowed)
        except ValueError:  # a calendar the checks reject: nothing to compare
            return True
        given = min(3_600, day) if after_hours == "first-hour-next-business-day" else day
        return allowed_seconds <= given

    # -- one instant at a time ------------------------------------------------------------

    def is_business_time(self, instant: dt.datetime) -> bool:
        """Whether `instant` falls inside business hours on a business day."""
        t = _micros(instant, "instant")
        table = self._table(t, t, 0)
        return bool(table.inside(np.array([t], dtype=np.int64))[0])

    def business_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Business time in [a, b); zero when b <= a."""
        ta, tb = _micros(a, "a"), _micros(b, "b")
        if tb <= ta:
            return dt.timedelta(0)
        return dt.timedelta(microseconds=int(self._between_us(np.array([ta]), np.array([tb]))[0]))

    def deadline(self, start: dt.datetime, allowed: Duration, after_hours: str | None = None) -> dt.datetime:
        """The moment a response to a lead that arrived at `start` is due (in start's zone)."""
        t = _micros(start, "start")
        due = int(self._deadlines_us(np.array([t], dtype=np.int64), allowed, after_hours)[0])
        try:
            return (_EPOCH + dt.timedelta(microseconds=due)).astimezone(start.tzinfo)
        except OverflowError:
            raise ValueError(f"the deadline {allowed} after {start.isoformat()} is after the year 9999") from None

    # -- whole columns (epoch seconds, MISSING for a missing instant) ---------------------

    def business_seconds(self, instants: npt.ArrayLike) -> Int64s:
        """Business seconds from the earliest instant to each instant (MISSING stays MISSING),
        so the difference of two results is the business time between their instants."""
        t = _epoch_seconds(instants, "instants")
        out = np.full(t.shape, MISSING, dtype=np.int64)
        ok = t != MISSING
        if ok.any():
            us = t[ok] * _US
            first = int(us.min())
            self._check_span(first, int(us.max()))
            table = self._table(first, int(us.max()), 0)
            b = table.business(us)
            out[ok] = (b - table.business(np.array([first]))[0]) // _US
        return out

    def business_seconds_between(self, a: npt.ArrayLike, b: npt.ArrayLike) -> Int64s:
        """Business seconds in [a, b) element by element: 0 where b <= a, MISSING where
        either is MISSING."""
        ta, tb = np.broadcast_arrays(_epoch_seconds(a, "a"), _epoch_seconds(b, "b"))
        out = np.full(ta.shape, MISSING, dtype=np.int64)
        ok = (ta != MISSING) & (tb != MISSING)
        if ok.any():
            out[ok] = self._between_us(ta[ok] * _US, tb[ok] * _US) // _US
        return out

    def deadlines(self, starts: npt.ArrayLike, allowed: Duration, after_hours: str | None = None) -> Int64s:
        """The deadline of each start (epoch seconds; MISSING stays MISSING), as `deadline`."""
        t = _epoch_seconds(starts, "starts")
        out = np.full(t.shape, MISSING, dtype=np.int64)
        ok = t != MISSING
        if ok.any():
            out[ok] = self._deadlines_us(t[ok] * _US, allowed, after_hours) // _US
        return out

    def response_times(
        self, starts: npt.ArrayLike, ends: npt.ArrayLike, allowed: Duration, after_hours: str | None = None
    ) -> tuple[Int64s, Int64s]:
        """For each start: its deadline (as `deadlines`) and the business seconds from it to its end
        (as `business_seconds_between`), counted from one place of the start in one table. No
        MISSING values: a start without an end is given itself as its end."""
        ts, te = np.broadcast_arrays(_epoch_seconds(starts, "starts"), _epoch_seconds(ends, "ends"))
        if not len(ts) or not allowed.is_business or (ts == MISSING).any() or (te == MISSING).any():
            return self.deadlines(ts, allowed, after_hours), self.business_seconds_between(ts, te)
        a, b = ts * _US, te * _US
        _check_rule(after_hours)
        due, business_a, table = self._business_deadlines_us(a, allowed, after_hours, also=b)
        between = np.maximum(table.business(b) - business_a, 0) // _US
        return due // _US, between

    # -- the shared core, in microseconds -------------------------------------------------

    def _between_us(self, a: Int64s, b: Int64s) -> Int64s:
        first, last = int(min(a.min(), b.min())), int(max(a.max(), b.max()))
        self._check_span(first, last)
        table = self._table(first, last, 0)
        between: Int64s = np.maximum(table.business(b) - table.business(a), 0)
        return between

    def _deadlines_us(self, starts: Int64s, allowed: Duration, after_hours: str | None) -> Int64s:
        _check_rule(after_hours)
        allowed_us = self.allowed_seconds(allowed) * _US
        if not allowed.is_business:
            return _checked_sum(starts, allowed_us, allowed)
        return self._business_deadlines_us(starts, allowed, after_hours)[0]

    def _business_deadlines_us(
        self, starts: Int64s, allowed: Duration, after_hours: str | None, also: Int64s | None = None
    ) -> tuple[Int64s, Int64s, _Table]:
        """Deadlines for a business `allowed`, the business time of each start, and the table
        they were counted in (which covers the instants `also` too)."""
        allowed_us = self.allowed_seconds(allowed) * _US
        first, last = int(starts.min()), int(starts.max())
        if also is not None and len(also):
            first, last = min(first, int(also.min())), max(last, int(also.max()))
        self._check_span(first, last)
        week = len(self.days) * self._checked_day_seconds() * _US
        extra = min(int(7 * (allowed_us + self._checked_day_seconds() * _US) // week) + 8, _MAX_SPAN_DAYS)
        while True:
            table = self._table(first, last, extra)
            k = table.last_open(starts)
            business = table.business(starts, k)
            due = table.deadlines(starts, allowed_us, after_hours, k, business)
            if due is not None:
                return due, business, table
            if extra >= _MAX_SPAN_DAYS:
                raise ValueError(
                    f"calendar {self.id}: a deadline {allowed} after {_day_of(last)} would fall more than "
                    f"{MAX_SPAN_YEARS} years later; are the holidays or the response time right?"
                )
            extra = min(extra * 2 + 366, _MAX_SPAN_DAYS)

    def _check_span(self, first: int, last: int) -> None:
        if last - first > _MAX_SPAN_DAYS * _DAY_US:
            raise ValueError(
                f"calendar {self.id}: the instants run from {_day_of(first)} to {_day_of(last)}, "
                f"more than {MAX_SPAN_YEARS} years; check the dates for a wrong year"
            )

    def _checked_day_seconds(self) -> int:
        if not self.days:
            raise ValueError(f"calendar {self.id}: no working days; list at least one of {', '.join(DAYS)}")
        seconds = _seconds_of(self.end) - _seconds_of(self.start)
        if seconds <= 0:
            raise ValueError(
                f"calendar {self.id}: the business day ends at {self.end:%H:%M}, "
                f"not after it starts at {self.start:%H:%M}"
            )
        return seconds

    def _table(self, first: int, last: int, extra_days: int) -> _Table:
        """The table covering instants first..last (microseconds) and `extra_days` after,
        widened to whole years so that nearby calls share it."""
        first_day, last_day = first // _DAY_US - 1, last // _DAY_US + 2 + extra_days
        if first_day < _FIRST_DAY or last_day > _LAST_DAY:
            raise ValueError(
                f"calendar {self.id}: business time from {_day_of(first)} to {_day_of(last)} "
                "runs outside the years 2 to 9998 that a calendar counts"
            )
        self._checked_day_seconds()
        return _build_table(self, _year_start(first_day), _year_start(last_day, next_year=True))


@dataclass(frozen=True, eq=False)
class _Table:
    """Business intervals [opens, closes) in microseconds since the epoch, in order, with the
    business time before each (cum_start) and the close of each interval's business day
    (day_close; day_close_cum = business time up to it). Interval 0 is an empty one before
    all others, so every instant has an interval opened at or before it. Exact for instants
    in [lo, hi]."""

    opens: Int64s
    closes: Int64s
    cum_start: Int64s
    cum_end: Int64s
    day_close: Int64s
    day_close_cum: Int64s
    lo: int
    hi: int
    by_open: _Index
    by_cum_end: _Index

    def last_open(self, t: Int64s) -> npt.NDArray[np.intp]:
        """The interval opened last at or before each instant."""
        return self.by_open.count_at_or_below(t) - 1

    def business(self, t: Int64s, k: npt.NDArray[np.intp] | None = None) -> Int64s:
        """Business time from the table's origin to each instant (k: their last_open)."""
        k = self.last_open(t) if k is None else k
        business: Int64s = self.cum_start[k] + np.minimum(t - self.opens[k], self.closes[k] - self.opens[k])
        return business

    def inside(self, t: Int64s) -> npt.NDArray[np.bool_]:
        return t < self.closes[self.last_open(t)]

    def time_at(self, target: Int64s) -> Int64s | None:
        """The earliest instant at which business time reaches each target (> 0), or None when
        a target lies beyond the table."""
        j = self.by_cum_end.count_below(target)
        if len(j) and int(j.max()) >= len(self.opens):
            return None
        return self.opens[j] + (target - self.cum_start[j])

    def deadlines(
        self, starts: Int64s, allowed: int, after_hours: str | None, k: npt.NDArray[np.intp], business: Int64s
    ) -> Int64s | None:
        """Deadlines for business time `allowed` (microseconds), None when the table is too short;
        `k` and `business`: the starts' last_open and business time."""
        due = starts.copy() if allowed == 0 else self.time_at(business + allowed)
        if due is None:
            return None
        if after_hours is not None:
            outside = starts >= self.closes[k]
            if outside.any():
                following = k[outside] + 1  # after hours, the next interval opens next
                if int(following.max()) >= len(self.opens):
                    return None
                if after_hours == "clock-runs":
                    rule: Int64s | None = starts[outside] + allowed
                elif after_hours == "next-business-day":
                    rule = self.day_close[following]
                else:
                    first_hour = self.cum_start[following] + _HOUR_US
                    rule = self.time_at(np.minimum(first_hour, self.day_close_cum[following]))
                if rule is None:
                    return None
                due[outside] = rule if after_hours == "clock-runs" else np.maximum(due[outside], rule)
        if len(due) and int(due.max()) > self.hi:
            return None
        return due


@lru_cache(maxsize=32)
def _build_table(calendar: Calendar, d0: int, d1: int) -> _Table:
    """The business intervals of the local dates d0..d1 (days since 1970-01-01)."""
    zone = _zone(calendar)
    start, end = _seconds_of(calendar.start), _seconds_of(calendar.end)
    holidays = {d.toordinal() - _EPOCH_ORDINAL for d in calendar.holidays}
    before_all = (d0 - 2) * _DAY
    opens, closes, days = [before_all], [before_all], [d0 - 2]
    # Offsets are less than a day, so the instants of dates d0..d1 lie within a day of them.
    for seg_start, seg_end, offset in offset_segments(zone, (d0 - 1) * _DAY, (d1 + 2) * _DAY):
        first_day = max(d0, (seg_start + offset) // _DAY)
        last_day = min(d1, (seg_end - 1 + offset) // _DAY)
        for day in range(first_day, last_day + 1):
            if (day + _EPOCH_WEEKDAY) % 7 not in calendar.days or day in holidays:
                continue
            lo = max(seg_start, day * _DAY + start - offset)
            hi = min(seg_end, day * _DAY + end - offset)
            if lo >= hi:
                continue
            opens.append(lo)
            closes.append(hi)
            days.append(day)
    last_of_day = {day: i for i, day in enumerate(days)}
    o = np.array(opens, dtype=np.int64) * _US
    c = np.array(closes, dtype=np.int64) * _US
    cum_end = np.cumsum(c - o, dtype=np.int64)
    last = np.array([last_of_day[day] for day in days], dtype=np.intp)
    return _Table(
        opens=o,
        closes=c,
        cum_start=cum_end - (c - o),
        cum_end=cum_end,
        day_close=c[last],
        day_close_cum=cum_end[last],
        lo=(d0 + 1) * _DAY_US,
        hi=d1 * _DAY_US,
        by_open=_Index(o),
        by_cum_end=_Index(cum_end),
    )


class _Index:
    """np.searchsorted over a sorted array, for a million queries: a bucket table gives each
    query the count of keys before its bucket, and a few vectorised steps finish the count
    (as many as the most keys any bucket holds). Several times faster than a binary search,
    which mispredicts a branch at every step; it falls back to one when keys cluster."""

    _MAX_STEPS = 4

    def __init__(self, keys: Int64s) -> None:
        self.keys = keys
        self.bucket = max(1, int(keys[-1] - keys[0]) // (4 * len(keys)) + 1)
        self.base = int(keys[0]) - self.bucket
        edges = self.base + np.arange((int(keys[-1]) - self.base) // self.bucket + 2, dtype=np.int64) * self.bucket
        self.below = np.searchsorted(keys, edges, side="left")  # keys < each bucket's start
        self.steps = int(np.diff(self.below).max(initial=0))  # the most keys in one bucket
        self.padded = np.append(keys, np.iinfo(np.int64).max)  # a sentinel that stops every count

    def count_below(self, t: Int64s) -> npt.NDArray[np.intp]:
        """np.searchsorted(keys, t, side="left"): how many keys are < t."""
        return self._count(t, strict=True)

    def count_at_or_below(self, t: Int64s) -> npt.NDArray[np.intp]:
        """np.searchsorted(keys, t, side="right"): how many keys are <= t."""
        return self._count(t, strict=False)

    def _count(self, t: Int64s, strict: bool) -> npt.NDArray[np.intp]:
        if self.steps > self._MAX_STEPS or len(t) < 64:
            return np.searchsorted(self.keys, t, side="left" if strict else "right")
        b = np.minimum(np.maximum((t - self.base) // self.bucket, 0), len(self.below) - 1)
        count = self.below[b]
        for _ in range(self.steps):
            count += self.padded[count] < t if strict else self.padded[count] <= t
        return count


def _zone(calendar: Calendar) -> ZoneInfo:
    try:
        return ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"calendar {calendar.id}: {calendar.timezone!r} is not an IANA time zone") from None


def _check_rule(after_hours: str | None) -> None:
    if after_hours is not None and after_hours not in AFTER_HOURS:
        raise ValueError(f"unknown after-hours rule {after_hours!r}; use one of {', '.join(AFTER_HOURS)}")


def _seconds_of(time: dt.time) -> int:
    return time.hour * 3_600 + time.minute * 60 + time.second


def _year_start(day: int, next_year: bool = False) -> int:
    """Days since the epoch of 1 January of `day`'s year (of the next year with next_year)."""
    year = dt.date.fromordinal(day + _EPOCH_ORDINAL).year + (1 if next_year else 0)
    return dt.date(year, 1, 1).toordinal() - _EPOCH_ORDINAL


def _day_of(micros: int) -> str:
    day = micros // _DAY_US + _EPOCH_ORDINAL
    if not dt.date.min.toordinal() <= day <= dt.date.max.toordinal():
        return "a date outside the years 1 to 9999"
    return dt.date.fromordinal(day).isoformat()


def _micros(instant: dt.datetime, name: str) -> int:
    if not isinstance(instant, dt.datetime):
        raise ValueError(f"{name} must be a datetime, not {type(instant).__name__}")
    if instant.utcoffset() is None:
        raise ValueError(f"{name} {instant.isoformat()} has no time zone; localise it first")
    return (instant - _EPOCH) // dt.timedelta(microseconds=1)


_MIN_SECONDS = _FIRST_DAY * _DAY
_MAX_SECONDS = _LAST_DAY * _DAY


def _epoch_seconds(values: npt.ArrayLike, name: str) -> Int64s:
    array = np.asarray(values)
    if array.dtype.kind == "M":
        array = array.astype("datetime64[s]").view(np.int64)
    elif array.dtype.kind in "iu":
        array = array.astype(np.int64)
    else:
        raise ValueError(f"{name}: expected epoch seconds (integers) or datetime64 values, not {array.dtype}")
    bad = (array != MISSING) & ((array < _MIN_SECONDS) | (array > _MAX_SECONDS))
    if bad.any():
        where = np.flatnonzero(bad)[0]
        raise ValueError(
            f"{name}[{where}]: {int(array.flat[where])} is not an epoch second between the years 2 and 9998"
        )
    return array


def _checked_sum(starts: Int64s, allowed_us: int, allowed: Duration) -> Int64s:
    due = starts + allowed_us
    if int(due.max()) > _MAX_SECONDS * _US:
        raise ValueError(f"a deadline {allowed} after {_day_of(int(starts.max()))} is after the year 9998")
    return due
