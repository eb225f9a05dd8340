"""Files on disk: which files are agreements, and writing outputs safely.

One rule says what an agreement file is, for the work tree and for Git history alike:
a `.yaml` or `.yml` file that is not inside a hidden folder (`sla/.drafts/x.yaml` is not
published, checked or compared).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import UsageError, WriteError

YAML_SUFFIXES = (".yaml", ".yml")
# Pages the toolkit publishes next to the agreements' own (<id>.md, <id>.html, <id>.pdf): an
# agreement whose id is one of these would overwrite it, so such an id is refused.
TOOLKIT_PAGES = frozenset({"index", "changelog", "scorecard", "plan", "diff", "preview", "style"})


def is_agreement_path(relative: str | PurePosixPath | Path) -> bool:
    """Whether a path, relative to the folder searched, names an agreement file."""
    parts = PurePosixPath(str(relative).replace(os.sep, "/")).parts
    return bool(parts) and parts[-1].endswith(YAML_SUFFIXES) and not any(p.startswith(".") for p in parts[:-1])


def is_agreement_under(name: str, roots: list[str]) -> bool:
    """Whether a Git path (posix, from the top) is an agreement file under one of `roots`
    (Git paths of folders or files, as the user named them)."""
    for root in roots:
        root = root.rstrip("/")
        if root in ("", "."):
            relative = name
        elif name == root:
            relative = PurePosixPath(name).name
        elif name.startswith(root + "/"):
            relative = name[len(root) + 1 :]
        else:
            continue
        if is_agreement_path(relative):
            return True
    return False


def agreement_files(folder: Path) -> list[Path]:
    """The agreement files under a folder, sorted (hidden folders left out)."""
    return sorted(p for p in folder.rglob("*") if is_agreement_path(p.relative_to(folder)) and p.is_file())


def find_agreements(paths: Iterable[str]) -> list[tuple[Path, str]]:
    """Expand files and folders to agreement files, as (path, name to show). Usage error if absent."""
    found: list[tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = agreement_files(path)
            if not files:
                raise UsageError(f"no agreements (*.yaml, *.yml) found in folder '{given}'")
            found += [(p, str(p)) for p in files]
        elif path.exists():
            found.append((path, str(path)))
        else:
            raise UsageError(f"path '{given}' does not exist")
    unique: dict[Path, str] = {}
    for path, name in found:
        unique.setdefault(path.resolve(), name)
    return [(path, name) for path, name in unique.items()]


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write `content` atomically (temporary file, then rename); skip if the bytes are the same."""
    try:
        if path.read_bytes() == content:
            return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def write_output(path: Path, text: str) -> None:
    """A report the user asked for with --out."""
    try:
        write_if_changed(path, text.encode())
    except OSError as exc:
        raise WriteError(f"cannot write '{path}': {exc.strerror or exc}") from None
