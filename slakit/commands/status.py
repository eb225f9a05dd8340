"""The status command: one row per agreement (status, last change, next review, sign-off)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..checking.validate import content_errors, validate_paths
from ..model.agreement import Agreement
from ..world.git import Repo


def status_rows(paths: list[str], today_: dt.date) -> list[dict[str, Any]]:
    """One row per agreement: status, last change (from Git), next review, overdue, problems."""
    report = validate_paths(paths, keep=True)
    last_change: dict[str, str] = {}
    if Repo.contains(Path.cwd()):
        with Repo(Path.cwd()) as repo:
            out = repo.git(
                "log", "--format=%x1e%cs", "--name-only", "--", *[repo.relative(Path(p)) for p in paths], check=False
            ).stdout
            for chunk in out.split("\x1e")[1:]:
                day, *names = chunk.strip().split("\n")
                for name in names:
                    if name.strip():
                        last_change.setdefault(str((repo.root / name.strip()).resolve()), day)
            dirty = repo.git(
                "status", "--porcelain", "--", *[repo.relative(Path(p)) for p in paths], check=False
            ).stdout
            for line in dirty.splitlines():
                last_change[str((repo.root / line[3:].strip()).resolve())] = "uncommitted"
    rows = []
    for result in report.files:
        data = result.document.data if result.document else {}
        evidence = result.evidence
        agreement = (
            Agreement.from_data(data, evidence.rosters if evidence else None, evidence.checks if evidence else None)
            if result.document and not content_errors(result.problems)
            else None
        )
        shown = agreement is not None and not agreement.retired
        review = agreement.review.next_review if agreement else None
        rows.append(
            {
                "path": result.path,
                "id": data.get("id"),
                "status": data.get("status"),
                "last_change": last_change.get(str(Path(result.path).resolve())),
                "next_review": review.isoformat() if review else None,
                "overdue": bool(agreement and agreement.review.overdue(today_)),
                "signoff": agreement.signoff_summary() if agreement and shown else None,
                "signatures": [
                    {"name": sig.name, "role": sig.role, "party": sig.party, "date": sig.date, "state": sig.state}
                    | ({"why": sig.why} if sig.why else {})
                    for sig in (agreement.signoff.signatures if agreement and shown else ())
                ],
                "awaiting": agreement.signoff.awaiting() if agreement and shown else [],
                "problems": sum(p.severity == "error" for p in result.problems),
            }
        )
    return rows
