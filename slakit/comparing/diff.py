"""What changed between two versions of the agreements, matched by agreement id.

Every version is validated, and agreements are matched by their `id`, so a moved file is a
rename, not a removal and an addition. A version that does not parse or validate is a
problem of that revision, reported with the validator's messages, and the other agreements
are still compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..checking.validate import check_source, content_errors, unreadable
from ..errors import Problem
from ..model.agreement import party_names
from ..world.clock import today
from ..world.load import RevisionLoader, load_bytes, load_revision
from .compare import Change, compare
from .funnel import funnel_notes


@dataclass
class Version:
    """One agreement file on one side of the comparison."""

    path: str
    data: dict[str, Any] | None
    problems: list[Problem]


@dataclass
class AgreementDiff:
    path: str
    old_path: str | None
    id: str | None
    title: str
    status: str  # added | removed | renamed | changed | unchanged | broken (unreadable)
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    redline: list[Any] | None = None  # the word-by-word redline, when the output asks for one
    no_redline: str | None = None  # why there is none: a version's text could not be rendered
    notes: list[str] = field(default_factory=list)  # what the change does to the funnel
    old_data: dict[str, Any] | None = None
    new_data: dict[str, Any] | None = None
    parties: dict[str, str] = field(default_factory=dict)  # id -> name, for "stricter for Sales"
    version_not_raised: bool = False  # the terms changed, the version number did not go up
    old_breaks_rules: bool = False  # the older version has problems of its own
    new_breaks_rules: bool = False

    def visible(self, show_moves: bool) -> list[Change]:
        return [c for c in self.changes if show_moves or c.op != "moved"]

    def count(self, effect: str) -> int:
        return sum(c.effect == effect for c in self.changes)

    def term_changes(self) -> int:
        """Changes to the terms, the figure the summaries give (signature news is listed, not counted)."""
        return sum(c.term and c.op != "moved" for c in self.changes)


@dataclass
class Side:
    """One side of the comparison: what the user named, and the commit it resolved to."""

    label: str  # for people: "v1.0 (abc1234)", "working tree", a file name
    revision: str | None  # as given; None for the working tree or a file
    commit: str | None = None


@dataclass
class DiffResult:
    old: Side
    new: Side
    agreements: list[AgreementDiff]
    show_moves: bool = False

    @property
    def old_label(self) -> str:
        return self.old.label

    @property
    def new_label(self) -> str:
        return self.new.label

    @property
    def problems(self) -> list[Problem]:
        return sorted(p for a in self.agreements for p in a.problems)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- reading and comparing ----------------------------------------------------------------


def read_versions(
    files: dict[str, bytes | Problem], label: str | None, loader: RevisionLoader | None = None
) -> list[Version]:
    """Load and validate every file of one side; `label` prefixes messages (REV:path).
    A file that could not be read is given as its problem (too large, a link refused).
    Both sides read with one `loader` parse each block the sides share once."""
    versions, day = [], today()
    owners: dict[str, str] = {}  # two files of one side with one id: both cannot be that agreement
    for path, raw in sorted(files.items()):
        shown = f"{label}:{path}" if label else path
        if isinstance(raw, Problem):
            versions.append(Version(path, None, [raw]))
            continue
        loaded = load_revision(raw, shown, loader) if loader is not None else load_bytes(raw, shown)
        checked = check_source(loaded, shown, day, owners)
        errors = content_errors(checked.problems)
        # A version that breaks a rule is still compared (reviewers need its changes most
        # then); its errors are listed beside the changes.
        data = checked.document.data if checked.document is not None and not unreadable(errors) else None
        versions.append(Version(path, data, errors))
    return versions


def compare_sides(old: list[Version], new: list[Version], show_moves: bool = False) -> list[AgreementDiff]:
    """Match versions by agreement id (by path when a version is broken) and compare each pair."""
    old_ids = {v.data["id"]: v for v in old if v.data}
    old_paths = {v.path: v for v in old}
    paired_old: set[str] = set()
    result: list[AgreementDiff] = []
    for version in new:
        before = old_ids.get(version.data["id"]) if version.data else None
        if before is None and (
            version.data is None or (version.path in old_paths and old_paths[version.path].data is None)
        ):
            before = old_paths.get(version.path)  # broken on one side: pair by path
        if before is not None:
            paired_old.add(before.path)
        result.append(_pair(before, version, show_moves))
    for version in old:
        if version.path not in paired_old:
            result.append(_pair(version, None, show_moves))
    return sorted(result, key=lambda d: (d.path, d.old_path or ""))


def _pair(old: Version | None, new: Version | None, show_moves: bool) -> AgreementDiff:
    main = new or old
    assert main is not None
    data = (new and new.data) or (old and old.data) or {}
    diff = AgreementDiff(
        main.path, old.path if old else None, data.get("id"), data.get("title", main.path), "unchanged"
    )
    for version in (old, new):
        if version is not None and version.data:
            diff.parties.update(party_names(version.data))
    diff.old_data, diff.new_data = (old.data if old else None), (new.data if new else None)
    diff.problems = (old.problems if old else []) + (new.problems if new else [])
    diff.old_breaks_rules, diff.new_breaks_rules = bool(old and old.problems), bool(new and new.problems)
    if any(version is not None and version.data is None for version in (old, new)):
        diff.status = "broken"
        return diff
    if old is None or new is None:
        diff.status = "added" if old is None else "removed"
        return diff
    assert old.data is not None and new.data is not None
    diff.changes = compare(old.data, new.data)
    diff.notes = funnel_notes(old.data, new.data) if diff.changes else []
    diff.version_not_raised = bool(diff.term_changes()) and not _raised(
        old.data.get("version"), new.data.get("version")
    )
    if old.path != new.path:
        diff.status = "renamed"
    elif diff.visible(show_moves):
        diff.status = "changed"
    return diff


def _raised(old: Any, new: Any) -> bool:
    """Whether the version went up: 3 -> 4, "2026.1" -> "2026.2". Versions that cannot be
    ordered ("draft-a" -> "draft-b") count as raised when they differ."""
    if old is None or new is None:
        return True
    if str(old) == str(new):
        return False
    try:
        return tuple(int(part) for part in re.split(r"[.-]", str(new))) > tuple(
            int(part) for part in re.split(r"[.-]", str(old))
        )
    except ValueError:
        return True
