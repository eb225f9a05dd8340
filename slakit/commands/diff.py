"""The diff command: read two sides (Git revisions, the work tree or two files), compare, report."""

from __future__ import annotations

import os
from pathlib import Path

from ..comparing.diff import DiffResult, Side, Version, compare_sides, read_versions
from ..errors import ERROR, Problem, UsageError
from ..model.terms import remembering_digests
from ..output.report import use_colour
from ..world.files import (
    MAX_BYTES,
    YAML_SUFFIXES,
    FileRefused,
    agreement_files,
    distinct,
    is_agreement_under,
    read_agreement,
)
from ..world.git import BlobTooLarge, Repo
from ..world.load import RevisionLoader, no_cycle_collection, size_problem
from ..world.text import display_path

WORK_TREE = "working tree"


def git_side(
    repo: Repo, revision: str, paths: list[str], loader: RevisionLoader | None = None
) -> tuple[Side, list[Version]]:
    """The agreements under `paths` at `revision`, each validated; messages say REV:path."""
    commit = repo.verify(revision)
    short = commit[:7]
    label = revision if revision.startswith(short) else f"{revision} ({short})"
    return Side(label, revision, commit), read_versions(git_files(repo, commit, revision, paths), revision, loader)


def git_files(repo: Repo, commit: str, revision: str, paths: list[str]) -> dict[str, bytes | Problem]:
    """The agreement files under `paths` at `commit`, read in one batch (none over the limit)."""
    files = {name: sha for name, sha in repo.list_files(commit, paths).items() if is_agreement_under(name, paths)}
    names = list(files)
    contents = repo.read_objects([files[name] for name in names], MAX_BYTES)
    return {name: _blob(content, f"{revision}:{name}") for name, content in zip(names, contents)}


def _blob(content: bytes | BlobTooLarge, shown: str) -> bytes | Problem:
    if not isinstance(content, BlobTooLarge):
        return content
    if content.reason:
        return Problem(shown, 1, 1, ERROR, "git", content.reason)
    return size_problem(shown, content.size)


def read_file(path: Path, shown: str) -> bytes | Problem:
    """A file of the work tree, or why it is not read (a link out of the repository, a FIFO)."""
    try:
        return read_agreement(path)
    except FileRefused as refused:
        return Problem(shown, 1, 1, ERROR, refused.rule, refused.reason)


def work_tree_side(repo: Repo, paths: list[Path]) -> dict[str, bytes | Problem]:
    files: dict[str, bytes | Problem] = {}
    for path in paths:
        if path.is_dir():
            candidates = agreement_files(path)
        else:
            candidates = [path] if path.exists() or path.is_symlink() else []
        for file in distinct(candidates):
            name = _relative(repo, file)
            files[name] = read_file(file, name)
    return files


def _relative(repo: Repo, path: Path) -> str:
    """A work-tree path as Git names it, without resolving a link (whose target may be elsewhere)."""
    absolute = Path(os.path.abspath(path))
    try:
        return display_path(absolute.relative_to(repo.root).as_posix())
    except ValueError:
        return repo.relative(path)


def collect(repo: Repo, revisions: list[str], paths: list[Path]) -> tuple[Side, Side, list[Version], list[Version]]:
    """Read both sides: no revision = HEAD vs work tree; one = REV vs work tree; two = A vs B."""
    git_paths = [repo.relative(p) for p in paths]
    if len(revisions) > 2:
        raise UsageError(f"at most two revisions can be compared, got {len(revisions)}: {', '.join(revisions)}")
    loader = RevisionLoader()  # the two sides share most of their text: each block is parsed once
    old_side, old = git_side(repo, revisions[0] if revisions else "HEAD", git_paths, loader)
    if len(revisions) == 2:
        new_side, new = git_side(repo, revisions[1], git_paths, loader)
    else:
        new_side, new = Side(WORK_TREE, None), read_versions(work_tree_side(repo, paths), None, loader)
    # A file named may have had another name on the other side: agreements are matched by
    # id, so the file in the same folder that holds the id there is its other version.
    folders = sorted({path.parent for path in paths if not path.is_dir()})
    if folders:
        old += _renamed(repo, old_side, folders, _ids(new) - _ids(old), old, loader)
        new += _renamed(repo, new_side, folders, _ids(old) - _ids(new), new, loader)
    return old_side, new_side, old, new


def _ids(versions: list[Version]) -> set[str]:
    return {v.data["id"] for v in versions if v.data}


def _renamed(
    repo: Repo, side: Side, folders: list[Path], wanted: set[str], have: list[Version], loader: RevisionLoader
) -> list[Version]:
    """The versions on `side` under `folders` whose ids are `wanted`, from files not read yet."""
    if not wanted:
        return []
    if side.commit is None:
        files = work_tree_side(repo, folders)
    else:
        files = git_files(repo, side.commit, side.revision or side.commit, [repo.relative(f) for f in folders])
    known = {v.path for v in have}
    candidates: dict[str, bytes | Problem] = {}
    for name, raw in files.items():
        if name in known or isinstance(raw, Problem):
            continue
        data = loader.data(raw)  # a quick look at its id; None when only a full load can say
        if data is None or data.get("id") in wanted:
            candidates[name] = raw
    found = read_versions(candidates, side.revision, loader)
    return [v for v in found if v.data and v.data.get("id") in wanted]


def run_diff(
    args: list[str],
    files: tuple[str, str] | None,
    fmt: str,
    show_moves: bool,
    templates: Path | None,
    colour: bool,
    critic: bool = False,
) -> tuple[str, bool]:
    """The whole diff command: returns the report and whether every version was readable."""
    # Each version is validated, compared and rendered, each step needing its terms digest;
    # nothing here changes a version once read, so each digest is worked out once. Both
    # versions stay loaded throughout (node trees too), and the cycle collector would walk
    # them again and again while they are checked and rendered; they hold no cycles.
    with remembering_digests(), no_cycle_collection():
        return _run_diff(args, files, fmt, show_moves, templates, colour, critic)


def _run_diff(
    args: list[str],
    files: tuple[str, str] | None,
    fmt: str,
    show_moves: bool,
    templates: Path | None,
    colour: bool,
    critic: bool,
) -> tuple[str, bool]:
    if fmt in ("md", "html") and templates is not None and not templates.is_dir():
        raise UsageError(f"templates folder '{templates}' does not exist")
    if files:
        if args:
            raise UsageError("--files compares two files; do not also give revisions or paths")
        for name in files:
            if not Path(name).exists():
                raise UsageError(f"path '{display_path(name)}' does not exist")
        loader = RevisionLoader()
        old, new = (
            read_versions({display_path(name): read_file(Path(name), display_path(name))}, None, loader)
            for name in files
        )
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
        with Repo(
            Path.cwd() if Repo.contains(Path.cwd()) else paths[0] if paths[0].is_dir() else paths[0].parent
        ) as repo:
            old_side, new_side, old, new = collect(repo, revisions, paths)
        if not old and not new:
            named = ", ".join(f"'{display_path(str(p))}'" for p in paths)
            raise UsageError(
                f"no agreements (*.yaml, *.yml) match {named} in {old_side.label} or {new_side.label}; "
                "check the path (it is relative to the current folder)"
            )
    result = DiffResult(old_side, new_side, compare_sides(old, new, show_moves), show_moves)
    from ..output import diff as report

    if fmt == "json":
        text = report.as_json(result)
    elif fmt == "text":
        text = report.as_text(result, use_colour(colour))
    else:
        text = report.document(result, fmt, templates, critic)
    return text, result.ok
