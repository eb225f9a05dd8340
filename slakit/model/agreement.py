"""The typed agreement: built once from validated data, read by every later stage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .dates import parse_date
from .figures import Duration, Money, Percentage, parse_duration, parse_percent
from .funnel import Funnel, FunnelPlan, amount, monthly, plan, term_end
from .plans import LeadValuePlan, RevenuePlan
from .review import ReviewSchedule
from .targets import Target
from .terms import Check, SignatureState, remembered_models, signature_state

if TYPE_CHECKING:  # imported where calendars are built: numpy is not needed to compare or digest
    from .calendar import Calendar

# The typed block a commitment carries decides its kind (None: a commitment in words only).
KINDS = (
    "lead_volume",
    "lead_value",
    "pipeline_share",
    "follow_up",
    "touch_cadence",
    "measure",
    "stepped_target",
    "reporting",
)

# What building the model from data that failed checking may raise. The model trusts data that
# passed (each reference resolves, each id is unique) and looks things up directly; a reader of
# such data (a diff of a version that breaks rules, the history, a rule) catches these.
MALFORMED: tuple[type[Exception], ...] = (
    TypeError,
    AttributeError,
    KeyError,
    ValueError,
    AssertionError,
    ArithmeticError,
    IndexError,
)


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    description: str | None = None
    leader: str | None = None


@dataclass(frozen=True)
class Stakeholder:
    id: str
    name: str
    role: str
    party: str
    email: str | None = None  # the contact address when it is an e-mail address

    def label(self) -> str:
        return f"{self.name} ({self.role})"


@dataclass(frozen=True)
class Definition:
    id: str
    term: str
    meaning: str
    abbreviation: str | None = None

    @property
    def label(self) -> str:
        return self.term + (f" ({self.abbreviation})" if self.abbreviation else "")


@dataclass(frozen=True)
class FollowUp:
    response_time: Duration
    calendar: str | None
    after_hours: str | None
    clock_starts: str
    exclusions: tuple[str, ...] = ()  # in words, for people
    exclude_sources: tuple[str, ...] = ()  # lead-source ids the scorecard leaves out
    objective: Percentage = field(default_factory=lambda: Percentage(Decimal(100)))  # share of leads on time


@dataclass(frozen=True)
class Commitment:
    """One party's promise. It may carry several typed blocks (lead volume and lead value,
    say); `kind` is the first of them in schema order, `kinds` all of them, and `targets`
    the measurable figure of each block that has one."""

    id: str
    party: str
    title: str
    to: str | None
    category: str | None
    text: str | None
    kinds: tuple[str, ...]  # lead_volume | lead_value | ... (the typed blocks it carries), () for words only
    targets: dict[str, Target] = field(compare=False)
    blocks: dict[str, dict[str, Any]] = field(compare=False, repr=False)  # each typed block as written
    lead_value: LeadValuePlan | None = None
    follow_up: FollowUp | None = None
    measured_as: str | None = None  # close-rate | sales-cycle, for a stepped target the scorecard computes

    @property
    def kind(self) -> str | None:
        return self.kinds[0] if self.kinds else None

    @property
    def target(self) -> Target | None:
        """The target of the first block that has one."""
        return next((self.targets[k] for k in self.kinds if k in self.targets), None)


@dataclass(frozen=True)
class EscalationStep:
    id: str
    after: Duration
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Reward:
    id: str
    title: str
    condition: str
    period: str | None
    pool: Money | None
    earned_when: tuple[str, ...] = ()  # every-target-met | revenue-on-goal: what the scorecard checks


@dataclass(frozen=True)
class Agreement:
    id: str
    title: str
    kind: str
    status: str
    version: str
    effective: dt.date
    end: dt.date | None
    timezone: str
    calendars: tuple[Calendar, ...]
    parties: tuple[Party, ...]
    stakeholders: tuple[Stakeholder, ...]
    definitions: tuple[Definition, ...]
    commitments: tuple[Commitment, ...]
    review: ReviewSchedule
    revenue: RevenuePlan | None
    funnel: Funnel | None
    escalation: tuple[EscalationStep, ...]
    rewards: tuple[Reward, ...]
    signoff: SignatureState
    data: dict[str, Any] = field(compare=False, repr=False)  # the validated data it was built from

    @classmethod
    def from_data(
        cls,
        data: dict[str, Any],
        rosters: Mapping[str, Sequence[dict[str, Any]]] | None = None,
        checks: Mapping[int, Check] | None = None,
    ) -> Agreement:
        """The typed agreement; `data` must have passed schema validation. `rosters` and
        `checks` are what was found outside the file about its sign-off (see signature_state).
        Inside `remembering_digests` the rest is built once per document."""
        models = remembered_models()
        known = models.get(id(data)) if models is not None else None
        if known is not None and known[0] is data:
            built: Agreement = known[1]
        else:
            built = cls._build(data)
            if models is not None:
                models[id(data)] = (data, built)
        if rosters is None and checks is None:
            return built
        signed = replace(built, signoff=signature_state(data, rosters, checks))
        # Only the sign-off differs: what was derived from the terms (the funnel plan the
        # checks worked out, the lookups) holds for this one too.
        for name in _DERIVED:
            if name in built.__dict__:
                signed.__dict__[name] = built.__dict__[name]
        return signed

    @classmethod
    def _build(cls, data: dict[str, Any]) -> Agreement:
        term = data["term"]
        goals = data.get("goals") or {}
        commitments = tuple(_commitment(c) for c in data["commitments"])
        targets = {c.id: c.target for c in commitments if c.target is not None}
        return cls(
            id=data["id"],
            title=data["title"],
            kind=data["kind"],
            status=data["status"],
            version=str(data["version"]),
            effective=_date(data["effective"]),
            end=parse_date(term.get("end")),
            timezone=data["timezone"],
            calendars=_calendars(data),
            parties=tuple(Party(p["id"], p["name"], p.get("description"), p.get("leader")) for p in data["parties"]),
            stakeholders=tuple(_stakeholder(s) for s in data.get("stakeholders") or []),
            definitions=tuple(
                Definition(d["id"], d["term"], d["meaning"], d.get("abbreviation"))
                for d in data.get("definitions") or []
            ),
            commitments=commitments,
            review=ReviewSchedule.from_data(data),
            revenue=RevenuePlan.from_data(goals["revenue"]) if goals.get("revenue") else None,
            funnel=Funnel.from_data(goals["funnel"], targets) if goals.get("funnel") else None,
            escalation=tuple(
                EscalationStep(e["id"], _duration(e["after"]), tuple(e["actions"]))
                for e in data.get("escalation") or []
            ),
            rewards=tuple(
                Reward(
                    r["id"],
                    r["title"],
                    r["condition"],
                    r.get("period"),
                    Money.from_data(r["pool"]) if r.get("pool") else None,
                    tuple(r.get("earned_when") or ()),
                )
                for r in data.get("rewards") or []
            ),
            signoff=signature_state(data, None, None),
            data=data,
        )

    @property
    def retired(self) -> bool:
        return self.status == "retired"

    def party_name(self, ident: str) -> str:
        return next((p.name for p in self.parties if p.id == ident), ident)

    def party_names(self) -> dict[str, str]:
        return party_names(self.data)

    def who(self, ident: str) -> str:
        """A party or stakeholder id -> the name people know it by."""
        person = next((s for s in self.stakeholders if s.id == ident), None)
        if person is not None:
            return person.label()
        party = next((p for p in self.parties if p.id == ident), None)
        return f"all of {party.name}" if party else ident

    def calendar(self, ident: str | None) -> Calendar | None:
        return next((c for c in self.calendars if c.id == ident), None)

    def commitment(self, ident: str) -> Commitment | None:
        return self._commitments_by_id.get(ident)

    @cached_property
    def lead_sources(self) -> dict[str, str]:
        """The lead sources the commitments value, id -> name (the first one named, in order)."""
        found: dict[str, str] = {}
        for c in self.commitments:
            for row in c.lead_value.rows if c.lead_value else ():
                found.setdefault(row.id, row.name)
        return found

    @cached_property
    def _commitments_by_id(self) -> dict[str, Commitment]:
        """Each id's (first) commitment: pages look each commitment up as they list it, and a
        search from the start each time grew with the square of their number."""
        found: dict[str, Commitment] = {}
        for c in self.commitments:
            found.setdefault(c.id, c)
        return found

    def funnel_commitments(self) -> tuple[Commitment | None, Commitment | None]:
        """The commitments whose lead volume and lead value the funnel is compared with:
        the ones it names, else the only one of each kind (None when there is none or several)."""
        funnel = self.funnel
        out = []
        for kind, named in (
            ("lead_volume", funnel and funnel.lead_volume),
            ("lead_value", funnel and funnel.lead_value),
        ):
            carriers = [c for c in self.commitments if kind in c.kinds]
            chosen = self.commitment(named) if named else (carriers[0] if len(carriers) == 1 else None)
            out.append(chosen if chosen is not None and kind in chosen.kinds else None)
        return out[0], out[1]

    def funnel_plan(self, what_if: dict[str, str] | None = None) -> FunnelPlan | None:
        """The month-by-month funnel plan over the term (None without a funnel or revenue goal);
        `what_if` replaces figures for the whole plan ({"close_rate": "40%"}), ValueError if
        one is not accepted."""
        return self._plan(what_if) if what_if else self._funnel_plan

    @cached_property
    def _funnel_plan(self) -> FunnelPlan | None:
        """The plan as the agreement states it, worked out once: the funnel rule checks it,
        the page shows it."""
        return self._plan(None)

    def _plan(self, what_if: dict[str, str] | None) -> FunnelPlan | None:
        if self.funnel is None or self.revenue is None:
            return None
        funnel = self.funnel
        volume, value = self.funnel_commitments()
        mqls = (
            monthly(Decimal(volume.blocks["lead_volume"]["count"]), volume.blocks["lead_volume"]["per"])
            if volume
            else None
        )
        lead_value = None
        if value is not None and value.lead_value is not None:
            per_month = monthly(value.lead_value.stated_total.amount, value.lead_value.per)
            lead_value = Money(per_month, value.lead_value.stated_total.currency) if per_month is not None else None
        for name, text in (what_if or {}).items():
            if name == "mqls":
                mqls = amount(name, text, whole=True)
            elif name == "lead_value":
                lead_value = Money(amount(name, text), funnel.deal_size.currency)
            else:
                funnel = funnel.what_if(name, text)
        return plan(funnel, self.revenue, self.effective, term_end(self.effective, self.end), mqls, lead_value)

    def signoff_summary(self) -> str:
        return self.signoff.summary(self.retired)

    def banner(self) -> str | None:
        """What the page of an active agreement whose sign-off is not complete says at the
        top (an amendment in progress, most often), or None."""
        state = self.signoff
        if self.status != "active" or state.complete:
            return None
        lead = "Changed since signed" if state.amended else "Not signed by all"
        names = state.awaiting()
        shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        return f"{lead}: awaiting {state.missing} signature{'s' * (state.missing != 1)} ({shown})"


# What an agreement works out from its terms once and keeps (cached properties): the same
# for the agreement with the sign-off found outside the file (`from_data`).
_DERIVED = ("_funnel_plan", "_commitments_by_id", "lead_sources")


def party_names(*documents: Any) -> dict[str, str]:
    """Party id -> name over the documents given (later ones win), read defensively: history
    and diffs read versions that may break the schema."""
    names: dict[str, str] = {}
    for doc in documents:
        parties = doc.get("parties") if isinstance(doc, dict) else None
        for party in parties if isinstance(parties, list) else []:
            if isinstance(party, dict) and isinstance(party.get("id"), str) and isinstance(party.get("name"), str):
                names[party["id"]] = party["name"]
    return names


def _date(value: Any) -> dt.date:
    day = parse_date(value)
    assert day is not None, value
    return day


def _duration(value: Any) -> Duration:
    duration = parse_duration(value)
    assert duration is not None, value
    return duration


def _stakeholder(s: dict[str, Any]) -> Stakeholder:
    contact = s.get("contact") or {}
    address = contact.get("address")
    email = address if isinstance(address, str) and "@" in address and " " not in address else None
    return Stakeholder(s["id"], s["name"], s["role"], s["party"], email)


def _commitment(c: dict[str, Any]) -> Commitment:
    kinds = tuple(k for k in KINDS if isinstance(c.get(k), dict))
    targets: dict[str, Target] = {}
    lead_value = follow_up = None
    for kind in kinds:
        block = c[kind]
        if kind == "lead_volume":
            targets[kind] = Target("Leads", Decimal(block["count"]), "higher", block["per"])
        elif kind == "lead_value":
            lead_value = LeadValuePlan.from_data(block)
            targets[kind] = Target("Lead value", lead_value.stated_total, "higher", block["per"])
        elif kind == "pipeline_share":
            share = parse_percent(block["share"])
            assert share is not None
            targets[kind] = Target("Share of pipeline", Percentage(share), "higher", "month")
        elif kind == "follow_up":
            follow_up = FollowUp(
                _duration(block["response_time"]),
                block.get("calendar"),
                block.get("after_hours"),
                block["clock_starts"],
                tuple(block.get("exclusions") or ()),
                tuple(block.get("exclude_sources") or ()),
                Percentage(parse_percent(block["objective"]) or Decimal(100))
                if block.get("objective")
                else Percentage(Decimal(100)),
            )
            targets[kind] = Target("Response time", follow_up.response_time, "lower")
        elif kind == "measure":
            targets[kind] = Target.measure(block)
        elif kind == "stepped_target":
            targets[kind] = Target.stepped(block)
    return Commitment(
        c["id"],
        c["party"],
        c["title"],
        c.get("to"),
        c.get("category"),
        c.get("text"),
        kinds,
        targets,
        {k: c[k] for k in kinds},
        lead_value,
        follow_up,
        (c.get("stepped_target") or {}).get("measured_as"),
    )


def _calendars(data: dict[str, Any]) -> tuple[Calendar, ...]:
    """The agreement's calendars (numpy, which they need, is loaded only when there are some)."""
    if not data.get("calendars"):
        return ()
    from .calendar import Calendar

    return tuple(Calendar.from_data(c, data["timezone"]) for c in data["calendars"])
