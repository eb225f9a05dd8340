"""The agreement schema as the model reads it: an index of its fields by data path.

Paths are tuples of keys with "*" for list items, e.g. ("commitments", "*", "party").
The index is how the rest of the engine learns field titles (labels), which fields
reference which list (x-ref), which lists are keyed by id (x-key) and which way a figure
is stricter (x-stricter): the schema stays the one source of those facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ..world.resources import load_schema

Pattern = tuple[str, ...]


class SchemaIndex:
    """Every field the schema allows, by path pattern, with `$ref`s resolved."""

    def __init__(self, schema: dict[str, Any]):
        self._defs = schema.get("$defs", {})
        self.fields: dict[Pattern, dict[str, Any]] = {}
        self._kinds: dict[str, list[Pattern]] = {}  # a $defs name -> the fields that use it
        self._walk(schema, ())

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" not in node:
            return node
        target = self._resolve(self._defs[node["$ref"].rsplit("/", 1)[-1]])
        # Keywords beside a $ref (title, x-stricter, ...) refine the shared definition.
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}

    def _walk(self, node: dict[str, Any], path: Pattern) -> None:
        named = node
        while "$ref" in named:
            name = named["$ref"].rsplit("/", 1)[-1]
            self._kinds.setdefault(name, []).append(path)
            named = self._defs[name]
        node = self._resolve(node)
        self.fields.setdefault(path, node)
        for name, child in node.get("properties", {}).items():
            self._walk(child, path + (name,))
        if isinstance(node.get("items"), dict):
            self._walk(node["items"], path + ("*",))
        for alternative in node.get("anyOf", []):
            self._walk(alternative, path)

    def field(self, path: Pattern) -> dict[str, Any]:
        """The schema of the field at `path` (empty if the schema has no such field)."""
        return self.fields.get(path, {})

    def title(self, path: Pattern) -> str:
        return self.field(path).get("title") or (path[-1] if path else "Agreement")

    def of_kind(self, definition: str) -> list[Pattern]:
        """Every field whose value may be a `definition` of $defs ("date", "duration")."""
        return list(dict.fromkeys(self._kinds.get(definition, [])))

    def references(self) -> Iterator[tuple[Pattern, list[str]]]:
        """Fields whose value must be an id of a top-level list, with the lists allowed."""
        for path, node in self.fields.items():
            if "x-ref" in node:
                yield path, node["x-ref"].split("|")

    def keyed_lists(self) -> Iterator[tuple[Pattern, str]]:
        """Lists whose items are identified by a key field (`id` unless x-key says otherwise)."""
        for path, node in self.fields.items():
            if node.get("type") != "array":
                continue
            key = node.get("x-key") or ("id" if "id" in self.field(path + ("*",)).get("properties", {}) else None)
            if key:
                yield path, key


@lru_cache(maxsize=1)
def index() -> SchemaIndex:
    return SchemaIndex(load_schema())


@lru_cache(maxsize=1)
def list_keys() -> dict[Pattern, str]:
    """The key field of every keyed list, by the list's path pattern."""
    return dict(index().keyed_lists())


def pointer(path: tuple[Any, ...]) -> str:
    """JSON Pointer for a data path."""
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in path)


def pattern_of(path: tuple[Any, ...]) -> Pattern:
    """The pattern of a concrete data path: list indexes become "*"."""
    return tuple("*" if isinstance(step, int) else step for step in path)


def iter_values(data: Any, pattern: Pattern, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Each (concrete path, value) in `data` that matches `pattern`; ill-typed data is skipped."""
    if not pattern:
        yield prefix, data
        return
    step, rest = pattern[0], pattern[1:]
    if step == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from iter_values(item, rest, prefix + (i,))
    elif isinstance(data, dict) and step in data:
        yield from iter_values(data[step], rest, prefix + (step,))
