"""Generate realistic CRM exports for the Company A agreement (sla/company-a-lead-management.yaml).

Usage: python bench/exports.py OUT_DIR [--leads N] [--deals N] [--layout hubspot|salesforce]
Deterministic: the same arguments give the same bytes. Writes leads.csv, deals.csv,
activities.csv and columns.yaml (the source values of the layout mapped to lead-source ids).

Timestamps are naive local times (America/New_York), as CRMs export them. Planted cases:
- leads after hours, at weekends and on holidays (Memorial Day, Thanksgiving) are touched
  in the first business hour of the next business day: on time;
- a lead at 01:30 on 2020-11-01 (the hour that occurs twice) and one at 02:30 on 2020-03-08
  (the hour that does not exist);
- webinar leads (excluded from the follow-up) are never touched in time: they must not count;
- August misses the lead volume: 248 leads against 310;
- November and December miss the follow-up (2% of eligible leads touched late): with the
  as-of date at the end of December, a 60-day run of missed shared goals (the day-60 step);
- every other month meets every target, so the monthly pool is earned there.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

YEAR = 2020
HOLIDAYS = {
    dt.date(2020, 1, 1),
    dt.date(2020, 5, 25),
    dt.date(2020, 7, 3),
    dt.date(2020, 9, 7),
    dt.date(2020, 11, 26),
    dt.date(2020, 12, 25),
}
SOURCES = {  # id -> (share of leads, hubspot value, salesforce value)
    "referral": (0.04, "Referrals", "Referral"),
    "content": (0.60, "Content download", "Content Syndication"),
    "webinar": (0.16, "Webinar", "Webinar"),
    "web-sales-ready": (0.16, "Sales-ready web form", "Web - Sales Ready"),
    "": (0.04, "Direct traffic", "Other"),  # not a marketing source
}
OWNERS = ["Avery Stone", "Blake Rivera", "Casey Nguyen", "Devon Park", "Emery Walsh", "Finley Chen", "Gray Okafor"]
LATE_MONTHS = {11, 12}
LOW_VOLUME_MONTH, LOW_VOLUME = 8, 248
HEADERS = {
    "hubspot": {
        "leads": [
            "Record ID",
            "Became a Marketing Qualified Lead Date",
            "Original Source",
            "Contact owner",
            "Date of first engagement",
        ],
        "deals": [
            "Record ID",
            "Create Date",
            "Close Date",
            "Amount",
            "Currency",
            "Deal Stage",
            "Date entered Proposal Sent",
            "Original Source",
            "Deal owner",
        ],
        "activities": ["Record ID", "Create Date", "Completed Date", "Task Type", "Team"],
    },
    "salesforce": {
        "leads": ["Lead ID", "MQL Date", "Lead Source", "Lead Owner", "First Activity Date"],
        "deals": [
            "Opportunity ID",
            "Created Date",
            "Close Date",
            "Amount",
            "Opportunity Currency",
            "Stage",
            "Proposal Date",
            "Lead Source",
            "Opportunity Owner",
        ],
        "activities": ["Activity ID", "Created Date", "Completed Date", "Type", "Assigned Role"],
    },
}


def business(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def next_business(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not business(day):
        day += dt.timedelta(days=1)
    return day


def stamp(moment: dt.datetime, layout: str) -> str:
    if layout == "salesforce":
        return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p')}"
    return moment.strftime("%Y-%m-%d %H:%M")


def day_stamp(day: dt.date, layout: str) -> str:
    return f"{day.month}/{day.day}/{day.year}" if layout == "salesforce" else day.isoformat()


def touch_for(mql: dt.datetime, late: bool, rng: random.Random) -> dt.datetime:
    """A first touch inside the business-hour deadline (or well after it when `late`)."""
    day, t = mql.date(), mql.time()
    if business(day) and dt.time(9) <= t < dt.time(16):
        touch = mql + dt.timedelta(minutes=rng.randint(1, 55))
    elif business(day) and dt.time(16) <= t < dt.time(17):
        left = (dt.datetime.combine(day, dt.time(17)) - mql).seconds // 60
        if left >= 59 or rng.random() < 0.5:  # the same afternoon
            touch = mql + dt.timedelta(minutes=rng.randint(0, left - 1))
        else:  # the rest of the hour at the next opening: the deadline is 09:00 + (60 - left) minutes
            touch = dt.datetime.combine(next_business(day), dt.time(9)) + dt.timedelta(
                minutes=rng.randint(0, 59 - left)
            )
    else:
        start = day if business(day) and t < dt.time(9) else next_business(day)
        touch = dt.datetime.combine(start, dt.time(9)) + dt.timedelta(minutes=rng.randint(1, 55))
    return touch + dt.timedelta(hours=rng.randint(3, 30)) if late else touch


def write_leads(path: Path, count: int, layout: str, rng: random.Random) -> None:
    days = [dt.date(YEAR, 1, 1) + dt.timedelta(days=i) for i in range(366)]
    per_month = {m: [d for d in days if d.month == m] for m in range(1, 13)}
    normal = (count - LOW_VOLUME) / 11
    ids = list(SOURCES)
    weights = [SOURCES[s][0] for s in ids]
    column = 2 if layout == "hubspot" else 3
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS[layout]["leads"])
        n = 0
        planted = [
            (dt.datetime(2020, 11, 1, 1, 30), "content"),  # the repeated hour
            (dt.datetime(2020, 3, 8, 2, 30), "content"),  # the skipped hour
            (dt.datetime(2020, 5, 25, 10, 0), "referral"),  # Memorial Day
            (dt.datetime(2020, 11, 26, 14, 0), "web-sales-ready"),  # Thanksgiving
        ]
        for month in range(1, 13):
            total = LOW_VOLUME if month == LOW_VOLUME_MONTH else round(normal * month) - round(normal * (month - 1))
            rows = [(m, s) for m, s in planted if m.month == month]
            while len(rows) < total:
                day = rng.choice(per_month[month])
                hour = rng.choices(
                    range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 10, 10, 10, 9, 6, 4, 3, 2, 2, 1, 1]
                )[0]
                rows.append((dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59))), rng.choices(ids, weights)[0]))
            rows.sort()
            for mql, source in rows:
                n += 1
                owner = rng.choice(OWNERS)
                if source == "webinar":
                    touch: dt.datetime | None = mql + dt.timedelta(days=rng.randint(2, 6))
                else:
                    late = month in LATE_MONTHS and rng.random() < 0.02
                    touch = touch_for(mql, late, rng)
                if touch and touch.year > YEAR:
                    touch = None if source == "webinar" else touch
                value = SOURCES[source][column - 1] if source else SOURCES[""][column - 1]
                writer.writerow([f"L{n:07d}", stamp(mql, layout), value, owner, stamp(touch, layout) if touch else ""])


def write_deals(path: Path, count: int, layout: str, rng: random.Random) -> None:
    marketing = [s for s in SOURCES if s]
    column = 2 if layout == "hubspot" else 3
    won_stage, lost_stage, open_stage = (
        ("closedwon", "closedlost", "presentationscheduled")
        if layout == "hubspot"
        else ("Closed Won", "Closed Lost", "Negotiation")
    )
    per_month = count // 12
    # won revenue per month about 1.4 x the goal in force ($833,000 before June, $1,250,000 from it)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS[layout]["deals"])
        n = 0
        for month in range(1, 13):
            goal = 1250000 if month >= 6 else 833000
            won_share = 0.6
            amount_mean = goal * 1.4 / (per_month * won_share * 0.9)
            for _ in range(per_month):
                n += 1
                close = dt.date(YEAR, month, rng.randint(1, 28))
                cycle = rng.randint(18, 40)
                created = close - dt.timedelta(days=cycle)
                proposal = close - dt.timedelta(days=rng.randint(1, min(cycle, 10)))
                r = rng.random()
                stage = won_stage if r < won_share else lost_stage if r < 0.9 else open_stage
                closed = close if stage != open_stage else None
                source = rng.choice(marketing) if rng.random() < 0.8 else ""
                amount = round(amount_mean * rng.uniform(0.5, 1.5), 2)
                writer.writerow(
                    [
                        f"D{n:06d}",
                        day_stamp(created, layout),
                        day_stamp(closed, layout) if closed else "",
                        f"{amount:.2f}",
                        "USD",
                        stage,
                        day_stamp(proposal, layout),
                        SOURCES[source][column - 1],
                        rng.choice(OWNERS),
                    ]
                )


def write_activities(path: Path, count: int, layout: str, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS[layout]["activities"])
        for n in range(1, count + 1):
            asked = dt.datetime(YEAR, 1, 1, 8) + dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60 - 48 * 60))
            done = asked + dt.timedelta(hours=rng.randint(1, 22) if rng.random() < 0.97 else rng.randint(25, 60))
            writer.writerow(
                [f"A{n:06d}", stamp(asked, layout), stamp(done, layout), "Feedback", rng.choice(["marketing", "sales"])]
            )


def write_columns(path: Path, layout: str) -> None:
    column = 1 if layout == "hubspot" else 2
    lines = ["# Source values of this export mapped to the agreement's lead-source ids", "sources:"]
    for ident, spec in SOURCES.items():
        if ident:
            lines.append(f'  "{spec[column]}": {ident}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate_exports(out: Path, leads: int = 5000, deals: int = 1200, layout: str = "hubspot") -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{leads}-{deals}-{layout}")
    paths = {k: out / f"{k}.csv" for k in ("leads", "deals", "activities")}
    write_leads(paths["leads"], leads, layout, rng)
    write_deals(paths["deals"], deals, layout, rng)
    write_activities(paths["activities"], max(deals // 10, 50), layout, rng)
    paths["columns"] = out / "columns.yaml"
    write_columns(paths["columns"], layout)
    return paths


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Generate realistic CRM exports for the Company A agreement.")
    parser.add_argument("out", type=Path, help="folder to write leads.csv, deals.csv, activities.csv, columns.yaml to")
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--deals", type=int, default=1200)
    parser.add_argument("--layout", choices=["hubspot", "salesforce"], default="hubspot")
    args = parser.parse_args()
    generate_exports(args.out, args.leads, args.deals, args.layout)


if __name__ == "__main__":
    main()
