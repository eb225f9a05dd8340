"""Commitments in contract voice: what a party undertakes, built from the typed model.

"Sales will achieve at least 3 posts shared per rep each week." reads as an undertaking a
leader can sign; the schema's fields ("Target: Posts shared per rep: 3 per week (higher is
better)") read as a specification. Each sentence names the party, the measured target,
the period it is counted over and how it is measured (calendar, when the clock starts,
what is excluded). The commitment's own free text stays beside it as the explanation.

The sentences are plain text: the Markdown templates escape them like any other value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..model.agreement import Agreement, Commitment
from ..model.figures import Percentage, figure, number
from ..model.targets import Target
from .present import AFTER_HOURS_RULE, EVERY, days, long_date, lower_first

EACH = {"day": "each day", "week": "each week", "month": "each month", "quarter": "each quarter", "year": "each year"}
# How a touch on each channel is counted: (one, many).
TOUCHES = {
    "email": ("e-mail", "e-mails"),
    "phone": ("phone call", "phone calls"),
    "social": ("social touch", "social touches"),
    "video": ("video call", "video calls"),
    "meeting": ("meeting", "meetings"),
    "mail": ("letter by post", "letters by post"),
}


def undertaking(agreement: Agreement, ident: str) -> list[list[str]]:
    """The commitment `ident` in contract voice: a paragraph per typed block it carries,
    each the undertaking then how it is measured, one sentence each (empty for a commitment
    in words only: its text says it all)."""
    c = agreement.commitment(ident)
    if c is None:
        return []
    paragraphs = []
    for kind in c.kinds:
        text = _sentences(agreement, c, kind, c.blocks[kind], c.targets.get(kind))
        if text:
            paragraphs.append(text.split("\n"))
    return paragraphs


def _sentences(agreement: Agreement, c: Commitment, kind: str, block: dict[str, Any], target: Target | None) -> str:
    party = agreement.party_name(c.party)
    to = f" to {agreement.party_name(c.to)}" if c.to else ""
    if kind == "lead_volume":
        return _lead_volume(agreement, block, party, to)
    if kind == "lead_value" and c.lead_value is not None:
        plan = c.lead_value
        return (
            f"{party} will deliver at least {plan.stated_total} of lead value{to} {_each(plan.per)}, "
            f"planned by source as set out below."
        )
    if kind == "pipeline_share" and target is not None:
        of = _clause(block.get("of")) or "the new sales pipeline"
        return f"{party} will source at least {target.value} of {of}."
    if kind == "follow_up":
        return _follow_up(agreement, c, party)
    if kind == "touch_cadence":
        return _touches(block, party)
    if kind == "measure" and target is not None:
        return f"{party} will {_reach(target)}."
    if kind == "stepped_target" and target is not None:
        return _stepped(target, party)
    if kind == "reporting":
        via = _clause(block.get("via"))
        until = _clause(block.get("until"))
        return (
            f"{party} will report to {agreement.party_name(str(block.get('to', '')))} "
            f"{EVERY.get(block.get('cadence', ''), block.get('cadence', ''))}"
            + (f" through {via}" if via else "")
            + (f", until {until}" if until else "")
            + "."
        )
    return ""


def _lead_volume(agreement: Agreement, block: dict[str, Any], party: str, to: str) -> str:
    count = number(block.get("count"))
    sentence = f"{party} will deliver at least {count} lead{'s' * (count != '1')}{to} {_each(block.get('per'))}"
    definition = next((d for d in agreement.definitions if d.id == block.get("qualifies_as")), None)
    if definition is not None:
        sentence += f", each one meeting the definition of {lower_first(definition.label)} in this agreement"
    return sentence + "."


def _follow_up(agreement: Agreement, c: Commitment, party: str) -> str:
    fu = c.follow_up
    if fu is None:
        return ""
    who = _clause(c.blocks["follow_up"].get("applies_to")) or "every lead"
    sentences = [f"{party} will make first contact within {fu.response_time} with {who}"]
    calendar = agreement.calendar(fu.calendar)
    if calendar is not None:
        from ..model.calendar import DAYS  # here: loading the calendars' numpy is for agreements that have one

        hours = f"{days([DAYS[d] for d in sorted(calendar.days)])} {calendar.start:%H:%M}–{calendar.end:%H:%M} ({calendar.timezone})"
        sentences[0] += f", counted in {calendar.name}: {hours}"
    sentences[0] += "."
    if fu.after_hours in AFTER_HOURS_RULE:
        if (
            calendar is None
            or not fu.response_time.is_business  # clock time takes no rule (validate warns)
            or calendar.after_hours_rule_applies(fu.response_time, fu.after_hours)
        ):
            sentences.append(AFTER_HOURS_RULE[fu.after_hours])
        else:  # the rule gives less than the time allowed, which then runs from the next opening
            sentences.append(
                f"A lead that arrives outside business hours is contacted within {fu.response_time} "
                "of the opening of the next business day."
            )
    if starts := _clause(fu.clock_starts):
        sentences.append(f"The clock starts {starts}.")
    if fu.exclusions:
        excluded = [lower_first(_clause(e)) for e in fu.exclusions]
        joined = excluded[0] if len(excluded) == 1 else ", ".join(excluded[:-1]) + " or " + excluded[-1]
        sentences.append(f"This does not apply to {joined}.")
    if c.blocks["follow_up"].get("objective"):
        sentences.append(
            f"The commitment is kept in a period when at least {fu.objective} of those leads are contacted in time."
        )
    return "\n".join(sentences)


def _touches(block: dict[str, Any], party: str) -> str:
    parts = []
    for touch in block.get("touches") or []:
        one, many = TOUCHES.get(touch.get("channel"), (touch.get("channel", "touch"),) * 2)
        count = number(touch.get("count"))
        parts.append(f"at least {count} {one if count == '1' else many} within {touch.get('within')}")
    if not parts:
        return f"{party} will keep in touch as set out below."
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    until = _clause(block.get("until"))
    return f"{party} will make {joined}" + (f", until {until}" if until else "") + "."


def _stepped(target: Target, party: str) -> str:
    verb = "raise" if target.better == "higher" else "reduce"
    bound = "at least" if target.better == "higher" else "no more than"
    steps = [f"to {bound} {step.value} by {long_date(step.by)}" for step in target.steps]
    joined = steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " and " + steps[-1]
    start = f" from {target.baseline}" if target.baseline is not None else ""
    return f"{party} will {verb} the {lower_first(target.metric)}{start} {joined}."


def _reach(target: Target) -> str:
    """ "achieve at least 3 posts shared per rep each week", "keep X at 95% or more"."""
    metric = lower_first(target.metric)
    period = f" {_each(target.per)}" if target.per else ""
    higher = target.better == "higher"
    if isinstance(target.value, Decimal) and target.value == 0 and not higher:
        return f"keep {metric} at 0{period}"
    if isinstance(target.value, Decimal):
        bound = "at least" if higher else "no more than"
        return f"achieve {bound} {number(target.value)} {metric}{period}"
    if isinstance(target.value, Percentage):
        metric = f"the share of {metric}"
        if target.value.value == (100 if higher else 0):
            return f"keep {metric} at {target.value}{period}"
    return f"keep {metric} at {figure(target.value)} {'or more' if higher else 'or less'}{period}"


def _each(per: Any) -> str:
    return EACH.get(str(per), f"per {per}")


def _clause(text: Any) -> str:
    """Free text fitted inside a sentence: one line, first letter lower-cased, no final stop."""
    if not isinstance(text, str):
        return ""
    return lower_first(" ".join(text.split()).rstrip(".").strip())
