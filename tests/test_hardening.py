"""Hardening (issue 16): untrusted Git history, the file system, bounded work, an atomic
publish, and options validated like YAML. One regression test per class, through the real
CLI, on real Git repositories and real files.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_workflow import start_preview

from conftest import ROOT, git, run, run_process

MINIMAL = (ROOT / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
SECRET = "TOP-SECRET-TOKEN-0123456789"


def git_bytes(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    """git with bytes in and out (commit objects and tree entries are not text)."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    result = subprocess.run(["git", *args], cwd=repo, input=data, env=env, capture_output=True)
    assert result.returncode == 0, (args, result.stderr.decode(errors="replace"))
    return result.stdout


def plant(repo: Path, files: dict[bytes, tuple[bytes, bytes]], message: bytes, person: bytes) -> str:
    """A commit on top of HEAD whose tree is sla/ with `files` ({name: (mode, sha or content)}),
    written byte for byte (`git hash-object --literally`), so any author, date or subject can be
    planted. Returns the commit id; HEAD moves to it."""
    entries = b""
    for name, (mode, value) in sorted(files.items()):
        kind = b"commit" if mode == b"160000" else b"blob"
        sha = value if kind == b"commit" else git_bytes(repo, "hash-object", "-w", "--stdin", data=value).strip()
        entries += mode + b" " + kind + b" " + sha + b"\t" + name + b"\0"
    sla = git_bytes(repo, "mktree", "-z", "--missing", data=entries).strip()
    root = git_bytes(repo, "mktree", "-z", data=b"040000 tree " + sla + b"\tsla\0").strip()
    parent = git_bytes(repo, "rev-parse", "HEAD").strip()
    body = b"tree %s\nparent %s\nauthor %s\ncommitter %s\n\n%s\n" % (root, parent, person, person, message)
    sha = git_bytes(repo, "hash-object", "-t", "commit", "-w", "--literally", "--stdin", data=body).strip()
    git_bytes(repo, "update-ref", "HEAD", sha.decode())
    git_bytes(repo, "reset", "-q", "--hard")
    return sha.decode()


def first_commit(repo: Path) -> None:
    (repo / "sla").mkdir()
    (repo / "sla" / "a.yaml").write_text(MINIMAL)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")


def leads(n: int) -> bytes:
    return MINIMAL.replace("Deliver 10 qualified", f"Deliver {n} qualified").encode()


def changelog_commits(repo: Path) -> list[dict]:
    result = run("changelog", "--format", "json", cwd=repo)
    assert result.exit_code == 0, result.output
    quarters = json.loads(result.stdout)["quarters"]
    return [c for q in quarters for a in q["agreements"] for c in a["commits"]]


# -- Git history is untrusted input ------------------------------------------------------------------


def test_hostile_commit_metadata_is_read_cleaned_and_every_commit_listed(repo: Path) -> None:
    first_commit(repo)
    file = b"100644"
    plant(
        repo,
        {b"a.yaml": (file, leads(11))},
        b"Separators \x1e\x1f and \x1b[31mred\xe2\x80\xae",
        b"Ev\xffe <e@x> 1700000000 +2500",
    )
    plant(repo, {b"a.yaml": (file, leads(12))}, b"Year past 9999", b"F <f@x> 999999999999999 +0000")
    plant(repo, {b"a.yaml": (file, leads(13))}, b"Before 1970", b"N <n@x> -86400 -0130")
    plant(repo, {b"a.yaml": (file, leads(14))}, b"Garbage \xc3\x28 date", b"G <g@x> soon +99")

    commits = {c["subject"]: c for c in changelog_commits(repo)}
    # Every commit is listed with its change; nothing is dropped or merged into a neighbour.
    assert len(commits) == 5, list(commits)
    separators = commits["Separators \ufffd\ufffd and \ufffd[31mred\ufffd"]
    assert separators["author"] == "Ev\ufffde"  # invalid UTF-8 read leniently
    assert separators["date"] == "2023-11-14"  # a +2500 zone is read as UTC: 1700000000 is 22:13 UTC
    assert separators["note"] is None
    assert "Deliver 11 qualified" in json.dumps(separators["changes"])
    # -86400 s is 1969-12-31 00:00 UTC (22:30 the day before at -01:30); the changelog dates
    # commits in the agreement's own time zone, UTC here.
    assert commits["Before 1970"]["date"] == "1969-12-31"
    # A date Git cannot represent: listed, with its change, at the date of the commit before it.
    for subject, day in (("Year past 9999", "2023-11-14"), ("Garbage \ufffd( date", "1969-12-31")):
        assert "cannot represent" in commits[subject]["note"]
        assert commits[subject]["date"] == day
        assert commits[subject]["changes"]
    text = run("changelog", cwd=repo)
    assert text.exit_code == 0 and "\x1b" not in text.output and "\u202e" not in text.output
    assert "Note: this commit has a date Git cannot represent" in text.output


def test_gitlinks_symlinks_and_odd_file_names_in_history(repo: Path) -> None:
    first_commit(repo)
    head = git(repo, "rev-parse", "HEAD").strip().encode()
    files = {
        b"a.yaml": (b"100644", MINIMAL.encode()),
        b"sub.yaml": (b"160000", head),  # a submodule whose name ends in .yaml
        b"link.yaml": (b"120000", b"/etc/passwd"),  # a symbolic link: its 'content' is a path
        b"b\xff.yaml": (b"100644", MINIMAL.replace("id: minimal", "id: other").encode()),
        b"new\nline.yaml": (b"100644", MINIMAL.replace("id: minimal", "id: third").encode()),
    }
    plant(repo, files, b"odd names", b"P <p@x> 1700000100 +0000")
    (repo / "sla" / "link.yaml").unlink()  # in the work tree a link out is refused (tested below)
    commits = changelog_commits(repo)
    paths = sorted(c["path"] for c in commits)
    assert paths == ["sla/a.yaml", "sla/b\ufffd.yaml", "sla/new\ufffdline.yaml"]
    for command in (("diff", "HEAD~1", "HEAD"), ("status",), ("render", "sla", "--out", "dist"), ("changelog",)):
        result = run(*command, cwd=repo)
        assert result.exit_code == 0, (command, result.output)
        assert "sub.yaml" not in result.output and "link.yaml" not in result.output
    diff = run("diff", "HEAD~1", "HEAD", cwd=repo).output
    assert "sla/new\ufffdline.yaml: added" in diff and "line.yaml: added" not in diff.replace("new\ufffdline", "")
    # The page for the agreement whose file name is not UTF-8 was written, and names it cleanly.
    assert "b\ufffd.yaml" in (repo / "dist" / "other.html").read_text(encoding="utf-8")


def test_a_historical_revision_over_the_size_limit_is_listed_unread(repo: Path) -> None:
    first_commit(repo)
    plant(
        repo,
        {b"a.yaml": (b"100644", b"# " + b"x" * (1024 * 1024 + 10) + b"\n" + MINIMAL.encode())},
        b"huge",
        b"H <h@x> 1700000000 +0000",
    )
    commits = {c["subject"]: c for c in changelog_commits(repo)}
    assert commits["huge"]["kind"] == "broken"
    assert "limited to 1,048,576 bytes" in commits["huge"]["problems"][0]["message"]
    result = run("diff", "HEAD~1", "HEAD", cwd=repo)
    assert result.exit_code == 1 and "limited to 1,048,576 bytes" in result.output


def test_a_revision_range_gets_a_hint_and_a_path_matching_nothing_is_an_error(repo: Path) -> None:
    first_commit(repo)
    result = run_process("diff", "HEAD..HEAD", cwd=repo)
    assert result.returncode == 2
    assert "give the two revisions to compare separately, such as: slakit diff HEAD HEAD" in result.stderr
    result = run_process("diff", "sla/nothing.yaml", cwd=repo)
    assert result.returncode == 2 and "no agreements (*.yaml, *.yml) match 'sla/nothing.yaml'" in result.stderr


# -- The file system --------------------------------------------------------------------------------


def test_a_symlink_out_of_the_repository_is_refused_and_never_read(repo: Path, tmp_path: Path) -> None:
    first_commit(repo)
    secret = tmp_path / "secret.yaml"
    secret.write_text(f"{SECRET}\n")
    (repo / "sla" / "leak.yaml").symlink_to(secret)
    (repo / "sla" / "inside.yaml").symlink_to(repo / "sla" / "a.yaml")  # inside: fine, one agreement
    for command in (("validate", "sla"), ("render", "sla", "--out", "dist"), ("diff",), ("status",)):
        result = run_process(*command, cwd=repo)
        assert SECRET not in result.stdout + result.stderr, command
        assert "Traceback" not in result.stderr
    result = run_process("validate", "sla", "--format", "json", cwd=repo)
    problems = {f["path"]: f["problems"] for f in json.loads(result.stdout)["files"]}
    assert problems["sla/leak.yaml"][0]["message"].startswith("is a symbolic link to a file outside the repository")
    assert not (repo / "dist").exists()  # the build stopped on the refused file


def test_proc_and_fifos_are_refused_without_blocking(tmp_path: Path) -> None:
    sla = tmp_path / "sla"
    sla.mkdir()
    (sla / "a.yaml").write_text(MINIMAL)
    os.mkfifo(sla / "pipe.yaml")
    (sla / "env.yaml").symlink_to("/proc/self/environ")
    os.environ["SLAKIT_TEST_SECRET"] = SECRET
    try:
        result = run_process("validate", str(sla), cwd=tmp_path)  # a blocking open would time out here
    finally:
        del os.environ["SLAKIT_TEST_SECRET"]
    assert result.returncode == 1 and SECRET not in result.stdout
    assert f"{sla}/pipe.yaml:1:1: error[file]: is a FIFO (named pipe), not a file; it is not read" in result.stdout
    assert f"{sla}/env.yaml:1:1: error[file]: is in /proc (or a link into it)" in result.stdout


def test_a_quoted_value_is_cut_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(SECRET * 1000 + "\n")  # one huge plain scalar: the file "holds a single value"
    result = run("validate", str(path))
    assert result.exit_code == 1 and len(result.output) < 400, len(result.output)
    assert "the file holds the single value 'TOP-SECRET" in result.output and "...'" in result.output


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_file_names_with_newlines_or_bad_bytes_never_forge_output_lines(tmp_path: Path, fmt: str) -> None:
    sla = tmp_path / "sla"
    sla.mkdir()
    (sla / "x\nforged.yaml:1:1: error[fake]: forged.yaml").write_text("id: [\n")
    os.close(os.open(os.fsencode(sla) + b"/bad\xff.yaml", os.O_CREAT | os.O_WRONLY))
    result = run_process("validate", str(sla), "--format", fmt, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    if fmt == "json":
        paths = [f["path"] for f in json.loads(result.stdout)["files"]]
        assert f"{sla}/bad\ufffd.yaml" in paths
    lines = result.stdout.splitlines()
    assert not any(line.startswith("forged.yaml") for line in lines)
    if fmt != "json":
        assert len([line for line in lines if f"{sla}/" in line]) == 2, lines  # one line per problem


# -- Writes -------------------------------------------------------------------------------------------


def test_writes_never_follow_planted_links_and_clean_leftovers(tmp_path: Path) -> None:
    sla, out = tmp_path / "sla", tmp_path / "out"
    sla.mkdir()
    (sla / "a.yaml").write_text(MINIMAL)
    assert run("render", str(sla), "--out", str(out)).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (out / "minimal.html").unlink()
    (out / "minimal.html").symlink_to(victim)  # planted between two builds
    (sla / "a.yaml").write_text(MINIMAL.replace("version: 1", "version: 2"))
    assert run("render", str(sla), "--out", str(out)).exit_code == 0
    assert victim.read_text() == "keep me\n"
    assert not (out / "minimal.html").is_symlink() and "Minimal agreement" in (out / "minimal.html").read_text()
    # --out reports: a planted link is replaced, not written through; an old leftover is removed.
    report = tmp_path / "diff.md"
    report.symlink_to(victim)
    leftover = tmp_path / ".diff.md.abc123.slakit-tmp"
    leftover.write_text("half")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    result = run("diff", "--files", str(sla / "a.yaml"), str(sla / "a.yaml"), "--format", "md", "--out", str(report))
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me\n" and not report.is_symlink() and not leftover.exists()


def test_an_output_folder_that_holds_an_agreement_is_refused(repo: Path) -> None:
    """--out is swapped whole: never the agreements' own folder, one above it (also by a
    link), nor a folder an agreement links into."""
    sla = repo / "work" / "sla"
    sla.mkdir(parents=True)
    (sla / "a.yaml").write_text(MINIMAL)
    (repo / "alias").symlink_to(repo / "work")
    kept = repo / "kept"
    kept.mkdir()
    (kept / "b.yaml").write_text(MINIMAL.replace("id: minimal", "id: minimal-b", 1))
    (sla / "b.yaml").symlink_to(kept / "b.yaml")
    for out, holds in ((sla, "a.yaml"), (repo / "alias", "a.yaml"), (kept, "b.yaml")):
        result = run("render", str(sla), "--out", str(out), cwd=repo)
        assert result.exit_code == 2, (out, result.output)
        assert f"--out '{out}' holds the agreement '{sla / holds}'" in result.output
    result = run("render", str(sla), "--out", str(repo / "dist"), cwd=repo)
    assert result.exit_code == 0, result.output  # beside them is fine
    assert sorted(p.name for p in (repo / "dist").glob("minimal*.html")) == ["minimal-b.html", "minimal.html"]


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2 is Linux's")
def test_the_published_folder_is_swapped_in_one_step(tmp_path: Path) -> None:
    from slakit.world.publish import _exchange

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "page.html").write_text("new")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "page.html").write_text("old")
    assert _exchange(tmp_path / "new", tmp_path / "dist")
    assert (tmp_path / "dist" / "page.html").read_text() == "new"
    assert (tmp_path / "new" / "page.html").read_text() == "old"


def test_explicit_output_paths_that_cannot_be_written(tmp_path: Path) -> None:
    sla = tmp_path / "sla"
    sla.mkdir()
    (sla / "a.yaml").write_text(MINIMAL)
    os.mkfifo(tmp_path / "fifo.md")
    args = ("diff", "--files", str(sla / "a.yaml"), str(sla / "a.yaml"), "--format", "md", "--out")
    result = run_process(*args, str(tmp_path / "fifo.md"))  # never blocks on the FIFO
    assert result.returncode == 2 and "it is a FIFO (named pipe); give a file name for --out" in result.stderr
    result = run_process(*args, os.devnull)  # a device is written to, never replaced by a file
    assert result.returncode == 0 and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    result = run_process(*args, str(tmp_path / "missing" / "x.md"))
    assert result.returncode == 2 and f"the folder '{tmp_path}/missing' does not exist" in result.stderr
    result = run_process("render", str(sla), "--out", str(tmp_path))
    assert result.returncode == 2 and "publish to a folder of its own" in result.stderr
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        if not os.access(readonly, os.W_OK):  # (root writes anywhere: then there is nothing to refuse)
            result = run_process(*args, str(readonly / "x.md"))
            assert result.returncode == 2 and "Permission denied" in result.stderr
    finally:
        readonly.chmod(0o755)


# -- sign keeps the file's bytes and never loses a signature ----------------------------------------

SIGN = ("--role", "Head of Marketing", "--party", "marketing", "--date", "2026-11-01")


def test_sign_keeps_line_endings_bom_mode_and_links(tmp_path: Path) -> None:
    real = tmp_path / "store" / "a.yaml"
    real.parent.mkdir()
    real.write_bytes(b"\xef\xbb\xbf" + MINIMAL.replace("\n", "\r\n").encode())
    real.chmod(0o640)
    link = tmp_path / "a.yaml"
    link.symlink_to(real)
    result = run("sign", str(link), "--name", "Sam Lee", *SIGN)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    raw = real.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")
    assert b"    - name: Sam Lee\r\n      role: Head of Marketing\r\n" in raw
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in real.parent.iterdir()] == ["a.yaml"]  # no temporary file left


def test_two_signers_at_the_same_moment_both_land(tmp_path: Path) -> None:
    names = [f"Signer {chr(65 + i)}" for i in range(4)]
    # Only listed people sign: the four are members of marketing, in the role they sign in.
    members = "".join(f", {{name: {n}, email: s{i}@example.com, role: Head of Marketing}}" for i, n in enumerate(names))
    text = MINIMAL.replace("role: Head of Marketing}]", "role: Head of Marketing}" + members + "]", 1)
    path = tmp_path / "a.yaml"
    path.write_text(text)
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "sign", str(path), "--name", name, *SIGN],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    signed = path.read_text()
    for name in names:
        assert f"name: {name}\n" in signed, name


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--name", "Sam\nLee", "--name 'Sam\\nLee' is not accepted"),
        ("--role", "Head of\rMarketing", "--role 'Head of\\rMarketing' is not accepted"),
        ("--name", "   ", "--name must not be empty"),
    ],
)
def test_sign_options_are_checked_like_yaml_text(tmp_path: Path, option: str, value: str, expected: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(MINIMAL)
    args = {"--name": "Sam Lee", "--role": "Head of Marketing", option: value}
    result = run_process("sign", str(path), "--name", args["--name"], "--role", args["--role"], "--date", "2026-11-01")
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert path.read_text() == MINIMAL


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--timezone", "Europe/Londn"), "'Europe/Londn' is not an IANA time zone (did you mean 'Europe/London'?)"),
        (("--timezone", "../../etc/passwd"), "is not an IANA time zone"),
        (("--title", "Two\nlines"), "--title 'Two\\nlines' is not accepted"),
        (("--title", " "), "--title ' ' is not accepted"),
    ],
)
def test_new_never_writes_a_file_that_fails_validation(tmp_path: Path, args: tuple[str, str], expected: str) -> None:
    (tmp_path / "sla").mkdir()
    result = run_process("new", "lead-management", "acme", *args, cwd=tmp_path)
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert list((tmp_path / "sla").iterdir()) == []


# -- ids --------------------------------------------------------------------------------------------


def test_an_id_or_slug_ending_in_a_newline_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        MINIMAL.replace("id: minimal", 'id: "minimal\\n"').replace("- id: marketing\n", '- id: "marketing\\n"\n')
    )
    result = run("validate", "--format", "json", str(path))
    messages = [p["message"] for p in json.loads(result.stdout)["files"][0]["problems"]]
    assert any(m.startswith("id: the text 'minimal\\n' is not an id") for m in messages), messages
    assert any(m.startswith("parties[marketing\\n].id: the text 'marketing\\n' is not") for m in messages), messages
    assert all("\n" not in m for m in messages), messages  # an id never starts a line of its own


@pytest.mark.parametrize("ident", ["index", "changelog", "scorecard"])
def test_an_id_cannot_overwrite_a_toolkit_page(tmp_path: Path, ident: str) -> None:
    sla = tmp_path / "sla"
    sla.mkdir()
    (sla / "a.yaml").write_text(MINIMAL.replace("id: minimal", f"id: {ident}"))
    result = run_process("render", str(sla), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert f"{sla}/a.yaml:3:5: error[id]: the id '{ident}' is the name of a page the toolkit publishes" in result.stdout


# -- bounded work ----------------------------------------------------------------------------------


def test_dangling_reference_messages_name_a_few_ids_not_all(tmp_path: Path) -> None:
    parties = "".join(f"  - {{id: team-{i}, name: T{i}}}\n" for i in range(500))
    text = MINIMAL.replace("parties:\n", "parties:\n" + parties).replace(
        "party: marketing\n    title", "party: ghost\n    title"
    )
    path = tmp_path / "a.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    line = next(line for line in result.output.splitlines() if "error[ref]" in line)
    # 500 teams, marketing and sales are known: the message names 10 of them and counts the rest.
    assert line.endswith(
        "there is no party with id 'ghost'; known ids: "
        "team-0, team-1, team-2, team-3, team-4, team-5, team-6, team-7, team-8, team-9 and 492 more"
    ), line


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "count: 10",
            "count: " + "9" * 4000,
            "25:14: error[schema]: commitments[mql-volume].lead_volume.count: a number of 4,000 digits is above the maximum",
        ),
        ("count: 10", "count: " + "9" * 5000, "25:14: error[yaml]: a whole number of 5,000 digits is too long to read"),
        (
            "  last_review: 2026-01-01\n  next_review: 2027-01-01\n",
            "  last_review: 9999-12-01\n",
            "11:16: error[dates]: term.last_review: 9999-12-01 is outside the years 1900 to 2199; check the year",
        ),
    ],
)
def test_overflowing_figures_are_located_errors(tmp_path: Path, old: str, new: str, expected: str) -> None:
    sla = tmp_path / "sla"
    sla.mkdir()
    (sla / "a.yaml").write_text(MINIMAL.replace(old, new))
    for command in ("validate", "render"):
        result = (
            run_process(command, str(sla), "--out", str(tmp_path / "out"))
            if command == "render"
            else run_process(command, str(sla))
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"{sla}/a.yaml:{expected}" in result.stdout, result.stdout


def test_an_amount_of_1e30_is_located_not_a_traceback(tmp_path: Path) -> None:
    text = (ROOT / "sla" / "company-a-lead-management.yaml").read_text()
    assert "annual: {amount: 10000000, currency: USD}" in text
    path = tmp_path / "a.yaml"
    path.write_text(text.replace("annual: {amount: 10000000, currency: USD}", "annual: {amount: 1e30, currency: USD}"))
    result = run_process("validate", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "amount: the number 1e+30 is above the maximum of 1,000,000,000,000,000" in result.stdout


# -- a publish that is all or nothing -----------------------------------------------------------------


MARK = b"<!-- new pages -->"


def new_pages(tmp_path: Path) -> Path:
    """A templates folder whose agreement page differs from the built-in one by a comment."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    page = (ROOT / "templates" / "agreement.html.j2").read_text()
    (folder / "agreement.html.j2").write_text(page.replace("<body>", "<body>\n" + MARK.decode(), 1))
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_a_build_failing_half_way_through_writing_leaves_dist_as_it_was(tmp_path: Path) -> None:
    sla, out = tmp_path / "sla", tmp_path / "out"
    shutil.copytree(ROOT / "sla", sla)
    assert run_process("render", str(sla), "--out", str(out)).returncode == 0
    before = snapshot(out)
    templates = new_pages(tmp_path)  # every page changes, so the build writes many files

    def disk_nearly_full() -> None:  # writes past 9,000 bytes fail, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (9000, 9000))

    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "render", str(sla), "--out", str(out), "--templates", str(templates)],
        capture_output=True,
        text=True,
        preexec_fn=disk_nearly_full,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot write to the output folder" in result.stderr and "the folder was left as it was" in result.stderr
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sla", "tpl"]  # no staging folder left


def test_a_killed_build_leaves_dist_whole_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    sla, out = tmp_path / "sla", tmp_path / "out"
    shutil.copytree(ROOT / "sla", sla)
    assert run_process("render", str(sla), "--out", str(out)).returncode == 0
    old = snapshot(out)
    templates = new_pages(tmp_path)
    command = [
        sys.executable,
        str(ROOT / "cli.py"),
        "render",
        str(sla),
        "--out",
        str(out),
        "--templates",
        str(templates),
    ]
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen(command)
        time.sleep(delay)  # kill it wherever it is: whatever the moment, dist/ is one version
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = snapshot(out)
        assert now == old or all(MARK in now[n][0] for n in now if n.endswith(".html") and n != "index.html")
        manifest = json.loads(now[".slakit-build.json"][0])
        assert sorted(manifest["outputs"]) == sorted(n for n in now if not n.startswith("."))
    assert subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sla", "tpl"]
    assert all(MARK in p.read_bytes() for p in out.glob("*.html") if p.name != "index.html")


# -- the preview -----------------------------------------------------------------------------------


def test_preview_checks_host_hides_the_manifest_and_drops_idle_connections(tmp_path: Path) -> None:
    proc, url = start_preview(tmp_path)
    try:
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        def get(path: str, host: str) -> int:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return int(exc.code)

        assert get("/", f"127.0.0.1:{port}") == 200 and get("/", f"localhost:{port}") == 200
        assert get("/", f"evil.example:{port}") == 421  # DNS rebinding
        assert get("/.slakit-build.json", f"127.0.0.1:{port}") == 404
        assert get("/%2eslakit-build.json", f"127.0.0.1:{port}") == 404
        # An idle connection is closed by the server (it does not hold a thread for ever).
        idle = socket.create_connection(("127.0.0.1", port))
        idle.settimeout(60)
        assert idle.recv(1) == b""
        idle.close()
        assert proc.poll() is None and get("/", f"127.0.0.1:{port}") == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_workflow_passes_the_base_branch_through_the_environment() -> None:
    workflow = (ROOT / ".github" / "workflows" / "sla.yml").read_text()
    assert "${{ github.base_ref }}" not in "".join(line for line in workflow.splitlines() if "run:" in line)
    assert "BASE_REF: ${{ github.base_ref }}" in workflow and 'diff "origin/$BASE_REF"' in workflow


def test_a_redline_of_a_thousand_changed_definitions_marks_each_change(tmp_path: Path) -> None:
    """The word-by-word redline falls back to a line alignment on large sections (it took
    71 s for this case); the result still marks exactly the words that changed."""

    def agreement(word: str) -> str:
        definitions = "".join(
            f"  - id: term-{i}\n    term: Term number {i}\n    meaning: Term {i} is {word} words long, part {i}.\n"
            for i in range(1000)
        )
        return MINIMAL.replace("parties:\n", "definitions:\n" + definitions + "parties:\n")

    (tmp_path / "old.yaml").write_text(agreement("twenty"))
    (tmp_path / "new.yaml").write_text(agreement("thirty"))
    out = tmp_path / "diff.md"
    result = run(
        "diff", "--files", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--format", "md", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    redline = text[text.index("**Term number 0.**") :]
    assert redline.count("<del>twenty</del><ins>thirty</ins>") == 1000
    assert "**Term number 999.** Term 999 is <del>twenty</del><ins>thirty</ins> words long, part 999." in redline


def test_a_forbidden_character_after_accented_text_is_located_by_character(tmp_path: Path) -> None:
    # libyaml reports the offset in bytes; "é" is two bytes but one column: "title: Résumé " is
    # 14 characters (18 bytes), so the character is in column 15.
    path = tmp_path / "a.yaml"
    path.write_bytes("id: x\ntitle: Résumé \x01\n".encode())
    result = run("validate", str(path))
    assert result.output.startswith(f"{path}:2:15: error[yaml]: the character U+0001 is not allowed in YAML")
