"""OpenSSH signatures: `ssh-keygen -Y sign`, `-Y verify` and `-Y find-principals`.

The same signing Git uses for SSH-signed commits, under slakit's own namespace so a
signature made for a commit can never pass for a sign-off (or the other way round). Who
may sign is the repository's `allowed_signers` file, in Git's format: one line per person,
`email key-type public-key`. Every call is a subprocess with a time limit; a missing
ssh-keygen is a clear error, never a traceback.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UsageError

NAMESPACE = "slakit-signoff"
ALLOWED_SIGNERS = "allowed_signers"
SIGN_TIMEOUT = 120  # a person may be typing the key's passphrase
VERIFY_TIMEOUT = 30

MISSING = "ssh-keygen (OpenSSH 8.2 or later) is not installed, so signatures cannot be made or checked"


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one signature: ok, or why not."""

    ok: bool
    reason: str = ""
    checked: bool = True  # False: nothing to check against (no allowed_signers file)


def available() -> bool:
    return shutil.which("ssh-keygen") is not None


def _run(args: list[str], data: bytes, timeout: int) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["ssh-keygen", *args], input=data, capture_output=True, timeout=timeout)
    except FileNotFoundError:
        raise UsageError(MISSING) from None
    except subprocess.TimeoutExpired:
        raise InputError(f"ssh-keygen {args[0]} {args[1]} did not finish within {timeout} seconds") from None


def sign(key: Path, message: bytes) -> str:
    """The armored SSH signature of `message` made with the private key at `key`."""
    if not key.is_file():
        raise UsageError(f"--key '{key}' is not a file; give the private key, such as ~/.ssh/id_ed25519")
    result = _run(["-Y", "sign", "-n", NAMESPACE, "-f", str(key)], message, SIGN_TIMEOUT)
    text = result.stdout.decode("ascii", errors="replace")
    if result.returncode != 0 or "BEGIN SSH SIGNATURE" not in text:
        detail = _last_line(result.stderr) or "no signature was produced"
        raise InputError(f"ssh-keygen could not sign with '{key}': {detail}")
    return text.strip() + "\n"


def allowed_signers(root: Path) -> Path:
    """Where the allowed_signers file of a repository is (it may not exist)."""
    return root / ALLOWED_SIGNERS


def file_digest(path: Path) -> str | None:
    """sha256 of a file's bytes, or None when it cannot be read (the build cache keys on it)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def verify(signers: Path, principal: str, message: bytes, signature: str) -> Verdict:
    """Whether `signature` is `principal`'s signature of `message` under slakit's namespace,
    made with a key that `signers` (an allowed_signers file) gives to that principal."""
    if not signers.is_file():
        return Verdict(False, f"there is no {ALLOWED_SIGNERS} file in {signers.parent} to check it against", False)
    with tempfile.TemporaryDirectory(prefix="slakit-sig-") as folder:
        sig = Path(folder) / "signature"
        sig.write_text(signature, encoding="ascii", errors="replace")
        args = ["-Y", "verify", "-f", str(signers), "-I", principal, "-n", NAMESPACE, "-s", str(sig)]
        result = _run(args, message, VERIFY_TIMEOUT)
        if result.returncode == 0:
            return Verdict(True)
        detail = result.stderr.decode(errors="replace")
        if "parse signature" in detail or "sshsig_armor" in detail:
            return Verdict(False, "the stored ssh_signature is not a valid SSH signature")
        if "namespace does not match" in detail:
            return Verdict(False, f"it was not made for slakit sign-off (namespace {NAMESPACE!r})")
        found = _run(["-Y", "find-principals", "-f", str(signers), "-s", str(sig)], b"", VERIFY_TIMEOUT)
    owners = [line.strip() for line in found.stdout.decode(errors="replace").splitlines() if line.strip()]
    if not owners:
        return Verdict(False, f"the key that made it is not in {signers.name} (for {principal} or anyone else)")
    if principal not in owners:
        return Verdict(False, f"the key that made it belongs to {', '.join(owners)} in {signers.name}, not {principal}")
    return Verdict(False, "the signed statement does not match what the file records (changed after signing)")


def _last_line(raw: bytes) -> str:
    lines = [line.strip() for line in raw.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""
