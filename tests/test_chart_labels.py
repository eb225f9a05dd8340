"""The dashboard's period labels, read as a person reads them."""

from __future__ import annotations

import re
from pathlib import Path

from test_score import files  # noqa: F401  (the scorecard's test agreement and exports)

from conftest import run


def period_labels(svg: str) -> list[str]:
    """The labels under the bars: the middle-anchored tick texts, each with its year line."""
    texts = re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="middle" class="tick">(.*?)</text>', svg)
    return [re.sub(r"<[^>]+>", " ", t).split() for t in texts]


def by_period(html: str) -> list[str]:
    """Every chart with a bar or cell per period (the response-time histogram has none)."""
    svgs = [s for s in re.findall(r"<svg.*?</svg>", html, re.S) if "distribution of response times" not in s]
    assert len(svgs) >= 4  # leads, lead value, follow-up, the escalation timeline at least
    return svgs


def test_chart_periods_read_as_months_and_years_not_as_days(files: dict[str, Path]) -> None:  # noqa: F811
    """'2020-01' was cut to '20-01' under each bar, which reads as 20 January. The month is
    named, with the year under the first period and each January."""
    html = run(
        "score", str(files["agreement"]), "--leads", str(files["leads"]), "--as-of", "2020-03-31", "--format", "html"
    ).output
    svgs = by_period(html)
    for svg in svgs:
        assert ">20-0" not in svg
        assert period_labels(svg)[:3] == [["Jan", "2020"], ["Feb"], ["Mar"]]


def test_quarters_are_named_with_their_year(files: dict[str, Path]) -> None:  # noqa: F811
    html = run(
        "score",
        str(files["agreement"]),
        "--leads",
        str(files["leads"]),
        "--as-of",
        "2020-03-31",
        "--period",
        "quarter",
        "--format",
        "html",
    ).output
    svgs = by_period(html)
    for svg in svgs:
        assert period_labels(svg)[0] == ["Q1", "2020"]


def test_a_long_key_wraps_inside_the_chart(files: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    """Nine sources with long names: the key under the leads chart ran off the right edge of the
    chart (640 wide). Now every name starts inside it, on as many rows as needed, and the chart
    is tall enough for them."""
    names = [f"Source number {n} with a long name" for n in range(9)]
    rows = ["lead_id,mql_at,source"] + [f"L{n},2020-01-0{n % 9 + 1} 10:00,{names[n % 9]}" for n in range(27)]
    leads = tmp_path / "many.csv"
    leads.write_text("\n".join(rows) + "\n")
    html = run("score", str(files["agreement"]), "--leads", str(leads), "--as-of", "2020-01-31", "--format", "html")
    svg = next(s for s in re.findall(r"<svg.*?</svg>", html.output, re.S) if "leads per period by source" in s)
    height = float(re.search(r'viewBox="0 0 640 ([\d.]+)"', svg).group(1))
    key = [
        (float(x), float(y), text)
        for x, y, text in re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="tick">([^<]*)</text>', svg)
    ]
    assert sorted(text for _, _, text in key) == sorted([*names, "target"])
    # 9 names of 33 characters and the target: at least 5 rows of a 640-wide chart
    assert len({y for _, y, _ in key}) >= 5
    assert all(x + 8 * len(text) <= 640 for x, _, text in key)  # 8 px a character of the 13px font
    assert max(y for _, y, _ in key) < height


def test_a_bars_value_is_written_in_full(files: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    """A bar's tooltip wrote its value with %g: a million dollars of lead value read '1e+06'."""
    rows = ["lead_id,mql_at,source"] + [f"L{n},2020-01-02 10:00,referral" for n in range(10_000)]
    leads = tmp_path / "many.csv"
    leads.write_text("\n".join(rows) + "\n")
    html = run("score", str(files["agreement"]), "--leads", str(leads), "--as-of", "2020-01-31", "--format", "html")
    # 10,000 referral leads at $100 each
    assert "<title>2020-01: 1,000,000 USD (met)</title>" in html.output
    assert "e+0" not in html.output
