"""Rendering through the real CLI: golden files, guarantees of the build, untrusted text."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT, run, run_process
from slakit.output.render import tidy

GOLDEN = ROOT / "tests" / "golden"
CASES = ROOT / "tests" / "cases"
UPDATE = os.environ.get("SLAKIT_UPDATE_GOLDEN") == "1"


def outside_git(tmp_path: Path) -> Path:
    """A copy of the examples in a folder that is not in a Git repository (no changelog),
    with the allowed_signers file their SSH signatures are checked against."""
    shutil.copytree(ROOT / "sla", tmp_path / "sla")
    shutil.copy(ROOT / "allowed_signers", tmp_path / "allowed_signers")
    return tmp_path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = outside_git(tmp_path_factory.mktemp("site"))
    result = run_process("render", "sla", "--out", "dist", cwd=base, env={"SOURCE_DATE_EPOCH": "1794787200"})
    assert result.returncode == 0, result.stdout + result.stderr
    return base / "dist"


def outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_golden_files(site: Path) -> None:
    """The examples' Markdown and HTML, byte for byte (refresh with `make golden`)."""
    if UPDATE:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir(parents=True)
        for name in outputs(site):
            shutil.copy(site / name, GOLDEN / name)
    assert outputs(site) == outputs(GOLDEN)
    for name in outputs(GOLDEN):
        assert (site / name).read_bytes() == (GOLDEN / name).read_bytes(), (
            f"{name} differs; run `make golden` if intended"
        )


def test_markdown_reads_like_the_agreement(site: Path) -> None:
    md = (site / "company-a-lead-management.md").read_text()
    # GitHub-flavoured: headings carry no {#anchor} attribute (GitHub would show it as text).
    headings = re.findall(r"^## (.+)$", md, re.MULTILINE)
    assert headings == [
        "1. Parties and stakeholders",
        "2. Definitions",
        "3. Company goals",
        "4. How the figures are derived",
        "5. Marketing commitments",
        "6. Sales commitments",
        "7. Communication and meetings",
        "8. Conflict resolution",
        "9. Rewards",
        "10. Escalation",
        "11. Term and review",
        "12. Sign-off",
        "Appendix: terms digest",
    ]
    assert "{#" not in md
    # Lead value by source, with subtotals computed from value x planned, and the total.
    assert "| Referral leads | $5,000 | 10 | $50,000 |" in md
    assert "| Content leads | $1,000 | 200 | $200,000 |" in md
    assert "| **Total** | | **310** | **$550,000** |" in md
    # Figures formatted for people; stepped targets by date.
    assert "| Baseline | $10,000,000 | $833,000 | as of 1 January 2020 |" in md
    assert "| By 30 June 2020 | 35% |" in md and "| By 31 December 2020 | 35 days |" in md
    assert "| Weekly marketing and sales leadership meeting | Weekly | 30 minutes |" in md


def test_monthly_run_rate_is_computed_when_omitted(tmp_path: Path) -> None:
    text = (CASES / "valid" / "minimal.yaml").read_text() + (
        "goals:\n  revenue:\n    baseline: {annual: {amount: 10000000, currency: USD}}\n"
        "    target: {annual: {amount: 15000000, currency: EUR}}\n"
    )
    (tmp_path / "sla").mkdir()
    (tmp_path / "sla" / "minimal.yaml").write_text(text)
    assert run("render", str(tmp_path / "sla"), "--out", str(tmp_path / "out")).exit_code == 0
    md = (tmp_path / "out" / "minimal.md").read_text()
    assert (
        "| Baseline | $10,000,000 | $833,333 (computed) | as of 1 January 2026, when the agreement takes effect |" in md
    )
    assert "| Target | €15,000,000 | €1,250,000 (computed) |" in md


def test_html_page_is_standalone_with_anchors(site: Path) -> None:
    html = (site / "company-a-lead-management.html").read_text()
    assert '<html lang="en">' in html and '<main id="content">' in html
    assert '<h2 id="commitments-sales">6. Sales commitments</h2>' in html
    assert '<h3 id="commitment-lead-follow-up">6.1 Contact every marketing lead within one business hour</h3>' in html
    assert '<a href="#commitment-close-rate">6.2 Raise the close rate on submitted proposals to 50%</a>' in html
    assert "default-src 'none'" in html  # the page may not load anything
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert "@media print" in html and '<th scope="col">' in html
    assert "{#" not in html


def test_index_lists_every_agreement_and_flags_overdue_reviews(site: Path) -> None:
    html = (site / "index.html").read_text()
    md = (site / "index.md").read_text()
    for ident in ("company-a-lead-management", "social-selling", "buyer-journey-handoff"):
        assert f'<a href="{ident}.html">' in html and f"]({ident}.md)" in md
    assert "Reviews as of 16 November 2026." in md
    # On 2026-11-16 no active review is overdue; the retired 2020 agreement is never flagged.
    assert "(overdue)" not in md


def test_index_flags_an_overdue_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sla").mkdir()
    shutil.copy(CASES / "invalid" / "review-overdue.yaml", tmp_path / "sla" / "late.yaml")
    result = run("render", str(tmp_path / "sla"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "warning[review]" in result.output
    md = (tmp_path / "out" / "index.md").read_text()
    assert "| 1 May 2026 **(overdue)** |" in md
    assert 'class="overdue"' in (tmp_path / "out" / "index.html").read_text()


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    outside_git(tmp_path)
    for out in ("a", "b"):
        assert run("render", "sla", "--out", str(tmp_path / out), cwd=tmp_path).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_second_build_renders_nothing_and_rewrites_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outside_git(tmp_path)
    first = run("render", "sla", "--out", str(out), cwd=tmp_path)
    assert first.output.splitlines()[-1].startswith("4 rendered, 0 unchanged; 10 files written")
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = run("render", "sla", "--out", str(out), cwd=tmp_path)
    assert second.output.splitlines()[-1] == f"0 rendered, 4 unchanged; 0 files written, 0 removed in {out}/"
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_changing_one_agreement_rerenders_only_it(tmp_path: Path) -> None:
    sla, out = tmp_path / "sla", tmp_path / "out"
    shutil.copytree(ROOT / "sla", sla)
    run("render", str(sla), "--out", str(out))
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    path = sla / "social-selling.yaml"
    path.write_text(path.read_text().replace("version: 5", "version: 6"))
    result = run("render", str(sla), "--out", str(out))
    assert result.output.splitlines()[-1].startswith("1 rendered, 3 unchanged; 4 files written")
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == [".slakit-build.json", "index.html", "index.md", "social-selling.html", "social-selling.md"]


def test_removed_agreement_removes_its_pages(tmp_path: Path) -> None:
    sla, out = tmp_path / "sla", tmp_path / "out"
    shutil.copytree(ROOT / "sla", sla)
    run("render", str(sla), "--out", str(out))
    (sla / "social-selling.yaml").unlink()
    result = run("render", str(sla), "--out", str(out))
    assert "2 removed" in result.output
    assert outputs(out) == [
        "buyer-journey-handoff.html",
        "buyer-journey-handoff.md",
        "company-a-lead-management.html",
        "company-a-lead-management.md",
        "index.html",
        "index.md",
        "two-way-street.html",
        "two-way-street.md",
    ]


def test_failed_build_leaves_previous_output_untouched(tmp_path: Path) -> None:
    sla, out = tmp_path / "sla", tmp_path / "out"
    shutil.copytree(ROOT / "sla", sla)
    run("render", str(sla), "--out", str(out))
    snapshot = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    # One valid change and one broken file: neither may reach the output.
    path = sla / "social-selling.yaml"
    path.write_text(path.read_text().replace("version: 5", "version: 6"))
    shutil.copy(CASES / "invalid" / "refs.yaml", sla / "refs.yaml")
    result = run_process("render", str(sla), "--out", str(out))
    assert result.returncode == 1
    assert (
        f"{sla}/refs.yaml:19:12: error[ref]: commitments[follow-up].party: there is no party with id 'salez'"
        in result.stdout
    )
    assert "the build stopped: 9 errors; nothing in the output folder was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == snapshot


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outside_git(tmp_path)
    run("render", "sla", "--out", str(out), cwd=tmp_path)
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == []


HOSTILE = {
    "title": "<script>alert(1)</script> # Not a heading | not a cell",
    "commitment": "<img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold** `code`",
    "text": "# Heading?\n\n- list?\n\n1. numbered?\n\n> quote?\n\n<b>raw</b> &amp; &lt;i&gt;",
    "party": "Sales | Ops {#rewards}",
}


def hostile_agreement(tmp_path: Path) -> Path:
    text = (CASES / "valid" / "minimal.yaml").read_text()
    text = text.replace("title: Minimal agreement", f"title: {HOSTILE['title']!r}".replace("'", '"'))
    text = text.replace(
        "title: Deliver 10 qualified leads a month",
        f'title: "{HOSTILE["commitment"]}"\n    text: |\n'
        + "".join(f"      {line}\n" for line in HOSTILE["text"].split("\n")),
    )
    text = text.replace("name: Sales\n", f'name: "{HOSTILE["party"]}"\n')
    sla = tmp_path / "sla"
    sla.mkdir()
    (sla / "hostile.yaml").write_text(text)
    return sla


def test_untrusted_text_stays_text(tmp_path: Path) -> None:
    sla = hostile_agreement(tmp_path)
    result = run("render", str(sla), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    md = (tmp_path / "out" / "minimal.md").read_text()
    html = (tmp_path / "out" / "minimal.html").read_text()
    # Markdown: no heading, list, quote, table cell or anchor came from the YAML text.
    # Title; parties, the commitments and their one commitment, term, sign-off and its recorded
    # signatures, the digest appendix.
    assert re.findall(r"^#+ ", md, re.MULTILINE) == ["# ", "## ", "## ", "### ", "## ", "## ", "### ", "## "]
    assert "| Sales \\| Ops \\{#rewards\\} |" in md
    assert "\\<script\\>alert(1)\\</script\\>" in md
    # HTML: the text shows, none of it is markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert (
        "<script" not in html
        and "<img" not in html
        and "<b>" not in html
        and "javascript:" not in html.replace("[click](javascript:alert(1))", "")
    )
    assert "[click](javascript:alert(1)) **bold** `code`" in html
    assert "&amp;amp; &amp;lt;i&amp;gt;" in html
    assert "<li>" not in html.split('<main id="content">')[1].split("<h2")[1]  # the text made no list
    assert html.count("<td>Sales | Ops {#rewards}</td>") == 1


def test_templates_folder_overrides_built_in_templates(tmp_path: Path) -> None:
    custom = tmp_path / "templates" / "sections"
    custom.mkdir(parents=True)
    (custom / "rewards.md.j2").write_text("Rewards are paid in {{ data.rewards | length }} ways.\n")
    result = run("render", "sla", "--out", str(tmp_path / "out"), "--templates", str(tmp_path / "templates"), cwd=ROOT)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "out" / "company-a-lead-management.md").read_text()
    assert "## 9. Rewards\n\nRewards are paid in 2 ways.\n" in md


def test_templates_read_fields_and_mapping_methods_alike(tmp_path: Path) -> None:
    """`data.x` reads the field x; a mapping's method names (`keys`, `get`) stay methods; a
    field the schema allows but the file leaves out reads as nothing."""
    custom = tmp_path / "templates" / "sections"
    custom.mkdir(parents=True)
    (custom / "rewards.md.j2").write_text(
        "Term keys: {{ data.term.keys() | sort | join(' ') }}; cadence {{ data.term.review_cadence }}; "
        "zone {{ data.get('timezone') }}; pool {{ data.rewards[0].pool.amount }} {{ data.rewards[0].pool.currency }}; "
        "penalties {{ data.penalties is none }}.\n"
    )
    result = run("render", "sla", "--out", str(tmp_path / "out"), "--templates", str(tmp_path / "templates"), cwd=ROOT)
    assert result.exit_code == 0, result.output
    md = (tmp_path / "out" / "company-a-lead-management.md").read_text()
    expected = (
        "Term keys: end last\\_review next\\_review review\\_cadence; cadence quarterly; "
        "zone America/New\\_York; pool 5000 USD; penalties True.\n"
    )
    assert f"## 9. Rewards\n\n{expected}" in md


def test_template_mistake_names_the_template_and_line(tmp_path: Path) -> None:
    custom = tmp_path / "templates" / "sections"
    custom.mkdir(parents=True)
    (custom / "rewards.md.j2").write_text("Fine line\n{{ data.reward_pool }}\n")
    (tmp_path / "out").mkdir()
    result = run_process("render", "sla", "--out", str(tmp_path / "out"), "--templates", str(tmp_path / "templates"))
    assert result.returncode == 1
    assert (
        f"{custom}/rewards.md.j2:2: error[template]: UndefinedError: the agreement's field has no attribute 'reward_pool'"
        in result.stderr
    )
    assert list((tmp_path / "out").iterdir()) == []


def test_template_syntax_error_is_located(tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "header.md.j2").write_text("Status: {{ data.status \n")
    result = run_process("render", "sla", "--out", str(tmp_path / "out"), "--templates", str(custom))
    assert result.returncode == 1
    assert f"{custom}/header.md.j2:1: error[template]:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_templates_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run("render", "sla", "--out", str(tmp_path / "out"), "--templates", str(tmp_path / "nope"), cwd=ROOT)
    assert result.exit_code == 2
    assert "templates folder" in result.output


VOICE = """
  - id: response
    party: sales
    to: marketing
    title: Answer fast
    measure: {metric: Median reply time to an MQL, target: 2 hours, better: lower, per: week}
  - id: bounces
    party: marketing
    title: Keep lists clean
    measure: {metric: E-mails that bounce, target: 2%, better: lower}
  - id: none-lost
    party: sales
    title: Lose no lead
    measure: {metric: Leads never contacted, target: 0, better: lower, per: month}
  - id: cadence
    party: sales
    title: Work each lead
    touch_cadence:
      touches:
        - {id: call, channel: phone, count: 1, within: 1 day}
        - {id: mail, channel: email, count: 3, within: 2 weeks}
      until: The lead replies.
    reporting: {cadence: monthly, to: marketing, via: The Smarketing dashboard}
"""


def test_commitments_read_as_undertakings(site: Path, tmp_path: Path) -> None:
    """Contract voice, from the typed data: party, target, period and how it is measured."""
    a = (site / "company-a-lead-management.md").read_text()
    assert (
        "**Marketing will deliver at least $550,000 of lead value to Sales each month, planned by source as set out below.**"
        in a
    )
    assert (
        "**Marketing will deliver at least 310 leads to Sales each month, each one meeting the definition of "
        "marketing qualified lead (MQL) in this agreement.**" in a
    )
    assert (
        "**Sales will make first contact within 1 business hour with marketing leads that ask to be contacted by "
        "sales, counted in Company A business hours (US Eastern): Monday to Friday 09:00–17:00 (America/New\\_York).** "
        "A lead that arrives outside business hours is contacted within the first business hour of the next business "
        "day. The clock starts when the marketing automation platform notifies the rep that the lead has shown "
        "interest in the company. This does not apply to webinar leads or leads still early in the buyer's journey."
    ) in a
    assert (
        "**Sales will reduce the average length of the sales cycle from 45 days to no more than 40 days by "
        "30 June 2020 and to no more than 35 days by 31 December 2020.**" in a
    )
    assert "Target:" not in a and "higher is better" not in a
    social = (site / "social-selling.md").read_text()
    assert "**Sales will achieve at least 3 posts shared per rep each week.**" in social
    assert "**Sales will keep the share of reps whose profile meets the complete-profile checklist at 100%.**" in social
    assert "**Sales will keep the share of social touches logged in the CRM at 95% or more.**" in social
    # Contacts read as phrases, not "channel: address".
    assert (
        "- **Fiona McBride**, Executive sponsor (Sales). At a meeting, arranged through fiona.mcbride@example.com;"
        in social
    )
    assert "meeting: fiona" not in social
    # Lower is better, other figures, several touches, a second block on one commitment.
    text = (CASES / "valid" / "minimal.yaml").read_text().replace("\nsignoff:", VOICE + "signoff:")
    (tmp_path / "sla").mkdir()
    (tmp_path / "sla" / "minimal.yaml").write_text(text)
    result = run("render", str(tmp_path / "sla"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    md = (tmp_path / "out" / "minimal.md").read_text()
    assert "**Sales will keep median reply time to an MQL at 2 hours or less each week.**" in md
    assert "**Marketing will keep the share of e-mails that bounce at 2% or less.**" in md
    assert "**Sales will keep leads never contacted at 0 each month.**" in md
    assert (
        "**Sales will make at least 1 phone call within 1 day and at least 3 e-mails within 2 weeks, "
        "until the lead replies.**" in md
    )
    assert "**Sales will report to Marketing every month through the Smarketing dashboard.**" in md
    assert "| Phone | 1 | 1 day |" in md  # several touches: the table too


def test_a_template_naming_what_the_model_lacks_says_the_agreement(tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    shutil.copytree(ROOT / "templates", custom)
    rewards = custom / "sections" / "rewards.md.j2"
    rewards.write_text(rewards.read_text() + "\n{{ agreement.reward_pool }}\n")
    result = run("render", str(ROOT / "sla"), "--out", str(tmp_path / "out"), "--templates", str(custom))
    assert result.exit_code == 1
    assert "UndefinedError: the agreement has no attribute 'reward_pool'" in result.output
    assert "slakit.model" not in result.output


def test_a_missing_include_and_a_template_not_in_utf8_are_placed(tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    shutil.copytree(ROOT / "templates", custom)
    rewards = custom / "sections" / "rewards.md.j2"
    lines = rewards.read_text().count("\n")
    rewards.write_text(rewards.read_text() + '{% include "nope.j2" %}\n')
    result = run("render", str(ROOT / "sla"), "--out", str(tmp_path / "out"), "--templates", str(custom))
    assert result.exit_code == 1
    assert f"{rewards}:{lines + 1}: error[template]: template 'nope.j2' not found in {custom}" in result.output
    rewards.write_bytes(b"\xff\xfe{{ x }}")
    result = run("render", str(ROOT / "sla"), "--out", str(tmp_path / "out"), "--templates", str(custom))
    assert result.exit_code == 1
    assert f"{rewards}: error[template]: the file is not UTF-8 text" in result.output
    assert not (tmp_path / "out").exists()


def tidied(text: str) -> str:
    """Line by line: trailing white space off, at most one empty line in a row, none first
    or last, one final line break."""
    kept: list[str] = []
    for line in (line.rstrip() for line in text.splitlines()):
        if line or (kept and kept[-1]):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n"


@given(st.lists(st.sampled_from(["a", "b c", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\u2028", "\xa0"])).map("".join))
def test_tidy_keeps_one_blank_line_and_no_trailing_space(text: str) -> None:
    assert tidy(text) == tidied(text)


def test_templates_call_functions_with_and_without_a_context() -> None:
    """A function that asks for Jinja's context (pass_context) gets it on every call, one that
    does not is called as it is, also after the first call was answered quickly."""
    import jinja2

    from slakit.output.render import Renderer

    @jinja2.pass_context
    def where(context: jinja2.runtime.Context, suffix: str) -> str:
        return f"{context['name']}{suffix}"

    def plain(suffix: str) -> str:
        return f"plain{suffix}"

    env = Renderer().html_env
    env.globals.update(where=where, plain=plain)
    template = env.from_string("{% for i in [1, 2, 3] %}{{ where(i) }} {{ plain(i) }} {{ data.get('x') }};{% endfor %}")
    assert template.render(name="n", data={"x": "y"}) == "n1 plain1 y;n2 plain2 y;n3 plain3 y;"


@pytest.mark.parametrize(
    ("allowed", "rule", "said", "not_said"),
    [
        # 2 business hours from a 09:00 opening is due at 11:00 (the README's table): later than
        # the first business hour, so the page must not promise contact within that hour.
        (
            "2 business hours",
            "first-hour-next-business-day",
            "A lead that arrives outside business hours is contacted within 2 business hours "
            "of the opening of the next business day.",
            "within the first business hour of the next business day",
        ),
        # 2 business days reach past the close of the next business day.
        (
            "2 business days",
            "next-business-day",
            "A lead that arrives outside business hours is contacted within 2 business days "
            "of the opening of the next business day.",
            "during the next business day",
        ),
        # Half an hour is less than the rule gives: the rule is what a late lead gets.
        (
            "0.5 business hours",
            "first-hour-next-business-day",
            "A lead that arrives outside business hours is contacted within the first business hour "
            "of the next business day.",
            "of the opening of the next business day",
        ),
        (
            "4 business hours",
            "next-business-day",
            "A lead that arrives outside business hours is contacted during the next business day.",
            "of the opening of the next business day",
        ),
    ],
)
def test_the_after_hours_sentence_says_the_time_a_late_lead_is_given(
    tmp_path: Path, allowed: str, rule: str, said: str, not_said: str
) -> None:
    """The rule only ever adds time: with more time allowed than it gives, the page says
    the allowed time, counted from the next opening, as the scorecard measures it."""
    (tmp_path / "sla").mkdir()
    text = (ROOT / "sla" / "company-a-lead-management.yaml").read_text()
    text = text.replace("response_time: 1 business hour", f"response_time: {allowed}", 1)
    text = text.replace("after_hours: first-hour-next-business-day", f"after_hours: {rule}", 1)
    (tmp_path / "sla" / "a.yaml").write_text(text)
    result = run("render", str(tmp_path / "sla"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    md = (tmp_path / "out" / "company-a-lead-management.md").read_text()
    assert said in md
    assert not_said not in md
