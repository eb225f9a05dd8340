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
# Object ids written to `git cat-file --batch` before its answers are read: 64 lines are
# far less than any pipe holds, so writing them never waits for git to be read.
_ASKED_AT_ONCE = 64


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise UsageError("git is not installed; it is needed to read agreements from history") from None
    if check and result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


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
        return self.read_blobs([sha])[0]

    def read_blobs(self, shas: list[str]) -> list[bytes]:
        """The contents of many blobs, asked for a few dozen at a time: waiting for each
        answer before asking the next question costs more than the reading."""
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        stdin, stdout = self._batch.stdin, self._batch.stdout
        assert stdin is not None and stdout is not None
        blobs = []
        for start in range(0, len(shas), _ASKED_AT_ONCE):
            asked = shas[start : start + _ASKED_AT_ONCE]
            stdin.write(b"".join(sha.encode() + b"\n" for sha in asked))
            stdin.flush()
            for sha in asked:
                header = stdout.readline().split()
                if len(header) != 3:
                    raise GitError(f"git cannot read object {sha}: {b' '.join(header).decode(errors='replace')}")
                blobs.append(_read_exactly(stdout, int(header[2]) + 1)[:-1])
        return blobs

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
