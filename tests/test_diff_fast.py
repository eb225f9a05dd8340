"""What makes the diff fast must not change what it says (real CLI, real Git repositories).

The redline leaves out the text of commitments it knows to be the same on both sides, and
both sides are read with one RevisionLoader whose node trees (positions) are composed only
when a problem needs one. The oracle for the redline is the whole text rendered as before:
a templates folder of the user's (here a copy of the built-in one) turns the shortcut off.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from jinja2 import nodes

from conftest import ROOT, git, run
from slakit.output.render import Renderer

COMPANY_A = "sla/company-a-lead-management.yaml"
FOLLOW_UP = "Contact every marketing lead within one business hour"
VOLUME = "Deliver 310 MQLs every month"
SHARE = "Source most of the new sales pipeline"
CLOSE_RATE = "Raise the close rate on submitted proposals to 50%"


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def move_pipeline_share_first(text: str) -> str:
    """The pipeline-share commitment cut out and put first among the commitments."""
    start = text.index("  - id: pipeline-share\n")
    end = text.index("\n  # Sales\n")
    block = text[start:end] + "\n"
    text = text[:start] + text[end + 1 :]
    return replace(text, "  - id: monthly-lead-value\n", block + "  - id: monthly-lead-value\n")


def remove_pipeline_share(text: str) -> str:
    start = text.index("  - id: pipeline-share\n")
    return text[:start] + text[text.index("\n  # Sales\n") + 1 :]


# Each edit, and the commitments whose text it changes (their sections must show as
# changed) and some it leaves alone (shown as unchanged), worked out from the file.
EDITS = {
    "a lead count": (lambda t: replace(t, "count: 310", "count: 300"), [VOLUME], [FOLLOW_UP, SHARE, CLOSE_RATE]),
    "a party's name": (
        lambda t: replace(t, "    name: Sales\n", "    name: Inside Sales\n"),
        [FOLLOW_UP, CLOSE_RATE, VOLUME],  # Sales owes the first two; the volume is owed to Sales
        [],
    ),
    "a definition's term": (
        lambda t: replace(t, "term: Marketing qualified lead", "term: Marketing-qualified lead"),
        [VOLUME],  # its undertaking names the definition it qualifies as
        [FOLLOW_UP, SHARE],
    ),
    "a calendar's hours": (lambda t: replace(t, 'end: "17:00"', 'end: "18:00"'), [FOLLOW_UP], [VOLUME, SHARE]),
    "a commitment's title": (
        lambda t: replace(t, "title: Source most of the new sales pipeline", "title: Source most new pipeline"),
        [],
        [FOLLOW_UP, VOLUME],
    ),
    "a commitment moved, another changed": (
        lambda t: replace(move_pipeline_share_first(t), "count: 310", "count: 300"),
        [VOLUME],
        [FOLLOW_UP, SHARE],  # renumbered (4.1 is now the pipeline share), text unchanged
    ),
    "a commitment removed": (remove_pipeline_share, [], [FOLLOW_UP, VOLUME]),
    "a commitment's id given to another": (  # breaks a rule: rendered whole, as before
        lambda t: replace(t, "  - id: crm-sales-tools\n", "  - id: crm-sales-process\n"),
        [],
        [FOLLOW_UP, VOLUME],
    ),
}


def heading(output: str, title: str) -> str:
    """The redline's heading line of the commitment titled `title`."""
    found = [line for line in output.splitlines() if line.startswith("####") and title in line]
    assert found, f"no redline heading for {title!r}"
    return found[0]


@pytest.mark.parametrize("name", list(EDITS))
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_redline_is_the_redline_of_the_whole_text(repo: Path, tmp_path: Path, name: str, fmt: str) -> None:
    shutil.copytree(ROOT / "sla", repo / "sla")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    edit, changed, unchanged = EDITS[name]
    file = repo / COMPANY_A
    file.write_text(edit(file.read_text()))
    git(repo, "commit", "-q", "-am", "two")
    mine = tmp_path / "mine"
    shutil.copytree(ROOT / "templates", mine)  # the same templates, as a user's folder: no shortcut

    quick = run("diff", "HEAD~1", "HEAD", "--format", fmt, cwd=repo)
    whole = run("diff", "HEAD~1", "HEAD", "--format", fmt, "--templates", str(mine), cwd=repo)
    assert (quick.exit_code, quick.output) == (whole.exit_code, whole.output)
    if fmt == "md":
        assert "<!-- unchanged -->" not in quick.output
        for title in changed:
            assert "(unchanged)" not in heading(quick.output, title), title
        for title in unchanged:
            assert heading(quick.output, title).endswith("(unchanged)"), title


def test_commitments_template_reads_what_the_shortcut_compares() -> None:
    """The shortcut knows what a commitment's text is made of (unchanged_commitments in
    slakit/output/diff.py); a new name read by the template must be added there too."""
    source = (ROOT / "templates" / "sections" / "commitments.md.j2").read_text()
    tree = Renderer().markdown_env.parse(source)
    read = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    own = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    assert read - own == {
        "section",  # its number and its commitments
        "loop",  # loop.index, in the heading only
        "agreement",  # through undertaking() and .commitment(c.id): the commitment, parties, definitions, calendars
        "undertaking",
        "party_names",
        "anchor",
        "unchanged_commitments",
    }


def test_problems_of_both_revisions_keep_their_positions(repo: Path) -> None:
    """Both sides read through the quick loader: positions are worked out when a problem
    needs one, and are those the case file states by hand."""
    case = ROOT / "tests" / "cases" / "invalid" / "refs.yaml"
    (repo / "sla").mkdir()
    shutil.copy(case, repo / "sla" / "refs.yaml")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    text = (repo / "sla" / "refs.yaml").read_text()
    (repo / "sla" / "refs.yaml").write_text(replace(text, "title: Volume", "title: Lead volume"))
    git(repo, "commit", "-q", "-am", "two")
    expected = sorted(re.findall(r"^# expect: (\d+:\d+ error\[[a-z-]+\])", case.read_text(), re.MULTILINE))
    assert len(expected) == 9

    result = run("diff", "HEAD~1", "HEAD", cwd=repo)
    assert result.exit_code == 1
    for side in ("HEAD~1", "HEAD"):
        found = re.findall(rf"^  {re.escape(side)}:sla/refs\.yaml:(\d+:\d+): (error\[[a-z-]+\])", result.output, re.M)
        assert sorted(f"{at} {rule}" for at, rule in found) == expected, side
    assert "~ Marketing commitments > Lead volume > Title: Volume -> Lead volume" in result.output


def test_work_tree_side_keeps_positions_too(repo: Path) -> None:
    """HEAD against the work tree: the work-tree version shares all but one block with
    HEAD, and its new problem is placed on its own line."""
    shutil.copytree(ROOT / "sla", repo / "sla")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    file = repo / COMPANY_A
    lines = file.read_text().split("\n")
    at = lines.index("      qualifies_as: mql")
    lines[at] = "      qualifies_as: mqll"
    file.write_text("\n".join(lines))

    result = run("diff", "--format", "text", cwd=repo)
    assert result.exit_code == 1
    problems = [line.strip() for line in result.output.splitlines() if "error[ref]" in line]
    assert len(problems) == 1
    assert problems[0].startswith(f"{COMPANY_A}:{at + 1}:{len('      qualifies_as: ') + 1}: error[ref]: ")
    assert "there is no definition with id 'mqll' (did you mean 'mql'?)" in problems[0]
