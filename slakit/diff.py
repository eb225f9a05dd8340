"""What changed between two versions of the agreements: Git revisions, the work tree, or files.

Each side is read (Git through one `cat-file --batch`), every version is validated, and
agreements are matched by their `id`, so a moved file is a rename, not a removal and an
addition. A version that does not parse or validate is a problem of that revision, reported
with the validator's messages, and the other agreements are still compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .compare import Change, compare, display
from .errors import ERROR, Problem, UsageError
from .gitread import Repo
from .load import load_bytes
from .report import printable
from .validate import YAML_SUFFIXES, check_source, content_errors, today

if TYPE_CHECKING:  # rendering (Jinja, markdown-it) is loaded only when a redline is asked for
    from .redline import RedlineSection
    from .render import Renderer

WORK_TREE = "working tree"


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
    status: str  # added | removed | renamed | changed | unchanged | broken
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    redline: "list[RedlineSection] | None" = None
    parties: dict[str, str] = field(default_factory=dict)  # id -> name, for "stricter for Sales"

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


# -- reading the two sides ------------------------------------------------------------------

def read_versions(files: dict[str, bytes], label: str | None) -> list[Version]:
    """Load and validate every file of one side; `label` prefixes messages (REV:path)."""
    versions, day = [], today()
    owners: dict[str, str] = {}  # two files of one side with one id: both cannot be that agreement
    for path, raw in sorted(files.items()):
        shown = f"{label}:{path}" if label else path
        checked = check_source(load_bytes(raw, shown), shown, day, owners)
        errors = content_errors(checked.problems)
        data = checked.document.data if checked.document is not None and not errors else None
        versions.append(Version(path, data, errors))
    return versions


def git_side(repo: Repo, revision: str, paths: list[str]) -> tuple[Side, list[Version]]:
    """The agreements under `paths` at `revision`, each validated; messages say REV:path."""
    commit = repo.verify(revision)
    files = {name: sha for name, sha in repo.list_files(commit, paths).items()
             if not any(part.startswith(".") for part in name.split("/")[:-1])}  # hidden folders, as validate
    short = commit[:7]
    label = revision if revision.startswith(short) else f"{revision} ({short})"
    return Side(label, revision, commit), read_versions({path: repo.read_blob(sha) for path, sha in files.items()}, revision)


def work_tree_side(repo: Repo, paths: list[Path]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES
                                and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            candidates = [path] if path.is_file() else []
        for file in candidates:
            files[repo.relative(file)] = file.read_bytes()
    return files


# -- matching and comparing -------------------------------------------------------------------

def compare_sides(old: list[Version], new: list[Version], with_redline: bool,
                  templates: Path | None = None, show_moves: bool = False) -> list[AgreementDiff]:
    """Match versions by agreement id (by path when a version is broken) and compare each pair."""
    renderer = None
    if with_redline:
        from .render import Renderer
        renderer = Renderer(templates)
    old_ids = {v.data["id"]: v for v in old if v.data}
    new_ids = {v.data["id"]: v for v in new if v.data}
    old_paths = {v.path: v for v in old}
    new_paths = {v.path: v for v in new}
    paired_old: set[str] = set()
    result: list[AgreementDiff] = []
    for version in new:
        before = old_ids.get(version.data["id"]) if version.data else None
        if before is None and (version.data is None or version.path in old_paths and old_paths[version.path].data is None):
            before = old_paths.get(version.path)  # broken on one side: pair by path
        if before is not None:
            paired_old.add(before.path)
        result.append(_pair(before, version, renderer, show_moves))
    for version in old:
        if version.path not in paired_old:
            result.append(_pair(version, None, renderer, show_moves))
    return sorted(result, key=lambda d: (d.path, d.old_path or ""))


def _pair(old: Version | None, new: Version | None, renderer: "Renderer | None", show_moves: bool) -> AgreementDiff:
    main = new or old
    assert main is not None
    data = (new and new.data) or (old and old.data) or {}
    diff = AgreementDiff(main.path, old.path if old else None, data.get("id"), data.get("title", main.path), "unchanged")
    for version in (old, new):
        if version is not None and version.data:
            diff.parties.update({p["id"]: p["name"] for p in version.data["parties"]})
    diff.problems = (old.problems if old else []) + (new.problems if new else [])
    if diff.problems:
        diff.status = "broken"
        return diff
    if old is None or new is None:
        diff.status = "added" if old is None else "removed"
        if renderer is not None:
            from .redline import redline
            body = _body(renderer, data)
            diff.redline = redline("", body) if old is None else redline(body, "")
        return diff
    assert old.data is not None and new.data is not None
    diff.changes = compare(old.data, new.data)
    if old.path != new.path:
        diff.status = "renamed"
    elif diff.visible(show_moves):
        diff.status = "changed"
    if renderer is not None and diff.status != "unchanged":
        from .redline import redline
        sections = redline(_body(renderer, old.data), _body(renderer, new.data))
        diff.redline = sections if any(s.status != "same" for s in sections) else None
    return diff


def _body(renderer: "Renderer", data: dict[str, Any]) -> str:
    from .render import tidy
    return tidy(renderer._render(renderer.markdown_env, "body.md.j2", **renderer.context(data)))


# -- reports ---------------------------------------------------------------------------------

def effect_text(change: Change, parties: dict[str, str]) -> str:
    if not change.effect:
        return ""
    party = parties.get(change.party or "", change.party)
    return f"{change.effect} for {party}" if party else change.effect


def change_line(change: Change) -> str:
    """One change as a sentence: "label: old -> new", "label: added", ..."""
    if change.op == "changed":
        return f"{change.label}: {display(change.old, change.path)} -> {display(change.new, change.path)}"
    if change.op == "moved":
        return f"{change.label}: moved" + (f" from position {change.old} to {change.new}" if isinstance(change.old, int) else "")
    return f"{change.label}: {change.op}"


def as_json(result: DiffResult) -> str:
    agreements = []
    for a in result.agreements:
        entry: dict[str, Any] = {"path": a.path, "id": a.id, "status": a.status,
                                 "changes": [c.as_json() for c in a.visible(result.show_moves)]}
        if a.old_path and a.old_path != a.path:
            entry["old_path"] = a.old_path
        if a.problems:
            entry["problems"] = [{"path": p.path, "line": p.line, "column": p.column, "rule": p.rule,
                                  "message": p.message} for p in a.problems]
        agreements.append(entry)
    sides = {"from": result.old.revision, "to": result.new.revision,
             "from_commit": result.old.commit, "to_commit": result.new.commit}
    return json.dumps({**sides, "agreements": agreements},
                      indent=2, ensure_ascii=False, default=str) + "\n"


_SIGNS = {"added": "+", "removed": "-", "changed": "~", "moved": ">"}
_COLOURS = {"added": "green", "removed": "red", "changed": "yellow", "moved": "cyan"}


def as_text(result: DiffResult, colour: bool) -> str:
    import click

    def paint(text: str, fg: str, bold: bool = False) -> str:
        text = printable(text)  # text from the files is made safe before any colour is added
        return click.style(text, fg=fg, bold=bold) if colour else text

    changed = [a for a in result.agreements if a.status != "unchanged"]
    total = len(result.agreements)
    lines = [printable(f"Comparing {result.old_label} with {result.new_label}: {len(changed)} of {total} "
                       f"agreement{'s' * (total != 1)} {'differs' if len(changed) == 1 else 'differ'}")]
    for a in result.agreements:
        if a.status == "unchanged":
            continue
        visible = a.visible(result.show_moves)
        where = f"{a.old_path} -> {a.path}" if a.status == "renamed" else a.path
        tally = ""
        if visible:
            terms = a.term_changes()
            tally = f" ({terms} change{'s' * (terms != 1)} to the terms" if terms else " (no change to the terms"
            tally += "".join(f", {a.count(e)} {e}" for e in ("stricter", "looser") if a.count(e)) + ")"
        lines.append("")
        lines.append(paint(f"{where}: {a.status}", "red" if a.status == "broken" else "white", bold=True) + paint(tally, "white"))
        for problem in a.problems:
            lines.append("  " + paint(problem.format(), "red"))
        parties = a.parties
        for change in visible:
            effect = effect_text(change, parties)
            line = f"  {_SIGNS[change.op]} {change_line(change)}" + (f"  [{effect}]" if effect else "")
            lines.append(paint(line, _COLOURS[change.op]))
    return "\n".join(lines) + "\n"


def document(result: DiffResult, fmt: str, templates: Path | None = None) -> str:
    """The md or html report: a summary table of changes, then the redline."""
    from .markdown import MdText
    from .redline import to_critic, to_html_marks
    from .render import Renderer, tidy

    renderer = Renderer(templates)
    rows = []
    for a in result.agreements:
        parties = a.parties
        rows.append({
            "diff": a,
            "changes": [{"change": c, "line": change_line(c), "label": c.label,
                         "old": display(c.old, c.path) if c.op == "changed" else "",
                         "new": display(c.new, c.path) if c.op == "changed" else "",
                         "effect": effect_text(c, parties)} for c in a.visible(result.show_moves)],
            "sections": [{"status": s.status, "level": s.level,
                          "heading": MdText(to_critic(s.heading) if fmt == "md" else to_html_marks(s.heading, inline=True)),
                          "body": MdText(to_critic(s.body) if fmt == "md" else to_html_marks(s.body))}
                         for s in a.redline or []],
        })
    context = {"result": result, "rows": rows}
    if fmt == "md":
        return tidy(renderer._render(renderer.markdown_env, "diff.md.j2", **context))
    return renderer._render(renderer.html_env, "diff.html.j2", style=renderer.style(), **context)


def collect(repo: Repo, revisions: list[str], paths: list[Path]) -> tuple[Side, Side, list[Version], list[Version]]:
    """Read both sides: no revision = HEAD vs work tree; one = REV vs work tree; two = A vs B."""
    git_paths = [repo.relative(p) for p in paths]
    if len(revisions) > 2:
        raise UsageError(f"at most two revisions can be compared, got {len(revisions)}: {', '.join(revisions)}")
    old_side, old = git_side(repo, revisions[0] if revisions else "HEAD", git_paths)
    if len(revisions) == 2:
        new_side, new = git_side(repo, revisions[1], git_paths)
        return old_side, new_side, old, new
    return old_side, Side(WORK_TREE, None), old, read_versions(work_tree_side(repo, paths), None)


def run_diff(args: list[str], files: tuple[str, str] | None, fmt: str, show_moves: bool,
             templates: Path | None, colour: bool) -> tuple[str, bool]:
    """The whole diff command: returns the report and whether every version was readable."""
    from .report import use_colour

    if fmt in ("md", "html") and templates is not None and not templates.is_dir():
        raise UsageError(f"templates folder '{templates}' does not exist")
    if files:
        if args:
            raise UsageError("--files compares two files; do not also give revisions or paths")
        for name in files:
            if not Path(name).is_file():
                raise UsageError(f"path '{name}' does not exist")
        old = read_versions({files[0]: Path(files[0]).read_bytes()}, None)
        new = read_versions({files[1]: Path(files[1]).read_bytes()}, None)
        # Two files are one agreement's two versions, whatever their ids or names say.
        old[0].path = new[0].path
        if old[0].data and new[0].data:
            old[0].data = {**old[0].data, "id": new[0].data["id"]}
        old_side, new_side = Side(files[0], None), Side(files[1], None)
    else:
        # A path is an existing file or folder, or a YAML file name (it may exist only in history).
        is_path = [Path(a).exists() or a.endswith(YAML_SUFFIXES) for a in args]
        paths = [Path(a) for a, flag in zip(args, is_path) if flag]
        revisions = [a for a, flag in zip(args, is_path) if not flag]
        if not paths:
            if not Path("sla").is_dir():
                raise UsageError("no sla/ folder here; name the agreements to compare (files or folders)")
            paths = [Path("sla")]
        with Repo(Path.cwd() if Repo.contains(Path.cwd()) else paths[0] if paths[0].is_dir() else paths[0].parent) as repo:
            old_side, new_side, old, new = collect(repo, revisions, paths)
    result = DiffResult(old_side, new_side, compare_sides(old, new, fmt in ("md", "html"), templates, show_moves), show_moves)
    if fmt == "json":
        text = as_json(result)
    elif fmt == "text":
        text = as_text(result, use_colour(colour))
    else:
        text = document(result, fmt, templates)
    return text, result.ok
