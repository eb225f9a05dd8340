"""Signing: a signature recorded in the YAML, bound to the digest of the terms it accepts.

With --key, the signer's SSH key signs a canonical statement of the agreement id, the
terms digest, name, e-mail, role, party and date (ssh-keygen -Y sign), and the signature is
checked against the repository's allowed_signers before anything is written. Whoever ran
the command is recorded too (recorded_by, their Git identity).

The file is edited as text, not rewritten: only the lines of the new signature are added
(or those of the same person's earlier signature replaced), so comments, key order and
formatting stay exactly as they were. The result is parsed again and checked to differ
from the original only in its signatures before it replaces the file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..checking.evidence import Evidence, Witness, repository_root
from ..checking.rules import suggest
from ..checking.validate import check_source, content_errors
from ..errors import InputError, UsageError, shown
from ..model.dates import FIRST_YEAR, LAST_YEAR, read_date
from ..model.dates import parse_date as date
from ..model.terms import Person, people, statement, terms_digest
from ..world import ssh
from ..world.clock import today
from ..world.files import locked, read_agreement, write_if_changed
from ..world.git import identity
from ..world.load import Document, load_bytes
from ..world.text import display_path

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9 .,'()&/+<>@_\-]*\Z")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def sign(path: Path, name: str, role: str, party: str | None, when: str | None, key: Path | None = None) -> str:
    """Record a signature in the agreement at `path`; returns what was done, for people.

    With `key` (a private SSH key), the signature also carries an SSH signature of the
    signed statement, checked against the repository's allowed_signers before the file is
    touched; without one it is recorded "unverified".

    The file is read, edited and replaced under a lock on its folder, so two signers at the
    same moment both land. A link stays a link: the file it points to (inside the repository)
    is signed. The bytes outside the signature (line endings, byte-order mark, mode) are kept."""
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"path '{display_path(str(path))}' does not exist")
    _check_option("--name", name)
    _check_option("--role", role)
    read_agreement(path)  # refuses links out of the repository, FIFOs and devices before anything else
    target = Path(os.path.realpath(path))
    with locked(target.parent):
        return _sign(path, target, name, role, party, when, key)


def _check_option(option: str, value: str) -> None:
    """A name or role follows the schema's rule for a line of text: not blank, one line.
    (Other characters are written as escapes, as the YAML itself may hold them.)"""
    if not value.strip():
        raise UsageError(f"{option} must not be empty")
    if "\n" in value or "\r" in value or len(value) > 200:
        raise UsageError(f"{option} {shown(value)} is not accepted: write it on one line, in at most 200 characters")


def _sign(path: Path, target: Path, name: str, role: str, party: str | None, when: str | None, key: Path | None) -> str:
    raw = read_agreement(target)
    day_today = today()
    with Witness(current_terms=True) as witness:
        checked = check_source(load_bytes(raw, str(path)), str(path), day_today, {}, witness=witness)
    # Missing or stale signatures are what signing fixes; every other error stops it.
    blocking = content_errors(checked.problems)
    if blocking or checked.document is None or checked.evidence is None:
        lines = "\n".join(p.format() for p in sorted(blocking or checked.problems))
        raise InputError(f"{path} has problems; fix them before signing (the file was not changed):\n{lines}")
    doc, evidence = checked.document, checked.evidence
    data = doc.data
    person = _person(data, evidence, name, role, party)
    digest = terms_digest(data)
    day = _signing_date(when, day_today, data, evidence, digest)
    signature = {"name": name, "role": role, "party": person.party, "date": day.isoformat(), "terms": digest}
    if key is not None:
        if person.email is None:
            raise UsageError(
                f"the agreement gives no e-mail address for {name}, so an SSH signature cannot name them; "
                "add it (stakeholders[].contact.address, or parties[].members[].email) and sign again"
            )
        signature["email"] = person.email
    recorder = identity(path.resolve().parent)
    if recorder:
        signature["recorded_by"] = recorder
    if key is not None:
        message = statement(data["id"], signature)
        armored = ssh.sign(key.expanduser(), message)
        signers = ssh.allowed_signers(repository_root(path))
        verdict = ssh.verify(signers, person.email or "", message, armored)
        if not verdict.ok:
            raise InputError(
                f"the SSH signature made with '{key}' does not verify: {verdict.reason}. Add a line "
                f"'{person.email} <public key>' to {signers} (Git's allowed_signers format); "
                f"{path} was not changed"
            )
        signature["ssh_signature"] = armored
    existing = [s for s in data["signoff"].get("signatures") or []]
    for i, old in enumerate(existing):
        # One signature per person (signatures are keyed by name): a new one replaces theirs.
        if old.get("name") == name:
            same = (old.get("role"), old.get("party"), old.get("terms")) == (role, person.party, digest)
            if same and (key is None or "ssh_signature" in old):
                return f"{name} already signed these terms on {old.get('date')}; {path} is unchanged"
            text = _replace_item(doc, i, signature)
            break
    else:
        text = _append_item(doc, signature)
    _verify(doc, text, signature)
    if "\r\n" in doc.text and "\n" not in doc.text.replace("\r\n", ""):  # keep CRLF line endings
        text = re.sub(r"(?<!\r)\n", "\r\n", text)
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    write_if_changed(target, bom + text.encode())
    kind = "verified with an SSH key" if key is not None else "unverified: no --key"
    return (
        f"signed: {name}, {role} ({person.party}), {day.isoformat()}, terms {digest[:19]}… ({kind}); recorded in {path}"
    )


def _signing_date(when: str | None, day: dt.date, data: dict[str, Any], evidence: Evidence, digest: str) -> dt.date:
    """The day of signing: today, or `when`, which may not be in the future, nor before the
    terms existed (the first commit holding them, the first version's effective date)."""
    parsed = day
    if when is not None:
        parsed = date(when)  # type: ignore[assignment]
        if parsed is None and read_date(when) is not None:
            raise UsageError(f"--date {when}: give a date in the years {FIRST_YEAR} to {LAST_YEAR}")
        if parsed is None:
            raise UsageError(f"--date '{when}' is not a date written YYYY-MM-DD")
        if parsed > day:
            raise UsageError(f"--date {when} is in the future (today is {day}); a signature is dated when it is given")
    seen = evidence.first_seen.get(digest)
    first = evidence.first_effective or date(data.get("effective"))
    if first is not None and parsed < first:
        raise UsageError(
            f"a signature dated {parsed} would be older than the agreement: its first version took effect on {first}"
        )
    if seen is not None and parsed < seen.date:
        raise UsageError(
            f"a signature dated {parsed} would be older than the terms it signs: they first appear in "
            f"commit {seen.commit[:12]} of {seen.date}"
        )
    return parsed


def _person(data: dict[str, Any], evidence: Evidence, name: str, role: str, party: str | None) -> Person:
    """The listed person who signs, for the party given or found, in a role the agreement gives them."""
    parties = [p["id"] for p in data["parties"]]
    if party is not None and party not in parties:
        raise UsageError(f"unknown party '{party}'; the agreement's parties are: {', '.join(parties)}")
    listed = people(data, evidence.rosters)
    theirs = [p for p in listed if p.name == name]
    if not theirs:
        names = list(dict.fromkeys(p.name for p in listed))
        known = ", ".join(names) or "none"
        raise UsageError(
            f"'{name}' is not listed in this agreement{suggest(name, names)}, so may not sign it (listed: {known}); "
            "add them under "
            "stakeholders, or as a member of their party (parties[].members, or the party's roster file)"
        )
    if party is not None:
        matching = [p for p in theirs if p.party == party]
        if not matching:
            raise UsageError(f"{name} belongs to party '{theirs[0].party}', not '{party}'")
        theirs = matching
    with_role = [p for p in theirs if role in p.roles]
    if not with_role:
        roles = sorted({r for p in theirs for r in p.roles})
        raise UsageError(
            f"unknown role '{role}' for {name} (party '{theirs[0].party}'); the agreement gives them: "
            f"{', '.join(roles) or 'no role'}"
        )
    if len(with_role) > 1:
        raise UsageError(f"say which party {name} signs for with --party ({', '.join(p.party for p in with_role)})")
    return with_role[0]


# -- editing the text -------------------------------------------------------------------------


def _scalar(value: str) -> str:
    """A YAML scalar for `value`: plain when unambiguous, else double-quoted with every
    character YAML cannot hold raw (controls, DEL, C1, noncharacters) escaped."""
    if _PLAIN.match(value) and value.lower() not in _RESERVED and not value.endswith(" "):
        return value
    return '"' + "".join(_escape(ch) for ch in value) + '"'


def _escape(ch: str) -> str:
    if ch in '"\\':
        return "\\" + ch
    code = ord(ch)
    if (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or code in (0x2028, 0x2029)  # line and paragraph separators: YAML folds them like line breaks
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
        or 0xD800 <= code <= 0xDFFF
    ):
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def _item(signature: dict[str, str], column: int) -> str:
    pad = " " * column
    lines = [f"{pad}- name: {_scalar(signature['name'])}"]
    for key in ("role", "party", "date", "terms", "email", "recorded_by"):
        if key in signature:
            value = signature[key]
            lines.append(f"{pad}  {key}: {value if key in ('date', 'terms') else _scalar(value)}")
    if "ssh_signature" in signature:
        lines.append(f"{pad}  ssh_signature: |")
        lines += [f"{pad}    {line}" for line in signature["ssh_signature"].splitlines()]
    return "\n".join(lines) + "\n"


def _child(mapping: Node, key: str) -> tuple[Node, Node] | None:
    if isinstance(mapping, MappingNode):
        for key_node, value_node in mapping.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return key_node, value_node
    return None


def _end(node: Node) -> int:
    """Where a node's own text ends. A collection's end mark can lie past trailing comments
    (at the next token), so follow its last child down to the last scalar."""
    while isinstance(node, (MappingNode, SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return int(node.end_mark.index)


def _line_end(text: str, index: int) -> int:
    """The start of the line after the one `index` is on (end of text if there is none)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _signoff(doc: Document) -> tuple[Node, Node]:
    found = _child(doc.root, "signoff") if doc.root is not None else None
    if found is None or not isinstance(found[1], MappingNode) or found[1].flow_style:
        raise UsageError("signoff is written on one line ({...}); write it as a block so sign can add to it")
    return found


def _append_item(doc: Document, signature: dict[str, str]) -> str:
    text = doc.text if doc.text.endswith("\n") else doc.text + "\n"
    _, signoff = _signoff(doc)
    found = _child(signoff, "signatures")
    key_column: int = signoff.value[0][0].start_mark.column
    if found is None:
        at = _line_end(text, _end(signoff))
        block = " " * key_column + "signatures:\n" + _item(signature, key_column + 2)
        return text[:at] + block + text[at:]
    key_node, items = found
    if isinstance(items, SequenceNode) and items.value and not items.flow_style:
        at = _line_end(text, _end(items))
        column = text.rfind("\n", 0, items.value[0].start_mark.index) + 1
        dash = text.index("-", column) - column
        return text[:at] + _item(signature, dash) + text[at:]
    # An empty or flow-style list, or no value: the key's value becomes a block list.
    start, end = key_node.end_mark.index, items.end_mark.index
    rest = text[end : text.find("\n", end) if text.find("\n", end) >= 0 else len(text)]
    line_end = _line_end(text, end)
    comment = f"  {rest.strip()}" if rest.strip().startswith("#") else ""
    return text[:start] + ":" + comment + "\n" + _item(signature, key_column + 2) + text[line_end:]


def _replace_item(doc: Document, index: int, signature: dict[str, str]) -> str:
    text = doc.text if doc.text.endswith("\n") else doc.text + "\n"
    _, signoff = _signoff(doc)
    found = _child(signoff, "signatures")
    assert found is not None and isinstance(found[1], SequenceNode)
    items = found[1]
    if items.flow_style:
        raise UsageError(
            "signoff.signatures is written on one line ([...]); write it as a block list so sign can edit it"
        )
    item = items.value[index]
    start = text.rfind("\n", 0, item.start_mark.index) + 1
    dash = text.index("-", start) - start
    end = _line_end(text, _end(item))
    return text[:start] + _item(signature, dash) + text[end:]


def _verify(doc: Document, text: str, signature: dict[str, str]) -> None:
    """The edited file parses, differs from the original only in its signatures, and holds ours."""
    new, problems = load_bytes(text.encode(), doc.path)
    if new is None:
        raise InputError(
            f"could not add the signature to {doc.path} without breaking it ({problems[0].message}); "
            "the file was not changed"
        )
    before = {k: v for k, v in doc.data.items() if k != "signoff"}
    after = {k: v for k, v in new.data.items() if k != "signoff"}
    old_signoff = {k: v for k, v in doc.data["signoff"].items() if k != "signatures"}
    new_signoff = {k: v for k, v in new.data["signoff"].items() if k != "signatures"}
    if before != after or old_signoff != new_signoff or signature not in new.data["signoff"].get("signatures", []):
        raise InputError(f"could not add the signature to {doc.path} safely; the file was not changed")
