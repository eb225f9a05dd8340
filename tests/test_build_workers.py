"""A build of many agreements checks, models and renders them in worker processes (each
agreement wholly in one worker); what it publishes and reports is what a build of the same
agreements a few at a time (in this process) gives. Real CLI, real files, real processes.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run, run_process
from slakit.commands.build import PARALLEL_FROM

EXAMPLES = sorted((ROOT / "sla").glob("*.yaml"))
MANY = PARALLEL_FROM + 6  # enough for worker processes (the build starts them from PARALLEL_FROM on)


def agreements(folder: Path, count: int, start: int = 0) -> list[Path]:
    """`count` copies of the examples, each with an id of its own (copy-NN-<example id>)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(start, start + count):
        source = EXAMPLES[n % len(EXAMPLES)]
        text = re.sub(r"^id: (.+)$", rf"id: copy-{n:02d}-\1", source.read_text(), count=1, flags=re.MULTILINE)
        target = folder / f"copy-{n:02d}-{source.name}"
        target.write_text(text)
        made.append(target)
    return made


def pages(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("copy-*")) if p.suffix in (".md", ".html")}


def test_many_agreements_publish_what_few_at_a_time_publish(tmp_path: Path) -> None:
    agreements(tmp_path / "sla", MANY)
    built = run_process("render", "sla", "--out", "dist", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert f"{MANY} rendered" in built.stdout

    # The same agreements, in groups small enough to be built in this process.
    expected: dict[str, bytes] = {}
    for group in range(0, MANY, PARALLEL_FROM - 1):
        folder = tmp_path / f"group-{group}"
        agreements(folder / "sla", min(PARALLEL_FROM - 1, MANY - group), start=group)
        result = run("render", "sla", "--out", "dist", cwd=folder)
        assert result.exit_code == 0, result.output
        expected.update(pages(folder / "dist"))
    assert len(expected) == 2 * MANY
    # The pages name their source relative to the folder built from: the same in both builds.
    assert pages(tmp_path / "dist") == expected


def test_an_error_in_one_of_many_stops_the_build_cleanly(tmp_path: Path) -> None:
    made = agreements(tmp_path / "sla", MANY)
    first = run_process("render", "sla", "--out", "dist", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (tmp_path / "dist").iterdir() if p.is_file()}
    broken = made[MANY // 2]
    lines = broken.read_text().splitlines()
    status = next(i for i, line in enumerate(lines) if line.startswith("status:"))
    lines[status] = "status: pending"
    broken.write_text("\n".join(lines) + "\n")

    result = run_process("render", "sla", "--out", "dist", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert f"sla/{broken.name}:{status + 1}:9: error[schema]:" in result.stdout + result.stderr
    assert "the build stopped: 1 error;" in result.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "dist").iterdir() if p.is_file()}
    assert after == before  # nothing published


def test_a_reused_id_is_reported_against_the_later_file_across_workers(tmp_path: Path) -> None:
    made = agreements(tmp_path / "sla", MANY)
    first, last = made[0], made[-1]  # checked in different workers' batches
    ident = re.search(r"^id: (.+)$", first.read_text(), re.MULTILINE).group(1)  # type: ignore[union-attr]
    text = last.read_text()
    line = text[: text.index("\nid: ")].count("\n") + 2
    last.write_text(re.sub(r"^id: .+$", f"id: {ident}", text, count=1, flags=re.MULTILINE))

    result = run_process("render", "sla", "--out", "dist", "--strict", cwd=tmp_path)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert f"sla/{last.name}:{line}:5: error[unique]: agreement id '{ident}' is also used by sla/{first.name}" in output
    assert f"sla/{first.name}:" not in output.replace(f"used by sla/{first.name}", "")
    assert not (tmp_path / "dist").exists()


def test_files_that_are_not_agreements_are_refused_by_the_workers_too(tmp_path: Path) -> None:
    """A fresh build leaves reading each file to the worker that checks it: a FIFO and a link
    out of the folder are refused there, as the build refuses them itself when it has pages
    to compare them with, and nothing is published."""
    repo = tmp_path / "repo"
    made = agreements(repo / "sla", MANY)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")

    def refused(link: Path, pipe: Path) -> None:
        link.symlink_to(secret)
        os.mkfifo(pipe)
        result = run_process("render", "sla", "--out", "dist", cwd=repo)  # a blocking open would time out
        assert result.returncode == 1
        output = result.stdout + result.stderr
        assert "Traceback" not in output and "hunter2" not in output
        assert [line for line in output.splitlines() if "error[file]" in line] == [
            f"sla/{link.name}:1:1: error[file]: is a symbolic link to a file outside the repository; "
            "it is not read (copy the file in instead)",
            f"sla/{pipe.name}:1:1: error[file]: is a FIFO (named pipe), not a file; it is not read",
        ]
        assert re.search(rf"^{MANY} agreements checked: 2 errors, \d+ warnings \(2 invalid\)$", output, re.MULTILINE)

    made[3].rename(repo / "kept.yaml")
    made[5].rename(repo / "kept-too.yaml")
    refused(made[3], made[5])  # nothing built yet: read in the workers
    assert not (repo / "dist").exists()
    made[3].unlink()
    made[5].unlink()
    (repo / "kept.yaml").rename(made[3])
    (repo / "kept-too.yaml").rename(made[5])
    assert run_process("render", "sla", "--out", "dist", cwd=repo).returncode == 0
    before = {p.name: p.read_bytes() for p in (repo / "dist").iterdir()}
    made[3].unlink()
    made[5].unlink()
    refused(made[3], made[5])  # now with pages to compare with: read before the workers start
    assert {p.name: p.read_bytes() for p in (repo / "dist").iterdir()} == before


def test_unchanged_sources_are_not_rendered_again(tmp_path: Path) -> None:
    agreements(tmp_path / "sla", MANY)
    assert run_process("render", "sla", "--out", "dist", cwd=tmp_path).returncode == 0
    again = run_process("render", "sla", "--out", "dist", cwd=tmp_path)
    assert again.returncode == 0
    assert f"0 rendered, {MANY} unchanged; 0 files written" in again.stdout
    shutil.rmtree(tmp_path / "dist")
    fresh = run_process("render", "sla", "--out", "dist", cwd=tmp_path)
    assert f"{MANY} rendered, 0 unchanged" in fresh.stdout


def test_the_index_is_made_again_only_when_what_it_shows_changed(tmp_path: Path) -> None:
    copies = agreements(tmp_path / "sla", 3)
    assert run("render", "sla", "--out", "dist", cwd=tmp_path).exit_code == 0
    index = tmp_path / "dist" / "index.html"
    first, stamp = index.read_bytes(), index.stat().st_mtime_ns

    again = run("render", "sla", "--out", "dist", cwd=tmp_path)
    assert "0 files written" in again.output
    assert index.read_bytes() == first and index.stat().st_mtime_ns == stamp

    index.unlink()  # gone: made again, the same
    again = run("render", "sla", "--out", "dist", cwd=tmp_path)
    assert again.output.splitlines()[-1] == "0 rendered, 3 unchanged; 1 file written, 0 removed in dist/"
    assert index.read_bytes() == first

    text = copies[0].read_text()
    copies[0].write_text(re.sub(r"^title: .*$", "title: A title the index must show", text, count=1, flags=re.M))
    assert run("render", "sla", "--out", "dist", cwd=tmp_path).exit_code == 0
    assert "A title the index must show" in index.read_text()
    assert "A title the index must show" in (tmp_path / "dist" / "index.md").read_text()

    agreements(tmp_path / "sla", 1, start=3)  # a fourth agreement
    assert run("render", "sla", "--out", "dist", cwd=tmp_path).exit_code == 0
    assert "copy-03-" in index.read_text()
    assert "4 agreements" in (tmp_path / "dist" / "index.md").read_text()


def test_a_failed_build_leaves_no_folder_it_made_for_its_output(tmp_path: Path) -> None:
    copies = agreements(tmp_path / "sla", MANY)
    copies[-1].write_text(copies[-1].read_text().replace("status: ", "status: bogus-", 1))
    result = run_process("render", "sla", "--out", "new/site/dist", cwd=tmp_path)
    assert result.returncode == 1 and "nothing in the output folder was changed" in result.stderr
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["sla"]  # no stage left beside it either


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("command", ["render", "validate"])
def test_workers_end_when_the_build_is_killed(tmp_path: Path, command: str) -> None:
    """kill -9 of the command (a CI time limit, the out-of-memory killer): its workers would
    wait for work forever, holding its output open, and whatever ran it would wait too."""
    agreements(tmp_path / "sla", 200)
    args = [sys.executable, str(ROOT / "cli.py"), command, "sla"] + (["--out", "dist"] if command == "render" else [])
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.01)
    assert len(workers) >= 2, "the command ended before its workers could be seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # returns only once no process holds its output open
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() and "Z" not in _state(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.parametrize("count, workers", [(1, 2), (7, 2), (31, 2), (1000, 2), (1000, 8), (50, 3)])
def test_batches_cover_every_item_once_and_shrink(count: int, workers: int) -> None:
    from slakit.world.workers import shrinking_batches

    spans = shrinking_batches(count, workers)
    assert [i for start, end in spans for i in range(start, end)] == list(range(count))
    sizes = [end - start for start, end in spans]
    assert all(a >= b for a, b in itertools.pairwise(sizes[:-1]))  # never growing (the very last is what is left)
    assert sizes[-1] <= 8  # the workers end on small batches, not on one long one
    if count >= 1000:
        assert sizes[0] == -(-count // (workers * 3))  # a third of a worker's share first
        assert len(spans) < count // 10  # not one round trip per file


def test_the_changelog_made_while_the_workers_run_is_the_changelog(tmp_path: Path) -> None:
    """The build makes the changelog beside its workers: it is what `slakit changelog` says,
    and it counts the one change made after the first commit."""
    repo = tmp_path / "repo"
    made = agreements(repo / "sla", MANY)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    company = next(p for p in made if "company-a" in p.name)
    for day, subject in (("2026-01-10", "Add the agreements"), ("2026-02-10", "Faster follow-up (#12)")):
        if day == "2026-02-10":
            text = company.read_text()
            assert "response_time: 1 business hour\n" in text
            company.write_text(text.replace("response_time: 1 business hour\n", "response_time: 0.5 business hours\n"))
        dated = {**env, "GIT_AUTHOR_DATE": f"{day}T10:00:00+00:00", "GIT_COMMITTER_DATE": f"{day}T10:00:00+00:00"}
        subprocess.run(["git", "add", "."], cwd=repo, env=dated, check=True)
        subprocess.run(["git", "commit", "-q", "-m", subject], cwd=repo, env=dated, check=True)

    built = run_process("render", "sla", "--out", "dist", cwd=repo)
    assert built.returncode == 0, built.stderr
    changelog = (repo / "dist" / "changelog.md").read_text()
    assert changelog == run_process("changelog", cwd=repo).stdout
    quarter = changelog.split("## 2026-Q1 (Jan-Mar 2026)\n")[1].split("\n## ")[0]
    assert quarter.count(": 1 change, 1 stricter, 0 looser") == 1
    assert "#### 10 February 2026: Faster follow-up (#12)" in changelog.split(f"(`sla/{company.name}`)")[1]
    assert '<a href="changelog.html">the changelog</a>' in (repo / "dist" / "index.html").read_text()
