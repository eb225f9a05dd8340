"""The changelog as people and machines read it: Markdown, a standalone HTML page, JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ..comparing.history import History, QuarterGroup
from ..model.agreement import party_names
from .diff import change_line, effect_text
from .markdown import MdText, to_html
from .render import Renderer, tidy


def as_json(groups: list[QuarterGroup]) -> str:
    out = []
    for g in groups:
        agreements = []
        for a in g.agreements:
            agreements.append(
                {
                    "id": a["id"],
                    "title": a["title"],
                    "path": a["path"],
                    "summary": a["summary"],
                    "reviews_held": [d.isoformat() for d in a["reviews_held"]],
                    "reviews_due": [d.isoformat() for d in a["reviews_due"]],
                    "review_tagged": a["review_tagged"],
                    "commits": [
                        {
                            "sha": e.commit.sha,
                            "date": e.local_date.isoformat(),
                            "author": e.commit.author,
                            "subject": e.commit.subject,
                            "pull_request": e.commit.pull_request,
                            "note": e.commit.problem,
                            "kind": e.kind,
                            "path": e.path,
                            "old_path": e.old_path,
                            "changes": [c.as_json() for c in e.changes if c.op != "moved"],
                            "problems": [p.as_json() for p in e.problems],
                        }
                        for e in a["entries"]
                    ],
                }
            )
        out.append({"quarter": g.quarter, "agreements": agreements})
    return json.dumps({"quarters": out}, indent=2, ensure_ascii=False, default=str) + "\n"


def document(groups: list[QuarterGroup], history: History, fmt: str, templates: Path | None = None) -> str:
    """The changelog as Markdown, or as a standalone HTML page."""
    renderer = Renderer(templates)
    names = {key: party_names(thread.data) for key, thread in history.threads.items()}
    markdown = tidy(
        renderer.template(
            renderer.markdown_env,
            "changelog.md.j2",
            groups=groups,
            line=change_line,
            effect=lambda c, key=None: effect_text(c, names.get(key, {})),
        )
    )
    if fmt == "md":
        return markdown
    body, _ = to_html(markdown.split("\n", 1)[1])  # the page's own header carries the title
    return renderer.template(renderer.html_env, "changelog.html.j2", body=MdText(body), style=renderer.style())
