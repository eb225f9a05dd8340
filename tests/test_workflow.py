"""The pull-request workflow: scaffolding, live preview, pre-commit, the GitHub workflow, CLI polish."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import ROOT, git, run, run_process

KINDS = ["lead-management", "social-selling", "buyer-journey-handoff"]


@pytest.mark.parametrize("kind", KINDS)
def test_new_agreement_is_valid_as_written(tmp_path: Path, kind: str) -> None:
    (tmp_path / "sla").mkdir()
    result = run(
        "new", kind, "acme-2027", "--title", 'Acme "2027": the plan', "--timezone", "America/Chicago", cwd=tmp_path
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created sla/acme-2027.yaml: edit it, then run `slakit validate`\n")
    text = (tmp_path / "sla" / "acme-2027.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schema/sla.schema.json\n")
    assert text.count("# ---") >= 5  # sections the editor is guided through
    data = json.loads(run("validate", "--format", "json", "sla", cwd=tmp_path).output)
    problems = data["files"][0]["problems"]
    assert [p for p in problems if p["severity"] == "error"] == []
    assert {p["rule"] for p in problems} <= {"signoff"}  # a draft waits for its signatures
    assert run("render", "sla", "--out", "out", cwd=tmp_path).exit_code == 0
    assert 'Acme "2027": the plan' in (tmp_path / "out" / "acme-2027.md").read_text()


def test_new_refuses_to_overwrite_and_bad_ids(tmp_path: Path) -> None:
    (tmp_path / "sla").mkdir()
    run("new", "social-selling", "team", cwd=tmp_path)
    before = (tmp_path / "sla" / "team.yaml").read_bytes()
    result = run_process("new", "lead-management", "team", cwd=tmp_path)
    assert result.returncode == 2 and "sla/team.yaml already exists" in result.stderr
    assert (tmp_path / "sla" / "team.yaml").read_bytes() == before
    for bad in ("../escape", "a/b", "Team", "two words", "..", "a..b", "-x"):
        result = run_process("new", "lead-management", bad, cwd=tmp_path)
        assert result.returncode == 2, bad
        assert "is not a valid agreement id" in result.stderr or "No such option" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*.yaml")) == ["team.yaml"]
    assert run_process("new", "partnership", "x", cwd=tmp_path).returncode == 2


def test_new_refuses_an_id_another_file_already_has(tmp_path: Path) -> None:
    """A renamed file keeps its id: `new` with that id would write a second agreement
    publishing to the same page, which fails `validate` at once."""
    (tmp_path / "sla").mkdir()
    assert run("new", "lead-management", "acme-2027", cwd=tmp_path).exit_code == 0
    (tmp_path / "sla" / "acme-2027.yaml").rename(tmp_path / "sla" / "acme-lead-management.yaml")
    result = run_process("new", "social-selling", "acme-2027", cwd=tmp_path)
    assert result.returncode == 2
    assert "agreement id 'acme-2027' is already used by sla/acme-lead-management.yaml" in result.stderr
    assert sorted(p.name for p in (tmp_path / "sla").iterdir()) == ["acme-lead-management.yaml"]
    assert run("validate", "sla", cwd=tmp_path).exit_code == 0


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def start_preview(
    folder: Path, *args: str, copy_examples: bool = True, timeout: float = 15.0
) -> tuple[subprocess.Popen[str], str]:
    """`preview --port 0 ARGS` in `folder` (on a copy of the example agreements unless told
    not to); the process and its URL."""
    if copy_examples:
        shutil.copytree(ROOT / "sla", folder / "sla")
    proc = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "cli.py"), "preview", "--port", "0", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = wait_for(lambda: proc.stdout.readline(), timeout=timeout)
    while "Serving" not in line:
        line = proc.stdout.readline()
        assert line, "the preview ended"
    return proc, re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)  # type: ignore[union-attr]


def test_preview_serves_rebuilds_and_shows_errors(tmp_path: Path) -> None:
    proc, url = start_preview(tmp_path)
    try:
        index = fetch(url)
        assert "Service level agreements" in index and '<script src="/__slakit/reload.js"></script>' in index
        page = fetch(url + "social-selling.html")
        assert "Harbourline Software social selling agreement" in page
        version = json.loads(fetch(url + "__slakit/version"))["version"]
        path = tmp_path / "sla" / "social-selling.yaml"
        path.write_text(path.read_text().replace("version: 5", "version: 6"))
        wait_for(lambda: json.loads(fetch(url + "__slakit/version"))["version"] > version)
        assert "<div><dt>Version</dt><dd>6</dd></div>" in fetch(url + "social-selling.html")
        path.write_text(path.read_text() + "status: bogus\n")
        wait_for(lambda: not json.loads(fetch(url + "__slakit/version"))["ok"])
        with pytest.raises(urllib.error.HTTPError) as failed:
            fetch(url + "social-selling.html")
        assert failed.value.code == 500  # served as the server error it is
        error = failed.value.read().decode()
        # Only the broken agreement's own page shows its problems; the others are served as usual.
        assert "This agreement has problems" in error and "duplicate key &#39;status&#39;" in error
        assert "Service level agreements" in fetch(url)
        assert '<header class="title-block">' in error and "--accent" in error  # the site's own look
        path.write_text(path.read_text().replace("status: bogus\n", ""))
        wait_for(lambda: json.loads(fetch(url + "__slakit/version"))["ok"])
        assert "Harbourline" in fetch(url + "social-selling.html")
        with pytest.raises(urllib.error.HTTPError):
            fetch(url + "../../etc/passwd.html")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _listening_addresses(port: int) -> set[str]:
    """The local addresses a socket listens on for `port`, read from the kernel's table."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="needs Linux's /proc/net/tcp")
def test_preview_binds_to_localhost_by_default(tmp_path: Path) -> None:
    proc, url = start_preview(tmp_path)
    try:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        # 0100007F is 127.0.0.1 as the kernel writes it (little-endian hex): loopback only.
        assert _listening_addresses(port) == {"0100007F"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.skipif(
    shutil.which("pre-commit", path=str(Path(sys.executable).parent)) is None,
    reason="pre-commit is not installed in this environment (requirements.txt installs it)",
)
def test_pre_commit_hook_through_try_repo(repo: Path, tmp_path: Path) -> None:
    (repo / "sla").mkdir()
    shutil.copy(ROOT / "sla" / "company-a-lead-management.yaml", repo / "sla")
    (repo / "sla" / "broken.yaml").write_text("id: broken\ntitle: x\nid: again\n")
    (repo / "notes.yaml").write_text("not: [an agreement\n")  # outside sla/: not the hook's business
    git(repo, "add", ".")
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    result = subprocess.run(
        [pre_commit, "try-repo", str(ROOT), "slakit-validate", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sla/broken.yaml:3:1: error[duplicate-key]: duplicate key 'id'" in result.stdout
    assert "2 agreements checked: 1 error (1 invalid)" in result.stdout
    (repo / "sla" / "broken.yaml").unlink()
    git(repo, "add", "-A")
    result = subprocess.run(
        [pre_commit, "try-repo", str(ROOT), "slakit-validate", "--all-files"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout


def test_hook_definitions() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "slakit-validate" and hooks[0]["entry"] == "slakit-validate"
    assert re.match(hooks[0]["files"], "sla/acme.yaml") and not re.match(hooks[0]["files"], "docs/x.yaml")
    config = YAML(typ="safe").load((ROOT / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["hooks"][0]["id"] == "slakit-validate"


def test_github_workflow_parses_and_names_real_actions() -> None:
    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "sla.yml").read_text())
    assert set(workflow["on"]) == {"pull_request", "push", "workflow_dispatch"}
    uses = [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]
    known = {
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "actions/upload-artifact@v4",
        "actions/upload-pages-artifact@v3",
        "actions/deploy-pages@v4",
    }
    assert set(uses) <= known
    runs = " ".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    assert "validate sla --format github" in runs and '--format md >> "$GITHUB_STEP_SUMMARY"' in runs
    assert "make render" in runs


CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
needs_check_jsonschema = pytest.mark.skipif(
    not CHECK_JSONSCHEMA.exists(), reason="check-jsonschema is not installed (requirements.txt installs it)"
)


def check_workflow(path: Path) -> None:
    """The workflow file passes GitHub's published workflow schema."""
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_check_jsonschema
def test_github_workflow_validates_against_its_published_schema() -> None:
    check_workflow(ROOT / ".github/workflows/sla.yml")


@pytest.mark.parametrize(
    "command", ["validate", "render", "diff", "changelog", "status", "sign", "new", "init", "schema", "preview"]
)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert re.search(r"Examples?:\n\s+slakit " + command, result.output), result.output


def test_version_and_completion() -> None:
    assert run("--version").output.startswith("slakit, version ")
    result = run_process(env={"_SLAKIT_COMPLETE": "bash_source"})
    assert "_slakit_completion()" in result.stdout


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    sla = tmp_path / "sla"
    sla.mkdir()
    text = (ROOT / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    for n in range(60):
        (sla / f"a{n:02d}.yaml").write_text(text.replace("id: minimal", f"id: a{n:02d}"))
    plain = run_process("render", str(sla), "--out", str(tmp_path / "out1"))
    assert "Building" not in plain.stdout + plain.stderr
    pid, fd = pty.fork()
    if pid == 0:  # the child: the same command on a terminal
        os.execv(
            sys.executable, [sys.executable, str(ROOT / "cli.py"), "render", str(sla), "--out", str(tmp_path / "out2")]
        )
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    assert b"Building  [" in out and b"100%" in out


def test_placeholders_named_by_the_rule_are_the_starters_own(tmp_path: Path) -> None:
    """The placeholder rule knows the starter's texts; a starter set active trips on every one."""
    from slakit.checking.rules import STARTER_ADDRESSES, STARTER_NAMES, STARTER_SUMMARY

    run("new", "lead-management", "fresh", cwd=tmp_path)
    path = tmp_path / "sla" / "fresh.yaml"
    text = path.read_text()
    assert " ".join(text.split()).count(STARTER_SUMMARY) == 1
    assert all(f"name: {name}\n" in text for name in STARTER_NAMES)
    assert all(f"address: {address}\n" in text for address in STARTER_ADDRESSES)
    assert run("validate", "sla", cwd=tmp_path).exit_code == 0  # a draft may keep them
    path.write_text(text.replace("status: draft", "status: active", 1))
    result = run("validate", "--format", "json", "sla", cwd=tmp_path)
    placeholders = [p for p in json.loads(result.output)["files"][0]["problems"] if p["rule"] == "placeholder"]
    assert [p["pointer"] for p in placeholders] == [
        "/summary",
        "/stakeholders/0/name",
        "/stakeholders/0/contact/address",
        "/stakeholders/1/name",
        "/stakeholders/1/contact/address",
    ]
    assert result.exit_code == 1


def test_new_creates_the_folder_and_refuses_a_misspelt_time_zone(tmp_path: Path) -> None:
    result = run_process("new", "social-selling", "team", "--timezone", "Europe/Lodnon", cwd=tmp_path)
    assert result.returncode == 2
    assert "'Europe/Lodnon' is not an IANA time zone (did you mean 'Europe/London'?)" in result.stderr
    assert not (tmp_path / "sla").exists()
    result = run_process("new", "social-selling", "team", "--timezone", "Europe/London", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "sla" / "team.yaml").is_file()
    assert "tip: `slakit init` sets up editor completion" in result.stdout
    assert "timezone: Europe/London" in (tmp_path / "sla" / "team.yaml").read_text()


def test_hook_checks_staged_files_among_all_agreements(tmp_path: Path) -> None:
    (tmp_path / "sla").mkdir()
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla" / "b-first.yaml")
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla" / "z-staged.yaml")
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla" / "a-staged.yaml")
    # Alone, a staged file looks fine; the hook reads all of sla/ and catches the reused id,
    # whichever way the names sort, and reports on the staged files only.
    assert run("validate", "sla/a-staged.yaml", cwd=tmp_path).exit_code == 0
    result = run_process("validate", "--context", "sla", "sla/a-staged.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "sla/a-staged.yaml:3:5: error[unique]: agreement id 'minimal' is also used by sla/b-first.yaml; "
        "both would publish to the same page, so give each agreement its own id",
        "1 agreement checked: 1 error (1 invalid)",
    ]
    (tmp_path / "sla" / "b-first.yaml").unlink()
    (tmp_path / "sla" / "a-staged.yaml").write_text(
        (tmp_path / "sla" / "a-staged.yaml").read_text().replace("id: minimal", "id: other", 1)
    )
    result = run_process("validate", "--context", "sla", "sla/a-staged.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "unique" not in result.stdout and "1 agreement checked" in result.stdout
    # A repository without sla/ yet: the context is simply empty.
    assert run_process("validate", "--context", "missing", "sla/a-staged.yaml", cwd=tmp_path).returncode == 0


def test_preview_port_in_use_suggests_port_zero(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "sla").mkdir()
        shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla")
        result = run_process("preview", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "--port 0 to pick a free one" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "dist").exists()  # refused before building anything


@needs_check_jsonschema
def test_the_workflow_init_writes_validates_against_its_published_schema(repo: Path) -> None:
    assert run("init", cwd=repo).exit_code == 0
    check_workflow(repo / ".github/workflows/sla.yml")
