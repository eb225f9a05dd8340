"""Publishing a folder all or nothing: stage the new version next to it, then swap it in.

A reader of the output folder sees the old version or the new one, never a mix: the new
version is assembled in a fresh folder beside it (files that do not change are hard links
to the published ones, so they keep their bytes, inode and mtime), and the two are swapped
with one atomic `renameat2(RENAME_EXCHANGE)` where the system has it, else by two renames
(the folder is then missing for an instant, but never half-written). A build that fails,
is interrupted or is killed leaves the published folder exactly as it was; the next build
removes what it left beside it. Builds into one folder take turns (a lock on its parent).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .files import locked

_STAGE, _OLD = "slakit-stage-", "slakit-old-"
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class Stage:
    """The next version of an output folder, being assembled beside it (see `staged`). It
    travels to worker processes, which write their pages into it as they make them."""

    target: Path  # the published folder
    path: Path  # the stage beside it

    def write(self, name: str, content: bytes) -> bool:
        """Put a file in the next version; False (nothing written) when the published one
        holds these bytes already: it is carried over as it is."""
        if _same(self.target / name, content):
            return False
        fd = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        return True

    def commit(self, written: set[str], removed: set[str]) -> None:
        """Swap the next version in: the files written, every other published entry but the
        `removed` ones carried over. Nothing written and nothing removed: nothing happens."""
        if not written and not removed:
            return
        if self.target.is_dir():
            _carry_over(self.target, self.path, written | removed)
        mask = os.umask(0o22)
        os.umask(mask)
        os.chmod(self.path, 0o777 & ~mask)
        _swap(self.path, self.target)


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Stage]:
    """A stage for the next version of `out`, held under the folder's lock; whatever is not
    committed by the end (a failure, an interruption) is removed, and `out` stays as it was."""
    target = Path(os.path.realpath(out)) if out.is_symlink() else Path(os.path.abspath(out))
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder", str(out))
    made = [folder for folder in target.parents if not folder.exists()]  # deepest first
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with locked(target.parent):
            clean_stages(target)
            with _staging(target) as path:
                yield Stage(target, path)
    finally:
        if not target.exists():  # nothing was published: the folders made for it go too
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _same(path: Path, content: bytes) -> bool:
    """Whether a published file already holds exactly these bytes (a regular file, not a link)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            return handle.read(len(content) + 1) == content
    except OSError:
        return False


def clean_stages(target: Path) -> None:
    """Remove the staging and old folders an earlier, interrupted build left beside `target`."""
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if entry.name.startswith((prefix + _STAGE, prefix + _OLD)) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_STAGE}", dir=target.parent))
    try:
        yield stage
    finally:
        # After a swap this holds the old version; after a failure, the half-built new one.
        shutil.rmtree(stage, ignore_errors=True)


def _carry_over(source: Path, stage: Path, skip: set[str]) -> None:
    """Every published entry not replaced or removed, into the stage: files as hard links
    (same inode, so same bytes and mtime), folders copied the same way, links as links."""
    for entry in os.scandir(source):
        if entry.name in skip:
            continue
        destination = stage / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), destination)
        elif entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, destination, symlinks=True, copy_function=_link_or_copy)
        elif stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
            _link_or_copy(entry.path, destination)


def _link_or_copy(source: str, destination: str | Path) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:  # no hard links here (another file system, a restrictive mount)
        shutil.copy2(source, destination, follow_symlinks=False)


def _swap(stage: Path, target: Path) -> None:
    if not target.exists():
        os.rename(stage, target)  # the staging context finds nothing left to remove
        return
    if _exchange(stage, target):
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_OLD}", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(stage, target)
    except OSError:
        os.rename(old, target)
        raise
    os.rename(old, stage)  # the old version goes where the staging context removes it


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    try:  # the process's own symbols hold libc's (find_library would run ldconfig: 5-20 ms)
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)
