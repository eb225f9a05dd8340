"""Validation: every file, every problem (YAML, schema, semantic rules), in one result."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ERROR, Problem, UsageError, shown
from ..model.figures import parse_percent
from ..model.schema import index, pattern_of, pointer
from ..model.terms import remembering_digests
from ..world.clock import today
from ..world.files import find_agreements
from ..world.load import Document, load_file, no_cycle_collection
from ..world.workers import start_worker
from .evidence import Evidence, Witness
from .rules import SIGNOFF, check, suggest, where
from .schema import conforms, validator

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


@dataclass
class FileResult:
    """One file's outcome: the document (when it loaded) and its problems."""

    path: str
    document: Document | None
    problems: list[Problem] = field(default_factory=list)
    evidence: Evidence | None = None  # what was found outside the file about its sign-off

    @property
    def ok(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)


@dataclass
class Report:
    """The outcome of validating several files."""

    files: list[FileResult]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def problems(self) -> list[Problem]:
        return sorted(p for f in self.files for p in f.problems)

    def count(self, severity: str) -> int:
        return sum(p.severity == severity for p in self.problems)


def validate_paths(
    paths: Iterable[str],
    strict: bool = False,
    keep: bool = False,
    context: Iterable[str] = (),
    enforce_signoff: bool = False,
    outside: bool = True,
) -> Report:
    """Validate every agreement under `paths` (files or folders).

    With `keep`, each result holds its loaded document for later stages (render);
    otherwise documents are dropped as soon as they are checked, so memory stays flat.
    The agreements under the `context` folders are read too, before `paths`, so a file in
    `paths` that reuses one of their ids is reported; the report covers `paths` only.
    Without `outside`, each file is checked by itself: no roster files, SSH signatures or
    Git history (for a reader of the terms, such as the scorecard, that needs no sign-off).
    """
    given = find_agreements(paths)
    if not context:
        return validate_files(given, strict, keep, enforce_signoff, outside)
    seen = {path for path, _ in given}
    others: list[tuple[Path, str]] = []
    for folder in context:
        if not Path(folder).is_dir():
            continue
        try:
            found = find_agreements([folder])
        except UsageError:  # a folder without agreements gives no context
            continue
        for path, name in found:
            if path not in seen:
                seen.add(path)
                others.append((path, name))
    report = validate_files(others + given, strict, keep, enforce_signoff, outside)
    return Report(report.files[len(others) :])


def validate_files(
    files: list[tuple[Path, str]],
    strict: bool = False,
    keep: bool = True,
    enforce_signoff: bool = False,
    outside: bool = True,
) -> Report:
    day = today()
    owners: dict[str, str] = {}
    workers = min(os.cpu_count() or 1, 8)
    if not keep and len(files) >= PARALLEL_FROM and workers > 1:
        return Report(_validate_in_workers(files, day, owners, strict, workers, enforce_signoff, outside))
    results = []
    with Witness() as witness:
        for path, name in files:
            seen = witness if outside else None
            result = check_source(load_file(path, name), name, day, owners, strict, seen, enforce_signoff)
            if not keep:
                result.document = None
            results.append(result)
    return Report(results)


PARALLEL_FROM = 32  # files; fewer are checked sooner than worker processes start


def _validate_in_workers(
    files: list[tuple[Path, str]],
    day: dt.date,
    owners: dict[str, str],
    strict: bool,
    workers: int,
    enforce_signoff: bool = False,
    outside: bool = True,
) -> list[FileResult]:
    """Each file checked in a worker process, all cores busy; only the problems come back
    (a document's node tree costs more to send than to parse). Ids are matched here, in
    order, so the same file is named the duplicate as when checked one by one."""
    validator()  # built once, before the workers are forked from this process
    conforms()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # Files go to the workers in batches, each checked with one Witness: a Witness per file
    # would list the repository's files and start Git again for every file.
    size = max(1, len(files) // (workers * 4))
    jobs = [(files[at : at + size], day, enforce_signoff, outside) for at in range(0, len(files), size)]
    results = []
    with ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker, initargs=(os.getpid(),)) as pool:
        checked = (one for batch in pool.map(_check_batch, jobs) for one in batch)
        for (_, name), (problems, ident, at) in zip(files, checked):
            if ident is not None:
                problems = problems + reused_id(name, ident, at, owners)
            if strict:
                problems = [p.as_error() for p in problems]
            results.append(FileResult(name, None, problems))
    return results


def _check_batch(
    job: tuple[list[tuple[Path, str]], dt.date, bool, bool],
) -> list[tuple[list[Problem], str | None, tuple[int, int]]]:
    """Each file's problems but the duplicate-id check (sign-off evidence included, as
    check_source gathers it), its id and where the id stands."""
    files, day, enforce_signoff, outside = job
    found: list[tuple[list[Problem], str | None, tuple[int, int]]] = []
    # Cycles are rare here and the batch is short: the collector would walk every object
    # alive again and again for nothing; what it would find is freed after the batch.
    with Witness() as witness, no_cycle_collection():
        for path, name in files:
            loaded = load_file(path, name)
            doc = loaded[0]
            seen = witness if outside else None
            problems = check_source(loaded, name, day, {}, False, seen, enforce_signoff).problems
            found.append((problems, *located_id(doc)))
    return found


def located_id(doc: Document | None) -> tuple[str | None, tuple[int, int]]:
    """A document's agreement id and where it stands, for the reused-id check made after
    the workers (None at 1:1 when it has none)."""
    ident = doc.data.get("id") if doc is not None and isinstance(doc.data, dict) else None
    if doc is None or not isinstance(ident, str):
        return None, (1, 1)
    return ident, doc.locate(("id",))


def check_source(
    loaded: tuple[Document | None, list[Problem]],
    name: str,
    day: dt.date,
    owners: dict[str, str],
    strict: bool = False,
    witness: Witness | None = None,
    enforce_signoff: bool = False,
) -> FileResult:
    """All problems of one loaded file; `owners` maps agreement ids seen so far to their files.

    With a `witness`, `name` is the file's path on disk, and what lies outside the file
    (roster files, allowed_signers, Git history) is checked too; without one (a revision
    read from history), only the file itself. `enforce_signoff` makes the stale and missing
    signatures of an active agreement errors (as `strict` makes every warning one)."""
    doc, problems = loaded
    evidence = None
    if doc is not None:
        with remembering_digests():  # the rules and the model need the terms digest: once
            evidence = witness.gather(doc, Path(name), day) if witness is not None else None
            problems = schema_problems(doc) + check(doc, day, evidence) + same_id(doc, owners)
        if evidence is not None:
            problems += evidence.problems
        if enforce_signoff and isinstance(doc.data, dict) and doc.data.get("status") == "active":
            problems = [p.as_error() if p.rule == SIGNOFF else p for p in problems]
    if strict:
        problems = [p.as_error() for p in problems]
    return FileResult(name, doc, problems, evidence)


def content_errors(problems: list[Problem]) -> list[Problem]:
    """Errors in what the agreement says, leaving out its sign-off (missing, stale or bad
    signatures): those block publishing, but not reading, comparing or signing it."""
    return sorted(p for p in problems if p.severity == ERROR and p.rule not in ("signature", SIGNOFF))


# Problems that leave no agreement to read: the file did not parse, or breaks the schema
# (the comparing code may rely on the shapes the schema guarantees).
UNREADABLE_RULES = frozenset({"yaml", "duplicate-key", "encoding", "empty", "size", "file", "schema"})


def unreadable(problems: list[Problem]) -> bool:
    """Whether these problems leave the document unfit to compare: it did not parse, breaks
    the schema, or shares its id with another file (so it cannot be matched). Broken rules
    (a sum that does not add up, a date out of term) leave it readable."""
    return any(
        p.severity == ERROR and (p.rule in UNREADABLE_RULES or (p.rule == "unique" and p.pointer == ""))
        for p in problems
    )


def same_id(doc: Document, owners: dict[str, str]) -> list[Problem]:
    """An agreement id already used by another file (both would publish to one page)."""
    ident = doc.data.get("id")
    if not isinstance(ident, str):
        return []
    if ident not in owners:
        owners[ident] = doc.path
        return []
    return reused_id(doc.path, ident, doc.locate(("id",)), owners)


def reused_id(path: str, ident: str, at: tuple[int, int], owners: dict[str, str]) -> list[Problem]:
    """The problem of agreement id `ident` (at line and column `at` of `path`) when another
    file in `owners` has it already; otherwise `path` becomes its owner."""
    if ident not in owners:
        owners[ident] = path
        return []
    line, col = at
    return [
        Problem(
            path,
            line,
            col,
            ERROR,
            "unique",
            f"agreement id {shown(ident)} is also used by {owners[ident]}; "
            "both would publish to the same page, so give each agreement its own id",
        )
    ]


# Schema errors -> messages that name the field, the value and what is accepted.


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wants_percent(schema: dict[str, Any]) -> bool:
    """A field that takes a percentage (alone or among other figures)."""
    nodes = [schema] + [alt for alt in schema.get("anyOf", []) if isinstance(alt, dict)]
    titles = [node.get(key, "") for node in nodes for key in ("title", "x-kind")]
    refs = [alt.get("$ref", "") for alt in schema.get("anyOf", [])]
    return any(str(t).startswith("a percentage") for t in titles) or "#/$defs/percent" in refs


def _as_percent(value: Any) -> str:
    """How a number meant as a percentage is written: 0.35 and 35 -> 35%, "35 %" -> 35%."""
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        try:
            value = float(text)
        except ValueError:
            return ""
    number = value * 100 if 0 < value < 1 else value
    if not 0 <= number <= 100:
        return "a percentage from 0% to 100%, such as 35%"
    shown = f"{number:.4f}".rstrip("0").rstrip(".")
    return f"{shown}%"


def _over_100(value: Any) -> str | None:
    """A percentage written as one but over 100 ('120%'), as written; else None."""
    percent = parse_percent(value)
    return str(value) if percent is not None and percent > 100 else None


_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "object": "a mapping of fields",
    "array": "a list",
    "boolean": "true or false",
    "null": "nothing",
}


def describe(value: Any) -> str:
    """A value as a message shows it."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        if isinstance(value, int) and value.bit_length() > 200:
            return f"a number of {len(str(abs(value))):,} digits"
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {shown(value, 64)}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return "a mapping of fields"


def _expected(schema: dict[str, Any]) -> str:
    title = schema.get("x-kind") or schema.get("title", "")
    text = schema.get("x-kind-description") if schema.get("x-kind") else schema.get("description", "")
    if title.startswith(("a ", "an ")):
        return f"{title} ({_lower(text).rstrip('.')})" if text else title
    if title and text:
        return f"a valid {title.lower()} ({_lower(text).rstrip('.')})"
    return title.lower() or "a valid value"


def _lower(text: str) -> str:
    """Lower-case a description's first letter, unless it starts an acronym (IANA, ISO)."""
    return text[0].lower() + text[1:] if text and not text[1:2].isupper() else text


LIST_ALLOWED_FOR = 5  # unknown fields of one mapping whose message lists the allowed fields


def schema_problems(doc: Document) -> list[Problem]:
    """Every schema error of the document, each located and explained (once: a malformed
    date fails both its pattern and its format, but is one problem)."""
    if conforms()(doc.data):
        return []
    problems: dict[tuple[int, int, str], Problem] = {}
    for error in validator().iter_errors(doc.data):
        for problem in _explain(doc, error):
            problems.setdefault((problem.line, problem.column, problem.message), problem)
    return list(problems.values())


def _explain(doc: Document, error: ValidationError) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    data, value, schema, keyword = doc.data, error.instance, error.schema, error.validator
    here = where(data, path)
    key = False
    if keyword == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        field = index().field(pattern_of(path) + (missing,))
        detail = f" ({_lower(field['description']).rstrip('.')})" if field.get("description") else ""
        message = f"{here}: the required field {shown(missing)} is missing{detail}"
    elif keyword == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extras = sorted(set(value) - set(allowed), key=str)
        for n, extra in enumerate(extras):
            line, col = doc.locate(path + (extra,), key=True)
            # The list of allowed fields is given with the first few; repeating it for each
            # of thousands of unknown fields would make the report grow many times the file.
            listed = (
                f"allowed fields: {', '.join(allowed)}"
                if n < LIST_ALLOWED_FOR
                else f"allowed fields as listed for {shown(extras[0])}"
            )
            yield Problem(
                doc.path,
                line,
                col,
                ERROR,
                "schema",
                f"{here}: unknown field {shown(extra)}{suggest(str(extra), allowed)}; {listed}",
                pointer(path + (extra,)),
            )
        return
    elif keyword == "type":
        expected = schema.get("type")
        names = " or ".join(
            _TYPE_NAMES.get(str(t), str(t)) for t in (expected if isinstance(expected, list) else [expected])
        )
        kind = schema.get("x-kind") or schema.get("title", "")
        shape = _expected(schema) if kind.startswith(("a ", "an ")) else names
        message = f"{here}: expected {shape}, but found {describe(value)}"
        if _wants_percent(schema) and _is_number(value):
            message += f"; write {_as_percent(value)}"
        elif _is_number(value) and "string" in str(expected):
            message += "; put it in quotes to keep it as written"
    elif keyword == "enum":
        options = [str(o) for o in error.validator_value]
        message = (
            f"{here}: {describe(value)} is not accepted{suggest(str(value), options)}; use one of: {', '.join(options)}"
        )
    elif keyword in ("pattern", "format", "anyOf", "oneOf"):
        message = f"{here}: {describe(value)} is not {_expected(schema)}"
        over = _over_100(value) if _wants_percent(schema) else None
        if over is not None:  # the pattern's words ("is not a percentage") would hide the reason
            message = f"{here}: {over} is more than 100%; write a percentage from 0% to 100%, such as 35%"
        elif _wants_percent(schema) and (_is_number(value) or isinstance(value, str)):
            hint = _as_percent(value)
            message += f"; write {hint}" if hint else ""
    elif keyword == "minLength":
        message = f"{here}: must not be empty"
    elif keyword == "maxLength":
        message = f"{here}: is {len(value)} characters long; at most {error.validator_value} are allowed"
    elif keyword == "minItems":
        message = f"{here}: needs at least {error.validator_value} item{'s' if error.validator_value != 1 else ''}, found {len(value)}"
    elif keyword == "uniqueItems":
        message = f"{here}: lists the same value more than once"
    elif keyword == "minimum":
        message = f"{here}: {describe(value)} is below the minimum of {error.validator_value}"
    elif keyword == "maximum":
        message = f"{here}: {describe(value)} is above the maximum of {error.validator_value:,}"
    else:
        message = f"{here}: {error.message}"
    line, col = doc.locate(path, key=key)
    yield Problem(doc.path, line, col, ERROR, "schema", message, pointer(path))
