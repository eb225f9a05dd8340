"""Raw YAML fuzzing: random bytes, mutated agreement texts and hostile structures through
`validate`. No traceback, exit 0 or 1, every problem inside the file, and bounded time and
memory (alias expansion, deep nesting, huge scalars, wide documents).

Profiles as in test_properties.py (tests/strategies.py): few derandomized examples by
default, many random ones with HYPOTHESIS_PROFILE=fuzz.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_properties import assert_located

import strategies as S
from conftest import FIXED_EPOCH, ROOT, run

MINIMAL = (ROOT / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "sla").glob("*.yaml"))] + [
    p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "cases" / "valid").glob("*.yaml"))
]


def validate_raw(raw: bytes, name: str = "a.yaml") -> tuple[int, list[dict[str, Any]], float]:
    """`validate --format json` on a file holding `raw`: exit code, problems, seconds taken."""
    with tempfile.TemporaryDirectory(prefix="slakit-fuzz-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        start = time.perf_counter()
        result = run("validate", "--format", "json", str(path))
        elapsed = time.perf_counter() - start
    assert result.exit_code in (0, 1), result.output[-2000:]
    [report] = json.loads(result.stdout)["files"]
    assert report["ok"] == (result.exit_code == 0)
    return result.exit_code, report["problems"], elapsed


def check(raw: bytes) -> list[dict[str, Any]]:
    _code, problems, _ = validate_raw(raw)
    for problem in problems:
        assert_located(problem, raw)
    return problems


# -- random bytes and mutated texts -------------------------------------------------------------------

YAML_BITS = [
    ":",
    ": ",
    "-",
    "- ",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "&a",
    "*a",
    "&a ",
    "*b",
    "!",
    "!!str ",
    "!!python/object ",
    "|",
    ">",
    "'",
    '"',
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "\t",
    "\n",
    "\r\n",
    " " * 7,
    "<<: ",
    "\\",
    "\x00",
    "\x85",
    "\u2028",
    "\ufeff",
    "\xef\xbb\xbf",
    "~",
    "null",
    ".inf",
    "-.nan",
    "0x1F",
    "1e999",
    "2026-02-30",
    "é",
    "😀",
    "\u202e",
    "\x1b[2J",
    "@",
    "`",
    "%",
    "*",
    "&",
    "=",
    "<<: *a\n",
]


@settings(max_examples=S.examples(1.5))
@given(
    raw=st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(st.sampled_from(YAML_BITS) | st.text(max_size=5), max_size=200).map(
            lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_validate_survives_random_bytes(raw: bytes) -> None:
    """Random bytes, random text, runs of YAML punctuation: exit 0/1, every problem located."""
    problems = check(raw)
    assert problems, "random bytes are never a valid agreement"


@st.composite
def mutated_texts(draw: Any) -> bytes:
    """A real agreement (an example or a generated one, in some style) with its text damaged."""
    if draw(st.booleans()):
        text = draw(st.sampled_from(SEED_TEXTS))
    else:
        text = S.to_yaml(draw(S.agreements(small=True)), draw(S.styles))
    for _ in range(draw(st.integers(1, 6))):
        lines = text.split("\n")
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "swap", "indent", "dedent", "truncate", "replace"]))
        at = draw(st.integers(0, max(0, len(text) - 1)))
        line = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "insert":
            text = text[:at] + draw(st.sampled_from(YAML_BITS) | st.text(max_size=4)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif op == "duplicate":
            lines.insert(line, lines[line] if lines else "")
            text = "\n".join(lines)
        elif op == "swap" and len(lines) > 1:
            other = draw(st.integers(0, len(lines) - 1))
            lines[line], lines[other] = lines[other], lines[line]
            text = "\n".join(lines)
        elif op == "indent":
            lines[line] = draw(st.sampled_from([" ", "  ", "\t", "    "])) + lines[line]
            text = "\n".join(lines)
        elif op == "dedent":
            lines[line] = lines[line].lstrip()
            text = "\n".join(lines)
        elif op == "truncate":
            text = text[:at]
        else:
            text = text.replace(
                draw(st.sampled_from([": ", "- ", "id: ", "party: ", '"', "'", "%"])),
                draw(st.sampled_from(["", ":", " - ", "id: *x ", "party: [", "\\", "%%"])),
                1,
            )
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, "replace")


@settings(max_examples=S.examples(1.5))
@given(raw=mutated_texts())
def test_validate_survives_mutated_agreements(raw: bytes) -> None:
    """Damaged agreements (characters, lines, indentation, encodings): exit 0/1, every problem
    inside the file."""
    check(raw)


# -- hostile structures: bounded time and memory --------------------------------------------------------


def alias_bomb(levels: int, fanout: int, merge: bool) -> str:
    if merge:
        lines = ["a0: &a0 {k: v}"] + [
            f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * fanout)}], k{i}: v}}" for i in range(1, levels + 1)
        ]
    else:
        lines = [f"a0: &a0 [{', '.join(['lol'] * fanout)}]"] + [
            f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels + 1)
        ]
    return "id: bomb\n" + "\n".join(lines) + "\n"


def deep(kind: str, depth: int) -> str:
    if kind == "flow-seq":
        return "id: " + "[" * depth + "]" * depth + "\n"
    if kind == "flow-map":
        return "id: " + "{a: " * depth + "1" + "}" * depth + "\n"
    if kind == "block-map":
        return "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "1\n"
    if kind == "block-seq":
        return "".join(" " * (2 * i) + "-\n" for i in range(depth)) + " " * (2 * depth) + "x\n"
    if kind == "compact":
        return "- " * depth + "x\n"
    return "? " * depth + "x\n"


def huge(kind: str, size: int) -> str:
    if kind == "plain":
        return "id: x\ntitle: " + "x" * size + "\n"
    if kind == "quoted":
        return 'id: x\ntitle: "' + "\\u00e9" * (size // 6) + '"\n'
    if kind == "block":
        return "id: x\nsummary: |\n" + ("  " + "y" * 78 + "\n") * (size // 81)
    if kind == "key":
        return "k" * size + ": 1\n"
    return "id: x\nparties: [" + ", ".join(["{id: a, name: A}"] * (size // 18)) + "]\n"


hostile_structures = st.one_of(
    st.builds(alias_bomb, st.integers(1, 14), st.integers(2, 16), st.booleans()),
    st.builds(
        deep,
        st.sampled_from(["flow-seq", "flow-map", "block-map", "block-seq", "compact", "complex-key"]),
        st.integers(1, 3000),
    ),
    st.builds(huge, st.sampled_from(["plain", "quoted", "block", "key", "list"]), st.integers(1, 1_100_000)),
)

MAX_SECONDS = 15.0  # a 1 MiB file of 60,000 items takes ~3 s here; alias bombs and deep nesting take milliseconds
MAX_PEAK_BYTES = 400 * 1024 * 1024


@settings(max_examples=S.examples(1))
@example(text=alias_bomb(14, 16, False)).via("billion laughs")
@example(text=alias_bomb(40, 12, True)).via("merge-key bomb")
@example(text=deep("flow-seq", 200_000)).via("deep flow nesting")
@example(text=deep("compact", 100_000)).via("deep compact nesting")
@example(text=huge("plain", 1_040_000)).via("1 MiB scalar")
@given(text=hostile_structures)
def test_hostile_structures_are_refused_in_bounded_time_and_memory(text: str) -> None:
    """Alias bombs, nesting thousands deep, scalars up to and past 1 MiB: validate answers within
    MAX_SECONDS, allocating at most MAX_PEAK_BYTES of Python memory, with located problems."""
    raw = text.encode()
    tracemalloc.start()
    try:
        _code, problems, elapsed = validate_raw(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f} s"
    assert peak < MAX_PEAK_BYTES, f"{peak / 2**20:.0f} MiB"
    for problem in problems:
        assert_located(problem, raw)
    if len(raw) > 1024 * 1024:
        assert [p["rule"] for p in problems] == ["size"]


def test_hostile_files_stay_within_memory_as_a_real_process(tmp_path: Path) -> None:
    """The worst of each family in one folder, validated by a real process limited to 1 GiB of
    address space: it must finish (exit 1) without a traceback or MemoryError."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    cases = {
        "laughs": alias_bomb(14, 16, False),
        "merge": alias_bomb(60, 16, True),
        "deep-flow": deep("flow-seq", 400_000),
        "deep-map": deep("flow-map", 100_000),
        "deep-block": deep("block-map", 1_000),
        "compact": deep("compact", 300_000),
        "keys": deep("complex-key", 300_000),
        "scalar": huge("plain", 1_048_000),
        "escapes": huge("quoted", 1_040_000),
        "key": huge("key", 1_040_000),
        "big": huge("plain", 5_000_000),
    }
    for name, text in cases.items():
        (folder / f"{name}.yaml").write_text(text)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "validate", "--format", "json", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env={**os.environ, "SOURCE_DATE_EPOCH": FIXED_EPOCH},
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    report = json.loads(result.stdout)
    assert len(report["files"]) == len(cases) and not any(f["ok"] for f in report["files"])
    assert time.perf_counter() - start < 60


# -- wide documents: time and report size must grow linearly -----------------------------------------


def wide(kind: str, n: int) -> str:
    """The minimal agreement with n unknown fields, or n parties and n dangling references."""
    if kind == "unknown-fields":
        return MINIMAL + "".join(f"field{i}: 1\n" for i in range(n))
    head, tail = MINIMAL.split("parties:")[0], "commitments:" + MINIMAL.split("commitments:")[1]
    parties = "parties:\n  - {id: marketing, name: M}\n" + "".join(
        f"  - {{id: team-{i}, name: T{i}}}\n" for i in range(n)
    )
    meeting = (
        "meetings:\n  - id: sync\n    title: Sync\n    cadence: weekly\n    duration: 1 hour\n    attendees:\n"
        + "".join(f"      - ghost-{i}\n" for i in range(n))
    )
    return head + parties + meeting + tail


@settings(max_examples=S.examples(0.25))
@example(kind="unknown-fields", n=3000).via("discovered failure")
@given(kind=st.sampled_from(["unknown-fields", "dangling-refs"]), n=st.integers(1500, 3000))
def test_validate_time_grows_linearly_with_the_file(kind: str, n: int) -> None:
    """Half a second plus 20 ms per KiB is ample for linear work (the 1 MiB examples in
    test_hostile_structures_are_refused_in_bounded_time_and_memory take a few seconds)."""
    raw = wide(kind, n).encode()
    _, _, elapsed = validate_raw(raw)
    assert elapsed < 0.5 + 0.02 * len(raw) / 1024, f"{elapsed:.2f} s for {len(raw) / 1024:.0f} KiB"


def report_size(raw: bytes) -> int:
    with tempfile.TemporaryDirectory(prefix="slakit-fuzz-") as tmp:
        (Path(tmp) / "a.yaml").write_bytes(raw)
        return len(run("validate", str(Path(tmp) / "a.yaml")).stdout)


@settings(max_examples=S.examples(0.25))
@example(kind="dangling-refs", n=100).via("discovered failure")
@given(kind=st.sampled_from(["unknown-fields", "dangling-refs"]), n=st.integers(60, 200))
def test_report_grows_linearly_with_the_file(kind: str, n: int) -> None:
    """Twice the problems give at most about twice the report (deterministic: sizes, not times)."""
    single, double = report_size(wide(kind, n).encode()), report_size(wide(kind, 2 * n).encode())
    assert double <= 2.5 * single, (single, double)


# -- one line per problem, at the place of the problem ---------------------------------------------------


@settings(max_examples=S.examples(0.25))
@example(text=MINIMAL, at=3, char="\x01").via("discovered failure")
@given(
    text=st.sampled_from(SEED_TEXTS),
    at=st.integers(0, 400),
    char=st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x9b", "\ufffe"]),
)
def test_a_forbidden_character_is_reported_where_it_is(text: str, at: int, char: str) -> None:
    """A character YAML forbids, put in a comment line of a real agreement: the report has one line
    per problem, and the character's problem is on the character's line."""
    lines = text.split("\n")
    at = min(at, len(lines))
    raw = "\n".join(lines[:at] + ["# note " + char] + lines[at:]).encode()
    with tempfile.TemporaryDirectory(prefix="slakit-fuzz-") as tmp:
        (Path(tmp) / "a.yaml").write_bytes(raw)
        result = run("validate", str(Path(tmp) / "a.yaml"))
    problem_lines = [line for line in result.stdout.splitlines() if "a.yaml:" in line]
    assert result.stdout.count("\n") == len(problem_lines) + 1, result.stdout  # one line each, then the summary
    assert any(f"a.yaml:{at + 1}:" in p for p in problem_lines), (at + 1, problem_lines)
