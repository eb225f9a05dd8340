"""Benchmark: response deadlines for 1,000,000 leads in a business-hours calendar.

Times Calendar.deadlines (vectorised, epoch seconds) for a million starts spread over a
year, once with the table of business intervals to build (cold) and once cached (warm),
for each after-hours rule; business_seconds_between for a million pairs; and, for scale,
the scalar Calendar.deadline on 10,000 of the starts. Prints figures; asserts nothing.
Usage: python bench/business_hours.py [--repeat N] [--count N]
(Not named calendar.py: bench/ is put first on sys.path, where it would hide the standard
library's calendar module.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from slakit.model.calendar import Calendar, _build_table  # noqa: E402
from slakit.model.figures import Duration  # noqa: E402

US_HOLIDAYS_2026 = [(1, 1), (1, 19), (2, 16), (5, 25), (7, 3), (9, 7), (11, 26), (12, 25)]


def best_of(repeat: int, action, cold: bool = False) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            _build_table.cache_clear()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_business_hours(repeat: int, count: int = 1_000_000) -> None:
    calendar = Calendar(
        "us-east",
        "US Eastern business hours",
        "America/New_York",
        frozenset(range(5)),
        dt.time(9),
        dt.time(17),
        frozenset(dt.date(2026, m, d) for m, d in US_HOLIDAYS_2026),
    )
    first = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
    starts = np.random.default_rng(2026).integers(first, first + 365 * 86_400, count, dtype=np.int64)
    ends = starts + np.random.default_rng(2027).integers(0, 10 * 86_400, count, dtype=np.int64)
    one_hour = Duration(Decimal(1), "business hour")
    print(f"business hours: {count:,} leads over 2026 in America/New_York, 09:00-17:00 Mon-Fri, 8 holidays")
    for rule in (None, "first-hour-next-business-day", "next-business-day", "clock-runs"):
        cold = best_of(repeat, lambda r=rule: calendar.deadlines(starts, one_hour, r), cold=True)
        warm = best_of(repeat, lambda r=rule: calendar.deadlines(starts, one_hour, r))
        print(
            f"  deadlines, 1 business hour, after hours {rule or 'none':29s} "
            f"{cold:6.3f} s cold  {warm:6.3f} s warm  ({count / warm / 1e6:5.1f} M leads/s)  (goal well under 1 s)"
        )
    between = best_of(repeat, lambda: calendar.business_seconds_between(starts, ends))
    print(f"  business_seconds_between, {count:,} pairs up to 10 days apart    {between:6.3f} s warm")
    sample = min(count, 10_000)
    aware = [dt.datetime.fromtimestamp(int(s), dt.UTC) for s in starts[:sample]]
    scalar = best_of(1, lambda: [calendar.deadline(s, one_hour, "first-hour-next-business-day") for s in aware])
    print(
        f"  scalar deadline(), {sample:,} leads: {scalar:6.3f} s "
        f"({scalar / sample * 1e6:5.1f} µs a lead; {count:,} would take about {scalar / sample * count:5.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument("--count", type=int, default=1_000_000, help="leads")
    args = parser.parse_args()
    bench_business_hours(args.repeat, args.count)


if __name__ == "__main__":
    main()
