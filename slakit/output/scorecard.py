"""The scorecard as text (terminal), JSON, CSV, Markdown and a standalone HTML dashboard."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ..measuring.scorecard import (
    IN_PROGRESS,
    INSUFFICIENT,
    MET,
    MISSED,
    NOT_MEASURED,
    PENDING,
    AgreementScore,
    CommitmentScore,
    Scorecard,
)
from ..model.figures import CURRENCY_SIGNS, round_half_up
from .report import printable

STATUS_COLOURS = {MET: "green", MISSED: "red", IN_PROGRESS: "cyan", PENDING: "yellow", INSUFFICIENT: "yellow"}


def _num(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def figure(value: Decimal | None, unit: str) -> str:
    """A figure as people read it: 310 leads, $550,000, 92.5%, 41.2 days."""
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:.1f}%"
    if unit in CURRENCY_SIGNS or (len(unit) == 3 and unit.isupper()):
        sign = CURRENCY_SIGNS.get(unit)
        amount = f"{value:,.0f}"
        return f"{sign}{amount}" if sign else f"{amount} {unit}"
    if unit == "days":
        return f"{value:.1f} days"
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.1f}"


# -- JSON ------------------------------------------------------------------------------------------


def as_data(card: Scorecard) -> dict[str, Any]:
    """The documented JSON shape (README: "slakit score --format json")."""
    return {
        "as_of": card.as_of.isoformat(),
        "period": card.period,
        "inputs": [{"kind": k, "path": p, "sha256": s, "rows": n, "left_out": out} for k, p, s, n, out in card.inputs],
        "agreements": [_agreement(a) for a in card.agreements],
    }


def _agreement(a: AgreementScore) -> dict[str, Any]:
    e = a.escalation
    return {
        "id": a.id,
        "title": a.title,
        "timezone": a.timezone,
        "commitments": [_commitment(c) for c in a.commitments],
        "revenue": _commitment(a.revenue) if a.revenue else None,
        "escalation": {
            "step": e.step,
            "days_missed": e.days_missed,
            "since": e.since.isoformat() if e.since else None,
            "next_step": e.next_step,
            "next_step_on": e.next_step_on.isoformat() if e.next_step_on else None,
            "actions": list(e.actions),
            "timeline": [{"period": p, "status": s} for p, s in e.timeline],
        },
        "rewards": [
            {
                "id": r.id,
                "title": r.title,
                "status": r.status,
                "reason": r.reason,
                "pool": {"amount": _num(r.pool.amount), "currency": r.pool.currency} if r.pool else None,
                "periods": [{"period": p, "status": s, "why": w} for p, s, w in r.periods],
            }
            for r in a.rewards
        ],
    }


def _commitment(c: CommitmentScore) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "party": c.party,
        "kind": c.kind,
        "unit": c.unit,
        "shared_goal": c.shared and c.status != NOT_MEASURED,
        "status": c.status,
        "reason": c.reason,
        "periods": [
            {
                "period": p.period,
                "target": _num(p.target),
                "actual": _num(p.actual),
                "status": p.status,
                "gap": _num(p.gap),
                "projected": _num(p.projected),
                "note": p.note,
                **{k: v for k, v in p.detail.items() if k != "minutes"},
            }
            for p in c.periods
        ],
    }


def as_json(card: Scorecard) -> str:
    return json.dumps(as_data(card), indent=2, ensure_ascii=False) + "\n"


# -- CSV ---------------------------------------------------------------------------------------------


def as_csv(card: Scorecard) -> str:
    """One row per agreement, commitment and period (a not-measured commitment: one row, no period)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["agreement", "commitment", "kind", "unit", "period", "target", "actual", "gap", "status", "note"])
    for a in card.agreements:
        for c in a.commitments:
            if not c.periods:
                writer.writerow([a.id, c.id, c.kind or "", c.unit, "", "", "", "", c.status, c.reason or ""])
            for p in c.periods:
                writer.writerow(
                    [
                        a.id,
                        c.id,
                        c.kind or "",
                        c.unit,
                        p.period,
                        _cell(p.target),
                        _cell(p.actual),
                        _cell(p.gap),
                        p.status,
                        p.note or "",
                    ]
                )
    return out.getvalue()


def _cell(value: Decimal | None) -> str:
    return "" if value is None else str(_num(value))


# -- text ----------------------------------------------------------------------------------------------


def as_text(card: Scorecard, colour: bool = False) -> str:
    def mark(status: str) -> str:
        return (
            click.style(status, fg=STATUS_COLOURS.get(status), bold=True)
            if colour and status in STATUS_COLOURS
            else status
        )

    lines = [f"Scorecard as of {card.as_of.isoformat()} (per {card.period})"]
    for kind, path, _sha, rows, out in card.inputs:
        left = f"; {out:,} without an MQL time, left out" if out else ""
        lines.append(f"  {kind}: {printable(path)} ({rows:,} record{'s' * (rows != 1)}{left})")
    for a in card.agreements:
        lines += ["", printable(f"{a.title} [{a.id}]")]
        for c in a.commitments:
            lines.append(f"  {printable(c.title)} [{c.id}]: {mark(c.status)}")
            if c.reason:
                lines.append(f"      {printable(c.reason)}")
            for p in c.periods:
                text = f"      {p.period}  {mark(p.status):<{17 + (len(mark(p.status)) - len(p.status))}}"
                if p.actual is not None:
                    text += f" {figure(p.actual, c.unit)} of {figure(p.target, c.unit)}"
                if p.projected is not None:
                    text += f", on pace for {figure(p.projected, c.unit)}"
                if c.kind == "follow_up" and p.detail.get("eligible") is not None:
                    d = p.detail
                    text += f" ({d['on_time']} on time, {d['late']} late, {d['pending']} pending; median {_minutes(d['median_minutes'])}, p90 {_minutes(d['p90_minutes'])})"
                if p.note:
                    text += f"  ({printable(p.note)})"
                lines.append(text.rstrip())
        e = a.escalation
        lines.append("  Escalation: " + _escalation_line(e))
        for action in e.actions:
            lines.append(f"      - {printable(action)}")
        for r in a.rewards:
            lines.append(
                f"  Reward {printable(r.title)} [{r.id}]: {r.status}"
                + (f" ({printable(r.reason)})" if r.reason else "")
            )
    return "\n".join(lines) + "\n"


def _escalation_line(e: Any) -> str:
    closed = [state for _, state in e.timeline if state != IN_PROGRESS]
    if not e.days_missed:
        if not closed:
            text = "no period has closed yet"
        elif closed[-1] == "not scored":
            text = "the last closed period could not be scored"
        else:
            text = "no shared goal missed in the last closed period"
    else:
        text = f"{e.days_missed} days of missed shared goals since {e.since.isoformat()}"
        text += f"; step {e.step} in force" if e.step else "; no step reached yet"
    if e.next_step and e.next_step_on:
        text += f"; step {e.next_step} starts {e.next_step_on.isoformat()} if the goals stay missed"
    return text


def _minutes(value: float | None) -> str:
    """Minutes as people read them, rounded half up like every figure (52.5 -> 53 min)."""
    if value is None:
        return "-"
    if value < 120:
        return f"{round_half_up(Decimal(repr(value)))} min"
    return f"{round_half_up(Decimal(repr(value)) / 60, Decimal('0.1'))} h"


# -- Markdown and HTML ---------------------------------------------------------------------------------


def _context(card: Scorecard) -> dict[str, Any]:
    from .charts import for_agreement

    agreements = []
    for a in card.agreements:
        agreements.append(
            {
                "score": a,
                "escalation_line": _escalation_line(a.escalation),
                "charts": for_agreement(a),
            }
        )
    return {"card": card, "agreements": agreements, "figure": figure, "minutes": _minutes}


def as_markdown(card: Scorecard, templates: Path | None = None) -> str:
    from .render import Renderer  # the page libraries load only for the formats that use them

    renderer = Renderer(templates)
    return renderer.template(renderer.markdown_env, "scorecard.md.j2", **_context(card))


def as_html(card: Scorecard, templates: Path | None = None) -> str:
    from .render import Renderer

    renderer = Renderer(templates)
    return renderer.template(renderer.html_env, "scorecard.html.j2", style=renderer.style(), **_context(card))


FORMATS = {"json": as_json, "csv": as_csv, "md": as_markdown, "html": as_html}
