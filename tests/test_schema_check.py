"""The quick schema check never passes a document the full JSON Schema validator rejects.

`conforms()` answers first for every file and the full validator runs only when it says
no, so a yes from it must be a yes from the full validator. The oracle here is
jsonschema's own Draft 2020-12 validator over the schema file as written (its `$ref`s
resolved by jsonschema, not inlined by us), on generated agreements and on copies of them
with one value replaced by a value of another shape. No timings here: `make bench` measures.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import strategies as S
from conftest import ROOT
from slakit.checking.schema import conforms
from slakit.world.load import load_file

ORACLE = Draft202012Validator(
    json.loads((ROOT / "schema" / "sla.schema.json").read_text()), format_checker=Draft202012Validator.FORMAT_CHECKER
)

# Values of every shape the loader can give, including the ones JSON Schema treats oddly
# (true is not 1, 2.0 is an integer, a date must be a real day).
ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2.0,
    2.5,
    10**30,
    "",
    " ",
    "x",
    "Sales",
    "2026-02-30",
    "2026-02-28",
    "35%",
    "2 business days",
    "EUR 1,000",
    "a" * 300,
    [],
    ["a", "a"],
    ["mon", "mon"],
    [1, True],
    {},
    {"id": "x"},
    {1: "x"},
]


def _paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, at + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _paths(value, at + (i,))
    return found


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(data)
    node = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copied


@pytest.mark.parametrize(
    "case", sorted((ROOT / "sla").glob("*.yaml")) + sorted((ROOT / "tests" / "cases").rglob("*.yaml")), ids=str
)
def test_quick_check_agrees_on_every_example_and_case(case: Path) -> None:
    doc, _ = load_file(case)
    if doc is None:
        return
    # Every example and valid case is answered by the quick check (so it saves the time);
    # an invalid one is never passed by it.
    assert conforms()(doc.data) == ORACLE.is_valid(doc.data)


@given(data=S.agreements(), choice=st.data())
def test_quick_check_never_passes_what_the_full_validator_rejects(data: dict[str, Any], choice: Any) -> None:
    assert conforms()(data) == ORACLE.is_valid(data)  # generated agreements are valid
    paths = _paths(data)
    for _ in range(5):
        path = choice.draw(st.sampled_from(paths))
        value = choice.draw(st.sampled_from(ODD_VALUES))
        changed = _replace(data, path, value)
        if conforms()(changed):
            assert ORACLE.is_valid(changed), (path, value)


@given(data=S.agreements(), choice=st.data())
def test_quick_check_never_passes_a_missing_or_unknown_field(data: dict[str, Any], choice: Any) -> None:
    mappings = [p for p in _paths(data) if isinstance(_at(data, p), dict)]
    path = choice.draw(st.sampled_from(mappings))
    node = _at(data, path)
    if node:
        key = choice.draw(st.sampled_from(sorted(node, key=str)))
        dropped = _replace(data, path, {k: v for k, v in node.items() if k != key})
        if conforms()(dropped):
            assert ORACLE.is_valid(dropped), (path, key)
    added = _replace(data, path, {**node, "surprise": 1})
    if conforms()(added):
        assert ORACLE.is_valid(added), path


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data
