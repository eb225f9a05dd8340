"""Time zones from the system's time-zone database: aliases (tzdata.zi lists them as links),
the stretches of one UTC offset, and local wall-clock times read as instants."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache
from pathlib import Path

# Used when the system has no tzdata.zi (the links people meet most often).
_COMMON = {
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "US/Arizona": "America/Phoenix",
    "US/Hawaii": "Pacific/Honolulu",
    "US/Alaska": "America/Anchorage",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Europe/Kiev": "Europe/Kyiv",
    "GB": "Europe/London",
    "Japan": "Asia/Tokyo",
}


@lru_cache(maxsize=1)
def zone_links() -> dict[str, str]:
    """Alias -> canonical zone name (US/Eastern -> America/New_York)."""
    links = dict(_COMMON)
    for folder in zoneinfo.TZPATH:
        try:
            text = (Path(folder) / "tzdata.zi").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "L":
                links[parts[2]] = parts[1]
        break
    return links


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY = 86_400
# Offsets are probed every 2 days and each change is found by bisection. In tzdata no two
# changes are closer than 3 days (tests/test_calendar.py checks the installed data), so no
# change and its undoing can hide between two probes.
_PROBE = 2 * _DAY


def offset_segments(zone: zoneinfo.ZoneInfo, first: int, last: int) -> list[tuple[int, int, int]]:
    """[start, end) epoch-second stretches of one UTC offset (seconds) covering first..last."""

    def offset(t: int) -> int:
        local = (_EPOCH + dt.timedelta(seconds=t)).astimezone(zone)
        return (local.utcoffset() or dt.timedelta(0)) // dt.timedelta(seconds=1)

    segments = []
    seg_start, current = first, offset(first)
    probe = first
    while probe < last:
        ahead = min(probe + _PROBE, last)
        if offset(ahead) == current:
            probe = ahead
            continue
        lo, hi = probe, ahead  # the offset is `current` at lo and not at hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if offset(mid) == current:
                lo = mid
            else:
                hi = mid
        segments.append((seg_start, hi, current))
        seg_start, current, probe = hi, offset(hi), hi
    segments.append((seg_start, last, current))
    return segments


def wall_clock_offsets(zone: str, first: int, last: int) -> list[tuple[int, int]]:
    """How local wall-clock times from `first` to `last` (epoch seconds, as if the wall clock
    were UTC) become instants: [(from, offset)], in order; a time L at or after `from` (and
    before the next entry's) is the instant L - offset. At a change of offset the wall-clock
    time of the change, read in the new offset, is where the new offset starts: so a time in
    the hour that occurs twice (clocks go back) is read as its second occurrence, and a time
    in the hour that does not exist (clocks go forward) with the offset before the change,
    which puts it that much later (02:30 on 2020-03-08 in New York is 03:30 daylight time)."""
    segments = offset_segments(zoneinfo.ZoneInfo(zone), first - 2 * _DAY, last + 2 * _DAY)
    steps = [(first - 2 * _DAY, segments[0][2])]
    for start, _, offset in segments[1:]:
        steps.append((start + offset, offset))
    return steps
