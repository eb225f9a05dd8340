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
from collections.abc import Iterator, Mapping, Sequence
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
    current = _REMEMBERED.get()
    if current is not None:  # a block inside another shares what the outer one remembers
        yield current
        return
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
        self.models: dict[int, tuple[dict[str, Any], Any]] = {}  # see remembered_models()
        # signature_state by the identity of its data, rosters and checks: the sign-off rule
        # works it out while checking, and a build's pages show the very same state.
        self.states: dict[tuple[int, int, int], tuple[Any, Any, Any, SignatureState]] = {}

    def __call__(self, data: dict[str, Any]) -> str:
        known = self.digests.get(id(data))
        if known is None:
            terms = canonical(data, (), self.memo)
            text = json.dumps(terms, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            known = self.digests[id(data)] = (data, "sha256:" + hashlib.sha256(text.encode()).hexdigest())
        return known[1]


_REMEMBERED: ContextVar[TermsDigests | None] = ContextVar("remembered_digests", default=None)


def remembered_models() -> dict[int, tuple[dict[str, Any], Any]] | None:
    """Inside `remembering_digests`, what the model built from each document, by identity (the
    checks build an agreement for the funnel rule, and the build again for its pages); None
    outside such a block."""
    current = _REMEMBERED.get()
    return current.models if current is not None else None


# -- sign-off ---------------------------------------------------------------------------------

STATEMENT_HEADER = "slakit sign-off statement v1\n"

# The state of one signature, worst first: what pages, status and validate show.
INVALID, STALE, UNVERIFIED, VERIFIED = "invalid", "stale", "unverified", "verified"


def statement(agreement_id: str, signature: dict[str, Any]) -> bytes:
    """The exact bytes a signer's SSH key signs: the agreement, the digest of its terms, and
    who signed in which role for which party on which day. JSON, so no field can bleed
    into another, whatever text it holds."""
    fields = {
        "agreement": agreement_id,
        "terms": signature.get("terms"),
        "name": signature.get("name"),
        "email": signature.get("email"),
        "role": signature.get("role"),
        "party": signature.get("party"),
        "date": str(signature.get("date")),
    }
    return (STATEMENT_HEADER + json.dumps(fields, sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class Check:
    """What checking a signature's SSH signature found (from outside the model): ok, or why
    not; `checked` is False when there was nothing to check it with (then it is unverified)."""

    ok: bool
    reason: str = ""
    checked: bool = True


@dataclass(frozen=True)
class Person:
    """Someone the agreement lists, who may sign for their party in the roles it gives them."""

    name: str
    party: str
    email: str | None
    roles: tuple[str, ...]
    source: str  # stakeholder | member | roster


@dataclass(frozen=True)
class Signature:
    """A recorded signature and its state: verified, unverified, stale or invalid (with why)."""

    name: str
    role: str
    party: str
    date: str
    terms: str | None
    current: bool  # given to the terms as they are now
    email: str | None = None
    recorded_by: str | None = None
    signed: bool = False  # carries an SSH signature
    state: str = UNVERIFIED
    why: str = ""

    @property
    def recorder(self) -> str | None:
        """Who ran `sign`, by name, when it was someone other than the signer."""
        name = (self.recorded_by or "").split(" <", 1)[0].strip()
        return name if name and name != self.name else None

    @property
    def counts(self) -> bool:
        """Whether it meets a required signature (current, and not shown to be forged)."""
        return self.current and self.state != INVALID


@dataclass(frozen=True)
class RequiredSigner:
    """One signature the agreement needs: a role (signoff.required) or, with everyone
    signing, a person."""

    id: str
    role: str
    party: str
    stakeholder: str | None
    signed_by: str | None  # the name on the signature that meets it, if any
    date: str | None
    person: str | None = None  # the person who must sign, when the agreement names one


@dataclass(frozen=True)
class SignatureState:
    """Who signed which terms: each signature's state, each required signer met or missing.
    The one place sign-off state is computed."""

    digest: str
    signatures: tuple[Signature, ...]
    required: tuple[RequiredSigner, ...]
    everyone: tuple[RequiredSigner, ...] = ()  # one per listed person, when everyone signs
    people: tuple[Person, ...] = ()
    verified_only: bool = False  # signoff.verified: only verified signatures count

    @property
    def expected(self) -> tuple[RequiredSigner, ...]:
        return self.required + self.everyone

    @property
    def total(self) -> int:
        return len(self.expected)

    @property
    def missing(self) -> int:
        return sum(r.signed_by is None for r in self.expected)

    @property
    def awaited(self) -> tuple[RequiredSigner, ...]:
        return tuple(r for r in self.expected if r.signed_by is None)

    @property
    def stale(self) -> int:
        return sum(not s.current for s in self.signatures)

    @property
    def complete(self) -> bool:
        return self.missing == 0

    @property
    def amended(self) -> bool:
        """Terms changed since someone signed: at least one signature is stale."""
        return self.stale > 0

    def count(self, state: str) -> int:
        return sum(s.state == state for s in self.signatures)

    def awaiting(self) -> list[str]:
        """Who is awaited, for people: a person's name, or a role and party with no one named."""
        names = dict.fromkeys(r.person or f"a {r.role} ({r.party})" for r in self.awaited)
        return list(names)

    def summary(self, retired: bool = False) -> str:
        """ "signed by all", "awaiting 2 of 3 signatures", "awaiting 1 of 2 signatures (1 stale)";
        retired agreements: "not signed by all (retired)"."""
        if self.complete:
            return "signed by all"
        if retired:
            return "not signed by all (retired)"
        awaiting = f"awaiting {self.missing} of {self.total} signature{'s' * (self.total != 1)}"
        return awaiting + (f" ({self.stale} stale)" if self.stale else "")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _email(value: Any) -> str | None:
    return value if isinstance(value, str) and "@" in value.strip("@") and " " not in value else None


def people(data: dict[str, Any], rosters: Mapping[str, Sequence[dict[str, Any]]] | None = None) -> tuple[Person, ...]:
    """Everyone the agreement lists, once per (name, party): stakeholders, the members each
    party lists, and the members of its roster file (`rosters`: party id -> member records).
    A person's roles are the ones given to them anywhere, including the required signatures
    that name them."""
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def add(name: Any, party: Any, email: Any, role: Any, source: str) -> None:
        if not isinstance(name, str) or not name or not isinstance(party, str):
            return
        entry = found.setdefault((name, party), {"email": None, "roles": [], "source": source})
        entry["email"] = entry["email"] or _email(email)
        if isinstance(role, str) and role and role not in entry["roles"]:
            entry["roles"].append(role)

    stakeholders = {s.get("id"): s for s in _dicts(data.get("stakeholders"))}
    for s in stakeholders.values():
        contact = s.get("contact")
        address = contact.get("address") if isinstance(contact, dict) else None
        add(s.get("name"), s.get("party"), address, s.get("role"), "stakeholder")
    for party in _dicts(data.get("parties")):
        for m in _dicts(party.get("members")):
            add(m.get("name"), party.get("id"), m.get("email"), m.get("role"), "member")
        for m in (rosters or {}).get(_text(party.get("id")), ()):
            add(m.get("name"), party.get("id"), m.get("email"), m.get("role"), "roster")
    signoff = data.get("signoff") if isinstance(data.get("signoff"), dict) else {}
    for signer in _dicts(signoff.get("required")):  # type: ignore[union-attr]
        person = stakeholders.get(signer.get("stakeholder"))
        if person is not None and isinstance(person.get("name"), str) and isinstance(person.get("party"), str):
            add(person["name"], person["party"], None, signer.get("role"), "stakeholder")
    return tuple(
        Person(name, party, entry["email"], tuple(entry["roles"]), entry["source"])
        for (name, party), entry in found.items()
    )


def signature_state(
    data: dict[str, Any],
    rosters: Mapping[str, Sequence[dict[str, Any]]] | None = None,
    checks: Mapping[int, Check] | None = None,
) -> SignatureState:
    """The sign-off state of an agreement's data (read defensively: rules call it too).

    `rosters` are the members read from the parties' roster files and `checks` the outcome
    of checking each signature's SSH signature (by its index), both found outside the model;
    without `checks`, a signature that carries an SSH signature is shown unverified. Inside
    `remembering_digests` it is worked out once for the same data, rosters and checks."""
    remembered = _REMEMBERED.get()
    if remembered is None:
        return _signature_state(data, rosters, checks)
    key = (id(data), id(rosters), id(checks))
    known = remembered.states.get(key)
    if known is not None and known[0] is data and known[1] is rosters and known[2] is checks:
        return known[3]
    state = _signature_state(data, rosters, checks)
    remembered.states[key] = (data, rosters, checks, state)
    return state


def _signature_state(
    data: dict[str, Any],
    rosters: Mapping[str, Sequence[dict[str, Any]]] | None,
    checks: Mapping[int, Check] | None,
) -> SignatureState:
    digest = terms_digest(data)
    signoff = data.get("signoff") if isinstance(data.get("signoff"), dict) else {}
    assert isinstance(signoff, dict)
    verified_only = signoff.get("verified") is True
    stakeholders = {s.get("id"): s for s in _dicts(data.get("stakeholders"))}
    listed = people(data, rosters)
    signatures = []
    for i, s in enumerate(signoff.get("signatures") or []):
        if not isinstance(s, dict):
            continue
        terms = s.get("terms") if isinstance(s.get("terms"), str) else None
        current = terms == digest
        signed = isinstance(s.get("ssh_signature"), str)
        check = (checks or {}).get(i)
        if signed and check is not None and check.checked and not check.ok:
            state, why = INVALID, check.reason
        elif not current:
            state, why = STALE, "signed earlier terms" if terms else "records no terms digest"
        elif signed and check is not None and check.ok:
            state, why = VERIFIED, ""
        elif signed:
            state, why = UNVERIFIED, f"not checked: {check.reason}" if check is not None else "not checked"
        else:
            state, why = UNVERIFIED, "recorded without an SSH key"
        signatures.append(
            Signature(
                _text(s.get("name")),
                _text(s.get("role")),
                _text(s.get("party")),
                str(s.get("date", "")),
                terms,
                current,
                _email(s.get("email")),
                s.get("recorded_by") if isinstance(s.get("recorded_by"), str) else None,
                signed,
                state,
                why,
            )
        )
    counting = [s for s in signatures if s.counts and (s.state == VERIFIED or not verified_only)]
    required = []
    for signer in _dicts(signoff.get("required")):
        stakeholder = signer.get("stakeholder") if isinstance(signer.get("stakeholder"), str) else None
        expected = stakeholders.get(stakeholder, {}).get("name") if stakeholder else None
        match = next(
            (
                s
                for s in counting
                if s.role == signer.get("role")
                and s.party == signer.get("party")
                and (expected is None or s.name == expected)
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
                expected if isinstance(expected, str) else None,
            )
        )
    everyone = []
    if signoff.get("everyone") is True:
        named = {stakeholders.get(r.stakeholder, {}).get("name") for r in required if r.stakeholder}
        for r in required:  # a role no one is named for, held by one person: that person's signature
            holders = [p.name for p in listed if p.party == r.party and r.role in p.roles]
            if not r.stakeholder and len(holders) == 1:
                named.add(holders[0])
        for person in listed:
            if person.name in named:
                continue  # their required signature stands for them
            match = next((s for s in counting if s.name == person.name and s.party == person.party), None)
            everyone.append(
                RequiredSigner(
                    "",
                    match.role if match else ", ".join(person.roles),
                    person.party,
                    None,
                    match.name if match else None,
                    match.date if match else None,
                    person.name,
                )
            )
    return SignatureState(digest, tuple(signatures), tuple(required), tuple(everyone), listed, verified_only)
