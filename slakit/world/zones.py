"""Time-zone aliases from the system's time-zone database (tzdata.zi lists them as links)."""

from __future__ import annotations

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
