"""The scorecard: every commitment of an agreement measured against CRM exports, per period,
with the escalation step in force and the rewards earned.

Statuses: met, missed, in-progress (the period holding the as-of date, with a pace
projection), pending (follow-up leads whose deadline has not passed), not-measured (the
data or the agreement does not say enough; the reason is given), insufficient-data (too
few records to judge). A commitment's own status is that of its last closed period.

Shared goals (what escalation and the every-target-met reward look at): every commitment
the scorecard measures against a target (lead volume, lead value, pipeline share,
follow-up, stepped targets). A closed period is missed when any of them missed it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..model.agreement import Agreement, Commitment
from ..model.dates import add_months
from ..model.figures import Duration, Money, Percentage, counted, round_half_up
from ..model.targets import figure_value
from ..world.exports import Exports, step_sql
from ..world.zones import offset_segments

MIN_DEALS = 5  # fewer decided deals than this in a period: a ratio or average is not scored
DAYS_PER_MONTH = 30  # a missed month counts as 30 days toward the 30/60/90-day escalation steps
TENTH = Decimal("0.1")  # shares, rates and days are shown to a tenth, rounded by the one rule (halves up)
CENT = Decimal("0.01")  # a pro-rated amount
SHARED_KINDS = ("lead_volume", "lead_value", "pipeline_share", "follow_up", "stepped_target")
MET, MISSED, IN_PROGRESS, PENDING = "met", "missed", "in-progress", "pending"
NOT_MEASURED, INSUFFICIENT = "not-measured", "insufficient-data"
# Deals in the currency of the goal (or in none named) count toward it; others do not.
SAME_CURRENCY = "AND (currency IS NULL OR trim(currency) = '' OR upper(trim(currency)) = ?)"


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter, or the part of it within the agreement's term (the first
    and last may be partial: an agreement that takes effect on the 15th counts from then)."""

    label: str  # 2020-03 or 2020-Q1
    first: dt.date  # the first day counted
    after: dt.date  # the day after the last day counted
    lo: int  # epoch seconds of its start in the agreement's zone
    hi: int
    unit_first: dt.date  # the whole month or quarter it is part of
    unit_after: dt.date

    @property
    def last(self) -> dt.date:
        return self.after - dt.timedelta(days=1)

    @property
    def partial(self) -> bool:
        return (self.first, self.after) != (self.unit_first, self.unit_after)

    @property
    def months(self) -> Decimal:
        """Calendar months counted: 1 for a month, 3 for a quarter, a share for a partial one."""
        whole = (self.unit_after.year - self.unit_first.year) * 12 + self.unit_after.month - self.unit_first.month
        if not self.partial:
            return Decimal(whole)
        return Decimal(whole) * (self.after - self.first).days / (self.unit_after - self.unit_first).days


@dataclass
class PeriodScore:
    period: str
    status: str
    target: Decimal | None = None
    actual: Decimal | None = None
    gap: Decimal | None = None  # actual - target
    note: str | None = None
    projected: Decimal | None = None  # in-progress: the pace projection to the period's end
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class CommitmentScore:
    id: str
    title: str
    party: str
    kind: str | None
    unit: str  # leads, USD, %, days, ...
    status: str
    reason: str | None = None
    shared: bool = False
    better: str = "higher"
    periods: list[PeriodScore] = field(default_factory=list)
    status_period: str | None = None  # the period its status is from


@dataclass
class Escalation:
    step: str | None
    days_missed: int
    since: dt.date | None
    next_step_on: dt.date | None
    next_step: str | None
    actions: tuple[str, ...]
    timeline: list[tuple[str, str]]  # (period, met|missed|in-progress|not scored)


@dataclass
class RewardScore:
    id: str
    title: str
    pool: Money | None
    status: str  # earned in the last closed period | not-earned | in-progress | not-evaluated
    reason: str | None
    periods: list[tuple[str, str, str | None]]  # (period, earned|not-earned|in-progress, why)


@dataclass
class AgreementScore:
    id: str
    title: str
    timezone: str
    commitments: list[CommitmentScore]
    escalation: Escalation
    rewards: list[RewardScore]
    revenue: CommitmentScore | None


@dataclass
class Scorecard:
    as_of: dt.date
    period: str
    inputs: list[tuple[str, str, str, int, int]]  # (kind, path, sha256, rows, rows left out: no time)
    agreements: list[AgreementScore]


def periods_of(agreement: Agreement, as_of: dt.date, unit: str) -> list[Period]:
    """The agreement's periods from its effective date to the as-of date (or its end): calendar
    months or quarters, the first from the effective date and the last to the end."""
    zone = ZoneInfo(agreement.timezone)
    last = min(as_of, agreement.end) if agreement.end else as_of
    end = agreement.end + dt.timedelta(days=1) if agreement.end else None
    step = 3 if unit == "quarter" else 1
    start = agreement.effective.replace(day=1)
    if unit == "quarter":
        start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
    out = []
    while start <= last:
        after = add_months(start, step)
        label = f"{start.year}-Q{(start.month - 1) // 3 + 1}" if unit == "quarter" else f"{start:%Y-%m}"
        first, until = max(start, agreement.effective), min(after, end) if end else after
        out.append(Period(label, first, until, _epoch(first, zone), _epoch(until, zone), start, after))
        start = after
    return out


def _epoch(day: dt.date, zone: ZoneInfo) -> int:
    return int(dt.datetime.combine(day, dt.time(0), zone).timestamp())


def latest_timestamp(exports: Exports, zone: str) -> dt.date | None:
    """The local date of the latest timestamp in the exports (the default as-of date)."""
    parts = []
    for kind, cols in (
        ("leads", ("mql_at", "first_touch_at")),
        ("deals", ("created_at", "closed_at")),
        ("activities", ("requested_at", "done_at")),
    ):
        table = exports.tables.get(kind)
        for c in cols:
            if table is None or c not in table.present:
                continue
            decided = ""
            if kind == "deals" and c == "closed_at":
                # an open deal's close date is the date expected, not one that has happened (and
                # without an outcome column no deal is known to be closed)
                if "outcome" not in table.present:
                    continue
                decided = " WHERE outcome IN ('won', 'lost')"
            parts.append(f"SELECT max({c}) FROM {kind}{decided}")
    if not parts:
        return None
    value = exports.sql(f"SELECT max(m) FROM ({' UNION ALL '.join(parts)}) t(m)")[0][0]
    return dt.datetime.fromtimestamp(value, ZoneInfo(zone)).date() if value is not None else None


class Measure:
    """Measures one agreement against the exports."""

    def __init__(self, agreement: Agreement, exports: Exports, as_of: dt.date, unit: str):
        self.a = agreement
        self.x = exports
        self.unit = unit
        self.periods = periods_of(agreement, as_of, unit)
        self.as_of = as_of
        zone = ZoneInfo(agreement.timezone)
        self.now = _epoch(as_of + dt.timedelta(days=1), zone)  # the end of the as-of day
        self.closed = [p.hi <= self.now for p in self.periods]
        self.sources = agreement.lead_sources
        # What happened after the as-of day is not counted: the open period ends with that day.
        self.spans = [(p.lo, min(p.hi, self.now)) for p in self.periods]
        self.currency = self._currency()
        self._lead_counts: dict[int, dict[str | None, int]] | None = None
        self._leads: tuple[np.ndarray, np.ndarray] | None = None
        self._first: dict[tuple[str, str], int | None] = {}

    def _currency(self) -> str:
        for c in self.a.commitments:
            if c.lead_value:
                return c.lead_value.stated_total.currency
        return self.a.revenue.target.annual.currency if self.a.revenue else "USD"

    def by_period(self, table: str, column: str) -> str:
        """`table` (a name or a query) as a query whose records carry `i`, the index of the period
        their `column` falls in; records in no period are left out. The periods follow each other
        without gaps, so a CASE split in halves finds it (a range join costs more)."""
        if not self.periods:
            return f"(SELECT *, 0 AS i FROM {table} WHERE false)"
        inside = f"{column} >= {self.spans[0][0]} AND {column} < {self.spans[-1][1]}"
        steps = [(lo, i) for i, (lo, _) in enumerate(self.spans)]
        return f"(SELECT *, {step_sql(column, steps)} AS i FROM {table} WHERE {inside})"

    def _wall_clock(self, *columns: str) -> list[str]:
        """Deal times as SQL, in seconds on the agreement's wall clock: days between two of them
        are calendar days (a deal created March 1 and won March 31 took 30 days, not 29 days and
        23 hours across the change to daylight time), as a person counts them."""
        lo, hi = self.x.sql(
            "SELECT min(least(created_at, closed_at)), max(greatest(created_at, closed_at)) FROM deals"
        )[0]
        if lo is None:
            return list(columns)
        segments = offset_segments(ZoneInfo(self.a.timezone), int(lo), int(hi) + 1)
        steps = [(start, offset) for start, _, offset in segments]
        return [f"({column} + {step_sql(column, steps)})" for column in columns]

    def has(self, kind: str, *columns: str) -> str | None:
        """None when the export and its columns are there, else why not."""
        table = self.x.tables.get(kind)
        if table is None:
            return f"no --{kind} export given"
        lacking = [c for c in columns if c not in table.present]
        if lacking:
            names = ", ".join(f"{c} (looked for {table.missing.get(c, c)!r})" for c in lacking)
            return f"{table.path} has no column for {names}"
        return None

    def coverage(self, kind: str, column: str) -> int | None:
        """Epoch seconds of the earliest value (periods wholly before it are not scored)."""
        if (kind, column) not in self._first:  # asked by every commitment on the leads
            value = self.x.sql(f"SELECT min({column}) FROM {kind}")[0][0]
            self._first[kind, column] = int(value) if value is not None else None
        return self._first[kind, column]

    def counts(self, query: str, params: list[Any] | None = None) -> dict[int, Any]:
        return {i: v for i, v in self.x.sql(query, params)}

    def _has_currency(self) -> bool:
        return "currency" in self.x.tables["deals"].present

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> AgreementScore:
        scores = [self.commitment(c) for c in self.a.commitments]
        feedback = self.feedback()
        if feedback:
            scores.append(feedback)
        revenue = self.revenue()
        escalation = self.escalation([s for s in scores if s.shared])
        rewards = [self.reward(r, [s for s in scores if s.shared], revenue) for r in self.a.rewards]
        return AgreementScore(self.a.id, self.a.title, self.a.timezone, scores, escalation, rewards, revenue)

    def commitment(self, c: Commitment) -> CommitmentScore:
        kind = c.kind
        handler = {
            "lead_volume": self.lead_volume,
            "lead_value": self.lead_value,
            "pipeline_share": self.pipeline_share,
            "follow_up": self.follow_up,
            "stepped_target": self.stepped,
        }.get(kind or "")
        score = CommitmentScore(c.id, c.title, c.party, kind, "", NOT_MEASURED)
        if handler is None:
            score.reason = (
                "a commitment in words only: nothing to count"
                if kind is None
                else f"{kind.replace('_', ' ')} is not measured from CRM exports"
            )
            return score
        score.shared = True
        if not self.periods:
            score.reason = f"the as-of date {self.as_of} is before the agreement took effect on {self.a.effective}"
            return score
        handler(c, score)
        self._say_partial(score, prorated=kind in ("lead_volume", "lead_value"))
        if score.status != NOT_MEASURED:
            self._settle(score)
        return score

    def _settle(self, score: CommitmentScore, none_closed: str | None = None) -> None:
        """A commitment's status: its last closed period's, else (`none_closed`, or) the running
        one's; and which period that is."""
        closed = [p for p, done in zip(score.periods, self.closed) if done]
        source = closed[-1] if closed else (score.periods[-1] if score.periods and none_closed is None else None)
        score.status = source.status if source else (none_closed or NOT_MEASURED)
        score.status_period = source.period if source else None

    def _say_partial(self, score: CommitmentScore, prorated: bool) -> None:
        """A note on each period the term cuts short: counted from the effective date, or to the
        end (with its target pro-rated when it is a count or an amount)."""
        for period, result in zip(self.periods, score.periods):
            if not period.partial:
                continue
            said = []
            if period.first != period.unit_first:
                said.append(f"counted from {period.first}, when the agreement took effect")
            if period.after != period.unit_after:
                said.append(f"counted to {period.last}, when the agreement ended")
            if prorated:
                days, of = (period.after - period.first).days, (period.unit_after - period.unit_first).days
                said.append(f"the target is for {days} of its {of} days")
            result.note = "; ".join(([result.note] if result.note else []) + said)

    def _score(
        self, score: CommitmentScore, i: int, target: Decimal, actual: Decimal, better: str, progress: Decimal | None
    ) -> PeriodScore:
        """A period's status from target and actual; `progress`: the projection for an open period."""
        period = self.periods[i]
        met = actual >= target if better == "higher" else actual <= target
        if not self.closed[i]:
            return PeriodScore(period.label, IN_PROGRESS, target, actual, actual - target, projected=progress)
        return PeriodScore(period.label, MET if met else MISSED, target, actual, actual - target)

    def _pace(self, i: int, actual: Decimal) -> Decimal | None:
        p = self.periods[i]
        if self.closed[i]:
            return None
        elapsed = max(self.now - p.lo, 1)
        return round_half_up(actual * (p.hi - p.lo) / elapsed)  # the one rounding rule, halves up

    def _scale(self, per: str | None, period: Period) -> Decimal:
        """How many `per` units fit in a period (a count per month in a quarter: 3; in a month
        the agreement took effect in on the 17th, 15/31)."""
        months = {"month": 1, "quarter": 3, "year": 12}
        if per in months:
            return period.months / months[per]
        days = (period.after - period.first).days
        return Decimal(days) / (7 if per == "week" else 1)

    def _target(self, amount: Decimal, per: str | None, period: Period, step: Decimal) -> Decimal:
        """A target stated per `per`, for a period; rounded to `step` when the period is partial."""
        target = amount * self._scale(per, period)
        return round_half_up(target, step) if period.partial else target

    def _uncovered(self, score: CommitmentScore, kind: str, column: str) -> set[int]:
        """Periods that end before the export's first record: said, not scored."""
        first = self.coverage(kind, column)
        out = set()
        for i, p in enumerate(self.periods):
            if first is None or p.hi <= first:
                out.add(i)
        return out

    def leads(self) -> tuple[np.ndarray, np.ndarray]:
        """Each lead's period (an index into `periods`) and whether it falls in one at all."""
        if self._leads is None:
            mql = self.x.lead_arrays().mql_at
            if not self.periods:
                self._leads = np.zeros(len(mql), dtype=np.int64), np.zeros(len(mql), dtype=bool)
            else:
                starts = np.array([lo for lo, _ in self.spans] + [self.spans[-1][1]], dtype=np.int64)
                idx = np.searchsorted(starts, mql, side="right") - 1  # the periods follow each other without gaps
                self._leads = idx, (idx >= 0) & (idx < len(self.periods))
        return self._leads

    def lead_counts(self) -> dict[int, dict[str | None, int]]:
        """Leads per period and source id (shared by volume and value)."""
        if self._lead_counts is None:
            arrays = self.x.lead_arrays()
            idx, inside = self.leads()
            width = len(arrays.names)
            counts = np.bincount(idx[inside] * width + arrays.code[inside], minlength=len(self.periods) * width)
            self._lead_counts = {}
            for i, row in enumerate(counts.reshape(len(self.periods), width)):
                for code in np.flatnonzero(row):
                    by = self._lead_counts.setdefault(i, {})
                    name = arrays.names[code]
                    by[name] = by.get(name, 0) + int(row[code])
        return self._lead_counts

    def lead_volume(self, c: Commitment, score: CommitmentScore) -> None:
        score.unit = "leads"
        why = self.has("leads", "mql_at")
        if why:
            score.reason = why
            return
        block = c.blocks["lead_volume"]
        counts = self.lead_counts()
        per_period = {i: sum(by.values()) for i, by in counts.items()}
        by_source = {i: {s or "(none)": n for s, n in by.items()} for i, by in counts.items()}
        planned = {row.id: row.planned for cm in self.a.commitments if cm.lead_value for row in cm.lead_value.rows}
        uncovered = self._uncovered(score, "leads", "mql_at")
        for i, p in enumerate(self.periods):
            if i in uncovered:
                score.periods.append(PeriodScore(p.label, INSUFFICIENT, note="before the first lead in the export"))
                continue
            target = self._target(Decimal(block["count"]), block["per"], p, TENTH)
            actual = Decimal(per_period.get(i, 0))
            result = self._score(score, i, target, actual, "higher", self._pace(i, actual))
            scale = self._scale(c.lead_value.per if c.lead_value else block["per"], p)
            result.detail["sources"] = [
                {"source": s, "actual": n, "planned": float(planned[s] * scale) if s in planned else None}
                for s, n in sorted(by_source.get(i, {}).items(), key=lambda kv: (kv[0] not in planned, kv[0]))
            ]
            score.periods.append(result)
        score.status = ""

    def lead_value(self, c: Commitment, score: CommitmentScore) -> None:
        plan = c.lead_value
        assert plan is not None
        score.unit = plan.stated_total.currency
        why = self.has("leads", "mql_at", "source")
        if why:
            score.reason = why
            return
        worth = {r.id: r.value_per_lead.amount for r in plan.rows}
        counts = self.lead_counts()
        values = {
            i: sum((worth.get(s or "", Decimal(0)) * n for s, n in by.items()), Decimal(0)) for i, by in counts.items()
        }
        unvalued = {i: sum(n for s, n in by.items() if s not in worth) for i, by in counts.items()}
        uncovered = self._uncovered(score, "leads", "mql_at")
        for i, p in enumerate(self.periods):
            if i in uncovered:
                score.periods.append(PeriodScore(p.label, INSUFFICIENT, note="before the first lead in the export"))
                continue
            target = self._target(plan.stated_total.amount, plan.per, p, CENT)
            actual = Decimal(values.get(i, 0))
            result = self._score(score, i, target, actual, "higher", self._pace(i, actual))
            if unvalued.get(i):
                verb = "counts" if unvalued[i] == 1 else "count"
                result.note = f"{counted(unvalued[i], 'lead')} from sources without a value per lead {verb} as 0"
            score.periods.append(result)
        score.status = ""

    def pipeline_share(self, c: Commitment, score: CommitmentScore) -> None:
        score.unit = "%"
        why = self.has("deals", "created_at", "amount", "source")
        if why:
            score.reason = why
            return
        target = c.targets["pipeline_share"]
        currency = SAME_CURRENCY if self._has_currency() else ""
        params = [self.currency] if currency else []
        marketing = self.x.source_values("deals", list(self.sources))
        placeholders = ", ".join("?" for _ in marketing) or "NULL"
        rows = {
            i: (total, mkt, n)
            for i, total, mkt, n in self.x.sql(
                "SELECT i, sum(amount), sum(CASE WHEN source IN (" + placeholders + ") THEN amount ELSE 0 END), "
                f"count(*) FROM {self.by_period('deals', 'created_at')} "
                f"WHERE amount IS NOT NULL {currency} GROUP BY i",
                marketing + params,
            )
        }
        goal = figure_value(target.value)
        for i, p in enumerate(self.periods):
            total, mkt, n = rows.get(i, (None, None, 0))
            if not total:
                score.periods.append(PeriodScore(p.label, INSUFFICIENT, note="no deals with an amount created"))
                continue
            share = round_half_up(Decimal(mkt) * 100 / Decimal(total), TENTH)
            result = self._score(score, i, goal, share, "higher", None)
            result.detail = {"deals": n, "marketing_amount": float(mkt), "all_amount": float(total)}
            score.periods.append(result)
        score.status = ""

    def follow_up(self, c: Commitment, score: CommitmentScore) -> None:
        fu = c.follow_up
        assert fu is not None
        score.unit = "%"
        why = self.has("leads", "mql_at", "first_touch_at")
        if why:
            score.reason = why
            return
        calendar = self.a.calendar(fu.calendar)
        if fu.response_time.is_business and calendar is None:
            score.reason = "the response time is in business time but the follow-up names no calendar"
            return
        excluded = [s for s in fu.exclude_sources]
        has_source = "source" in self.x.tables["leads"].present
        if excluded and not has_source:
            score.reason = "the follow-up excludes lead sources, but the leads export has no source column"
            return
        arrays = self.x.lead_arrays()  # numbers only: names and ids are looked up for the late leads alone
        idx, keep = self.leads()
        if excluded:
            keep = keep & ~np.isin(arrays.code, [i for i, name in enumerate(arrays.names) if name in excluded])
        idx, starts, touches, rows = idx[keep], arrays.mql_at[keep], arrays.touch[keep], arrays.rowid[keep]
        touches = np.where(touches < self.now, touches, -1)  # a touch after the as-of day has not happened yet
        touched = touches >= 0
        try:
            if calendar is not None and fu.response_time.is_business:
                ends = np.where(touched, touches, starts)
                deadline, seconds = calendar.response_times(starts, ends, fu.response_time, fu.after_hours)
            else:  # clock time: the calendar plays no part
                deadline = starts + int(fu.response_time.magnitude * 60)
                seconds = np.maximum(np.where(touched, touches, starts) - starts, 0)
        except ValueError as exc:  # a span of centuries: a wrong year somewhere in the export
            score.reason = f"the deadlines cannot be counted: {exc}"
            return
        minutes = seconds / 60
        on_time = touched & (touches <= deadline)
        late = (touched & (touches > deadline)) | (~touched & (deadline < self.now))
        pending = ~touched & (deadline >= self.now)
        objective = fu.objective.value
        uncovered = self._uncovered(score, "leads", "mql_at")
        # Leads grouped by period once (a stable sort keeps file order within a period), so each
        # period reads its own slice instead of a mask over every lead.
        n = len(self.periods)
        order = np.argsort(idx.astype(np.int16 if n < 1 << 15 else np.int64), kind="stable")
        bounds = np.searchsorted(idx[order], np.arange(n + 1))
        counts = {
            name: np.bincount(idx, weights=flags, minlength=n).astype(np.int64)
            for name, flags in (("on", on_time), ("late", late), ("pending", pending))
        }
        breaches, late_ids = self._late_leads(rows[late], idx[late])
        for i, p in enumerate(self.periods):
            n_on, n_late, n_pending = (int(counts[k][i]) for k in ("on", "late", "pending"))
            decided = n_on + n_late
            if i in uncovered or decided == 0:
                note = "before the first lead in the export" if i in uncovered else "no eligible lead decided yet"
                status = PENDING if n_pending else INSUFFICIENT
                score.periods.append(PeriodScore(p.label, status, objective, note=note, detail={"pending": n_pending}))
                continue
            compliance = round_half_up(Decimal(n_on) * 100 / decided, TENTH)
            members = order[bounds[i] : bounds[i + 1]]
            times = np.sort(minutes[members[touched[members]]])
            result = self._score(score, i, objective, compliance, "higher", None)
            if result.status != IN_PROGRESS and n_pending:
                result.status = PENDING
            result.detail = {
                "eligible": len(members),
                "on_time": n_on,
                "late": n_late,
                "pending": n_pending,
                "median_minutes": _median(times),
                "p90_minutes": _nearest_rank(times, 90),
                "breaches_by_owner": breaches.get(i, {}),
                "late_ids": late_ids.get(i, []),
                "minutes": times,  # for the distribution chart; not in json
                "allowed_minutes": _allowed_minutes(fu.response_time),
            }
            score.periods.append(result)
        score.status = ""

    def _late_leads(
        self, rows: np.ndarray, periods: np.ndarray
    ) -> tuple[dict[int, dict[str, int]], dict[int, list[str]]]:
        """Per period: late leads per owner (most first), and the ids of the first 20 late leads by
        arrival. One query for all periods: only the late leads' rows are looked up."""
        if not len(rows):
            return {}, {}
        owner = (
            "coalesce(nullif(trim(owner), ''), '(no owner)')"
            if "owner" in self.x.tables["leads"].present
            else "'(no owner)'"
        )
        self.x.con.execute(
            "CREATE OR REPLACE TEMP TABLE late AS SELECT unnest(?::BIGINT[]) AS r, unnest(?::INTEGER[]) AS i",
            [rows.tolist(), periods.tolist()],
        )
        late = f"(SELECT late.i, {owner} AS name, lead_id, mql_at, leads.rowid AS r FROM leads JOIN late ON leads.rowid = late.r)"
        breaches: dict[int, dict[str, int]] = {}
        for i, name, n in self.x.sql(
            f"SELECT i, name, count(*) AS n FROM {late} GROUP BY i, name ORDER BY i, n DESC, name"
        ):
            breaches.setdefault(i, {})[name] = n
        ids: dict[int, list[str]] = {}
        for i, ident in self.x.sql(
            f"SELECT i, CAST(lead_id AS VARCHAR) FROM {late} "
            "QUALIFY row_number() OVER (PARTITION BY i ORDER BY mql_at, r) <= 20 ORDER BY i, mql_at, r"
        ):
            ids.setdefault(i, []).append(ident)
        return breaches, ids

    def stepped(self, c: Commitment, score: CommitmentScore) -> None:
        target = c.targets["stepped_target"]
        score.better = target.better
        how = c.measured_as
        if how is None:
            score.unit = ""
            score.reason = (
                "the stepped target does not say how to compute it: add measured_as (close-rate or sales-cycle)"
            )
            return
        if how == "close-rate":
            score.unit = "%"
            why = self.has("deals", "closed_at", "outcome")
            if why:
                score.reason = why
                return
            proposal = "AND proposal_at IS NOT NULL" if "proposal_at" in self.x.tables["deals"].present else ""
            rows = {
                i: (won, lost)
                for i, won, lost in self.x.sql(
                    "SELECT i, count(*) FILTER (outcome = 'won'), count(*) FILTER (outcome = 'lost') "
                    f"FROM {self.by_period('deals', 'closed_at')} WHERE outcome IN ('won', 'lost') {proposal} "
                    "GROUP BY i"
                )
            }
            for i, p in enumerate(self.periods):
                won, lost = rows.get(i, (0, 0))
                goal = figure_value(target.value_on(p.last))
                if won + lost < MIN_DEALS:
                    note = f"{counted(won + lost, 'decided deal')}; at least {MIN_DEALS} are needed"
                    score.periods.append(PeriodScore(p.label, INSUFFICIENT, goal, note=note))
                    continue
                rate = round_half_up(Decimal(won) * 100 / (won + lost), TENTH)
                result = self._score(score, i, goal, rate, target.better, None)
                result.detail = {"won": won, "lost": lost}
                if not proposal:
                    result.note = "the deals export has no proposal_at column: every decided deal is counted"
                score.periods.append(result)
        else:
            score.unit = "days"
            why = self.has("deals", "created_at", "closed_at", "outcome")
            if why:
                score.reason = why
                return
            closed, created = self._wall_clock("closed_at", "created_at")
            rows = {
                i: (n, avg)
                for i, n, avg in self.x.sql(
                    f"SELECT i, count(*), avg(({closed} - {created}) "
                    f"/ 86400.0) FROM {self.by_period('deals', 'closed_at')} WHERE outcome = 'won' GROUP BY i"
                )
            }
            for i, p in enumerate(self.periods):
                n, avg = rows.get(i, (0, None))
                value = target.value_on(p.last)
                goal = value.days if isinstance(value, Duration) else figure_value(value)
                if n < MIN_DEALS:
                    note = f"{counted(n, 'won deal')}; at least {MIN_DEALS} are needed"
                    score.periods.append(PeriodScore(p.label, INSUFFICIENT, goal, note=note))
                    continue
                days = round_half_up(Decimal(str(avg)), TENTH)
                result = self._score(score, i, goal, days, target.better, None)
                result.detail = {"won": n}
                score.periods.append(result)
        score.status = ""

    def feedback(self) -> CommitmentScore | None:
        """communication.feedback.within, measured from activities (requested_at -> done_at)."""
        within = (self.a.data.get("communication") or {}).get("feedback", {}).get("within")
        if not within:
            return None
        from ..model.figures import parse_duration

        allowed = parse_duration(within)
        score = CommitmentScore("feedback", f"Feedback within {within}", "both", "feedback", "%", NOT_MEASURED)
        if allowed is None or allowed.is_business:
            score.reason = f"feedback within {within!r} is not a clock duration"
            return score
        why = self.has("activities", "requested_at", "done_at")
        if why:
            score.reason = why
            return score
        limit = int(allowed.magnitude * 60)
        kind = "AND lower(kind) LIKE '%feedback%'" if "kind" in self.x.tables["activities"].present else ""
        rows = {
            i: (on, late, pending)
            for i, on, late, pending in self.x.sql(
                "SELECT i, count(*) FILTER (done_at IS NOT NULL AND done_at - requested_at <= ?), "
                "count(*) FILTER ((done_at IS NOT NULL AND done_at - requested_at > ?) OR "
                "(done_at IS NULL AND requested_at + ? < ?)), count(*) FILTER (done_at IS NULL AND requested_at + ? >= ?) "
                # an answer after the as-of day has not been given yet
                "FROM "
                + self.by_period(
                    f"(SELECT * REPLACE (CASE WHEN done_at < {int(self.now)} THEN done_at END AS done_at) FROM activities)",
                    "requested_at",
                )
                + f" WHERE true {kind} GROUP BY i",
                [limit, limit, limit, self.now, limit, self.now],
            )
        }
        for i, p in enumerate(self.periods):
            on, late, pending = rows.get(i, (0, 0, 0))
            if on + late == 0:
                score.periods.append(
                    PeriodScore(
                        p.label,
                        PENDING if pending else INSUFFICIENT,
                        Decimal(100),
                        note="no requests answered or overdue",
                    )
                )
                continue
            share = round_half_up(Decimal(on) * 100 / (on + late), TENTH)
            result = self._score(score, i, Decimal(100), share, "higher", None)
            result.detail = {"on_time": on, "late": late, "pending": pending}
            score.periods.append(result)
        self._say_partial(score, prorated=False)
        self._settle(score)
        return score

    def revenue(self) -> CommitmentScore | None:
        """Won revenue per period against the monthly revenue goal in force (the baseline run rate
        before the target's date, the target's from it on): for the revenue-on-goal reward."""
        plan = self.a.revenue
        if plan is None:
            return None
        score = CommitmentScore(
            "revenue", "Monthly revenue on goal", "both", "revenue", plan.target.monthly.currency, ""
        )
        why = self.has("deals", "closed_at", "amount", "outcome")
        if why:
            score.status, score.reason = NOT_MEASURED, why
            return score
        same = self._has_currency()  # deals in another currency are not this goal's revenue
        rows = self.counts(
            f"SELECT i, sum(amount) FROM {self.by_period('deals', 'closed_at')} "
            f"WHERE outcome = 'won' AND amount IS NOT NULL {SAME_CURRENCY if same else ''} GROUP BY i",
            [plan.target.monthly.currency] if same else [],
        )
        by = plan.target.by
        for i, p in enumerate(self.periods):
            point = plan.target if by is None or p.last >= by else plan.baseline
            goal = self._target(point.monthly.amount, "month", p, CENT)
            score.periods.append(self._score(score, i, goal, Decimal(rows.get(i) or 0), "higher", None))
        self._say_partial(score, prorated=True)
        self._settle(score, none_closed=IN_PROGRESS)
        return score

    def escalation(self, shared: list[CommitmentScore]) -> Escalation:
        timeline = []
        for i, p in enumerate(self.periods):
            statuses = [s.periods[i].status for s in shared if s.periods and s.status != NOT_MEASURED]
            if not self.closed[i]:
                state = IN_PROGRESS
            elif MISSED in statuses:
                state = MISSED
            elif MET in statuses:
                state = MET
            else:
                state = "not scored"
            timeline.append((p.label, state))
        run = 0
        closed = [t for t, done in zip(timeline, self.closed) if done]
        for _, state in reversed(closed):
            if state != MISSED:
                break
            run += 1
        missed = self.periods[len(closed) - run : len(closed)]
        # A whole month counts 30 days, a quarter 90; a period cut to the term (an agreement
        # that takes effect on the 15th) only the days it counted, never more than a whole one.
        whole = DAYS_PER_MONTH * (3 if self.unit == "quarter" else 1)
        days = sum(min((p.after - p.first).days, whole) if p.partial else whole for p in missed)
        since = missed[0].first if missed else None
        steps = sorted(self.a.escalation, key=lambda s: s.after.days)
        current = [s for s in steps if s.after.days <= days] if run else []
        upcoming = [s for s in steps if s.after.days > days]
        step = current[-1] if current else None
        nxt = upcoming[0] if upcoming and since else None
        # Whole months more after the run, if they stay missed (as before: a month at a time).
        next_on = (
            add_months(missed[-1].after, math.ceil((nxt.after.days - days) / DAYS_PER_MONTH))
            if nxt and missed
            else None
        )
        return Escalation(
            step.id if step else None,
            days,
            since,
            next_on,
            nxt.id if nxt else None,
            step.actions if step else (),
            timeline,
        )

    def reward(self, reward: Any, shared: list[CommitmentScore], revenue: CommitmentScore | None) -> RewardScore:
        score = RewardScore(reward.id, reward.title, reward.pool, "not-evaluated", None, [])
        if not reward.earned_when:
            score.reason = "the condition is in words only; add earned_when to have it checked"
            return score
        measured = [s for s in shared if s.status != NOT_MEASURED]
        if "every-target-met" in reward.earned_when and not measured:
            score.reason = "no commitment with a target could be measured from the data given"
            return score
        if "revenue-on-goal" in reward.earned_when and (revenue is None or revenue.status == NOT_MEASURED):
            score.reason = "revenue-on-goal needs a revenue goal and deals with close date, amount and outcome" + (
                f" ({revenue.reason})" if revenue and revenue.reason else ""
            )
            return score
        months = {"month": 1, "quarter": 3, "year": 12}.get(reward.period or "month", 1)
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(self.periods):
            if months == 12:
                key = f"{p.first.year}"
            elif months == 3:
                key = f"{p.first.year}-Q{(p.first.month - 1) // 3 + 1}"
            else:
                key = p.label
            groups.setdefault(key, []).append(i)
        for key, members in groups.items():
            # whole: no period of the group is still to come (its calendar span is over, or the term)
            start, last = self.periods[members[0]].unit_first, self.periods[members[-1]]
            if months == 12:
                start = start.replace(month=1)
            elif months == 3:
                start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
            ended = self.a.end is not None and last.after > self.a.end
            whole = last.after >= add_months(start, months) or ended
            if not all(self.closed[i] for i in members) or not whole:
                score.periods.append((key, IN_PROGRESS, None))
                continue
            why = []
            for i in members:
                if "every-target-met" in reward.earned_when:
                    short = [s.id for s in measured if s.periods[i].status != MET]
                    if short:
                        why.append(f"{self.periods[i].label}: not met: {', '.join(short)}")
                if "revenue-on-goal" in reward.earned_when and revenue and revenue.periods[i].status != MET:
                    why.append(f"{self.periods[i].label}: revenue below goal")
            score.periods.append((key, "not-earned" if why else "earned", "; ".join(why) or None))
        done = [p for p in score.periods if p[1] != IN_PROGRESS]
        score.status = done[-1][1] if done else IN_PROGRESS
        return score


def _median(values: np.ndarray) -> float | None:
    """The median of sorted values (np.median would sort again, and loads numpy.ma the first time)."""
    n = len(values)
    if not n:
        return None
    middle = n // 2
    return float(values[middle]) if n % 2 else float((values[middle - 1] + values[middle]) / 2)


def _nearest_rank(values: np.ndarray, pct: int) -> float | None:
    """The nearest-rank percentile of sorted values (a value that occurred)."""
    if not len(values):
        return None
    return float(values[max(math.ceil(pct / 100 * len(values)) - 1, 0)])


def _allowed_minutes(duration: Duration) -> float:
    if duration.unit == "business hour":
        return float(duration.value * 60)
    return float(duration.magnitude) if not duration.is_business else float(duration.value * 8 * 60)


def score(agreements: list[Agreement], exports: Exports, as_of: dt.date, unit: str) -> Scorecard:
    """The scorecard of each agreement over the exports."""
    results = []
    for a in agreements:
        exports.use_sources(a.lead_sources)  # its own: another agreement may name its ids differently
        results.append(Measure(a, exports, as_of, unit).run())
    inputs = [(t.kind, t.path, t.sha256, t.rows, t.left_out) for t in exports.tables.values()]
    return Scorecard(as_of, unit, inputs, results)


__all__ = ["Money", "Percentage", "Scorecard", "score"]
