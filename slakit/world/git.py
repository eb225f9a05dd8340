"""Reading agreements out of Git: revisions checked, trees listed, blobs read in one process.

Every blob goes through one long-lived `git cat-file --batch`, never a process per file or
per revision. A revision given by a user is verified with `git rev-parse --verify
--end-of-options`, so nothing a user types is ever taken for an option.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import GitError, UsageError

NULL_SHA = "0" * 40


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
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
        raise UsageError(f"unknown revision '{revision}': Git knows no commit by that name.{hint}")

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
            if not record:
                continue
            meta, _, name = record.partition("\t")
            _mode, kind, sha = meta.split()
            if kind == "blob" and name.endswith((".yaml", ".yml")):
                files[name] = sha
        return files

    def read_blob(self, sha: str) -> bytes:
        """The content of a blob, through the one `git cat-file --batch` of this repository."""
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        stdin, stdout = self._batch.stdin, self._batch.stdout
        assert stdin is not None and stdout is not None
        stdin.write(sha.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise GitError(f"git cannot read object {sha}: {b' '.join(header).decode(errors='replace')}")
        return _read_exactly(stdout, int(header[2]) + 1)[:-1]

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
