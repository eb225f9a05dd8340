"""Hypothesis strategies for the property tests: valid agreements, their revisions, invalid
mutations of them, and a YAML writer with many ways of writing the same data.

Why hand-written and not `hypothesis_jsonschema.from_schema(schema/sla.schema.json)`:
measured on this machine (hypothesis-jsonschema 0.23.1, which needs hypothesis < 6.150: it
calls `many.more()`, gone from later releases), 50 examples took 223 s (4.5 s each) and
none of the 50 was a valid agreement (dangling references, unknown time zones, duplicate
ids). The composite strategy below builds a realistic valid agreement in a few
milliseconds: ids unique, references resolving, lead value totals equal to the sum of
value per lead x planned, monthly revenue = annual / 12, stepped targets in date order and
moving in their `better` direction, dates inside the term, review dates consistent with the
cadence, required signers matching stakeholders (or `everyone: true`), and, for an active
agreement, a current signature from every required signer.

The agreements carry hostile text on purpose (HTML, Markdown control characters, very long
text, right-to-left and bidirectional text, emoji, control characters), so every property
that holds for them holds for what a pull request can put into a file.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps caches (and, under the fuzz profile, its example database) in a folder it
# creates in the current directory; keep that folder out of the repository.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "slakit-hypothesis")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from oracles import digest_by_spec as terms_digest  # noqa: E402  (signs generated agreements)
from oracles import magnitude_by_spec  # noqa: E402

# -- profiles ---------------------------------------------------------------------------------------
# ci (the default): few examples, derandomized (the same examples on every run, so CI is
# deterministic), no example database. fuzz (HYPOTHESIS_PROFILE=fuzz): twenty times as many
# random examples per property. Neither writes a database into the repository.
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.large_base_example]
settings.register_profile(
    "ci", max_examples=20, deadline=None, derandomize=True, database=None, print_blob=True, suppress_health_check=_SLOW
)
settings.register_profile(
    "fuzz", max_examples=400, deadline=None, database=None, print_blob=True, suppress_health_check=_SLOW
)
# debug (HYPOTHESIS_PROFILE=debug): the ci examples, but a failure is reported as found, without
# shrinking (shrinking a failure that runs the CLI can take many minutes).
settings.register_profile("debug", parent=settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(weight: float) -> int:
    """Examples for a property that costs `weight` times an ordinary one (per the loaded profile)."""
    return max(2, round(settings.default.max_examples * weight))


TODAY = dt.date(2026, 11, 16)  # conftest.FIXED_EPOCH
SCHEMA = json.loads((ROOT / "schema" / "sla.schema.json").read_text())

# -- words and hostile text ----------------------------------------------------------------------

WORDS = [
    "lead",
    "follow",
    "up",
    "sales",
    "marketing",
    "mql",
    "sql",
    "pipeline",
    "content",
    "review",
    "weekly",
    "partner",
    "account",
    "social",
    "demo",
    "webinar",
    "event",
    "trial",
    "nurture",
    "handoff",
    "emea",
    "apac",
    "north",
    "south",
    "tier",
    "one",
    "two",
    "q3",
    "2026",
    "inbound",
    "outbound",
    "referral",
    "crm",
    "sdr",
    "ae",
]
NAME_WORDS = [
    "Marketing",
    "Sales",
    "Partner",
    "Revenue",
    "Team",
    "Leads",
    "Priya",
    "Tom",
    "Fiona",
    "Zoë",
    "José",
    "Ølaf",
    "Chief",
    "Officer",
    "Head",
    "of",
    "Growth",
    "Content",
    "Field",
    "Inside",
    "EMEA",
    "Program",
    "Manager",
    "Director",
    "McBride",
    "O'Brien",
    "Nguyễn",
    "Müller",
    "Dvořák",
    "Łukasz",
    "Renée",
]

# Fragments that would become markup if any stage let them through. MARKERS are looked for
# as elements and attributes in the parsed HTML: none may exist beyond what templates make.
HOSTILE = [
    "<b data-x=1>bold</b>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "![img](x.png)",
    "<https://evil.example>",
    "https://evil.example/x",
    "# heading",
    "## 9. Fake {#fake}",
    "{#anchor}",
    "| a | b |",
    "|",
    "*em*",
    "**strong**",
    "_u_",
    "__u__",
    "`code`",
    "```",
    "~~~",
    "~~del~~",
    "&amp;",
    "&lt;b&gt;",
    "&#x3C;b&#x3E;",
    "\\",
    "\\*",
    "> quote",
    "- item",
    "+ item",
    "1. item",
    "2) item",
    "---",
    "===",
    "***",
    "<!-- c -->",
    "]]>",
    '"quoted"',
    "'single'",
    "key: value",
    "#not-a-comment",
    "%TAG",
    "@at",
    "!tag",
    "&anchor",
    "*alias",
    "? q",
    "{a: 1}",
    "[1, 2]",
    "${x}",
    "{{ jinja }}",
    "{% raw %}",
    "{#c#}",
    "\u202eevil.exe",
    "\u2066isolate\u2069",
    "\u200fRLM",
    "مرحبا بالعالم",
    "שלום עולם",
    "👩‍💻🎉",
    "🇬🇧",
    "e\u0301",
    "zero\u200bwidth",
    "nb\u00a0sp",
    "\x07bell",
    "\x1b[31mred\x1b[0m",
    "nul\x00char",
    "del\x7f",
    "csi\x9b",
    "nel\x85",
    "ls\u2028ps\u2029",
    "bom\ufeff",
    "tab\tstop",
    "\u3000ideographic",
    "Ω≈ç√∫",
]
MARKER_TAGS = {"b", "img", "script", "svg", "iframe", "object", "embed", "form", "input", "math", "base", "link"}
MARKER_ATTRS = {"data-x", "onerror", "onload", "src"}

_NO_BREAK = str.maketrans({"\n": " ", "\r": " "})


def _fix_line(text: str) -> str:
    """A single line of text as the schema's `line` accepts it (1-200 characters, a non-space)."""
    return text.translate(_NO_BREAK)[:200]


_fragment = st.one_of(
    st.sampled_from(NAME_WORDS),
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=6),
)


@cache
def lines(hostile: bool = True) -> st.SearchStrategy[str]:
    """A one-line text (names, titles): words, sometimes with hostile fragments."""
    benign = st.lists(st.sampled_from(NAME_WORDS), min_size=1, max_size=5).map(" ".join)
    if not hostile:
        return benign
    wild = st.tuples(st.sampled_from(NAME_WORDS), st.lists(_fragment, max_size=5)).map(
        lambda t: _fix_line(" ".join([t[0], *t[1]]))
    )
    return st.one_of(benign, wild)


@cache
def texts(hostile: bool = True) -> st.SearchStrategy[str]:
    """Free text of one or more paragraphs, now and then very long (up to the 5,000 allowed)."""
    para = st.lists(
        st.one_of(st.sampled_from(WORDS), _fragment) if hostile else st.sampled_from(WORDS), min_size=1, max_size=12
    ).map(" ".join)
    several = st.lists(para, min_size=1, max_size=4).flatmap(
        lambda ps: st.sampled_from(["\n\n", "\n", " "]).map(lambda sep: sep.join(ps))
    )
    long = st.tuples(st.sampled_from(HOSTILE if hostile else WORDS), st.integers(500, 5000)).map(
        lambda t: ("x " + (t[0] + " ") * (t[1] // (len(t[0]) + 1) + 1))[: t[1]]
    )
    base = st.one_of(several, long) if hostile else several
    return st.tuples(st.sampled_from(WORDS), base).map(lambda t: (t[0] + " " + t[1])[:5000])


# -- figures -------------------------------------------------------------------------------------

CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "INR", "SEK"]
TIMEZONES = [
    z
    for z in [
        "UTC",
        "Europe/London",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Sydney",
        "America/Sao_Paulo",
        "Etc/GMT+5",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "Europe/Berlin",
    ]
    if (lambda name: bool(ZoneInfo(name)))(z)
]
PERIODS = ["day", "week", "month", "quarter", "year"]
CADENCES = ["daily", "weekly", "biweekly", "monthly", "quarterly", "semiannual", "annual"]
REVIEW_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
CLOCK_UNITS = {"minute": 1, "hour": 60, "day": 1440, "week": 10080, "month": 43200}
BUSINESS_UNITS = ["business hour", "business day"]
MAX_MONTHS = 120  # ten years of 30-day months: the longest duration in months an agreement may state


@cache
def amount(low: int = 0, high: int = 1_000_000) -> st.SearchStrategy[int | float]:
    """An amount of money: whole, or with cents (exact in decimal, as YAML writes it)."""
    cents = st.integers(low * 100, high * 100).map(lambda c: float(Decimal(c) / 100))
    return st.one_of(st.integers(low, high), cents)


@cache
def money(currency: str | None = None, low: int = 0, high: int = 1_000_000) -> st.SearchStrategy[dict[str, Any]]:
    cur = st.just(currency) if currency else st.sampled_from(CURRENCIES)
    return st.fixed_dictionaries({"amount": amount(low, high), "currency": cur})


def percent_text(value: Decimal) -> str:
    text = format(value, "f")
    return text + "%"


@cache
def percent_values() -> st.SearchStrategy[Decimal]:
    """0 to 100, whole or with one or two decimals (never 100.5)."""
    return st.one_of(st.integers(0, 100).map(Decimal), st.integers(0, 9999).map(lambda n: Decimal(n) / 100))


def duration_text(value: Decimal, unit: str, plural: bool | None = None) -> str:
    text = format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))
    many = value != 1 if plural is None else plural
    return f"{text} {unit}{'s' if many else ''}"


@cache
def durations(business: bool | None = None) -> st.SearchStrategy[str]:
    """Any duration; only business units (True) or only clock units (False)."""
    units = {None: list(CLOCK_UNITS) + BUSINESS_UNITS, True: BUSINESS_UNITS, False: list(CLOCK_UNITS)}[business]
    unit = st.sampled_from(units)
    value = st.one_of(st.integers(1, 500).map(Decimal), st.integers(1, 999).map(lambda n: Decimal(n) / 10))
    # A duration is at most ten years (README): 500 months would be an error, 120 is not.
    value_of = {"month": st.integers(1, MAX_MONTHS).map(Decimal)}
    return unit.flatmap(
        lambda u: st.builds(duration_text, value_of.get(u, value), st.just(u), st.one_of(st.none(), st.booleans()))
    )


@cache
def quantities(currency: str | None = None) -> st.SearchStrategy[Any]:
    return st.one_of(
        percent_values().map(percent_text), durations(), money(currency), st.integers(0, 100_000), amount(0, 10_000)
    )


# Words that make a metric read as a percentage or as money, where a bare number is a slip
# (the `figure` rule); generated metrics avoid them so that any kind of target fits.
FIGURE_WORDS = ("rate", "share", "percent", "ratio", "revenue", "value", "bookings", "deal size", "amount")
FIGURE_WORDS += ("spend", "budget", "pipeline", "$", "€", "£", "%")


@cache
def metrics() -> st.SearchStrategy[str]:
    return lines().filter(lambda text: not any(word in text.lower() for word in FIGURE_WORDS))


def not_a_fraction(value: Any) -> bool:
    """A bare number between 0 and 1 reads as a percentage written wrong (the `figure` rule)."""
    return not (isinstance(value, (int, float)) and 0 < value < 1)


# -- ids ------------------------------------------------------------------------------------------

slugs = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map("-".join),
    st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True),
)


@cache
def unique_ids(n_min: int, n_max: int) -> st.SearchStrategy[list[str]]:
    return st.lists(slugs, min_size=n_min, max_size=n_max, unique=True)


@st.composite
def dates_between(draw: Any, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=draw(st.integers(0, max(0, (end - start).days))))


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# -- the agreement --------------------------------------------------------------------------------

_INDEX = {n: st.integers(0, n - 1) for n in range(1, 64)}
_BOOL = st.booleans()


def pick(draw: Any, items: Any) -> Any:
    """One of `items` (a cheaper `draw(st.sampled_from(items))`: no strategy built per draw)."""
    items = list(items)
    index = _INDEX[len(items)] if len(items) in _INDEX else st.integers(0, len(items) - 1)
    return items[draw(index)]


def flag(draw: Any) -> bool:
    return draw(_BOOL)


_COIN = st.booleans()


def _maybe(draw: Any, strategy: st.SearchStrategy[Any], p_true: st.SearchStrategy[bool] = _COIN) -> Any:
    return draw(strategy) if draw(p_true) else None


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = value


@st.composite
def stepped_target(draw: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """A target moving from a baseline through dated steps, earliest first, never backwards."""
    better = pick(draw, ["higher", "lower"])
    count = draw(st.integers(1, 4))
    kind = pick(draw, ["percent", "duration", "money", "number"])
    if kind == "percent":
        values = draw(st.lists(percent_values(), min_size=count + 1, max_size=count + 1))
        fmt: Callable[[Decimal], Any] = percent_text
    elif kind == "duration":
        unit = pick(draw, list(CLOCK_UNITS) + BUSINESS_UNITS)
        top = MAX_MONTHS if unit == "month" else 300  # at most ten years (README)
        values = draw(st.lists(st.integers(1, top).map(Decimal), min_size=count + 1, max_size=count + 1))
        fmt = lambda v: duration_text(v, unit)  # noqa: E731
    elif kind == "money":
        currency = pick(draw, CURRENCIES)
        values = [Decimal(str(a)) for a in draw(st.lists(amount(0, 5_000_000), min_size=count + 1, max_size=count + 1))]
        fmt = lambda v: {"amount": int(v) if v == v.to_integral_value() else float(v), "currency": currency}  # noqa: E731
    else:
        values = [Decimal(n) for n in draw(st.lists(st.integers(0, 100_000), min_size=count + 1, max_size=count + 1))]
        fmt = lambda v: int(v)  # noqa: E731
    values.sort(reverse=better == "lower")
    span = (end - start).days
    offsets = sorted(draw(st.lists(st.integers(0, span), min_size=count, max_size=count, unique=True)))
    ids = draw(unique_ids(count, count))
    steps = [
        {"id": ids[i], "by": (start + dt.timedelta(days=offsets[i])).isoformat(), "value": fmt(values[i + 1])}
        for i in range(count)
    ]
    return {"metric": draw(metrics()), "better": better, "baseline": fmt(values[0]), "steps": steps}


@st.composite
def commitment(draw: Any, ident: str, ctx: dict[str, Any]) -> dict[str, Any]:
    party_ids, start, end = ctx["parties"], ctx["start"], ctx["end"]
    item: dict[str, Any] = {"id": ident, "party": pick(draw, party_ids), "title": draw(lines())}
    _put(item, "to", _maybe(draw, st.sampled_from(party_ids)))
    _put(
        item, "category", _maybe(draw, st.sampled_from(SCHEMA["$defs"]["commitment"]["properties"]["category"]["enum"]))
    )
    _put(item, "text", _maybe(draw, texts()))
    blocks = draw(
        st.sets(
            st.sampled_from(
                [
                    "lead_volume",
                    "lead_value",
                    "pipeline_share",
                    "follow_up",
                    "touch_cadence",
                    "measure",
                    "stepped_target",
                    "reporting",
                ]
            ),
            max_size=3,
        )
    )
    if "lead_volume" in blocks:
        lv: dict[str, Any] = {"count": draw(st.integers(0, 5000)), "per": pick(draw, PERIODS)}
        if ctx["definitions"]:
            _put(lv, "qualifies_as", _maybe(draw, st.sampled_from(ctx["definitions"])))
        _put(lv, "delivery", _maybe(draw, texts()))
        item["lead_volume"] = lv
    if "lead_value" in blocks:
        currency = pick(draw, CURRENCIES)
        ids = draw(unique_ids(1, 4))
        sources = [
            {
                "id": i,
                "name": draw(lines()),
                "value_per_lead": draw(money(currency, 0, 100_000)),
                "planned": draw(st.integers(0, 2000)),
            }
            for i in ids
        ]
        total = sum((Decimal(str(s["value_per_lead"]["amount"])) * s["planned"] for s in sources), Decimal(0))
        item["lead_value"] = {
            "total": {
                "amount": int(total) if total == total.to_integral_value() else float(total),
                "currency": currency,
            },
            "per": pick(draw, PERIODS),
            "sources": sources,
        }
        if "lead_volume" in item:  # one commitment's count is the leads it plans (the `sum` rule)
            item["lead_volume"]["count"] = sum(source["planned"] for source in sources)
    if "pipeline_share" in blocks:
        share: dict[str, Any] = {"share": percent_text(draw(percent_values()))}
        _put(share, "of", _maybe(draw, lines()))
        item["pipeline_share"] = share
    if "follow_up" in blocks:
        fu: dict[str, Any] = {"clock_starts": draw(texts())}
        if ctx["calendars"]:
            _put(fu, "calendar", _maybe(draw, st.sampled_from(ctx["calendars"])))
        # Business time is counted in a calendar, clock time without one (the `calendar` rule).
        fu["response_time"] = draw(durations(business="calendar" in fu))
        _put(
            fu,
            "after_hours",
            _maybe(draw, st.sampled_from(["first-hour-next-business-day", "next-business-day", "clock-runs"])),
        )
        _put(fu, "applies_to", _maybe(draw, texts()))
        _put(fu, "exclusions", _maybe(draw, st.lists(texts(), max_size=3)))
        item["follow_up"] = fu
    if "touch_cadence" in blocks:
        touches = [
            {
                "id": i,
                "channel": pick(draw, ["email", "phone", "social", "video", "meeting", "mail"]),
                "count": draw(st.integers(1, 20)),
                "within": draw(durations()),
            }
            for i in draw(unique_ids(1, 3))
        ]
        tc: dict[str, Any] = {"touches": touches}
        _put(tc, "until", _maybe(draw, texts()))
        item["touch_cadence"] = tc
    if "measure" in blocks:
        measure: dict[str, Any] = {
            "metric": draw(metrics()),
            "target": draw(quantities().filter(not_a_fraction)),
            "better": pick(draw, ["higher", "lower"]),
        }
        _put(measure, "per", _maybe(draw, st.sampled_from(PERIODS)))
        item["measure"] = measure
    if "stepped_target" in blocks:
        item["stepped_target"] = draw(stepped_target(start, end))
    if "reporting" in blocks:
        rep: dict[str, Any] = {"cadence": pick(draw, CADENCES), "to": pick(draw, party_ids)}
        _put(rep, "via", _maybe(draw, lines()))
        _put(rep, "until", _maybe(draw, texts()))
        item["reporting"] = rep
    return item


@st.composite
def agreements(draw: Any, status: str | None = None, small: bool = False) -> dict[str, Any]:
    """A valid agreement (no errors; warnings such as an overdue review may occur)."""
    data: dict[str, Any] = {
        "id": draw(slugs),
        "title": draw(lines()),
        "kind": pick(draw, SCHEMA["properties"]["kind"]["enum"]),
        "status": status or pick(draw, ["draft", "active", "retired"]),
        "version": draw(st.one_of(st.integers(0, 60), st.from_regex(r"[0-9][0-9A-Za-z.\-]{0,7}", fullmatch=True))),
    }
    _put(data, "summary", _maybe(draw, texts()))
    start = draw(dates_between(dt.date(2024, 1, 1), dt.date(2027, 6, 30)))
    end = _maybe(draw, st.integers(30, 1500).map(lambda d: start + dt.timedelta(days=d)))
    last_day = end or start + dt.timedelta(days=1500)
    data["effective"] = start.isoformat()
    cadence = pick(draw, list(REVIEW_MONTHS))
    term: dict[str, Any] = {"review_cadence": cadence}
    if end:
        term["end"] = end.isoformat()
    last = _maybe(draw, dates_between(start, TODAY)) if start <= TODAY else None  # not before it takes effect
    if last:
        term["last_review"] = last.isoformat()
    if flag(draw):
        base = last or start
        due = add_months(base, REVIEW_MONTHS[cadence])
        upper = min(due, end) if end and end > base else due
        term["next_review"] = draw(
            dates_between(base + dt.timedelta(days=1), max(upper, base + dt.timedelta(days=1)))
        ).isoformat()
    data["term"] = term
    data["timezone"] = pick(draw, TIMEZONES)

    calendars = []
    for ident in draw(unique_ids(0, 0 if small else 2)):
        hours = sorted(
            draw(
                st.lists(
                    st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45])), min_size=2, max_size=2, unique=True
                )
            )
        )
        cal: dict[str, Any] = {
            "id": ident,
            "name": draw(lines()),
            "days": draw(
                st.lists(
                    st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                    min_size=1,
                    max_size=7,
                    unique=True,
                )
            ),
            "hours": {"start": "{:02d}:{:02d}".format(*hours[0]), "end": "{:02d}:{:02d}".format(*hours[1])},
        }
        _put(cal, "timezone", _maybe(draw, st.sampled_from(TIMEZONES)))
        holidays = [
            {"id": h, "date": draw(dates_between(start, last_day)).isoformat(), "name": draw(lines())}
            for h in draw(unique_ids(0, 2))
        ]
        if holidays:
            cal["holidays"] = holidays
        calendars.append(cal)
    if calendars:
        data["calendars"] = calendars

    party_ids = draw(unique_ids(2, 3 if small else 4))
    parties = [{"id": p, "name": draw(lines())} for p in party_ids]
    for party in parties:
        _put(party, "description", _maybe(draw, texts()))
    data["parties"] = parties

    people_ids = draw(unique_ids(0, 2 if small else 6))
    names = draw(st.lists(lines(), min_size=len(people_ids), max_size=len(people_ids), unique=True))
    stakeholders = []
    for ident, name in zip(people_ids, names):
        person: dict[str, Any] = {"id": ident, "name": name, "role": draw(lines()), "party": pick(draw, party_ids)}
        _put(person, "responsibilities", _maybe(draw, texts()))
        if flag(draw):
            contact: dict[str, Any] = {
                "channel": pick(draw, ["email", "phone", "chat", "meeting", "crm", "in-person"]),
                "when": draw(texts()),
            }
            _put(contact, "address", _maybe(draw, lines()))
            _put(contact, "response_time", _maybe(draw, durations()))
            person["contact"] = contact
        stakeholders.append(person)
    if stakeholders or flag(draw):
        data["stakeholders"] = stakeholders
    for party in parties:
        members = [s["id"] for s in stakeholders if s["party"] == party["id"]]
        if members:
            _put(party, "leader", _maybe(draw, st.sampled_from(members)))

    definition_ids = draw(unique_ids(0, 0 if small else 3))
    definitions = []
    for ident in definition_ids:
        term_def: dict[str, Any] = {"id": ident, "term": draw(lines()), "meaning": draw(texts())}
        _put(term_def, "abbreviation", _maybe(draw, st.from_regex(r"[A-Za-z0-9&/.\-]{1,12}", fullmatch=True)))
        _put(term_def, "criteria", _maybe(draw, st.lists(texts(), max_size=3)))
        definitions.append(term_def)
    if definitions:
        data["definitions"] = definitions

    if flag(draw) and not small:
        goals: dict[str, Any] = {}
        if flag(draw):
            currency = pick(draw, CURRENCIES)
            revenue = {}
            # A target is never below its baseline (the `revenue` rule).
            annuals = sorted(draw(st.lists(st.integers(1200, 1_000_000_000), min_size=2, max_size=2)))
            for name, annual in zip(("baseline", "target"), annuals):
                point: dict[str, Any] = {"annual": {"amount": annual, "currency": currency}}
                if flag(draw):
                    point["monthly"] = {"amount": round(annual / 12), "currency": currency}
                if name == "baseline":
                    _put(
                        point,
                        "as_of",
                        _maybe(draw, dates_between(start - dt.timedelta(days=400), last_day).map(dt.date.isoformat)),
                    )
                else:
                    _put(point, "by", _maybe(draw, dates_between(start, last_day).map(dt.date.isoformat)))
                    _put(point, "sustain_until", _maybe(draw, dates_between(start, last_day).map(dt.date.isoformat)))
                revenue[name] = point
            goals["revenue"] = revenue
        items = []
        for ident in draw(unique_ids(0, 3)):
            goal: dict[str, Any] = {"id": ident, "title": draw(lines())}
            _put(goal, "text", _maybe(draw, texts()))
            _put(goal, "due", _maybe(draw, dates_between(start, last_day).map(dt.date.isoformat)))
            items.append(goal)
        if items or flag(draw):
            goals["items"] = items
        data["goals"] = goals

    ctx = {
        "parties": party_ids,
        "start": start,
        "end": last_day,
        "definitions": definition_ids,
        "calendars": [c["id"] for c in calendars],
    }
    commitment_ids = draw(unique_ids(1, 2 if small else 5))
    data["commitments"] = [draw(commitment(ident, ctx)) for ident in commitment_ids]

    meetings = []
    for ident in draw(unique_ids(0, 0 if small else 2)):
        meeting: dict[str, Any] = {
            "id": ident,
            "title": draw(lines()),
            "cadence": pick(draw, CADENCES),
            "duration": draw(durations()),
            "attendees": draw(
                st.lists(
                    st.sampled_from(list(dict.fromkeys(party_ids + people_ids))), min_size=1, max_size=4, unique=True
                )
            ),
        }
        _put(meeting, "purpose", _maybe(draw, texts()))
        _put(meeting, "agenda", _maybe(draw, st.lists(texts(), max_size=3)))
        meetings.append(meeting)
    if meetings:
        data["meetings"] = meetings

    if flag(draw) and not small:
        comm: dict[str, Any] = {}
        if flag(draw):
            feedback: dict[str, Any] = {"within": draw(durations())}
            if meetings:
                _put(feedback, "resolved_at", _maybe(draw, st.sampled_from([m["id"] for m in meetings])))
            _put(feedback, "text", _maybe(draw, texts()))
            comm["feedback"] = feedback
        channels = [{"id": i, "name": draw(lines()), "used_for": draw(texts())} for i in draw(unique_ids(0, 2))]
        if channels:
            comm["channels"] = channels
        boards = []
        for i in draw(unique_ids(0, 2)):
            board: dict[str, Any] = {"id": i, "name": draw(lines()), "refresh": pick(draw, CADENCES)}
            _put(board, "text", _maybe(draw, texts()))
            boards.append(board)
        if boards:
            comm["dashboards"] = boards
        data["communication"] = comm

    if people_ids and flag(draw):
        conflict: dict[str, Any] = {
            "panel": draw(st.lists(st.sampled_from(people_ids), min_size=1, max_size=3, unique=True)),
            "time_per_side": draw(durations()),
            "binding": flag(draw),
        }
        if flag(draw):
            arbiter: dict[str, Any] = {"role": draw(lines()), "when": draw(texts())}
            _put(arbiter, "stakeholder", _maybe(draw, st.sampled_from(people_ids)))
            conflict["sole_arbiter"] = arbiter
        _put(conflict, "process", _maybe(draw, texts()))
        data["conflict_resolution"] = conflict

    rewards = []
    for ident in draw(unique_ids(0, 0 if small else 2)):
        reward: dict[str, Any] = {
            "id": ident,
            "title": draw(lines()),
            "condition": draw(texts()),
            "reward": draw(texts()),
        }
        _put(reward, "period", _maybe(draw, st.sampled_from(PERIODS)))
        _put(reward, "pool", _maybe(draw, money()))
        rewards.append(reward)
    if rewards:
        data["rewards"] = rewards

    steps = draw(unique_ids(0, 0 if small else 3))
    if steps:
        days = sorted(draw(st.lists(st.integers(1, 400), min_size=len(steps), max_size=len(steps), unique=True)))
        data["escalation"] = [
            {
                "id": i,
                "after": f"{d // 7} weeks" if d % 7 == 0 and flag(draw) else f"{d} days",
                "actions": draw(st.lists(texts(), min_size=1, max_size=2)),
            }
            for i, d in zip(steps, days)
        ]
    penalties = []
    for ident in draw(unique_ids(0, 0 if small else 2)):
        penalty: dict[str, Any] = {
            "id": ident,
            "title": draw(lines()),
            "when": draw(texts()),
            "consequence": draw(texts()),
        }
        _put(penalty, "applies_to", _maybe(draw, st.sampled_from(commitment_ids)))
        penalties.append(penalty)
    if penalties:
        data["penalties"] = penalties

    data["signoff"] = draw(signoff(data))
    return data


@st.composite
def signoff(draw: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Required signers drawn from the stakeholders (or anyone, with everyone: true), and
    signatures: for an active agreement a current one from every required signer."""
    people = data.get("stakeholders", [])
    party_ids = [p["id"] for p in data["parties"]]
    everyone = flag(draw)
    taken = {s["name"] for s in people}
    outsiders = iter(draw(st.lists(lines().filter(lambda n: n not in taken), min_size=4, max_size=4, unique=True)))
    required, plan, signers_used = [], [], set()
    for ident in draw(unique_ids(1, 3)):
        party = pick(draw, party_ids)
        members = [s for s in people if s["party"] == party and s["name"] not in signers_used]
        signer: dict[str, Any] = {"id": ident, "role": "", "party": party}
        name = None
        if members and (not everyone or flag(draw)):
            person = pick(draw, members)
            name = person["name"]
            signer["role"] = person["role"] if flag(draw) else draw(lines())
            # A person signs only in a role the agreement gives them: theirs, or this one by name.
            if signer["role"] != person["role"] or flag(draw):
                signer["stakeholder"] = person["id"]
        else:
            signer["role"] = draw(lines())
            if everyone:
                name = next(outsiders)
        if name is not None:
            signers_used.add(name)
        required.append(signer)
        plan.append(name)
    if data["status"] == "active" and None in plan:
        everyone = True  # an active agreement is signed by all: team members sign then
        plan = [name if name is not None else next(outsiders) for name in plan]
    # Signers who are not stakeholders are members of their party (only listed people sign).
    stakeholder_names = {s["name"] for s in people}
    for signer, name in zip(required, plan):
        if name is not None and name not in stakeholder_names:
            party = next(p for p in data["parties"] if p["id"] == signer["party"])
            email = f"member{len(party.get('members', []))}.{signer['party']}@example.com"
            party.setdefault("members", []).append({"name": name, "email": email, "role": signer["role"]})
    result: dict[str, Any] = {"required": required}
    if everyone or flag(draw):
        result["everyone"] = everyone
    data = {**data, "signoff": result}
    digest = terms_digest(data)
    signatures = []
    effective = dt.date.fromisoformat(data["effective"])
    for signer, name in zip(required, plan):
        if name is None or effective > TODAY:
            continue  # nobody signs before the agreement's first version takes effect
        if data["status"] != "active" and not flag(draw):
            continue
        current = data["status"] == "active" or flag(draw)
        signatures.append(
            {
                "name": name,
                "role": signer["role"],
                "party": signer["party"],
                "date": draw(dates_between(effective, TODAY)).isoformat(),
                "terms": digest if current else "sha256:" + "0" * 63 + "1",
            }
        )
    if signatures or flag(draw):
        result["signatures"] = signatures
    return result


# -- id-keyed lists: reordering and finding items --------------------------------------------------


def keyed_lists(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """(path, key) of every list in `data` whose items are identified by a key (id, or signatures' name)."""
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            found += keyed_lists(v, path + (k,))
    elif isinstance(data, list):
        key = "name" if path[-2:] == ("signoff", "signatures") else "id"
        if data and all(isinstance(i, dict) and key in i for i in data):
            found.append((path, key))
        for i, v in enumerate(data):
            found += keyed_lists(v, path + (i,))
    return found


# Lists whose order is itself a rule (validate: escalation steps in the order they happen,
# stepped-target steps earliest first): shuffling them makes the agreement invalid.
ORDERED = {("escalation",), ("commitments", "*", "stepped_target", "steps")}


def reorder_keyed(data: dict[str, Any], seed: int) -> dict[str, Any]:
    """The same agreement with every id-keyed list shuffled (except the ORDERED ones)."""
    rng = random.Random(seed)
    copy_ = copy.deepcopy(data)

    def walk(node: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, path + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            items = [walk(v, path + ("*",)) for v in node]
            key = "name" if path[-2:] == ("signoff", "signatures") else "id"
            if items and path not in ORDERED and all(isinstance(i, dict) and key in i for i in items):
                rng.shuffle(items)
            return items
        return node

    return walk(copy_, ())


# -- revisions: valid edits of a valid agreement -----------------------------------------------------


@st.composite
def revisions(draw: Any, data: dict[str, Any], keep_context: bool = True) -> dict[str, Any]:
    """A valid later version of `data`: figures, titles and texts changed, commitments added or
    removed, lists reordered, status and version bumped. With `keep_context`, no kept commitment
    changes its party nor a target its `better` (the context a change's effect is judged in)."""
    new = copy.deepcopy(data)
    start = dt.date.fromisoformat(new["effective"])
    end = dt.date.fromisoformat(new["term"]["end"]) if "end" in new["term"] else start + dt.timedelta(days=1500)
    party_ids = [p["id"] for p in new["parties"]]
    edits = draw(
        st.lists(
            st.sampled_from(
                [
                    "title",
                    "summary",
                    "figure",
                    "add-commitment",
                    "remove-commitment",
                    "commitment-title",
                    "party-name",
                    "stakeholder-role",
                    "status",
                    "version",
                    "reorder",
                    "definition",
                    "meeting",
                    "steps",
                ]
            ),
            min_size=1,
            max_size=4,
        )
    )
    for edit in edits:
        commitments = new["commitments"]
        if edit == "title":
            new["title"] = draw(lines())
        elif edit == "summary":
            if "summary" in new and flag(draw):
                del new["summary"]
            else:
                new["summary"] = draw(texts())
        elif edit == "commitment-title":
            pick(draw, commitments)["title"] = draw(lines())
        elif edit == "party-name":
            pick(draw, new["parties"])["name"] = draw(lines())
        elif edit == "stakeholder-role" and new.get("stakeholders"):
            pick(draw, new["stakeholders"])["role"] = draw(lines())
        elif edit == "status":
            new["status"] = pick(draw, ["draft", "active", "retired"])
        elif edit == "version":
            new["version"] = draw(st.integers(0, 99))
        elif edit == "reorder":
            new = reorder_keyed(new, draw(st.integers(0, 2**32)))
        elif edit == "add-commitment":
            taken = {c["id"] for c in commitments}
            ident = draw(slugs.filter(lambda s, taken=taken: s not in taken))
            ctx = {
                "parties": party_ids,
                "start": start,
                "end": end,
                "calendars": [c["id"] for c in new.get("calendars", [])],
                "definitions": [d["id"] for d in new.get("definitions", [])],
            }
            commitments.insert(draw(st.integers(0, len(commitments))), draw(commitment(ident, ctx)))
        elif edit == "remove-commitment" and len(commitments) > 1:
            used = {p.get("applies_to") for p in new.get("penalties", [])}
            removable = [c for c in commitments if c["id"] not in used]
            if removable:
                commitments.remove(pick(draw, removable))
        elif edit == "definition" and new.get("definitions"):
            pick(draw, new["definitions"])["meaning"] = draw(texts())
        elif edit == "meeting" and new.get("meetings"):
            pick(draw, new["meetings"])["duration"] = draw(durations())
        elif edit == "steps":
            c = pick(draw, commitments)
            c["stepped_target"] = draw(stepped_target(start, end))
            if keep_context and "stepped_target" in data_commitment(data, c["id"]):
                c["stepped_target"]["better"] = data_commitment(data, c["id"])["stepped_target"]["better"]
                _sort_steps(c["stepped_target"])
        elif edit == "figure":
            _change_figure(draw, new, keep_context)
    if not keep_context:
        for c in new["commitments"]:
            if flag(draw):
                c["party"] = pick(draw, party_ids)
    _refresh_signatures(new, data)
    return new


def data_commitment(data: dict[str, Any], ident: str) -> dict[str, Any]:
    return next((c for c in data["commitments"] if c["id"] == ident), {})


def _sort_steps(target: dict[str, Any]) -> None:
    """Values put back in the target's own direction (the dates stay in order)."""
    figures = [target["baseline"]] + [s["value"] for s in target["steps"]]
    ordered = sorted(figures, key=magnitude_by_spec, reverse=target["better"] == "lower")
    target["baseline"] = ordered[0]
    for step, value in zip(target["steps"], ordered[1:]):
        step["value"] = value


def _change_figure(draw: Any, data: dict[str, Any], keep_context: bool) -> None:
    c = pick(draw, data["commitments"])
    options = [
        k for k in ("lead_volume", "lead_value", "pipeline_share", "follow_up", "touch_cadence", "measure") if k in c
    ]
    if not options:
        c["lead_volume"] = {"count": draw(st.integers(0, 5000)), "per": pick(draw, PERIODS)}
        return
    block = pick(draw, options)
    if block == "lead_volume" and "lead_value" in c:
        block = "lead_value"  # its count follows the leads planned per source, changed below
    if block == "lead_volume":
        c[block]["count"] = draw(st.integers(0, 5000))
    elif block == "lead_value":
        source = pick(draw, c[block]["sources"])
        source["planned"] = draw(st.integers(0, 2000))
        total = sum(
            (Decimal(str(s["value_per_lead"]["amount"])) * s["planned"] for s in c[block]["sources"]), Decimal(0)
        )
        c[block]["total"]["amount"] = int(total) if total == total.to_integral_value() else float(total)
        if "lead_volume" in c:
            c["lead_volume"]["count"] = sum(s["planned"] for s in c[block]["sources"])
    elif block == "pipeline_share":
        c[block]["share"] = percent_text(draw(percent_values()))
    elif block == "follow_up":
        c[block]["response_time"] = draw(durations(business="calendar" in c[block]))
    elif block == "touch_cadence":
        touch = pick(draw, c[block]["touches"])
        touch["count"] = draw(st.integers(1, 20))
        touch["within"] = draw(durations())
    else:
        c[block]["target"] = draw(quantities().filter(not_a_fraction))
        if not keep_context:
            c[block]["better"] = pick(draw, ["higher", "lower"])


def _refresh_signatures(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Signatures carried over unchanged; an active revision is signed again where the terms changed
    (as people do before the change lands), unless it stays a draft or is retired."""
    if new["status"] != "active":
        return
    # An active revision must have every required signature current: re-sign all of them.
    digest = terms_digest(new)
    if digest == terms_digest(old):
        return
    for sig in new["signoff"].get("signatures", []):
        sig["terms"] = digest


# -- invalid mutations --------------------------------------------------------------------------------

REF_SITES = [
    (("commitments", "*", "party"), "parties"),
    (("commitments", "*", "to"), "parties"),
    (("stakeholders", "*", "party"), "parties"),
    (("parties", "*", "leader"), "stakeholders"),
    (("signoff", "required", "*", "party"), "parties"),
    (("penalties", "*", "applies_to"), "commitments"),
    (("meetings", "*", "attendees", "*"), "parties|stakeholders"),
    (("conflict_resolution", "panel", "*"), "stakeholders"),
    (("commitments", "*", "lead_volume", "qualifies_as"), "definitions"),
    (("commitments", "*", "follow_up", "calendar"), "calendars"),
    (("communication", "feedback", "resolved_at"), "meetings"),
]


def find_paths(data: Any, pattern: tuple[Any, ...], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if not pattern:
        return [prefix]
    step, rest = pattern[0], pattern[1:]
    if step == "*":
        return (
            [p for i, v in enumerate(data) for p in find_paths(v, rest, prefix + (i,))]
            if isinstance(data, list)
            else []
        )
    if isinstance(data, dict) and step in data:
        return find_paths(data[step], rest, prefix + (step,))
    return []


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def put(data: Any, path: tuple[Any, ...], value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def all_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every value's path (not the root)."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append(prefix + (k,))
            out += all_paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append(prefix + (i,))
            out += all_paths(v, prefix + (i,))
    return out


def pointer(path: tuple[Any, ...]) -> str:
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in path)


@dataclass
class Mutation:
    kind: str
    data: dict[str, Any]
    rule: str | None = None  # the rule that must report it (None: only "some error")
    at: tuple[Any, ...] | None = None  # where it must be reported


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "id", "name", "amount"]), st.integers(), max_size=2),
    st.just([["nested"]]),
    st.just({"id": ["x"]}),
)
BAD_STRINGS = st.one_of(
    st.just(""),
    st.just("   "),
    st.just("two\nlines"),
    st.just("x" * 5001),
    st.just("y" * 201),
    st.just("2026-02-30"),
    st.just("2026-1-1"),
    st.just("Mars/Olympus"),
    st.just("35 %"),
    st.just("0 days"),
    st.just("UPPER-Case"),
    st.just("sha256:xyz"),
    st.sampled_from(HOSTILE),
)


@st.composite
def mutations(draw: Any, data: dict[str, Any]) -> Mutation:
    """An invalid variant of a valid agreement, and the rule and place that must report it."""
    new = copy.deepcopy(data)
    kind = pick(
        draw,
        [
            "delete",
            "retype",
            "unknown-field",
            "bad-string",
            "dangling-ref",
            "broken-sum",
            "duplicate-id",
            "steps-order",
            "date-outside",
            "revenue",
        ],
    )
    if kind == "delete":
        path = pick(draw, all_paths(new))
        parent = get(new, path[:-1])
        del parent[path[-1]]
        return Mutation(kind, new)
    if kind == "retype":
        path = pick(draw, all_paths(new))
        put(new, path, draw(ODD_VALUES))
        return Mutation(kind, new)
    if kind == "unknown-field":
        maps = [()] + [p for p in all_paths(new) if isinstance(get(new, p), dict)]
        path = pick(draw, maps)
        name = pick(draw, ["colour", "titel", "extra_field", "x-note", "Id", "<script>", "ünïcode", "1"])
        target = get(new, path)
        if name in target:
            return Mutation(kind, new)
        target[name] = draw(ODD_VALUES)
        return Mutation(kind, new, "schema", path + (name,))
    if kind == "bad-string":
        strings = [p for p in all_paths(new) if isinstance(get(new, p), str)]
        put(new, pick(draw, strings), draw(BAD_STRINGS))
        return Mutation(kind, new)
    if kind == "dangling-ref":
        sites = [p for pattern, _ in REF_SITES for p in find_paths(new, pattern)]
        if not sites:
            return Mutation("delete-parties", {k: v for k, v in new.items() if k != "parties"}, "schema", ())
        path = pick(draw, sites)
        put(new, path, "ghost-" + pick(draw, ["x", "sales", "marketing", "q"]))
        return Mutation(kind, new, "ref", path)
    if kind == "broken-sum":
        sites = find_paths(new, ("commitments", "*", "lead_value", "total", "amount"))
        if not sites:
            return Mutation("delete-commitments", {k: v for k, v in new.items() if k != "commitments"}, "schema", ())
        path = pick(draw, sites)
        put(new, path, get(new, path) + pick(draw, [1, 0.01, 1000]))
        return Mutation(kind, new, "sum", path)
    if kind == "revenue":
        sites = find_paths(new, ("goals", "revenue", "*"))
        sites = [p for p in (("goals", "revenue", "baseline"), ("goals", "revenue", "target")) if find_paths(new, p)]
        if not sites:
            new["version"] = -1
            return Mutation("negative-version", new, "schema", ("version",))
        point = get(new, pick(draw, sites))
        point["monthly"] = {"amount": point["annual"]["amount"] / 6, "currency": point["annual"]["currency"]}
        return Mutation(kind, new, "sum")
    if kind == "duplicate-id":
        lists = [(p, k) for p, k in keyed_lists(new) if len(get(new, p)) >= 2]
        if not lists:
            new["commitments"].append(copy.deepcopy(new["commitments"][0]))
            return Mutation(kind, new, "unique", ("commitments", len(new["commitments"]) - 1, "id"))
        path, key = pick(draw, lists)
        items = get(new, path)
        i, j = sorted(draw(st.lists(st.integers(0, len(items) - 1), min_size=2, max_size=2, unique=True)))
        items[j][key] = items[i][key]
        return Mutation(kind, new, "unique", path + (j, key))
    if kind == "steps-order":
        targets = [p for p in find_paths(new, ("commitments", "*", "stepped_target")) if len(get(new, p)["steps"]) >= 2]
        if not targets:
            new["effective"] = "2026-13-01"
            return Mutation("bad-date", new, "schema", ("effective",))
        steps = get(new, pick(draw, targets))["steps"]
        steps[0]["by"], steps[-1]["by"] = steps[-1]["by"], steps[0]["by"]
        return Mutation(kind, new, "steps")
    # date-outside
    sites = [
        p
        for pattern in (("goals", "items", "*", "due"), ("commitments", "*", "stepped_target", "steps", "*", "by"))
        for p in find_paths(new, pattern)
    ]
    if not sites:
        new["term"]["end"] = new["effective"]
        return Mutation("end-before-start", new, "dates", ("term", "end"))
    path = pick(draw, sites)
    put(new, path, (dt.date.fromisoformat(new["effective"]) - dt.timedelta(days=1)).isoformat())
    return Mutation(kind, new, "dates")


# -- writing YAML --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """One way of writing an agreement as YAML. Every style gives the same data."""

    indent: int = 2
    indentless: bool = False  # list items at the key's column ("key:\n- a")
    quoting: str = "mixed"  # plain | single | double | mixed
    flow: bool = False  # small mappings and lists of scalars on one line
    comments: bool = False
    shuffle: int | None = None  # seed for key order; None keeps the order given
    crlf: bool = False
    start: bool = False  # a leading '---'
    literal: bool = False  # multi-line text as |- blocks where exact


DEFAULT = Style()
styles = st.builds(
    Style,
    indent=st.sampled_from([2, 3, 4]),
    indentless=st.booleans(),
    quoting=st.sampled_from(["plain", "single", "double", "mixed"]),
    flow=st.booleans(),
    comments=st.booleans(),
    shuffle=st.one_of(st.none(), st.integers(0, 2**32)),
    crlf=st.booleans(),
    start=st.booleans(),
    literal=st.booleans(),
)

# YAML 1.1 printable characters (libyaml rejects the rest raw), less its extra line breaks and the BOM.
_RAW_OK = re.compile("[\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_PLAIN = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9 ,.()/'+\-]*[A-Za-z0-9.)]|[A-Za-z]|\d+(?:\.\d+)? [a-z ]*[a-z]|\d+(?:\.\d+)?%"
    r"|\d{4}-\d\d-\d\d|[a-z0-9]*[a-z][a-z0-9]*(?:-[a-z0-9]+)*)$"
)
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", "nan", "inf"}


def _double(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif _RAW_OK.match(ch):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _plain_ok(text: str, flow: bool) -> bool:
    return (
        bool(_PLAIN.match(text))
        and text.lower() not in _RESERVED
        and "  " not in text
        and not (flow and "," in text)
        and not re.match(r"^[0-9a-fA-Fx.oe_+-]+$", text)
    )


def scalar(value: Any, style: Style, rng: random.Random, flow: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    quoting = style.quoting if style.quoting != "mixed" else rng.choice(["plain", "single", "double"])
    if quoting == "plain" and _plain_ok(text, flow):
        return text
    if quoting in ("plain", "single") and text and all(_RAW_OK.match(ch) and ch != "\t" for ch in text):
        return "'" + text.replace("'", "''") + "'"
    return _double(text)


def _literal_ok(text: str) -> bool:
    body = text.split("\n")
    return (
        "\n" in text
        and not text.endswith("\n")
        and not text[0].isspace()
        and all(_RAW_OK.match(ch) and ch != "\t" for ch in text.replace("\n", ""))
        and all(line == "" or (line.strip() and line == line.rstrip()) for line in body)
    )


def _keys(node: dict[str, Any], style: Style, rng: random.Random) -> list[str]:
    keys = list(node)
    if style.shuffle is not None:
        rng.shuffle(keys)
    return keys


def _is_small(value: Any) -> bool:
    if isinstance(value, dict):
        return 0 < len(value) <= 4 and all(not isinstance(v, (dict, list)) for v in value.values())
    if isinstance(value, list):
        return 0 < len(value) <= 6 and all(not isinstance(v, (dict, list)) for v in value)
    return False


def _flow(value: Any, style: Style, rng: random.Random) -> str:
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{_key(k)}: {scalar(v, style, rng, flow=True)}"
                for k, v in ((k, value[k]) for k in _keys(value, style, rng))
            )
            + "}"
        )
    return "[" + ", ".join(scalar(v, style, rng, flow=True) for v in value) + "]"


def _key(key: Any) -> str:
    return (
        key
        if isinstance(key, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) and key.lower() not in _RESERVED
        else _double(str(key))
    )


COMMENTS = ["# note", "#", "# <b>not markup</b>", "# key: value", "# - item", "# ünïcödé 🎉", "# TODO: review"]


def _block(value: Any, indent: int, style: Style, rng: random.Random) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for k in _keys(value, style, rng):
            v = value[k]
            if style.comments and rng.random() < 0.15:
                out.append(pad + rng.choice(COMMENTS))
            head = f"{pad}{_key(k)}:"
            if isinstance(v, (dict, list)) and not v:
                out.append(f"{head} {'{}' if isinstance(v, dict) else '[]'}")
            elif isinstance(v, (dict, list)) and style.flow and _is_small(v) and rng.random() < 0.5:
                out.append(f"{head} {_flow(v, style, rng)}")
            elif isinstance(v, dict):
                out.append(head)
                out += _block(v, indent + style.indent, style, rng)
            elif isinstance(v, list):
                out.append(head)
                out += _block(v, indent if style.indentless else indent + style.indent, style, rng)
            elif isinstance(v, str) and style.literal and _literal_ok(v):
                out.append(f"{head} |-")
                out += [(pad + " " * style.indent + line) if line else "" for line in v.split("\n")]
            else:
                text = scalar(v, style, rng)
                tail = f"  {rng.choice(COMMENTS)}" if style.comments and rng.random() < 0.1 else ""
                out.append(f"{head} {text}{tail}")
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _block(item, indent + 2, style, rng)
                first = next(i for i, line in enumerate(inner) if not line.lstrip().startswith("#"))
                inner[first] = pad + "- " + inner[first][indent + 2 :]
                out += inner
            elif isinstance(item, (dict, list)):
                out.append(f"{pad}- {'{}' if isinstance(item, dict) else '[]'}")
            else:
                out.append(f"{pad}- {scalar(item, style, rng)}")
    return out


def to_yaml(data: Any, style: Style = DEFAULT) -> str:
    """`data` written as YAML in `style`; loading it gives `data` back."""
    rng = random.Random(style.shuffle if style.shuffle is not None else 0)
    lines_ = ["# yaml-language-server: $schema=../schema/sla.schema.json"]
    if style.start:
        lines_.append("---")
    lines_ += _block(data, 0, style, rng)
    newline = "\r\n" if style.crlf else "\n"
    return newline.join(lines_) + newline
