"""The terms of an agreement, in a canonical form, and their digest.

A signature records the digest of the terms it accepted. The canonical form ignores what
does not change meaning: key order, the order of items in lists (matched by id, as the
diff does), how a figure is written (35% = 35.0%), comments and formatting; and it leaves
out what is not a term (fields marked x-terms: false: version, status, review dates, and
the sign-off itself). Any change the diff reports as a change of meaning changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from . import figures as q
from .schema import index, list_keys, pattern_of


@lru_cache(maxsize=1)
def _excluded() -> frozenset[tuple[str, ...]]:
    return frozenset(path for path, node in index().fields.items() if node.get("x-terms") is False)


def is_term(path: tuple[Any, ...]) -> bool:
    """Whether the value at `path` is part of the terms (nothing on the way is x-terms: false)."""
    pattern = pattern_of(path)
    return not any(pattern[:n] in _excluded() for n in range(1, len(pattern) + 1))


_Memo = dict[tuple[int, tuple[str, ...]], tuple[Any, Any]]


def canonical(value: Any, pattern: tuple[str, ...] = (), memo: _Memo | None = None) -> Any:
    """The terms as plain JSON data in one normal form (`pattern`: the schema path of `value`).

    With `memo`, the normal form of each mapping and list is remembered by identity (see
    `TermsDigests`)."""
    if memo is None or not isinstance(value, (dict, list)):
        return _canonical(value, pattern, memo)
    known = memo.get((id(value), pattern))
    if known is None:  # the value is kept with its form, so its id is never reused
        known = memo[(id(value), pattern)] = (value, _canonical(value, pattern, memo))
    return known[1]


def _canonical(value: Any, pattern: tuple[str, ...], memo: _Memo | None) -> Any:
    if isinstance(value, dict):
        if q.is_money(value):
            return {"amount": _number(value["amount"]), "currency": value["currency"]}
        excluded = _excluded()
        return {
            k: canonical(v, pattern + (k,), memo) for k, v in sorted(value.items()) if pattern + (k,) not in excluded
        }
    if isinstance(value, list):
        items = [canonical(v, pattern + ("*",), memo) for v in value]
        key = list_keys().get(pattern)
        return sorted(
            items,
            key=lambda item: json.dumps(
                item.get(key) if key and isinstance(item, dict) else item, sort_keys=True, default=str
            ),
        )
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _number(value)
    if (pct := q.parse_percent(value)) is not None:
        return f"{_number(pct)}%"
    if (duration := q.parse_duration(value)) is not None:
        if duration.family == "clock":  # 24 hours = 1 day, as the diff compares them
            return f"{_number(duration.magnitude)} minute"
        return f"{_number(duration.value)} {duration.unit}"
    return value


def _number(value: Any) -> str:
    dec = Decimal(str(value)).normalize()
    return f"{dec:f}"


def terms_digest(data: dict[str, Any]) -> str:
    """sha256:<hex> of the canonical terms (about half a millisecond for a full agreement;
    inside `remembering_digests`, computed once per document)."""
    remembered = _REMEMBERED.get()
    if remembered is not None:
        return remembered(data)
    text = json.dumps(canonical(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def remembering_digests() -> Iterator[TermsDigests]:
    """Within this block, `terms_digest` remembers each document's digest, and the normal
    form of each part, by identity: for commands that read documents and never change them
    (a diff validates, compares and renders each side, each step needing the digest)."""
    digests = TermsDigests()
    token = _REMEMBERED.set(digests)
    try:
        yield digests
    finally:
        _REMEMBERED.reset(token)


class TermsDigests:
    """`terms_digest` for documents that are not changed while it is in use, remembered.

    Versions read from history (`RevisionLoader`) share every unchanged mapping and list,
    so each is put in normal form once.
    """

    def __init__(self) -> None:
        self.memo: _Memo = {}
        self.digests: dict[int, tuple[dict[str, Any], str]] = {}

    def __call__(self, data: dict[str, Any]) -> str:
        known = self.digests.get(id(data))
        if known is None:
            terms = canonical(data, (), self.memo)
            text = json.dumps(terms, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            known = self.digests[id(data)] = (data, "sha256:" + hashlib.sha256(text.encode()).hexdigest())
        return known[1]


_REMEMBERED: ContextVar[TermsDigests | None] = ContextVar("remembered_digests", default=None)


@dataclass(frozen=True)
class Signature:
    """A recorded signature and whether it accepted the terms as they are now."""

    name: str
    role: str
    party: str
    date: str
    terms: str | None
    current: bool


@dataclass(frozen=True)
class RequiredSigner:
    id: str
    role: str
    party: str
    stakeholder: str | None
    signed_by: str | None  # the name on the current signature that meets it, if any
    date: str | None


@dataclass(frozen=True)
class SignatureState:
    """Who signed which terms: each signature current or stale, each required signer met or missing."""

    digest: str
    signatures: tuple[Signature, ...]
    required: tuple[RequiredSigner, ...]

    @property
    def missing(self) -> int:
        return sum(r.signed_by is None for r in self.required)

    @property
    def stale(self) -> int:
        return sum(not s.current for s in self.signatures)

    @property
    def complete(self) -> bool:
        return self.missing == 0

    def summary(self, retired: bool = False) -> str:
        """ "signed by all", "awaiting 2 signatures", "awaiting 1 signature (1 stale)";
        retired agreements: "not signed by all (retired)"."""
        if self.complete:
            return "signed by all"
        if retired:
            return "not signed by all (retired)"
        awaiting = f"awaiting {self.missing} signature{'s' * (self.missing != 1)}"
        return awaiting + (f" ({self.stale} stale)" if self.stale else "")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def signature_state(data: dict[str, Any]) -> SignatureState:
    """The sign-off state of an agreement's data (read defensively: rules call it too)."""
    digest = terms_digest(data)
    signoff = data.get("signoff") if isinstance(data.get("signoff"), dict) else {}
    assert isinstance(signoff, dict)
    people = {s.get("id"): s for s in data.get("stakeholders") or [] if isinstance(s, dict)}
    signatures = tuple(
        Signature(
            _text(s.get("name")),
            _text(s.get("role")),
            _text(s.get("party")),
            str(s.get("date", "")),
            s.get("terms") if isinstance(s.get("terms"), str) else None,
            s.get("terms") == digest,
        )
        for s in signoff.get("signatures") or []
        if isinstance(s, dict)
    )
    required = []
    for signer in signoff.get("required") or []:
        if not isinstance(signer, dict):
            continue
        stakeholder = signer.get("stakeholder") if isinstance(signer.get("stakeholder"), str) else None
        expected = people.get(stakeholder, {}).get("name") if stakeholder else None
        match = next(
            (
                s
                for s in signatures
                if s.role == signer.get("role")
                and s.party == signer.get("party")
                and (expected is None or s.name == expected)
                and s.current
            ),
            None,
        )
        required.append(
            RequiredSigner(
                _text(signer.get("id")),
                _text(signer.get("role")),
                _text(signer.get("party")),
                stakeholder,
                match.name if match else None,
                match.date if match else None,
            )
        )
    return SignatureState(digest, signatures, tuple(required))
