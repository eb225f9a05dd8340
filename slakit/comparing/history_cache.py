"""What the changelog worked out from revisions, kept in the repository's Git folder between runs.

A blob never changes, so neither does what one revision holds (its id, title, time zone, last
review, or why it does not parse) nor what changed between two of them: both are keyed by blob
ids. They are kept only for the engine that worked them out: a digest of slakit's own source,
its schema, Python's version and the YAML library. Parsed revisions are not kept (decoding them costs about what parsing the
changed blocks does, and would lose what revisions share); the comparisons are, and the data of
the latest revision of each agreement.

The file is compressed JSON of plain values (never pickle: nothing in it is run), written to a
new file and renamed over the old, so two runs at once each leave a whole file. A file that is
missing, unreadable, corrupt, from another engine, or too large is ignored; one that cannot be
written is not written. Either only costs time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import stat
import sys
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..world.files import write_if_changed
from ..world.resources import SCHEMA_PATH
from .compare import Change

NAME = "slakit-changelog-cache.json.z"
OLD_NAME = "slakit-history-cache.json.z"  # an earlier version's cache of parsed revisions
FORMAT = 1
MAX_FILE = 64 * 1024 * 1024  # bytes, compressed: larger files are neither read nor written
MAX_TEXT = 256 * 1024 * 1024  # bytes, once decompressed (a small file may expand a thousandfold)
MAX_ENTRIES = 200_000  # revisions and comparisons together


@lru_cache(maxsize=1)
def engine() -> str:
    """A digest of what shapes the stored results: slakit's source files, its schema, the
    format, Python and the YAML library."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
        digest.update(b"\0")
    with contextlib.suppress(OSError):
        digest.update(SCHEMA_PATH.read_bytes())
    # The YAML library reads the revisions (its version is in the file found, not imported).
    with contextlib.suppress(ImportError, ValueError, OSError, TypeError):
        spec = importlib.util.find_spec("ruamel.yaml")
        if spec is not None and spec.origin:
            digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


def plain(value: Any) -> bool:
    """Whether `value` is made only of what JSON gives back as it was (str, int, float, bool,
    None, lists, mappings with text keys): anything else is not stored."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is list:
        return all(plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and plain(v) for k, v in value.items())
    return False


class Revision:
    """What one revision holds, as far as the history needs it without its data."""

    __slots__ = ("ident", "last_review", "problems", "timezone", "title")

    def __init__(
        self,
        ident: str | None,
        title: str = "",
        timezone: str = "UTC",
        last_review: str | None = None,
        problems: list[Problem] | None = None,
    ):
        self.ident, self.title, self.timezone, self.last_review = ident, title, timezone, last_review
        self.problems = problems or []


class HistoryCache:
    """Revisions and comparisons by blob id, read from and written to `folder` (the Git folder);
    with no folder, a cache that holds nothing and writes nothing."""

    def __init__(self, folder: Path | None):
        self.path = folder / NAME if folder is not None else None
        self.revisions: dict[str, list[Any]] = {}
        self.comparisons: dict[str, list[Any]] = {}
        self.tips: dict[str, dict[str, Any]] = {}  # blob id -> data of an agreement's latest revision
        self.used: set[str] = set()  # keys read or written by this run, kept first when bounded
        self.dirty = False
        if folder is None:
            return
        with contextlib.suppress(OSError):
            (folder / OLD_NAME).unlink()  # stale: never read since this cache replaced it
        self._read()

    def _read(self) -> None:
        assert self.path is not None
        try:
            info = os.lstat(self.path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE:
                return  # a link, a FIFO (which would block), a folder, or too large: not read
            with open(self.path, "rb") as handle:
                raw = handle.read(MAX_FILE + 1)
            if len(raw) > MAX_FILE:
                return
            inflate = zlib.decompressobj()
            text = inflate.decompress(raw, MAX_TEXT)
            if inflate.unconsumed_tail or not inflate.eof:
                return  # larger than the bound once decompressed, or cut short
            stored = json.loads(text)
            if not isinstance(stored, dict) or stored.get("engine") != engine():
                return
            revisions, comparisons, tips = stored["revisions"], stored["comparisons"], stored["tips"]
            if isinstance(revisions, dict) and isinstance(comparisons, dict) and isinstance(tips, dict):
                self.revisions, self.comparisons, self.tips = revisions, comparisons, tips
        except (OSError, ValueError, zlib.error, KeyError, TypeError, RecursionError, MemoryError):
            return  # missing, unreadable or corrupt: worked out afresh

    # -- revisions ---------------------------------------------------------------------------------

    def revision(self, sha: str, shown: str) -> Revision | None:
        """What the revision in blob `sha` holds (problems located at `shown`), or None if unknown."""
        for key in (sha, f"{sha} {shown}"):  # a broken revision's messages name where it was read
            record = self.revisions.get(key)
            if record is None:
                continue
            if not isinstance(record, list) or not record:
                return None
            try:
                if record[0] == "ok":
                    ident, title, timezone, last_review = record[1:]
                    if all(isinstance(v, str) for v in (ident, title, timezone)) and (
                        last_review is None or dt.date.fromisoformat(last_review)
                    ):
                        self.used.add(key)
                        return Revision(ident, title, timezone, last_review)
                elif record[0] == "broken" and all(isinstance(p, list) for p in record[1]):
                    problems = [Problem(shown, *p) for p in record[1]]
                    if all(_problem_ok(p) for p in problems):
                        self.used.add(key)
                        return Revision(None, problems=problems)
            except (TypeError, ValueError, IndexError, KeyError):
                pass
            return None
        return None

    def put_revision(self, sha: str, shown: str, revision: Revision) -> None:
        if self.path is None:
            return
        if revision.ident is not None:
            key = sha
            record: list[Any] = ["ok", revision.ident, revision.title, revision.timezone, revision.last_review]
        else:
            key = f"{sha} {shown}"
            rows = [[p.line, p.column, p.severity, p.rule, p.message, p.pointer] for p in revision.problems]
            if any(p.path != shown for p in revision.problems) or not plain(rows):
                return
            record = ["broken", rows]
        if not plain(record):
            return
        self.revisions[key] = record
        self.used.add(key)
        self.dirty = True

    # -- comparisons -------------------------------------------------------------------------------

    def comparison(self, old: str, new: str) -> tuple[list[Change], list[str]] | None:
        """The changes and funnel notes from blob `old` to blob `new`, or None if unknown."""
        key = f"{old} {new}"
        known = decode_comparison(self.comparisons.get(key))
        if known is not None:
            self.used.add(key)
        return known

    def put_comparison(self, old: str, new: str, changes: list[Change], notes: list[str]) -> None:
        if self.path is None:
            return
        record = encode_comparison(changes, notes)
        if not plain(record):
            return
        key = f"{old} {new}"
        self.comparisons[key] = record
        self.used.add(key)
        self.dirty = True

    # -- the latest revision of each agreement -----------------------------------------------------

    def tip(self, sha: str) -> dict[str, Any] | None:
        data = self.tips.get(sha)
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        self.used.add(sha)
        return data

    def put_tip(self, sha: str, data: dict[str, Any]) -> None:
        if self.path is not None and plain(data):
            self.tips[sha] = data
            self.used.add(sha)
            self.dirty = True

    # -- writing -----------------------------------------------------------------------------------

    def save(self) -> None:
        """Write what this run used first, then what earlier runs left, up to the bound;
        the tips of this run only. Nothing happens when the file cannot be written."""
        if self.path is None or not self.dirty:
            return
        room = MAX_ENTRIES
        kept: tuple[dict[str, list[Any]], dict[str, list[Any]]] = ({}, {})
        for fresh in (True, False):
            for table, out in zip((self.revisions, self.comparisons), kept):
                for key, value in table.items():
                    if room <= 0:
                        break
                    if (key in self.used) is fresh:
                        out[key] = value
                        room -= 1
        tips = {k: v for k, v in self.tips.items() if k in self.used}
        payload = {"engine": engine(), "revisions": kept[0], "comparisons": kept[1], "tips": tips}
        try:
            text = json.dumps(payload, separators=(",", ":"), allow_nan=False)  # ASCII: any text survives
            raw = zlib.compress(text.encode("ascii"), 1)
            if len(raw) <= MAX_FILE and len(text) <= MAX_TEXT:
                write_if_changed(self.path, raw)
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs time


def encode_comparison(changes: list[Change], notes: list[str]) -> list[Any]:
    """Changes and notes as plain values (check them with `plain` before storing)."""
    return [[[list(c.path), c.label, c.op, c.old, c.new, c.effect, c.party] for c in changes], notes]


def decode_comparison(record: Any) -> tuple[list[Change], list[str]] | None:
    """What `encode_comparison` encoded, or None when `record` is not such a thing."""
    if not isinstance(record, list):
        return None
    try:
        rows, notes = record
        if not isinstance(rows, list) or not isinstance(notes, list) or not all(isinstance(r, list) for r in rows):
            return None
        changes = [
            Change(tuple(path), label, op, before, after, effect, party)
            for path, label, op, before, after, effect, party in rows
        ]
        if not all(isinstance(n, str) for n in notes) or not all(
            all(type(step) in (str, int) for step in c.path) and isinstance(c.label, str) and isinstance(c.op, str)
            for c in changes
        ):
            return None
    except (TypeError, ValueError):
        return None
    return changes, list(notes)


def _problem_ok(p: Problem) -> bool:
    return (
        isinstance(p.line, int)
        and isinstance(p.column, int)
        and all(isinstance(v, str) for v in (p.severity, p.rule, p.message))
        and (p.pointer is None or isinstance(p.pointer, str))
    )
