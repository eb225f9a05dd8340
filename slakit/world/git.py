"""Reading agreements out of Git: revisions checked, trees listed, blobs read in one process.

Every blob goes through one long-lived `git cat-file --batch`, never a process per file or
per revision. A revision given by a user is verified with `git rev-parse --verify
--end-of-options`, so nothing a user types is ever taken for an option.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import GitError, UsageError, shown
from .text import clean_line, decode

NULL_SHA = "0" * 40
# File modes of ordinary files; a gitlink (160000, a submodule) or a symlink (120000) whose
# name ends in .yaml is not an agreement, and its "content" is no YAML.
FILE_MODES = (b"100644", b"100755")
_HEX = re.compile(rb"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_ZONE = re.compile(rb"^[-+]\d{4}$")
# Object ids written to `git cat-file --batch` before its answers are read: 64 lines are
# far less than any pipe holds, so writing them never waits for git to be read.
_ASKED_AT_ONCE = 64


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        # Paths and messages in a repository need not be UTF-8: decode leniently, never raise.
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, encoding="utf-8", errors="replace", timeout=300
        )
    except FileNotFoundError:
        raise UsageError("git is not installed; it is needed to read agreements from history") from None
    if check and result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def toplevel(folder: Path) -> Path | None:
    """The top of the Git work tree `folder` is in, or None (not in one, or no git)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 and result.stdout.strip() else None


def identity(folder: Path) -> str | None:
    """Who is at the keyboard, as Git knows them ("Name <email>"), or None."""
    try:
        result = subprocess.run(
            ["git", "var", "GIT_COMMITTER_IDENT"], cwd=folder, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    ident = result.stdout.strip()
    return ident[: ident.rfind(">") + 1] if result.returncode == 0 and ">" in ident else None


class Repo:
    """A Git work tree, found from any folder inside it."""

    def __init__(self, folder: Path):
        result = _git(folder, "rev-parse", "--show-toplevel", check=False)
        if result.returncode != 0:
            raise UsageError(
                f"'{folder.resolve()}' is not inside a Git repository; compare two files with "
                "--files OLD.yaml NEW.yaml instead"
            )
        self.root = Path(result.stdout.strip()).resolve()
        self._batch: subprocess.Popen[bytes] | None = None
        self.shallow = _git(self.root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"

    def common_dir(self) -> Path | None:
        """The Git folder shared by all work trees of this repository (None if Git will not say)."""
        result = self.git("rev-parse", "--path-format=absolute", "--git-common-dir", check=False)
        folder = result.stdout.rstrip("\n")
        return Path(folder) if result.returncode == 0 and folder and Path(folder).is_dir() else None

    @staticmethod
    def contains(folder: Path) -> bool:
        """Whether `folder` is inside a Git work tree."""
        return _git(folder, "rev-parse", "--is-inside-work-tree", check=False).stdout.strip() == "true"

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _git(self.root, *args, check=check)

    def verify(self, revision: str) -> str:
        """The commit a user's revision names (any spelling Git accepts), or a usage error."""
        result = self.git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", check=False)
        if result.returncode == 0:
            return result.stdout.strip()
        if not self.git("rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip():
            raise UsageError(f"unknown revision '{revision}': the repository has no commits yet")
        hint = (
            " The repository is a shallow clone, so older history is missing; run "
            "'git fetch --unshallow' (or fetch with a larger --depth) and try again."
            if self.shallow
            else ""
        )
        if ".." in revision:
            left, _, right = revision.replace("...", "..").partition("..")
            hint = (
                f" A range names many commits; give the two revisions to compare separately, "
                f"such as: slakit diff {left or 'HEAD'} {right or 'HEAD'}"
            )
        raise UsageError(f"unknown revision {shown(revision)}: Git knows no commit by that name.{hint}")

    def relative(self, path: Path) -> str:
        """A path inside the work tree as Git names it (posix, relative to the top)."""
        absolute = path.resolve()
        try:
            return PurePosixPath(absolute.relative_to(self.root).as_posix()).as_posix()
        except ValueError:
            raise UsageError(f"path '{path}' is outside the repository at '{self.root}'") from None

    def list_files(self, commit: str, paths: list[str]) -> dict[str, str]:
        """{path: blob id} of the files under `paths` (Git names) at `commit`."""
        specs = [p if p not in ("", ".") else "." for p in paths]
        out = self.git("ls-tree", "-r", "-z", "--full-tree", commit, "--", *specs).stdout
        files = {}
        for record in out.split("\0"):
            meta, _, name = record.partition("\t")
            parts = meta.split()
            if len(parts) != 3:
                continue
            mode, kind, sha = parts
            if kind == "blob" and mode.encode() in FILE_MODES and name.endswith((".yaml", ".yml")):
                files[clean_line(name)] = sha
        return files

    def read_blob(self, sha: str, limit: int | None = None) -> bytes:
        """The content of a blob, through the one `git cat-file --batch` of this repository.
        A blob larger than `limit` bytes is skipped unread (BlobTooLarge is raised)."""
        content = self.read_objects([sha], limit)[0]
        if isinstance(content, BlobTooLarge):
            if content.reason:
                raise GitError(content.reason)
            raise content
        return content

    def read_blobs(self, shas: list[str]) -> list[bytes]:
        """The contents of many blobs, whatever their size (see `read_objects`)."""
        found = []
        for content in self.read_objects(shas, None):
            if isinstance(content, BlobTooLarge):
                raise GitError(content.reason)
            found.append(content)
        return found

    def log(self, *args: str) -> list[LogCommit]:
        """`git log <args>` of commits with the files each changed, read as bytes: each commit's
        metadata comes from its own object, parsed leniently, so no byte in a subject, a name,
        a date or a path can break the listing (a commit that cannot be read says why)."""
        out = self._git_bytes("log", "--raw", "--no-abbrev", "-z", "--format=%H", *args)
        commits = parse_log(out)
        for commit, raw in zip(commits, self.read_objects([c.sha for c in commits], 1024 * 1024)):
            if isinstance(raw, BlobTooLarge):
                commit.problem = (
                    f"cannot be read ({raw.reason})"
                    if raw.reason
                    else "is larger than 1 MiB, so its author and message are not read"
                )
                continue
            _fill(commit, raw)
        _date_gaps(commits)
        return commits

    def _git_bytes(self, *args: str) -> bytes:
        try:
            result = subprocess.run(["git", *args], cwd=self.root, capture_output=True, timeout=300)
        except FileNotFoundError:
            raise UsageError("git is not installed; it is needed to read agreements from history") from None
        if result.returncode != 0:
            raise GitError(f"git {args[0]} failed: {decode(result.stderr).strip()}")
        return result.stdout

    def read_objects(self, shas: list[str], limit: int | None) -> list[bytes | BlobTooLarge]:
        """The contents of many objects, asked for a few dozen at a time (waiting for each
        answer before asking the next question costs more than the reading); one larger than
        `limit` bytes is skipped unread and given as BlobTooLarge, as is one git cannot read
        (with the reason), so the answers to the rest of a batch are still read in step."""
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        stdin, stdout = self._batch.stdin, self._batch.stdout
        assert stdin is not None and stdout is not None
        found: list[bytes | BlobTooLarge] = []
        for start in range(0, len(shas), _ASKED_AT_ONCE):
            asked = shas[start : start + _ASKED_AT_ONCE]
            stdin.write(b"".join(sha.encode() + b"\n" for sha in asked))
            stdin.flush()
            for sha in asked:
                header = stdout.readline().split()
                if len(header) != 3 or not header[2].isdigit():  # "<sha> missing": the batch goes on
                    found.append(BlobTooLarge(-1, f"git cannot read object {sha}: {decode(b' '.join(header))}"))
                    continue
                size = int(header[2])
                if limit is not None and size > limit:
                    _skip(stdout, size + 1)
                    found.append(BlobTooLarge(size))
                else:
                    found.append(_read_exactly(stdout, size + 1)[:-1])
        return found

    def close(self) -> None:
        if self._batch is not None:
            assert self._batch.stdin is not None
            self._batch.stdin.close()
            self._batch.wait(timeout=30)
            self._batch = None

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise GitError("git cat-file ended early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _skip(stream: IO[bytes], size: int) -> None:
    left = size
    while left:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            raise GitError("git cat-file ended early")
        left -= len(chunk)


class BlobTooLarge(Exception):
    """A blob over the size limit, not read into memory (or, with a reason, not readable)."""

    def __init__(self, size: int, reason: str = ""):
        super().__init__(size, reason)
        self.size, self.reason = size, reason


@dataclass
class FileChange:
    """One file a commit changed: status A/M/D/R/C (T becomes A, M or D by the file modes)."""

    status: str
    old_sha: str
    new_sha: str
    path: str
    old_path: str | None = None


@dataclass
class LogCommit:
    """A commit as the log lists it: metadata cleaned for display, `problem` if unreadable."""

    sha: str
    author: str = ""
    date: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    subject: str = ""
    files: list[FileChange] = field(default_factory=list)
    problem: str | None = None
    dated: bool = False  # whether `date` was read from the commit


def parse_log(raw: bytes) -> list[LogCommit]:
    """`git log --raw -z --format=%H` output -> commits and the files they changed.

    Records are NUL-separated; a raw entry (':mode mode sha sha status') is followed by
    one path, or two for a rename or copy, taken by position so a path may hold any byte.
    Gitlinks and symlinks are no agreement files: a change to or from one counts as the
    file appearing or going."""
    commits: list[LogCommit] = []
    tokens = raw.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        i += 1
        if token.startswith(b":") and commits:
            meta = token[1:].split()
            two = len(meta) == 5 and meta[4][:1] in (b"R", b"C")
            paths = tokens[i : i + (2 if two else 1)]
            i += len(paths)
            if len(meta) != 5 or len(paths) != (2 if two else 1):
                continue
            old_mode, new_mode, old_sha, new_sha, status = meta
            change = _change(
                old_mode, new_mode, decode(old_sha), decode(new_sha), status[:1].decode("ascii", "replace")
            )
            if change is None:
                continue
            names = [clean_line(decode(p)) for p in paths]
            if two and change.status in "AD":  # one side of a rename is no file: it appears or goes
                change.path = names[1] if change.status == "A" else names[0]
            elif two:
                change.old_path, change.path = names
            else:
                change.path = names[0]
            commits[-1].files.append(change)
        elif _HEX.match(token):
            commits.append(LogCommit(token.decode("ascii")))
    return commits


def _change(old_mode: bytes, new_mode: bytes, old_sha: str, new_sha: str, status: str) -> FileChange | None:
    was, now = old_mode in FILE_MODES, new_mode in FILE_MODES
    if not was and not now:
        return None
    if was and not now:
        return FileChange("D", old_sha, NULL_SHA, "")
    if now and not was:
        return FileChange("A", NULL_SHA, new_sha, "")
    return FileChange("M" if status == "T" else status, old_sha, new_sha, "")


def _fill(commit: LogCommit, raw: bytes) -> None:
    """Author, committer date and subject from a raw commit object."""
    head, _, message = raw.partition(b"\n\n")
    headers: dict[bytes, bytes] = {}
    for line in head.split(b"\n"):
        name, _, value = line.partition(b" ")
        headers.setdefault(name, value)
    encoding = decode(headers.get(b"encoding", b"utf-8")).strip() or "utf-8"
    author = headers.get(b"author", b"")
    commit.author = clean_line(decode(author.rpartition(b" <")[0] if b" <" in author else author, encoding)).strip()
    subject = b" ".join(line.strip() for line in message.split(b"\n\n")[0].split(b"\n"))
    commit.subject = clean_line(decode(subject, encoding)).strip()
    for source in (b"committer", b"author"):
        when = _when(headers.get(source, b""))
        if when is not None:
            commit.date, commit.dated = when, True
            return
    commit.problem = "has a date Git cannot represent, so it is listed at the date of the commit before it"


def _when(person: bytes) -> dt.datetime | None:
    """The time of an author or committer line, aware; None when Git wrote nonsense (a year
    past 9999, a zone of +2500: a zone past a day is read as UTC)."""
    tail = person.rpartition(b">")[2].split()
    if len(tail) != 2 or not tail[0].lstrip(b"-").isdigit() or len(tail[0]) > 20:
        return None
    seconds, zone = int(tail[0]), tail[1]
    if not _ZONE.match(zone):
        zone = b"+0000"
    hours, minutes = int(zone[1:3]), int(zone[3:])
    offset = dt.timedelta(hours=hours, minutes=minutes) * (-1 if zone[:1] == b"-" else 1)
    tz = dt.timezone(offset) if abs(offset) < dt.timedelta(days=1) and minutes < 60 else dt.UTC
    try:
        return dt.datetime.fromtimestamp(seconds, tz)
    except (OverflowError, ValueError, OSError):
        return None


def _date_gaps(commits: list[LogCommit]) -> None:
    """A commit whose date cannot be read takes the date of the one before it in the list."""
    last = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for commit in commits:
        if commit.dated:
            last = commit.date
        else:
            commit.date = last
