"""CRM exports (leads, deals, activities) read into an in-memory DuckDB, in canonical columns.

Exports hold personal data: they are read where they lie (CSV and Parquet by DuckDB itself,
XLSX through python-calamine straight into DuckDB), never copied to disk. Every bad cell of
every file is collected with file:row:column before anything is reported.

Timestamps: a value with an offset (Z, +02:00) or a zone name is taken as given; a naive
value is local time in the agreement's zone (or --timezone), read with the system's time-zone
database (the one business calendars count in). In the hour that occurs twice when clocks go
back, a naive time is read as its second occurrence (standard time, after the change: 01:30
on 2020-11-01 in New York is 06:30 UTC); a naive time that does not exist (the skipped
spring hour) is read with the offset before the change, so it lands one hour later (02:30 on
2020-03-08 is 03:30 daylight time). Times become epoch seconds.

Reading is in two steps, so that the files are read while the agreements are checked: `read`
parses each file (naive times as wall-clock seconds: it needs no zone), then `localize(zone)`
turns wall-clock times into instants and checks what depends on them.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import itertools
import re
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ERROR, InputError, Problem, UsageError
from .clock import FIRST_YEAR as FIRST_YEAR  # the score reads both from here
from .clock import LAST_YEAR as LAST_YEAR
from .zones import wall_clock_offsets

if TYPE_CHECKING:
    import duckdb
    import numpy as np

KINDS = ("leads", "deals", "activities")

# canonical column -> type (id, time, text, amount, outcome); the first two of each kind are required
COLUMNS: dict[str, dict[str, str]] = {
    "leads": {"lead_id": "id", "mql_at": "time", "source": "text", "owner": "text", "first_touch_at": "time"},
    "deals": {
        "deal_id": "id",
        "created_at": "time",
        "closed_at": "time",
        "amount": "amount",
        "currency": "text",
        "outcome": "outcome",
        "proposal_at": "time",
        "source": "text",
        "owner": "text",
    },
    "activities": {
        "activity_id": "id",
        "requested_at": "time",
        "done_at": "time",
        "kind": "text",
        "party": "text",
    },
}
REQUIRED = {kind: tuple(list(cols)[:2]) for kind, cols in COLUMNS.items()}
# Times that cannot come before another of the same record (a first touch before the MQL can:
# sales may have met the person before marketing qualified them).
BEFORE = {"deals": (("created_at", "closed_at"),), "activities": (("requested_at", "done_at"),)}

PRESETS: dict[str, dict[str, dict[str, str]]] = {
    "canonical": {kind: {c: c for c in cols} for kind, cols in COLUMNS.items()},
    "hubspot": {
        "leads": {
            "lead_id": "Record ID",
            "mql_at": "Became a Marketing Qualified Lead Date",
            "source": "Original Source",
            "owner": "Contact owner",
            "first_touch_at": "Date of first engagement",
        },
        "deals": {
            "deal_id": "Record ID",
            "created_at": "Create Date",
            "closed_at": "Close Date",
            "amount": "Amount",
            "currency": "Currency",
            "outcome": "Deal Stage",
            "proposal_at": "Date entered Proposal Sent",
            "source": "Original Source",
            "owner": "Deal owner",
        },
        "activities": {
            "activity_id": "Record ID",
            "requested_at": "Create Date",
            "done_at": "Completed Date",
            "kind": "Task Type",
            "party": "Team",
        },
    },
    "salesforce": {
        "leads": {
            "lead_id": "Lead ID",
            "mql_at": "MQL Date",
            "source": "Lead Source",
            "owner": "Lead Owner",
            "first_touch_at": "First Activity Date",
        },
        "deals": {
            "deal_id": "Opportunity ID",
            "created_at": "Created Date",
            "closed_at": "Close Date",
            "amount": "Amount",
            "currency": "Opportunity Currency",
            "outcome": "Stage",
            "proposal_at": "Proposal Date",
            "source": "Lead Source",
            "owner": "Opportunity Owner",
        },
        "activities": {
            "activity_id": "Activity ID",
            "requested_at": "Created Date",
            "done_at": "Completed Date",
            "kind": "Type",
            "party": "Assigned Role",
        },
    },
}

# Deal stages read as outcomes (lower case); anything else is an open deal.
OUTCOMES = {
    "won": "won",
    "closed won": "won",
    "closedwon": "won",
    "lost": "lost",
    "closed lost": "lost",
    "closedlost": "lost",
    "open": "open",
}

# Naive timestamp layouts, read by DuckDB's strptime in this order: ISO ones as CRMs export them,
# then US ones. Two-digit years come before four (Excel's m/d/yy: 69-99 are 19xx, 00-68 20xx):
# %Y would read 20 as the year 20. Text in none of them (an offset, a zone name, a fraction of a
# second) is read by a cast, more slowly, as it is rare.
ISO_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
NAIVE_FORMATS = [
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
]
LAYOUTS = ISO_FORMATS + NAIVE_FORMATS
_FORMATS = "[" + ", ".join("'" + f + "'" for f in LAYOUTS) + "]"  # as SQL
_SAMPLE = 1000  # records whose times pick a column's layout
# A naive ISO time the cast reads (with a fraction, a single-digit hour, 24:00, spaces inside).
_NAIVE_ISO = r"\d{4}-\d\d?-\d\d?([T ]\s*\d\d?:\d\d(:\d\d(\.\d+)?)?)?"
# Times written outside FIRST_YEAR to LAST_YEAR (clock.py) are typing mistakes (20-03-05 read as the year 20), not data.
_FIRST_TS, _AFTER_TS = f"TIMESTAMP '{FIRST_YEAR:04d}-01-01'", f"TIMESTAMP '{LAST_YEAR + 1:04d}-01-01'"
# An amount: digits, with thousands separated by commas or not, a dot before the decimals. Signs and
# currency codes are taken off first; 12.500,00 or 12,50 (a comma before the decimals) is refused, as
# is a negative amount.
_AMOUNT = r"(\d{1,3}(,\d{3})+|\d+)(\.\d+)?"
_PLAIN_AMOUNT = r"\d+(\.\d\d?)?"  # an amount as most exports write it, read as _AMOUNT reads it
_DOT_THOUSANDS = r"\d{1,3}\.\d{3}"  # 12.500: twelve and a half, or twelve thousand five hundred?
# A UTC offset no place has (+99:99, +25:00, +14:30, -05:75): the cast would move the time by it.
_BAD_OFFSET = r":\d\d(\.\d+)?\s*[+-](14:?(0[1-9]|[1-5]\d)|(1[5-9]|[2-9]\d)(:?\d\d)?|\d\d:?[6-9]\d)\s*$"
_WRITTEN_YEAR = r"^(\d{4})-\d"  # the year of a time written with an offset or a zone name (ISO)
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}
MAX_LISTED = 20  # bad cells listed per file before the summary


@dataclass(frozen=True)
class ColumnMap:
    """Which export column feeds each canonical column, and how source values map to ids."""

    preset: str
    columns: dict[str, dict[str, str]]  # kind -> canonical -> export column
    sources: dict[str, str] = field(default_factory=dict)  # export value (lower case) -> lead-source id
    outcomes: dict[str, str] = field(default_factory=dict)  # export stage (lower case) -> won|lost|open


def column_map(
    preset: str,
    overrides: dict[str, Any] | None = None,
    where: str = "--columns",
    locate: Callable[[tuple[Any, ...], bool], tuple[int, int]] | None = None,
) -> ColumnMap:
    """The preset's mapping with a --columns file's overrides applied (checked: unknown names
    are errors, placed at their line and column when `locate` finds them in the file)."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    columns = {kind: dict(cols) for kind, cols in PRESETS[preset].items()}
    sources: dict[str, str] = {}
    outcomes = dict(OUTCOMES)
    problems = []

    def problem(path: tuple[Any, ...], message: str, key: bool = False) -> None:
        line, column = locate(path, key) if locate else (0, 0)
        place = f"{where}:{line}:{column}: error[columns]" if line else where
        problems.append(f"{place}: {message}")

    for key, value in (overrides or {}).items():
        if key in KINDS and isinstance(value, dict):
            for canonical, column in value.items():
                if canonical not in COLUMNS[key]:
                    problem(
                        (key, canonical),
                        f"{key}.{canonical} is not a canonical column; known {key} columns: {', '.join(COLUMNS[key])}",
                        key=True,
                    )
                elif not isinstance(column, str) or not column:
                    problem((key, canonical), f"{key}.{canonical} must name a column of the export")
                else:
                    columns[key][canonical] = column
        elif key == "sources" and isinstance(value, dict):
            sources.update({str(k).strip().lower(): str(v) for k, v in value.items()})
        elif key == "outcomes" and isinstance(value, dict):
            for stage, outcome in value.items():
                if outcome not in ("won", "lost", "open"):
                    problem(("outcomes", stage), f"outcomes[{stage!r}] is {outcome!r}; use won, lost or open")
                else:
                    outcomes[str(stage).strip().lower()] = outcome
        elif key in (*KINDS, "sources", "outcomes"):
            problem((key,), f"{key} must be a mapping ({key}: {{...: ...}}), not {type(value).__name__}")
        else:
            problem(
                (key,),
                f"unknown key {key!r}; use leads, deals, activities (canonical column: export column), "
                "sources (export value: lead-source id) or outcomes (deal stage: won, lost or open)",
                key=True,
            )
    if problems:
        raise UsageError("\n".join(problems))
    return ColumnMap(preset, columns, sources, outcomes)


@dataclass
class Table:
    """One export read into DuckDB as table `kind` with the canonical columns it has."""

    kind: str
    path: str
    digest: Future[str]  # the file's SHA-256, worked out while the exports are scored
    rows: int
    present: tuple[str, ...]  # canonical columns found in the file
    missing: dict[str, str]  # optional canonical column -> the export column that was looked for
    left_out: int = 0  # leads without an MQL time, which are not counted

    @property
    def sha256(self) -> str:
        return self.digest.result()


@dataclass(frozen=True)
class _Read:
    """A file read by `Exports.read`, waiting for `localize`: its times are still wall-clock."""

    given: str
    path: Path
    rows: int
    present: dict[str, str]  # canonical column -> export column
    missing: dict[str, str]
    position: dict[str, int]  # export column -> its column number
    times: tuple[str, ...]  # the canonical time columns present


@dataclass(frozen=True)
class LeadArrays:
    """The leads that have an MQL time, one element a lead: epoch seconds of the MQL and of the
    first touch (-1: none), the source as a code into `names` (0: none), and the row id."""

    mql_at: np.ndarray
    touch: np.ndarray
    code: np.ndarray
    rowid: np.ndarray
    names: tuple[str | None, ...]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sniff(path: Path) -> str:
    """The file's real type from its first bytes, whatever its name says."""
    with path.open("rb") as stream:
        head = stream.read(8192)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 is told apart later
        return "binary"
    return "csv"


def _named(name: str, canonical: str) -> str:
    """An export column as messages name it: its own name, and the canonical one when it differs."""
    return name if name == canonical else f"{name} ({canonical})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Exports:
    """The exports of one run, in one in-memory DuckDB connection (closed with the object)."""

    def __init__(self, mapping: ColumnMap, sources: dict[str, str] | None = None):
        """`sources`: the agreements' lead-source ids and names, which source values are mapped to."""
        try:
            import duckdb
        except ImportError:
            raise UsageError("slakit score reads exports with DuckDB: pip install 'slakit[score]'") from None

        self.duckdb = duckdb
        self.mapping = mapping
        self.zone: str | None = None  # set by localize()
        self.naive = False  # whether a time without an offset was read (localize() says)
        self.sources = dict(sources or {})
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET enable_progress_bar = false")
        # A file read in a background thread is read through a cursor of its own (a connection
        # to the same database: a connection is not shared between threads); tables are the
        # database's, not TEMP (a connection's own), so every cursor sees them.
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._read: dict[str, _Read] = {}  # files read, waiting for localize()
        self._widths: dict[str, int] = {}  # kind -> the cells of its CSV's header
        self._samples: dict[str, list[list[str]] | None] = {}  # kind -> its CSV's first records, as Python read them
        # kind -> what a record's row depends on besides its rowid: a CSV's dialect (its blank
        # lines are found only when a problem needs a row), or an XLSX sheet's skipped rows
        self._layout: dict[str, tuple[Path, str, str, str, int] | tuple[int, list[int]]] = {}
        self._skipped: dict[str, tuple[int, list[int]]] = {}
        self._leads: LeadArrays | None = None
        self._source_maps: dict[str, dict[str, str]] = {}
        self._workers = ThreadPoolExecutor(max_workers=4)  # two readings in the background, files' hashes
        self._lanes: list[Future[None]] = []
        self._deferred: list[Callable[[], None]] = []  # checks that wait for localize()
        self._checking: list[Future[None]] = []  # those checks, under way
        self._closing = False
        self.tables: dict[str, Table] = {}
        self.problems: list[Problem] = []
        self.summaries: list[tuple[str, str]] = []  # (file, line)

    def __enter__(self) -> Exports:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop a reading still under way (the run is being given up) and close the database."""
        self._closing = True  # a background reading reads no further file
        for con in [self.con, *self._cursors]:
            con.interrupt()
        while True:
            try:
                self._workers.shutdown(wait=True, cancel_futures=True)
                break
            except KeyboardInterrupt:
                continue  # the reading stops moments after the interrupt; closing under it would crash
        for con in [*self._cursors, self.con]:
            con.close()

    def read_in_background(self, files: list[tuple[str, str]]) -> None:
        """Read (kind, path) exports in threads: DuckDB reads outside the GIL, so the caller's
        Python (checking the agreements) runs meanwhile. The leads are read in one thread, the
        other files in another: DuckDB reads a small file on one core, and the leads' reading
        leaves part of the second core idle. `wait()` for them."""

        def read_all(lane: list[tuple[str, str]]) -> None:
            self._own_cursor()
            for kind, given in lane:
                if self._closing:
                    return
                self.read(kind, given)

        lanes = [[f for f in files if f[0] == "leads"], [f for f in files if f[0] != "leads"]]
        self._lanes = [self._workers.submit(read_all, lane) for lane in lanes if lane]

    def _own_cursor(self) -> None:
        """Give this (background) thread a connection of its own, once."""
        if getattr(self._local, "db", None) is None:
            self._local.db = self.con.cursor()
            self._cursors.append(self._local.db)
            self._local.db.execute("SET enable_progress_bar = false")

    def _in_background(self, check: Callable[[], None]) -> None:
        self._own_cursor()
        check()

    def wait(self) -> None:
        """Wait for the background reading, and raise what it raised (a missing file), the
        first file's problem first."""
        for lane in self._lanes:
            lane.result()

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection to the database."""
        return getattr(self._local, "db", None) or self.con

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.db.execute(query, params or []).fetchall()

    # -- reading ---------------------------------------------------------------------------------

    def read(self, kind: str, given: str) -> None:
        """Read one export as table `kind`; problems are collected, raised by `check()`."""
        path = Path(given)
        if not path.exists():
            raise UsageError(f"--{kind} {given}: no such file")
        if not path.is_file():
            raise UsageError(f"--{kind} {given}: not a file (a folder or a device); give the export file")
        suffix = SUFFIXES.get(path.suffix.lower())
        actual = _sniff(path)
        if suffix is None:
            self._fail(
                given,
                f"{path.suffix or 'a file without extension'} is not an export slakit reads; "
                "export CSV, XLSX or Parquet",
            )
            return
        if actual == "xls":
            self._fail(given, "this is an old Excel (.xls) workbook; save it as .xlsx or CSV")
            return
        if actual == "binary":
            self._fail(given, "the file holds binary data, not text: export it again as CSV, XLSX or Parquet")
            return
        if actual != suffix and not (suffix == "csv" and actual == "csv"):
            self._fail(
                given, f"the file is named {path.suffix} but holds {actual.upper()} data; rename or re-export it"
            )
            return
        if path.stat().st_size == 0:
            self._fail(given, "the file is empty: export it again with a header row and at least one record")
            return
        try:
            found = None
            if suffix == "csv":
                parallel, quoted = True, True
                while True:
                    raw, found, guessed = self._csv(path, kind, parallel, quoted)
                    try:
                        self._canonical(kind, given, raw, path, found)
                        return
                    except self.duckdb.Error as exc:
                        if parallel and "does not support null_padding" in str(exc):
                            parallel = False  # a quoted value over several lines needs the one-thread reader
                        elif guessed and "unterminated quote" in str(exc):
                            quoted = False  # no quoting in the file, and a stray " in a value: read it as text
                        else:
                            raise
            if suffix == "parquet":
                raw = f"read_parquet({_literal(str(path))})"
            else:
                raw = f"raw_{kind}"
                if not self._read_xlsx(path, raw, kind):
                    self._canonical(kind, given, raw, path, found=[])
                    return
            self._canonical(kind, given, raw, path, found)
        except self.duckdb.InterruptException:
            raise  # the run is being given up (close()): not a problem of the file
        except self.duckdb.Error as exc:
            text = str(exc)
            line = re.search(r"CSV Error on Line: (\d+)", text)
            at = int(line.group(1)) if line else 1
            cells = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
            if "not utf-8 encoded" in text:
                self._fail(given, "the file is not UTF-8 text; export it again as CSV UTF-8", at)
            elif cells and int(cells.group(2)) > int(cells.group(1)):
                self.problems.append(
                    # placed at the first cell past the header's, as when the sniffer saw the record
                    Problem(
                        given,
                        at,
                        int(cells.group(1)) + 1,
                        ERROR,
                        "cells",
                        _too_many(int(cells.group(2)), int(cells.group(1))),
                    )
                )
            elif "Error when sniffing file" in text:
                self._fail(given, *_unsniffable(path))
            elif line:
                self._fail(given, f"cannot read this record as CSV: {_csv_reason(text)}", at)
            else:
                self._fail(given, f"cannot read it as {suffix.upper()}: {text.splitlines()[0]}")
            self.db.execute(f"DROP TABLE IF EXISTS {kind}")

    def _csv(self, path: Path, kind: str, parallel: bool = True, quoted: bool = True) -> tuple[str, list[str], bool]:
        """The read_csv call for a CSV export, its columns (with a name for each cell of its
        longest rows: see `_beyond_header`), and whether the quote character is a guess (`quoted`: "
        when the sniffed records held no quoted value). The dialect is sniffed once and then
        given explicitly, so the reading does not sniff the file again."""
        options = "all_varchar = true, header = true, null_padding = true"
        with path.open("rb") as stream:
            if re.fullmatch(rb"(\xef\xbb\xbf)?sep=.\r?\n", stream.readline(64)):
                options += ", skip = 1"  # Excel's line naming the separator, above the header
        ((delim, quote, escape, newline, comment, skip, header, columns),) = self.sql(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, Columns "
            f"FROM sniff_csv({_literal(str(path))}, {options})"
        )
        names = [column["name"] for column in columns]
        guessed = quote == "(empty)" and quoted
        if guessed:
            # No value in the sniffed records was quoted, but a later one may be: exporters quote a
            # value only when it holds the separator, a quote or a line break ("Acme, Inc.").
            # Without a quote character it would be split, and refused as an unquoted comma.
            quote = '"'
        if quote == '"' and escape == "(empty)":
            escape = '"'  # "" inside quotes is one quote (RFC 4180), in later records too

        def text(value: str) -> str:
            return _literal("" if value == "(empty)" else value)

        struct = ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in names)
        call = (
            f"read_csv({_literal(str(path))}, auto_detect = false, delim = {text(delim)}, quote = {text(quote)}, "
            f"escape = {text(escape)}, new_line = {text(newline)}, comment = {text(comment)}, skip = {int(skip)}, "
            f"header = {'true' if header else 'false'}, null_padding = true, parallel = {str(parallel).lower()}, "
            f"columns = {{{struct}}})"
        )
        width, self._samples[kind] = _head(path, delim, quote, int(skip), bool(header))
        self._widths[kind] = width if header else len(names)
        self._layout[kind] = (path, delim, quote, comment, int(skip))
        return call, names, guessed

    def _read_xlsx(self, path: Path, raw: str, kind: str) -> bool:
        """The first sheet, as text columns, passed to DuckDB as lists (no temporary file);
        False when the sheet is empty. Empty rows are no records (as blank lines of a CSV are
        not), and the header is the first row that is not empty; rows keep their numbers."""
        try:
            from python_calamine import CalamineWorkbook
        except ImportError:
            raise UsageError("XLSX exports are read with python-calamine: pip install 'slakit[score]'") from None

        try:
            book = CalamineWorkbook.from_path(str(path))
            rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine raises its own error types for a broken workbook
            raise self.duckdb.InvalidInputException(f"not a readable workbook ({exc})") from None
        filled = [any(v is not None and v != "" for v in row) for row in rows]
        if not any(filled):
            return False
        top = filled.index(True)
        header = [str(h).strip() for h in rows[top]]
        body, blanks = [], []
        for row, full in zip(rows[top + 1 :], filled[top + 1 :]):
            if full:
                body.append(row)
            else:
                blanks.append(len(body))  # an empty row before the record that comes next
        self._layout[kind] = (top, blanks)
        cols = [[_cell(r[i]) if i < len(r) else None for r in body] for i in range(len(header))]
        select = ", ".join(
            f"unnest(${i + 1})::VARCHAR AS {_quote(h or f'column{i + 1}')}" for i, h in enumerate(header)
        )
        self.db.execute(f"CREATE TABLE {raw} AS SELECT {select}", cols)
        return True

    def _canonical(self, kind: str, given: str, raw: str, path: Path, found: list[str] | None = None) -> None:
        """Table `kind` from the raw export: canonical columns parsed, problems collected. A record's
        row in the file is its rowid + 2 (after the header; insertion order is kept)."""
        if found is None:
            found = [name for (name,) in self.sql(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {raw})")]
        wanted = self.mapping.columns[kind]
        index = {name.strip().lower(): name for name in found}
        present: dict[str, str] = {}
        missing: dict[str, str] = {}
        for canonical, column in wanted.items():
            name = index.get(column.strip().lower())
            if name is not None:
                present[canonical] = name
            elif canonical in REQUIRED[kind]:
                self.problems.append(
                    Problem(
                        given,
                        1,
                        1,
                        ERROR,
                        "column",
                        f"no column {column!r} for {canonical} in the {kind} export (preset {self.mapping.preset}); "
                        f"columns found: {', '.join(repr(f) for f in found) or 'none'}. "
                        f"Choose another --preset, or map it in a --columns file ({kind}: {{{canonical}: ...}})",
                    )
                )
            else:
                missing[canonical] = column
        if any(c not in present for c in REQUIRED[kind]):
            return
        position = {name: found.index(name) + 1 for name in found}
        width = self._widths.get(kind, len(found))
        # One pass: the inner query cleans each text cell once, the next parses times and amounts
        # beside their text, and only the text of cells that failed to parse is kept (for the
        # messages), so bad cells are found without parsing again. Casts skip surrounding spaces,
        # so times and amounts are not trimmed first; a blank cell is told from a bad one below.
        inner, outer, final, times = [], [], ["*"], []
        timed = [name for c, name in present.items() if COLUMNS[kind][c] == "time"]
        layouts = self._layouts(raw, timed, [found.index(name) for name in timed], self._samples.get(kind))
        for canonical, name in present.items():
            kind_of = COLUMNS[kind][canonical]
            cell = f"CAST({_quote(name)} AS VARCHAR)"
            # Ids are cleaned here, as duplicates are found by them; other text is cleaned where it is
            # compared (sources on their distinct values), which spares a million trims.
            inner.append(f"nullif(trim({cell}), '') AS {canonical}" if kind_of == "id" else f"{cell} AS {canonical}")
            if kind_of == "time":
                # The column's own naive layout (strptime refuses a trailing offset), as wall-clock
                # seconds; the text of any other cell is kept for localize(), which reads it or reports it.
                layout = layouts.get(name)
                fast = f"try_strptime({canonical}, {_literal(layout)})" if layout else "CAST(NULL AS TIMESTAMP)"
                outer += [f"{fast} AS {canonical}", f"{canonical} AS _text_{canonical}"]
                # strptime reads 'infinity', '-infinity' and 'epoch' as 1900-01-01 00:00, its zero:
                # that time is taken only from a cell that says 1900 (%y reads 00 as 2000)
                read = (
                    f"({canonical} > {_FIRST_TS} AND {canonical} < {_AFTER_TS} "
                    f"OR {canonical} = {_FIRST_TS} AND contains(_text_{canonical}, '1900'))"
                )
                final += [
                    f"CASE WHEN {read} THEN CAST(epoch({canonical}) AS BIGINT) END AS {canonical}",
                    f"CASE WHEN {canonical} IS NULL OR NOT {read} "
                    f"THEN nullif(trim(_text_{canonical}), '') END AS _text_{canonical}",
                    f"CAST(NULL AS BIGINT) AS _utc_{canonical}",
                ]
                times.append(canonical)
            elif kind_of == "amount":
                bare = f"regexp_replace({canonical}, '^\\s*[A-Z]{{3}}|[\\s$€£¥]', '', 'g')"
                # most cells are plain (164.50): one pattern, then the cast; others go the long way
                parse = (
                    f"CASE WHEN regexp_full_match({canonical}, {_literal(_PLAIN_AMOUNT)}) "
                    f"THEN try_cast({canonical} AS DECIMAL(18, 2)) "
                    f"WHEN regexp_full_match({bare}, {_literal(_AMOUNT)}) "
                    f"AND NOT regexp_full_match({bare}, {_literal(_DOT_THOUSANDS)}) "
                    f"THEN try_cast(replace({bare}, ',', '') AS DECIMAL(18, 2)) END"
                )
                outer += [f"{parse} AS {canonical}", f"{canonical} AS _text_{canonical}"]
                final += [
                    canonical,
                    f"CASE WHEN {canonical} IS NULL AND trim(_text_{canonical}) <> '' "
                    f"THEN trim(_text_{canonical}) END AS _text_{canonical}",
                    # the currency the cell names (EUR 900, €900; $ is many currencies' sign)
                    f"CASE WHEN {canonical} IS NOT NULL THEN CASE "
                    f"WHEN regexp_matches(_text_{canonical}, '^\\s*[A-Z]{{3}}') "
                    f"THEN regexp_extract(_text_{canonical}, '^\\s*([A-Z]{{3}})', 1) "
                    f"WHEN contains(_text_{canonical}, '€') THEN 'EUR' WHEN contains(_text_{canonical}, '£') THEN 'GBP' "
                    f"END END AS _currency_of_{canonical}",
                ]
            elif kind_of == "outcome":
                cases = " ".join(
                    f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in sorted(self.mapping.outcomes.items())
                )
                outer.append(f"CASE lower(trim({canonical})) {cases} ELSE 'open' END AS {canonical}")
            else:
                outer.append(canonical)
        beyond = [f"_beyond_{i}" for i in range(len(found) - width)]
        for name, column in zip(found[width:], beyond):  # cells past the header's (see _beyond_header)
            inner.append(f"nullif(trim(CAST({_quote(name)} AS VARCHAR)), '') AS {column}")
            outer.append(column)
        replaced = [c for c in present if COLUMNS[kind][c] in ("time", "amount")]
        exclude = f" EXCLUDE ({', '.join(f'{c}, _text_{c}' for c in replaced)})" if replaced else ""
        self.db.execute(
            f"CREATE TABLE {kind} AS SELECT {final[0]}{exclude}{''.join(', ' + f for f in final[1:])} "
            f"FROM (SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {raw}))"
        )
        self.db.execute(f"DROP TABLE IF EXISTS raw_{kind}")
        rows = self.sql(f"SELECT count(*) FROM {kind}")[0][0]
        if rows == 0:
            self._fail(given, "the file has a header but no records")
            self.db.execute(f"DROP TABLE {kind}")
            return
        self._beyond_header(given, kind, beyond, width)
        accepted = (
            "an amount such as 12500.00 or $12,500.00 (a dot before the cents, never between thousands; not negative)"
        )
        for canonical in replaced:
            if canonical not in times:
                self._bad_cells(given, kind, canonical, present[canonical], position[present[canonical]], accepted)
        if "amount" in present:
            self._currency_in_amounts(given, kind, present, missing, position[present["amount"]])
        ident = REQUIRED[kind][0]
        self._required_cells(given, kind, ident, present[ident], position[present[ident]])
        # looked for while the exports are scored (see localize): a core is idle then
        self._deferred.append(partial(self._duplicates, given, kind, ident, present[ident], position[present[ident]]))
        self._read[kind] = _Read(given, path, rows, present, missing, position, tuple(times))

    def _currency_in_amounts(
        self, given: str, kind: str, present: dict[str, str], missing: dict[str, str], column: int
    ) -> None:
        """A currency named in an amount cell (EUR 900, as multi-currency reports write amounts) is
        the deal's currency when the currency cell is empty or there is no currency column; one
        that differs from the currency cell is a bad cell. (It was dropped: EUR 900 counted as
        900 of the goal's currency.)"""
        if not self.sql(f"SELECT count(*) FROM {kind} WHERE _currency_of_amount IS NOT NULL")[0][0]:
            return
        if "currency" in present:
            wrong = self.sql(
                f"SELECT rowid, _currency_of_amount, trim(currency) FROM {kind} WHERE _currency_of_amount IS NOT NULL "
                f"AND nullif(trim(currency), '') IS NOT NULL AND upper(trim(currency)) <> _currency_of_amount ORDER BY rowid"
            )
            amount, currency = _named(present["amount"], "amount"), _named(present["currency"], "currency")
            found = [
                (
                    self._row(kind, r),
                    column,
                    "cell",
                    f"{amount} is in {code}, {currency} says {said!r}; one of them is wrong",
                )
                for r, code, said in wrong
            ]
            self._listed(given, found, "amounts in another currency than their currency cell")
            self.db.execute(
                f"UPDATE {kind} SET currency = _currency_of_amount "
                "WHERE _currency_of_amount IS NOT NULL AND nullif(trim(currency), '') IS NULL"
            )
        else:
            self.db.execute(f"ALTER TABLE {kind} ADD COLUMN currency VARCHAR")
            self.db.execute(f"UPDATE {kind} SET currency = _currency_of_amount")
            present["currency"] = present["amount"]  # the currency comes from the amount's column
            missing.pop("currency", None)

    def _layouts(
        self, raw: str, names: list[str], positions: list[int], sample: list[list[str]] | None
    ) -> dict[str, str]:
        """The naive layout most of the first records of each time column are written in (the first
        in LAYOUTS of those most fit). Only it is tried on every cell: a layout that does not fit
        costs DuckDB more than one that does. The first records are a CSV's `sample` when Python
        read them (a query of the file would start DuckDB's reading of it), else the first rows of
        `raw`. Layouts are tried in turn, and a column is settled by the first that fits every
        cell written: it is the one the counts of all would pick."""
        if not names:
            return {}
        if sample is not None:
            cells = [[row[p] if p < len(row) else None for row in sample] for p in positions]
        else:
            columns = ", ".join(f"CAST({_quote(n)} AS VARCHAR)" for n in names)
            cells = [list(column) for column in zip(*self.sql(f"SELECT {columns} FROM {raw} LIMIT {_SAMPLE}"))]
        written = [sum(1 for v in column if v is not None and v.strip()) for column in cells]
        fits: list[list[int]] = [[] for _ in names]
        for layout in LAYOUTS:
            open_ = [i for i in range(len(names)) if written[i] and max(fits[i], default=0) < written[i]]
            if not open_:
                break
            counts = ", ".join(f"count(try_strptime(c{k}, {_literal(layout)}))" for k in range(len(open_)))
            columns = ", ".join(f"unnest(${k + 1}::VARCHAR[]) AS c{k}" for k in range(len(open_)))
            found = self.sql(f"SELECT {counts} FROM (SELECT {columns})", [cells[i] for i in open_])[0]
            for i, n in zip(open_, found):
                fits[i].append(n)
        out: dict[str, str] = {}
        for name, counts_of in zip(names, fits):
            most = max(counts_of, default=0)
            if most:
                out[name] = LAYOUTS[counts_of.index(most)]
        return out

    def localize(self, zone: str) -> None:
        """Turn the naive times of every file read into instants in `zone`, read the cells the
        fast layouts missed, and check the times (bad cells, records out of order)."""
        try:  # the cast of a rare naive layout reads it in the session's zone
            self.con.execute(f"SET TimeZone = {_literal(zone)}")
        except self.duckdb.Error:
            raise UsageError(
                f"time zone {zone!r} is not one DuckDB knows; give an IANA name such as America/New_York"
            ) from None
        self.zone = zone
        # Files are hashed from here on, in the background: both cores were busy reading, one is
        # idle while the exports are scored.
        digests = {kind: self._workers.submit(sha256_of, read.path) for kind, read in self._read.items()}
        for kind in sorted(self._read, key=KINDS.index):  # in a fixed order, whichever was read first
            read = self._read[kind]
            times = read.times
            if times:
                self._read_rare_times(kind, times)
                self._to_instants(kind, times, zone)
            present = read.present
            accepted = (
                f"a date and time such as 2020-03-05 14:03, in the years {FIRST_YEAR} to {LAST_YEAR} "
                "(an offset, if given, from -14:00 to +14:00)"
            )
            for canonical in times:
                self._bad_cells(
                    read.given, kind, canonical, present[canonical], read.position[present[canonical]], accepted, True
                )
            for first, then in BEFORE.get(kind, ()):
                if first in present and then in present:
                    self._out_of_order(
                        read.given, kind, (first, present[first]), (then, present[then]), read.position[present[then]]
                    )
            # a lead without an MQL time is not an MQL: it is left out, and the scorecard says how many
            left_out = self.sql("SELECT count(*) FILTER (mql_at IS NULL) FROM leads")[0][0] if kind == "leads" else 0
            self.tables[kind] = Table(
                kind, read.given, digests[kind], read.rows, tuple(present), read.missing, left_out
            )
        self._read = {}
        # Duplicate ids are looked for in the background too (a million leads' ids take 60-90 ms),
        # once the times are rewritten (an update beside a reading of the table is slower); check()
        # waits for them.
        self._checking += [self._workers.submit(self._in_background, check) for check in self._deferred]
        self._deferred = []

    def _read_rare_times(self, kind: str, times: tuple[str, ...]) -> None:
        """The time cells no fast layout read: a naive ISO time the cast reads (a fraction of a
        second, spaces inside) stays wall-clock; one with an offset or a zone name becomes an instant
        (an offset no place has is refused: the cast would move the time by it)."""
        for c in times:
            text = f"_text_{c}"
            if not self.sql(f"SELECT count(*) FROM {kind} WHERE {text} IS NOT NULL")[0][0]:
                continue
            naive = (
                f"CASE WHEN regexp_full_match({text}, {_literal(_NAIVE_ISO)}) THEN try_cast({text} AS TIMESTAMP) "
                f"WHEN contains(left({text}, 10), '/') THEN try_strptime({text}, {_FORMATS}) END"
            )
            # A time with an offset is read when it is written as one (the cast also reads 'epoch' as
            # 1970) in the years accepted: those written, not those of its instant in UTC.
            year = f"try_cast(regexp_extract({text}, {_literal(_WRITTEN_YEAR)}, 1) AS INTEGER)"
            offset = (
                f"CASE WHEN NOT contains(left({text}, 10), '/') AND {year} BETWEEN {FIRST_YEAR} AND {LAST_YEAR} "
                f"AND NOT regexp_matches({text}, {_literal(_BAD_OFFSET)}) THEN try_cast({text} AS TIMESTAMPTZ) END"
            )
            # the fraction of a second is cut: a time is in the second it is written in
            local = (
                f"CASE WHEN {naive} >= {_FIRST_TS} AND {naive} < {_AFTER_TS} "
                f"THEN CAST(epoch(date_trunc('second', {naive})) AS BIGINT) END"
            )
            instant = f"CAST(epoch(date_trunc('second', {offset})) AS BIGINT)"
            self.con.execute(
                f"UPDATE {kind} SET {c} = {local}, _utc_{c} = CASE WHEN {naive} IS NULL THEN {instant} END "
                f"WHERE {text} IS NOT NULL"
            )
            self.con.execute(f"UPDATE {kind} SET {text} = NULL WHERE {c} IS NOT NULL OR _utc_{c} IS NOT NULL")

    def _to_instants(self, kind: str, times: tuple[str, ...], zone: str) -> None:
        """Wall-clock seconds become epoch seconds: each minus the zone's offset at that wall-clock
        time, from the offsets in force over the span of the file's times."""
        span = ", ".join(f"min({c}), max({c})" for c in times)
        bounds = [v for v in self.sql(f"SELECT {span} FROM {kind}")[0] if v is not None]
        sets = []
        if bounds:
            self.naive = True
            steps = wall_clock_offsets(zone, min(bounds), max(bounds))
            sets = [f"{c} = coalesce({c} - {step_sql(c, steps)}, _utc_{c})" for c in times]
        else:
            sets = [f"{c} = _utc_{c}" for c in times]
        self.con.execute(f"UPDATE {kind} SET {', '.join(sets)}")

    def _row(self, kind: str, rowid: int) -> int:
        """A record's row in its file as a spreadsheet shows it (the header is row 1): DuckDB's
        rowid counts records only, so the lines above the header, blank lines (which are no
        records) and comment lines before the record are added back."""
        if kind not in self._skipped:
            layout = self._layout.get(kind)
            if layout is None:
                self._skipped[kind] = (0, [])
            elif len(layout) == 2:
                self._skipped[kind] = layout  # an XLSX sheet's, counted as it was read
            else:
                self._skipped[kind] = _skipped_lines(*layout)
        top, blanks = self._skipped[kind]
        return rowid + 2 + top + bisect.bisect_right(blanks, rowid)

    def _beyond_header(self, given: str, kind: str, beyond: list[str], width: int) -> None:
        """Records with a value in a cell beyond the header's last: its values have moved one cell
        along (a comma inside a value that is not in quotes), so none of them can be trusted."""
        if not beyond:
            return
        count = " + ".join(f"({c} IS NOT NULL)::INT" for c in beyond)
        rows = self.sql(f"SELECT rowid, {count} AS n FROM {kind} WHERE n > 0 ORDER BY rowid")
        found = [(self._row(kind, r), width + 1, "cells", _too_many(width + n, width)) for r, n in rows]
        self._listed(given, found, "records with more cells than the header")

    def _listed(self, given: str, found: list[tuple[int, int, str, str]], what: str) -> None:
        """Problems for the first MAX_LISTED findings (row, column, rule, message) of one check,
        then a summary line saying how many `what` there were in all."""
        for row, column, rule, message in found[:MAX_LISTED]:
            self.problems.append(Problem(given, row, column, ERROR, rule, message))
        if len(found) > MAX_LISTED:
            self.summaries.append((given, f"{given}: {len(found)} {what}, the first {MAX_LISTED} listed"))

    def _bad_cells(
        self, given: str, kind: str, canonical: str, name: str, column: int, accepted: str, times: bool = False
    ) -> None:
        bad = self.sql(
            f"SELECT rowid, _text_{canonical} FROM {kind} WHERE _text_{canonical} IS NOT NULL "
            f"AND {canonical} IS NULL ORDER BY rowid"
        )
        named = _named(name, canonical)
        found = [
            (
                self._row(kind, r),
                column,
                "cell",
                f"{named}: {value!r} is not {accepted}{_time_hint(value) if times else ''}",
            )
            for r, value in bad
        ]
        self._listed(given, found, f"bad values in column {name!r}")

    def _required_cells(self, given: str, kind: str, ident: str, name: str, column: int) -> None:
        empty = self.sql(f"SELECT rowid FROM {kind} WHERE {ident} IS NULL ORDER BY rowid")
        message = f"{_named(name, ident)} is empty; every record needs an id"
        found = [(self._row(kind, r), column, "cell", message) for (r,) in empty]
        self._listed(given, found, f"records without {name!r}")

    def _out_of_order(self, given: str, kind: str, first: tuple[str, str], then: tuple[str, str], column: int) -> None:
        """Records whose `then` time comes before their `first` (a deal closed before it was
        created): a sales cycle or a response time would come out negative."""
        wrong = self.sql(f"SELECT rowid FROM {kind} WHERE {then[0]} < {first[0]} ORDER BY rowid")
        message = f"{_named(then[1], then[0])} is before {_named(first[1], first[0])}; one of them is wrong"
        found = [(self._row(kind, r), column, "cell", message) for (r,) in wrong]
        self._listed(given, found, f"records with {then[1]!r} before {first[1]!r}")

    def _duplicates(self, given: str, kind: str, ident: str, name: str, column: int) -> None:
        dupes = self.sql(
            f"WITH twice AS (SELECT {ident} FROM {kind} WHERE {ident} IS NOT NULL GROUP BY {ident} HAVING count(*) > 1) "
            f"SELECT {ident}, list(rowid ORDER BY rowid) FROM {kind} JOIN twice USING ({ident}) "
            f"GROUP BY {ident} ORDER BY min(rowid)"
        )
        dupes = [(value, [self._row(kind, r) for r in rowids]) for value, rowids in dupes]
        found = [
            (
                rows[1],
                column,
                "duplicate",
                f"{name} {value!r} appears {len(rows)} times (rows {', '.join(map(str, rows[:5]))}); "
                "each record must appear once",
            )
            for value, rows in dupes
        ]
        self._listed(given, found, f"duplicated ids in {name!r}")

    def _fail(self, given: str, message: str, line: int = 1) -> None:
        self.problems.append(Problem(given, line, 1, ERROR, "file", message))

    def check(self) -> None:
        """Raise one InputError listing every problem of every file, then a summary."""
        for done in self._checking:
            done.result()
        for check in self._deferred:  # read, not localized: checked here
            check()
        self._checking, self._deferred = [], []
        if not self.problems:
            return
        lines = [p.format() for p in sorted(self.problems)]
        # file by file, as the problems are (files are read side by side), each file's in the order found
        lines += [line for _, line in sorted(self.summaries, key=lambda summary: summary[0])]
        files = len({p.path for p in self.problems})
        lines.append(
            f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)} in {files} export file{'s' * (files != 1)}"
        )
        raise InputError("\n".join(lines))

    def use_sources(self, sources: dict[str, str]) -> None:
        """Map source values to these lead sources (one agreement's ids and names) from now on:
        two agreements may give one name to different ids."""
        if sources != self.sources:
            self.sources = dict(sources)
            self._source_maps = {}
            self._leads = None

    def source_map(self, kind: str) -> dict[str, str]:
        """Each source value of the export, as written, and the lead-source id it stands for: a
        --columns `sources` entry, the id itself or the source's name (any case), or the id written
        another way (Web Sales-Ready -> web-sales-ready); anything else stands for itself. Worked
        out on the distinct values, so the records are never rewritten."""
        pairs: dict[str, str] = {}
        for ident, name in self.sources.items():
            pairs[ident.lower()] = ident
            pairs[name.strip().lower()] = ident
        pairs.update(self.mapping.sources)
        table = self.tables.get(kind)
        if table is None or "source" not in table.present:
            return {}
        if kind not in self._source_maps:
            out = self._source_maps[kind] = {}
            for (value,) in self.sql(f"SELECT DISTINCT source FROM {kind} WHERE source IS NOT NULL"):
                written = value.strip()
                if not written:
                    continue  # a blank cell: no source
                slug = re.sub(r"[^a-z0-9]+", "-", written.lower()).strip("-")
                out[value] = pairs.get(written.lower()) or (slug if slug in self.sources else written)
        return self._source_maps[kind]

    def source_values(self, kind: str, ids: list[str]) -> list[str]:
        """The source values, as written in the export, that stand for any of these ids."""
        return sorted(value for value, ident in self.source_map(kind).items() if ident in ids)

    def lead_arrays(self) -> LeadArrays:
        """The leads with an MQL time as numbers, fetched once for every agreement measured
        (again for one whose lead sources differ: see use_sources)."""
        if self._leads is None:
            table = self.tables["leads"]
            sources = self.source_map("leads")
            names: list[str | None] = [None, *sorted(set(sources.values()))]
            number = {name: i for i, name in enumerate(names)}
            values = sorted(sources)
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _source_codes AS "
                "SELECT unnest(?::VARCHAR[]) AS source, unnest(?::INTEGER[]) AS code",
                [values, [number[sources[v]] for v in values]],
            )
            touch = "coalesce(first_touch_at, -1)" if "first_touch_at" in table.present else "-1"
            code, join = "0", ""
            if "source" in table.present:
                code, join = "coalesce(c.code, 0)", "LEFT JOIN _source_codes c USING (source)"
            found = self.con.execute(
                f"SELECT mql_at, {touch} AS touch, {code} AS code, leads.rowid AS r FROM leads {join} "
                "WHERE mql_at IS NOT NULL"
            ).fetchnumpy()
            import numpy as np  # loaded here: the reading is well under way by now

            mql_at, touches, codes, rowid = (
                np.asarray(found[k], dtype=np.int64) for k in ("mql_at", "touch", "code", "r")
            )
            self._leads = LeadArrays(mql_at, touches, codes, rowid, tuple(names))
        return self._leads


def _unsniffable(path: Path) -> tuple[str, int]:
    """Why DuckDB could not work out a CSV's dialect, in words, and the row to look at."""
    with path.open("rb") as stream:
        lines = stream.read(1 << 20).split(b"\n")[:-1]  # each line up to its LF
    endings = [line.endswith(b"\r") for line in lines]
    if any(endings) and not all(endings):
        first = endings[0]
        row = endings.index(not first) + 1
        return (
            f"its lines end in two ways: line 1 with {'CR LF' if first else 'LF alone'}, line {row} with "
            f"{'LF alone' if first else 'CR LF'} (two files pieced together?); save it again as CSV UTF-8 "
            "from a spreadsheet or an editor",
            row,
        )
    return (
        "cannot tell how its values are separated (comma, semicolon, tab or |) and quoted: "
        "check that it is a CSV export, with a header row",
        1,
    )


def _csv_reason(text: str) -> str:
    """DuckDB's reason a CSV record cannot be read, in words."""
    if "unterminated quote" in text:
        return 'a value opens a quote (") that is not closed: quote the whole value, doubling quotes inside it'
    reasons = [line for line in text.splitlines()[1:] if line and not line.startswith(("Original Line", "Possible"))]
    return reasons[0] if reasons else text.splitlines()[0]


def _time_hint(value: str) -> str:
    """What a bad time most likely is, and how to export it instead."""
    if re.fullmatch(r"\d{5}(\.\d+)?", value):
        return "; it looks like a spreadsheet's date number: format the column as dates before exporting"
    if re.fullmatch(r"\d{10}(\d{3})?(\.\d+)?", value):
        return "; it looks like seconds (or milliseconds) since 1970: export dates as text"
    day_first = re.match(r"\s*(\d{1,2})/(\d{1,2})/\d{2}(\d{2})?\b", value)
    if day_first and 12 < int(day_first.group(1)) <= 31 and 1 <= int(day_first.group(2)) <= 12:
        # the cells of days 1 to 12 were read, as month/day: they are wrong too, without a word
        return (
            "; it looks like day/month/year, and dates with slashes are read as month/day/year (US), so "
            "this column's other dates are misread too: export dates as 2020-03-05 14:03"
        )
    return ""


def _too_many(cells: int, header: int) -> str:
    return (
        f"this record has {cells} cells, the header {header}: a value holding a comma (or the file's "
        "separator) that is not in quotes moves the values after it; quote it, or export the file again"
    )


def _csv_rows(path: Path, delim: str, quote: str, skip: int) -> Generator[list[str], None, None] | None:
    """The rows of a CSV after its first `skip` lines, read with Python's csv module in the
    dialect DuckDB's sniffer found; None for one csv cannot read (a separator or a quote of
    several characters)."""
    quote = "" if quote == "(empty)" else quote
    if len(delim) != 1 or len(quote) > 1:
        return None
    # a long note (a pasted e-mail) in one cell: DuckDB read it, so csv must (its limit is 128 KiB)
    csv.field_size_limit(max(csv.field_size_limit(), _LONGEST_VALUE))

    def rows() -> Generator[list[str], None, None]:
        with path.open(encoding="utf-8", errors="replace", newline="") as stream:
            for _ in range(skip):
                stream.readline()
            yield from csv.reader(
                stream,
                delimiter=delim,
                quotechar=quote or None,
                quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
            )

    return rows()


def _head(path: Path, delim: str, quote: str, skip: int, header: bool) -> tuple[int, list[list[str]] | None]:
    """How many cells the header row of a CSV has (DuckDB names every cell of the longest rows
    it sniffed, the header's or not), and its first _SAMPLE records (blank lines left out);
    (no check, None) for a dialect Python's csv cannot read."""
    rows = _csv_rows(path, delim, quote, skip)
    if rows is None:
        return 1 << 30, None
    with closing(rows):
        try:
            first = next(rows, []) if header else []
        except csv.Error:  # a cell over csv's size limit
            return 1 << 30, None
        try:
            sample: list[list[str]] | None = [row for row in itertools.islice(rows, _SAMPLE) if row]
        except csv.Error:  # DuckDB reads the first records instead
            sample = None
        return max(len(first), 1), sample


_LONGEST_VALUE = (1 << 31) - 1  # characters: csv's largest limit on every platform

_BLANK_LINE = (b"\n\n", b"\n\r\n", b"\r\r")


def _skipped_lines(path: Path, delim: str, quote: str, comment: str, skip: int) -> tuple[int, list[int]]:
    """The lines of a CSV that DuckDB reads as no record: how many come before the header (the
    sniffer's SkipRows), and for each blank or comment line after it, the record it comes
    before (its index among the records). The file is read again, with Python's csv module, only
    when it holds a blank line, or a comment character is in use."""
    comment = "" if comment in ("(empty)", "\\0", "\x00") else comment
    if len(comment) > 1:
        return skip, []  # a comment csv cannot tell: rows as DuckDB counts them
    if not comment:
        with path.open("rb") as stream:
            tail, found = b"", False
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                if any(blank in tail + chunk for blank in _BLANK_LINE):
                    found = True
                    break
                tail = chunk[-2:]
        if not found:
            return skip, []
    rows = _csv_rows(path, delim, quote, skip)
    if rows is None:
        return skip, []  # a dialect csv cannot read: rows as DuckDB counts them
    blanks: list[int] = []
    with closing(rows):
        next(rows, None)  # the header
        records = 0
        for cells in rows:
            if not cells or (comment and cells[0].startswith(comment)):
                blanks.append(records)
            else:
                records += 1
    return skip, blanks


def step_sql(column: str, steps: list[tuple[int, int]]) -> str:
    """A step function of `column` as SQL, for [(from, value)] steps in order (the first value
    also below the first step): a CASE split in halves, so many steps cost a few comparisons a
    value, not one a step."""
    if len(steps) == 1:
        return str(steps[0][1])
    middle = len(steps) // 2
    lower, upper = step_sql(column, steps[:middle]), step_sql(column, steps[middle:])
    return f"(CASE WHEN {column} < {steps[middle][0]} THEN {lower} ELSE {upper} END)"


def _cell(value: Any) -> str | None:
    """An XLSX cell as the text DuckDB parses (dates in ISO, whole numbers without .0)."""
    import datetime as dt

    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
