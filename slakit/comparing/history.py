"""History: the semantic changes of every commit to the agreements, grouped by quarter.

One `git log` lists the commits and the blobs they changed; one `git cat-file --batch`
reads the blobs, each parsed once. The first-parent line is followed, and a merge counts
as its change against the first parent, so changes merged from a branch are counted once.
Each agreement is one thread through its whole life, across renames of its file; a revision
that does not parse is listed as such, and the thread goes on from the last good version.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import ERROR, GitError, Problem, UsageError
from ..model.dates import parse_date as date
from ..model.dates import quarter_label, quarter_of
from ..model.review import ReviewSchedule
from ..model.terms import remembering_digests
from ..world.files import MAX_BYTES, is_agreement_under
from ..world.git import NULL_SHA, BlobTooLarge, Repo
from .compare import Change, compare
from .history_cache import HistoryCache, Revision

if TYPE_CHECKING:  # a run that finds everything in its cache parses nothing and plans no funnel
    from ..model.funnel import FunnelPlan
    from ..world.load import RevisionLoader

_PR = re.compile(r"(?:\(#(\d+)\)\s*$|^Merge pull request #(\d+))")
_QUARTER = re.compile(r"^(?:FY)?(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    date: dt.datetime  # committer date, aware
    subject: str
    problem: str | None = None  # why part of the commit could not be read

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def pull_request(self) -> int | None:
        match = _PR.search(self.subject)
        return int(match.group(1) or match.group(2)) if match else None


@dataclass
class Entry:
    """What one commit did to one agreement."""

    commit: Commit
    key: str  # the agreement's id (or its path while it has never parsed)
    path: str
    kind: str  # added | changed | renamed | removed | no-change | broken
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    old_path: str | None = None
    notes: list[str] = field(default_factory=list)  # what the change does to the funnel
    local_date: dt.date = dt.date(1970, 1, 1)
    quarter: str = ""

    def count(self, effect: str) -> int:
        return sum(c.effect == effect for c in self.changes)

    def term_changes(self) -> int:
        """Changes to the terms (not status, version, review dates or signatures)."""
        return sum(c.term and c.op != "moved" for c in self.changes)


@dataclass
class Thread:
    """One agreement across its history."""

    key: str
    title: str
    path: str
    timezone: str = "UTC"
    data: dict[str, Any] | None = None  # latest good version (once the history is read)
    sha: str | None = None  # its blob
    reviews: set[dt.date] = field(default_factory=set)  # every last_review date seen
    removed: bool = False  # its file was deleted (or its id changed) and nothing took its place


def parse_revision(
    raw: bytes, shown: str, loader: RevisionLoader | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A historical version: its data if it parses into an agreement with an id, else why not.

    History is read, not judged: a revision counts as broken when it does not parse (the
    full validation is `validate`'s job, and would triple the time of a long history).
    With a `loader`, the blocks a revision shares with those read before are not parsed again.
    """
    data = loader.data(raw) if loader is not None else None
    if data is not None and isinstance(data.get("id"), str) and isinstance(data.get("parties", []), list):
        return data, []
    from ..world.load import load_bytes

    doc, problems = load_bytes(raw, shown)
    if doc is None:
        return None, problems
    if not isinstance(doc.data.get("id"), str) or not isinstance(doc.data.get("parties", []), list):
        line, col = doc.locate(("id",))
        return None, [
            Problem(shown, line, col, ERROR, "schema", "the agreement has no id (or its parties are not a list)")
        ]
    return doc.data, []


def parse_quarter(text: str) -> str:
    match = _QUARTER.match(text.strip())
    if not match:
        raise UsageError(f"'{text}' is not a quarter; write it like 2026-Q3")
    return f"{match.group(1)}-Q{match.group(2)}"


_READ_AT_ONCE = 256  # blobs held in memory at a time while the history is read


def summary(data: dict[str, Any] | None, problems: list[Problem]) -> Revision:
    """What the history needs of a parsed revision besides the comparison."""
    if data is None:
        return Revision(None, problems=problems)
    ident = data["id"]
    last_review = ReviewSchedule.from_data(data).last_review
    return Revision(
        ident,
        data["title"] if isinstance(data.get("title"), str) else ident,
        data["timezone"] if isinstance(data.get("timezone"), str) else "UTC",
        last_review.isoformat() if last_review else None,
    )


class History:
    """Reads the agreements' history from a repository and threads it per agreement.

    Three passes: what each revision holds (its id, title, time zone, last review: from the
    cache, or parsed in history order), the threads (which revision each commit compares
    with which), then the comparisons (from the cache, or worked out from the parsed data).
    """

    def __init__(
        self,
        repo: Repo,
        paths: list[str],
        since: str | None = None,
        until: str | None = None,
        progress: Any = None,
        cache: HistoryCache | None = None,
    ):
        self.repo = repo
        self.progress = progress  # called (done, total) while revisions are parsed
        self.paths = paths
        self.since, self.until = since, until
        self.cache = cache or HistoryCache(None)
        self.parsed: dict[str, tuple[dict[str, Any] | None, list[Problem]]] = {}
        self.revisions: dict[str, Revision] = {}
        self.unread: set[str] = set()  # blobs git could not give (too large, missing): never cached
        self.threads: dict[str, Thread] = {}
        self.entries: list[Entry] = []
        self._compare: list[tuple[Entry, str, str]] = []  # (entry, old blob, new blob) still to compare
        # Revisions share their unchanged blocks (parsed once) and, through them, the
        # normal form of their terms: nothing here changes the data it reads.
        self._loader: RevisionLoader | None = None  # made when the first revision is parsed
        # id(data) -> (data, its funnel plan): the data is kept, so its id is not reused
        self._plans: dict[int, tuple[dict[str, Any] | None, FunnelPlan | None]] = {}

    def _prefetch(self, wanted: list[tuple[str, str]]) -> None:
        """Know every revision the log names, in history order, before threading: from the
        cache, else parsed. A blob over the size limit is not read: its parse is that problem."""
        todo = []
        for sha, shown in {sha: shown for sha, shown in wanted if sha not in self.revisions}.items():
            known = self.cache.revision(sha, shown)
            if known is not None:
                self.revisions[sha] = known
            else:
                todo.append((sha, shown))
        self._parse_all(todo)

    def _parse_all(self, todo: list[tuple[str, str]]) -> None:
        """Read and parse these blobs, in this order, a batch of reads at a time."""
        for start in range(0, len(todo), _READ_AT_ONCE):
            part = todo[start : start + _READ_AT_ONCE]
            for (sha, shown), raw in zip(part, self.repo.read_objects([sha for sha, _ in part], MAX_BYTES)):
                self._store(sha, shown, raw)
            if self.progress:
                self.progress(start + len(part), len(todo))

    def _store(self, sha: str, shown: str, raw: bytes | BlobTooLarge) -> None:
        parsed = self.parsed[sha] = self._parse(raw, shown)
        if sha not in self.revisions:
            revision = self.revisions[sha] = summary(*parsed)
            if isinstance(raw, BlobTooLarge):
                self.unread.add(sha)
            else:
                self.cache.put_revision(sha, shown, revision)

    def _parse(self, raw: bytes | BlobTooLarge, shown: str) -> tuple[dict[str, Any] | None, list[Problem]]:
        if isinstance(raw, BlobTooLarge):
            if raw.reason:
                return None, [Problem(shown, 1, 1, ERROR, "git", raw.reason)]
            from ..world.load import size_problem

            return None, [size_problem(shown, raw.size)]
        if self._loader is None:
            from ..world.load import RevisionLoader

            self._loader = RevisionLoader()
        return parse_revision(raw, shown, self._loader)

    def _revision(self, sha: str, shown: str) -> Revision:
        """What one revision holds: known, cached, or read and parsed now (each blob once,
        whatever commits share it)."""
        if sha not in self.revisions:
            known = self.cache.revision(sha, shown)
            if known is not None:
                self.revisions[sha] = known
            else:
                self._store(sha, shown, self.repo.read_objects([sha], MAX_BYTES)[0])
        return self.revisions[sha]

    def _data(self, shas: list[str]) -> None:
        """Make sure these revisions are parsed (they parsed before, or were cached as parsing)."""
        todo = list(dict.fromkeys(sha for sha in shas if sha not in self.parsed))
        for start in range(0, len(todo), _READ_AT_ONCE):
            part = todo[start : start + _READ_AT_ONCE]
            for sha, raw in zip(part, self.repo.read_objects(part, MAX_BYTES)):
                self.parsed[sha] = self._parse(raw, sha)

    def read(self) -> History:
        if not self.repo.git("rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip():
            raise UsageError("the repository has no commits yet, so there is no history to report")
        revisions = ["HEAD"]
        if self.until and not date(self.until):
            revisions = [self.repo.verify(self.until)]
        if self.since and not date(self.since):
            revisions.append("^" + self.repo.verify(self.since))
        listed = self.repo.log(
            "--first-parent", "--diff-merges=first-parent", "-M", "--reverse", *revisions, "--", *self.paths
        )
        by_path: dict[str, str] = {}  # current path -> thread key
        log = [
            (
                Commit(c.sha, c.author, c.date, c.subject, c.problem),
                [(f.status, f.old_sha, f.new_sha, f.path, f.old_path) for f in c.files],
            )
            for c in listed
        ]
        self._prefetch(
            [
                (new_sha, f"{commit.short}:{path}")
                for commit, files in log
                for status, _, new_sha, path, _ in files
                if status != "D" and is_agreement_under(path, self.paths)
            ]
        )
        for commit, files in log:
            for status, old_sha, new_sha, path, old_path in files:
                if not is_agreement_under(path, self.paths) and not (
                    old_path and is_agreement_under(old_path, self.paths)
                ):
                    continue
                self._apply(commit, status, old_sha, new_sha, path, old_path, by_path)
        self._compare_all()
        self._tips()
        self.cache.save()
        return self

    def _compare_all(self) -> None:
        """Each commit's changes and funnel notes: cached, or compared now."""
        todo = []
        for entry, old, new in self._compare:
            known = self.cache.comparison(old, new)
            if known is None:
                todo.append((entry, old, new))
            else:
                self._changed(entry, *known)
        if not todo:
            return
        from ..world.load import no_cycle_collection

        self._data([sha for _, old, new in todo for sha in (old, new)])
        for entry, old, new in todo:
            if self.parsed[old][0] is None or self.parsed[new][0] is None:  # cached as parsing, no longer read
                raise GitError(
                    f"revision {new} of {entry.path} can no longer be read from Git; "
                    "run 'slakit changelog --no-cache' to list it as it is now"
                )
        with no_cycle_collection(), remembering_digests():  # revisions share unchanged parts; none is changed
            for entry, old, new in todo:
                changes, notes = self._one(old, new)
                if old not in self.unread and new not in self.unread:
                    self.cache.put_comparison(old, new, changes, notes)
                self._changed(entry, changes, notes)

    def _one(self, old: str, new: str) -> tuple[list[Change], list[str]]:
        base, data = self.parsed[old][0], self.parsed[new][0]
        assert base is not None and data is not None
        from .funnel import funnel_notes

        return compare(base, data), funnel_notes(base, data, self._plan)

    @staticmethod
    def _changed(entry: Entry, changes: list[Change], notes: list[str]) -> None:
        entry.changes, entry.notes = changes, notes
        if entry.kind != "renamed":
            entry.kind = "changed" if any(c.op != "moved" for c in changes) else "no-change"

    def _plan(self, data: dict[str, Any] | None) -> FunnelPlan | None:
        """The funnel plan of a version, worked out once however many comparisons it is in."""
        known = self._plans.get(id(data))
        if known is None:
            from .funnel import funnel_plan

            known = self._plans[id(data)] = (data, funnel_plan(data))
        return known[1]

    def _tips(self) -> None:
        """The data of each agreement's latest good revision: for the reviews due and the
        party names."""
        missing = [t.sha for t in self.threads.values() if t.sha and t.sha not in self.parsed]
        cached = {sha: self.cache.tip(sha) for sha in missing}
        self._data([sha for sha, data in cached.items() if data is None])
        for thread in self.threads.values():
            if thread.sha is None:
                continue
            thread.data = cached.get(thread.sha)
            if thread.data is None:
                thread.data = self.parsed[thread.sha][0]
                if thread.data is not None and thread.sha not in self.unread:
                    self.cache.put_tip(thread.sha, thread.data)

    def _apply(
        self,
        commit: Commit,
        status: str,
        old_sha: str,
        new_sha: str,
        path: str,
        old_path: str | None,
        by_path: dict[str, str],
    ) -> None:
        key = by_path.pop(old_path, None) if old_path else by_path.get(path)
        previous = self.threads.get(key) if key is not None else None
        if status == "D":
            if previous is not None:
                by_path.pop(path, None)
                previous.removed = True
                self._add(Entry(commit, previous.key, path, "removed"), previous)
            return
        revision = self._revision(new_sha, f"{commit.short}:{path}")
        if revision.ident is None:
            thread = previous or self.threads.setdefault(path, Thread(path, path, path))
            by_path[path] = thread.key
            self._add(Entry(commit, thread.key, path, "broken", problems=revision.problems, old_path=old_path), thread)
            return
        ident = revision.ident
        if previous is not None and previous.key != ident:
            if previous.sha is None:  # it never parsed before: now it has a name
                self.threads.pop(previous.key)
                previous.key = ident
            else:  # the id changed: one agreement ends, another begins
                previous.removed = True
                self._add(Entry(commit, previous.key, old_path or path, "removed"), previous)
                previous = None
        thread = self.threads.setdefault(ident, previous or Thread(ident, revision.title, path))
        thread.key, thread.removed = ident, False
        base = thread.sha
        if (
            base is None
            and old_sha != NULL_SHA
            and status != "A"
            and previous is None
            and self._revision(old_sha, f"{commit.short}^:{old_path or path}").ident is not None
        ):
            base = old_sha
        if base is None:
            entry = Entry(commit, ident, path, "added")
        else:
            entry = Entry(commit, ident, path, "renamed" if old_path and old_path != path else "changed")
            entry.old_path = old_path
            self._compare.append((entry, base, new_sha))
        thread.sha, thread.title, thread.path = new_sha, revision.title, path
        thread.timezone = revision.timezone
        if revision.last_review:
            thread.reviews.add(dt.date.fromisoformat(revision.last_review))
        by_path[path] = ident
        self._add(entry, thread)

    def _add(self, entry: Entry, thread: Thread) -> None:
        try:
            zone = ZoneInfo(thread.timezone)
        except (ValueError, OSError, KeyError):
            zone = ZoneInfo("UTC")
        entry.local_date = entry.commit.date.astimezone(zone).date()
        self.threads[thread.key] = thread
        self.entries.append(entry)


@dataclass
class QuarterGroup:
    quarter: str  # YYYY-Qn of the (fiscal) year, as quarter_of names it
    agreements: list[dict[str, Any]]
    label: str = ""  # "2026-Q3", or "FY2026-Q2" for a fiscal year not starting in January
    months: str = ""  # "Jul-Sep 2026", "May-Jul 2025"


def review_tags(repo: Repo) -> set[tuple[str, str]]:
    """(agreement id, quarter) of every `review/<id>/<YYYY-Qn>` tag: reviews held."""
    out = repo.git("tag", "--list", "review/*").stdout
    found = set()
    for tag in out.split():
        parts = tag.split("/")
        if len(parts) == 3 and _QUARTER.match(parts[2]):
            found.add((parts[1], parse_quarter(parts[2])))
    return found


def group(
    history: History,
    fy_start: int,
    tags: set[tuple[str, str]],
    terms_only: bool = False,
    since: dt.date | None = None,
    until: dt.date | None = None,
    only: str | None = None,
    today: dt.date | None = None,
) -> list[QuarterGroup]:
    """Quarter (newest first) -> agreement -> commits (newest first) -> changes.

    With `terms_only`, commits that changed nothing in the terms (only status, version,
    review dates or signatures, or nothing in meaning) are left out. Reviews due before
    `today` are listed as overdue."""
    quarters: dict[str, dict[str, list[Entry]]] = {}
    for entry in history.entries:
        if (since and entry.local_date < since) or (until and entry.local_date > until):
            continue
        if terms_only and entry.kind in ("changed", "renamed", "no-change") and not entry.term_changes():
            continue
        entry.quarter = quarter_of(entry.local_date, fy_start)
        quarters.setdefault(entry.quarter, {}).setdefault(entry.key, []).append(entry)
    # Reviews fall in quarters even when nothing changed then.
    for each in history.threads.values():
        for day in sorted(each.reviews) + _due(each):
            if (not since or day >= since) and (not until or day <= until):
                quarters.setdefault(quarter_of(day, fy_start), {}).setdefault(each.key, [])
    for ident, quarter in tags:
        if ident in history.threads:
            quarters.setdefault(quarter, {}).setdefault(ident, [])
    # Commits made within one second (a script, a rebase) keep the history's order.
    order = {id(entry): n for n, entry in enumerate(history.entries)}
    groups = []
    for quarter in sorted(quarters, key=_quarter_key, reverse=True):
        if only and quarter != only:
            continue
        agreements = []
        for key in sorted(quarters[quarter], key=lambda k: history.threads[k].title if k in history.threads else k):
            thread = history.threads.get(key)
            entries = sorted(quarters[quarter][key], key=lambda e: (e.commit.date, order[id(e)]), reverse=True)
            changes = [c for e in entries for c in e.changes if c.op != "moved" and c.term]
            held = [d for d in sorted(thread.reviews) if quarter_of(d, fy_start) == quarter] if thread else []
            due = [d for d in _due(thread) if quarter_of(d, fy_start) == quarter and d not in held] if thread else []
            overdue = [d for d in due if today is not None and d < today and (key, quarter) not in tags]
            agreements.append(
                {
                    "id": key,
                    "title": thread.title if thread else key,
                    "path": thread.path if thread else key,
                    "entries": entries,
                    "summary": {
                        "changes": len(changes),
                        "stricter": sum(c.effect == "stricter" for c in changes),
                        "looser": sum(c.effect == "looser" for c in changes),
                        "commits": len(entries),
                    },
                    "reviews_held": held,
                    "reviews_due": [d for d in due if d not in overdue],
                    "reviews_overdue": overdue,
                    "review_tagged": (key, quarter) in tags,
                }
            )
        groups.append(QuarterGroup(quarter, agreements, *quarter_label(quarter, fy_start)))
    return groups


def _due(thread: Thread | None) -> list[dt.date]:
    """The next review of an agreement still in force, as its latest version sets it (none
    once its file is deleted: nobody reviews it any more)."""
    if thread is None or thread.removed or not thread.data or thread.data.get("status") == "retired":
        return []
    upcoming = ReviewSchedule.from_data(thread.data).next_review
    return [upcoming] if upcoming else []


def _quarter_key(quarter: str) -> tuple[int, int]:
    year, q = quarter.split("-Q")
    return int(year), int(q)
