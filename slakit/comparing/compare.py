"""Semantic diff of two versions of one agreement: what changed in meaning, labelled for people.

Lists are matched by their items' keys (id, or the schema's x-key), so reordering is at most
a move, never a change; an item whose id changed is a removal and an addition. Figures are
compared by value (35% = 35.0%, 1 business hour = 1 business hours), and where the schema
says which way a figure is stricter, each change says whether it became stricter or looser
and for which party.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..model import figures as q
from ..model.agreement import party_names
from ..model.schema import index, list_keys, pattern_of, pointer
from ..model.terms import is_term, terms_digest

NAME_FIELDS = ("title", "name", "term", "role", "metric", "id")


@dataclass(frozen=True)
class Change:
    path: tuple[Any, ...]
    label: str
    op: str  # added | removed | changed | moved
    old: Any
    new: Any
    effect: str | None = None  # stricter | looser
    party: str | None = None

    @property
    def pointer(self) -> str:
        return pointer(self.path)

    @property
    def term(self) -> bool:
        """A change to the terms (not to version, status, review dates or the sign-off)."""
        return is_term(self.path)

    def as_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "label": self.label,
            "op": self.op,
            "old": self.old,
            "new": self.new,
            "effect": self.effect,
            "party": self.party,
        }


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change in meaning from `old` to `new`, in document order, then the signatures
    whose state the change of terms turned (current -> stale, or stale -> current again)."""
    changes = _Comparer(old, new).run()
    return changes + _signature_states(old, new) if changes else changes


def _signature_states(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """A signature kept as it was (same name, same digest) whose state the terms changed."""

    def signatures(doc: dict[str, Any]) -> list[Any]:
        signoff = doc.get("signoff")
        found = signoff.get("signatures") if isinstance(signoff, dict) else None
        return found if isinstance(found, list) else []

    kept = {
        s.get("name"): s.get("terms") for s in signatures(old) if isinstance(s, dict) and isinstance(s.get("name"), str)
    }
    signed = [
        (i, s)
        for i, s in enumerate(signatures(new))
        if isinstance(s, dict) and s.get("name") in kept and kept[s.get("name")] == s.get("terms")
    ]
    if not signed:
        return []
    before, after = terms_digest(old), terms_digest(new)
    if before == after:
        return []
    changes = []
    for i, s in signed:
        was, now = s.get("terms") == before, s.get("terms") == after
        if was != now:
            changes.append(
                Change(
                    ("signoff", "signatures", i, "terms"),
                    f"Sign-off > Signatures > {s.get('name')} > Terms signed",
                    "changed",
                    "current" if was else "stale",
                    "current" if now else "stale",
                    None,
                    s.get("party"),
                )
            )
    return changes


def label_of(value: Any) -> str:
    """How a list item or value is named in a change's label: its name, title or id, or the figure."""
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        if q.is_money(value):
            return q.money(value)
        name = next((value[f] for f in NAME_FIELDS if isinstance(value.get(f), str)), None)
        return name if name is not None else ", ".join(f"{k}: {label_of(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(label_of(v) for v in value)
    return q.figure(value)


def same(a: Any, b: Any) -> bool:
    """Equal in meaning: 3 = 3.0, 35% = 35.0%, 1 business hour = 1 business hours."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if a == b:
        return True
    if q.is_money(a) and q.is_money(b):
        return a["currency"] == b["currency"] and Decimal(str(a["amount"])) == Decimal(str(b["amount"]))
    kind_a, kind_b = q.kind_of(a), q.kind_of(b)
    if kind_a == kind_b and kind_a != "other":
        if kind_a.startswith("duration:business"):  # business time only equals itself
            return q.parse_duration(a) == q.parse_duration(b)
        return q.magnitude(a) == q.magnitude(b)  # 24 hours = 1 day; 35% = 35.0%
    return False


class _Comparer:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]):
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self.parties = party_names(old, new)

    def run(self) -> list[Change]:
        self._value(self.old, self.new, (), [], None)
        return self.changes

    # -- labels -----------------------------------------------------------------------------

    def _step_label(self, path: tuple[Any, ...], step: Any, item: Any) -> str:
        if isinstance(step, int) or (path and path[-1] == "*"):
            if path == ("commitments",) and isinstance(item, dict):
                owner = item.get("party")
                party = self.parties.get(owner, owner) if isinstance(owner, str) else owner
                return f"{party} commitments > {label_of(item)}"
            return label_of(item)
        field = index().field(pattern_of(path + (step,)))
        return field.get("title") or str(step)

    def _add(
        self,
        op: str,
        path: tuple[Any, ...],
        labels: list[str],
        old: Any,
        new: Any,
        party: str | None,
        effect: str | None = None,
    ) -> None:
        # A field titled like the item it belongs to ("Target" of a target) is named once.
        shown = [label for i, label in enumerate(labels) if i == 0 or label.lower() != labels[i - 1].lower()]
        self.changes.append(Change(path, " > ".join(shown), op, old, new, effect, party))

    # -- walking ----------------------------------------------------------------------------

    def _value(self, old: Any, new: Any, path: tuple[Any, ...], labels: list[str], party: str | None) -> None:
        if type(old) is type(new) and old == new:  # most of a document is unchanged: skip it whole
            return
        if isinstance(old, dict) and isinstance(new, dict) and not (q.is_money(old) and q.is_money(new)):
            self._mapping(old, new, path, labels, party)
        elif isinstance(old, list) and isinstance(new, list):
            self._list(old, new, path, labels, party)
        elif not same(old, new):
            self._add("changed", path, labels, old, new, party, self._effect(path, old, new))

    def _mapping(
        self, old: dict[str, Any], new: dict[str, Any], path: tuple[Any, ...], labels: list[str], party: str | None
    ) -> None:
        order = list(index().field(pattern_of(path)).get("properties", {}))
        keys = [k for k in order if k in old or k in new] + [k for k in {**old, **new} if k not in order]
        for key in keys:
            if key in old and key in new and type(old[key]) is type(new[key]) and old[key] == new[key]:
                continue  # unchanged: not even labelled
            here = path + (key,)
            # Commitment items label themselves "<Party> commitments > <title>".
            label = labels if here == ("commitments",) else labels + [self._step_label(path, key, None)]
            if key not in old:
                self._add("added", here, label, None, new[key], party)
            elif key not in new:
                self._add("removed", here, label, old[key], None, party)
            else:
                self._value(old[key], new[key], here, label, party)

    def _list(
        self, old: list[Any], new: list[Any], path: tuple[Any, ...], labels: list[str], party: str | None
    ) -> None:
        key = self._key(path)
        if key and all(isinstance(i, dict) and isinstance(i.get(key), (str, int)) for i in old + new):
            self._keyed(old, new, key, path, labels, party)
        elif all(not isinstance(i, (dict, list)) for i in old + new):
            self._scalars(old, new, path, labels, party)
        else:
            for i in range(max(len(old), len(new))):
                here, item = path + (i,), new[i] if i < len(new) else old[i]
                label = labels + [self._step_label(path, i, item)]
                if i >= len(old):
                    self._add("added", here, label, None, new[i], party)
                elif i >= len(new):
                    self._add("removed", here, label, old[i], None, party)
                else:
                    self._value(old[i], new[i], here, label, party)

    def _key(self, path: tuple[Any, ...]) -> str | None:
        return list_keys().get(pattern_of(path))

    def _keyed(
        self,
        old: list[dict[str, Any]],
        new: list[dict[str, Any]],
        key: str,
        path: tuple[Any, ...],
        labels: list[str],
        party: str | None,
    ) -> None:
        old_at, new_at = _occurrences(old, key), _occurrences(new, key)
        for k, i in old_at.items():
            if k not in new_at:
                self._add(
                    "removed",
                    path + (i,),
                    labels + [self._step_label(path, i, old[i])],
                    old[i],
                    None,
                    _owner(path, old[i], party),
                )
        for k, i in new_at.items():
            if k in old_at and type(old[old_at[k]]) is type(new[i]) and old[old_at[k]] == new[i]:
                continue  # unchanged: not even labelled
            label = labels + [self._step_label(path, i, new[i])]
            owner = _owner(path, new[i], party)
            if k not in old_at:
                self._add("added", path + (i,), label, None, new[i], owner)
            else:
                self._value(old[old_at[k]], new[i], path + (i,), label, owner)
        common_old = [k for k in old_at if k in new_at]
        common_new = [k for k in new_at if k in old_at]
        if common_old != common_new:
            matcher = difflib.SequenceMatcher(None, common_old, common_new, autojunk=False)
            kept = {k for block in matcher.get_matching_blocks() for k in common_old[block.a : block.a + block.size]}
            for k in common_new:
                if k not in kept:
                    i = new_at[k]
                    self._add(
                        "moved",
                        path + (i,),
                        labels + [self._step_label(path, i, new[i])],
                        old_at[k] + 1,
                        i + 1,
                        _owner(path, new[i], party),
                    )

    def _scalars(
        self, old: list[Any], new: list[Any], path: tuple[Any, ...], labels: list[str], party: str | None
    ) -> None:
        before, after = Counter(map(_hashable, old)), Counter(map(_hashable, new))
        for i, value in enumerate(old):
            if before[_hashable(value)] > after[_hashable(value)]:
                before[_hashable(value)] -= 1
                self._add("removed", path + (i,), labels + [label_of(value)], value, None, party)
        before = Counter(map(_hashable, old))
        for i, value in enumerate(new):
            if after[_hashable(value)] > before[_hashable(value)]:
                after[_hashable(value)] -= 1
                self._add("added", path + (i,), labels + [label_of(value)], None, value, party)
        if Counter(map(_hashable, old)) == Counter(map(_hashable, new)) and old != new:
            self._add("moved", path, labels, old, new, party)

    # -- direction ----------------------------------------------------------------------------

    def _effect(self, path: tuple[Any, ...], old: Any, new: Any) -> str | None:
        # The nearest x-stricter on the path: one on an object covers its figures.
        pattern = pattern_of(path)
        rule = next(
            (
                index().field(pattern[:n]).get("x-stricter")
                for n in range(len(pattern), 0, -1)
                if index().field(pattern[:n]).get("x-stricter")
            ),
            None,
        )
        if rule == "better":
            rule = self._better(path)
        if rule not in ("higher", "lower"):
            return None
        moved = _direction(old, new)
        if moved is None:
            return None
        return "stricter" if (moved > 0) == (rule == "higher") else "looser"

    def _better(self, path: tuple[Any, ...]) -> str | None:
        node: Any = self.new
        nearest = None
        for step in path:
            if isinstance(node, dict) and isinstance(node.get("better"), str):
                nearest = node["better"]
            node = node[step] if isinstance(node, (dict, list)) else None
        return nearest


def _direction(old: Any, new: Any) -> int | None:
    """+1 if `new` is larger, -1 if smaller, None if equal or not comparable.

    Business time only passes during business hours, so N business hours last at least N
    clock hours: a business duration compares with a clock one when the answer is certain.
    """
    before, after = q.magnitude(old), q.magnitude(new)
    if before is None or after is None or before == after:
        return None
    kind_old, kind_new = q.kind_of(old), q.kind_of(new)
    if kind_old == kind_new:
        return 1 if after > before else -1
    if {kind_old, kind_new} <= {"duration:clock", "duration:business hour", "duration:business day"}:
        old_d, new_d = q.parse_duration(old), q.parse_duration(new)
        assert old_d is not None and new_d is not None
        low_old, low_new = _clock_minutes(old_d), _clock_minutes(new_d)
        if new_d.family == "clock" and low_new < low_old:
            return -1  # shorter than the least the old business duration could last
        if old_d.family == "clock" and low_new > low_old:
            return 1
    return None


def _clock_minutes(duration: q.Duration) -> Decimal:
    """The shortest clock time a duration can take: a business hour is at least an hour."""
    per = {"business hour": 60, "business day": 1440}.get(duration.unit)
    return duration.value * per if per else duration.magnitude


def _owner(path: tuple[Any, ...], item: Any, party: str | None) -> str | None:
    """The party a commitment or a stakeholder belongs to; otherwise what the parent said."""
    if path in (("commitments",), ("stakeholders",)) and isinstance(item, dict) and isinstance(item.get("party"), str):
        return str(item["party"])
    return party


def _occurrences(items: list[dict[str, Any]], key: str) -> dict[tuple[Any, int], int]:
    """Each item's position under its key and how many items before it share that key. An id
    is unique in a valid document; in one that breaks that rule, the n-th item with an id is
    matched with the n-th on the other side, so a second item given an existing id is an
    addition, not a rewrite of the first."""
    seen: dict[Any, int] = {}
    at = {}
    for i, item in enumerate(items):
        n = seen[item[key]] = seen.get(item[key], -1) + 1
        at[(item[key], n)] = i
    return at


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (dict, list)) else value
