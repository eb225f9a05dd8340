"""Business-hours arithmetic: figures worked out by hand, and properties checked against a
brute-force oracle that walks UTC minutes one by one (written here, independently of the
engine: no tables, no offsets, no bisection; just zoneinfo's wall time of every minute)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import strategies as S
from conftest import ROOT
from slakit.model.agreement import Agreement
from slakit.model.calendar import MISSING, Calendar, _Index
from slakit.model.figures import Duration
from slakit.world.load import load_file

UTC = dt.UTC
NY = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
THANKSGIVING = dt.date(2026, 11, 26)


def cal(
    zone: str = "America/New_York",
    start: str = "09:00",
    end: str = "17:00",
    days: frozenset[int] = WEEKDAYS,
    holidays: frozenset[dt.date] = frozenset(),
) -> Calendar:
    return Calendar("office", "Office", zone, days, dt.time.fromisoformat(start), dt.time.fromisoformat(end), holidays)


def hours(value: str | int, unit: str = "business hour") -> Duration:
    return Duration(Decimal(str(value)), unit)


def at(zone: ZoneInfo | dt.timezone, *fields: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=zone, fold=fold)  # type: ignore[misc]


def utc(*fields: int) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def epoch(instant: dt.datetime) -> int:
    return int(instant.timestamp())


# -- by hand: the ordinary week -------------------------------------------------------------------


def test_friday_afternoon_lead_is_due_monday_morning() -> None:
    # 2026-11-20 is a Friday: 30 minutes left on Friday, 30 more from Monday's 09:00 opening.
    due = cal().deadline(at(NY, 2026, 11, 20, 16, 30), hours(1))
    assert due == at(NY, 2026, 11, 23, 9, 30)
    assert due.tzinfo is NY  # the start's zone


def test_thanksgiving_is_skipped() -> None:
    office = cal(holidays=frozenset({THANKSGIVING}))
    assert office.deadline(at(NY, 2026, 11, 25, 16, 30), hours(1)) == at(NY, 2026, 11, 27, 9, 30)
    # Without the holiday the same lead is due on Thursday.
    assert cal().deadline(at(NY, 2026, 11, 25, 16, 30), hours(1)) == at(NY, 2026, 11, 26, 9, 30)
    # Wednesday 16:00 to Friday 10:00: one hour on Wednesday, none on Thursday, one on Friday.
    between = office.business_time_between(at(NY, 2026, 11, 25, 16), at(NY, 2026, 11, 27, 10))
    assert between == dt.timedelta(hours=2)


def test_business_days_are_the_length_of_the_day_written() -> None:
    # Tuesday 13:00 + 2 business days (16 business hours): 4 h Tue, 8 h Wed, 4 h Thu -> Thu 13:00.
    office = cal()
    assert office.deadline(at(NY, 2026, 11, 17, 13), hours(2, "business day")) == at(NY, 2026, 11, 19, 13)
    # Half a business day from Friday 15:00: 2 h Friday, 2 h Monday.
    assert office.deadline(at(NY, 2026, 11, 20, 15), hours("0.5", "business day")) == at(NY, 2026, 11, 23, 11)
    assert office.day_length == dt.timedelta(hours=8)


def test_a_deadline_ending_at_the_close_is_the_close() -> None:
    # Exactly 1 hour left on Friday: due at 17:00 Friday, not at Monday's opening.
    assert cal().deadline(at(NY, 2026, 11, 20, 16), hours(1)) == at(NY, 2026, 11, 20, 17)


def test_zero_allowed_is_due_at_once() -> None:
    assert cal().deadline(at(NY, 2026, 11, 21, 3), hours(0)) == at(NY, 2026, 11, 21, 3)


def test_business_time_between() -> None:
    office = cal()
    friday, monday = at(NY, 2026, 11, 20, 16, 30), at(NY, 2026, 11, 23, 9, 30)
    assert office.business_time_between(friday, monday) == dt.timedelta(hours=1)
    # A whole week, Monday 00:00 to Monday 00:00: 5 days x 8 hours.
    assert office.business_time_between(at(NY, 2026, 11, 16), at(NY, 2026, 11, 23)) == dt.timedelta(hours=40)
    # b <= a: zero, never negative.
    assert office.business_time_between(monday, friday) == dt.timedelta(0)
    assert office.business_time_between(monday, monday) == dt.timedelta(0)
    # The same instants written in another zone give the same figure.
    assert office.business_time_between(friday.astimezone(UTC), monday.astimezone(ZoneInfo("Asia/Tokyo"))) == (
        dt.timedelta(hours=1)
    )


def test_business_time_is_half_open() -> None:
    office = cal()
    assert office.is_business_time(at(NY, 2026, 11, 20, 9))
    assert office.is_business_time(at(NY, 2026, 11, 20, 16, 59, 59, 999999))
    assert not office.is_business_time(at(NY, 2026, 11, 20, 17))
    assert not office.is_business_time(at(NY, 2026, 11, 21, 12))  # Saturday
    assert not cal(holidays=frozenset({THANKSGIVING})).is_business_time(at(NY, 2026, 11, 26, 12))


def test_seconds_and_microseconds_are_kept() -> None:
    office = cal()
    start = at(NY, 2026, 11, 20, 16, 30, 45, 500000)
    assert office.deadline(start, hours(1)) == at(NY, 2026, 11, 23, 9, 30, 45, 500000)
    # 16:30:45.5 to 17:00 is 29 min 14.5 s; Monday 09:00:00 to 09:00:01 one more second.
    assert office.business_time_between(start, at(NY, 2026, 11, 23, 9, 0, 1)) == dt.timedelta(
        minutes=29, seconds=15, microseconds=500000
    )
    # A fraction of a second in the allowed time rounds up: 0.0001 business hours = 0.36 s -> 1 s.
    assert office.deadline(at(NY, 2026, 11, 20, 10), hours("0.0001")) == at(NY, 2026, 11, 20, 10, 0, 1)


# -- by hand: after hours ---------------------------------------------------------------------------

FRIDAY_EVENING = at(NY, 2026, 11, 20, 18)


@pytest.mark.parametrize(
    ("rule", "allowed", "due"),
    [
        (None, hours("0.5"), at(NY, 2026, 11, 23, 9, 30)),  # clock starts at Monday's opening
        ("first-hour-next-business-day", hours("0.5"), at(NY, 2026, 11, 23, 10)),  # at least the first hour
        ("first-hour-next-business-day", hours(2), at(NY, 2026, 11, 23, 11)),  # the larger applies
        ("next-business-day", hours("0.5"), at(NY, 2026, 11, 23, 17)),  # Monday's close
        ("next-business-day", hours(3, "business day"), at(NY, 2026, 11, 25, 17)),  # Mon, Tue, Wed: the larger
        ("clock-runs", hours("0.5"), at(NY, 2026, 11, 20, 18, 30)),  # 30 elapsed minutes
        ("clock-runs", hours(1, "business day"), at(NY, 2026, 11, 21, 2)),  # a business day = 8 elapsed hours
    ],
)
def test_after_hours_rules(rule: str | None, allowed: Duration, due: dt.datetime) -> None:
    assert cal().deadline(FRIDAY_EVENING, allowed, rule) == due


def test_after_hours_rules_do_not_apply_inside_business_hours() -> None:
    start = at(NY, 2026, 11, 20, 16, 30)
    for rule in ("first-hour-next-business-day", "next-business-day", "clock-runs"):
        assert cal().deadline(start, hours(1), rule) == at(NY, 2026, 11, 23, 9, 30), rule


def test_after_hours_before_the_opening_means_that_day() -> None:
    early = at(NY, 2026, 11, 23, 7)  # Monday before the 09:00 opening
    assert cal().deadline(early, hours("0.5"), "next-business-day") == at(NY, 2026, 11, 23, 17)
    assert cal().deadline(early, hours("0.5"), "first-hour-next-business-day") == at(NY, 2026, 11, 23, 10)


def test_first_hour_of_a_short_day_is_the_whole_day() -> None:
    short = cal(start="09:00", end="09:40")
    due = short.deadline(at(NY, 2026, 11, 20, 18), hours("0.25"), "first-hour-next-business-day")
    assert due == at(NY, 2026, 11, 23, 9, 40)


def test_after_hours_over_a_holiday() -> None:
    office = cal(holidays=frozenset({THANKSGIVING}))
    evening = at(NY, 2026, 11, 25, 19)
    assert office.deadline(evening, hours(1), "first-hour-next-business-day") == at(NY, 2026, 11, 27, 10)
    assert office.deadline(evening, hours("0.5"), "next-business-day") == at(NY, 2026, 11, 27, 17)


def test_the_example_agreement_calendar() -> None:
    """Company A's agreement as written in sla/: after hours on the eve of Thanksgiving 2020,
    a lead is due in the first hour of Friday."""
    doc, problems = load_file(ROOT / "sla" / "company-a-lead-management.yaml")
    assert doc is not None and not problems
    agreement = Agreement.from_data(doc.data)
    follow_up = next(c.follow_up for c in agreement.commitments if c.follow_up)
    calendar = agreement.calendar(follow_up.calendar)
    assert calendar is not None and follow_up.after_hours == "first-hour-next-business-day"
    due = calendar.deadline(at(NY, 2020, 11, 25, 18), follow_up.response_time, follow_up.after_hours)
    assert due == at(NY, 2020, 11, 27, 10)


# -- by hand: clock units ---------------------------------------------------------------------------


def test_clock_units_are_elapsed_time() -> None:
    office = cal(holidays=frozenset({THANKSGIVING}))
    start = at(NY, 2026, 11, 25, 16, 30)
    assert office.deadline(start, hours(24, "hour"), "first-hour-next-business-day") == at(NY, 2026, 11, 26, 16, 30)
    assert office.deadline(start, hours(30, "minute")) == at(NY, 2026, 11, 25, 17)
    assert office.deadline(start, hours(2, "week")) == at(NY, 2026, 12, 9, 16, 30)
    assert office.deadline(start, hours(1, "month")) == at(NY, 2026, 12, 25, 16, 30)  # 30 days
    # Across the spring change: 24 elapsed hours from Saturday noon EST is Sunday 13:00 EDT.
    assert office.deadline(at(NY, 2026, 3, 7, 12), hours(1, "day")) == at(NY, 2026, 3, 8, 13)


# -- by hand: daylight saving -----------------------------------------------------------------------

NIGHTS = frozenset(range(7))


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        ("America/New_York", dt.date(2026, 3, 8), 7),  # 02:00 -> 03:00
        ("America/New_York", dt.date(2026, 11, 1), 9),  # 02:00 -> 01:00
        ("Europe/Berlin", dt.date(2026, 3, 29), 7),
        ("Europe/Berlin", dt.date(2026, 10, 25), 9),
        ("America/New_York", dt.date(2026, 3, 9), 8),
        ("Australia/Lord_Howe", dt.date(2026, 4, 5), 8.5),  # 02:00 -> 01:30
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), 7.5),  # 02:00 -> 02:30
        ("America/Santiago", dt.date(2026, 9, 6), 7),  # 24:00 -> 01:00: midnight does not exist
        ("Asia/Kathmandu", dt.date(2026, 3, 29), 8),
    ],
)
def test_a_business_day_from_midnight_to_eight(zone: str, day: dt.date, length: float) -> None:
    tz = ZoneInfo(zone)
    night = cal(zone, "00:00", "08:00", NIGHTS)
    a = dt.datetime.combine(day, dt.time(0), tz)
    b = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
    assert night.business_time_between(a - dt.timedelta(hours=3), b) == dt.timedelta(hours=length)


def test_opening_in_the_spring_gap_opens_when_the_clock_gets_there() -> None:
    # 02:30 does not exist on 2026-03-08 in New York; the day opens at 03:00 EDT (07:00 UTC).
    early = cal(start="02:30", end="08:00", days=NIGHTS)
    assert early.business_time_between(utc(2026, 3, 8, 4), utc(2026, 3, 9, 4)) == dt.timedelta(hours=5)
    assert early.deadline(utc(2026, 3, 8, 5), hours(1)) == utc(2026, 3, 8, 8)
    assert not early.is_business_time(utc(2026, 3, 8, 6, 59))
    assert early.is_business_time(utc(2026, 3, 8, 7))
    # The next day opens at 02:30 EDT again.
    assert early.deadline(utc(2026, 3, 8, 12), hours(1)) == utc(2026, 3, 9, 7, 30)


def test_the_autumn_fold_counts_twice_inside_business_hours() -> None:
    # 2026-11-01, New York: 01:00-02:00 happens twice (EDT 05:00-06:00 UTC, EST 06:00-07:00 UTC).
    # Hours 01:30-08:00: 01:30-02:00 EDT (30 min), then 01:00-01:30 EST is outside, then
    # 01:30-08:00 EST (6 h 30): 7 hours.
    early = cal(start="01:30", end="08:00", days=NIGHTS)
    assert early.business_time_between(utc(2026, 11, 1), utc(2026, 11, 2)) == dt.timedelta(hours=7)
    # 15 minutes before the fold's end, 15 after 01:30 EST.
    assert early.deadline(utc(2026, 11, 1, 5, 45), hours("0.5")) == utc(2026, 11, 1, 6, 45)
    # 01:10 EST (fold=1) is outside; 01:10 EDT (fold=0) is not.
    assert not early.is_business_time(at(NY, 2026, 11, 1, 1, 10, fold=1))
    assert not early.is_business_time(at(NY, 2026, 11, 1, 1, 10, fold=0))
    assert early.is_business_time(at(NY, 2026, 11, 1, 1, 40, fold=0))
    assert early.is_business_time(at(NY, 2026, 11, 1, 1, 40, fold=1))
    # A lead between the two passes of 01:30 waits for the second one, the same day.
    lead = utc(2026, 11, 1, 6, 10)
    assert early.deadline(lead, hours("0.25"), "first-hour-next-business-day") == utc(2026, 11, 1, 7, 30)
    assert early.deadline(lead, hours("0.25"), "next-business-day") == utc(2026, 11, 1, 13)
    # A lead before the day opens: the day's close is the close of its second stretch, and
    # its first hour runs 30 minutes in the first stretch and 30 in the second.
    night = utc(2026, 11, 1, 4)
    assert early.deadline(night, hours("0.25"), "next-business-day") == utc(2026, 11, 1, 13)
    assert early.deadline(night, hours("0.25"), "first-hour-next-business-day") == utc(2026, 11, 1, 7)


def test_hours_inside_the_fold_count_twice() -> None:
    # Business 01:00-02:00 on the fall-back day: both passes, 2 hours.
    fold = cal(start="01:00", end="02:00", days=NIGHTS)
    assert fold.business_time_between(utc(2026, 11, 1), utc(2026, 11, 2)) == dt.timedelta(hours=2)
    assert fold.deadline(utc(2026, 11, 1, 5, 30), hours(1)) == utc(2026, 11, 1, 6, 30)


def test_santiago_repeats_the_last_hour_of_saturday() -> None:
    # 2026-04-05 00:00 -03 becomes 2026-04-04 23:00 -04: Saturday's 23:00-24:00 happens twice.
    # Hours 22:00-23:59: 22:00-23:59 -03 (1 h 59) and 23:00-23:59 -04 (59 min).
    late = cal("America/Santiago", "22:00", "23:59", NIGHTS)
    assert late.business_time_between(utc(2026, 4, 4, 12), utc(2026, 4, 5, 12)) == dt.timedelta(hours=2, minutes=58)
    # From 23:30 -03 (02:30 UTC): 29 minutes, then the repeat from 23:00 -04 (03:00 UTC).
    assert late.deadline(utc(2026, 4, 5, 2, 30), hours(1)) == utc(2026, 4, 5, 3, 31)


def test_kathmandu_quarter_hour_offset() -> None:
    # +05:45: Friday 16:30 NPT + 1 business hour = Monday 09:30 NPT = 03:45 UTC.
    office = cal("Asia/Kathmandu")
    assert office.deadline(at(ZoneInfo("Asia/Kathmandu"), 2026, 11, 20, 16, 30), hours(1)) == utc(2026, 11, 23, 3, 45)


def test_samoa_skipped_a_whole_day() -> None:
    # Pacific/Apia went from 2011-12-29 23:59:59 -10 to 2011-12-31 00:00 +14: no 30 December.
    every_day = cal("Pacific/Apia", "09:00", "17:00", NIGHTS)
    tz = ZoneInfo("Pacific/Apia")
    start = dt.datetime(2011, 12, 29, 16, tzinfo=tz)
    assert every_day.deadline(start, hours(2)) == dt.datetime(2011, 12, 31, 10, tzinfo=tz)


# -- errors -----------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        cal().deadline(dt.datetime(2026, 11, 20, 16, 30), hours(1))
    with pytest.raises(ValueError, match="no time zone"):
        cal().business_time_between(utc(2026, 11, 20), dt.datetime(2026, 11, 21))
    with pytest.raises(ValueError, match="no time zone"):
        cal().is_business_time(dt.datetime(2026, 11, 20))


def test_unknown_after_hours_rule() -> None:
    with pytest.raises(ValueError, match="unknown after-hours rule 'tomorrow'; use one of first-hour"):
        cal().deadline(FRIDAY_EVENING, hours(1), "tomorrow")


def test_broken_calendars_are_explained() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        cal("Mars/Olympus").deadline(FRIDAY_EVENING, hours(1))
    with pytest.raises(ValueError, match="ends at 09:00, not after it starts at 17:00"):
        cal(start="17:00", end="09:00").deadline(FRIDAY_EVENING, hours(1))
    with pytest.raises(ValueError, match="no working days; list at least one of mon, tue"):
        cal(days=frozenset()).deadline(FRIDAY_EVENING, hours(1))


def test_absurd_spans_are_refused() -> None:
    office = cal()
    with pytest.raises(ValueError, match="from 1926-11-20 to 2026-11-20, more than 50 years"):
        office.business_time_between(at(NY, 1926, 11, 20), at(NY, 2026, 11, 20))
    with pytest.raises(ValueError, match="more than 50 years"):
        office.deadlines(np.array([0, 4_000_000_000]), hours(1))
    with pytest.raises(ValueError, match="longer than any calendar can count"):
        office.deadline(FRIDAY_EVENING, hours(10**9))
    # A deadline that needs more than 50 years of calendar: one business hour a week, and
    # 3,120 business hours allowed (60 years of Mondays).
    sparse = cal(start="09:00", end="10:00", days=frozenset({0}))
    with pytest.raises(ValueError, match="would fall more than 50 years later"):
        sparse.deadline(FRIDAY_EVENING, hours(52 * 60))
    with pytest.raises(ValueError, match="outside the years 2 to 9998"):
        office.deadline(dt.datetime(9998, 12, 30, tzinfo=UTC), hours(1))


def test_vector_input_errors() -> None:
    office = cal()
    with pytest.raises(
        ValueError, match=r"starts: expected epoch seconds \(integers\) or datetime64 values, not float64"
    ):
        office.deadlines(np.array([1.5]), hours(1))
    with pytest.raises(ValueError, match=r"starts\[1\]: 99999999999999 is not an epoch second"):
        office.deadlines(np.array([0, 99_999_999_999_999]), hours(1))


# -- vectors ----------------------------------------------------------------------------------------


def test_vectors_carry_missing_values_through() -> None:
    office = cal()
    friday = epoch(at(NY, 2026, 11, 20, 16, 30))
    starts = np.array([friday, MISSING, friday + 3600], dtype=np.int64)
    due = office.deadlines(starts, hours(1))
    assert due.dtype == np.int64 and due.shape == (3,)
    assert due[0] == epoch(at(NY, 2026, 11, 23, 9, 30))
    assert due[1] == MISSING
    assert due[2] == epoch(at(NY, 2026, 11, 23, 10))  # 17:30 Friday: the whole hour on Monday
    # datetime64 with NaT: the same sentinel.
    as_dt64 = starts.astype("datetime64[s]")
    assert as_dt64[1] != as_dt64[1]  # NaT
    assert (office.deadlines(as_dt64, hours(1)) == due).all()
    # All missing: all missing, no table needed.
    assert (office.deadlines(np.array([MISSING, MISSING]), hours(1)) == MISSING).all()
    assert office.deadlines(np.array([], dtype=np.int64), hours(1)).shape == (0,)


def test_vector_between_and_cumulative() -> None:
    office = cal()
    mon, tue = epoch(at(NY, 2026, 11, 16, 9)), epoch(at(NY, 2026, 11, 17, 9))
    a = np.array([mon, tue, MISSING, mon])
    b = np.array([tue, mon, tue, MISSING])
    assert office.business_seconds_between(a, b).tolist() == [8 * 3600, 0, MISSING, MISSING]
    # Cumulative from the earliest instant; differences are business time.
    fri_close, mon_noon = epoch(at(NY, 2026, 11, 20, 17)), epoch(at(NY, 2026, 11, 23, 12))
    cumulative = office.business_seconds(np.array([mon_noon, mon, MISSING, fri_close]))
    assert cumulative.tolist() == [43 * 3600, 0, MISSING, 40 * 3600]


def test_scalar_calls_share_the_cached_table_and_give_the_same_answers() -> None:
    office = cal(holidays=frozenset({THANKSGIVING}))
    starts = [at(NY, 2026, 11, 20, 16, 30), at(NY, 2026, 11, 25, 16, 30), at(NY, 2026, 12, 31, 16, 30)]
    vector = office.deadlines(np.array([epoch(s) for s in starts]), hours(1))
    assert [epoch(office.deadline(s, hours(1))) for s in starts] == vector.tolist()
    # New Year's Eve 16:30 + 1 h: 30 minutes on Thursday, 30 on Friday 1 January (not a holiday here).
    assert vector[2] == epoch(at(NY, 2027, 1, 1, 9, 30))


def test_offset_changes_are_further_apart_than_the_probe() -> None:
    """The engine probes offsets every 2 days (world/zones.py): it relies on no zone changing its
    offset twice within that. Checked on the installed tzdata through the pure-Python zoneinfo, whose
    transition lists can be read."""
    pure = pytest.importorskip("zoneinfo._zoneinfo")
    closest = min(
        (b - a, name)
        for name in sorted(available_timezones())
        for trans in [list(getattr(pure.ZoneInfo.no_cache(name), "_trans_utc", []))]
        for a, b in itertools.pairwise(trans)
    )
    assert closest[0] > 3 * 86400, closest


# -- the oracle -------------------------------------------------------------------------------------


def wall_business(calendar: Calendar, t: int) -> tuple[bool, dt.date]:
    """Whether the UTC minute starting at epoch second t is business time, and its local date."""
    local = dt.datetime.fromtimestamp(t, ZoneInfo(calendar.timezone))
    day = local.date()
    open_now = (
        day.weekday() in calendar.days
        and day not in calendar.holidays
        and calendar.start <= local.time() < calendar.end
    )
    return open_now, day


def oracle_between(calendar: Calendar, a: int, b: int) -> int:
    """Business seconds in [a, b) for minute-aligned a, b: one zoneinfo lookup per minute."""
    return sum(60 for t in range(a, b, 60) if wall_business(calendar, t)[0])


def oracle_deadline(calendar: Calendar, start: int, allowed: int, rule: str | None) -> int:
    """The deadline by stepping minute by minute (allowed in whole business minutes, as seconds)."""

    def business_deadline() -> int:
        if allowed == 0:
            return start
        counted, t = 0, start
        while True:
            if wall_business(calendar, t)[0]:
                counted += 60
                if counted == allowed:
                    return t + 60
            t += 60

    due = business_deadline()
    if rule is None or wall_business(calendar, start)[0]:
        return due
    if rule == "clock-runs":
        return start + allowed
    opening = start
    while not wall_business(calendar, opening)[0]:
        opening += 60
    day = wall_business(calendar, opening)[1]
    # Every business minute of `day` lies within two days of its opening.
    minutes_of_day = [t for t in range(opening, opening + 2 * 86400, 60) if wall_business(calendar, t) == (True, day)]
    if rule == "next-business-day":
        return max(due, minutes_of_day[-1] + 60)
    first_hour = min(3600, 60 * len(minutes_of_day))
    counted, t = 0, opening
    while counted < first_hour:
        if wall_business(calendar, t)[0]:
            counted += 60
        t += 60
    return max(due, t)


# -- properties -------------------------------------------------------------------------------------

# Zones with the odd changes: 30-minute DST (Lord Howe), +05:45 (Kathmandu), +12:45/+13:45
# (Chatham), changes at midnight (Santiago, Havana, Asuncion), a skipped day (Apia 2011), two
# changes a year for Ramadan (Casablanca), a 2-hour DST (Troll), negative DST (Dublin).
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Havana",
    "America/Asuncion",
    "Pacific/Apia",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "Europe/Dublin",
    "UTC",
]
TIMES = ["00:00", "00:30", "01:00", "01:30", "02:00", "02:15", "02:30", "03:00", "22:00", "23:00", "23:30", "23:59"]


@cache
def changes(zone: str, year: int) -> tuple[int, ...]:
    """The UTC hours of a year in which the zone's offset changes (hourly probes)."""
    tz = ZoneInfo(zone)
    first = epoch(utc(year, 1, 1))
    offsets = [dt.datetime.fromtimestamp(first + h * 3600, tz).utcoffset() for h in range(366 * 24 + 1)]
    return tuple(first + h * 3600 for h in range(1, len(offsets)) if offsets[h] != offsets[h - 1])


def time_of_day(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


@st.composite
def calendars_and_starts(draw: st.DrawFn) -> tuple[Calendar, int]:
    """A random calendar and a minute-aligned start, usually within three days of a change."""
    zone = draw(st.sampled_from(ZONES))
    year = 2011 if zone == "Pacific/Apia" and draw(st.booleans()) else draw(st.integers(2005, 2030))
    near = changes(zone, year)
    if near and draw(st.integers(0, 4)):
        start = draw(st.sampled_from(near)) + 60 * draw(st.integers(-3 * 1440, 3 * 1440))
    else:
        start = epoch(utc(year, 1, 1)) + 60 * draw(st.integers(0, 364 * 1440))
    if zone == "Pacific/Apia" and year == 2011 and not near:
        start = epoch(utc(2011, 12, 30, 10)) + 60 * draw(st.integers(-2 * 1440, 2 * 1440))
    opens = st.one_of(st.sampled_from(TIMES).map(dt.time.fromisoformat), st.integers(0, 1438).map(time_of_day))
    start_time = draw(opens)
    closes = st.one_of(st.sampled_from(TIMES).map(dt.time.fromisoformat), st.integers(1, 1439).map(time_of_day))
    end_time = draw(closes.filter(lambda t: t > start_time))
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
    local_day = dt.datetime.fromtimestamp(start, ZoneInfo(zone)).date()
    holidays = frozenset(local_day + dt.timedelta(days=d) for d in draw(st.sets(st.integers(-2, 6), max_size=3)))
    calendar = Calendar("random", "Random", zone, days, start_time, end_time, holidays)
    return calendar, start


@st.composite
def allowances(draw: st.DrawFn, calendar: Calendar) -> Duration:
    """A business allowance of whole minutes, at most about two business days."""
    day_minutes = int(calendar.day_length.total_seconds()) // 60
    if draw(st.booleans()):
        quarters = draw(st.integers(0, max(1, (2 * day_minutes + 60) // 15)))
        return Duration(Decimal(quarters) / 4, "business hour")
    halves = draw(st.integers(0, 4))
    if day_minutes % 2:
        halves -= halves % 2
    return Duration(Decimal(halves) / 2, "business day")


AFTER_HOURS = st.sampled_from([None, "first-hour-next-business-day", "next-business-day", "clock-runs"])


@settings(max_examples=S.examples(4))
@given(calendars_and_starts(), st.integers(0, 4 * 1440), st.data())
@example((cal("America/New_York", "01:30", "08:00", NIGHTS), epoch(utc(2026, 11, 1, 4))), 6 * 60, None).via(
    "the autumn fold"
)
def test_between_matches_the_oracle(case: tuple[Calendar, int], minutes: int, data: st.DataObject) -> None:
    calendar, start = case
    end = start + 60 * minutes
    expected = oracle_between(calendar, start, end)
    got = calendar.business_time_between(dt.datetime.fromtimestamp(start, UTC), dt.datetime.fromtimestamp(end, UTC))
    assert got == dt.timedelta(seconds=expected)
    assert calendar.business_seconds_between(np.array([start]), np.array([end])).tolist() == [expected]


@settings(max_examples=S.examples(4))
@given(calendars_and_starts(), AFTER_HOURS, st.data())
def test_deadline_matches_the_oracle(case: tuple[Calendar, int], rule: str | None, data: st.DataObject) -> None:
    calendar, start = case
    allowed = data.draw(allowances(calendar))
    expected = oracle_deadline(calendar, start, calendar.allowed_seconds(allowed), rule)
    zone = ZoneInfo(calendar.timezone)
    got = calendar.deadline(dt.datetime.fromtimestamp(start, zone), allowed, rule)
    # Compared as epoch seconds: == between datetimes of two zones is False for any time in
    # a fold (PEP 495), even when they are the same instant.
    assert epoch(got) == expected
    assert calendar.deadlines(np.array([start]), allowed, rule).tolist() == [expected]


@settings(max_examples=S.examples(2))
@given(
    calendars_and_starts(),
    AFTER_HOURS,
    st.lists(st.integers(-5 * 86400, 20 * 86400), min_size=1, max_size=150),
    st.data(),
)
def test_vector_and_scalar_agree(
    case: tuple[Calendar, int], rule: str | None, offsets: list[int], data: st.DataObject
) -> None:
    """Second-level starts spread over weeks, in one array (long ones take the bucket lookup,
    short ones a binary search), against one scalar call each."""
    calendar, start = case
    allowed = data.draw(allowances(calendar))
    starts = np.array([start + o for o in offsets] + [MISSING], dtype=np.int64)
    vector = calendar.deadlines(starts, allowed, rule)
    zone = ZoneInfo(calendar.timezone)
    scalar = [epoch(calendar.deadline(dt.datetime.fromtimestamp(int(s), zone), allowed, rule)) for s in starts[:-1]]
    assert vector.tolist() == scalar + [MISSING]
    ends = starts[::-1].copy()
    between = calendar.business_seconds_between(starts, ends)
    expected = [
        int(
            calendar.business_time_between(
                dt.datetime.fromtimestamp(int(a), UTC), dt.datetime.fromtimestamp(int(b), UTC)
            ).total_seconds()
        )
        if MISSING not in (a, b)
        else MISSING
        for a, b in zip(starts, ends)
    ]
    assert between.tolist() == expected
    # both at once, as the scorecard asks (every instant present)
    a = starts[:-1]
    due, elapsed = calendar.response_times(a, a[::-1], allowed, rule)
    assert due.tolist() == scalar
    assert elapsed.tolist() == calendar.business_seconds_between(a, a[::-1]).tolist()


@settings(max_examples=S.examples(2))
@given(
    st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=300).map(sorted),
    st.lists(st.integers(-(10**12) - 5, 10**12 + 5), min_size=0, max_size=300),
    st.booleans(),
)
def test_bucket_index_counts_as_a_binary_search(keys: list[int], extra: list[int], clustered: bool) -> None:
    """_Index (the bucket lookup behind the million-lead speed) against np.searchsorted, on
    keys with duplicates and clusters, for queries on, between and beyond the keys."""
    if clustered:  # many keys in one bucket: the lookup must fall back or step enough
        keys = sorted(keys + [keys[0] + i for i in range(40)])
    array = np.array(keys, dtype=np.int64)
    queries = np.array(extra + keys + [k - 1 for k in keys] + [k + 1 for k in keys] + list(range(64)), dtype=np.int64)
    index = _Index(array)
    assert (index.count_below(queries) == np.searchsorted(array, queries, side="left")).all()
    assert (index.count_at_or_below(queries) == np.searchsorted(array, queries, side="right")).all()
