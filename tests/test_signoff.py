"""Sign-off people can trust: SSH-verified signatures, the whole team, dates that make
sense, and amending an active agreement. Real keys (ssh-keygen in tmp_path), real Git
repositories, the real CLI and the real preview server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_workflow import fetch, start_preview, wait_for

from conftest import ROOT, git, run, run_process

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")

PACT = """\
# A small active agreement between two heads of department.
id: team-pact
title: Team pact
kind: lead-management
status: active
version: "1"
effective: 2026-01-01
term: {review_cadence: annual, last_review: 2026-01-01, next_review: 2027-01-01}
timezone: UTC
parties:
  - id: marketing
    name: Marketing
  - id: sales
    name: Sales
stakeholders:
  - id: ana
    name: Ana Ruiz
    role: Head of Marketing
    party: marketing
    contact: {channel: email, address: ana@example.com, when: Anything about leads}
  - id: ben
    name: Ben O'Hara
    role: Head of Sales
    party: sales
    contact: {channel: email, address: ben@example.com, when: Anything about follow-up}
commitments:
  - id: mql-volume
    party: marketing
    title: Deliver ten qualified leads a month
    lead_volume: {count: 10, per: month}
signoff:
  required:
    - id: marketing-lead
      role: Head of Marketing
      party: marketing
      stakeholder: ana
    - id: sales-lead
      role: Head of Sales
      party: sales
      stakeholder: ben
"""

WHO = {"GIT_COMMITTER_NAME": "Rita Ops", "GIT_COMMITTER_EMAIL": "rita.ops@example.com"}
# Commits are dated on or before the tests' "today" (2026-11-16), so history is believed.
DAY = {"GIT_AUTHOR_DATE": "2026-11-02T10:00:00+00:00", "GIT_COMMITTER_DATE": "2026-11-02T10:00:00+00:00"}


def fetch_error(url: str) -> str:
    """A page the preview serves as the server error it is (status 500): its body."""
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as failed:
        fetch(url)
    assert failed.value.code == 500
    return failed.value.read().decode()


def keygen(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def allow(root: Path, *pairs: tuple[str, Path]) -> None:
    lines = [f"{email} {' '.join(Path(str(key) + '.pub').read_text().split()[:2])}" for email, key in pairs]
    (root / "allowed_signers").write_text("# who may sign\n" + "\n".join(lines) + "\n")


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "keys"
    folder.mkdir()
    return {name: keygen(folder, name) for name in ("ana", "ben", "mallory")}


@pytest.fixture
def pact(repo: Path, keys: dict[str, Path]) -> Path:
    """The pact in a Git repository whose allowed_signers knows Ana's and Ben's keys."""
    (repo / "sla").mkdir()
    path = repo / "sla" / "team-pact.yaml"
    path.write_text(PACT)
    allow(repo, ("ana@example.com", keys["ana"]), ("ben@example.com", keys["ben"]))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "The pact", env=DAY)
    return path


def sign(path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_process("sign", str(path), *args, cwd=path.parent.parent, env={**WHO, **(env or {})})


def problems(path: Path, *args: str) -> tuple[int, list[dict]]:
    result = run("validate", "--format", "json", *args, str(path), cwd=path.parent.parent)
    return result.exit_code, [p for f in json.loads(result.output)["files"] for p in f["problems"]]


def messages(path: Path, *args: str) -> list[str]:
    return [f"{p['severity']}[{p['rule']}]: {p['message']}" for p in problems(path, *args)[1]]


def test_a_signature_made_with_a_key_verifies(pact: Path, keys: dict[str, Path]) -> None:
    result = sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ana"]))
    assert result.returncode == 0, result.stderr
    assert "(verified with an SSH key)" in result.stdout
    data = pact.read_text()
    assert "email: ana@example.com\n" in data and "recorded_by: Rita Ops <rita.ops@example.com>\n" in data
    assert "ssh_signature: |\n        -----BEGIN SSH SIGNATURE-----\n" in data
    # The stored signature is an ordinary SSH signature: ssh-keygen itself accepts it for
    # the statement slakit documents (agreement id, terms, name, e-mail, role, party, date).
    armored = re.search(r"(-----BEGIN SSH SIGNATURE-----.*?-----END SSH SIGNATURE-----)", data, re.S).group(1)
    sig = pact.parent / "sig"
    sig.write_text("\n".join(line.strip() for line in armored.splitlines()) + "\n")
    digest = re.search(r"terms: (sha256:[0-9a-f]{64})", data).group(1)
    fields = {
        "agreement": "team-pact",
        "date": "2026-11-16",
        "email": "ana@example.com",
        "name": "Ana Ruiz",
        "party": "marketing",
        "role": "Head of Marketing",
        "terms": digest,
    }
    statement = "slakit sign-off statement v1\n" + json.dumps(fields, sort_keys=True, ensure_ascii=False) + "\n"
    check = subprocess.run(
        ["ssh-keygen", "-Y", "verify", "-f", str(pact.parent.parent / "allowed_signers"), "-I", "ana@example.com"]
        + ["-n", "slakit-signoff", "-s", str(sig)],
        input=statement.encode(),
        capture_output=True,
    )
    assert check.returncode == 0, check.stderr
    sig.unlink()
    code, found = problems(pact)
    assert code == 0
    assert [p["rule"] for p in found] == ["signoff"]  # only Ben's signature is awaited
    out = pact.parent.parent / "out"
    assert run("render", "sla", "--out", str(out), cwd=pact.parent.parent).exit_code == 0
    md = (out / "team-pact.md").read_text()
    assert "| Ana Ruiz | Head of Marketing | Marketing | 16 November 2026 | verified; recorded by Rita Ops" in md


@pytest.mark.parametrize(
    "old, new",
    [
        ("date: 2026-11-16", "date: 2026-11-15"),
        (
            "role: Head of Marketing\n      party: marketing\n      date",
            "role: Head of Sales\n      party: marketing\n      date",
        ),
        ("email: ana@example.com", "email: ben@example.com"),
    ],
)
def test_a_tampered_statement_fails_verification(pact: Path, keys: dict[str, Path], old: str, new: str) -> None:
    assert sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ana"])).returncode == 0
    text = pact.read_text()
    signatures = text.index("  signatures:")
    pact.write_text(text[:signatures] + text[signatures:].replace(old, new, 1))
    code, found = problems(pact)
    assert code == 1
    bad = [p for p in found if p["pointer"] == "/signoff/signatures/0/ssh_signature"]
    assert len(bad) == 1 and bad[0]["severity"] == "error"
    assert bad[0]["message"].startswith("signoff.signatures[Ana Ruiz]: the SSH signature of Ana Ruiz does not verify: ")
    assert ("changed after signing" in bad[0]["message"]) or ("belongs to ana@example.com" in bad[0]["message"])
    assert "does not verify" in run("render", "sla", "--out", "out", cwd=pact.parent.parent).output


def test_a_key_not_in_allowed_signers_is_refused(pact: Path, keys: dict[str, Path]) -> None:
    before = pact.read_bytes()
    result = sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["mallory"]))
    assert result.returncode == 1
    assert "does not verify: the key that made it is not in allowed_signers" in result.stderr
    assert "Add a line 'ana@example.com <public key>'" in result.stderr and pact.read_bytes() == before
    # Ben's key cannot sign for Ana either.
    result = sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ben"]))
    assert result.returncode == 1
    assert "belongs to ben@example.com in allowed_signers, not ana@example.com" in result.stderr
    # A signature made outside slakit with an unknown key and pasted in is caught by validate.
    assert sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ana"])).returncode == 0
    (pact.parent.parent / "allowed_signers").write_text(
        "ben@example.com " + " ".join(Path(str(keys["ben"]) + ".pub").read_text().split()[:2]) + "\n"
    )
    assert (
        "error[signature]: signoff.signatures[Ana Ruiz]: the SSH signature of Ana Ruiz does not verify: the key that made it is not in allowed_signers (for ana@example.com or anyone else)"
        in messages(pact)
    )


def test_verified_only_agreements_refuse_unverified_signatures(pact: Path, keys: dict[str, Path]) -> None:
    pact.write_text(PACT.replace("signoff:\n", "signoff:\n  verified: true\n"))
    assert sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing").returncode == 0
    found = messages(pact)
    assert (
        "error[signature]: signoff.signatures[Ana Ruiz]: the signature of Ana Ruiz is unverified (recorded without an "
        "SSH key), and this agreement accepts verified signatures only (signoff.verified: true); sign again with "
        "`slakit sign --key`" in found
    )
    assert (
        "warning[signoff]: signoff.required[marketing-lead]: no current verified signature from Head of Marketing (marketing)"
        in found
    )
    assert sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ana"])).returncode == 0
    assert [m for m in messages(pact) if "Ana" in m or "marketing-lead" in m] == []


def test_without_ssh_keygen_signing_with_a_key_says_so(pact: Path, keys: dict[str, Path], tmp_path: Path) -> None:
    assert sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ana"])).returncode == 0
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "git").symlink_to(shutil.which("git"))
    env = {"PATH": str(bare)}
    result = sign(pact, "--name", "Ben O'Hara", "--role", "Head of Sales", "--key", str(keys["ben"]), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ssh-keygen (OpenSSH 8.2 or later) is not installed" in result.stderr
    result = run_process("validate", "sla", cwd=pact.parent.parent, env=env)
    assert result.returncode == 0, result.stdout
    assert (
        "warning[signature]: signoff.signatures[Ana Ruiz]: the SSH signature of Ana Ruiz is not checked: ssh-keygen"
        in result.stdout
    )


ROSTER = """\
# Everyone in sales, as HR lists them.
members:
  - {name: Ben O'Hara, email: ben@example.com, role: Head of Sales}
  - {name: Cleo Park, email: cleo@example.com, role: Account executive}
  - {name: Dev Shah, email: dev@example.com, role: Account executive}
"""


def test_everyone_signs_means_every_listed_member(pact: Path, keys: dict[str, Path]) -> None:
    root = pact.parent.parent
    (root / "people").mkdir()
    (root / "people" / "sales.yaml").write_text(ROSTER)
    pact.write_text(
        PACT.replace("signoff:\n", "signoff:\n  everyone: true\n")
        .replace("    name: Sales\n", "    name: Sales\n    roster: people/sales.yaml\n")
        .replace(
            "    name: Marketing\n",
            "    name: Marketing\n    members:\n      - {name: Eve Lund, email: eve@example.com, role: Content creator}\n",
        )
    )
    for name, role in [
        ("Ana Ruiz", "Head of Marketing"),
        ("Ben O'Hara", "Head of Sales"),
        ("Cleo Park", "Account executive"),
    ]:
        assert sign(pact, "--name", name, "--role", role).returncode == 0
    # Five people are expected (two required signers, three more listed): two are missing.
    assert run("status", "--format", "json", "sla", cwd=root).exit_code == 0
    row = json.loads(run("status", "--format", "json", "sla", cwd=root).output)["agreements"][0]
    assert row["signoff"] == "awaiting 2 of 5 signatures"
    found = messages(pact)
    assert (
        "warning[signoff]: signoff.everyone: 2 of 3 listed people have not signed these terms: Eve Lund, Dev Shah"
        in found
    )
    assert run("render", "sla", "--out", "out", cwd=root).exit_code == 0
    md = (root / "out" / "team-pact.md").read_text()
    assert "1 of 3 have signed these terms, awaiting Eve Lund, Dev Shah. Sign-off: awaiting 2 of 5 signatures." in md
    assert "> **Not signed by all: awaiting 2 signatures (Eve Lund, Dev Shah).**" in md
    # Only listed people sign, and only in a role the agreement gives them.
    before = pact.read_bytes()
    result = sign(pact, "--name", "Mallory", "--role", "VP Sales", "--party", "sales")
    assert result.returncode == 2 and "'Mallory' is not listed in this agreement" in result.stderr
    result = sign(pact, "--name", "Dev Shah", "--role", "VP Sales")
    assert result.returncode == 2
    assert (
        "unknown role 'VP Sales' for Dev Shah (party 'sales'); the agreement gives them: Account executive"
        in result.stderr
    )
    assert pact.read_bytes() == before
    # A signature written by hand claiming a role not given is an error, located in the file.
    text = pact.read_text().replace("role: Account executive", "role: VP Sales")
    pact.write_text(text)
    assert (
        "error[signature]: signoff.signatures[Cleo Park]: Cleo Park signed as 'VP Sales', a role the agreement does not "
        "give them; their role: 'Account executive'" in messages(pact)
    )


def test_roster_problems_are_reported_in_the_roster_file(pact: Path) -> None:
    root = pact.parent.parent
    (root / "people").mkdir()
    (root / "people" / "sales.yaml").write_text("members:\n  - {name: Cleo Park, role: Account executive}\n  - Dev\n")
    pact.write_text(PACT.replace("    name: Sales\n", "    name: Sales\n    roster: people/sales.yaml\n"))
    result = run("validate", "sla", cwd=root)
    assert result.exit_code == 1
    assert (
        "people/sales.yaml:2:5: error[roster]: members[1]: needs email (each member: name, email and role, as text)"
        in result.output
    )
    assert "people/sales.yaml:3:5: error[roster]: members[2]: needs name, email, role" in result.output
    pact.write_text(PACT.replace("    name: Sales\n", "    name: Sales\n    roster: people/nobody.yaml\n"))
    result = run("validate", "sla", cwd=root)
    assert (
        "sla/team-pact.yaml:15:13: error[roster]: parties[sales].roster: there is no file 'people/nobody.yaml'"
        in result.output
    )
    pact.write_text(PACT.replace("    name: Sales\n", "    name: Sales\n    roster: ../../etc/passwd.yaml\n"))
    assert "error[schema]: parties[sales].roster" in run("validate", "sla", cwd=root).output


def test_backdated_signatures_are_refused(pact: Path, keys: dict[str, Path]) -> None:
    # The example: terms of 2026, a signature dated 2019.
    before = pact.read_bytes()
    result = sign(pact, "--name", "Ben O'Hara", "--role", "Head of Sales", "--date", "2019-03-01")
    assert result.returncode == 2
    assert (
        "a signature dated 2019-03-01 would be older than the agreement: its first version took effect on 2026-01-01"
        in result.stderr
    )
    assert pact.read_bytes() == before
    # The terms in force were committed on 2 November: a signature cannot predate them.
    result = sign(pact, "--name", "Ben O'Hara", "--role", "Head of Sales", "--date", "2026-10-30")
    assert (
        result.returncode == 2 and "they first appear in commit" in result.stderr and "of 2026-11-02" in result.stderr
    )
    # Written by hand, in a later commit, the same dates are errors in validate.
    assert sign(pact, "--name", "Ben O'Hara", "--role", "Head of Sales").returncode == 0
    pact.write_text(pact.read_text().replace("date: 2026-11-16", "date: 2026-10-30"))
    git(
        pact.parent.parent,
        "commit",
        "-q",
        "-am",
        "Ben signs",
        env={**DAY, "GIT_AUTHOR_DATE": "2026-11-05T09:00:00+00:00"},
    )
    found = messages(pact)
    assert any(
        m.startswith(
            "error[signature]: signoff.signatures[Ben O'Hara]: Ben O'Hara signed on 2026-10-30, but the terms they "
            "signed first appear in commit "
        )
        and m.endswith("of 2026-11-02; a signature cannot be older than its terms")
        for m in found
    ), found
    pact.write_text(pact.read_text().replace("date: 2026-10-30", "date: 2025-12-01"))
    assert (
        "error[signature]: signoff.signatures[Ben O'Hara]: Ben O'Hara signed on 2025-12-01, before the agreement's first "
        "version took effect (2026-01-01); a signature cannot be older than the agreement" in messages(pact)
    )


def test_terms_and_signatures_committed_together_are_not_backdated(repo: Path) -> None:
    """Agreements brought into Git with their signatures (an import) carry their own dates."""
    (repo / "sla").mkdir()
    path = repo / "sla" / "team-pact.yaml"
    path.write_text(PACT)
    assert sign(path, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--date", "2026-01-02").returncode == 0
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Imported with its signature", env=DAY)
    assert [m for m in messages(path) if "signed on" in m] == []


def test_amending_an_active_agreement_end_to_end(pact: Path, keys: dict[str, Path], tmp_path: Path) -> None:
    root = pact.parent.parent
    other = root / "sla" / "minimal.yaml"
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", other)
    for name, role, key in [("Ana Ruiz", "Head of Marketing", "ana"), ("Ben O'Hara", "Head of Sales", "ben")]:
        assert sign(pact, "--name", name, "--role", role, "--key", str(keys[key])).returncode == 0
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Signed by both", env=DAY)
    assert run("validate", "--enforce-signoff", "sla", cwd=root).exit_code == 0
    assert run("render", "sla", "--out", "dist", cwd=root).exit_code == 0
    minimal_page = (root / "dist" / "minimal.html").read_bytes()
    assert 'class="banner"' not in (root / "dist" / "team-pact.html").read_text()

    # 1. Edit: a pull request raises the lead volume. Not a broken build.
    pact.write_text(pact.read_text().replace("count: 10", "count: 12"))
    result = run("validate", "sla", cwd=root)
    assert result.exit_code == 0
    assert result.output.count("signed earlier terms; the terms have changed since, so the signature is stale") == 2
    # ... but the merge to main enforces the sign-off.
    result = run("validate", "--enforce-signoff", "sla", cwd=root)
    assert result.exit_code == 1 and "error[signoff]" in result.output
    # 2. Review the diff: it names the change and the signatures it made stale.
    diff = run("diff", cwd=root).output
    assert "Leads: 10 -> 12" in diff and "Sign-off > Signatures > Ana Ruiz > Terms signed: current -> stale" in diff
    # The amended agreement is published with a banner; the other page is untouched.
    result = run("render", "sla", "--out", "dist", cwd=root)
    assert result.exit_code == 0, result.output
    page = (root / "dist" / "team-pact.html").read_text()
    banner = "Changed since signed: awaiting 2 signatures (Ana Ruiz, Ben O&#39;Hara)"
    assert f'<p class="banner" role="status">{banner}. <a href="#sign-off">See the sign-off</a>.</p>' in page
    assert "**stale** (signed earlier terms)" not in page and "<strong>stale</strong> (signed earlier terms)" in page
    assert (root / "dist" / "minimal.html").read_bytes() == minimal_page
    status = json.loads(run("status", "--format", "json", "sla", cwd=root).output)["agreements"]
    assert [r["signoff"] for r in status if r["id"] == "team-pact"] == ["awaiting 2 of 2 signatures (2 stale)"]

    # The preview shows the amendment, and a broken agreement only on its own page.
    proc, url = start_preview(root, "--out", "preview", copy_examples=False, timeout=90)
    try:
        assert banner in fetch(url + "team-pact.html")
        version = json.loads(fetch(url + "__slakit/version"))["version"]
        other.write_text(other.read_text() + "status: bogus\n")
        wait_for(lambda: json.loads(fetch(url + "__slakit/version"))["version"] > version, timeout=90)
        broken = fetch_error(url + "minimal.html")
        assert "This agreement has problems" in broken and "duplicate key &#39;status&#39;" in broken
        assert banner in fetch(url + "team-pact.html")  # every other page as usual
        index = fetch(url)
        assert "Not published while they have problems" in index and "Team pact" in index
        # 3. Everyone re-signs (the preview follows), 4. and the sign-off is complete again.
        version = json.loads(fetch(url + "__slakit/version"))["version"]
        for name, role, key in [("Ana Ruiz", "Head of Marketing", "ana"), ("Ben O'Hara", "Head of Sales", "ben")]:
            assert sign(pact, "--name", name, "--role", role, "--key", str(keys[key])).returncode == 0
        wait_for(lambda: 'class="banner"' not in fetch(url + "team-pact.html"), timeout=90)
        assert "verified; recorded by Rita Ops" in fetch(url + "team-pact.html")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    other.unlink()
    assert run("validate", "--enforce-signoff", "sla", cwd=root).exit_code == 0
    # The diff shows each new SSH signature by its tail, not as eight lines of base64.
    diff = run("diff", cwd=root).output
    assert re.search(r"Ana Ruiz > SSH signature: SSH signature …\S{12} -> SSH signature …\S{12}\n", diff)
    assert "BEGIN SSH SIGNATURE" not in diff


def test_a_rebuild_rechecks_signatures_when_allowed_signers_changes(pact: Path, keys: dict[str, Path]) -> None:
    root = pact.parent.parent
    assert sign(pact, "--name", "Ana Ruiz", "--role", "Head of Marketing", "--key", str(keys["ana"])).returncode == 0
    assert run("render", "sla", "--out", "dist", cwd=root).exit_code == 0
    assert "0 rendered, 1 unchanged" in run("render", "sla", "--out", "dist", cwd=root).output
    # Ana's key is taken out of allowed_signers: the cached page may not go on saying "verified".
    (root / "allowed_signers").write_text("# nobody yet\n")
    result = run("render", "sla", "--out", "dist", cwd=root)
    assert result.exit_code == 1 and "the key that made it is not in allowed_signers" in result.output
    (root / "allowed_signers").unlink()
    result = run("render", "sla", "--out", "dist", cwd=root)
    assert result.exit_code == 0 and "1 rendered" in result.output
    assert (
        "| Ana Ruiz | Head of Marketing | Marketing | 16 November 2026 | unverified;"
        in (root / "dist" / "team-pact.md").read_text()
    )


def test_the_pull_request_workflow_enforces_the_sign_off_into_main() -> None:
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "sla.yml").read_text())
    job = workflow["jobs"]["signoff"]
    assert job["if"] == "github.event_name == 'pull_request' && github.base_ref == 'main'"
    assert job["env"] == {"SLAKIT_ENFORCE_SIGNOFF": "1"}
    assert any("slakit validate sla --format github" in step.get("run", "") for step in job["steps"])
    # The check job (annotations for every pull request) does not enforce it.
    assert "SLAKIT_ENFORCE_SIGNOFF" not in json.dumps(workflow["jobs"]["check"])


def test_preview_shows_a_never_built_broken_agreement_on_its_own_page(tmp_path: Path) -> None:
    """A file that has never built and does not even parse still gets its error page (by the
    id written at its top, else its file name); every other page is served as usual."""
    (tmp_path / "sla").mkdir()
    shutil.copy(ROOT / "tests" / "cases" / "valid" / "minimal.yaml", tmp_path / "sla" / "minimal.yaml")
    (tmp_path / "sla" / "broken.yaml").write_text("id: half-done  # being written\ntitle: x\ntitle: y\n")
    proc, url = start_preview(tmp_path, copy_examples=False, timeout=90)
    try:
        page = fetch_error(url + "half-done.html")
        assert "This agreement has problems" in page and "duplicate key &#39;title&#39;" in page
        assert "Minimal agreement" in fetch(url + "minimal.html")
        index = fetch(url)
        assert '<code>sla/broken.yaml</code> (<a href="/half-done.html">its page shows why</a>)' in index
        assert not json.loads(fetch(url + "__slakit/version"))["ok"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
