"""The status command: one row per agreement (status, last change, next review, sign-off)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..checking.validate import content_errors, validate_paths
from ..model.agreement import Agreement
from ..world.git import Repo
from ..world.text import display_path


def _git_name(path: str, root: Path) -> str:
    try:
        return display_path(Path(path).resolve().relative_to(root).as_posix())
    except ValueError:
        return ""


def status_rows(paths: list[str], today_: dt.date) -> list[dict[str, Any]]:
    """One row per agreement: status, last change (from Git), next review, overdue, problems."""
    report = validate_paths(paths, keep=True)
    last_change: dict[str, str] = {}  # Git path (as displayed) -> day
    root: Path | None = None
    if Repo.contains(Path.cwd()):
        with Repo(Path.cwd()) as repo:
            relative = [repo.relative(Path(p)) for p in paths]
            has_head = repo.git("rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip()
            for commit in repo.log("--", *relative) if has_head else []:
                for change in commit.files:
                    last_change.setdefault(change.path, commit.date.date().isoformat())
            dirty = repo.git("status", "--porcelain", "-z", "--", *relative, check=False).stdout.split("\0")
            records = iter(dirty)
            for record in records:
                if len(record) > 3:
                    last_change[display_path(record[3:])] = "uncommitted"
                    if record[0] in "RC":
                        next(records, None)  # a rename's or copy's source follows
            root = repo.root
    rows = []
    for result in report.files:
        data = result.document.data if result.document else {}
        agreement = Agreement.from_data(data) if result.document and not content_errors(result.problems) else None
        review = agreement.review.next_review if agreement else None
        rows.append(
            {
                "path": result.path,
                "id": data.get("id"),
                "status": data.get("status"),
                "last_change": last_change.get(_git_name(result.path, root)) if root else None,
                "next_review": review.isoformat() if review else None,
                "overdue": bool(agreement and agreement.review.overdue(today_)),
                "signoff": agreement.signoff_summary() if agreement and result.ok and not agreement.retired else None,
                "problems": sum(p.severity == "error" for p in result.problems),
            }
        )
    return rows
