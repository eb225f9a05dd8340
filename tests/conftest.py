"""Shared test helpers: the real CLI, real files, real Git repositories."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402

# 2026-11-16 00:00 UTC (between the examples' last and next reviews): tests see a fixed "today" so review-date warnings do not drift.
FIXED_EPOCH = "1794787200"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", FIXED_EPOCH)
    monkeypatch.delenv("NO_COLOR", raising=False)


def run(*args: str, cwd: Path | None = None):
    """Run the CLI in-process (click's CliRunner) from `cwd`; returns the click Result."""
    runner = CliRunner()
    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(cli.main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def run_process(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python cli.py ...` as a real subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# An empty configuration of the tests' own: git reads it instead of the machine's (a file,
# not /dev/null, so nothing that writes "global" config can ever replace the device).
EMPTY_GIT_CONFIG = Path(tempfile.mkdtemp(prefix="slakit-tests-")) / "gitconfig"
EMPTY_GIT_CONFIG.write_text("")


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `repo` with its own identity, never the machine's."""
    base = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(EMPTY_GIT_CONFIG),
        "GIT_CONFIG_SYSTEM": str(EMPTY_GIT_CONFIG),
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
    }
    out = subprocess.run(
        ["git", *args], cwd=repo, env={**base, **(env or {})}, capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty Git repository with its own user config."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test Author")
    git(path, "config", "user.email", "author@example.com")
    return path
