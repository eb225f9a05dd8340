"""JSON Schema validation of an agreement: the validator, built once from the schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema is loaded when a document is first checked (a no-op build checks none)
    from jsonschema import Draft202012Validator

from ..world.resources import load_schema


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    """A ready validator for the agreement schema, with format checks on.

    The schema's local `$ref`s are inlined first: following references through the
    `referencing` registry was a third of validation time, and the schema is not recursive.
    """
    from jsonschema import Draft202012Validator

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


Check = Callable[[Any], bool]

# Keywords that only annotate: they never make a value invalid.
_NOTES = {"title", "description", "examples", "default", "$schema", "$id", "$comment"}
_TYPES: dict[str, Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,  # a whole float (2.0) is left to the full check
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


@lru_cache(maxsize=1)
def conforms() -> Check:
    """A quick yes-or-no check of a whole document against the agreement schema.

    The full validator walks the schema through generic machinery, which was half of the
    time of validating a file; almost every file is valid, so a check compiled from the
    schema into plain functions answers first. It never says yes where the full validator
    would find an error: a keyword or a value it does not know for sure makes it say no,
    and then the full validator finds and explains the errors (or finds none)."""
    checker = validator()
    return _compile(checker.schema, checker.format_checker)


def _never(value: Any) -> bool:
    return False


def _compile(schema: Any, formats: Any) -> Check:
    if schema is True or schema == {}:
        return lambda value: True
    if not isinstance(schema, dict):
        return _never
    keywords = {k: v for k, v in schema.items() if k not in _NOTES and not k.startswith("x-")}
    if keywords.get("type") == "object" and set(keywords) <= _MAPPING:
        return _mapping(keywords, formats)
    checks: list[Check] = []
    for keyword, argument in keywords.items():
        made = _keyword(keyword, argument, schema, formats)
        if made is None:
            return _never  # an unknown keyword: only the full validator can judge
        checks.append(made)
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        # Plain loops: all() over a generator costs a frame per call, on every node.
        for check in checks:  # noqa: SIM110
            if not check(value):
                return False
        return True

    return every


_MAPPING = {"type", "properties", "additionalProperties", "required"}


def _mapping(schema: dict[str, Any], formats: Any) -> Check:
    """A mapping's fields checked in one pass over its keys (the commonest schema node)."""
    fields = {name: _compile(sub, formats) for name, sub in schema.get("properties", {}).items()}
    others = schema.get("additionalProperties", True)
    extra = None if others is False else _compile(others, formats)
    required = list(schema.get("required", ()))

    def mapping(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for key, item in value.items():
            check = fields.get(key) if type(key) is str else None
            if check is None:
                check = extra
                if check is None:
                    return False
            if not check(item):
                return False
        for name in required:  # noqa: SIM110
            if name not in value:
                return False
        return True

    return mapping


def _keyword(keyword: str, argument: Any, schema: dict[str, Any], formats: Any) -> Check | None:
    """One keyword's check, or None when this quick check does not know it."""
    if keyword == "type":
        names = argument if isinstance(argument, list) else [argument]
        if not all(name in _TYPES for name in names):
            return None
        tests = [_TYPES[name] for name in names]
        return lambda value: any(test(value) for test in tests)
    if keyword == "properties":
        if not isinstance(argument, dict):
            return None
        fields = [(name, _compile(sub, formats)) for name, sub in argument.items()]
        return lambda value: (
            type(value) is not dict or all(check(value[name]) for name, check in fields if name in value)
        )
    if keyword == "additionalProperties":
        if "patternProperties" in schema:
            return None
        known = frozenset(schema.get("properties", {}))
        if argument is False:
            return lambda value: type(value) is not dict or all(type(k) is str and k in known for k in value)
        extra = _compile(argument, formats)
        return lambda value: type(value) is not dict or all(key in known or extra(item) for key, item in value.items())
    if keyword == "required":
        names = list(argument)
        return lambda value: type(value) is not dict or all(name in value for name in names)
    if keyword == "items":
        if "prefixItems" in schema or not isinstance(argument, dict):
            return None
        each = _compile(argument, formats)

        def items(value: Any) -> bool:
            if type(value) is list:
                for item in value:
                    if not each(item):
                        return False
            return True

        return items
    if keyword == "enum":
        if not all(isinstance(option, str) for option in argument):
            return None
        options = frozenset(argument)
        return lambda value: type(value) is str and value in options
    if keyword == "pattern":
        search = re.compile(argument).search
        return lambda value: type(value) is not str or search(value) is not None
    if keyword == "format":
        if formats is None:
            return lambda value: True
        return lambda value: formats.conforms(value, argument)
    if keyword in ("minLength", "maxLength"):
        low, high = (argument, None) if keyword == "minLength" else (0, argument)
        return lambda value: type(value) is not str or (len(value) >= low and (high is None or len(value) <= high))
    if keyword in ("minItems", "maxItems"):
        low, high = (argument, None) if keyword == "minItems" else (0, argument)
        return lambda value: type(value) is not list or (len(value) >= low and (high is None or len(value) <= high))
    if keyword == "uniqueItems":
        if not argument:
            return lambda value: True
        # Only texts are compared here (1 == True == 1.0 would need the full rules).
        return lambda value: (
            type(value) is not list or (all(type(item) is str for item in value) and len(set(value)) == len(value))
        )
    if keyword in ("minimum", "maximum"):
        if type(argument) not in (int, float):
            return None
        bound = argument
        if keyword == "minimum":
            return lambda value: type(value) not in (int, float) or (type(value) is not bool and value >= bound)
        return lambda value: type(value) not in (int, float) or (type(value) is not bool and value <= bound)
    if keyword in ("allOf", "anyOf"):
        # (Not oneOf: a branch wrongly judged invalid here could make it say yes.)
        subs = [_compile(sub, formats) for sub in argument]
        if keyword == "allOf":
            return lambda value: all(sub(value) for sub in subs)
        return lambda value: any(sub(value) for sub in subs)
    return None
