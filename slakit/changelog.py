"""The changelog for quarterly reviews, and the status table: history read out for people."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from .diff import change_line, effect_text
from .errors import UsageError
from .gitread import Repo
from .history import History, QuarterGroup, group, parse_quarter, review_tags
from .rules import date


def _bound(repo: Repo, value: str | None, option: str) -> tuple[str | None, dt.date | None]:
    """--since/--until: a date (YYYY-MM-DD) or a revision; anything else is a usage error."""
    if value is None:
        return None, None
    if date(value):
        return value, date(value)
    if re.match(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$", value):
        raise UsageError(f"{option} '{value}' is not a date written YYYY-MM-DD (or a Git revision)")
    repo.verify(value)
    return value, None


def shallow_problem(repo: Repo) -> str | None:
    """Where history stops in a shallow clone, or None when it is complete."""
    if not repo.shallow:
        return None
    boundary = (repo.root / ".git" / "shallow").read_text().split() if (repo.root / ".git" / "shallow").is_file() else []
    where = ""
    if boundary:
        info = repo.git("log", "-1", "--format=%h %cs", boundary[0], check=False).stdout.strip()
        where = f" at {info}" if info else ""
    return (f"the history is truncated{where}: this is a shallow clone, so older changes cannot be listed; "
            "run 'git fetch --unshallow' and try again")


def collect(paths: list[str], since: str | None, until: str | None, quarter: str | None, fy_start: int,
            terms_only: bool, progress: Any = None) -> tuple[History, list[QuarterGroup]]:
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
        history = History(repo, git_paths, since_rev if not since_day else None,
                          until_rev if not until_day else None, progress).read()
        groups = group(history, fy_start, review_tags(repo), terms_only, since_day, until_day, only)
    return history, groups


def as_json(groups: list[QuarterGroup]) -> str:
    out = []
    for g in groups:
        agreements = []
        for a in g.agreements:
            agreements.append({
                "id": a["id"], "title": a["title"], "path": a["path"], "summary": a["summary"],
                "reviews_held": [d.isoformat() for d in a["reviews_held"]],
                "reviews_due": [d.isoformat() for d in a["reviews_due"]], "review_tagged": a["review_tagged"],
                "commits": [{
                    "sha": e.commit.sha, "date": e.local_date.isoformat(), "author": e.commit.author,
                    "subject": e.commit.subject, "pull_request": e.commit.pull_request, "kind": e.kind,
                    "path": e.path, "old_path": e.old_path,
                    "changes": [c.as_json() for c in e.changes if c.op != "moved"],
                    "problems": [p.format() for p in e.problems],
                } for e in a["entries"]],
            })
        out.append({"quarter": g.quarter, "agreements": agreements})
    return json.dumps({"quarters": out}, indent=2, ensure_ascii=False, default=str) + "\n"


def document(groups: list[QuarterGroup], history: History, fmt: str, templates: Path | None = None) -> str:
    """The changelog as Markdown, or as a standalone HTML page."""
    from .markdown import MdText, to_html
    from .render import Renderer, tidy

    renderer = Renderer(templates)
    names = {key: {p["id"]: p["name"] for p in thread.data.get("parties", [])}
             for key, thread in history.threads.items() if thread.data}
    markdown = tidy(renderer._render(renderer.markdown_env, "changelog.md.j2", groups=groups, line=change_line,
                                     effect=lambda c: effect_text(c, _party_names(names))))
    if fmt == "md":
        return markdown
    body, _ = to_html(markdown.split("\n", 1)[1])  # the page's own header carries the title
    return renderer._render(renderer.html_env, "changelog.html.j2", body=MdText(body), style=renderer.style())


def _party_names(names: dict[str, dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for per_agreement in names.values():
        merged.update(per_agreement)
    return merged


def render(fmt: str, paths: list[str], since: str | None, until: str | None, quarter: str | None,
           fy_start: int, terms_only: bool, templates: Path | None, progress: Any = None) -> str:
    history, groups = collect(paths, since, until, quarter, fy_start, terms_only, progress)
    if fmt == "json":
        return as_json(groups)
    return document(groups, history, fmt, templates)


def status_rows(paths: list[str], today_: dt.date) -> list[dict[str, Any]]:
    """One row per agreement: status, last change (from Git), next review, overdue, problems."""
    from .present import signoff_summary
    from .rules import next_review
    from .validate import validate_paths

    report = validate_paths(paths, keep=True)
    last_change: dict[str, str] = {}
    if Repo.contains(Path.cwd()):
        with Repo(Path.cwd()) as repo:
            out = repo.git("log", "--format=%x1e%cs", "--name-only", "--", *[repo.relative(Path(p)) for p in paths],
                           check=False).stdout
            for chunk in out.split("\x1e")[1:]:
                day, *names = chunk.strip().split("\n")
                for name in names:
                    if name.strip():
                        last_change.setdefault(str((repo.root / name.strip()).resolve()), day)
            dirty = repo.git("status", "--porcelain", "--", *[repo.relative(Path(p)) for p in paths], check=False).stdout
            for line in dirty.splitlines():
                last_change[str((repo.root / line[3:].strip()).resolve())] = "uncommitted"
    rows = []
    for result in report.files:
        data = result.document.data if result.document else {}
        review = next_review(data) if data else None
        rows.append({
            "path": result.path, "id": data.get("id"), "status": data.get("status"),
            "last_change": last_change.get(str(Path(result.path).resolve())),
            "next_review": review.isoformat() if review else None,
            "overdue": bool(review and review < today_ and data.get("status") != "retired"),
            "signoff": signoff_summary(data) if result.ok and data.get("status") != "retired" else None,
            "problems": sum(p.severity == "error" for p in result.problems),
        })
    return rows
