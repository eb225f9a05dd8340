"""Scaffolding: a new agreement from a commented starter, valid as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2

from ..errors import UsageError
from ..model.dates import add_months
from ..model.review import CADENCE_MONTHS
from ..world.clock import today
from ..world.resources import TEMPLATES

KINDS = {
    "lead-management": ("quarterly", "Lead management agreement"),
    "social-selling": ("monthly", "Social selling agreement"),
    "buyer-journey-handoff": ("quarterly", "Buyer-journey handoff agreement"),
}
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*\Z")


def new_agreement(kind: str, ident: str, title: str | None, folder: Path, timezone: str = "UTC") -> Path:
    """Write folder/<id>.yaml from the starter for `kind`; never overwrites."""
    if kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}'; choose one of: {', '.join(KINDS)}")
    if not _ID.match(ident) or len(ident) > 64:
        raise UsageError(
            f"'{ident}' is not a valid agreement id: use lower-case letters and digits in words joined "
            "by hyphens, such as acme-lead-management (no spaces, slashes or dots)"
        )
    path = folder / f"{ident}.yaml"
    if path.exists():
        raise UsageError(f"{path} already exists; choose another id or edit that file")
    if not folder.is_dir():
        raise UsageError(f"folder '{folder}' does not exist")
    day = today()
    cadence, default_title = KINDS[kind]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["yaml"] = lambda text: json.dumps(text, ensure_ascii=False)  # a JSON string is valid YAML
    text = env.get_template(f"starters/{kind}.yaml.j2").render(
        id=ident,
        kind=kind,
        title=title or default_title,
        today=day.isoformat(),
        cadence=cadence,
        next_review=add_months(day, CADENCE_MONTHS[cadence]).isoformat(),
        mid_year=add_months(day, 6).isoformat(),
        year_end=add_months(day, 12).isoformat(),
        timezone=timezone,
    )
    try:
        with path.open("x", encoding="utf-8") as handle:  # "x": fail rather than overwrite, even in a race
            handle.write(text)
    except FileExistsError:
        raise UsageError(f"{path} already exists; choose another id or edit that file") from None
    return path
