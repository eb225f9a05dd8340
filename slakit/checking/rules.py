"""Semantic rules: what JSON Schema cannot say about an agreement.

References resolve, ids are unique, totals equal the sum of their parts, stepped targets
move forward in time and in their declared direction, dates fall inside the term, and
reviews are not overdue. Every rule reads the data defensively: a document with schema
errors is still checked, so one run reports everything.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from ..errors import ERROR, WARNING, Problem, shown
from ..model import figures as q
from ..model.agreement import MALFORMED, Agreement
from ..model.dates import FIRST_YEAR, LAST_YEAR, parse_date, read_date
from ..model.figures import Money
from ..model.funnel import arithmetic
from ..model.plans import LeadValuePlan, RevenuePoint
from ..model.review import ReviewSchedule
from ..model.schema import index, iter_values, list_keys, pattern_of, pointer
from ..model.terms import INVALID, UNVERIFIED, Person, signature_state
from ..world.files import TOOLKIT_PAGES
from ..world.load import Document
from ..world.zones import zone_links
from .evidence import Evidence

Path_ = tuple[Any, ...]

REVENUE_TOLERANCE = Decimal("0.005")  # monthly may be rounded: within 0.5% of annual / 12


class Findings:
    """Collects problems for one document, locating each by its data path."""

    def __init__(self, doc: Document, evidence: Evidence | None = None):
        self.doc = doc
        self.evidence = evidence
        self.problems: list[Problem] = []

    def add(self, severity: str, path: Path_, rule: str, message: str, key: bool = False) -> None:
        line, col = self.doc.locate(path, key=key)
        self.problems.append(Problem(self.doc.path, line, col, severity, rule, message, pointer(path)))

    def error(self, path: Path_, rule: str, message: str, key: bool = False) -> None:
        self.add(ERROR, path, rule, message, key)

    def warning(self, path: Path_, rule: str, message: str) -> None:
        self.add(WARNING, path, rule, message)


def where(data: Any, path: Path_) -> str:
    """A data path as people find it in the file: commitments[lead-follow-up].follow_up, an
    item named by its list's key (its id; a signature by its name), else counted from 1."""
    out, node = "", data
    for at, step in enumerate(path):
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and step < len(node) else None
            key = list_keys().get(pattern_of(path[:at]), "id")
            ident = item.get(key) if isinstance(item, dict) else None
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


SIGNOFF = "signoff"  # the rule of stale and missing signatures: the sign-off is not complete yet

Rule = Callable[[dict[str, Any], Findings, dt.date], None]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(doc: Document, today: dt.date, evidence: Evidence | None = None) -> list[Problem]:
    """Run every semantic rule on a loaded document (`evidence`: what was found outside it)."""
    findings = Findings(doc, evidence)
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
            shown = " + ".join(f"{q.number(row.planned)} × {row.value_per_lead}" for row in plan.rows)
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
def dates_in_range(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """Every date in the years FIRST_YEAR to LAST_YEAR and every duration at most ten years:
    beyond them a figure is mistyped, and the rest of the engine ignores it (parse_date)."""
    for pattern in index().of_kind("date"):
        for path, value in iter_values(data, pattern):
            day = read_date(value)
            if day is not None and parse_date(day) is None:
                f.error(
                    path,
                    "dates",
                    f"{where(data, path)}: {day} is outside the years {FIRST_YEAR} to {LAST_YEAR}; check the year",
                )
    for pattern in index().of_kind("duration"):
        for path, value in iter_values(data, pattern):
            duration = q.parse_duration(value)
            if duration is not None and duration.too_long:
                f.error(
                    path,
                    "dates",
                    f"{where(data, path)}: {duration} is longer than ten years "
                    f"({q.MAX_DURATION_DAYS:,} days); check the figure and its unit",
                )


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
    """Each signature by someone the agreement lists, for their party, in a role it gives
    them, dated when the terms existed, and (when it carries one) with an SSH signature that
    verifies; the sign-off complete (rule `signoff`: warnings, errors when enforced)."""
    signoff = data.get("signoff")
    if not isinstance(signoff, dict) or data.get("status") == "retired":
        return
    evidence = f.evidence or Evidence()
    try:
        state = signature_state(data, evidence.rosters, evidence.checks)
    except (TypeError, AttributeError, KeyError, ValueError):
        return  # a document this malformed has schema errors to fix first
    listed: dict[str, list[Person]] = {}
    for someone in state.people:
        listed.setdefault(someone.name, []).append(someone)
    first_effective = evidence.first_effective or parse_date(data.get("effective"))
    for i, signature in enumerate(state.signatures):
        path = ("signoff", "signatures", i)
        name, here = signature.name, where(data, path)
        candidates = listed.get(name, [])
        person = next((p for p in candidates if p.party == signature.party), None)
        if name and not candidates:
            f.error(
                path + ("name",),
                "signature",
                f"{here}: {shown(name)} is not listed in this agreement, so may not sign it; only stakeholders and "
                "the members of a party (parties[].members, or its roster file) sign",
            )
        elif name and person is None:
            parties = ", ".join(repr(p.party) for p in candidates)
            f.error(
                path + ("party",),
                "signature",
                f"{here}: {name} belongs to party {parties}, but signed for {shown(signature.party)}",
            )
        elif person is not None and signature.role not in person.roles:
            f.error(
                path + ("role",),
                "signature",
                f"{here}: {name} signed as {signature.role!r}, a role the agreement does not give them; "
                f"their role{'s' * (len(person.roles) != 1)}: {', '.join(repr(r) for r in person.roles) or 'none'}",
            )
        if signature.state == INVALID:
            f.error(
                path + ("ssh_signature",),
                "signature",
                f"{here}: the SSH signature of {name} does not verify: {signature.why}",
            )
        elif signature.signed and person is not None and person.email and signature.email != person.email:
            f.error(
                path + ("email",),
                "signature",
                f"{here}: {name} signed as {signature.email}, but the agreement gives their address as "
                f"{person.email}; sign again with `slakit sign --key`",
            )
        elif signature.state == UNVERIFIED and state.verified_only and signature.current:
            f.error(
                path,
                "signature",
                f"{here}: the signature of {name} is unverified ({signature.why}), and this agreement accepts "
                "verified signatures only (signoff.verified: true); sign again with `slakit sign --key`",
            )
        elif signature.state == UNVERIFIED and signature.signed:
            f.warning(path + ("ssh_signature",), "signature", f"{here}: the SSH signature of {name} is {signature.why}")
        _dated(data, f, path, signature, evidence, first_effective)
        if signature.terms is None:
            f.warning(
                path,
                SIGNOFF,
                f"{here}: the signature of {name} records no terms digest, so it "
                "cannot show which terms were accepted; sign again with `slakit sign`",
            )
        elif not signature.current:
            f.warning(
                path + ("terms",),
                SIGNOFF,
                f"{here}: {name} signed earlier terms; the terms have changed since, so the "
                f"signature is stale: sign again with `slakit sign`",
            )
    if data.get("status") != "active":
        return  # a draft is expected to await signatures (its page and status say so)
    for i, signer in enumerate(state.required):
        if signer.signed_by is None:
            kind = "verified " if state.verified_only else ""
            f.warning(  # an error when the sign-off is enforced (validate --enforce-signoff)
                ("signoff", "required", i),
                SIGNOFF,
                f"signoff.required[{signer.id}]: no current {kind}signature from {signer.role} ({signer.party})",
            )
    awaited = [r.person for r in state.everyone if r.signed_by is None and r.person]
    if awaited:
        listing = ", ".join(awaited[:10]) + (f" and {len(awaited) - 10} more" if len(awaited) > 10 else "")
        f.warning(
            ("signoff", "everyone"),
            SIGNOFF,
            f"signoff.everyone: {len(awaited)} of {len(state.everyone)} listed people have not signed "
            f"these terms: {listing}",
        )


def _dated(
    data: dict[str, Any], f: Findings, path: Path_, signature: Any, evidence: Evidence, first: dt.date | None
) -> None:
    """A signature may not be dated before its terms existed: before the first commit whose
    terms have its digest (unless it was recorded in that very commit), or before the
    effective date of the agreement's first version."""
    day = parse_date(signature.date)
    if day is None:
        return
    seen = evidence.first_seen.get(signature.terms or "")
    if first is not None and day < first:
        f.error(
            path + ("date",),
            "signature",
            f"{where(data, path)}: {signature.name} signed on {day}, before the agreement's first version took "
            f"effect ({first}); a signature cannot be older than the agreement",
        )
    elif seen is not None and signature.name not in seen.signed and day < seen.date:
        f.error(
            path + ("date",),
            "signature",
            f"{where(data, path)}: {signature.name} signed on {day}, but the terms they signed first appear in "
            f"commit {seen.commit[:12]} of {seen.date}; a signature cannot be older than its terms",
        )


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


# --- Funnel planning and cheap consistency (issue 13) -----------------------------------

FIXED_OFFSET_ZONES = {"EST", "MST", "HST", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "WET", "CET", "MET", "EET"}
# Metrics that read as a percentage or as money, so a bare number there is a slip.
PERCENT_METRIC = re.compile(r"\b(rate|percent|percentage|ratio|share of)\b|%", re.IGNORECASE)
MONEY_METRIC = re.compile(
    r"\b(revenue|value|bookings|deal size|amount|spend|budget)\b|\bpipeline (created|generated|sourced|added)\b|[$€£]",
    re.IGNORECASE,
)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _commitments(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in _list(data.get("commitments")) if isinstance(c, dict) and isinstance(c.get("id"), str)}


def _funnel_figure(commitment: dict[str, Any] | None, kind: str) -> str | None:
    """Why a commitment cannot give a funnel figure of `kind` (percent | duration), or None."""
    if commitment is None:
        return None  # the ref rule reports an unknown id
    for block_name, field in (("stepped_target", "baseline"), ("measure", "target")):
        block = commitment.get(block_name)
        if isinstance(block, dict):
            values = [block.get(field)] + [s.get("value") for s in _list(block.get("steps")) if isinstance(s, dict)]
            kinds = {q.kind_of(v) for v in values}
            wanted = {"percent"} if kind == "percent" else {"duration:clock", "duration:business day"}
            if kinds <= wanted:
                if kind == "percent" and any(q.parse_percent(v) == 0 for v in values):
                    return "its target includes 0%, and no deal is won at a 0% rate"
                return None
            shown = ", ".join(q.figure(v) for v in values)
            return f"its target is {shown}, not {'a percentage' if kind == 'percent' else 'a duration in days'}"
    return "it has no target (add a measure or stepped_target block)"


@rule
def funnel_setup(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """The funnel's figures can be worked out: a revenue goal in the deal's currency, rates
    above 0%, and the commitments it refers to carry the right kind of target."""
    goals = _mapping(data.get("goals"))
    funnel = goals.get("funnel")
    if not isinstance(funnel, dict):
        return
    path: Path_ = ("goals", "funnel")
    revenue = goals.get("revenue")
    if not isinstance(revenue, dict):
        f.error(path, "funnel-setup", "goals.funnel: the funnel starts from the revenue goal; add goals.revenue")
    deal: Any = funnel.get("deal_size")
    if q.is_money(deal):
        target = revenue.get("target") if isinstance(revenue, dict) else None
        annual: Any = target.get("annual") if isinstance(target, dict) else None
        if q.is_money(annual) and annual["currency"] != deal["currency"]:
            f.error(
                path + ("deal_size", "currency"),
                "funnel-setup",
                f"goals.funnel.deal_size is in {deal['currency']} but the revenue goal in {annual['currency']}; "
                "use one currency",
            )
        if deal["amount"] == 0:
            f.error(
                path + ("deal_size", "amount"), "funnel-setup", "goals.funnel.deal_size: a deal of 0 brings no revenue"
            )
    commitments = _commitments(data)
    conversion = _mapping(funnel.get("conversion"))
    for stage, value in conversion.items():
        here = path + ("conversion", stage)
        if q.parse_percent(value) == 0:
            f.error(
                here, "funnel-setup", f"{where(data, here)}: a 0% rate lets no lead through; give the rate in force"
            )
        elif isinstance(value, dict) and isinstance(value.get("commitment"), str):
            why = _funnel_figure(commitments.get(value["commitment"]), "percent")
            if why:
                f.error(
                    here + ("commitment",),
                    "funnel-setup",
                    f"{where(data, here)}: commitment {value['commitment']!r} cannot give the rate: {why}",
                )
    cycle = funnel.get("sales_cycle")
    if isinstance(cycle, dict) and isinstance(cycle.get("commitment"), str):
        why = _funnel_figure(commitments.get(cycle["commitment"]), "duration")
        if why:
            f.error(
                path + ("sales_cycle", "commitment"),
                "funnel-setup",
                f"goals.funnel.sales_cycle: commitment {cycle['commitment']!r} cannot give the sales cycle: {why}",
            )
    elif (duration := q.parse_duration(cycle)) is not None and duration.unit == "business hour":
        f.error(path + ("sales_cycle",), "funnel-setup", "goals.funnel.sales_cycle: give it in days, weeks or months")
    for kind in ("lead_volume", "lead_value"):
        named = _text(funnel.get(kind))
        chosen = commitments.get(named) if named else None
        if named and chosen is not None and not isinstance(chosen.get(kind), dict):
            f.error(
                path + (kind,),
                "funnel-setup",
                f"goals.funnel.{kind}: commitment {named!r} has no {kind} block to compare with the funnel",
            )
        block = chosen.get(kind) if chosen else None
        if named is None:
            carriers = [c for c in commitments.values() if isinstance(c.get(kind), dict)]
            if len(carriers) > 1:
                f.warning(
                    path,
                    "funnel-setup",
                    f"goals.funnel: {len(carriers)} commitments carry a {kind} "
                    f"({', '.join(c['id'] for c in carriers)}); name the one the funnel must cover with "
                    f"goals.funnel.{kind}",
                )
            block = carriers[0].get(kind) if len(carriers) == 1 else None
        per = _text(block.get("per")) if isinstance(block, dict) else None
        if per in ("day", "week"):
            cid = named or next(c["id"] for c in commitments.values() if c.get(kind) is block)
            here = ("commitments", list(commitments).index(cid), kind, "per")
            f.error(
                here,
                "funnel-setup",
                f"{where(data, here)}: the funnel plans whole months, and a {per} does not divide a month; "
                "state it per month, quarter or year",
            )


@rule
def funnel(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """The committed MQLs and lead value cover what the funnel needs, every month of the term."""
    goals = _mapping(data.get("goals"))
    if not isinstance(goals.get("funnel"), dict) or any(p.rule == "funnel-setup" for p in f.problems):
        return
    try:
        agreement = Agreement.from_data(data)
        plan = agreement.funnel_plan()
    except MALFORMED:
        return  # a document this malformed has schema errors to fix first
    if plan is None:
        return
    ids = list(_commitments(data))
    volume, value = agreement.funnel_commitments()
    short = [m for m in plan.months if m.shortfall]
    if volume is not None and short:
        first = short[0]
        feeds = "; ".join(f"deals closing in {c.month:%Y-%m}: {arithmetic(plan.funnel, c)}" for c in first.feeds)
        others = ", ".join(f"{m.month:%Y-%m} ({q.number(m.mqls_required)})" for m in short[1:])
        f.error(
            ("commitments", ids.index(volume.id), "lead_volume", "count"),
            "funnel",
            f"commitments[{volume.id}]: {q.number(first.mqls_committed)} MQLs a month fall short of the "
            f"{q.number(first.mqls_required)} the funnel needs in {first.month:%Y-%m} ({feeds})"
            + (f"; also short in {others}" if others else "")
            + "; raise the lead volume or revisit the funnel's figures (`slakit plan` shows every month)",
        )
    short_value = [m for m in plan.months if m.value_shortfall and m.value_shortfall.amount]
    if value is not None and short_value:
        first = short_value[0]
        others = ", ".join(f"{m.month:%Y-%m} ({m.lead_value_required})" for m in short_value[1:])
        f.error(
            ("commitments", ids.index(value.id), "lead_value", "total", "amount"),
            "funnel",
            f"commitments[{value.id}]: {first.lead_value_committed} of lead value a month falls short of the "
            f"{first.lead_value_required} of marketing-sourced revenue the funnel needs from the leads of "
            f"{first.month:%Y-%m} (deals closing in {', '.join(f'{c.month:%Y-%m}' for c in first.feeds)}, "
            f"{plan.funnel.marketing_share} of the revenue goal)" + (f"; also short in {others}" if others else ""),
        )


@rule
def lead_counts_agree(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """A lead-volume count equals the leads planned per source, when one commitment gives both
    (or the funnel names the two as the ones it is compared with), counted per the same period."""
    commitments = _commitments(data)
    ids = list(commitments)
    pairs = [(c["id"], c["id"]) for c in commitments.values() if isinstance(c.get("lead_volume"), dict)]
    goals = _mapping(data.get("goals"))
    funnel = _mapping(goals.get("funnel"))
    named = [_text(funnel.get(kind)) for kind in ("lead_volume", "lead_value")]
    if named[0] in commitments and named[1] in commitments:
        pairs.append((str(named[0]), str(named[1])))
    for volume_id, value_id in dict.fromkeys(pairs):
        volume, value = commitments[volume_id].get("lead_volume"), commitments[value_id].get("lead_value")
        if not isinstance(volume, dict) or not isinstance(value, dict) or volume.get("per") != value.get("per"):
            continue
        planned: list[Any] = [s.get("planned") for s in _list(value.get("sources")) if isinstance(s, dict)]
        count = volume.get("count")
        if not planned or not all(q.is_number(p) for p in planned) or not q.is_number(count):
            continue
        if sum(planned) != count:
            f.error(
                ("commitments", ids.index(volume_id), "lead_volume", "count"),
                "sum",
                f"commitments[{volume_id}].lead_volume.count is {count}, but commitments[{value_id}].lead_value "
                f"plans {sum(planned)} leads per {value.get('per')} over its sources "
                f"({' + '.join(str(p) for p in planned)}); make the two agree",
            )


@rule
def revenue_direction(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    goals = _mapping(data.get("goals"))
    revenue = _mapping(goals.get("revenue"))
    base, goal = revenue.get("baseline"), revenue.get("target")
    base_annual: Any = base.get("annual") if isinstance(base, dict) else None
    goal_annual: Any = goal.get("annual") if isinstance(goal, dict) else None
    if (
        q.is_money(base_annual)
        and q.is_money(goal_annual)
        and base_annual["currency"] == goal_annual["currency"]
        and goal_annual["amount"] < base_annual["amount"]
    ):
        f.error(
            ("goals", "revenue", "target", "annual", "amount"),
            "revenue",
            f"goals.revenue.target: {q.money(goal_annual)} a year is below the baseline of "
            f"{q.money(base_annual)}; a revenue target is where revenue must grow to",
        )


@rule
def business_time(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """A follow-up in business hours or days needs a calendar to count in; clock time beside a
    calendar reads as a contradiction."""
    calendars = _ids(data, "calendars")
    for path, block in iter_values(data, ("commitments", "*", "follow_up")):
        if not isinstance(block, dict):
            continue
        duration = q.parse_duration(block.get("response_time"))
        if duration is None:
            continue
        if duration.is_business and not _text(block.get("calendar")):
            hint = (
                f"add calendar: {calendars[0]}"
                if len(calendars) == 1
                else "add a calendar under calendars and name it here"
            )
            f.error(
                path + ("response_time",),
                "calendar",
                f"{where(data, path)}: {duration} is counted in business time, but no calendar says when "
                f"business is open; {hint}",
            )
        elif not duration.is_business and _text(block.get("calendar")):
            unit = "business day" if duration.unit in ("day", "week", "month") else "business hour"
            f.error(
                path + ("response_time",),
                "calendar",
                f"{where(data, path)}: {duration} is clock time, but calendar {block['calendar']!r} counts office "
                f"hours; write it in {unit}s (such as 1 {unit}), or remove the calendar to count around the clock",
            )


@rule
def holidays_in_term(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    term = data["term"] if isinstance(data.get("term"), dict) else {}
    start, end = parse_date(data.get("effective")), parse_date(term.get("end"))
    for path, value in iter_values(data, ("calendars", "*", "holidays", "*", "date")):
        day = parse_date(value)
        if day and start and day < start:
            f.error(path, "dates", f"{where(data, path[:-1])}: {day} is before the agreement takes effect ({start})")
        elif day and end and day > end:
            f.error(path, "dates", f"{where(data, path[:-1])}: {day} is after the agreement ends ({end})")


@rule
def review_after_effective(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    term = data["term"] if isinstance(data.get("term"), dict) else {}
    start, last = parse_date(data.get("effective")), parse_date(term.get("last_review"))
    if start and last and last < start:
        f.error(
            ("term", "last_review"),
            "dates",
            f"term.last_review {last} is before the agreement takes effect ({start}); "
            "a review revisits the agreement, so it cannot come first",
        )


@rule
def zone_aliases(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    paths = [(("timezone",), data.get("timezone"))]
    paths += list(iter_values(data, ("calendars", "*", "timezone")))
    for path, name in paths:
        if not isinstance(name, str) or not zone_ok(name):
            continue
        canonical = zone_links().get(name)
        if name in FIXED_OFFSET_ZONES or (name.startswith("Etc/GMT") and name[7:8] in "+-" and name[8:]):
            f.warning(
                path,
                "timezone",
                f"{where(data, path)}: {name!r} is a fixed offset that ignores daylight saving time; "
                "use the zone of a city, such as America/New_York",
            )
        elif canonical and not canonical.startswith("Etc/"):
            f.warning(
                path,
                "timezone",
                f"{where(data, path)}: {name!r} is an old alias of {canonical}; write {canonical}",
            )


def _currency(data: dict[str, Any]) -> str:
    goals = _mapping(data.get("goals"))
    revenue = _mapping(goals.get("revenue"))
    for point in (revenue.get("target"), revenue.get("baseline")):
        if isinstance(point, dict) and q.is_money(point.get("annual")):
            return str(point["annual"]["currency"])
    return "USD"


@rule
def bare_numbers(data: dict[str, Any], f: Findings, today: dt.date) -> None:
    """A plain number where the metric reads as a percentage or an amount of money."""
    currency = _currency(data)
    targets = list(iter_values(data, ("commitments", "*", "measure")))
    targets += list(iter_values(data, ("commitments", "*", "stepped_target")))
    for path, block in targets:
        if not isinstance(block, dict) or not isinstance(block.get("metric"), str):
            continue
        metric = block["metric"]
        fields = [("target",), ("baseline",)] + [("steps", i, "value") for i in range(len(_list(block.get("steps"))))]
        for field in fields:
            node: Any = block
            for step in field:
                node = node[step] if isinstance(node, (dict, list)) and _has(node, step) else None  # type: ignore[index]
            if not q.is_number(node):
                continue
            value = Decimal(str(node))
            per = f" per {block['per']}" if isinstance(block.get("per"), str) else ""
            if 0 < value < 1 or PERCENT_METRIC.search(metric):
                pct = value * 100 if value <= 1 else value
                f.error(
                    path + field,
                    "figure",
                    f"{where(data, path)}: {q.number(value)}{per} is a bare number, but {block['metric']!r} "
                    f"is a percentage; write {q.number(pct)}%",
                )
            elif MONEY_METRIC.search(metric):
                f.error(
                    path + field,
                    "figure",
                    f"{where(data, path)}: {q.number(value)}{per} is a bare number, but {block['metric']!r} "
                    f"is an amount of money; write {{amount: {value}, currency: {currency}}}",
                )
