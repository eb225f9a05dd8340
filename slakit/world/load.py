"""Load an agreement file: bytes -> YAML node tree -> plain data, keeping source positions.

The C parser (libyaml) composes the node tree; our own small constructor turns nodes into
plain Python data. Building the data ourselves lets one pass check duplicate keys, tags,
non-finite numbers, nesting depth and alias expansion, keep YAML dates as strings (so JSON
Schema's `format: date` applies), and never expand an alias twice. The node tree is kept
so any later stage can turn a data path into a line and column, only when it needs one.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver, implicit_resolvers
from ruamel.yaml.tag import Tag

from ..errors import ERROR, Problem, shown
from .files import MAX_BYTES, FileRefused, read_agreement

MAX_DEPTH = 64
MAX_VALUES = 200_000

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq", "merge")}

# The C composer recurses on the C stack and crashes on very deep nesting, so a file that
# could nest deeply is first measured with the C parser's event stream, which stops early.
# (Three compact indicators in a row, "- - - x", are rare in real files and cheap to find.)
_DEEP_HINT = re.compile(r"[-?] +[-?] +[-?] ")
_YAML_12: dict[str | None, list[tuple[str, Any]]] = {}
for _versions, _tag, _regexp, _first in implicit_resolvers:
    if (1, 2) in _versions:
        for _char in [*(_first or [])] or [None]:  # type: ignore[list-item]
            _YAML_12.setdefault(_char, []).append((_tag, _regexp))


# YAML 1.2 core schema numbers; ruamel also accepts 1.1 forms (1_000, 012 as octal).
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_CORE_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


@lru_cache(maxsize=65536)
def _implicit_tag(value: str) -> Tag:
    for tag, regexp in _YAML_12.get(value[:1], []) + _YAML_12.get(None, []):
        if regexp.match(value):
            if (tag == _TAG + "int" and not _CORE_INT.match(value)) or (
                tag == _TAG + "float" and not _CORE_FLOAT.match(value)
            ):
                break
            return Tag(suffix=tag)
    return Tag(suffix=_TAG + "str")


class _Resolver(VersionedResolver):
    """YAML 1.2 tag resolution, cached per scalar.

    ruamel's resolver looks up the document's YAML version for every scalar, which was
    half of the loading time; agreements are always read as YAML 1.2 (so `no` stays text).
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return _implicit_tag(value)
        return super().resolve(kind, value, (False, False))


_YAML = YAML(typ="safe", pure=False)
_YAML.Resolver = _Resolver


class _Composer(CParser, _Resolver):  # type: ignore[misc]
    """The C parser composing nodes with our resolver, built once: `YAML.compose` defines
    a new loader class on every call, which costs more than parsing a short block."""

    def __init__(self, text: str):
        CParser.__init__(self, text)
        _Resolver.__init__(self, loadumper=self)


def _compose_text(text: str) -> Node | None:
    composer = _Composer(text)
    try:
        return composer.get_single_node()  # type: ignore[no-any-return]
    finally:
        composer.dispose()


_MERGE = _implicit_tag("<<")


@dataclass
class Document:
    """A parsed agreement: its data, its node tree (for positions) and where it came from."""

    path: str
    data: Any
    root: Node | None
    text: str = ""
    _keys: dict[int, dict[str, tuple[Node, Node]]] = field(default_factory=dict, repr=False, compare=False)
    _compose_later: bool = field(default=False, repr=False, compare=False)  # see `load_revision`

    def locate(self, path: Iterable[Any], key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at `path`, or of its key when `key`."""
        if self._compose_later:
            self._compose_later = False
            try:
                with no_cycle_collection():
                    self.root = _compose(self.text, self.path)
            except LoadFailed:  # cannot happen for text the quick path read; then 1:1, as for no tree
                pass
        return locate(self.root, path, key, self._keys)


class LoadFailed(Exception):
    """Raised inside the loader; carries the problems that stopped the load."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


def load_file(path: str | Path, display: str | None = None) -> tuple[Document | None, list[Problem]]:
    """Read and parse one file. Returns the document (None if unusable) and its problems."""
    name = display or str(path)
    try:
        raw = read_agreement(Path(path))
    except FileRefused as refused:
        return None, [Problem(name, 1, 1, ERROR, refused.rule, refused.reason)]
    return load_bytes(raw, name)


def size_problem(name: str, size: int) -> Problem:
    """The problem of a file (or a Git blob) over the size limit, which is never parsed."""
    return Problem(
        name, 1, 1, ERROR, "size", f"the file is {size:,} bytes; agreements are limited to {MAX_BYTES:,} bytes"
    )


def load_bytes(raw: bytes, name: str) -> tuple[Document | None, list[Problem]]:
    """Parse bytes already read; see `load_file`. Bytes over the size limit are not parsed."""
    if len(raw) > MAX_BYTES:
        return None, [size_problem(name, len(raw))]
    try:
        text = _decode(raw, name)
        with no_cycle_collection():
            root = _compose(text, name)
            data = _Builder(name).build(root)
    except LoadFailed as failed:
        return None, failed.problems
    if not isinstance(data, dict):
        found = (
            "a list"
            if isinstance(data, list)
            else "nothing (null)"
            if data is None
            else f"the single value {shown(data)}"
        )
        line, col = _mark(root)
        return None, [
            Problem(
                name,
                line,
                col,
                ERROR,
                "yaml",
                f"an agreement must be a mapping of fields (id: ..., title: ...), but the file holds {found}",
            )
        ]
    return Document(name, data, root, text), []


def load_revision(raw: bytes, name: str, loader: RevisionLoader) -> tuple[Document | None, list[Problem]]:
    """Like `load_bytes`, for one of several versions of agreements read together (the two
    sides of a diff): blocks seen in a version before are not parsed again (see
    `RevisionLoader`: the data shares them, so it must not be changed), and the node tree
    that gives positions is composed only if a position is asked for (a problem found)."""
    data = loader.data(raw)
    if data is None:
        return load_bytes(raw, name)
    return Document(name, data, None, raw.decode("utf-8"), _compose_later=True), []


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Node trees and data hold no reference cycles, yet building them sets off the cycle
    collector again and again, each pass walking every object alive: half of the loading
    time of a large file. Paused while they are built (or, in the changelog, while all
    revisions are read and compared); reference counting frees as usual."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


class RevisionLoader:
    """Loads many revisions of the same files, parsing only the blocks whose text changed.

    Consecutive revisions of an agreement differ in a few lines, so each top-level entry and
    each item of a top-level list is parsed once per distinct text and reused after. Only
    the data is built (no positions); anything this quick path cannot vouch for, including
    every broken file, gives None and is left to `load_bytes`, which reports the problems.
    The data returned shares its unchanged parts between revisions: it must not be changed.
    """

    def __init__(self) -> None:
        self.entries: dict[str, tuple[list[tuple[str, Any]], int]] = {}  # top-level entry text -> (pairs, values)
        self.blocks: dict[str, tuple[Any, int]] = {}  # entry or list item text -> (built value, values)

    def data(self, raw: bytes) -> dict[str, Any] | None:
        """The mapping a revision holds, or None when only a full load can say."""
        if len(raw) > MAX_BYTES or raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _unsplittable(text):
            return None
        starts = [m.start() + 1 for m in _ENTRY.finditer(text)]
        if _ENTRY.match("\n" + text[:2]):
            starts.insert(0, 0)
        if not starts or not _NOTHING.fullmatch(text, 0, starts[0]):
            return None
        result: dict[str, Any] = {}
        total = 1
        try:
            with no_cycle_collection():
                for start, end in zip(starts, starts[1:] + [len(text)]):
                    pairs, size = self._entry(text[start:end])
                    for key, value in pairs:
                        if key in result:
                            return None  # a duplicate key: the full load names both lines
                        result[key] = value
                    total += size
        except (LoadFailed, YAMLError):
            return None
        return result if total <= MAX_VALUES else None

    def _entry(self, block: str) -> tuple[list[tuple[str, Any]], int]:
        """The key-value pairs of one top-level entry and how many values they hold."""
        known = self.entries.get(block)
        if known is None:
            known = self.entries[block] = self._new_entry(block)
        return known

    def _new_entry(self, block: str) -> tuple[list[tuple[str, Any]], int]:
        head = _LIST_HEAD.match(block)
        items = _items(block[head.start("item") :], head.group("indent")) if head else None
        if items is None:
            mapping, size = self._parsed(block, 0)
            return list(mapping.items()), size - 1
        assert head is not None
        values, size = [], 1
        for item in items:
            parsed, item_size = self._parsed(item, 1)
            values.append(parsed[0])
            size += item_size - 1
        return [(head.group("key"), values)], size

    def _parsed(self, block: str, depth: int) -> tuple[Any, int]:
        """A block's value built once per distinct text: a block mapping (depth 0) or a
        one-item block list (depth 1, where a top-level list sits)."""
        known = self.blocks.get(block)
        if known is None:
            if _deep(block):
                raise LoadFailed([])  # only the full load measures nesting safely
            root = _compose_text(block)
            expected = MappingNode if depth == 0 else SequenceNode
            if not isinstance(root, expected) or root.flow_style or (depth and len(root.value) != 1):
                raise LoadFailed([])
            if depth == 0 and any(k.ctag is _MERGE or str(k.ctag) == _TAG + "merge" for k, _ in root.value):
                raise LoadFailed([])  # a merge key reaches across entries
            builder = _Builder("")
            value = builder.build(root, depth)
            known = self.blocks[block] = (value, builder.sizes[id(root)])
        return known


# A top-level entry starts at a line in column 0 that is not a comment and not a list item
# (a list under a top-level key may be written unindented). Column 0 ends every block
# construct of the entry before it, and a flow collection or quoted text left open there
# fails to parse on its own, so the quick path steps aside. Aliases, directives, document
# markers and line breaks other than LF and CRLF tie the text together: such files are
# left to the full load. (Plain `in` tests first: a regular expression that has to try
# every position of a 12 KB text costs more than parsing the changed blocks.)
_ENTRY = re.compile(r"\n(?=[^ \t\r\n#-]|-[^ \t\r\n])")
_NOTHING = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*")
_ALIAS = re.compile(r"(?:^|[\s\[{,])\*", re.MULTILINE)


def _unsplittable(text: str) -> bool:
    if text.startswith(("%", "---", "...")) or "\n%" in text or "\n---" in text or "\n..." in text:
        return True
    if "\r" in text and re.search(r"\r(?!\n)", text):
        return True
    return "\x85" in text or "\u2028" in text or "\u2029" in text or ("*" in text and _ALIAS.search(text) is not None)


_LIST_HEAD = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_-]*):[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*(?P<item>(?P<indent> *)-[ \t\n])"
)


def _items(body: str, indent: str) -> list[str] | None:
    """The items of a block list, each with its own lines, or None when its shape is unusual."""
    if indent and re.search(rf"^ {{0,{len(indent) - 1}}}[^ \n#]", body, re.MULTILINE):
        return None  # a line less indented than the items: not a plain list
    starts = [m.start() for m in re.finditer(rf"^{indent}-(?:[ \t]|$)", body, re.MULTILINE)]
    return [body[a:b] for a, b in zip(starts, starts[1:] + [len(body)])]


def _deep(text: str) -> bool:
    """Whether a text could nest deeply enough to need the event-stream depth check."""
    return text.count("[") + text.count("{") > 500 or " " * 300 in text or _DEEP_HINT.search(text) is not None


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadFailed([Problem(name, 1, 1, ERROR, "encoding", "the file is UTF-16; save it as UTF-8")])
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise LoadFailed(
            [
                Problem(
                    name,
                    line,
                    col,
                    ERROR,
                    "encoding",
                    f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
                )
            ]
        ) from None
    if not text.strip():
        raise LoadFailed(
            [
                Problem(
                    name, 1, 1, ERROR, "empty", "the file is empty; an agreement needs at least id, title and parties"
                )
            ]
        )
    return text


def _compose(text: str, name: str) -> Node:
    try:
        if _deep(text):
            _check_depth(text, name)
        root = _compose_text(text)
    except MarkedYAMLError as exc:
        raise LoadFailed([_yaml_problem(exc, text, name)]) from None
    except ReaderError as exc:  # a character YAML forbids: say which, and where it is
        raise LoadFailed([_reader_problem(exc, text, name)]) from None
    except YAMLError as exc:  # errors without a position
        raise LoadFailed([Problem(name, 1, 1, ERROR, "yaml", " ".join(str(exc).split()))]) from None
    if root is None:
        raise LoadFailed(
            [
                Problem(
                    name,
                    1,
                    1,
                    ERROR,
                    "empty",
                    "the file holds only comments; an agreement needs at least id, title and parties",
                )
            ]
        )
    return root


def _check_depth(text: str, name: str) -> None:
    depth = 0
    for event in _YAML.parse(text):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line, col = event.start_mark.line + 1, event.start_mark.column + 1
                raise LoadFailed(
                    [Problem(name, line, col, ERROR, "yaml", f"the YAML is nested more than {MAX_DEPTH} levels deep")]
                )
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


_HINTS = {
    "expected a single document in the stream": "the file holds more than one YAML document (a second '---'); keep one agreement per file",
    "mapping values are not allowed": "a ':' appears where a value was expected; quote the value if it contains ': ', or check the indentation",
    "found character '\\t' that cannot start any token": "a tab character is used for indentation; YAML needs spaces",
    "found unexpected ':'": "a ':' appears inside a value; put the value in quotes, such as \"09:00\"",
    "found undefined alias": "an alias (*name) refers to an anchor (&name) that is not defined before it",
}


def _yaml_problem(exc: MarkedYAMLError, text: str, name: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    message = _indentation(exc, text)
    if message is not None:
        col = _first_column(text, line)
    elif context.startswith("while scanning a quoted scalar") and exc.context_mark and "unexpected" in problem:
        # the scanner gave up where the file (or the document) ends: the place to look is the quote
        start = exc.context_mark
        line, col = start.line + 1, start.column + 1
        message = "a value in quotes starts here and its closing quote is missing: end it with the same quote mark"
    else:
        message = next(
            (hint for key, hint in _HINTS.items() if key in (problem, context) or problem.startswith(key)), None
        )
    if message is None:
        tab = _first_tab_indent(text)
        if tab and tab[0] <= line:
            line, col = tab
            message = _HINTS["found character '\\t' that cannot start any token"]
    if message is None:
        message = f"invalid YAML: {problem}"
        if exc.context:
            message += f" ({exc.context.strip()}"
            if exc.context_mark:
                message += f" at line {exc.context_mark.line + 1}"
            message += ")"
    return Problem(name, line, col, ERROR, "yaml", message)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _first_column(text: str, line: int) -> int:
    """The 1-based column of the first character on a 1-based line (past its indentation)."""
    lines = _lines(text)
    content = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(content) - len(content.lstrip(" ")) + 1


def _key_column(line: str) -> int:
    """The 1-based column where a line's key starts, past its indentation and any '- ' marks."""
    column = len(line) - len(line.lstrip(" ")) + 1
    rest = line.lstrip(" ")
    while rest.startswith("- ") or rest == "-":
        stripped = rest[1:].lstrip(" ")
        column += len(rest) - len(stripped)
        rest = stripped
    return column


def _indentation(exc: MarkedYAMLError, text: str) -> str | None:
    """A message that says "indentation" for the YAML errors mis-indentation causes, naming
    the column the line should start at; None when the error is something else."""
    problem = (exc.problem or "").strip()
    mark, start = exc.problem_mark, exc.context_mark
    if mark is None:
        return None
    lines = _lines(text)
    line = mark.line + 1
    column = _first_column(text, line)
    if start is not None and problem.startswith(("did not find expected '-' indicator", "did not find expected key")):
        kind = "items" if "-" in problem else "keys"
        owner = "list" if kind == "items" else "mapping"
        expected = start.column + 1
        if column == expected and kind == "items":
            item = next(
                (
                    n
                    for n in range(line - 1, start.line, -1)
                    if _first_column(text, n) == column and lines[n - 1].lstrip().startswith("-")
                ),
                start.line + 1,
            )
            return (
                f"indentation: line {line} starts at column {column}, where the list's '-' marks are, but is not a "
                f"list item: indent it to column {_key_column(lines[item - 1])} to belong to the item at line {item}, "
                "or start it with '- ' for a new item"
            )
        if column == expected:
            return None  # lined up: the trouble is elsewhere on the line
        return (
            f"indentation: line {line} starts at column {column}, but the {owner} that starts at line "
            f"{start.line + 1} has its {kind} at column {expected}; line it up with them (spaces only)"
        )
    if problem.startswith("mapping values are not allowed"):
        above = next(
            (n for n in range(line - 1, 0, -1) if lines[n - 1].strip() and not lines[n - 1].lstrip().startswith("#")),
            None,
        )
        if above is None:
            return None
        previous = lines[above - 1]
        opens_block = previous.rstrip().endswith((":", "|", ">", "|-", ">-", "-"))
        key_column = _key_column(previous)
        if column > key_column and not opens_block:
            return (
                f"indentation: line {line} is indented more than the key on line {above} above it (column {column}, "
                f"not {key_column}); keys of one mapping start at the same column. If this is part of the value "
                "above, put that value in quotes"
            )
    return None


def _reader_problem(exc: ReaderError, text: str, name: str) -> Problem:
    # libyaml counts the offset in bytes of the UTF-8 text, not in characters ("é" is two
    # bytes but one column).
    encoded = text.encode("utf-8")
    at = exc.position if isinstance(exc.position, int) and 0 <= exc.position <= len(encoded) else 0
    start = encoded.rfind(b"\n", 0, at) + 1
    line = encoded.count(b"\n", 0, at) + 1
    col = len(encoded[start:at].decode("utf-8", "replace")) + 1
    char = encoded[at : at + 4].decode("utf-8", "replace")[:1]
    if isinstance(exc.character, int):
        char = chr(exc.character)
    what = f"U+{ord(char):04X}" if char else "a character"
    return Problem(
        name,
        line,
        col,
        ERROR,
        "yaml",
        f"the character {what} is not allowed in YAML (an invisible control character, often pasted from "
        "another program); delete it",
    )


def _first_tab_indent(text: str) -> tuple[int, int] | None:
    match = re.search(r"^[ ]*\t", text, re.MULTILINE)
    if not match:
        return None
    line = text.count("\n", 0, match.start()) + 1
    return line, match.end() - match.start()


def _mark(node: Node | None) -> tuple[int, int]:
    if node is None or node.start_mark is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Nodes -> plain data in one pass, collecting every problem found on the way."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[Problem] = []
        self.built: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.aliased = False  # whether any node is used twice (an alias)

    def build(self, root: Node, depth: int = 0) -> Any:
        data = self._node(root, depth)
        if self.problems:
            raise LoadFailed(sorted(self.problems))
        return data

    def _add(self, node: Node, message: str, rule: str = "yaml") -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.name, line, col, ERROR, rule, message))

    def _node(self, node: Node, depth: int) -> Any:
        key = id(node)
        if key in self.built:
            self.aliased = True
            return self.built[key]
        if key in self.active:
            self._add(node, "an alias refers to the collection that contains it; recursive structures are not allowed")
            self.sizes[key] = 1
            return None
        if depth > MAX_DEPTH:
            raise LoadFailed(
                [
                    Problem(
                        self.name, *_mark(node), ERROR, "yaml", f"the YAML is nested more than {MAX_DEPTH} levels deep"
                    )
                ]
            )
        tag = str(node.ctag)  # Node.tag converts on every access; convert once
        if tag not in _PLAIN_TAGS:
            self._add(node, f"the tag {shown(tag)} is not allowed; write plain values without '!' tags")
            self.sizes[key] = 1
            return None
        if isinstance(node, ScalarNode):
            self.sizes[key] = 1
            value = self._scalar(node, tag)
        elif isinstance(node, SequenceNode):
            self.active.add(key)
            value = [self._node(item, depth + 1) for item in node.value]
            self.active.discard(key)
            self.sizes[key] = 1 + sum(self.sizes.get(id(item), 1) for item in node.value)
        else:
            self.active.add(key)
            assert isinstance(node, MappingNode)
            value = self._mapping(node, depth)
            self.active.discard(key)
        # Expansion is bounded here, before anything downstream walks the data as a tree.
        if self.sizes[key] > MAX_VALUES:
            raise LoadFailed(
                [
                    Problem(
                        self.name,
                        *_mark(node),
                        ERROR,
                        "yaml",
                        f"aliases (*name) expand this file to more than {MAX_VALUES:,} values; "
                        "an agreement this large is refused (is it a 'billion laughs' alias bomb?)"
                        if self.aliased
                        else f"the file holds more than {MAX_VALUES:,} values; an agreement this large is refused",
                    )
                ]
            )
        self.built[key] = value
        return value

    def _mapping(self, node: MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        merged: list[Node] = []
        size = 1
        for key_node, value_node in node.value:
            if key_node.ctag is _MERGE or str(key_node.ctag) == _TAG + "merge":
                merged.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self._add(key_node, "a key must be plain text, not a list or mapping")
                continue
            key = key_node.value
            if key in first_seen:
                line = first_seen[key].start_mark.line + 1
                self._add(
                    key_node,
                    f"duplicate key {shown(key)}: it is already set on line {line}; keep one and delete the other",
                    rule="duplicate-key",
                )
                continue
            first_seen[key] = key_node
            result[key] = self._node(value_node, depth + 1)
            size += self.sizes.get(id(value_node), 1)
        for source in merged:
            sources = source.value if isinstance(source, SequenceNode) else [source]
            for item in sources:
                value = self._node(item, depth + 1)
                if not isinstance(value, dict):
                    self._add(item, "a merge key '<<' must refer to a mapping")
                    continue
                for k, v in value.items():
                    result.setdefault(k, v)
                size += self.sizes.get(id(item), 1)
        self.sizes[id(node)] = size
        return result

    def _scalar(self, node: ScalarNode, full_tag: str) -> Any:
        tag, text = full_tag[len(_TAG) :], node.value
        if tag in ("str", "timestamp"):
            return text
        if tag == "null":
            return None
        if tag == "bool":
            return text.lower() == "true"
        if tag == "int":
            try:
                base = 8 if text.startswith("0o") else 16 if text.startswith("0x") else 10
                return int(text[2:] if base != 10 else text, base)
            except ValueError:
                digits = sum(c.isdigit() for c in text)
                self._add(
                    node,
                    f"a whole number of {digits:,} digits is too long to read"
                    if digits > 4000
                    else f"{shown(text)} is not a valid whole number",
                )
                return None
        # float
        try:
            number = float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
        except ValueError:
            self._add(node, f"{shown(text)} is not a valid number")
            return None
        if not math.isfinite(number):
            self._add(node, f"{shown(text)} is not a finite number; write an actual figure")
            return None
        return number


def locate(
    root: Node | None,
    path: Iterable[Any],
    key: bool = False,
    keys: dict[int, dict[str, tuple[Node, Node]]] | None = None,
) -> tuple[int, int]:
    """Line and column (1-based) of the node at `path` (keys and list indexes).

    Stops at the deepest node that exists, so a missing field points at its parent.
    With `key`, the last step points at the mapping key instead of its value. `keys` keeps
    each mapping's key index between calls, so locating every key of a wide mapping is linear.
    """
    node = root
    steps = list(path)
    index = keys if keys is not None else {}
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        child = None
        if isinstance(node, MappingNode):
            found = _key_index(node, index).get(str(step))
            if found is not None:
                child = found[0] if key and last else found[1]
        elif isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return _mark(node)


def _key_index(node: MappingNode, cache: dict[int, dict[str, tuple[Node, Node]]]) -> dict[str, tuple[Node, Node]]:
    """{key: (key node, value node)} of a mapping: its own keys first (the first of
    duplicates), then those merged in with '<<', as the loader builds the data."""
    found = cache.get(id(node))
    if found is not None:
        return found
    own: dict[str, tuple[Node, Node]] = {}
    merged: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _TAG + "merge":
            merged += value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        elif isinstance(key_node, ScalarNode):
            own.setdefault(key_node.value, (key_node, value_node))
    cache[id(node)] = own
    for source in merged:
        if isinstance(source, MappingNode) and source is not node:
            for name, pair in _key_index(source, cache).items():
                own.setdefault(name, pair)
    return own
