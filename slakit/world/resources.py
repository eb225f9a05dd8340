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
