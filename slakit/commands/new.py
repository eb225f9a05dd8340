"""Scaffolding: a new agreement from a commented starter, valid as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2

from ..checking.rules import timezone_problem
from ..checking.validate import check_source
from ..errors import ERROR, UsageError, WriteError, shown
from ..model.dates import add_months
from ..model.review import CADENCE_MONTHS
from ..world.clock import today
from ..world.files import agreement_files, create_new
from ..world.load import load_bytes, load_file
from ..world.resources import TEMPLATES
from ..world.text import BIDI, CONTROL, display_path

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
    _check_text("--title", title)
    path = folder / f"{ident}.yaml"
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path} already exists; choose another id or edit that file")
    problem = timezone_problem(timezone)
    if problem:
        raise UsageError(f"--timezone: {problem}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"'{folder}' is a file, not a folder for agreements")
    if (owner := _owner_of(ident, folder)) is not None:
        raise UsageError(
            f"agreement id {shown(ident)} is already used by {owner}; choose another id "
            "(two agreements with one id would publish to the same page)"
        )
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
    # Whatever was typed, the file written must validate: check it before it exists.
    checked = check_source(load_bytes(text.encode(), str(path)), str(path), day, {})
    errors = [p for p in checked.problems if p.severity == ERROR]
    if errors:
        lines = "\n".join(p.format() for p in errors)
        raise UsageError(f"the options would make an agreement that does not validate; nothing was written:\n{lines}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        create_new(path, text.encode())  # all or nothing; never replaces a file or a planted link
    except FileExistsError:
        raise UsageError(f"{path} already exists; choose another id or edit that file") from None
    except OSError as exc:
        raise WriteError(f"cannot write '{path}': {exc.strerror or exc}") from None
    return path


def _owner_of(ident: str, folder: Path) -> str | None:
    """The agreement file under `folder` whose id is `ident` (a renamed file keeps its id)."""
    if not folder.is_dir():
        return None
    for path in agreement_files(folder):
        doc, _ = load_file(path, display_path(str(path)))
        if doc is not None and doc.data.get("id") == ident:
            return doc.path
    return None


def _check_text(option: str, value: str | None) -> None:
    """Text typed as an option follows the rules of text in the YAML: one line, no control
    characters or bidirectional overrides, not blank."""
    if value is None:
        return
    if not value.strip() or CONTROL.search(value) or BIDI.search(value) or "\n" in value or len(value) > 200:
        raise UsageError(
            f"{option} {shown(value)} is not accepted: write it on one line, without control characters, "
            "in at most 200 characters"
        )
