"""How an agreement reads: figures, dates and enum values formatted for people.

The templates call these through Jinja filters, so the Markdown and the HTML say the same
thing. Derived figures are not computed here: they come from the model.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from ..model import figures as q
from ..model.dates import parse_date as date
from ..model.figures import Money
from ..model.funnel import STAGE_NAMES, Funnel, FunnelPlan, arithmetic
from ..model.schema import index, pattern_of

DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
AFTER_HOURS = {
    "first-hour-next-business-day": "within the first business hour of the next business day",
    "next-business-day": "during the next business day",
    "clock-runs": "the clock keeps running outside business hours",
}
# The same rules as whole sentences, for commitments in contract voice.
AFTER_HOURS_RULE = {
    "first-hour-next-business-day": "A lead that arrives outside business hours is contacted within the first business hour of the next business day.",
    "next-business-day": "A lead that arrives outside business hours is contacted during the next business day.",
    "clock-runs": "The clock keeps running outside business hours.",
}
# How to reach a stakeholder: (with an address, without one).
CONTACT = {
    "email": ("E-mail {address}", "By e-mail"),
    "phone": ("Phone {address}", "By phone"),
    "chat": ("Chat {address}", "By chat"),
    "meeting": ("At a meeting, arranged through {address}", "At a meeting"),
    "crm": ("Through the CRM, at {address}", "Through the CRM"),
    "in-person": ("In person, arranged through {address}", "In person"),
}
PER = {"day": "per day", "week": "per week", "month": "per month", "quarter": "per quarter", "year": "per year"}
EVERY = {
    "daily": "every day",
    "weekly": "every week",
    "biweekly": "every two weeks",
    "monthly": "every month",
    "quarterly": "every quarter",
    "semiannual": "every six months",
    "annual": "every year",
}
STATUS = {"draft": "Draft", "active": "Active", "retired": "Retired"}


def natural_key(text: str) -> tuple[Any, ...]:
    """Sorts as people count: "Unit 2" before "Unit 10", case and accents aside."""
    parts = re.split(r"(\d+)", text.casefold())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def long_date(value: Any) -> str:
    """2020-06-30 -> 30 June 2020 (unambiguous in every English locale)."""
    day = value if isinstance(value, dt.date) else date(value)
    return _long_date(day) if day else str(value)


# A page writes the same few dates and months again and again, and strftime costs more than
# the rest of a table row: each date is written out once.
@lru_cache(maxsize=4096)
def _long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


@lru_cache(maxsize=4096)
def _month_year(day: dt.date) -> str:
    return f"{day:%B %Y}"


def month_year(day: Any) -> str:
    """A date's month: June 2020."""
    return _month_year(day) if isinstance(day, dt.date) else f"{day:%B %Y}"


def days(values: list[str]) -> str:
    """[mon, tue, wed, thu, fri] -> Monday to Friday; otherwise a list of names."""
    order = list(DAY_NAMES)
    picked = sorted(values, key=order.index)
    indexes = [order.index(v) for v in picked]
    if len(picked) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{DAY_NAMES[picked[0]]} to {DAY_NAMES[picked[-1]]}"
    return ", ".join(DAY_NAMES[v] for v in picked)


def lower_first(value: Any) -> str:
    """ "The Smarketing dashboard" -> "the Smarketing dashboard", "A deal" -> "a deal"; a first
    word with more capitals ("CRM", "SQLs", "iPhone") stays as written."""
    text = str(value).strip()
    word = text.split(maxsplit=1)[0] if text else ""
    return text[:1].lower() + text[1:] if word[:1].isupper() and not any(ch.isupper() for ch in word[1:]) else text


def contact(value: dict[str, Any] | None) -> str:
    """A stakeholder's contact as a phrase: "E-mail dana@example.com; answers within 1 business day"."""
    if not value:
        return "–"
    with_address, without = CONTACT.get(value.get("channel", ""), ("{address}", str(value.get("channel", ""))))
    text = with_address.format(address=value["address"]) if value.get("address") else without
    if value.get("response_time"):
        text += f"; answers within {q.figure(value['response_time'])}"
    return text


def better(value: str) -> str:
    return "higher is better" if value == "higher" else "lower is better"


SCOPE = {"internal": "Internal (teams of one company)", "external": "External (with another company)"}
MARKET = {"b2b": "Business to business (B2B)", "b2c": "Business to consumer (B2C)", "both": "B2B and B2C"}
STANDING = {"contract": "A binding contract", "guideline": "A guideline: it sets expectations, it does not bind"}


def funnel_rates(funnel: Funnel) -> list[dict[str, Any]]:
    """Each conversion rate with the stages it joins: MQLs -> SQLs: 50%."""
    listed = [rate.stage for rate in funnel.rates]
    return [
        {
            "label": f"{STAGE_NAMES[listed[i - 1] if i else 'mql'][:1].upper()}"
            f"{STAGE_NAMES[listed[i - 1] if i else 'mql'][1:]} that become {STAGE_NAMES[rate.stage]}",
            "value": rate.target,
            "commitment": rate.commitment,
        }
        for i, rate in enumerate(funnel.rates)
    ]


def funnel_runs(plan: FunnelPlan) -> list[tuple[str, str]]:
    """The arithmetic of each month's deals, months with the same arithmetic run together:
    ("June to November 2020", "$1,250,000 × 44% = ...")."""
    runs: list[tuple[list[dt.date], str]] = []
    closings = [m.closing for m in plan.months]
    for closing in closings:
        text = arithmetic(plan.funnel, closing)
        if runs and runs[-1][1] == text:
            runs[-1][0].append(closing.month)
        else:
            runs.append(([closing.month], text))
    return [(_months(months), text) for months, text in runs]


def _months(months: list[dt.date]) -> str:
    first, last = months[0], months[-1]
    if first == last:
        return _month_year(first)
    return (
        f"{first:%B} to {_month_year(last)}"
        if first.year == last.year
        else f"{_month_year(first)} to {_month_year(last)}"
    )


FILTERS = {
    "date": long_date,
    "figure": q.figure,
    "money": lambda value: str(value) if isinstance(value, Money) else q.money(value),
    "number": q.number,
    "per": lambda period: PER.get(period, f"per {period}"),
    "days": days,
    "better": better,
    "after_hours": lambda rule: AFTER_HOURS.get(rule, rule),
    "lower_first": lower_first,
    "contact": contact,
    "status": lambda status: STATUS.get(status, status),
    "cadence": lambda cadence: str(cadence).capitalize(),
    "every": lambda cadence: EVERY.get(cadence, cadence),
    "scope": lambda value: SCOPE.get(value, value),
    "market": lambda value: MARKET.get(value, value),
    "standing": lambda value: STANDING.get(value, value),
    "month": month_year,
}


def display(value: Any, path: tuple[Any, ...] = ()) -> str:
    """A value as the rendered agreement would show it (dates written out)."""
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        if q.is_money(value):
            return q.money(value)
        name = next(
            (value[f] for f in ("title", "name", "term", "role", "metric", "id") if isinstance(value.get(f), str)), None
        )
        return name if name is not None else ", ".join(f"{k}: {display(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(display(v) for v in value)
    if isinstance(value, str) and value.startswith("-----BEGIN SSH SIGNATURE-----"):
        # Eight lines of base64 tell a reader nothing; its tail tells two signatures apart.
        body = "".join(line.strip() for line in value.splitlines() if line and not line.startswith("-----"))
        return f"SSH signature …{body.rstrip('=')[-12:]}"
    field = index().field(pattern_of(path)) if path else {}
    if field.get("format") == "date" or field.get("x-kind") == "a date":
        return long_date(value)
    return q.figure(value)
