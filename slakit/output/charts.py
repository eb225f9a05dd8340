"""Static SVG charts for the scorecard dashboard: no script, deterministic bytes, text escaped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from ..measuring.scorecard import AgreementScore, CommitmentScore
from ..model.figures import number

W, H = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 40
PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#64748b"]
STATUS_FILL = {"met": "#16a34a", "missed": "#dc2626", "in-progress": "#0891b2", "not scored": "#cbd5e1"}


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(title: str, body: list[str], height: int = H) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _axes(top: float, labels: list[str], unit: str) -> list[str]:
    """Y grid at 0, half and top; x labels under each slot."""
    out = []
    plot_h = H - TOP - BOTTOM
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        out.append(f'<line x1="{LEFT}" y1="{_f(y)}" x2="{W - RIGHT}" y2="{_f(y)}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{_f(y + 4)}" text-anchor="end" class="tick">{escape(_fmt(top * frac, unit))}</text>'
        )
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        out.append(_period_tick(LEFT + slot * (i + 0.5), H - BOTTOM + 16, label, labels[i - 1] if i else None))
    return out


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _period_tick(x: float, y: float, period: str, previous: str | None) -> str:
    """A period under its bar: "Jan" or "Q1", with the year on a second line under the first
    period and where a new year starts ("20-01" read as the 20th of January)."""
    year, _, part = period.partition("-")
    name = MONTHS[int(part) - 1] if part.isdigit() and 1 <= int(part) <= 12 else part
    text = escape(name or period)
    if previous is None or not previous.startswith(year + "-"):
        text += Markup(f'<tspan x="{_f(x)}" dy="12">{escape(year)}</tspan>')
    return f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle" class="tick">{text}</text>'


def _value(value: Any, unit: str) -> str:
    """A bar's value in full, for its tooltip: 479,768,000 USD, 97.3%, 35 days."""
    written = number(Decimal(str(value)))
    return f"{written}%" if unit == "%" else f"{written} {unit}" if unit else written


def _fmt(value: float, unit: str) -> str:
    """A short axis label: 45%, 30 d, 880k, 1.5M."""
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "days":
        return f"{value:.0f} d"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}"


def _top(highest: float) -> float:
    """The top of a value axis: the first round number above the highest value (with a little
    room) whose half is round too, so the labels at the top and halfway are the values drawn
    there (a top of 4.4 was labelled 4, and its half 2)."""
    wanted = highest * 1.05
    scale = 1.0
    while True:
        for step in (2, 4, 6, 8, 10, 12, 16, 20, 24, 30, 40, 50, 60, 80):
            if step * scale >= wanted:
                return step * scale
        scale *= 10


def _y(value: float, top: float) -> float:
    plot_h = H - TOP - BOTTOM
    return TOP + plot_h * (1 - (value / top if top else 0))


def stacked_volume(c: CommitmentScore) -> Markup | None:
    """MQLs per period stacked by source, with the target as a line."""
    periods = [p for p in c.periods if p.actual is not None]
    if not periods:
        return None
    sources = sorted({s["source"] for p in periods for s in p.detail.get("sources", [])})
    top = _top(max(max(float(p.actual or 0) for p in periods), max(float(p.target or 0) for p in periods)))
    labels = [p.period for p in periods]
    body = _axes(top, labels, "")
    slot = (W - LEFT - RIGHT) / len(periods)
    for i, p in enumerate(periods):
        x = LEFT + slot * i + slot * 0.15
        base = 0.0
        by_source = {s["source"]: s["actual"] for s in p.detail.get("sources", [])} or {"all": float(p.actual or 0)}
        for k, source in enumerate(sources or ["all"]):
            n = float(by_source.get(source, 0))
            if not n:
                continue
            y0, y1 = _y(base, top), _y(base + n, top)
            body.append(
                f'<rect x="{_f(x)}" y="{_f(y1)}" width="{_f(slot * 0.7)}" height="{_f(y0 - y1)}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{escape(p.period)} {escape(source)}: {n:.0f}</title></rect>"
            )
            base += n
        ty = _y(float(p.target or 0), top)
        body.append(
            f'<line x1="{_f(LEFT + slot * i)}" y1="{_f(ty)}" x2="{_f(LEFT + slot * (i + 1))}" y2="{_f(ty)}" class="target"/>'
        )
    legend, rows = _legend(sources or ["all"], with_target=True)
    return _svg(f"{c.title}: leads per period by source against the target", body + legend, H + 6 + 18 * rows)


LEGEND_CHAR = 8.5  # px a character of the 13px tick font may take, wide letters included (an estimate: no fonts here)


def _legend(names: list[str], with_target: bool = False) -> tuple[list[str], int]:
    """A key under the chart, wrapped onto as many rows as it needs, and the rows' count."""
    out: list[str] = []
    x, row = float(LEFT), 0
    items = [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(names)]
    for name, colour in [*items, *([("target", None)] if with_target else [])]:
        mark = 20 if colour is None else 14  # the target's line is wider than a colour's square
        width = mark + LEGEND_CHAR * len(name)
        if x > LEFT and x + width > W - RIGHT:
            x, row = float(LEFT), row + 1
        y = H + 4 + 18 * row
        if colour is None:
            out.append(f'<line x1="{_f(x)}" y1="{y + 5}" x2="{_f(x + 16)}" y2="{y + 5}" class="target"/>')
        else:
            out.append(f'<rect x="{_f(x)}" y="{y}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{_f(x + mark)}" y="{y + 9}" class="tick">{escape(name)}</text>')
        x += width + 14
    return out, row + 1


def bars(c: CommitmentScore, title: str) -> Markup | None:
    """One bar per period coloured by status, with the target in force as a step line."""
    periods = [p for p in c.periods if p.actual is not None or p.target is not None]
    if not any(p.actual is not None for p in periods):
        return None
    top = _top(max(float(v) for p in periods for v in (p.actual, p.target) if v is not None))
    if c.unit == "%":
        top = 100.0
    body = _axes(top, [p.period for p in periods], c.unit)
    slot = (W - LEFT - RIGHT) / len(periods)
    for i, p in enumerate(periods):
        if p.actual is not None:
            y = _y(float(p.actual), top)
            fill = STATUS_FILL.get(p.status, "#94a3b8")
            body.append(
                f'<rect x="{_f(LEFT + slot * i + slot * 0.15)}" y="{_f(y)}" width="{_f(slot * 0.7)}" '
                f'height="{_f(_y(0, top) - y)}" fill="{fill}"><title>{escape(p.period)}: {escape(_value(p.actual, c.unit))} ({escape(p.status)})</title></rect>'
            )
        if p.target is not None:
            ty = _y(float(p.target), top)
            body.append(
                f'<line x1="{_f(LEFT + slot * i)}" y1="{_f(ty)}" x2="{_f(LEFT + slot * (i + 1))}" y2="{_f(ty)}" class="target"/>'
            )
    return _svg(title, body)


def distribution(c: CommitmentScore) -> Markup | None:
    """Histogram of response times (business minutes) over every period, the allowed time marked."""
    chunks = [p.detail["minutes"] for p in c.periods if len(p.detail.get("minutes", ()))]
    if not chunks:
        return None
    minutes = np.concatenate(chunks)
    allowed = next(p.detail["allowed_minutes"] for p in c.periods if "allowed_minutes" in p.detail)
    limit = max(allowed * 4, 1.0)
    edges = np.linspace(0, limit, 17)
    counts, _ = np.histogram(np.minimum(minutes, limit - 1e-9), bins=edges)
    top = _top(float(counts.max()))
    body = _axes(top, [], "")
    width = (W - LEFT - RIGHT) / len(counts)
    for i, n in enumerate(counts):
        if n:
            y = _y(float(n), top)
            label = f"{edges[i]:.0f}-{edges[i + 1]:.0f} min" + (" and more" if i == len(counts) - 1 else "")
            body.append(
                f'<rect x="{_f(LEFT + width * i + 1)}" y="{_f(y)}" width="{_f(width - 2)}" height="{_f(_y(0, top) - y)}" '
                f'fill="#2563eb"><title>{label}: {int(n)}</title></rect>'
            )
    x = LEFT + (W - LEFT - RIGHT) * allowed / limit
    body.append(f'<line x1="{_f(x)}" y1="{TOP}" x2="{_f(x)}" y2="{H - BOTTOM}" class="target"/>')
    body.append(f'<text x="{_f(x + 4)}" y="{TOP + 10}" class="tick">allowed: {allowed:.0f} business min</text>')
    for frac, anchor in ((0, "start"), (0.5, "middle"), (1, "end")):
        body.append(
            f'<text x="{_f(LEFT + (W - LEFT - RIGHT) * frac)}" y="{H - BOTTOM + 16}" text-anchor="{anchor}" class="tick">'
            f"{limit * frac:.0f} min{' or more' if frac == 1 else ''}</text>"
        )
    return _svg(f"{c.title}: distribution of response times in business minutes", body)


def timeline(a: AgreementScore) -> Markup | None:
    """One cell per period: met, missed, in progress or not scored; the escalation steps reached."""
    steps = a.escalation.timeline
    if not steps:
        return None
    cell = (W - LEFT - RIGHT) / len(steps)
    body = []
    for i, (period, state) in enumerate(steps):
        x = LEFT + cell * i
        body.append(
            f'<rect x="{_f(x + 1)}" y="20" width="{_f(cell - 2)}" height="28" fill="{STATUS_FILL.get(state, "#cbd5e1")}">'
            f"<title>{escape(period)}: {escape(state)}</title></rect>"
        )
        body.append(_period_tick(x + cell / 2, 64, period, steps[i - 1][0] if i else None))
    body.append(
        f'<text x="{LEFT}" y="12" class="tick">{escape("step in force: " + (a.escalation.step or "none"))}</text>'
    )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} 80" role="img" class="chart" '
        f'aria-label="Escalation timeline"><title>Escalation timeline: shared goals per period</title>{"".join(body)}</svg>'
    )


def for_agreement(a: AgreementScore) -> list[dict[str, Any]]:
    """The dashboard's charts for one agreement, in reading order."""
    out: list[dict[str, Any]] = []
    for c in a.commitments:
        if not c.periods:
            continue
        if c.kind == "lead_volume":
            out.append({"title": "Leads per period by source", "svg": stacked_volume(c)})
        elif c.kind == "follow_up":
            out.append({"title": "Leads followed up in time", "svg": bars(c, f"{c.title}: share of leads on time")})
            out.append({"title": "Response times", "svg": distribution(c)})
        elif c.kind in ("stepped_target", "pipeline_share", "lead_value"):
            out.append({"title": c.title, "svg": bars(c, f"{c.title}: actual against the target in force")})
    if a.revenue and a.revenue.periods:
        out.append({"title": "Won revenue against the monthly goal", "svg": bars(a.revenue, "Won revenue per period")})
    out.append({"title": "Escalation timeline", "svg": timeline(a)})
    return [chart for chart in out if chart["svg"] is not None]


__all__ = ["Decimal", "for_agreement"]
