"""JSON Schema validation of an agreement: the validator, built once from the schema."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from ..world.resources import load_schema


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    """A ready validator for the agreement schema, with format checks on.

    The schema's local `$ref`s are inlined first: following references through the
    `referencing` registry was a third of validation time, and the schema is not recursive.
    """
    schema = load_schema()
    return Draft202012Validator(
        inline_refs(schema, schema.get("$defs", {})), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


_ANNOTATIONS = {"title", "description", "examples", "default"}


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every `#/$defs/...` reference replaced by its definition."""
    if isinstance(node, list):
        return [inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if "$ref" in node:
        target = inline_refs(defs[node.pop("$ref").rsplit("/", 1)[-1]], defs)
        if all(k in _ANNOTATIONS or k.startswith("x-") for k in node):
            # Messages describe a value by its definition ("a duration"), not the field's title.
            kind = {
                "x-kind": target.get("x-kind", target.get("title", "")),
                "x-kind-description": target.get("x-kind-description", target.get("description", "")),
            }
            return {**target, **node, **kind}
        return {**node, "allOf": [target]}
    return node
