"""What makes the changelog fast gives what the long way gives.

Its cache (.git/slakit-changelog-cache.json.z) through the real CLI, on real repositories: a
later run gives the same bytes without reading a blob, new commits are worked out afresh, and
a cache that is stale, corrupt, shared by runs at once, or cannot be written changes nothing
but the time taken. Its JSON writer against json.dumps. No timings here: `make bench` measures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import test_changelog
from hypothesis import given, settings
from hypothesis import strategies as st
from test_changelog import A, commit, edit

from conftest import ROOT, git, run, run_process
from slakit.comparing import history_cache
from slakit.output.changelog import indented_json

CACHE = Path(".git") / "slakit-changelog-cache.json.z"
FORMATS = ("json", "md", "text")
history = test_changelog.history  # the fixture: five quarters of dated history


def outputs(repo: Path, *extra: str) -> dict[str, str]:
    """The changelog in every format (a cached run unless --no-cache is among `extra`)."""
    out = {}
    for fmt in FORMATS:
        result = run("changelog", "--format", fmt, *extra, cwd=repo)
        assert result.exit_code == 0, result.output
        out[fmt] = result.output
    return out


def stored(repo: Path) -> dict:
    return json.loads(zlib.decompress((repo / CACHE).read_bytes()))


def store(repo: Path, data: object) -> None:
    (repo / CACHE).write_bytes(zlib.compress(json.dumps(data).encode()))


def blobs(repo: Path) -> list[str]:
    listed = git(repo, "rev-list", "--objects", "--all")
    shas = "\n".join(line.split()[0] for line in listed.splitlines()) + "\n"
    checked = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objecttype) %(objectname)"],
        cwd=repo,
        input=shas,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split()[1] for line in checked.splitlines() if line.startswith("blob ")]


def test_a_later_run_gives_the_same_bytes_without_reading_a_blob(history: Path) -> None:
    fresh = outputs(history, "--no-cache")
    assert not (history / CACHE).exists()  # --no-cache writes nothing
    assert outputs(history) == fresh  # the first run writes the cache
    assert (history / CACHE).is_file()
    # Every blob is removed from the repository: only the cache can know what they held.
    for sha in blobs(history):
        (history / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
    assert outputs(history) == fresh
    # Without the cache the same history cannot be read any more: the blobs are really gone.
    gone = json.loads(run("changelog", "--format", "json", "--no-cache", cwd=history).output)
    kinds = {c["kind"] for q in gone["quarters"] for a in q["agreements"] for c in a["commits"]}
    assert kinds == {"broken"}


def test_commits_after_a_cached_run_are_worked_out_afresh(history: Path) -> None:
    outputs(history)
    # Later history of every kind: a change, a broken revision and its fix, a rename with a
    # change, a removal, an agreement whose id changes, and a new agreement.
    edit(history, A, "count: 305", "count: 280")
    commit(history, "Fewer MQLs (#40)", "2026-10-05T10:00:00+00:00")
    edit(history, "sla/social.yaml", "version: 6", "version: [7")
    commit(history, "Broken", "2026-10-06T10:00:00+00:00")
    edit(history, "sla/social.yaml", "version: [7", "version: 7")
    commit(history, "Fixed", "2026-10-07T10:00:00+00:00")
    git(history, "mv", A, "sla/company-a.yaml")
    edit(history, "sla/company-a.yaml", "count: 280", "count: 290")
    commit(history, "Rename and change", "2026-10-08T10:00:00+00:00")
    shutil.copy(ROOT / "sla" / "two-way-street.yaml", history / "sla" / "two-way.yaml")
    commit(history, "Add two-way", "2026-10-09T10:00:00+00:00")
    text = (history / "sla" / "social.yaml").read_text()
    ident = next(line for line in text.splitlines() if line.startswith("id: "))
    edit(history, "sla/social.yaml", ident, ident + "-v2")
    commit(history, "New id", "2026-10-10T10:00:00+00:00")
    (history / "sla" / "two-way.yaml").unlink()
    commit(history, "Drop two-way", "2026-10-11T10:00:00+00:00")
    cached = outputs(history)
    assert cached == outputs(history, "--no-cache")
    assert outputs(history) == cached  # and again, now from the cache alone
    data = json.loads(cached["json"])
    kinds = {c["kind"] for q in data["quarters"] for a in q["agreements"] for c in a["commits"]}
    assert {"added", "changed", "renamed", "removed", "broken", "no-change"} <= kinds
    # Narrower runs read through the same cache and agree with their own fresh runs.
    for args in (("--since", "HEAD~4"), ("--terms-only",), ("--quarter", "2026-Q2"), ("sla/social.yaml",)):
        result = run("changelog", "--format", "json", *args, cwd=history)
        assert result.output == run("changelog", "--format", "json", "--no-cache", *args, cwd=history).output


def test_the_cache_is_only_used_by_the_engine_that_wrote_it(history: Path) -> None:
    fresh = outputs(history)
    data = stored(history)
    for record in data["comparisons"].values():
        for row in record[0]:
            row[1] = "TAMPERED " + row[1]  # the label of each change
    store(history, data)
    # Same engine: the stored comparisons are used as they are (this is how we know they are read).
    assert "TAMPERED" in run("changelog", "--format", "md", cwd=history).output
    # Another engine (a different slakit or schema): nothing stored is used, and the file is rewritten.
    data["engine"] = "0" * 64
    store(history, data)
    assert outputs(history) == fresh
    assert stored(history)["engine"] == history_cache.engine()
    assert "TAMPERED" not in json.dumps(stored(history))


def corruptions(good: dict) -> list[bytes]:
    def packed(value: object) -> bytes:
        return zlib.compress(json.dumps(value).encode())

    def each_record(junk: object) -> dict:
        bad = json.loads(json.dumps(good))
        for table in ("revisions", "comparisons", "tips"):
            bad[table] = {key: junk for key in bad[table]}
        return bad

    raw = packed(good)
    return [
        b"",
        b"not compressed at all",
        raw[: len(raw) // 2],  # cut short
        raw[:40] + bytes(b ^ 0xFF for b in raw[40:80]) + raw[80:],  # bytes flipped
        zlib.compress(b"\xff\xfe not JSON"),
        packed([1, 2, 3]),
        packed({"engine": good["engine"]}),
        packed({"engine": good["engine"], "revisions": [], "comparisons": 1, "tips": None}),
        packed(each_record(None)),
        packed(each_record(["ok", 1, 2])),
        packed(each_record(["ok", "id", "title", "UTC", "not a date"])),
        packed(each_record(["ok", "id", "title", "UTC", 20260101])),
        packed(each_record(["broken", [[1]]])),
        packed(each_record([[["x", None, 3]], "notes"])),
        packed(each_record([[[[{}], "label", "changed", 1, 2, None, None]], []])),
        packed(each_record({"id": 5})),
        packed(each_record("")),
        b"[" * 100_000,
    ]


def test_a_corrupt_cache_is_ignored_and_replaced(history: Path) -> None:
    fresh = outputs(history, "--no-cache")
    outputs(history)
    good = stored(history)
    for content in corruptions(good):
        (history / CACHE).write_bytes(content)
        assert outputs(history) == fresh, content[:60]
        assert stored(history)["engine"] == good["engine"]  # rewritten, whole


def test_a_cache_that_is_not_a_file_is_neither_read_nor_written(history: Path) -> None:
    fresh = outputs(history, "--no-cache")
    (history / CACHE).mkdir()  # a folder where the file should be: cannot be replaced
    assert outputs(history) == fresh
    assert (history / CACHE).is_dir()
    (history / CACHE).rmdir()
    os.mkfifo(history / CACHE)  # a FIFO: opening it to read would wait forever
    result = run_process("changelog", "--format", "json", cwd=history)  # times out if it waits
    assert result.returncode == 0 and result.stdout == fresh["json"] and not result.stderr
    assert (history / CACHE).is_fifo()  # left alone, as anything not a regular file is


def test_runs_at_once_each_leave_a_whole_cache(history: Path) -> None:
    fresh = outputs(history, "--no-cache")
    command = [sys.executable, str(ROOT / "cli.py"), "changelog", "--format", "json"]
    for _ in range(2):
        runs = [
            subprocess.Popen(command, cwd=history, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
        ]
        for proc in runs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert out.decode() == fresh["json"] and not err
        assert stored(history)["engine"] == history_cache.engine()
        assert outputs(history) == fresh
        assert not [p.name for p in (history / ".git").iterdir() if p.name.startswith(f".{CACHE.name}.")]


def test_a_read_only_git_folder_only_costs_time(history: Path) -> None:
    fresh = outputs(history, "--no-cache")
    (history / ".git" / history_cache.OLD_NAME).write_bytes(b"stale")
    command = [sys.executable, str(ROOT / "cli.py"), "changelog", "--format", "json"]
    if os.geteuid() == 0:  # root writes anywhere: mount the folder read-only in a private namespace
        if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
            pytest.skip("a read-only mount needs unshare")
        script = 'mount --bind -o ro .git .git && exec "$@"'
        command = ["unshare", "-m", "sh", "-c", script, "sh", *command]
        result = subprocess.run(command, cwd=history, capture_output=True, text=True, timeout=120)
    else:
        os.chmod(history / ".git", 0o555)
        try:
            result = subprocess.run(command, cwd=history, capture_output=True, text=True, timeout=120)
        finally:
            os.chmod(history / ".git", 0o755)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == fresh["json"]
    assert not (history / CACHE).exists()
    assert (history / ".git" / history_cache.OLD_NAME).exists()  # could not be deleted either
    # Writable again: the stale file of the earlier cache is deleted, the new one written.
    assert outputs(history) == fresh
    assert not (history / ".git" / history_cache.OLD_NAME).exists()
    assert (history / CACHE).is_file()


def test_the_cache_is_bounded(history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = outputs(history, "--no-cache")
    monkeypatch.setattr(history_cache, "MAX_ENTRIES", 4)
    assert outputs(history) == fresh
    data = stored(history)
    assert len(data["revisions"]) + len(data["comparisons"]) == 4
    assert outputs(history) == fresh  # a partial cache: the rest is worked out again
    # A file that would decompress beyond the bound (a small file can expand a thousandfold)
    # is not read; a tampered one that says so is replaced by one this run can vouch for.
    monkeypatch.setattr(history_cache, "MAX_ENTRIES", 200_000)
    outputs(history)
    whole = (history / CACHE).read_bytes()
    data = stored(history)
    for record in data["comparisons"].values():
        for row in record[0]:
            row[1] = "TAMPERED " + row[1]
    store(history, data)
    monkeypatch.setattr(history_cache, "MAX_TEXT", len(zlib.decompress(whole)) - 1)
    assert "TAMPERED" not in run("changelog", "--format", "md", cwd=history).output
    monkeypatch.setattr(history_cache, "MAX_FILE", 10)  # no file this large is read or written
    (history / CACHE).unlink()
    assert outputs(history) == fresh
    assert not (history / CACHE).exists()


def test_the_cache_holds_plain_data_from_commits_only(history: Path) -> None:
    """Only what committed revisions hold: never the working tree, never a path on this machine."""
    edit(history, A, "title: ", "title: Uncommitted-Qzx ")  # in the working tree only
    outputs(history)
    text = json.dumps(stored(history))
    assert "Qzx" not in text
    assert str(history) not in text and str(ROOT) not in text
    assert set(stored(history)) == {"engine", "revisions", "comparisons", "tips"}


class Text(str):
    pass


class Whole(int):
    pass


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.dates(),
    st.decimals(allow_nan=False),
    st.builds(Text, st.text()),
    st.builds(Whole, st.integers()),
)
KEYS = st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner), st.tuples(inner, inner), st.dictionaries(KEYS, inner)),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_json_writer_writes_what_json_dumps_writes(value: object) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False, default=str)


def test_the_json_writer_on_a_real_changelog(history: Path) -> None:
    data = json.loads(run("changelog", "--format", "json", cwd=history).output)
    assert indented_json(data) + "\n" == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
