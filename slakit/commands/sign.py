"""Signing: a signature recorded in the YAML, bound to the digest of the terms it accepts.

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

from ..checking.validate import check_source, content_errors
from ..errors import InputError, UsageError, shown
from ..model.dates import parse_date as date
from ..model.terms import terms_digest
from ..world.clock import today
from ..world.files import locked, read_agreement, write_if_changed
from ..world.load import Document, load_bytes
from ..world.text import display_path

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9 .,'()&/+\-]*\Z")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def sign(path: Path, name: str, role: str, party: str | None, when: str | None) -> str:
    """Record a signature in the agreement at `path`; returns what was done, for people.

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
        return _sign(path, target, name, role, party, when)


def _check_option(option: str, value: str) -> None:
    """A name or role follows the schema's rule for a line of text: not blank, one line.
    (Other characters are written as escapes, as the YAML itself may hold them.)"""
    if not value.strip():
        raise UsageError(f"{option} must not be empty")
    if "\n" in value or "\r" in value or len(value) > 200:
        raise UsageError(f"{option} {shown(value)} is not accepted: write it on one line, in at most 200 characters")


def _sign(path: Path, target: Path, name: str, role: str, party: str | None, when: str | None) -> str:
    raw = read_agreement(target)
    checked = check_source(load_bytes(raw, str(path)), str(path), today(), {})
    # Missing or stale signatures are what signing fixes; every other error stops it.
    blocking = content_errors(checked.problems)
    if blocking or checked.document is None:
        lines = "\n".join(p.format() for p in sorted(blocking or checked.problems))
        raise InputError(f"{path} has problems; fix them before signing (the file was not changed):\n{lines}")
    doc = checked.document
    data = doc.data
    day = _signing_date(when)
    party = _party(data, name, role, party)
    digest = terms_digest(data)
    signature = {"name": name, "role": role, "party": party, "date": day.isoformat(), "terms": digest}
    existing = [s for s in data["signoff"].get("signatures") or []]
    for i, old in enumerate(existing):
        # One signature per person (signatures are keyed by name): a new one replaces theirs.
        if old.get("name") == name:
            if (old.get("role"), old.get("party"), old.get("terms")) == (role, party, digest):
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
    return f"signed: {name}, {role} ({party}), {day.isoformat()}, terms {digest[:19]}…; recorded in {path}"


def _signing_date(when: str | None) -> dt.date:
    day = today()
    if when is None:
        return day
    parsed = date(when)
    if parsed is None:
        raise UsageError(f"--date '{when}' is not a date written YYYY-MM-DD")
    if parsed > day:
        raise UsageError(f"--date {when} is in the future (today is {day}); a signature is dated when it is given")
    return parsed


def _party(data: dict[str, Any], name: str, role: str, party: str | None) -> str:
    """The party the signer signs for: given, or found from the required signers and stakeholders."""
    parties = [p["id"] for p in data["parties"]]
    signoff = data["signoff"]
    people = {s["name"]: s for s in data.get("stakeholders", [])}
    if party is not None and party not in parties:
        raise UsageError(f"unknown party '{party}'; the agreement's parties are: {', '.join(parties)}")
    person = people.get(name)
    if person is not None:
        if party is not None and person["party"] != party:
            raise UsageError(f"{name} belongs to party '{person['party']}', not '{party}'")
        party = person["party"]
    elif not signoff.get("everyone"):
        known = ", ".join(people) or "none"
        raise UsageError(
            f"'{name}' is not a stakeholder of this agreement (stakeholders: {known}); add them under "
            "stakeholders, or set signoff.everyone: true so every team member may sign"
        )
    roles = {(r["role"], r["party"]) for r in signoff["required"]}
    roles |= {(s["role"], s["party"]) for s in data.get("stakeholders", [])}
    matching = sorted({p for r, p in roles if r == role and (party is None or p == party)})
    if party is None:
        if len(matching) != 1:
            raise UsageError(f"say which party {name} signs for with --party ({', '.join(parties)})")
        party = matching[0]
    if not matching and not signoff.get("everyone"):
        known = ", ".join(sorted({r for r, p in roles if p == party})) or "none"
        raise UsageError(f"unknown role '{role}' for party '{party}'; roles that sign for it: {known}")
    return party


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
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
        or 0xD800 <= code <= 0xDFFF
    ):
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def _item(signature: dict[str, str], column: int) -> str:
    pad = " " * column
    lines = [f"{pad}- name: {_scalar(signature['name'])}"]
    lines += [
        f"{pad}  {key}: {_scalar(signature[key]) if key in ('role', 'party') else signature[key]}"
        for key in ("role", "party", "date", "terms")
    ]
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
