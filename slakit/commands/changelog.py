"""The changelog command: read the agreements' history from Git and group it by quarter."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ..comparing.history import History, QuarterGroup, group, parse_quarter, review_tags
from ..comparing.history_cache import HistoryCache
from ..errors import UsageError
from ..model.dates import FIRST_YEAR, LAST_YEAR, read_date
from ..model.dates import parse_date as date
from ..world.clock import today
from ..world.git import Repo


def _bound(repo: Repo, value: str | None, option: str) -> tuple[str | None, dt.date | None]:
    """--since/--until: a date (YYYY-MM-DD) or a revision; anything else is a usage error."""
    if value is None:
        return None, None
    if date(value):
        return value, date(value)
    if read_date(value):
        raise UsageError(f"{option} {value}: give a date in the years {FIRST_YEAR} to {LAST_YEAR} (or a Git revision)")
    if re.match(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$", value):
        raise UsageError(f"{option} '{value}' is not a date written YYYY-MM-DD (or a Git revision)")
    repo.verify(value)
    return value, None


def shallow_problem(repo: Repo) -> str | None:
    """Where history stops in a shallow clone, or None when it is complete."""
    if not repo.shallow:
        return None
    boundary = (
        (repo.root / ".git" / "shallow").read_text().split() if (repo.root / ".git" / "shallow").is_file() else []
    )
    where = ""
    if boundary:
        info = repo.git("log", "-1", "--format=%h %cs", boundary[0], check=False).stdout.strip()
        where = f" at {info}" if info else ""
    return (
        f"the history is truncated{where}: this is a shallow clone, so older changes cannot be listed; "
        "run 'git fetch --unshallow' and try again"
    )


def collect(
    paths: list[str],
    since: str | None,
    until: str | None,
    quarter: str | None,
    fy_start: int,
    terms_only: bool,
    progress: Any = None,
    today: dt.date | None = None,
    cache: bool = True,
) -> tuple[History, list[QuarterGroup]]:
    """The history under `paths` and its quarters. With `cache`, what earlier runs worked
    out from the same revisions is reused, and what this run works out is kept (in the Git folder)."""
    if not 1 <= fy_start <= 12:
        raise UsageError(f"--fiscal-year-start must be a month number from 1 to 12, not {fy_start}")
    if not Repo.contains(Path.cwd()):
        raise UsageError(f"'{Path.cwd()}' is not inside a Git repository; the changelog is read from Git history")
    with Repo(Path.cwd()) as repo:
        problem = shallow_problem(repo)
        if problem:
            raise UsageError(problem)
        since_rev, since_day = _bound(repo, since, "--since")
        until_rev, until_day = _bound(repo, until, "--until")
        only = parse_quarter(quarter) if quarter else None
        git_paths = [repo.relative(Path(p)) for p in paths]
        history = History(
            repo,
            git_paths,
            since_rev if not since_day else None,
            until_rev if not until_day else None,
            progress,
            HistoryCache(repo.common_dir()) if cache else None,
        ).read()
        groups = group(history, fy_start, review_tags(repo), terms_only, since_day, until_day, only, today)
    return history, groups


def render(
    fmt: str,
    paths: list[str],
    since: str | None,
    until: str | None,
    quarter: str | None,
    fy_start: int,
    terms_only: bool,
    templates: Path | None,
    progress: Any = None,
    colour: bool = False,
    cache: bool = True,
) -> str:
    history, groups = collect(paths, since, until, quarter, fy_start, terms_only, progress, today(), cache)
    from ..output.changelog import as_json, as_text, document

    if fmt == "json":
        return as_json(groups)
    if fmt == "text":
        return as_text(groups, history, colour)
    return document(groups, history, fmt, templates)
