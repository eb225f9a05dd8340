"""The status command: one row per agreement (status, last change, next review, sign-off)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ..checking.validate import FileResult, validate_paths
from ..errors import ERROR, UsageError
from ..model.review import DUE_SOON_DAYS, ReviewSchedule
from ..model.terms import signature_state
from ..world.git import Repo


def status_rows(paths: list[str], today_: dt.date) -> list[dict[str, Any]]:
    """One row per agreement: status, last change (from Git), next review and whether it is
    overdue or due soon, sign-off, and the number of errors (an invalid agreement still
    shows what can be read of it)."""
    report = validate_paths(paths, keep=True)
    last_change = _last_changes(paths)
    return [_row(result, last_change, today_) for result in report.files]


def _row(result: FileResult, last_change: dict[str, str], today_: dt.date) -> dict[str, Any]:
    data = result.document.data if result.document else {}
    data = data if isinstance(data, dict) else {}
    review = ReviewSchedule.from_data(data)
    upcoming = review.next_review
    signoff, state = None, None
    if isinstance(data.get("signoff"), dict):
        evidence = result.evidence
        try:
            state = signature_state(data, evidence.rosters if evidence else None, evidence.checks if evidence else None)
            signoff = state.summary(data.get("status") == "retired")
        except (TypeError, AttributeError, KeyError, ValueError):
            signoff, state = None, None  # too malformed to tell; the errors say why
    status = data.get("status") if isinstance(data.get("status"), str) else None
    return {
        "path": result.path,
        "id": data.get("id") if isinstance(data.get("id"), str) else None,
        "status": status,
        "last_change": last_change.get(str(Path(result.path).resolve())),
        "next_review": upcoming.isoformat() if upcoming else None,
        "overdue": review.overdue(today_),
        "due_soon": review.due_soon(today_),
        "signoff": signoff,
        "signatures": [
            {"name": sig.name, "role": sig.role, "party": sig.party, "date": sig.date, "state": sig.state}
            | ({"why": sig.why} if sig.why else {})
            for sig in (state.signatures if state else ())
        ],
        "awaiting": state.awaiting() if state and data.get("status") != "retired" else [],
        "problems": sum(p.severity == ERROR for p in result.problems),
        "valid": result.ok,
    }


def _last_changes(paths: list[str]) -> dict[str, str]:
    """Resolved path -> the day of the last commit that touched it, or "uncommitted"."""
    found: dict[str, str] = {}
    if not Repo.contains(Path.cwd()):
        return found
    with Repo(Path.cwd()) as repo:
        inside = []
        for p in paths:
            try:
                inside.append(repo.relative(Path(p)))
            except UsageError:  # a path outside this repository has no history here
                continue
        if not inside:
            return found
        # The log read as bytes and parsed leniently (world/git.py), so no commit's name, date
        # or file name can break the table; porcelain -z for the same reason.
        has_head = repo.git("rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip()
        for commit in repo.log("--", *inside) if has_head else []:
            for change in commit.files:
                found.setdefault(str((repo.root / change.path).resolve()), commit.date.date().isoformat())
        dirty = repo.git("status", "--porcelain", "-z", "--untracked-files=all", "--", *inside, check=False)
        records = iter(dirty.stdout.split("\0"))
        for record in records:
            if len(record) > 3:
                found[str((repo.root / record[3:]).resolve())] = "uncommitted"
                if record[0] in "RC":
                    next(records, None)  # a rename's or copy's source follows
    return found


def status_table(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The rows as the text table shows them, header first."""
    table: list[tuple[str, ...]] = [("Agreement", "Status", "Last change", "Next review", "Sign-off", "Attention")]
    for r in rows:
        notes = []
        if not r["valid"]:
            notes.append(
                f"INVALID ({r['problems']} error{'s' * (r['problems'] != 1)}: run `slakit validate {r['path']}`)"
            )
        if r["overdue"]:
            notes.append("review OVERDUE")
        elif r["due_soon"]:
            notes.append(f"review due within {DUE_SOON_DAYS} days")
        table.append(
            (
                r["id"] or r["path"],
                r["status"] or "?",
                r["last_change"] or "not in Git",
                r["next_review"] or "not set",
                _signoff_cell(r),
                "; ".join(notes),
            )
        )
    return table


def _signoff_cell(row: dict[str, Any]) -> str:
    """ "awaiting 1 of 3 signatures (2 verified, 1 stale)": the summary and each state's count."""
    if not row["signoff"]:
        return "?"
    states = [s["state"] for s in row["signatures"]]
    counts = ", ".join(f"{states.count(k)} {k}" for k in ("verified", "unverified", "stale", "invalid") if k in states)
    summary = re.sub(r" \(\d+ stale\)$", "", str(row["signoff"]))  # the stale count is among the counts
    return f"{summary} ({counts})" if counts else summary
