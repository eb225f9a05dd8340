"""What the world says about an agreement's sign-off, gathered before the rules run.

Three things live outside the agreement file: the parties' roster files, the repository's
allowed_signers file (each SSH signature is checked against it with ssh-keygen), and Git
history (when the signed terms first appeared, and the effective date of the first
version). A `Witness` gathers them for one run, sharing one `git cat-file --batch` per
repository, and hands each agreement its `Evidence`; the rules and the model only read it.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ERROR, Problem, SlakitError
from ..model.dates import parse_date
from ..model.terms import Check, statement, terms_digest
from ..world import ssh
from ..world.files import real_folder
from ..world.git import Repo, toplevel
from ..world.load import Document, load_bytes, load_file


@dataclass(frozen=True)
class FirstSeen:
    """The first commit (oldest, by author date) whose terms have a digest, and who had
    already signed those terms in that very commit."""

    date: dt.date
    commit: str
    signed: frozenset[str]


@dataclass
class Evidence:
    rosters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # party id -> members
    checks: dict[int, Check] = field(default_factory=dict)  # signature index -> SSH check
    first_seen: dict[str, FirstSeen] = field(default_factory=dict)  # terms digest -> first commit
    first_effective: dt.date | None = None  # the effective date of the first version in Git
    problems: list[Problem] = field(default_factory=list)
    inputs: dict[str, str | None] = field(default_factory=dict)  # files read besides the agreement -> sha256


def repository_root(path: Path) -> Path:
    """The top folder of the repository an agreement is in (its Git work tree, or else the
    current folder): where allowed_signers is, and what roster paths are relative to."""
    return _root(real_folder(path)) or Path.cwd().resolve()


@lru_cache(maxsize=256)
def _root(folder: str) -> Path | None:
    return toplevel(Path(folder))


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class Witness:
    """Gathers evidence for the agreements of one run; `history` reads Git for dates."""

    def __init__(self, history: bool = True, current_terms: bool = False):
        self.history = history
        self.current_terms = current_terms  # also find when the terms as they are now appeared (sign)
        self._repos: dict[Path, Repo] = {}
        self._files: dict[Path, frozenset[str]] = {}
        self._checked: dict[tuple[str, str, bytes, str], Check] = {}

    def gather(self, doc: Document, path: Path, today: dt.date) -> Evidence:
        evidence = Evidence()
        data = doc.data if isinstance(doc.data, dict) else {}
        root = repository_root(path)
        self._rosters(doc, data, root, evidence)
        self._signatures(data, root, evidence)
        wanted = _signed_digests(data)
        if self.current_terms:
            wanted.add(_digest(data) or "")
        if self.history and wanted - {""}:
            self._first_seen(path, wanted, root, evidence, today)
        return evidence

    # -- roster files ---------------------------------------------------------------------

    def _rosters(self, doc: Document, data: dict[str, Any], root: Path, evidence: Evidence) -> None:
        parties = data.get("parties") if isinstance(data.get("parties"), list) else []
        for i, party in enumerate(parties):  # type: ignore[arg-type]
            if not isinstance(party, dict) or not isinstance(party.get("roster"), str):
                continue
            if not isinstance(party.get("id"), str):
                continue
            relative = party["roster"]
            file = root / relative
            if ".." in Path(relative).parts or Path(relative).is_absolute():
                continue  # the schema reports it
            evidence.inputs[str(file)] = ssh.file_digest(file)
            if not file.is_file():
                line, col = doc.locate(("parties", i, "roster"))
                evidence.problems.append(
                    Problem(
                        doc.path,
                        line,
                        col,
                        ERROR,
                        "roster",
                        f"parties[{party['id']}].roster: there is no file {relative!r} in {root} "
                        "(roster paths are relative to the repository's top folder)",
                        f"/parties/{i}/roster",
                    )
                )
                continue
            members, problems = read_roster(file, _shown(file))
            evidence.rosters[party["id"]] = members
            evidence.problems += problems

    # -- SSH signatures -------------------------------------------------------------------

    def _signatures(self, data: dict[str, Any], root: Path, evidence: Evidence) -> None:
        signoff = data.get("signoff") if isinstance(data.get("signoff"), dict) else {}
        signatures = signoff.get("signatures") if isinstance(signoff, dict) else None
        if not isinstance(signatures, list):
            return
        signers = ssh.allowed_signers(root)
        ident = data.get("id") if isinstance(data.get("id"), str) else ""
        for i, s in enumerate(signatures):
            if not isinstance(s, dict) or not isinstance(s.get("ssh_signature"), str):
                continue
            evidence.inputs[str(signers)] = ssh.file_digest(signers)
            email = s.get("email")
            if not isinstance(email, str):
                evidence.checks[i] = Check(False, "it records no e-mail address to check the SSH signature against")
                continue
            message = statement(str(ident), s)
            key = (str(signers), email, message, s["ssh_signature"])
            if key not in self._checked:
                try:
                    verdict = ssh.verify(signers, email, message, s["ssh_signature"])
                except SlakitError as exc:
                    verdict = ssh.Verdict(False, exc.format_message(), checked=False)
                self._checked[key] = Check(verdict.ok, verdict.reason, verdict.checked)
            evidence.checks[i] = self._checked[key]

    # -- Git history ----------------------------------------------------------------------

    def _tracked(self, repo: Repo) -> frozenset[str]:
        """The files Git tracks in a repository, listed once per run."""
        if repo.root not in self._files:
            out = repo.git("ls-files", "-z", check=False).stdout
            self._files[repo.root] = frozenset(name for name in out.split("\0") if name)
        return self._files[repo.root]

    def _repo(self, root: Path) -> Repo:
        if root not in self._repos:
            self._repos[root] = Repo(root)
        return self._repos[root]

    def _first_seen(self, path: Path, wanted: set[str], root: Path, evidence: Evidence, today: dt.date) -> None:
        """One `git log` of the file, oldest first; its revisions read through the shared
        cat-file process until every signed digest has been found. Commits dated after
        `today` (SOURCE_DATE_EPOCH) are left out: as of that day they do not exist yet."""
        if _root(real_folder(path)) is None:
            return
        try:
            repo = self._repo(root)
            name = repo.relative(path)
            if name not in self._tracked(repo):
                return  # never committed: no history to compare with (and no git log to run)
            out = repo.git(
                "log",
                "--reverse",
                "--format=%x1e%H %as",
                "--raw",
                "--no-abbrev",
                "--no-renames",
                "--",
                name,
                check=False,
            ).stdout
            for chunk in out.split("\x1e")[1:]:
                lines = chunk.strip().splitlines()
                if not lines:
                    continue
                commit, _, day = lines[0].partition(" ")
                blob = next(
                    (line.split()[3] for line in lines[1:] if line.startswith(":") and line.endswith(name)), None
                )
                when = parse_date(day)
                if blob is None or blob == "0" * 40 or when is None or when > today:
                    continue
                old, _ = load_bytes(repo.read_blob(blob), f"{commit[:12]}:{name}")
                if old is None or not isinstance(old.data, dict):
                    continue
                if evidence.first_effective is None:
                    evidence.first_effective = parse_date(old.data.get("effective"))
                digest = _digest(old.data)
                if digest in wanted and digest not in evidence.first_seen:
                    evidence.first_seen[digest] = FirstSeen(when, commit, _signers_of(old.data, digest))
                    if wanted <= set(evidence.first_seen):
                        break
        except SlakitError:
            return  # no usable history (no commits, a broken repository): nothing to compare with

    def close(self) -> None:
        for repo in self._repos.values():
            repo.close()
        self._repos.clear()

    def __enter__(self) -> Witness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _digest(data: dict[str, Any]) -> str | None:
    """The terms digest of data that may be far from valid (an old revision), or None."""
    try:
        return terms_digest(data)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError):
        return None


def _signature_list(data: dict[str, Any]) -> list[dict[str, Any]]:
    signoff = data.get("signoff")
    found = signoff.get("signatures") if isinstance(signoff, dict) else None
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def _signed_digests(data: dict[str, Any]) -> set[str]:
    return {s["terms"] for s in _signature_list(data) if isinstance(s.get("terms"), str)}


def _signers_of(data: dict[str, Any], digest: str) -> frozenset[str]:
    return frozenset(str(s.get("name")) for s in _signature_list(data) if s.get("terms") == digest)


def read_roster(file: Path, shown: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The members a roster file lists (`members:`, each with name, email and role), and
    the problems of the file, located in it."""
    doc, problems = load_file(file, shown)
    if doc is None:
        return [], problems
    found = doc.data.get("members") if isinstance(doc.data, dict) else None
    if not isinstance(found, list):
        line, col = doc.locate(())
        return [], problems + [
            Problem(shown, line, col, ERROR, "roster", "a roster file is a mapping with a list under 'members:'")
        ]
    members = []
    for i, member in enumerate(found):
        bad = (
            [k for k in ("name", "email", "role") if not isinstance(member.get(k), str) or not member[k].strip()]
            if isinstance(member, dict)
            else ["name", "email", "role"]
        )
        if isinstance(member, dict) and "email" not in bad and "@" not in member["email"]:
            bad.append("email")
        if bad:
            line, col = doc.locate(("members", i))
            problems.append(
                Problem(
                    shown,
                    line,
                    col,
                    ERROR,
                    "roster",
                    f"members[{i + 1}]: needs {', '.join(bad)} (each member: name, email and role, as text)",
                    f"/members/{i}",
                )
            )
            continue
        members.append({"name": member["name"].strip(), "email": member["email"].strip(), "role": member["role"]})
    return members, problems
