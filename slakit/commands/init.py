"""Setting up a repository for agreements: what `slakit init` and `slakit schema` write."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import jinja2

from ..errors import WriteError
from ..world.files import write_output
from ..world.resources import SCHEMA_PATH, TEMPLATES, install_source

SCHEMA_FILE = "schema/sla.schema.json"  # the starters' first line points here: ../schema/ from sla/
SCHEMA_GLOBS = ["sla/*.yaml", "sla/*.yml", "sla/**/*.yaml", "sla/**/*.yml"]
README_HEADING = "## Service level agreements"


def schema_text() -> str:
    """The agreements' JSON Schema, as shipped with this slakit."""
    return SCHEMA_PATH.read_text(encoding="utf-8")


def write_schema(path: Path) -> None:
    """Write the schema to `path`, creating its folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create folder '{path.parent}': {exc.strerror or exc}") from None
    write_output(path, schema_text())


def init_repository(root: Path, source: str | None = None) -> list[str]:
    """Write what a repository needs to keep agreements, never overwriting; one line per file."""
    placeholder = False
    if source is None:
        source, real = install_source()
        placeholder = not real
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["shell"] = shlex.quote
    files = {
        ".pre-commit-config.yaml": ("init/pre-commit-config.yaml.j2", "the pre-commit hook: `pre-commit install`"),
        ".github/workflows/sla.yml": ("init/workflow.yml.j2", "checks pull requests, publishes main"),
    }
    lines: list[str] = []
    try:
        if (root / "sla").is_dir():
            lines.append("sla/: exists")
        else:
            (root / "sla").mkdir(parents=True)
            lines.append("sla/: created (agreements go here: `slakit new KIND ID` starts one)")
        lines.append(_write_new(root, SCHEMA_FILE, schema_text(), "editors complete and check fields from it"))
        lines.append(_editor_settings(root, ".vscode/settings.json"))
        for name, (template, what) in files.items():
            text = env.get_template(template).render(source=source)
            lines.append(_write_new(root, name, text, what))
        section = env.get_template("init/readme.md.j2").render(source=source, placeholder=placeholder)
        lines.append(_readme(root, "README.md", section))
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise WriteError(f"cannot set up '{root}': {exc.strerror or exc}{where}") from None
    if placeholder and any(line.endswith(what + ")") for line in lines for _t, what in files.values()):
        lines.append(
            "note: this slakit was not installed from a public source, so the pre-commit config and the "
            f"workflow install {source!r}: replace OWNER and TAG there with where your team gets slakit "
            "(or delete both files and run `slakit init --source SPEC`)"
        )
    return lines


def _write_new(root: Path, name: str, text: str, what: str) -> str:
    path = root / name
    if path.exists():
        same = path.read_text(encoding="utf-8", errors="replace") == text
        return f"{name}: {'up to date' if same else 'exists, left as it is'}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return f"{name}: created ({what})"


def _editor_settings(root: Path, name: str) -> str:
    """Map the schema to the agreements in VS Code's YAML extension, keeping other settings."""
    path = root / name
    loaded: Any = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # VS Code allows comments; rewriting would lose them
            loaded = None
        if not isinstance(loaded, dict):
            return f'{name}: not plain JSON, left as it is (add "yaml.schemas": {{"./{SCHEMA_FILE}": {SCHEMA_GLOBS}}})'
    settings: dict[str, Any] = loaded
    schemas = settings.setdefault("yaml.schemas", {})
    if not isinstance(schemas, dict):
        return f'{name}: "yaml.schemas" is not a mapping, left as it is'
    if schemas.get(f"./{SCHEMA_FILE}") == SCHEMA_GLOBS:
        return f"{name}: up to date"
    existed = path.exists()
    schemas[f"./{SCHEMA_FILE}"] = SCHEMA_GLOBS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return f"{name}: {'schema mapping added' if existed else 'created'} (VS Code's YAML extension checks sla/ against the schema)"


def _readme(root: Path, name: str, section: str) -> str:
    path = root / name
    existed = path.exists()
    text = path.read_text(encoding="utf-8") if existed else f"# {root.resolve().name}\n"
    if README_HEADING in text:
        return f"{name}: already has a '{README_HEADING[3:]}' section"
    path.write_text(text.rstrip("\n") + "\n" + section, encoding="utf-8")
    return f"{name}: {'added' if existed else 'created with'} a section '{README_HEADING[3:]}' (how to use slakit here)"
