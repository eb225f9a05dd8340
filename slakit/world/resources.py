"""Files shipped with slakit: the schema and the templates."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent.parent


def resource(name: str) -> Path:
    """A folder shipped with slakit: beside the package in a checkout, inside it when installed."""
    checkout = _PACKAGE.parent / name
    return checkout if checkout.is_dir() and (_PACKAGE.parent / "cli.py").is_file() else _PACKAGE / name


SCHEMA_PATH = resource("schema") / "sla.schema.json"
TEMPLATES = resource("templates")
ENGINE = _PACKAGE


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The schema as data (read once per process)."""
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


PLACEHOLDER_SOURCE = "slakit @ git+https://github.com/OWNER/slakit@TAG"


def install_source() -> tuple[str, bool]:
    """How another repository installs this same slakit with pip, and whether that is real.

    pip records where a package came from (PEP 610, direct_url.json): a Git URL and
    commit, or nothing for a package index. A local folder cannot be installed elsewhere,
    so it gives a placeholder (False) for the user to replace.
    """
    from importlib import metadata

    from slakit import __version__

    try:
        recorded = metadata.distribution("slakit").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return PLACEHOLDER_SOURCE, False
    if not recorded:
        return f"slakit=={__version__}", True
    try:
        origin = json.loads(recorded)
        vcs = origin.get("vcs_info") or {}
        if vcs.get("vcs") == "git" and str(origin.get("url", "")).startswith(("https://", "ssh://", "git@")):
            return f"slakit @ git+{origin['url']}@{vcs.get('requested_revision') or vcs['commit_id']}", True
    except (ValueError, KeyError, AttributeError, TypeError):
        pass
    return PLACEHOLDER_SOURCE, False
