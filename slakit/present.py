"""How an agreement reads: figures formatted for people and the figures derived from others.

Everything here is a pure function of the document's data; the templates call these
through Jinja filters and globals, so the Markdown and the HTML say the same thing.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import quantities as q
from .rules import date, next_review

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}
AFTER_HOURS = {
    "first-hour-next-business-day": "within the first business hour of the next business day",
    "next-business-day": "during the next business day",
    "clock-runs": "the clock keeps running outside business hours",
}
PER = {"day": "per day", "week": "per week", "month": "per month", "quarter": "per quarter", "year": "per year"}
EVERY = {"daily": "every day", "weekly": "every week", "biweekly": "every two weeks", "monthly": "every month",
         "quarterly": "every quarter", "semiannual": "every six months", "annual": "every year"}
STATUS = {"draft": "Draft", "active": "Active", "retired": "Retired"}


def long_date(value: Any) -> str:
    """2020-06-30 -> 30 June 2020 (unambiguous in every English locale)."""
    day = value if isinstance(value, dt.date) else date(value)
    return f"{day.day} {day:%B %Y}" if day else str(value)


def days(values: list[str]) -> str:
    """[mon, tue, wed, thu, fri] -> Monday to Friday; otherwise a list of names."""
    order = list(DAY_NAMES)
    picked = sorted(values, key=order.index)
    indexes = [order.index(v) for v in picked]
    if len(picked) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{DAY_NAMES[picked[0]]} to {DAY_NAMES[picked[-1]]}"
    return ", ".join(DAY_NAMES[v] for v in picked)


def money_total(amounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"amount": sum(Decimal(str(a["amount"])) for a in amounts), "currency": amounts[0]["currency"]}


def lead_value_rows(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Each source with its computed subtotal (value per lead x planned leads)."""
    rows = []
    for source in block["sources"]:
        subtotal = {"amount": Decimal(str(source["value_per_lead"]["amount"])) * source["planned"],
                    "currency": source["value_per_lead"]["currency"]}
        rows.append({**source, "subtotal": subtotal})
    return rows


def lead_value_summary(block: dict[str, Any]) -> dict[str, Any]:
    rows = lead_value_rows(block)
    return {"rows": rows, "planned": sum(r["planned"] for r in rows), "total": money_total([r["subtotal"] for r in rows])}


def monthly(point: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A revenue point's monthly run rate: stated, or annual / 12. Second item: computed?"""
    if "monthly" in point:
        return point["monthly"], False
    amount = (Decimal(str(point["annual"]["amount"])) / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return {"amount": amount, "currency": point["annual"]["currency"]}, True


def review_date(data: dict[str, Any]) -> tuple[dt.date | None, bool]:
    """The next review and whether it was computed from the cadence (not stated)."""
    term = data.get("term", {})
    return next_review(data), "next_review" not in term


def better(value: str) -> str:
    return "higher is better" if value == "higher" else "lower is better"


def names(data: dict[str, Any], collection: str) -> dict[str, str]:
    return {item["id"]: item["name"] for item in data.get(collection, [])}


def who(data: dict[str, Any], ident: str) -> str:
    """A party or stakeholder id -> the name people know it by."""
    people = {s["id"]: f"{s['name']} ({s['role']})" for s in data.get("stakeholders", [])}
    parties = {p["id"]: f"all of {p['name']}" for p in data.get("parties", [])}
    return people.get(ident) or parties.get(ident) or ident


FILTERS = {
    "date": long_date,
    "figure": q.figure,
    "money": q.money,
    "number": q.number,
    "per": lambda period: PER.get(period, f"per {period}"),
    "days": days,
    "better": better,
    "after_hours": lambda rule: AFTER_HOURS.get(rule, rule),
    "status": lambda status: STATUS.get(status, status),
    "cadence": lambda cadence: str(cadence).capitalize(),
    "every": lambda cadence: EVERY.get(cadence, cadence),
}

def signoff_summary(data: dict[str, Any]) -> str:
    """"signed by all", "awaiting 2 signatures" (retired agreements: "retired")."""
    from .terms import signature_state

    state = signature_state(data)
    if state["complete"]:
        return "signed by all"
    if data.get("status") == "retired":
        return "not signed by all (retired)"
    return f"awaiting {state['missing']} signature{'s' * (state['missing'] != 1)}"


GLOBALS = {
    "signoff_summary": signoff_summary,

    "lead_value_summary": lead_value_summary,
    "monthly": monthly,
    "review_date": review_date,
    "names": names,
    "who": who,
}
