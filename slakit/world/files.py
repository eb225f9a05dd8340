"""Files on disk: which files are agreements, and writing outputs safely.

One rule says what an agreement file is, for the work tree and for Git history alike:
a `.yaml` or `.yml` file that is not inside a hidden folder (`sla/.drafts/x.yaml` is not
published, checked or compared).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath

from ..errors import InputError, UsageError, WriteError
from .text import display_path

MAX_BYTES = 1024 * 1024  # the size limit of an agreement, wherever it is read from
# Kernel and device trees: reading them can block, never end, or leak the machine's secrets.
_SYSTEM = ("/proc", "/sys", "/dev")

YAML_SUFFIXES = (".yaml", ".yml")
# Pages the toolkit publishes next to the agreements' own (<id>.md, <id>.html, <id>.pdf): an
# agreement whose id is one of these would overwrite it, so such an id is refused.
TOOLKIT_PAGES = frozenset({"index", "changelog", "scorecard", "plan", "diff", "preview", "style"})


def is_agreement_path(relative: str | PurePosixPath | Path) -> bool:
    """Whether a path, relative to the folder searched, names an agreement file."""
    parts = PurePosixPath(str(relative).replace(os.sep, "/")).parts
    return bool(parts) and parts[-1].endswith(YAML_SUFFIXES) and not any(p.startswith(".") for p in parts[:-1])


def is_agreement_under(name: str, roots: list[str]) -> bool:
    """Whether a Git path (posix, from the top) is an agreement file under one of `roots`
    (Git paths of folders or files, as the user named them)."""
    for root in roots:
        root = root.rstrip("/")
        if root in ("", "."):
            relative = name
        elif name == root:
            relative = PurePosixPath(name).name
        elif name.startswith(root + "/"):
            relative = name[len(root) + 1 :]
        else:
            continue
        if is_agreement_path(relative):
            return True
    return False


def agreement_files(folder: Path) -> list[Path]:
    """The agreement files under a folder, sorted (hidden folders left out). Symbolic links
    to folders are not followed; links to files are listed, and refused when read if they
    leave the repository (see `read_agreement`)."""
    found = []
    for top, folders, files in os.walk(folder, followlinks=False):
        folders[:] = [f for f in folders if not f.startswith(".")]
        for name in files:
            path = Path(top) / name
            if is_agreement_path(path.relative_to(folder)):
                found.append(path)
    return sorted(found)


class FileRefused(InputError):
    """A file that is not read: a link out of the repository, a FIFO, a device, too large."""

    def __init__(self, path: Path | str, reason: str, rule: str = "file"):
        super().__init__(f"{display_path(str(path))}: {reason}")
        self.reason, self.rule = reason, rule


def boundary(path: Path) -> Path:
    """The folder a file must stay inside: the Git work tree around it (found by its
    '.git'), else the folder the file is in."""
    start = Path(os.path.abspath(path)).parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def real_folder(path: Path) -> str:
    """The folder a file really is in, symbolic links resolved; each folder is resolved
    once per run (resolving walks every component of the path, for each of many files)."""
    if path.is_symlink():
        return str(path.resolve().parent)
    return _resolved(os.getcwd(), str(path.parent))


def real_path(path: Path) -> Path:
    """`path.resolve()` for a file, its folder resolved once per run (see `real_folder`)."""
    return path.resolve() if path.is_symlink() else Path(_resolved(os.getcwd(), str(path.parent)), path.name)


@lru_cache(maxsize=256)
def _resolved(cwd: str, folder: str) -> str:
    return str(Path(cwd, folder).resolve())


def read_agreement(path: Path, limit: int = MAX_BYTES) -> bytes:
    """An agreement file's bytes, or FileRefused: never through a link that leaves the
    repository, never from /proc, a FIFO or a device (opened without blocking and checked
    before any read), never more than `limit` bytes."""
    real = os.path.realpath(path)
    system = next((s for s in _SYSTEM if real == s or real.startswith(s + "/")), None)
    if system:
        raise FileRefused(path, f"is in {system} (or a link into it), not an agreement file; it is not read")
    if os.path.islink(path) or real != os.path.abspath(path):
        inside = os.path.realpath(boundary(path))
        if not (real == inside or real.startswith(inside.rstrip("/") + "/")):
            raise FileRefused(
                path, "is a symbolic link to a file outside the repository; it is not read (copy the file in instead)"
            )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefused(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a FIFO (named pipe)"
                if stat.S_ISFIFO(info.st_mode)
                else "a device"
                if (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode))
                else "a socket"
                if stat.S_ISSOCK(info.st_mode)
                else "a folder"
                if stat.S_ISDIR(info.st_mode)
                else "not a regular file"
            )
            raise FileRefused(path, f"is {kind}, not a file; it is not read")
        if info.st_size > limit:
            raise FileRefused(path, _too_large(f"{info.st_size:,}", limit), "size")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while read, or its size was not told (a pseudo-file)
            raise FileRefused(path, _too_large(f"more than {limit:,}", limit), "size")
        return b"".join(chunks)
    except OSError as exc:
        raise FileRefused(path, f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _too_large(size: str, limit: int) -> str:
    return f"the file is {size} bytes; agreements are limited to {limit:,} bytes"


def find_agreements(paths: Iterable[str]) -> list[tuple[Path, str]]:
    """Expand files and folders to agreement files, as (path, name to show). Usage error if absent."""
    found: list[tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = agreement_files(path)
            if not files:
                raise UsageError(f"no agreements (*.yaml, *.yml) found in folder '{display_path(given)}'")
            found += [(p, display_path(str(p))) for p in files]
        elif path.exists() or path.is_symlink():
            found.append((path, display_path(str(path))))
        else:
            raise UsageError(f"path '{display_path(given)}' does not exist")
    # The path as found (not resolved): whether it is a link is judged when it is read.
    names = dict(found)
    return [(path, names[path]) for path in distinct(names)]


def distinct(paths: Iterable[Path]) -> list[Path]:
    """The paths less those naming a file already listed: a link to an agreement beside it
    is the same agreement, listed once, under the file's own name (Git, too, sees a link as
    no agreement)."""
    unique: dict[Path, Path] = {}
    for path in paths:
        key = path.resolve()
        if key not in unique or (unique[key].is_symlink() and not path.is_symlink()):
            unique[key] = path
    return list(unique.values())


TEMP_SUFFIX = ".slakit-tmp"
LEFTOVER_AGE = 600  # seconds: a temporary file this old is a leftover of a killed run


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_if_changed(path: Path, content: bytes, mode: int | None = None) -> bool:
    """Write `content` atomically; skip if the bytes are the same. Returns whether it wrote.

    The bytes go to a new temporary file in the same folder (a name nobody can predict,
    created exclusively, so a planted file or link is never followed), then are renamed over
    `path`: a link at `path` is replaced, never written through. The file keeps its mode (or
    gets `mode`); leftovers of an earlier killed run are removed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISLNK(info.st_mode):
        # A folder, a device (/dev/null), a FIFO: renaming over it would replace it.
        raise OSError(errno.EEXIST, "it exists and is not a regular file", str(path))
    if info is not None and stat.S_ISREG(info.st_mode):
        with open(path, "rb") as handle:  # a regular file (not a link, FIFO or device): safe to read
            if handle.read(len(content) + 1) == content:
                return False
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if info is not None and stat.S_ISREG(info.st_mode) else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    clean_leftovers(path.parent, f".{path.name}.")
    return True


def create_new(path: Path, content: bytes) -> None:
    """Create `path` with `content`, all or nothing, never replacing anything there (a file,
    or a planted link): written to a temporary file, then linked into place (FileExistsError
    if the name is taken, even in a race)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
        os.link(tmp, path, follow_symlinks=False)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def clean_leftovers(folder: Path, prefix: str = ".") -> None:
    """Remove temporary files an earlier, killed run left in `folder` (old ones only: a
    younger one may belong to a run still going)."""
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > LEFTOVER_AGE:
                    os.unlink(entry.path)


def write_output(path: Path, text: str) -> None:
    """A report the user asked for with --out: a clear message for a folder, a FIFO, a
    missing parent or a read-only folder (exit 2), never a traceback or a blocked write.
    A character device (/dev/null, a terminal) is written to as it is, never replaced."""
    shown = display_path(str(path))
    try:
        info = os.stat(path)  # through a link: what would receive the bytes
    except OSError:
        info = None
    try:
        if info is not None and stat.S_ISCHR(info.st_mode):
            with open(path, "wb") as handle:
                handle.write(text.encode())
            return
        if info is not None and not stat.S_ISREG(info.st_mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(info.st_mode)
                else "a FIFO (named pipe)"
                if stat.S_ISFIFO(info.st_mode)
                else "not a regular file"
            )
            raise WriteError(f"cannot write '{shown}': it is {kind}; give a file name for --out")
        if not path.parent.is_dir():
            raise WriteError(f"cannot write '{shown}': the folder '{display_path(str(path.parent))}' does not exist")
        write_if_changed(path, text.encode())
    except OSError as exc:
        raise WriteError(f"cannot write '{shown}': {exc.strerror or exc}") from None


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a folder while a file in it is read, edited and replaced,
    so two people editing at the same moment (two signers) never lose each other's change."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
