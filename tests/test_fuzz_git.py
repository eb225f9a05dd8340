"""Raw fuzzing of Git metadata: random bytes as commit subjects, author names, dates, time
zones and file names, planted byte for byte in a real repository. `changelog`, `diff`,
`status` and `render` never raise: exit 0 or 1, and every commit is listed.

Profiles as in test_properties.py (tests/strategies.py): few derandomized examples by
default, many random ones with HYPOTHESIS_PROFILE=fuzz.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_hardening import MINIMAL, git_bytes, leads, plant

import strategies as S
from conftest import run

# Bytes a commit header or a tree entry may carry: a subject may hold anything but NUL
# (Git stops there), a name anything but NUL, '/', '<', '>' and a line break.
SUBJECT = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\0", b""))
NAME = st.binary(min_size=0, max_size=20).map(lambda b: bytes(c for c in b if c not in b"\0\n<>"))
SECONDS = st.one_of(
    st.integers(-(10**15), 10**15).map(lambda n: str(n).encode()),
    st.sampled_from([b"", b"abc", b"-", b"1e9", b"99999999999999999999999999"]),
)
ZONE = st.one_of(
    st.integers(-9999, 9999).map(lambda n: b"%+05d" % n),
    st.sampled_from([b"+2500", b"-2500", b"+0099", b"Z", b"", b"+12345"]),
)
FILE = (
    st.binary(min_size=1, max_size=16)
    .map(lambda b: bytes(c for c in b if c not in b"\0/"))
    .filter(lambda b: b not in (b"", b".", b".."))
)


def new_repo(folder: Path) -> Path:
    repo = folder / "repo"
    repo.mkdir()
    git_bytes(repo, "init", "-q", "-b", "main")
    (repo / "sla").mkdir()
    (repo / "sla" / "a.yaml").write_text(MINIMAL)
    git_bytes(repo, "add", "-A")
    git_bytes(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first")
    return repo


@settings(max_examples=S.examples(0.5))
@example(subject=b"\x1e\x1f\xff", name=b"\x1b[2J", seconds=b"999999999999999", zone=b"+2500", file=b"x\xff\n.yaml")
@given(subject=SUBJECT, name=NAME, seconds=SECONDS, zone=ZONE, file=FILE)
def test_random_commit_metadata_never_breaks_history_commands(
    subject: bytes, name: bytes, seconds: bytes, zone: bytes, file: bytes
) -> None:
    with tempfile.TemporaryDirectory(prefix="slakit-fuzz-git-") as tmp:
        repo = new_repo(Path(tmp))
        other = MINIMAL.replace("id: minimal", "id: other").encode()
        files = {b"a.yaml": (b"100644", leads(11)), file + b".yaml": (b"100644", other)}
        person = name + b" <x@y> " + seconds + b" " + zone
        plant(repo, files, subject, person)
        plant(repo, {b"a.yaml": (b"100644", leads(12))}, b"after", b"A <a@b> 1700000000 +0000")
        for command in (
            ("changelog", "--format", "json"),
            ("changelog",),
            ("diff", "HEAD~2", "HEAD~1"),
            ("diff", "HEAD~1"),
            ("status",),
            ("render", "sla", "--out", "dist"),
        ):
            result = run(*command, cwd=repo)  # an exception here fails the test: CliRunner re-raises
            assert result.exit_code in (0, 1), (command, result.output)
        commits = [
            c
            for q in json.loads(run("changelog", "--format", "json", cwd=repo).stdout)["quarters"]
            for a in q["agreements"]
            for c in a["commits"]
        ]
        # first (a.yaml added), the planted commit (a.yaml changed, the odd file added), after
        # (a.yaml changed, the odd file gone: its tree holds only a.yaml): none dropped.
        assert len(commits) == 5, [c["subject"] for c in commits]
        assert sorted(c["kind"] for c in commits) == ["added", "added", "changed", "changed", "removed"]
        for commit in commits:
            for text in (commit["subject"], commit["author"], commit["path"]):
                assert "\n" not in text and "\x1b" not in text and "\u202e" not in text
