"""Semantic rules: what JSON Schema cannot say about an agreement.

References resolve, ids are unique, totals equal the sum of their parts, stepped targets
move forward in time and in their declared direction, dates fall inside the term, and
reviews are not overdue. Every rule reads the data defensively: a document with schema
errors is still checked, so one run reports everything.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from ..errors import ERROR, WARNING, Problem, shown
from ..model import figures as q
from ..model.dates import parse_date
from ..model.figures import Money
from ..model.plans import LeadValuePlan, RevenuePoint
from ..model.review import ReviewSchedule
from ..model.schema import index, iter_values, pointer
from ..model.terms import signature_state
from ..world.files import TOOLKIT_PAGES
from ..world.load import Document

Path_ = tuple[Any, ...]

REVENUE_TOLERANCE = Decimal("0.005")  # monthly may be rounded: within 0.5% of annual / 12


class Findings:
    """Collects problems for one document, locating each by its data path."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.problems: list[Problem] = []

    def add(self, severity: str, path: Path_, rule: str, message: str, key: bool = False) -> None:
        line, col = self.doc.locate(path, key=key)
        self.problems.append(Problem(self.doc.path, line, col, severity, rule, message, pointer(path)))

    def error(self, path: Path_, rule: str, message: str, key: bool = False) -> None:
        self.add(ERROR, path, rule, message, key)

    def warning(self, path: Path_, rule: str, message: str) -> None:
        self.add(WARNING, path, rule, message)


def where(data: Any, path: Path_) -> str:
    """A data path as people find it in the file: commitments[lead-follow-up].follow_up."""
    out, node = "", data
    for step in path:
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and step < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            out += f"[{_bracketed(ident)}]" if isinstance(ident, str) and ident else f"[{step + 1}]"
        else:
            out += ("." if out else "") + str(step)
        node = node[step] if isinstance(node, (list, dict)) and _has(node, step) else None
    return out or "the agreement"


def _bracketed(ident: str) -> str:
    """An id inside a path in a message: cut short, and line breaks or control characters
    shown as escapes (an id is untrusted text, and must not start a line of its own)."""
    text = ident if len(ident) <= 60 else ident[:57] + "..."
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _has(node: Any, step: Any) -> bool:
    return (step in node) if isinstance(node, dict) else isinstance(step, int) and step < len(node)


SUGGEST_FROM = 200  # fuzzy matching compares with every option: only among this many
LIST_AT_MOST = 12  # a message names at most this many of the accepted values


def suggest(word: str, options: list[str], at_most: int = SUGGEST_FROM) -> str:
    """' (did you mean 'x'?)' for a near miss among a bounded number of options, else ''."""
    if len(options) > at_most or len(word) > 200:
        return ""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {shown(close[0])}?)" if close else ""


def some(options: list[str]) -> str:
    """Accepted values for a message, the list cut short when long: 'a, b, c and 40 more'."""
    named = [_bracketed(o) for o in options[: LIST_AT_MOST if len(options) <= LIST_AT_MOST else LIST_AT_MOST - 2]]
    if len(options) <= LIST_AT_MOST:
        return ", ".join(named)
    return ", ".join(named) + f" and {len(options) - len(named):,} more"


def _text(value: Any) -> str | None:
    """A value that should be text (an id, an enum value), or None: a list or mapping written
    where text belongs is the schema's to report, and must not reach a dict lookup here."""
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


Rule = Callable[[dict[str, Any], Findings, dt.date], None]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(doc: Document, today: dt.date) -> list[Problem]:
    """Run every semantic rule on a loaded document."""
    findings = Findings(doc)
    for fn in RULES:
        fn(doc.data, findings, today)
    return findings.problems


def _ids(data: dict[str, Any], collection: str) -> list[str]:
    items = data.get(collection)
    if not isinstance(items, list):
        return []
    return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


@rule
def unique_keys(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    for pattern, key in index().keyed_lists():
        for path, items in iter_values(data, pattern):
            if not isinstance(items, list):
                continue
            seen: dict[Any, int] = {}
            for i, item in enumerate(items):
                value = item.get(key) if isinstance(item, dict) else None
                if not isinstance(value, (str, int)):
                    continue
                if value in seen:
                    line, _ = f.doc.locate(path + (seen[value], key))
                    f.error(
                        path + (i, key),
                        "unique",
                        f"{key} {shown(value)} is used twice in {where(data, path)}: first on line {line}; "
                        f"each item needs its own {key}",
                    )
                else:
                    seen[value] = i


@rule
def page_names(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    ident = data.get("id")
    if isinstance(ident, str) and ident in TOOLKIT_PAGES:
        f.error(
            ("id",),
            "id",
            f"the id {shown(ident)} is the name of a page the toolkit publishes itself "
            f"({', '.join(sorted(TOOLKIT_PAGES))}); the agreement would overwrite it, so choose "
            f"another id, such as {shown(ident + '-sla')}",
        )


@rule
def references(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    for pattern, targets in index().references():
        known = list(dict.fromkeys(ident for target in targets for ident in _ids(data, target)))
        known_set = set(known)
        for path, value in iter_values(data, pattern):
            if isinstance(value, str) and value not in known_set:
                kinds = " or ".join(t.rstrip("s") if not t.endswith("ies") else t[:-3] + "y" for t in targets)
                listed = some(known) if known else f"none, as '{' / '.join(targets)}' lists nothing"
                f.error(
                    path,
                    "ref",
                    f"{where(data, path)}: there is no {kinds} with id {shown(value)}{suggest(value, known)}; "
                    f"known ids: {listed}",
                )


@rule
def excluded_sources(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """follow_up.exclude_sources name lead sources of a lead_value plan: the scorecard matches leads by them."""
    known = list(
        dict.fromkeys(
            s["id"]
            for _, sources in iter_values(data, ("commitments", "*", "lead_value", "sources"))
            for s in _list(sources)
            if isinstance(s, dict) and isinstance(s.get("id"), str)
        )
    )
    for path, value in iter_values(data, ("commitments", "*", "follow_up", "exclude_sources", "*")):
        if isinstance(value, str) and value not in known:
            listed = ", ".join(known) if known else "none, as no lead_value plan lists sources"
            f.error(
                path,
                "ref",
                f"{where(data, path)}: there is no lead source with id {value!r}{suggest(value, known)}; "
                f"known ids: {listed}",
            )


@cache
def zone_ok(name: str) -> bool:
    """Whether `name` is an IANA time zone this system knows."""
    try:
        ZoneInfo(name)
        return True
    except (ValueError, OSError, KeyError):
        return False


@cache
def zone_hint(name: str) -> str:
    """' (did you mean ...?)' for a misspelt time zone, else ''."""
    zones = sorted(available_timezones())
    return suggest(name, zones, at_most=len(zones))


def timezone_problem(name: str) -> str | None:
    """Why `name` is not a time zone (with the nearest real one), or None when it is one."""
    if zone_ok(name):
        return None
    return f"{shown(name)} is not an IANA time zone{zone_hint(name)}; use a name such as America/New_York"


@rule
def timezones(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    paths = [(("timezone",), data.get("timezone"))]
    paths += list(iter_values(data, ("calendars", "*", "timezone")))
    for path, name in paths:
        problem = timezone_problem(name) if isinstance(name, str) else None
        if problem:
            f.error(path, "timezone", f"{where(data, path)}: {problem}")


@rule
def calendars(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    for path, hours in iter_values(data, ("calendars", "*", "hours")):
        if (
            isinstance(hours, dict)
            and isinstance(hours.get("start"), str)
            and isinstance(hours.get("end"), str)
            and hours["start"] >= hours["end"]
        ):
            f.error(
                path + ("end",),
                "calendar",
                f"{where(data, path)}: the business day ends at {hours['end']}, "
                f"not after it starts at {hours['start']}",
            )


@rule
def lead_value_sums(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    for path, block in iter_values(data, ("commitments", "*", "lead_value")):
        if (
            not isinstance(block, dict)
            or not q.is_money(block.get("total"))
            or not isinstance(block.get("sources"), list)
        ):
            continue
        currency, ok = block["total"]["currency"], True
        for i, source in enumerate(block["sources"]):
            if (
                not isinstance(source, dict)
                or not q.is_money(source.get("value_per_lead"))
                or not isinstance(source.get("planned"), int)
                or isinstance(source.get("planned"), bool)
                or not isinstance(source.get("id"), str)
                or not isinstance(source.get("name"), str)
            ):
                ok = False
                continue
            value = source["value_per_lead"]
            if value["currency"] != currency:
                f.error(
                    path + ("sources", i, "value_per_lead", "currency"),
                    "sum",
                    f"{where(data, path + ('sources', i))}: value per lead is in {value['currency']} but the total "
                    f"is in {currency}; use one currency",
                )
                ok = False
        if not ok or not isinstance(block.get("per"), str):
            continue
        plan = LeadValuePlan.from_data(block)
        if plan.total != plan.stated_total:
            shown = " + ".join(f"{row.planned} × {row.value_per_lead}" for row in plan.rows)
            f.error(
                path + ("total", "amount"),
                "sum",
                f"{where(data, path)}: the total is {plan.stated_total} but the sources add up to "
                f"{plan.total} ({shown}); correct the total or the planned counts",
            )


@rule
def revenue_run_rate(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    for name in ("baseline", "target"):
        for path, point in iter_values(data, ("goals", "revenue", name)):
            if (
                not isinstance(point, dict)
                or not q.is_money(point.get("annual"))
                or not q.is_money(point.get("monthly"))
            ):
                continue
            annual, monthly = point["annual"], point["monthly"]
            if annual["currency"] != monthly["currency"]:
                f.error(
                    path + ("monthly", "currency"),
                    "sum",
                    f"{where(data, path)}: the monthly figure is in "
                    f"{monthly['currency']} but the annual one in {annual['currency']}; use one currency",
                )
                continue
            revenue = RevenuePoint(Money.from_data(annual), Money.from_data(monthly))
            expected, actual = revenue.exact_monthly.amount, revenue.monthly.amount
            if expected and abs(actual - expected) > expected * REVENUE_TOLERANCE:
                f.error(
                    path + ("monthly", "amount"),
                    "sum",
                    f"{where(data, path)}: the monthly run rate {revenue.monthly} does not match the annual "
                    f"{revenue.annual} ÷ 12 = {revenue.derived_monthly}",
                )


@rule
def stepped_targets(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    for path, target in iter_values(data, ("commitments", "*", "stepped_target")):
        if not isinstance(target, dict) or not isinstance(target.get("steps"), list):
            continue
        baseline, better = target.get("baseline"), target.get("better")
        steps = [(i, step) for i, step in enumerate(target["steps"]) if isinstance(step, dict)]
        previous_date = None
        for i, step in steps:
            when = parse_date(step.get("by"))
            if when and previous_date and when <= previous_date:
                f.error(
                    path + ("steps", i, "by"),
                    "steps",
                    f"{where(data, path)}: {_step(step, i)} is due {when}, not after "
                    f"the step before it ({previous_date}); list steps earliest first",
                )
            previous_date = when or previous_date
            if (
                "value" in step
                and q.kind_of(baseline) != "other"
                and q.kind_of(step["value"]) not in ("other", q.kind_of(baseline))
            ):
                f.error(
                    path + ("steps", i, "value"),
                    "steps",
                    f"{where(data, path)}: {_step(step, i)} is {q.figure(step['value'])} but the baseline is "
                    f"{q.figure(baseline)}; every step must be the same kind of figure",
                )
        if better not in ("higher", "lower"):
            continue
        # Direction is judged in date order, so a misordered list is reported once, above.
        previous = baseline
        for i, step in sorted(steps, key=lambda pair: str(pair[1].get("by"))):
            value = step.get("value")
            old, new = q.magnitude(previous), q.magnitude(value)
            if q.kind_of(value) != q.kind_of(previous) or old is None or new is None:
                continue
            if new < old if better == "higher" else new > old:
                f.error(
                    path + ("steps", i, "value"),
                    "steps",
                    f"{where(data, path)}: {_step(step, i)} moves from {q.figure(previous)} to {q.figure(value)}, "
                    f"but a {better} figure is better (better: {better}); steps must not move backwards",
                )
            previous = value


def _step(step: dict[str, Any], i: int) -> str:
    return f"step {shown(step['id'])}" if isinstance(step.get("id"), str) else f"step {i + 1}"


DATED = [
    ("commitments", "*", "stepped_target", "steps", "*", "by"),
    ("goals", "items", "*", "due"),
    ("goals", "revenue", "target", "by"),
    ("goals", "revenue", "target", "sustain_until"),
]


@rule
def dates_in_term(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    term = data["term"] if isinstance(data.get("term"), dict) else {}
    start, end = parse_date(data.get("effective")), parse_date(term.get("end"))
    if start and end and end <= start:
        f.error(("term", "end"), "dates", f"term.end {end} is not after the effective date {start}")
        return
    for pattern in DATED:
        for path, value in iter_values(data, pattern):
            day = parse_date(value)
            if day and start and day < start:
                f.error(path, "dates", f"{where(data, path)}: {day} is before the agreement takes effect ({start})")
            elif day and end and day > end:
                f.error(path, "dates", f"{where(data, path)}: {day} is after the agreement ends ({end})")
    for path, value in iter_values(data, ("goals", "revenue", "baseline", "as_of")):
        if parse_date(value) and end and parse_date(value) > end:  # type: ignore[operator]
            f.error(
                path,
                "dates",
                f"{where(data, path)}: the baseline is measured on {value}, after the agreement ends ({end})",
            )
    for path, value in iter_values(data, ("signoff", "signatures", "*", "date")):
        if parse_date(value) and parse_date(value) > today:  # type: ignore[operator]
            f.error(path, "dates", f"{where(data, path)}: signed on {value}, a date in the future (today is {today})")


@rule
def review_dates(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    review = ReviewSchedule.from_data(data)
    last, stated = review.last_review, review.stated_next
    if last and last > today:
        f.error(("term", "last_review"), "dates", f"term.last_review {last} is in the future (today is {today})")
    if stated and last and stated <= last:
        f.error(("term", "next_review"), "dates", f"term.next_review {stated} is not after term.last_review {last}")
    elif stated and review.cadence_due and stated > review.cadence_due + dt.timedelta(days=15):
        cadence = review.cadence or ""
        f.warning(
            ("term", "next_review"),
            "review",
            f"term.next_review {stated} is later than {'an' if cadence[:1] in 'aeiou' else 'a'} {cadence} "
            f"cadence allows (due by {review.cadence_due}); bring it forward or change the cadence",
        )
    if stated and review.end and stated > review.end and not review.retired:
        f.warning(
            ("term", "next_review"), "review", f"term.next_review {stated} is after the agreement ends ({review.end})"
        )
    upcoming = review.next_review
    if upcoming and review.overdue(today):
        field = ("term", "next_review") if stated else ("term",)
        f.warning(
            field,
            "review",
            f"the review was due on {upcoming}, {(today - upcoming).days} days ago; hold the review, "
            "then set term.last_review (and term.next_review)",
        )


@rule
def escalation_order(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    previous = None
    for path, after in iter_values(data, ("escalation", "*", "after")):
        duration = q.parse_duration(after)
        if duration is None:
            continue
        if previous and duration.family == previous.family and duration.magnitude <= previous.magnitude:
            f.error(
                path,
                "steps",
                f"{where(data, path[:-1])}: escalates after {duration}, not later than the step before "
                f"it ({previous}); list escalation steps in the order they happen",
            )
        previous = duration


@rule
def signer_parties(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    people = {
        s["id"]: s.get("party")
        for s in _list(data.get("stakeholders"))
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    }
    for path, signer in iter_values(data, ("signoff", "required", "*")):
        if isinstance(signer, dict) and _text(signer.get("stakeholder")) in people:
            theirs = people[signer["stakeholder"]]
            if isinstance(theirs, str) and theirs != signer.get("party"):
                f.error(
                    path + ("stakeholder",),
                    "ref",
                    f"{where(data, path)}: stakeholder {shown(signer['stakeholder'])} belongs to party {shown(theirs)}, "
                    f"but signs for party {shown(signer.get('party'))}",
                )
    for path, party in iter_values(data, ("parties", "*")):
        leader = _text(party.get("leader")) if isinstance(party, dict) else None
        if leader in people and isinstance(people[leader], str) and people[leader] != party.get("id"):
            f.error(
                path + ("leader",),
                "ref",
                f"{where(data, path)}: leader {shown(leader)} belongs to party {shown(people[leader])}",
            )


@rule
def signatures(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """Signatures must be current (signed the terms as they are) and by known people."""
    signoff = data.get("signoff")
    if not isinstance(signoff, dict) or data.get("status") == "retired":
        return
    try:
        state = signature_state(data)
    except (TypeError, AttributeError, KeyError, ValueError):
        return  # a document this malformed has schema errors to fix first
    people = {s["name"]: s for s in _list(data.get("stakeholders")) if isinstance(s, dict) and _text(s.get("name"))}
    for i, signature in enumerate(state.signatures):
        path = ("signoff", "signatures", i)
        name = signature.name
        person = people.get(name)
        if name and person is None and signoff.get("everyone") is not True:
            f.error(
                path + ("name",),
                "signature",
                f"{where(data, path)}: {shown(name)} is not a stakeholder of this agreement; "
                "add them under stakeholders, or set signoff.everyone: true",
            )
        elif person is not None and person.get("party") != signature.party:
            f.error(
                path + ("party",),
                "signature",
                f"{where(data, path)}: {name} belongs to party {shown(person.get('party'))}, "
                f"but signed for {shown(signature.party)}",
            )
        if signature.terms is None:
            f.warning(
                path,
                "signature",
                f"{where(data, path)}: the signature of {name} records no terms digest, so it "
                "cannot show which terms were accepted; sign again with `slakit sign`",
            )
        elif not signature.current:
            f.warning(
                path + ("terms",),
                "signature",
                f"{where(data, path)}: {name} signed earlier terms; the terms have changed since, so the "
                f"signature is stale: sign again with `slakit sign`",
            )
    for i, signer in enumerate(state.required):
        if signer.signed_by is None:
            message = f"signoff.required[{signer.id}]: no current signature from {signer.role} ({signer.party})"
            path = ("signoff", "required", i)
            # A draft is expected to await signatures (status says so); an active
            # agreement must have them all.
            if data.get("status") == "active":
                f.error(path, "signature", message + "; an active agreement needs every required signature")


# What `slakit new` writes for people to replace (templates/starters/_common_head.yaml.j2;
# a test keeps the two in step). Harmless in a draft, wrong in an agreement in force.
STARTER_SUMMARY = "Why the two teams make this agreement, in a few sentences."
STARTER_NAMES = ("Marketing Lead", "Sales Lead")
STARTER_ADDRESSES = ("marketing.lead@example.com", "sales.lead@example.com")


@rule
def placeholders(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """An active agreement must not still carry the starter's placeholders."""
    if data.get("status") != "active":
        return
    advice = "keep status: draft until it is replaced"
    summary = _text(data.get("summary"))
    if summary and " ".join(summary.split()).startswith(STARTER_SUMMARY):
        f.error(
            ("summary",),
            "placeholder",
            f"summary: still the starter's placeholder text; say why the teams make this agreement, or {advice}",
        )
    for i, person in enumerate(_list(data.get("stakeholders"))):
        if not isinstance(person, dict):
            continue
        path = ("stakeholders", i)
        if person.get("name") in STARTER_NAMES:
            f.error(
                path + ("name",),
                "placeholder",
                f"{where(data, path)}.name: {person['name']!r} is the starter's placeholder name; write the person's own name, or {advice}",
            )
        contact = person.get("contact")
        address = _text(contact.get("address")) if isinstance(contact, dict) else None
        if address and address.lower() in STARTER_ADDRESSES:
            f.error(
                path + ("contact", "address"),
                "placeholder",
                f"{where(data, path)}.contact.address: {address!r} is the starter's placeholder address; write where to reach this person, or {advice}",
            )
