"""Publish: validate, render what changed, and write dist/ atomically.

Nothing is written until every agreement has validated and rendered in memory. Then the
whole new output is staged in a folder beside dist/ and swapped in at once
(world/publish.py), so a reader never sees half of it, and a failed, interrupted or killed
build leaves the previous dist/ exactly as it was. Files whose bytes would not change keep
their mtime; a build in which nothing changes writes nothing.

A manifest in the output folder records, per agreement, the hash of its source and what
the index needs. When the sources, templates, schema and engine are unchanged, a rebuild
neither validates nor renders those agreements again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..checking.evidence import Evidence, Witness
from ..checking.schema import conforms, validator
from ..checking.validate import FileResult, Report, check_source, located_id, reused_id
from ..errors import ERROR, InputError, Problem, UsageError, WriteError
from ..model.agreement import Agreement
from ..model.dates import parse_date as date
from ..model.terms import remembering_digests
from ..output.render import Renderer, index_entry
from ..world.clock import epoch_is_set, today
from ..world.files import FileRefused, find_agreements, read_agreement, real_folder, real_path
from ..world.load import load_bytes, no_cycle_collection
from ..world.publish import Stage, staged
from ..world.resources import ENGINE, SCHEMA_PATH, TEMPLATES
from ..world.ssh import file_digest
from ..world.text import display_path
from ..world.workers import shrinking_batches, start_worker

MANIFEST = ".slakit-build.json"


@dataclass
class BuildResult:
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class BuildFailed(InputError):
    """Validation failed; carries the report so the CLI can print it in the chosen format."""

    def __init__(self, report: Report):
        errors = report.count(ERROR)
        super().__init__(
            f"the build stopped: {errors} error{'s' * (errors != 1)}; nothing in the output folder was changed"
        )
        self.report = report


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _tree_digest(folders: list[Path], pattern: str) -> list[bytes]:
    parts = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob(pattern) if p.is_file()) if folder.is_dir() else []:
            parts += [str(path.relative_to(folder)).encode(), path.read_bytes()]
    return parts


def build_key(templates: Path | None) -> str:
    """Everything besides the sources that shapes the output: engine, schema, templates."""
    folders = ([templates] if templates else []) + [TEMPLATES]
    return _digest(
        __version__.encode(), *_tree_digest([ENGINE], "*.py"), SCHEMA_PATH.read_bytes(), *_tree_digest(folders, "*")
    )


def reference_date(folder: Path, data: list[dict[str, Any]]) -> dt.date:
    """The date reviews are judged against in the output, never the wall clock:
    SOURCE_DATE_EPOCH, else the date of the last commit, else the latest date in the
    agreements (their index entries: effective date and last review)."""
    dated = _dated(folder)
    if dated is not None:
        return dated
    dates = [date(d.get("last_review")) or date(d.get("effective")) for d in data]
    return max((d for d in dates if d), default=dt.date(1970, 1, 1))


def _dated(folder: Path) -> dt.date | None:
    """SOURCE_DATE_EPOCH's date, else the date of the last commit in `folder`'s repository."""
    if epoch_is_set():
        return today()
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%cs"], cwd=folder, capture_output=True, text=True, timeout=30
        )
        if out.returncode == 0 and date(out.stdout.strip()):
            return date(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return None


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM ends a build like Ctrl-C does: through the clean-up (workers stopped, the
    staging folder removed), not by vanishing half-way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def build(
    paths: list[str],
    out: Path,
    templates: Path | None = None,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    pdf: str | None = None,
) -> BuildResult:
    """Validate and publish the agreements under `paths` into `out` (and a PDF of each on
    `pdf` paper, a4 or letter, when given)."""
    with _interruptible():
        return _build(paths, out, templates, strict, progress, pdf)


def _build(
    paths: list[str],
    out: Path,
    templates: Path | None = None,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    pdf: str | None = None,
) -> BuildResult:
    if templates is not None and not templates.is_dir():
        raise UsageError(f"templates folder '{templates}' does not exist")
    files = find_agreements(paths)
    _check_out(out, [path for path, _ in files])
    # A build with PDFs, or on other paper, is another build: nothing cached is reused.
    key = build_key(templates) + (f"+pdf:{pdf}" if pdf else "")
    manifest = _read_manifest(out)
    cached = manifest.get("agreements", {}) if manifest.get("key") == key else {}

    result = BuildResult()
    results: list[FileResult] = []
    entries: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    day = today()
    # A cached agreement skips validation only if it was checked today (reviews fall due
    # with time) and with the same strictness; it always takes part in the id check.
    checked_today = manifest.get("checked_on") == day.isoformat() and manifest.get("strict") == strict
    sources: list[Source] = []
    for path, name in files:
        if name not in cached:  # nothing to compare it with: the worker checking it reads it
            sources.append((name, path, ""))
            continue
        try:
            raw = read_agreement(path)
        except FileRefused as refused:
            results.append(FileResult(name, None, [_refused(name, refused)]))
            continue
        sha = _digest(raw)
        old = cached.get(name)
        reusable = bool(
            old and old["sha"] == sha and all((out / f).is_file() for f in old["outputs"]) and _same_inputs(old)
        )
        if old is not None and reusable and checked_today:
            entries[name] = old
            owners.setdefault(old["entry"]["id"], name)
            warnings = [Problem(**w) for w in old.get("warnings", [])]
            results.append(FileResult(name, None, warnings))
            result.unchanged.append(name)
        else:
            sources.append((name, raw, sha))
    with _stage(out) as stage:  # the next version is assembled beside `out` as pages are made
        written: set[str] = set()
        reuse = {name: _reusable_inputs(cached.get(name), sha, out) for name, _, sha in sources}
        first = Path(paths[0]) if paths else Path(".")
        folder = first if first.is_dir() else first.parent
        head = manifest.get("changelog_head") if manifest.get("key") == key else None
        aside = _Aside(paths, templates, head, out, folder)
        with aside, _Checker(templates, strict, pdf, len(sources)) as checker:
            for done, ((name, _, _), (problems, ident, at, inputs, made, sha)) in enumerate(
                zip(sources, checker.run(sources, day, reuse, stage)), 1
            ):
                if done == 1:  # the workers are running (and forked: a thread now cannot be in them)
                    aside.start()
                if progress:
                    progress(done, len(sources))
                if ident is not None:
                    problems = problems + reused_id(name, ident, at, owners)
                    if strict:
                        problems = [p.as_error() for p in problems]
                checked = FileResult(name, None, problems)
                results.append(checked)
                if not checked.ok:
                    continue
                old = cached.get(name)
                if made is None:  # same bytes, same outside inputs: no re-render
                    assert old is not None
                    entries[name] = {**old, "warnings": [asdict(p) for p in problems]}
                    result.unchanged.append(name)
                    continue
                pages, put, entry, failed = made
                if failed is not None:
                    raise _cannot_write(out, failed)
                written.update(put)
                entries[name] = {
                    "sha": sha,
                    "outputs": pages,
                    "entry": entry,
                    "warnings": [asdict(p) for p in problems],
                    "inputs": inputs,
                }
                result.rendered.append(name)
        report = Report(sorted(results, key=lambda r: r.path))
        if not report.ok:
            raise BuildFailed(report)
        result.warnings = report.problems

        renderer = aside.renderer
        early = aside.result()  # the changelog made while the workers ran, if its date was known
        if early is not None:
            as_of, (changelog_head, changelog), notes = early
            result.notes += notes
        else:
            as_of = reference_date(folder, [e["entry"] for e in entries.values()])
            changelog_head, changelog = _changelog(paths, templates, head, out, result, as_of)
        outputs = dict(changelog)
        index = [e["entry"] for e in entries.values()]  # the renderer orders it
        for entry in index:
            entry["overdue"] = bool(
                entry["next_review"] and entry["status"] != "retired" and entry["next_review"] < as_of.isoformat()
            )
        scorecard = _scorecard(paths, templates)  # before anything is written: bad exports fail the build
        if scorecard is not None:
            outputs[SCORECARD] = scorecard
        shown = (index, as_of.isoformat(), changelog_head is not None, bool(pdf), scorecard is not None)
        index_key = _digest(json.dumps(shown, sort_keys=True).encode())
        # The index is made again only when what it shows changed (or its files are gone).
        if not (
            manifest.get("key") == key
            and manifest.get("index_key") == index_key
            and all((out / n).is_file() for n in INDEX)
        ):
            index_md, index_html = renderer.index(
                index,
                as_of,
                has_changelog=changelog_head is not None,
                has_pdf=bool(pdf),
                has_scorecard=scorecard is not None,
            )
            outputs["index.md"] = index_md.encode()
            outputs["index.html"] = index_html.encode()

        produced = {f for e in entries.values() for f in e["outputs"]} | set(INDEX)
        if changelog_head:
            produced |= set(CHANGELOG)
        if scorecard is not None:
            produced.add(SCORECARD)
        removed = set()
        for stale in sorted(set(manifest.get("outputs", [])) - produced):
            # Only plain file names the build itself writes: a manifest edited by hand cannot
            # make the build delete anything outside the output folder.
            if (
                not isinstance(stale, str)
                or Path(stale).name != stale
                or stale.startswith(".")
                or not stale.endswith((".md", ".html", ".pdf"))
            ):
                continue
            target = out / stale
            if target.is_file() and not target.is_symlink():
                removed.add(stale)
                result.removed.append(stale)
        new_manifest = {
            "key": key,
            "outputs": sorted(produced),
            "changelog_head": changelog_head,
            "checked_on": day.isoformat(),
            "index_key": index_key,
            "strict": strict,
            "agreements": {n: {k: v for k, v in e.items() if k != "data"} for n, e in sorted(entries.items())},
        }
        # Compact: json's C encoder writes it (with an indent, its Python one did, 60 ms for 1,000).
        outputs[MANIFEST] = (json.dumps(new_manifest, sort_keys=True, separators=(",", ":")) + "\n").encode()
        try:
            written.update(name for name, content in outputs.items() if stage.write(name, content))
            stage.commit(written, removed)
        except OSError as exc:
            raise _cannot_write(out, exc) from None
        result.written = sorted(written - {MANIFEST})

    return result


@contextlib.contextmanager
def _stage(out: Path) -> Iterator[Stage]:
    """`staged(out)`, where a folder that cannot be written to is said so (exit 2)."""
    with contextlib.ExitStack() as stack:
        try:
            stage = stack.enter_context(staged(out))
        except OSError as exc:
            raise _cannot_write(out, exc) from None
        yield stage


def _cannot_write(out: Path, error: OSError | str) -> WriteError:
    reason = error if isinstance(error, str) else error.strerror or str(error)
    return WriteError(
        f"cannot write to the output folder '{display_path(str(out))}': {reason}; the folder was left as it was"
    )


PARALLEL_FROM = 24  # below this many agreements, starting worker processes costs more than it saves

# A source to check: its name, its bytes (or the file to read them from, when nothing is
# cached to compare them with) and their digest ("" until read).
Source = tuple[str, bytes | Path, str]
# What checking one source gives: its problems (but a reused id), its id and where the id
# stands, the files read besides it, what `_placed` says of its pages (their names, the
# ones written into the stage, its index entry, why writing failed), or None when it has
# errors or its cached pages still hold, and the digest of its bytes.
Checked = tuple[list[Problem], str | None, tuple[int, int], dict[str, str | None], Any, str]

_worker: _Work | None = None


@dataclass
class _Work:
    """What each process checking and rendering sources needs, made once per process."""

    renderer: Renderer
    strict: bool
    pdf: str | None


def _start_worker(parent: int, templates: Path | None, strict: bool, pdf: str | None) -> None:
    global _worker
    _worker = _Work(Renderer(templates), strict, pdf)
    start_worker(parent)


def _check_batch(job: tuple[list[Source], dt.date, dict[str, Any], Stage]) -> list[Checked]:
    """Read (when not read yet), check, build into the model and render a batch of sources,
    with one Witness: all the work on one agreement happens in one process, which writes its
    pages into the stage; only their names travel back. The duplicate-id check is left to
    the caller, which sees every file."""
    assert _worker is not None
    sources, day, reuse, stage = job
    done: list[Checked] = []
    # The collector is paused: checking makes no cycles worth finding, and would set it off
    # again and again; what it would find is freed after the batch.
    with Witness() as witness, no_cycle_collection():
        for name, source, sha in sources:
            if isinstance(source, Path):
                try:
                    raw = read_agreement(source)
                except FileRefused as refused:
                    done.append(([_refused(name, refused)], None, (1, 1), {}, None, ""))
                    continue
                sha = _digest(raw)
            else:
                raw = source
            with remembering_digests():  # checked, then built into the model: one terms digest
                checked = check_source(load_bytes(raw, name), name, day, {}, _worker.strict, witness)
                doc, evidence = checked.document, checked.evidence
                inputs = evidence.inputs if evidence else {}
                ident, at = located_id(doc)
                made = None
                if checked.ok and doc is not None and reuse.get(name) != inputs:
                    made = _placed(stage, *_render(doc.data, name, evidence))
            done.append((checked.problems, ident, at, inputs, made, sha))
    return done


def _refused(name: str, refused: FileRefused) -> Problem:
    return Problem(name, 1, 1, ERROR, refused.rule, refused.reason)


def _render(data: dict[str, Any], name: str, evidence: Evidence | None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """An agreement's pages (and its PDF when asked for), by file name, and its index entry."""
    assert _worker is not None
    agreement = Agreement.from_data(data, evidence.rosters if evidence else None, evidence.checks if evidence else None)
    markdown, page = _worker.renderer.agreement(data, _shown(name), agreement)
    ident = agreement.id
    pages = {f"{ident}.md": markdown.encode(), f"{ident}.html": page.encode()}
    if _worker.pdf:
        from ..output.pdf import to_pdf

        pages[f"{ident}.pdf"] = to_pdf(page, agreement, _worker.renderer, _worker.pdf)
    return pages, index_entry(agreement)


def _placed(
    stage: Stage, pages: dict[str, bytes], entry: dict[str, Any]
) -> tuple[list[str], list[str], Any, str | None]:
    """Pages written into the stage: their names, the ones written (the others are published
    already, byte for byte), the index entry, and why writing failed, if it did."""
    put = []
    for name, content in pages.items():
        try:
            if stage.write(name, content):
                put.append(name)
        except FileExistsError:
            pass  # two agreements with one id: the id check fails the build
        except OSError as exc:
            return list(pages), put, entry, exc.strerror or str(exc)
    return list(pages), put, entry, None


def _reusable_inputs(old: dict[str, Any] | None, sha: str, out: Path) -> dict[str, Any] | None:
    """The outside inputs an agreement's cached pages were made from, when its bytes are the
    same and its pages are still there (same inputs again: the pages are reused), else None."""
    if old and old.get("sha") == sha and all((out / f).is_file() for f in old["outputs"]):
        inputs = old.get("inputs", {})
        return inputs if isinstance(inputs, dict) else None
    return None


class _Checker:
    """Checks and renders the sources: in worker processes when there are enough of them and
    more than one core, otherwise in this process. Results come back in the sources' order."""

    def __init__(self, templates: Path | None, strict: bool, pdf: str | None, count: int):
        self.args = (templates, strict, pdf)
        self.pool: ProcessPoolExecutor | None = None
        self.workers = min(os.cpu_count() or 1, 8)
        if count >= PARALLEL_FROM and self.workers > 1:
            validator(), conforms()  # built once, before the workers are forked
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), *self.args)
            )

    def run(self, sources: list[Source], day: dt.date, reuse: dict[str, Any], stage: Stage) -> Iterator[Checked]:
        if self.pool is None:
            global _worker
            _worker = _Work(Renderer(self.args[0]), *self.args[1:])
            yield from _check_batch((sources, day, reuse, stage))
            return
        jobs = []
        for start, end in shrinking_batches(len(sources), self.workers):
            batch = sources[start:end]
            jobs.append((batch, day, {n: reuse[n] for n, _, _ in batch if reuse.get(n) is not None}, stage))
        for done in self.pool.map(_check_batch, jobs):
            yield from done

    def __enter__(self) -> _Checker:
        return self

    def __exit__(self, kind: Any, *exc: Any) -> None:
        if self.pool is None:
            return
        if kind is not None:  # the build failed or was interrupted: its workers end with it
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Aside:
    """What the build can make while the workers check and render, in a thread of its own:
    the changelog (when its date does not depend on the agreements: SOURCE_DATE_EPOCH or
    the last commit) and the index's templates, loaded. It mostly waits for Git, and would
    otherwise be done after the last worker, by this process alone. Started once the
    workers exist (a thread running while they are forked could leave a lock held in them);
    what it raises is raised where the build would have met it."""

    def __init__(self, paths: list[str], templates: Path | None, head: str | None, out: Path, folder: Path):
        self.args = (paths, templates, head, out)
        self.folder = folder
        self.renderer = Renderer(templates)
        self.thread: threading.Thread | None = None
        self.made: tuple[dt.date, tuple[str | None, dict[str, bytes]], list[str]] | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="slakit-changelog", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.renderer.load("index.md.j2", "index.html.j2")
            as_of = _dated(self.folder)
            if as_of is None:
                return
            paths, templates, head, out = self.args
            noted = BuildResult()
            self.made = as_of, _changelog(paths, templates, head, out, noted, as_of), noted.notes
        except BaseException as exc:  # raised again in the build, by result()
            self.error = exc

    def result(self) -> tuple[dt.date, tuple[str | None, dict[str, bytes]], list[str]] | None:
        """The changelog made aside (its date, head and files, notes), or None: make it now."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.made

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def __enter__(self) -> _Aside:
        return self

    def __exit__(self, kind: Any, *exc: Any) -> None:
        # Never left running past the build (it reads the current folder), but an
        # interrupted build ends at once: the thread ends with the process.
        if kind is None or not issubclass(kind, KeyboardInterrupt):
            self.join()


CHANGELOG = ("changelog.md", "changelog.html")
INDEX = ("index.md", "index.html")


def _changelog(
    paths: list[str],
    templates: Path | None,
    cached_head: str | None,
    out: Path,
    result: BuildResult,
    as_of: dt.date | None = None,
) -> tuple[str | None, dict[str, bytes]]:
    """dist/changelog.md and .html from Git history; redone only when HEAD (or the date
    reviews are judged overdue on) has moved.

    Returns the commit (and date) the changelog describes (None when there is no usable history)."""
    from ..output.changelog import document
    from ..world.git import Repo
    from .changelog import collect, shallow_problem

    if not Repo.contains(Path.cwd()):
        result.notes.append("no changelog: not inside a Git repository")
        return None, {}
    with Repo(Path.cwd()) as repo:
        head = repo.git("rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip()
        shallow = shallow_problem(repo)
        if not head or shallow:
            result.notes.append(f"no changelog: {shallow or 'the repository has no commits yet'}")
            return None, {}
        try:
            [repo.relative(Path(p)) for p in paths]
        except UsageError:
            result.notes.append("no changelog: the agreements are outside this Git repository")
            return None, {}
    head = f"{head} {as_of.isoformat()}" if as_of else head
    if cached_head == head and all((out / name).is_file() for name in CHANGELOG):
        return head, {}
    history, groups = collect(paths, None, None, None, 1, False, today=as_of)
    return head, {
        "changelog.md": document(groups, history, "md", templates).encode(),
        "changelog.html": document(groups, history, "html", templates, index_link=True).encode(),
    }


def _same_inputs(old: dict[str, Any]) -> bool:
    """Whether the files an agreement's sign-off was checked against (roster files,
    allowed_signers) still hold the same bytes, so its cached pages still tell the truth."""
    recorded = old.get("inputs", {})
    return isinstance(recorded, dict) and all(file_digest(Path(f)) == sha for f, sha in recorded.items())


SCORECARD = "scorecard.html"


def _scorecard(paths: list[str], templates: Path | None) -> bytes | None:
    """dist/scorecard.html when slakit.yaml (in the current folder) names CRM exports; the
    exports are read where they lie and never copied."""
    from .score import configured, configured_scorecard

    if configured(Path.cwd()) is None:  # the usual case: no exports, and no scorecard engine loaded
        return None
    from ..output.scorecard import as_html

    card = configured_scorecard(paths, Path.cwd())
    return as_html(card, templates).encode() if card is not None else None


def _shown(name: str) -> str:
    """The source path as the page shows it: relative to the current folder when inside it."""
    try:
        return real_path(Path(name)).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return Path(name).name


def _read_manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _check_out(out: Path, sources: list[Path]) -> None:
    """The output folder is swapped whole, so it must be a folder of its own: not the current
    folder, nor one that holds the agreements."""
    real = out.resolve()
    if real == Path.cwd().resolve() or real in Path.cwd().resolve().parents:
        raise UsageError(
            f"--out '{display_path(str(out))}' is the current folder or holds it; publish to a folder of its own, such as dist"
        )
    outside: set[str] = set()  # real folders known not to be in `out` (most sources share one)
    for source in sources:
        folder = real_folder(source)
        if folder in outside:
            continue
        outside.add(folder)
        if real == Path(folder) or real in Path(folder).parents:
            raise UsageError(
                f"--out '{display_path(str(out))}' holds the agreement '{display_path(str(source))}'; "
                "publish to a folder of its own, such as dist"
            )
