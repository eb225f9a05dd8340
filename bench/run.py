"""Benchmarks: each goal timed against a reference command in the same run.

Prints figures and ratios; asserts nothing (timing belongs here, not in the tests).
Usage: python bench/run.py [--only NAME] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT / "bench"))

from business_hours import bench_business_hours  # noqa: E402
from generate import generate  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent


def timed(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Wall seconds, peak memory (KiB) and exit code of one run of `cmd`."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def best(cmd: list[str], repeat: int, **kw) -> tuple[float, int]:
    runs = [timed(cmd, **kw) for _ in range(repeat)]
    for _, _, code in runs:
        if code not in (0,):
            raise SystemExit(f"benchmark command failed (exit {code}): {' '.join(cmd)}")
    return min(r[0] for r in runs), max(r[1] for r in runs)


def agreements(count: int) -> Path:
    folder = DATA / f"agreements-{count}"
    if not folder.is_dir() or len(list(folder.glob("*.yaml"))) != count:
        shutil.rmtree(folder, ignore_errors=True)
        generate(count, folder)
    return folder


# The parsing floor: PyYAML's C loader over the same files, one process, start-up included.
PYYAML_FLOOR = "import sys, yaml\nfor f in sys.argv[1:]:\n    yaml.load(open(f, 'rb'), Loader=yaml.CSafeLoader)\n"
# The same over blobs: cat-file --batch output on stdin, parsed blob by blob.
PYYAML_BLOBS = """import sys, yaml
data = sys.stdin.buffer.read()
at = 0
while at < len(data):
    end = data.index(b"\\n", at)
    size = int(data[at:end].split()[2])
    yaml.load(data[end + 1 : end + 1 + size], Loader=yaml.CSafeLoader)
    at = end + 2 + size
"""


def bench_validate(repeat: int) -> None:
    folder = agreements(1000)
    files = sorted(str(p) for p in folder.glob("*.yaml"))
    ours, ours_mem = best([PY, "cli.py", "validate", str(folder)], repeat)
    ref, ref_mem = best([str(BIN / "check-jsonschema"), "--schemafile", "schema/sla.schema.json", *files], repeat)
    floor, _ = best([PY, "-c", PYYAML_FLOOR, *files], repeat)
    print("validate: 1,000 generated agreements")
    print(
        f"  cli.py validate                 {ours:7.2f} s  {1000 / ours:7.0f} files/s  peak {ours_mem / 1024:6.1f} MiB"
    )
    print(f"  check-jsonschema --schemafile   {ref:7.2f} s  {1000 / ref:7.0f} files/s  peak {ref_mem / 1024:6.1f} MiB")
    print(f"  PyYAML C loader, one process    {floor:7.2f} s  (parsing only)")
    print(f"  ratio validate / check-jsonschema = {ours / ref:.2f}  (goal <= 1.0)")
    print(f"  ratio validate / PyYAML C loader = {ours / floor:.2f}  (goal <= 2)")


def bench_render(repeat: int) -> None:
    folder = agreements(1000)
    out = DATA / "render-out"
    # Earlier outputs are moved aside, and deleted after the timings: on a file system without
    # a journal (this machine's ext4), files created soon after thousands were deleted take up
    # to 1.5 s of kernel time (ext4 skips recently deleted inodes one by one), which timed the
    # bench's own clean-up, not the build.
    aside = DATA / "render-aside"
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    full_runs, noop_runs, check_runs = [], [], []
    render = [PY, "cli.py", "render", str(folder), "--out", str(out)]
    for run in range(repeat):  # interleaved, so all three see the same load on a shared machine
        if out.exists():
            out.rename(aside / str(run))
        full_runs.append(run_measured(render))
        noop_runs.append(run_measured(render))
        check_runs.append(run_measured([PY, "cli.py", "validate", str(folder)]))
    shutil.rmtree(aside, ignore_errors=True)
    full, full_cpu, full_mem = (
        min(r[0] for r in full_runs),
        min(r[1] for r in full_runs),
        max(r[2] for r in full_runs),
    )
    noop = min(r[0] for r in noop_runs)
    check, check_cpu = min(r[0] for r in check_runs), min(r[1] for r in check_runs)
    print("render: full build of 1,000 generated agreements (2,002 files), then a rebuild with nothing changed")
    print(
        f"  cli.py render (full)            {full:7.2f} s  {1000 / full:7.0f} agreements/s  {full_cpu:6.2f} s CPU  "
        f"peak {full_mem / 1024:6.1f} MiB (main process)"
    )
    print(f"  cli.py render (nothing changed) {noop:7.2f} s")
    print(f"  cli.py validate (same files)    {check:7.2f} s                    {check_cpu:6.2f} s CPU")
    print(f"  ratio full build / validate = {full / check:.2f} wall, {full_cpu / check_cpu:.2f} CPU  (goal <= 2.0)")
    print(f"  ratio no-op rebuild / full build = {noop / full:.3f}  (goal <= 0.1)")


def diff_repo() -> tuple[Path, Path]:
    """A repository with two commits of one agreement with 1,000 commitments (about 5% changed)."""
    import random

    repo = DATA / "diff-repo"
    path = repo / "sla" / "big.yaml"
    if (repo / ".git").is_dir() and path.is_file():
        return repo, path
    shutil.rmtree(repo, ignore_errors=True)
    generated = generate(1, DATA / "diff-source", commitments=1000)[0]
    path.parent.mkdir(parents=True)
    env = {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }

    def run(*a):
        return subprocess.run(["git", *a], cwd=repo, env={**os.environ, **env}, check=True, capture_output=True)

    run("init", "-q", "-b", "main")
    shutil.copy(generated, path)
    run("add", ".")
    run("commit", "-q", "-m", "one")
    rng = random.Random(7)
    lines = path.read_text().split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith("target:") and rng.random() < 0.05:
            lines[i] = line.split(":")[0] + f": {rng.randint(51, 99)}"
    path.write_text("\n".join(lines))
    run("commit", "-q", "-am", "two")
    return repo, path


def bench_diff(repo_runs: int) -> None:
    repo, path = diff_repo()
    rel = str(path.relative_to(repo))
    cli = str(ROOT / "cli.py")
    text, _ = best([PY, cli, "diff", "HEAD~1", "HEAD", rel], repo_runs, cwd=repo)
    md, _ = best([PY, cli, "diff", "HEAD~1", "HEAD", rel, "--format", "md"], repo_runs, cwd=repo)
    one, _ = best([PY, cli, "validate", rel], repo_runs, cwd=repo)
    print("diff: two revisions of one agreement with 1,000 commitments (about 5% of targets changed)")
    print(f"  cli.py diff HEAD~1 HEAD (text)    {text:7.2f} s")
    print(f"  cli.py diff HEAD~1 HEAD (md, with redline) {md:7.2f} s")
    print(f"  cli.py validate, once            {one:7.2f} s  (twice: {2 * one:.2f} s)")
    print(
        f"  ratio diff / validating the file twice = {text / (2 * one):.2f}  (goal < 1.0); with redline {md / (2 * one):.2f}"
    )


def history_repo(commits: int, agreements_count: int = 20) -> Path:
    """A repository whose history has `commits` commits, each changing one of 20 agreements
    (a target, a lead count, the version), one day apart; built with git fast-import."""
    import random

    repo = DATA / f"history-{commits}"
    if (repo / ".git").is_dir():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    sources = generate(agreements_count, DATA / "history-source")
    texts = {f"sla/{p.name}": p.read_text() for p in sources}
    rng = random.Random(commits)
    stream: list[bytes] = []

    def blob(text: str) -> bytes:
        data = text.encode()
        return b"data %d\n%s\n" % (len(data), data)

    start = 1735689600  # 2025-01-01
    names = sorted(texts)
    for n in range(commits):
        name = names[n % len(names)] if n < len(names) else rng.choice(names)
        if n >= len(names):
            text = texts[name]
            text = re.sub(r"^version: \d+", f"version: {n}", text, count=1, flags=re.MULTILINE)
            text = re.sub(r"count: \d+", f"count: {rng.randint(10, 900)}", text, count=1)
            texts[name] = text
        when = start + n * 86400
        message = f"Change {n} to {name}".encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(b"committer Bench <bench@example.com> %d +0000\n" % when)
        stream.append(b"data %d\n%s\n" % (len(message), message))
        stream.append(b"M 100644 inline " + name.encode() + b"\n" + blob(texts[name]))
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    return repo


CHANGELOG_CACHE = Path(".git") / "slakit-changelog-cache.json.z"


def first_runs(cmd: list[str], repeat: int, cwd: Path) -> float:
    """Best wall time of `cmd` as the first run in a fresh clone: the changelog's cache
    removed before each run (the run writes it, and that is timed too)."""
    runs = []
    for _ in range(repeat):
        (cwd / CHANGELOG_CACHE).unlink(missing_ok=True)
        wall, _, code = timed(cmd, cwd=cwd)
        if code != 0:
            raise SystemExit(f"benchmark command failed (exit {code}): {' '.join(cmd)}")
        runs.append(wall)
    return min(runs)


def bench_changelog(repeat: int) -> None:
    cli = str(ROOT / "cli.py")
    print("changelog: generated history of 20 agreements, one commit a day")
    figures = {}
    command = [PY, cli, "changelog", "--format", "json"]
    for commits in (500, 1000):
        repo = history_repo(commits)
        cold = first_runs(command, repeat, repo)
        timed(command, cwd=repo)  # fills the cache
        cached, _ = best(command, repeat, cwd=repo)
        ref, _ = best(["git", "log", "-p", "--", "sla/"], repeat, cwd=repo)
        blobs = subprocess.run(
            ["git", "log", "--raw", "--no-abbrev", "--format=", "--", "sla/"], cwd=repo, capture_output=True, text=True
        ).stdout
        ids = "".join(line.split()[3] + "\n" for line in blobs.splitlines() if line.startswith(":")).encode()
        cat = best_piped(["git", "cat-file", "--batch"], ids, repeat, repo)
        parse = best_piped([PY, "-c", PYYAML_BLOBS], cat_output(ids, repo), repeat, repo)
        figures[commits] = cold
        print(
            f"  {commits:5d} commits: git log -p -- sla/ {ref:5.2f} s | git cat-file --batch of the revisions "
            f"{cat:5.2f} s | PyYAML C loader over them {parse:5.2f} s"
        )
        print(
            f"               changelog, no cache (first run, writes it) {cold:5.2f} s: ratio to git log -p "
            f"{cold / ref:4.1f}  {'(goal <= 10)' if commits == 1000 else '(the goals are for 1,000 commits)'}"
        )
        print(
            f"               changelog, cached (a later run)            {cached:5.2f} s: ratio to git log -p "
            f"{cached / ref:4.1f}  {'(goal <= 5)' if commits == 1000 else ''}".rstrip()
        )
    print(f"  growth 500 -> 1,000 commits, no cache: x{figures[1000] / figures[500]:.2f}  (linear: about x2)")
    repo = history_repo(10)
    fixed = first_runs(command, repeat, repo)
    check, _ = best([PY, cli, "validate"], repeat, cwd=repo)
    print(
        f"  fixed cost: changelog over 10 commits (no cache) {fixed:5.2f} s | validate of the same 10 agreements "
        f"{check:5.2f} s | ratio {fixed / check:.2f}  (goal <= 2)"
    )


def cat_output(ids: bytes, repo: Path) -> bytes:
    return subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=ids, capture_output=True, check=True).stdout


def best_piped(cmd: list[str], data: bytes, repeat: int, cwd: Path) -> float:
    """Best wall time of `cmd` reading `data` on stdin (its output discarded)."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, input=data, stdout=subprocess.DEVNULL, check=True)
        runs.append(time.perf_counter() - started)
    return min(runs)


def score_exports(layout: str = "hubspot", leads: int = 1_000_000, deals: int = 100_000) -> dict[str, Path]:
    """Generated exports for the Company A agreement (bench/data, git-ignored), made once."""
    from exports import generate_exports

    folder = DATA / f"exports-{layout}-{leads}-{deals}"
    done = folder / ".complete"
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        generate_exports(folder, leads, deals, layout)
        done.write_text("")
    return {
        k: folder / f"{k}.{'yaml' if k == 'columns' else 'csv'}" for k in ("leads", "deals", "activities", "columns")
    }


DUCKDB_ALONE = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
print(con.execute(
    "SELECT date_trunc('month', strptime(\\"Became a Marketing Qualified Lead Date\\", '%Y-%m-%d %H:%M')) m, count(*) "
    "FROM read_csv(?, all_varchar = true) GROUP BY m ORDER BY m", [sys.argv[1]]).fetchall())
for other in sys.argv[2:]:  # the deals and activities: the same files the score reads
    print(con.execute("SELECT count(*) FROM read_csv(?, all_varchar = true)", [other]).fetchall())
"""


# The reading any score of these files needs, and nothing else: every column of the three files
# kept, every time and amount cell parsed, duplicate ids looked for, leads counted by month. No
# Python beyond this, no agreement, no scoring: a floor for the score, measured beside it.
DUCKDB_FLOOR = """
import sys, duckdb
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
leads, deals, activities = sys.argv[1:4]
con.execute(
    "CREATE TABLE leads AS SELECT \\"Record ID\\" AS lead_id, "
    "try_strptime(\\"Became a Marketing Qualified Lead Date\\", '%Y-%m-%d %H:%M') AS mql_at, "
    "\\"Original Source\\" AS source, \\"Contact owner\\" AS owner, "
    "try_strptime(\\"Date of first engagement\\", '%Y-%m-%d %H:%M') AS first_touch_at "
    "FROM read_csv(?, all_varchar = true)", [leads])
con.execute(
    "CREATE TABLE deals AS SELECT \\"Record ID\\" AS deal_id, try_strptime(\\"Create Date\\", '%Y-%m-%d') AS created_at, "
    "try_strptime(\\"Close Date\\", '%Y-%m-%d') AS closed_at, try_cast(\\"Amount\\" AS DECIMAL(18, 2)) AS amount, "
    "\\"Currency\\" AS currency, \\"Deal Stage\\" AS stage, "
    "try_strptime(\\"Date entered Proposal Sent\\", '%Y-%m-%d') AS proposal_at, "
    "\\"Original Source\\" AS source, \\"Deal owner\\" AS owner FROM read_csv(?, all_varchar = true)", [deals])
con.execute("CREATE TABLE activities AS SELECT * FROM read_csv(?, all_varchar = true)", [activities])
for table, ident in (("leads", "lead_id"), ("deals", "deal_id")):
    print(con.execute(f"SELECT count(*) FROM (SELECT {ident} FROM {table} GROUP BY {ident} HAVING count(*) > 1)").fetchall())
print(con.execute("SELECT date_trunc('month', mql_at) m, count(*) FROM leads GROUP BY m ORDER BY m").fetchall())
"""


def run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, all threads) and peak memory (KiB) of one run."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def bench_score(repeat: int) -> None:
    files = score_exports()
    agreement = str(ROOT / "sla" / "company-a-lead-management.yaml")
    command = [PY, "cli.py", "score", agreement, "--leads", str(files["leads"]), "--deals", str(files["deals"])]
    command += ["--activities", str(files["activities"]), "--preset", "hubspot", "--columns", str(files["columns"])]
    command += ["--format", "json"]  # stdout goes nowhere; never --out /dev/null (a rename would replace it)
    exports = [str(files["leads"]), str(files["deals"]), str(files["activities"])]
    reference = [PY, "-c", DUCKDB_ALONE, *exports]
    floor_command = [PY, "-c", DUCKDB_FLOOR, *exports]
    ours, ref, floor = [], [], []
    for _ in range(repeat):  # interleaved, so all three see the same load on a shared machine
        ours.append(run_measured(command))
        ref.append(run_measured(reference))
        floor.append(run_measured(floor_command))
    wall, cpu, mem = min(r[0] for r in ours), min(r[1] for r in ours), max(r[2] for r in ours)
    ref_wall, ref_cpu, ref_mem = min(r[0] for r in ref), min(r[1] for r in ref), max(r[2] for r in ref)
    floor_wall, floor_cpu = min(r[0] for r in floor), min(r[1] for r in floor)
    print(
        "score: Company A, 1,000,000 leads, 100,000 deals and 10,000 activities (HubSpot CSV layout), "
        "every commitment per month"
    )
    print(
        f"  cli.py score --format json                     {wall:6.2f} s wall {cpu:6.2f} s CPU  peak {mem / 1024:6.1f} MiB"
    )
    print(
        f"  DuckDB alone: read the files, leads by month   {ref_wall:6.2f} s wall {ref_cpu:6.2f} s CPU  peak {ref_mem / 1024:6.1f} MiB"
    )
    print(
        f"  DuckDB, the reading a score needs              {floor_wall:6.2f} s wall {floor_cpu:6.2f} s CPU  "
        "(every column kept, times and amounts parsed, duplicate ids)"
    )
    print(f"  ratio score / DuckDB alone = {wall / ref_wall:.2f} wall, {cpu / ref_cpu:.2f} CPU  (goal <= 2)")
    print(
        f"  ratio reading floor / DuckDB alone = {floor_wall / ref_wall:.2f} wall, {floor_cpu / ref_cpu:.2f} CPU; "
        f"score / reading floor = {wall / floor_wall:.2f} wall, {cpu / floor_cpu:.2f} CPU"
    )


BENCHES = {"validate": bench_validate, "render": bench_render, "diff": bench_diff, "changelog": bench_changelog}
BENCHES["score"] = bench_score
BENCHES["business-hours"] = bench_business_hours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the best is reported")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; best of {args.repeat} runs each\n")
    for name in args.only or BENCHES:
        BENCHES[name](args.repeat)
        print()


if __name__ == "__main__":
    main()
